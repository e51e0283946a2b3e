"""The stored register of a corporation: units, residents and leases, and their row mappers.

Only rows whose content hash changed are ever passed in to be written (the sync diffs first);
rows that disappear from the source are marked removed, never deleted. Reads return domain
values (keukentafel.domain.model).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from keukentafel.domain.model import (
    Address,
    AgreementKind,
    ContactKind,
    ContactPoint,
    Household,
    Lease,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    PersonName,
    PracticalNeed,
    Resident,
    Tenure,
    Unit,
    household_of,
)
from keukentafel.domain.register import EntityKind
from keukentafel.store.models import LeaseRow, ResidentRow, UnitRow
from keukentafel.store.repositories._bulk import bulk_insert, chunks, driver_rows, table_of

_TABLES: dict[EntityKind, tuple[type[UnitRow] | type[ResidentRow] | type[LeaseRow], str]] = {
    EntityKind.UNIT: (UnitRow, "code"),
    EntityKind.RESIDENT: (ResidentRow, "relation_id"),
    EntityKind.LEASE: (LeaseRow, "lease_id"),
}


# --- domain <-> row ---------------------------------------------------------------------------


def unit_values(unit: Unit) -> dict[str, Any]:
    a = unit.address
    return {
        "code": unit.code,
        "vera_id": unit.vera_id,
        "complex_code": unit.complex_code,
        "street": a.street,
        "number": a.number,
        "letter": a.letter,
        "addition": a.addition,
        "postcode": a.postcode,
        "town": a.town,
        "street_short": a.street_short,
        "tenure": unit.tenure.value,
    }


def unit_from_row(row: UnitRow) -> Unit:
    address = Address(
        row.street, row.number, row.postcode, row.town, row.letter, row.addition, row.street_short
    )
    return Unit(row.code, row.vera_id, row.complex_code, address, Tenure(row.tenure))


def resident_values(resident: Resident) -> dict[str, Any]:
    name = resident.name
    return {
        "relation_id": resident.relation_id,
        "is_organisation": name is None,
        "initials": name.initials if name else "",
        "first_name": name.first_name if name else "",
        "tussenvoegsel": name.tussenvoegsel if name else "",
        "surname": name.surname if name else "",
        "gender": name.gender if name else "",
        "organisation_name": resident.organisation_name,
        "contacts": [_contact_values(c) for c in resident.contacts],
        "language": resident.language,
        "needs": sorted(n.value for n in resident.needs),
    }


def resident_from_row(row: ResidentRow) -> Resident:
    name = (
        None
        if row.is_organisation
        else PersonName(row.surname, row.initials, row.first_name, row.tussenvoegsel, row.gender)
    )
    contacts = tuple(
        ContactPoint(
            ContactKind(c["kind"]), c["value"], bool(c.get("preferred")), c.get("problem", "")
        )
        for c in row.contacts
    )
    return Resident(
        row.relation_id,
        name,
        row.organisation_name,
        contacts,
        row.language,
        frozenset(PracticalNeed(n) for n in row.needs),
    )


def _contact_values(point: ContactPoint) -> dict[str, Any]:
    values: dict[str, Any] = {
        "kind": point.kind.value,
        "value": point.value,
        "preferred": point.preferred,
    }
    if point.problem:
        values["problem"] = point.problem
    return values


def _party_values(party: LeaseParty) -> dict[str, Any]:
    values: dict[str, Any] = {"relation_id": party.relation_id, "role": party.role.value}
    if party.start_date is not None:
        values["start_date"] = party.start_date.isoformat()
    if party.end_date is not None:
        values["end_date"] = party.end_date.isoformat()
    return values


def _party_from(values: Mapping[str, Any]) -> LeaseParty:
    start, end = values.get("start_date"), values.get("end_date")
    return LeaseParty(
        values["relation_id"],
        PartyRole(values["role"]),
        date.fromisoformat(start) if start else None,
        date.fromisoformat(end) if end else None,
    )


def lease_values(lease: Lease) -> dict[str, Any]:
    return {
        "lease_id": lease.lease_id,
        "unit_code": lease.unit_code,
        "kind": lease.kind.value,
        "status": lease.status.value,
        "start_date": lease.start_date,
        "end_date": lease.end_date,
        "parties": [_party_values(p) for p in lease.parties],
    }


def lease_from_row(row: LeaseRow) -> Lease:
    return Lease(
        row.lease_id,
        row.unit_code,
        AgreementKind(row.kind),
        LeaseStatus(row.status),
        row.start_date,
        row.end_date,
        tuple(_party_from(p) for p in row.parties),
    )


_VALUES: dict[EntityKind, Callable[[Any], dict[str, Any]]] = {
    EntityKind.UNIT: unit_values,
    EntityKind.RESIDENT: resident_values,
    EntityKind.LEASE: lease_values,
}


class RegisterRepository:
    """The stored register of one corporation."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    # reads ------------------------------------------------------------------------------------

    def stored_hashes(self, kind: EntityKind) -> dict[str, str]:
        """Content hash per id of every row that is not removed."""
        table, key = _TABLES[kind]
        rows = driver_rows(
            self.session,
            f"SELECT {key}, content_hash FROM {table.__tablename__} "
            "WHERE corporation_code = ? AND removed_at IS NULL",
            (self.corporation,),
        )
        return dict(rows)

    def units(self, codes: Iterable[str] | None = None) -> dict[str, Unit]:
        query = select(UnitRow).where(UnitRow.corporation_code == self.corporation)
        query = self._active_or_selected(query, UnitRow, codes)
        return {row.code: unit_from_row(row) for row in self._scalars(query, UnitRow.code, codes)}

    def residents(self, ids: Iterable[str] | None = None) -> dict[str, Resident]:
        query = select(ResidentRow).where(ResidentRow.corporation_code == self.corporation)
        query = self._active_or_selected(query, ResidentRow, ids)
        return {
            row.relation_id: resident_from_row(row)
            for row in self._scalars(query, ResidentRow.relation_id, ids)
        }

    def leases(self, ids: Iterable[str] | None = None) -> dict[str, Lease]:
        query = select(LeaseRow).where(LeaseRow.corporation_code == self.corporation)
        query = self._active_or_selected(query, LeaseRow, ids)
        return {
            row.lease_id: lease_from_row(row)
            for row in self._scalars(query, LeaseRow.lease_id, ids)
        }

    @staticmethod
    def _active_or_selected(query: Any, table: Any, ids: Iterable[str] | None) -> Any:
        return query.where(table.removed_at.is_(None)) if ids is None else query

    def _scalars(self, query: Any, key: Any, ids: Iterable[str] | None) -> Iterator[Any]:
        if ids is None:
            yield from self.session.scalars(query)
            return
        wanted = sorted(set(ids))
        for chunk in chunks(wanted, 900):  # stay under SQLite's bound-parameter limit
            yield from self.session.scalars(query.where(key.in_(chunk)))

    def count_current_leases(self) -> int:
        return (
            self.session.scalar(
                select(func.count()).where(
                    LeaseRow.corporation_code == self.corporation,
                    LeaseRow.removed_at.is_(None),
                    LeaseRow.status != LeaseStatus.ENDED.value,
                )
            )
            or 0
        )

    def is_empty(self) -> bool:
        """No unit, resident or lease of the corporation was ever stored (removed ones count as
        stored): the next sync is its first load."""
        return not any(self._has_rows(table) for table, _ in _TABLES.values())

    def _has_rows(self, table: Any) -> bool:
        query = select(table.id).where(table.corporation_code == self.corporation).limit(1)
        return self.session.scalar(query) is not None

    # writes -----------------------------------------------------------------------------------

    def upsert(
        self, kind: EntityKind, items: Mapping[str, Any], hashes: Mapping[str, str], now: datetime
    ) -> int:
        """Insert or update the given items (only changed ones are passed in); returns the count."""
        if not items:
            return 0
        table, key = _TABLES[kind]
        to_values = _VALUES[kind]
        first = to_values(next(iter(items.values())))
        columns = [*first, "corporation_code", "content_hash", "updated_at", "removed_at"]
        corporation = self.corporation
        rows = (
            (*to_values(item).values(), corporation, hashes[item_id], now, None)
            for item_id, item in items.items()
        )
        # Nothing stored yet for this corporation (the first sync): nothing can conflict.
        conflict = ("corporation_code", key) if self._has_rows(table) else ()
        bulk_insert(self.session, table_of(table), columns, rows, conflict=conflict)
        return len(items)

    def mark_removed(self, kind: EntityKind, ids: Iterable[str], now: datetime) -> int:
        table, key = _TABLES[kind]
        wanted = sorted(set(ids))
        for chunk in chunks(wanted, 900):
            self.session.execute(
                update(table)
                .where(table.corporation_code == self.corporation, getattr(table, key).in_(chunk))
                .values(removed_at=now)
            )
        return len(wanted)


def load_households(
    session: Session, corporation_code: str, on: date, complexes: Iterable[str] | None = None
) -> list[Household]:
    """The household of every (in-scope) unit on a day, straight from the ERP register."""
    register = RegisterRepository(session, corporation_code)
    wanted = set(complexes) if complexes is not None else None
    units = [u for u in register.units().values() if wanted is None or u.complex_code in wanted]
    leases_by_unit: dict[str, list[Lease]] = {}
    for lease in register.leases().values():
        leases_by_unit.setdefault(lease.unit_code, []).append(lease)
    residents = register.residents()
    return [
        household_of(unit, leases_by_unit.get(unit.code, []), residents, on)
        for unit in sorted(units, key=lambda u: u.code)
    ]
