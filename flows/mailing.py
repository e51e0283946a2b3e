"""Flows: a mailing (letters for post, e-mails, invitations) and the outbox dispatcher.

``mailing`` composes one kind of message for every household of a project, writes the print batch
and the archive, and puts the e-mails in the outbox; ``dispatch-outbox`` delivers what is in the
outbox through the shared mailbox, each message once. Both are safe to re-run: a mailing that was
already enqueued adds nothing, and a message that went out is never sent again (also after a
crash: in-doubt messages are looked up in Sent Items first).
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from keukentafel.bootstrap import (
    GraphConnection,
    GraphMailTransport,
    load_corporation,
    m365_config,
    open_store,
    prepare_mailing,
)
from keukentafel.settings import Settings
from keukentafel.usecases.outbox import dispatch, outbox_counts


@task(name="prepare-mailing")
def prepare(
    config_path: str,
    project_code: str,
    kind: str,
    on: date,
    content_path: str | None = None,
    sample: bool = False,
) -> dict[str, Any]:
    return prepare_mailing(
        config_path,
        Settings.from_env(),
        project_code,
        kind,
        on=on,
        content_path=content_path,
        sample=sample,
    )


@task(name="dispatch-outbox")
def deliver(config_path: str, mailing_key: str | None = None) -> dict[str, Any]:
    settings = Settings.from_env()
    config = load_corporation(config_path)
    sessions = open_store(settings.database_url)
    corporation = config.corporation.code
    if not config.m365 or not config.m365.get("mailbox"):
        return {
            "dispatched": False,
            "reason": "no shared mailbox configured (m365.mailbox): e-mails stay in the outbox",
            "outbox": outbox_counts(sessions, corporation, mailing_key),
        }
    graph = GraphConnection(m365_config(config, config_path), os.environ)
    try:
        transport = GraphMailTransport(graph)
        # The mailbox sender paces itself (m365.send_pace_per_minute): pacing in one layer only.
        report = dispatch(sessions, corporation, transport, mailing_key=mailing_key)
    finally:
        graph.close()
    return {
        "dispatched": True,
        "sent": report.sent,
        "reconciled": report.reconciled,
        "retried_later": report.retried_later,
        "in_flight": report.in_flight,
        "failed": report.failed,
        "failed_units": report.failed_units,
        "outbox": outbox_counts(sessions, corporation, mailing_key),
    }


@task(name="publish-mailing-report")
def publish(prepared: dict[str, Any] | None, delivered: dict[str, Any]) -> None:
    rows: list[dict[str, Any]] = []
    if prepared:
        rows += [
            {"what": k.replace("_", " "), "value": v}
            for k, v in prepared.items()
            if isinstance(v, int | str)
        ]
    rows += [
        {"what": f"outbox {status}", "value": count}
        for status, count in delivered["outbox"].items()
    ]
    for key in ("sent", "reconciled", "retried_later", "failed"):
        if key in delivered:
            rows.append({"what": key.replace("_", " "), "value": delivered[key]})
    create_table_artifact(key="mailing-report", table=rows, description="Mailing and outbox")
    if prepared and prepared.get("skipped"):
        create_table_artifact(
            key="mailing-skipped",
            table=[{"unit_code": u, "reason": r} for u, r in prepared["skipped"]],
            description="Households without an e-mail or letter, and why",
        )


@flow(name="mailing")
def mailing_flow(
    config_path: str,
    project_code: str,
    kind: str,
    on: date | None = None,
    content_path: str | None = None,
    sample: bool = False,
) -> dict[str, Any]:
    """Compose a mailing for a project, write the print batch, and deliver the e-mails."""
    prepared = prepare(config_path, project_code, kind, on or date.today(), content_path, sample)
    delivered = deliver(config_path, prepared["mailing_key"])
    publish(prepared, delivered)
    return {"prepared": prepared, "delivered": delivered}


@flow(name="dispatch-outbox")
def dispatch_flow(config_path: str) -> dict[str, Any]:
    """Deliver every pending or in-doubt message in the outbox (e.g. after a crash or an outage)."""
    delivered = deliver(config_path)
    publish(None, delivered)
    return delivered
