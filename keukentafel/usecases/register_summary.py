"""Use case: the register at a glance, per project and complex (counts only, no names)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.model import LeaseStatus, Project, Tenure
from keukentafel.store.models import LeaseRow, SyncRunRow, UnitRow
from keukentafel.store.repositories import SyncRunRepository

TEAM_SOURCES = ("m365_list", "m365_workbook")  # pulls of team lists, not of the register


@dataclass(slots=True)
class ComplexSummary:
    complex_code: str
    units: int = 0
    households: int = 0  # units with someone living there under a current agreement
    co_tenant_households: int = 0
    tenure: Counter[str] = field(default_factory=Counter)


@dataclass(slots=True)
class ProjectSummary:
    project: Project
    complexes: list[ComplexSummary]

    @property
    def units(self) -> int:
        return sum(c.units for c in self.complexes)

    @property
    def households(self) -> int:
        return sum(c.households for c in self.complexes)


@dataclass(slots=True)
class RegisterSummary:
    corporation_code: str
    projects: list[ProjectSummary]
    last_run: dict[str, object] | None
    kept_aside: list[tuple[str, str, str, str]]  # (entity, unit code, reason, detail)


def register_summary(
    sessions: sessionmaker[Session], corporation_code: str, projects: list[Project], on: date
) -> RegisterSummary:
    with sessions() as session:
        units = session.execute(
            select(UnitRow.code, UnitRow.complex_code, UnitRow.tenure).where(
                UnitRow.corporation_code == corporation_code, UnitRow.removed_at.is_(None)
            )
        ).all()
        leases = session.execute(
            select(
                LeaseRow.unit_code,
                LeaseRow.status,
                LeaseRow.start_date,
                LeaseRow.end_date,
                LeaseRow.parties,
            ).where(
                LeaseRow.corporation_code == corporation_code,
                LeaseRow.removed_at.is_(None),
                LeaseRow.status != LeaseStatus.ENDED.value,
            )
        ).all()
        runs = SyncRunRepository(session, corporation_code)
        # The register's own source (the ERP); team-list pulls are reported by their own command.
        latest = session.scalars(
            select(SyncRunRow)
            .where(
                SyncRunRow.corporation_code == corporation_code,
                SyncRunRow.source.not_in(TEAM_SOURCES),
            )
            .order_by(SyncRunRow.id.desc())
            .limit(1)
        ).first()
        kept = runs.rejected_of(latest.id) if latest else []
        last_run: dict[str, object] | None = None
        if latest:
            last_run = {
                "id": latest.id,
                "source": latest.source,
                "outcome": latest.outcome,
                "started_at": latest.started_at,
                "rows_written": latest.rows_written,
                "counts": dict(latest.counts),
                "message": latest.message,
            }
        kept_aside = [(r.entity, r.unit_code, r.reason, r.detail) for r in kept]

    occupied: dict[str, int] = defaultdict(int)  # unit code -> most parties on a current lease
    for unit_code, _status, start, end, parties in leases:
        if (start is None or start <= on) and (end is None or end >= on):
            occupied[unit_code] = max(occupied[unit_code], len(parties))

    by_complex: dict[str, ComplexSummary] = {}
    for code, complex_code, tenure in units:
        summary = by_complex.setdefault(complex_code, ComplexSummary(complex_code))
        summary.units += 1
        summary.tenure[tenure] += 1
        if code in occupied:
            summary.households += 1
            summary.co_tenant_households += occupied[code] > 1

    project_summaries = [
        ProjectSummary(p, [by_complex.get(c, ComplexSummary(c)) for c in p.complex_codes])
        for p in projects
    ]
    return RegisterSummary(corporation_code, project_summaries, last_run, kept_aside)


TENURE_ORDER = [t.value for t in Tenure]
