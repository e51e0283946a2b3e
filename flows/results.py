"""What the flows return: counts, unit codes and reasons for the operator, never personal data.

Plain dataclasses, so the command line and the demo can print them (keukentafel/cli/present.py)
without importing Prefect, and the flows' artifacts show the same numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keukentafel.usecases.mailing import MailingResult
    from keukentafel.usecases.outbox import DispatchReport
    from keukentafel.usecases.sync_register import SyncResult
    from keukentafel.usecases.team_contacts import TeamPullReport


@dataclass(frozen=True, slots=True)
class KeptAside:
    """A row not applied: its unit code and the reason; the stored version stays as it was."""

    entity: str
    unit_code: str
    reason: str
    detail: str
    source_id: str = ""  # the ERP id: what the operator looks a row without a unit code up by


@dataclass(slots=True)
class SyncSummary:
    run_id: int
    outcome: str
    counts: dict[str, int]
    rows_written: int
    out_of_scope: int
    kept_aside: list[KeptAside] = field(default_factory=list)
    out_of_scope_by: dict[str, int] = field(default_factory=dict)  # per entity, never listed

    @classmethod
    def of(cls, result: SyncResult) -> SyncSummary:
        return cls(
            run_id=result.run_id,
            outcome=result.outcome,
            counts=result.counts,
            rows_written=result.rows_written,
            out_of_scope=result.out_of_scope,
            kept_aside=[
                KeptAside(r.entity.value, r.unit_code, r.reason.value, r.detail, r.source_id)
                for r in result.rejected
            ],
            out_of_scope_by=dict(result.out_of_scope_by),
        )

    def kept_aside_rows(self) -> list[dict[str, Any]]:
        return [asdict(k) for k in self.kept_aside]


@dataclass(frozen=True, slots=True)
class TeamFinding:
    """A conflict with the ERP (the ERP value is kept) or a row that fits no household."""

    source: str
    unit_code: str
    reason: str
    detail: str


@dataclass(slots=True)
class TeamPullSummary:
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # per source name
    findings: list[TeamFinding] = field(default_factory=list)

    @classmethod
    def of(cls, reports: dict[str, TeamPullReport]) -> TeamPullSummary:
        return cls(
            counts={name: report.counts for name, report in reports.items()},
            findings=[
                TeamFinding(name, r.unit_code, r.reason.value, r.detail)
                for name, report in reports.items()
                for r in report.rejected
            ],
        )


NO_MAILBOX = "no shared mailbox configured (m365.mailbox): e-mails stay in the outbox"


@dataclass(slots=True)
class Delivery:
    """One pass of the outbox dispatcher, and the outbox's counts per status afterwards."""

    dispatched: bool
    outbox: dict[str, int]
    reason: str = ""  # why nothing was dispatched
    sent: int = 0
    reconciled: int = 0
    retried_later: int = 0
    in_flight: int = 0
    failed: int = 0
    failed_units: list[str] = field(default_factory=list)
    refused: int = 0  # refusals by the mail service in this pass (failed for good included)
    refusal_reasons: dict[str, int] = field(default_factory=dict)  # the service's answer: count
    waiting: int = 0

    @classmethod
    def of(cls, report: DispatchReport | None, outbox: dict[str, int]) -> Delivery:
        if report is None:
            return cls(dispatched=False, outbox=outbox, reason=NO_MAILBOX)
        return cls(
            dispatched=True,
            outbox=outbox,
            sent=report.sent,
            reconciled=report.reconciled,
            retried_later=report.retried_later,
            in_flight=report.in_flight,
            failed=report.failed,
            failed_units=list(report.failed_units),
            refused=report.refused,
            refusal_reasons=dict(report.refusal_reasons),
            waiting=report.waiting,
        )


@dataclass(slots=True)
class MailingOutcome:
    """A mailing: what was prepared (None for a dispatch alone) and what was delivered."""

    prepared: MailingResult | None
    delivered: Delivery


@dataclass(slots=True)
class ConsentTallies:
    """Per project and ballot the counts; per unit its code, status and dates (no people)."""

    corporation: str
    as_of: date
    ballots: list[dict[str, Any]] = field(default_factory=list)
    units: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class FeedsSummary:
    """What one contractor-feeds run did, per contractor (counts only)."""

    letters: int = 0
    calendar_events: int = 0
    contractors: list[dict[str, Any]] = field(default_factory=list)
    erp: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # unit codes and reasons, never names
