"""Use case: the register as data, for the corporation and for scripts (``register --format``).

Per unit: its code, ERP id, complex, tenure, whether its address is complete for the post, the
address lines exactly as a letter prints them, the parties of its current agreements with their
roles and the days those roles run, and the contact points kept aside with their reasons; then
the rows the last register sync kept aside, and the rows it counted out of scope. The fields are
documented in ``docs/register.md``.

No file formats here: the writers (JSON, CSV, XLSX) live with the command line
(keukentafel/cli/register_files.py). The address lines come from the letters' own function,
handed in by the composition root (``address_lines``), so the export never drifts from the
letters; a use case does not import the letters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.model import ContactKind, Household, Lease, PartyRole, household_of
from keukentafel.store.repositories import RegisterRepository
from keukentafel.usecases.register_summary import KeptAsideRow, last_sync_report

#: How a letter writes a household's address block (keukentafel.letters.context.address_lines).
AddressLines = Callable[[Household], Sequence[str]]


@dataclass(frozen=True, slots=True)
class ExportedParty:
    """A party to one of the unit's current agreements, and whether its role runs today."""

    lease_id: str
    relation_id: str
    role: PartyRole
    start_date: date | None  # the role's first day; None: as long as the agreement
    end_date: date | None  # the role's last day; None: open
    in_household: bool  # the role runs on the export's date: the party is addressed


@dataclass(frozen=True, slots=True)
class ContactProblem:
    """A contact point kept aside: whose, which kind, and why (never its value)."""

    relation_id: str
    kind: ContactKind
    problem: str


@dataclass(frozen=True, slots=True)
class ExportedUnit:
    code: str
    erp_id: str
    complex_code: str
    tenure: str
    postally_complete: bool  # False: no postcode; the post needs a look before it goes
    address_lines: tuple[str, ...]
    parties: tuple[ExportedParty, ...]
    contact_problems: tuple[ContactProblem, ...]


@dataclass(frozen=True, slots=True)
class LastSync:
    run_id: int
    source: str
    outcome: str
    started_at: datetime  # naive UTC, as the store keeps it


@dataclass(frozen=True, slots=True)
class RegisterExport:
    corporation_code: str
    on: date  # the Amsterdam date the households are taken on
    units: tuple[ExportedUnit, ...]
    last_sync: LastSync | None
    kept_aside: tuple[KeptAsideRow, ...]
    out_of_scope: dict[str, int]  # rows of the last sync outside the complexes, per entity


def export_register(
    sessions: sessionmaker[Session],
    corporation_code: str,
    on: date,
    address_lines: AddressLines,
) -> RegisterExport:
    """The stored register of a corporation on ``on`` (an Amsterdam date), unit by unit."""
    with sessions() as session:
        register = RegisterRepository(session, corporation_code)
        units = sorted(register.units().values(), key=lambda u: u.code)
        leases_by_unit: dict[str, list[Lease]] = {}
        for lease in register.leases().values():
            leases_by_unit.setdefault(lease.unit_code, []).append(lease)
        residents = register.residents()
        last_sync, kept_aside, out_of_scope = _last_sync(session, corporation_code)

    exported = []
    for unit in units:
        current = sorted(
            (lease for lease in leases_by_unit.get(unit.code, []) if lease.is_current(on)),
            key=lambda lease: (lease.start_date or date.min, lease.lease_id),
        )
        household = household_of(unit, current, residents, on)
        parties = tuple(
            ExportedParty(
                lease.lease_id,
                party.relation_id,
                party.role,
                party.start_date,
                party.end_date,
                party.runs_on(on),
            )
            for lease in current
            for party in lease.parties
        )
        problems = tuple(
            ContactProblem(resident.relation_id, point.kind, point.problem)
            for resident in household.residents
            for point in resident.contact_problems
        )
        exported.append(
            ExportedUnit(
                unit.code,
                unit.vera_id,
                unit.complex_code,
                unit.tenure.value,
                unit.address.postally_complete,
                tuple(address_lines(household)),
                parties,
                problems,
            )
        )
    return RegisterExport(
        corporation_code, on, tuple(exported), last_sync, kept_aside, out_of_scope
    )


def _last_sync(
    session: Session, corporation_code: str
) -> tuple[LastSync | None, tuple[KeptAsideRow, ...], dict[str, int]]:
    latest, kept, out_of_scope = last_sync_report(session, corporation_code)
    if latest is None:
        return None, (), {}
    last = LastSync(latest.id, latest.source, latest.outcome, latest.started_at)
    return last, tuple(kept), out_of_scope
