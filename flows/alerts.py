"""Alerts: Prefect automations defined here and applied by ``keukentafel alerts apply``.

Three kinds, each notifying through one webhook block (``keukentafel-alerts``: a Microsoft Teams
workflow webhook or any endpoint that takes a JSON POST; its URL is kept as a Prefect secret,
never shown in the UI):

- ``run-failed``: a flow run ended Failed or Crashed (also a ``Refused`` sync: it is a failed
  state). The message names the flow, the run (its name carries the corporation and what ran),
  the state and a link to the run in the UI; the cause is read there.
- ``sync-not-completed-<code>``: a corporation's sync deployment has had no Completed run for
  26 hours (a proactive trigger: it fires on the absence of events). One per sync deployment
  on the server: run ``keukentafel deploy`` first.
- ``outbox-stale``: the dispatcher reported messages waiting longer than an hour (the event
  ``keukentafel.outbox.stale``, emitted by :func:`report_stale_outbox`, with counts only).

Messages carry names of flows, runs and deployments, states and counts: never personal data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from prefect import get_run_logger, task
from prefect.automations import Automation, EventTrigger, Posture, SendNotification
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.events import emit_event

from keukentafel.bootstrap import current_app

BLOCK_NAME = "keukentafel-alerts"
ALERT_WEBHOOK_ENV = "KEUKENTAFEL_ALERT_WEBHOOK_URL"  # the webhook URL: a secret, never printed
STALE_OUTBOX_EVENT = "keukentafel.outbox.stale"
SYNC_WITHIN = timedelta(hours=26)
SYNC_FLOW = "sync-register"
ALERT_PREFIX = "keukentafel-"

FAILED_STATE_NAMES = ("Failed", "Crashed", "Refused", "TimedOut")
_RUN_LINK = "{{ flow_run|ui_url }}"


def webhook_block(url: str) -> UUID:
    """Save the webhook block (the URL as a secret) and return its id."""
    block = CustomWebhookNotificationBlock(
        name="keukentafel",
        url="{{ alert_webhook_url }}",
        method="POST",
        json_data={"title": "{{ subject }}", "text": "{{ body }}", "summary": "{{ subject }}"},
        secrets={"alert_webhook_url": url},  # type: ignore[arg-type]  # SecretDict takes a dict
        timeout=10,
        headers=None,
        cookies=None,
    )
    block_id = block.save(BLOCK_NAME, overwrite=True)
    assert isinstance(block_id, UUID)  # called outside an event loop: not awaitable
    return block_id


def run_failed(block: UUID) -> Automation:
    return Automation(
        name=f"{ALERT_PREFIX}run-failed",
        description="A Keukentafel flow run failed or crashed",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            # events are named by the state's name: a refused sync (a failed state named
            # Refused) and a run past its time (TimedOut) are failures too
            expect={f"prefect.flow-run.{name}" for name in FAILED_STATE_NAMES},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[
            SendNotification(
                block_document_id=block,
                subject="Keukentafel: {{ flow.name }} {{ flow_run.state.name }}",
                body=(
                    "Run {{ flow_run.name }} of {{ flow.name }} ended {{ flow_run.state.name }}"
                    " (tags: {{ flow_run.tags|join(', ') }}). The cause is in the run's"
                    " message and artifacts: flow run {{ flow_run.id }} in the Prefect UI "
                    + _RUN_LINK
                ),
            )
        ],
    )


def sync_not_completed(
    block: UUID, deployment_id: UUID, name: str, within: timedelta
) -> Automation:
    hours = round(within.total_seconds() / 3600, 2)
    return Automation(
        name=f"{ALERT_PREFIX}sync-not-completed-{name.removeprefix(SYNC_FLOW + '-')}",
        description=f"No completed run of {name} for {hours} hours",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.id": f"prefect.deployment.{deployment_id}"},
            expect={"prefect.flow-run.Completed"},
            posture=Posture.Proactive,
            threshold=1,
            within=within,
        ),
        actions=[
            SendNotification(
                block_document_id=block,
                subject=f"Keukentafel: {name} has not completed for {hours} hours",
                body=(
                    f"The register sync deployment {name} has had no completed run for {hours}"
                    " hours: the register may be out of date. Look at its runs in the Prefect UI"
                    " (failed, cancelled, or no worker polling the keukentafel pool)."
                ),
            )
        ],
    )


def outbox_stale(block: UUID) -> Automation:
    return Automation(
        name=f"{ALERT_PREFIX}outbox-stale",
        description="Messages waiting in an outbox for more than an hour",
        trigger=EventTrigger(
            match={"prefect.resource.id": "keukentafel.outbox.*"},
            expect={STALE_OUTBOX_EVENT},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[
            SendNotification(
                block_document_id=block,
                subject="Keukentafel: outbox of {{ event.payload.corporation }} is waiting",
                body=(
                    "{{ event.payload.waiting }} message(s) of {{ event.payload.corporation }}"
                    " have waited more than an hour (the oldest {{ event.payload.oldest_minutes }}"
                    " minutes). See the dispatch-outbox runs; after fixing the cause, the next"
                    " dispatch sends them."
                ),
            )
        ],
    )


def _sync_deployments() -> list[tuple[UUID, str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        found = client.read_deployments(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[SYNC_FLOW]))
        )
    return [(d.id, d.name) for d in found]


def automations(block: UUID, sync_within: timedelta = SYNC_WITHIN) -> list[Automation]:
    """Every alert, for the sync deployments now on the server."""
    found = [run_failed(block), outbox_stale(block)]
    found += [sync_not_completed(block, i, name, sync_within) for i, name in _sync_deployments()]
    return found


def _apply(automation: Automation) -> None:
    """Create the automation, or replace the one of the same name."""
    from prefect.exceptions import ObjectNotFound

    try:
        existing = Automation.read(name=automation.name)
    except (ValueError, ObjectNotFound):
        existing = None
    if isinstance(existing, Automation):  # called outside an event loop: not awaitable
        existing.delete()
    automation.create()


def apply_alerts(webhook_url: str, sync_within: timedelta = SYNC_WITHIN) -> list[str]:
    """Save the webhook block and create or replace every alert; their names."""
    block = webhook_block(webhook_url)
    applied = automations(block, sync_within)
    for automation in applied:
        _apply(automation)
    return [a.name for a in applied]


@task(name="report-stale-outbox")
def report_stale_outbox(corporation: str) -> dict[str, Any]:
    """Emit ``keukentafel.outbox.stale`` (counts only) when messages have waited over an hour."""
    stale = current_app().stale_outbox(corporation)
    if stale.stale:
        get_run_logger().warning(
            "outbox of %s: %s message(s) waiting over an hour (oldest %s minutes)",
            corporation,
            stale.waiting,
            stale.oldest_minutes,
        )
        emit_event(
            event=STALE_OUTBOX_EVENT,
            resource={
                "prefect.resource.id": f"keukentafel.outbox.{corporation.lower()}",
                "prefect.resource.name": f"outbox {corporation}",
                "corporation": corporation,
            },
            payload={
                "corporation": corporation,
                "waiting": stale.waiting,
                "oldest_minutes": stale.oldest_minutes,
            },
        )
    return {"waiting": stale.waiting, "oldest_minutes": stale.oldest_minutes}
