"""Use case: the register at a glance, per project and complex (counts only, no names)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.model import Lease, Project, Tenure, Unit
from keukentafel.domain.register import EntityKind
from keukentafel.domain.runs import RunKind
from keukentafel.store.repositories import RegisterRepository, SyncRunRepository
from keukentafel.usecases.sync_register import OUT_OF_SCOPE_KEY, close_abandoned_syncs


class ContactPointKeptAside(NamedTuple):
    """A contact point of a household member that no message will use, and why (no value)."""

    unit_code: str
    relation_id: str
    kind: str
    problem: str


class KeptAsideRow(NamedTuple):
    """A row of the last sync that was kept aside: unit codes, ids and reasons, never names."""

    entity: str
    unit_code: str  # "" when the row names no unit
    reason: str
    detail: str
    source_id: str = ""  # the row's id in the ERP

    @property
    def label(self) -> str:
        """What the operator looks the row up by: the unit code, else the ERP id."""
        if self.unit_code:
            return self.unit_code
        return f"ERP id {self.source_id}" if self.source_id else "-"


@dataclass(frozen=True, slots=True)
class LastRun:
    """The last register sync as the operator sees it (counts include ``out_of_scope_*``)."""

    id: int
    source: str
    outcome: str
    started_at: datetime  # naive UTC, as the store keeps it
    rows_written: int
    counts: dict[str, int]
    message: str


@dataclass(slots=True)
class ComplexSummary:
    complex_code: str
    units: int = 0
    households: int = 0  # units with someone living there under a current agreement
    co_tenant_households: int = 0  # ... with more than one party whose role runs today
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
    kept_aside: list[KeptAsideRow]
    # Rows of the last sync outside the projects' complexes, per entity: counted, not listed.
    out_of_scope: dict[str, int] = field(default_factory=dict)
    contact_problems: list[ContactPointKeptAside] = field(default_factory=list)


def register_summary(
    sessions: sessionmaker[Session], corporation_code: str, projects: list[Project], on: date
) -> RegisterSummary:
    """``on`` is an Amsterdam calendar date: leases and roles count when they run on it."""
    close_abandoned_syncs(sessions, corporation_code)  # a killed sync shows as interrupted now
    with sessions() as session:
        register = RegisterRepository(session, corporation_code)
        units = register.units().values()
        leases = [lease for lease in register.leases().values() if lease.is_current(on)]
        residents = register.residents()
        latest, kept_aside, out_of_scope = last_sync_report(session, corporation_code)
    last_run = None if latest is None else asdict(latest)
    by_complex = _by_complex(units, leases, on)
    project_summaries = [
        ProjectSummary(p, [by_complex.get(c, ComplexSummary(c)) for c in p.complex_codes])
        for p in projects
    ]
    problems = [
        ContactPointKeptAside(lease.unit_code, party.relation_id, point.kind.value, point.problem)
        for lease in sorted(leases, key=lambda lease: (lease.unit_code, lease.lease_id))
        for party in lease.parties_on(on)
        if party.relation_id in residents
        for point in residents[party.relation_id].contact_problems
    ]
    return RegisterSummary(
        corporation_code, project_summaries, last_run, kept_aside, out_of_scope, problems
    )


def last_sync_report(
    session: Session, corporation_code: str
) -> tuple[LastRun | None, list[KeptAsideRow], dict[str, int]]:
    """The last register sync (team-list pulls report on their own), its rows kept aside and
    its rows out of scope per entity."""
    runs = SyncRunRepository(session, corporation_code)
    latest = runs.latest(kind=RunKind.REGISTER_SYNC)
    if latest is None:
        return None, [], {}
    kept_aside = [
        KeptAsideRow(r.entity, r.unit_code, r.reason, r.detail, r.source_id)
        for r in runs.rejected_of(latest.id)
    ]
    out_of_scope: dict[str, int] = {}
    for entity in EntityKind:
        count = latest.counts.get(OUT_OF_SCOPE_KEY.format(entity=entity.value), 0)
        if count:
            out_of_scope[entity.value] = int(count)
    last = LastRun(
        latest.id,
        latest.source,
        str(latest.outcome),
        latest.started_at,
        latest.rows_written,
        dict(latest.counts),
        latest.message,
    )
    return last, kept_aside, out_of_scope


def _by_complex(
    units: Iterable[Unit], current: Iterable[Lease], on: date
) -> dict[str, ComplexSummary]:
    # unit code -> most parties whose role runs on a current lease (a lease whose every role
    # ended houses nobody, as household_of says)
    occupied: dict[str, int] = defaultdict(int)
    for lease in current:
        running = len(lease.parties_on(on))
        if running:
            occupied[lease.unit_code] = max(occupied[lease.unit_code], running)
    by_complex: dict[str, ComplexSummary] = {}
    for unit in units:
        summary = by_complex.setdefault(unit.complex_code, ComplexSummary(unit.complex_code))
        summary.units += 1
        summary.tenure[unit.tenure] += 1
        if unit.code in occupied:
            summary.households += 1
            summary.co_tenant_households += occupied[unit.code] > 1
    return by_complex


TENURE_ORDER = [t.value for t in Tenure]
