"""Flows: a mailing (letters for post, e-mails, invitations) and the outbox dispatcher.

``mailing`` composes one kind of message for every household of a project, writes the print batch
and the archive, and puts the e-mails in the outbox; ``dispatch-outbox`` delivers what is in the
outbox through the shared mailbox, each message once. Both are safe to re-run: a mailing that was
already enqueued adds nothing, and a message that went out is never sent again (also after a
crash: in-doubt messages are looked up in Sent Items first).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from flows.alerts import report_stale_outbox
from flows.results import Delivery, MailingOutcome
from keukentafel.bootstrap import current_app, mailing_content
from keukentafel.usecases.mailing import MailingResult


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
        started_by=started_by or f"prefect:{flow_run.id}",
    )


@task(name="dispatch-outbox")
def deliver(corporation: str, mailing_key: str | None = None) -> Delivery:
    app = current_app()
    report = app.dispatch(corporation, mailing_key)
    return Delivery.of(report, app.outbox_counts(corporation, mailing_key))


@task(name="publish-mailing-report")
def publish(prepared: MailingResult | None, delivered: Delivery) -> None:
    rows: list[dict[str, Any]] = []
    if prepared:
        rows += [
            {"what": k.replace("_", " "), "value": v}
            for k, v in prepared.as_dict().items()
            if isinstance(v, int | str)
        ]
    rows += [
        {"what": f"outbox {status}", "value": count} for status, count in delivered.outbox.items()
    ]
    if delivered.dispatched:
        for key in ("sent", "reconciled", "retried_later", "failed"):
            rows.append({"what": key.replace("_", " "), "value": getattr(delivered, key)})
    create_table_artifact(key="mailing-report", table=rows, description="Mailing and outbox")
    if prepared and prepared.skipped:
        create_table_artifact(
            key="mailing-skipped",
            table=[{"unit_code": s.unit_code, "reason": s.text} for s in prepared.skipped],
            description="Households without an e-mail or letter, and why",
        )


@flow(name="mailing")
def mailing_flow(
    corporation: str,
    project_code: str,
    kind: str,
    on: date | None = None,
    content_path: str | None = None,
    sample: bool = False,
    started_by: str | None = None,
) -> MailingOutcome:
    """Compose a mailing for a project, write the print batch, and deliver the e-mails.

    ``started_by`` records who asked for it; by default this flow run (``prefect:<id>``)."""
    prepared = prepare(
        corporation, project_code, kind, on or date.today(), content_path, sample, started_by
    )
    delivered = deliver(corporation, prepared.mailing_key)
    publish(prepared, delivered)
    return MailingOutcome(prepared, delivered)


@flow(name="dispatch-outbox")
def dispatch_flow(corporation: str) -> Delivery:
    """Deliver every pending or in-doubt message in the outbox (e.g. after a crash or an outage)."""
    delivered = deliver(corporation)
    publish(None, delivered)
    report_stale_outbox(corporation)  # the outbox-stale alert (flows/alerts.py): counts only
    return delivered
