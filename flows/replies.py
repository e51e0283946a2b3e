"""Flow: the shared mailbox's replies become open items for the guides (usecases/replies.py).

One task reads and matches (by our message header, else the sender's address), one publishes the
counts as a table artifact: numbers only, never addresses, names or words of a reply. Replies are
keyed by their Graph message id, so a re-run or a run after a crash adds nothing twice; consent is
never changed by a reply. Scheduled per corporation with a shared mailbox (flows/deployments.py).
"""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from keukentafel.bootstrap import current_app
from keukentafel.usecases.replies import RepliesReport

REPLIES_CRON = "*/10 7-21 * * *"  # every ten minutes in office hours (Amsterdam)


@task(name="pull-replies")
def pull(corporation: str) -> RepliesReport:
    return current_app().pull_replies(corporation)


@task(name="publish-replies-report")
def publish(corporation: str, report: RepliesReport) -> None:
    create_table_artifact(
        key=f"replies-{corporation.lower()}",
        table=[{"what": what, "count": count} for what, count in asdict(report).items()],
        description="Replies read from the shared mailbox, matched, kept aside, new open items",
    )


@flow(name="pull-replies")
def pull_replies_flow(corporation: str) -> RepliesReport:
    """Read the replies since the last run and make each an open item for its household."""
    report = pull(corporation)
    publish(corporation, report)
    return report
