"""Flow: a mailing started from the Prefect UI, reviewed before anything goes out.

The ``mailing-<code>`` deployment (flows/deployments.py, no schedule) runs this flow with the
parameters the operator fills in: project, kind, content file (a path the worker can read, e.g.
``/app/config/mailings/...`` under docker-compose), and the letter date. It

1. plans: counts per channel, every household skipped with its reason (unit codes only), and a
   sample letter as PDF under ``<output>/review/<corporation>/<mailing>/`` (a link artifact
   names the file: nothing personal goes into Prefect);
2. pauses for approval (``pause_flow_run`` with an :class:`Approval` input: in the UI the run
   shows "Resume" with an ``approve`` box). Not approved, or no answer within
   ``approval_hours``: nothing is written or sent;
3. sends: the same tasks as the ``mailing`` flow (print batch, archive, e-mails through the
   outbox, each once, also when the run is retried).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import get_run_logger, pause_flow_run, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.input import RunInput
from prefect.runtime import flow_run
from prefect.states import Cancelled

from flows import jobs
from flows.decorator import flow
from flows.mailing import deliver, prepare
from flows.naming import artifact_key
from flows.publish import finish, named
from keukentafel.bootstrap import current_app, mailing_content

POLL_SECONDS = 5  # how often the paused run asks the server whether it was resumed


class Approval(RunInput):
    """The reviewer's answer in the Prefect UI."""

    approve: bool = False  # tick to send the mailing as planned; leave empty to cancel it
    reviewer: str = ""  # who approves (a staff account, not a resident)


def _key(corporation: str, project_code: str, kind: str, what: str) -> str:
    """``mailing-<code>-<project>-<kind>-<what>``: beside the mailing's own report's key."""
    return artifact_key("mailing", corporation, project_code, kind, what)


@task(name="plan-mailing")
def plan(
    corporation: str,
    project_code: str,
    kind: str,
    on: date,
    content_path: str | None,
    sample: bool,
) -> dict[str, Any]:
    """Plan the mailing, write the sample letter, publish counts and skipped units."""
    app = current_app()
    content = mailing_content(kind, on, content_path, sample=sample)
    review, pdf = app.review_mailing(corporation, project_code, kind, on=on, content=content)
    counts = review.counts()
    create_table_artifact(
        key=_key(corporation, project_code, kind, "plan"),
        table=[{"what": what, "count": count} for what, count in counts.items()],
        description=f"Mailing {review.mailing_key}: what it will do once approved",
    )
    if review.skipped:
        create_table_artifact(
            key=_key(corporation, project_code, kind, "plan-skipped"),
            table=review.skipped_rows(),
            description="Households without a letter or an e-mail, and why (unit codes)",
        )
    create_link_artifact(
        key=_key(corporation, project_code, kind, "sample"),
        link=pdf.resolve().as_uri(),
        link_text=f"sample letter ({review.sample_unit})",
        description=f"Sample letter on the worker: {pdf}",
    )
    return {"mailing_key": review.mailing_key, "counts": counts, "sample_pdf": str(pdf)}


# Kept whole: plan, pause, send read as the three steps the reviewer sees in the UI.
@flow(name="mailing-review", flow_run_name=named("mailing", "project_code", "kind"))
def mailing_review_flow(
    corporation: str,
    project_code: str,
    kind: str,
    content_path: str | None = None,
    on: date | None = None,
    sample: bool = False,
    approval_hours: int = 72,
) -> Any:
    """Plan a mailing, wait for approval in the UI, then send it (letters, e-mails, outbox)."""
    logger = get_run_logger()
    day = on or current_app().today()
    planned = plan(corporation, project_code, kind, day, content_path, sample)
    logger.info(
        "mailing %s planned: %s; waiting for approval",
        planned["mailing_key"],
        ", ".join(f"{what} {count}" for what, count in planned["counts"].items()),
    )
    answer = pause_flow_run(wait_for_input=Approval, timeout=approval_hours * 3600, key="approval")
    if not answer.approve:
        create_markdown_artifact(
            key=_key(corporation, project_code, kind, "not-approved"),
            markdown=f"Mailing `{planned['mailing_key']}` was not approved: nothing was sent.",
        )
        return Cancelled(message=f"mailing {planned['mailing_key']} not approved: nothing sent")
    reviewer = answer.reviewer.strip() or "unnamed"
    prepared = prepare(
        corporation,
        project_code,
        kind,
        day,
        content_path,
        sample,
        f"prefect:{flow_run.id} approved by {reviewer}",
    )
    delivered = deliver(corporation, prepared.mailing_key)
    return finish(jobs.mailing_report(corporation, prepared, delivered))


__all__ = ["Approval", "mailing_review_flow"]
