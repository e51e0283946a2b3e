"""Flows: a mailing (letters for post, e-mails, invitations) and the outbox dispatcher.

``mailing`` composes one kind of message for every household of a project, writes the print batch
and the archive, and puts the e-mails in the outbox; ``dispatch-outbox`` delivers what is in the
outbox through the shared mailbox, each message once. Both are safe to re-run: a mailing that was
already enqueued adds nothing, and a message that went out is never sent again (also after a
crash: in-doubt messages are looked up in Sent Items first).

The work is in flows/jobs.py. A mailing's report has its own key
(``mailing-<code>-<project>-<kind>-<mailing id>``); the dispatcher publishes
``dispatch-<code>`` only when it sent, reconciled, waited or was refused, and never a mailing's
key. E-mails the mail service refused (a 403: the app may not send as the mailbox) end the run
``Failed`` with the service's answer; once the cause is fixed, ``keukentafel mailing retry``
puts those that failed for good back in the outbox.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task

from flows import jobs
from flows.alerts import report_stale_outbox
from flows.decorator import flow
from flows.publish import finish, named
from flows.publish import started_by as run_starter
from flows.results import Delivery, MailingOutcome
from keukentafel.bootstrap import current_app, mailing_content
from keukentafel.usecases.mailing import MailingResult

__all__ = ["Delivery", "MailingOutcome", "deliver", "dispatch_flow", "mailing_flow", "prepare"]


@task(name="prepare-mailing")
def prepare(
    corporation: str,
    project_code: str,
    kind: str,
    on: date,
    content_path: str | None = None,
    sample: bool = False,
    started_by: str | None = None,
) -> MailingResult:
    content = mailing_content(kind, on, content_path, sample=sample)
    return current_app().prepare_mailing(
        corporation,
        project_code,
        kind,
        on=on,
        content=content,
        started_by=run_starter(started_by),
    )


@task(name="dispatch-outbox")
def deliver(corporation: str, mailing_key: str | None = None) -> Delivery:
    return jobs.deliver(current_app(), corporation, mailing_key)


@flow(name="mailing", flow_run_name=named("mailing", "project_code", "kind"))
def mailing_flow(
    corporation: str,
    project_code: str,
    kind: str,
    on: date | None = None,
    content_path: str | None = None,
    sample: bool = False,
    started_by: str | None = None,
) -> Any:
    """Compose a mailing for a project, write the print batch, and deliver the e-mails.

    ``started_by`` records who asked for it; by default this flow run (``prefect:<id>``)."""
    prepared = prepare(
        corporation,
        project_code,
        kind,
        on or current_app().today(),
        content_path,
        sample,
        started_by,
    )
    delivered = deliver(corporation, prepared.mailing_key)
    return finish(jobs.mailing_report(corporation, prepared, delivered))


@flow(name="dispatch-outbox", flow_run_name=named("dispatch"))
def dispatch_flow(corporation: str) -> Any:
    """Deliver every pending or in-doubt message in the outbox (e.g. after a crash or an outage)."""
    outcome = jobs.dispatch(current_app(), corporation)
    report_stale_outbox(corporation)  # the outbox-stale alert (flows/alerts.py): counts only
    return finish(outcome)
