"""Use case: the register at a glance, per project and complex (counts only, no names)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.model import Project, Tenure
from keukentafel.domain.runs import RunKind
from keukentafel.store.repositories import RegisterRepository, SyncRunRepository
from keukentafel.usecases.sync_register import close_abandoned_syncs


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
    close_abandoned_syncs(sessions, corporation_code)  # a killed sync shows as interrupted now
    with sessions() as session:
        register = RegisterRepository(session, corporation_code)
        units = register.units().values()
        leases = [lease for lease in register.leases().values() if lease.is_current(on)]
        runs = SyncRunRepository(session, corporation_code)
        # The register's own sync (the ERP); team-list pulls are reported by their own command.
        latest = runs.latest(kind=RunKind.REGISTER_SYNC)
        last_run: dict[str, object] | None = None
        kept_aside: list[tuple[str, str, str, str]] = []
        if latest is not None:
            last_run = {
                "id": latest.id,
                "source": latest.source,
                "outcome": latest.outcome,
                "started_at": latest.started_at,
                "rows_written": latest.rows_written,
                "counts": dict(latest.counts),
                "message": latest.message,
            }
            kept_aside = [
                (r.entity, r.unit_code, r.reason, r.detail) for r in runs.rejected_of(latest.id)
            ]

    occupied: dict[str, int] = defaultdict(int)  # unit code -> most parties on a current lease
    for lease in leases:
        occupied[lease.unit_code] = max(occupied[lease.unit_code], len(lease.parties))

    by_complex: dict[str, ComplexSummary] = {}
    for unit in units:
        summary = by_complex.setdefault(unit.complex_code, ComplexSummary(unit.complex_code))
        summary.units += 1
        summary.tenure[unit.tenure] += 1
        if unit.code in occupied:
            summary.households += 1
            summary.co_tenant_households += occupied[unit.code] > 1

    project_summaries = [
        ProjectSummary(p, [by_complex.get(c, ComplexSummary(c)) for c in p.complex_codes])
        for p in projects
    ]
    return RegisterSummary(corporation_code, project_summaries, last_run, kept_aside)


TENURE_ORDER = [t.value for t in Tenure]
