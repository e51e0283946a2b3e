"""Flow: appointments followed up and every contractor's feed delivered, for one corporation.

One task per step, never per resident or per change: the letters and guides' calendars of every
appointment change not yet followed up; each contractor's feed refreshed (changes logged, their
webhooks queued); the webhooks delivered (in order per contractor, retried on the Standard
Webhooks schedule across runs: tasks do not retry, the outbox does); the writes back to the
corporation's ERP. Safe to re-run and to resume after ``kill -9``: every step catches up from the
store. The report is a table artifact with counts per contractor: no names, no unit codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from keukentafel.bootstrap import current_app

#: When the deployment runs (Europe/Amsterdam): every 15 minutes in the daytime.
FEEDS_CRON = "*/15 6-22 * * *"


@dataclass(slots=True)
class FeedsSummary:
    """What one run did, per contractor (counts only)."""

    letters: int = 0
    calendar_events: int = 0
    contractors: list[dict[str, Any]] = field(default_factory=list)
    erp: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # unit codes and reasons, never names


@task(name="follow-up-appointments")
def follow_up(corporation: str) -> tuple[int, int, list[str]]:
    notified, calendars = current_app().planning(corporation).follow_up()
    problems = [f"{unit}: {reason}" for unit, reason in notified.refused]
    if calendars is not None:
        problems += [f"{unit}: calendar: {reason}" for unit, reason in calendars.failed]
    events = calendars.created_or_updated + calendars.removed if calendars else 0
    return notified.letters, events, problems


@task(name="refresh-feeds")
def refresh(corporation: str) -> dict[str, dict[str, int]]:
    reports = current_app().planning(corporation).refresh()
    return {
        r.contractor: {
            "units": r.units,
            "appointments": r.appointments,
            "changed": r.changed,
            "removed": r.removed,
            "webhooks queued": r.webhooks_queued,
        }
        for r in reports
    }


@task(name="deliver-webhooks")
def deliver(corporation: str) -> dict[str, dict[str, int]]:
    report = current_app().planning(corporation).deliver()
    found: dict[str, dict[str, int]] = {}
    for name, counts in (
        ("delivered", report.delivered),
        ("retrying", report.retrying),
        ("failed", report.failed),
        ("waiting", report.waiting),
    ):
        for contractor, count in counts.items():
            found.setdefault(contractor, {})[name] = count
    for contractor in report.disabled:
        found.setdefault(contractor, {})["disabled (410)"] = 1
    return found


@task(name="write-back-to-erp")
def write_back(corporation: str) -> dict[str, Any]:
    report = current_app().planning(corporation).write_back()
    if report is None:
        return {}
    return {
        "target": report.target,
        "sent": report.sent,
        "reconciled": report.reconciled,
        "superseded": report.superseded,
        "retrying": report.retrying,
        "failed": len(report.failed),
    }


@task(name="publish-feeds-report")
def publish(corporation: str, summary: FeedsSummary) -> None:
    counts = {c.contractor: c for c in current_app().planning(corporation).counts()}
    rows = []
    for row in summary.contractors:
        total = counts.get(row["contractor"])
        if total is not None:
            row = {
                **row,
                "records": total.records,
                "last sequence": total.last_sequence,
                "webhooks pending": total.webhooks.get("pending", 0),
                "webhooks failed": total.webhooks.get("failed", 0),
                "endpoint disabled": total.disabled,
            }
        rows.append(row)
    create_table_artifact(
        key="contractor-feeds", table=rows, description="Contractor feeds: counts per contractor"
    )
    if summary.erp:
        create_table_artifact(
            key="erp-writes",
            table=[{"what": k, "value": v} for k, v in summary.erp.items()],
            description="Contact moments and appointments written back to the ERP",
        )


@flow(name="contractor-feeds")
def feeds_flow(corporation: str) -> FeedsSummary:
    """Follow up appointment changes, refresh and deliver every contractor's feed, write back."""
    logger = get_run_logger()
    letters, events, problems = follow_up(corporation)
    refreshed = refresh(corporation)
    delivered = deliver(corporation)
    erp = write_back(corporation)
    summary = FeedsSummary(letters=letters, calendar_events=events, erp=erp, problems=problems)
    for contractor in sorted(set(refreshed) | set(delivered)):
        summary.contractors.append(
            {
                "contractor": contractor,
                **refreshed.get(contractor, {}),
                **delivered.get(contractor, {}),
            }
        )
    publish(corporation, summary)
    logger.info(
        "feeds of %s: %d letters, %d calendar events, %d contractors, %d problems",
        corporation,
        letters,
        events,
        len(summary.contractors),
        len(problems),
    )
    return summary
