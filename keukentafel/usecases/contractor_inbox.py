"""Use case: a contractor's changed work days, delays and completions, applied once.

A message arrives as a verified webhook (keukentafel.feeds.api checks its Standard Webhooks
signature) or as a file (``keukentafel planning import``). It is kept in the contractor's inbox
under the sender's id (the ``webhook-id``, or the file's SHA-256) in the same transaction that
applies it, so a message delivered twice is applied once. Each line moves one work-days
appointment to its new days (a new version: the household gets the change or delay letter with
the new dates, and its invitation the same UID with a higher SEQUENCE, from
``notify_households``), or marks it done. A line that cannot be applied is kept aside with its
reason in the inbox; the others are applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.model import amsterdam_date
from keukentafel.domain.planning.appointments import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    PlanningError,
    Slot,
)
from keukentafel.domain.planning.erp import appointment_write
from keukentafel.domain.planning.inbound import (
    ChangeKind,
    ContractorChange,
    InboundMessage,
    refusals_text,
)
from keukentafel.store.repositories.feeds import ContractorInbox, ErpWrites
from keukentafel.store.repositories.planning import PlanningRepository, household_of_unit

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(slots=True)
class InboundReport:
    message_id: str
    duplicate: bool = False  # received before: nothing applied again
    applied: int = 0
    refused: list[str] = field(default_factory=list)  # "line 2 (VHE00012): reason"
    units: list[str] = field(default_factory=list)  # the units whose appointments changed


def file_message_id(data: bytes) -> str:
    """A file's sender id: the same file imported twice is the same message."""
    return "file-" + hashlib.sha256(data).hexdigest()[:40]


def apply_contractor_message(
    sessions: sessionmaker[Session],
    corporation: str,
    contractor: str,
    message_id: str,
    body: bytes,
    message: InboundMessage,
    *,
    hours: tuple[time, time],
    erp: bool = False,
    clock: Clock = _utcnow,
) -> InboundReport:
    """Apply a parsed contractor message once (one transaction with its inbox entry)."""
    report = InboundReport(message_id)
    report.refused = refusals_text(message.refused)
    kind = message.kind.value if message.kind else "unknown"
    with sessions.begin() as session:
        now = clock()
        inbox = ContractorInbox(session, corporation, contractor)
        if not inbox.claim(message_id, kind, body, now):
            report.duplicate, report.refused = True, []
            return report
        repo = PlanningRepository(session, corporation)
        mine = repo.query(contractor_code=contractor, kind=AppointmentKind.WORK_DAYS)
        for change in message.changes:
            try:
                before, after = _apply(mine, change, hours)
            except PlanningError as exc:
                report.refused.append(f"line {change.line} ({change.unit_code or '-'}): {exc}")
                continue
            if after is before:
                continue
            repo.save(after, before.version, now)
            mine = [after if a.code == after.code else a for a in mine]
            report.applied += 1
            report.units.append(after.unit_code)
            if erp:
                household = household_of_unit(
                    session, corporation, after.unit_code, amsterdam_date(now)
                )
                ErpWrites(session, corporation).enqueue([appointment_write(after, household)], now)
        outcome = "applied" if report.applied else "refused"
        inbox.settle(message_id, outcome, report.applied, report.refused)
    return report


def _apply(
    mine: list[Appointment], change: ContractorChange, hours: tuple[time, time]
) -> tuple[Appointment, Appointment]:
    before = _find(mine, change)
    if change.kind is ChangeKind.DONE:
        return before, before.moved_to(AppointmentStatus.DONE)
    assert change.first_day is not None and change.last_day is not None  # parse_message checked
    days = Slot.days(change.first_day, change.last_day, hours)
    reason = change.reason if change.kind is ChangeKind.DELAYED else ""
    return before, before.moved_to(AppointmentStatus.PLANNED, days, delay_reason=reason)


def _find(mine: list[Appointment], change: ContractorChange) -> Appointment:
    """The contractor's own work-days appointment a line names (by code, or unit + element)."""
    if change.code:
        found = [a for a in mine if a.code == change.code]
    else:
        element = change.element.lower()
        found = [
            a
            for a in mine
            if a.unit_code == change.unit_code and a.element == element and a.status.is_open
        ]
    if not found:
        raise PlanningError("no open work days of this contractor match it")
    if change.unit_code and found[0].unit_code != change.unit_code:
        raise PlanningError(f"appointment {found[0].code} is not of this unit")
    return found[0]
