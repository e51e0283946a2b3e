"""Repositories over a session: the register (units, residents, leases) and sync runs.

Repositories take a session and never commit: the use case owns the transaction. Register writes
are bulk ``INSERT … ON CONFLICT DO UPDATE`` statements on the session's own connection: one
``executemany`` on SQLite, ``COPY`` into a temporary table and one ``INSERT … SELECT`` on
PostgreSQL (the ORM's bulk path took 12 s on SQLite and 35 s on PostgreSQL for 263,000 rows and
their change events; these take a few seconds). Only rows whose content hash changed are ever
passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import fields as dataclass_fields
from datetime import date, datetime
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy import JSON, Date, DateTime, Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
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
from keukentafel.domain.register import ChangeEvent, EntityKind, RejectedRow
from keukentafel.domain.team_contacts import PreferredChannel, TeamContact
from keukentafel.store.models import (
    Base,
    ChangeEventRow,
    ConnectorStateRow,
    InvitationRow,
    LeaseRow,
    RejectedRowRow,
    ResidentRow,
    SourcePageRow,
    SyncRunRow,
    TeamContactRow,
    UnitRow,
)

BATCH = 5000
T = TypeVar("T")

_TABLES: dict[EntityKind, tuple[type[UnitRow] | type[ResidentRow] | type[LeaseRow], str]] = {
    EntityKind.UNIT: (UnitRow, "code"),
    EntityKind.RESIDENT: (ResidentRow, "relation_id"),
    EntityKind.LEASE: (LeaseRow, "lease_id"),
}


def _chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- domain <-> row ---------------------------------------------------------------------------


def _bulk_insert(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    conflict: Sequence[str] = (),
) -> None:
    """Insert rows (tuples in ``columns`` order) on the session's connection, in its transaction.

    With ``conflict`` (the columns of a unique constraint), a row that exists is updated in
    place (``ON CONFLICT DO UPDATE``). JSON values are passed as Python values. Fast paths for
    SQLite (one ``executemany``) and PostgreSQL (``COPY`` into a temporary table, then one
    ``INSERT … SELECT``); any other database goes through SQLAlchemy Core.
    """
    connection = session.connection()
    dialect = connection.dialect
    name = table.name
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in conflict)
    on_conflict = (
        f" ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}" if conflict else ""
    )
    json_columns = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    if dialect.name == "sqlite":
        convert: list[tuple[int, Callable[[Any], Any]]] = [(i, _json_text) for i in json_columns]
        for i, column in enumerate(columns):
            if isinstance(table.c[column].type, Date | DateTime):
                processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    convert.append((i, _memoised(processor)))

        def sqlite_rows() -> Iterator[list[Any]]:
            for row in rows:
                values = list(row)
                for i, fn in convert:
                    if values[i] is not None:
                        values[i] = fn(values[i])
                yield values

        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(
                f"INSERT INTO {name} ({names}) VALUES ({marks}){on_conflict}", sqlite_rows()
            )
        finally:
            cursor.close()
        return
    if dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        stage = f"_kt_stage_{name}"
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            if conflict:
                cursor.execute(
                    f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS "
                    f"SELECT {names} FROM {name} WITH NO DATA"
                )
            target = stage if conflict else name
            with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
                for row in rows:
                    if json_columns:
                        row = list(row)
                        for i in json_columns:
                            if row[i] is not None:
                                row[i] = _json_text(row[i])
                    copy.write_row(row)
            if conflict:
                cursor.execute(
                    f"INSERT INTO {name} ({names}) SELECT {names} FROM {stage}{on_conflict}"
                )
                cursor.execute(f"DROP TABLE {stage}")
        return
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    for chunk in _chunks(records):
        stmt: Any = insert(table)
        if conflict:  # pragma: no cover - only SQLite and PostgreSQL are supported stores
            raise NotImplementedError(f"upsert on {dialect.name}")
        connection.execute(stmt, list(chunk))


def _json_text(value: Any) -> str:
    """A JSON column's value as text (what SQLAlchemy's JSON type would store; compact)."""
    return orjson.dumps(value).decode()


def _memoised(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A converter that remembers its last few answers (a sync writes one timestamp per row)."""
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        found = seen.get(value)
        if found is None:
            found = fn(value)
            if len(seen) < 10_000:
                seen[value] = found
        return found

    return convert


def _table_of(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _driver_rows(session: Session, sql: str, params: Sequence[Any]) -> list[Any]:
    """Rows of a plain query on the session's connection (``?`` placeholders), without ORM."""
    connection = session.connection()
    if connection.dialect.name not in ("sqlite", "postgresql"):  # pragma: no cover
        raise NotImplementedError(connection.dialect.name)
    if connection.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


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
        "tenure": unit.tenure.value,
    }


def unit_from_row(row: UnitRow) -> Unit:
    address = Address(row.street, row.number, row.postcode, row.town, row.letter, row.addition)
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
        "contacts": [
            {"kind": c.kind.value, "value": c.value, "preferred": c.preferred}
            for c in resident.contacts
        ],
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
        ContactPoint(ContactKind(c["kind"]), c["value"], bool(c.get("preferred")))
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


def lease_values(lease: Lease) -> dict[str, Any]:
    return {
        "lease_id": lease.lease_id,
        "unit_code": lease.unit_code,
        "kind": lease.kind.value,
        "status": lease.status.value,
        "start_date": lease.start_date,
        "end_date": lease.end_date,
        "parties": [{"relation_id": p.relation_id, "role": p.role.value} for p in lease.parties],
    }


def lease_from_row(row: LeaseRow) -> Lease:
    return Lease(
        row.lease_id,
        row.unit_code,
        AgreementKind(row.kind),
        LeaseStatus(row.status),
        row.start_date,
        row.end_date,
        tuple(LeaseParty(p["relation_id"], PartyRole(p["role"])) for p in row.parties),
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
        rows = _driver_rows(
            self.session,
            f"SELECT {key}, content_hash FROM {table.__tablename__} "
            "WHERE corporation_code = ? AND removed_at IS NULL",
            (self.corporation,),
        )
        return dict(rows)

    def units(self, codes: Iterable[str] | None = None) -> dict[str, Unit]:
        query = select(UnitRow).where(UnitRow.corporation_code == self.corporation)
        query = self._active_or_selected(query, UnitRow, UnitRow.code, codes)
        return {row.code: unit_from_row(row) for row in self._scalars(query, UnitRow.code, codes)}

    def residents(self, ids: Iterable[str] | None = None) -> dict[str, Resident]:
        query = select(ResidentRow).where(ResidentRow.corporation_code == self.corporation)
        query = self._active_or_selected(query, ResidentRow, ResidentRow.relation_id, ids)
        return {
            row.relation_id: resident_from_row(row)
            for row in self._scalars(query, ResidentRow.relation_id, ids)
        }

    def leases(self, ids: Iterable[str] | None = None) -> dict[str, Lease]:
        query = select(LeaseRow).where(LeaseRow.corporation_code == self.corporation)
        query = self._active_or_selected(query, LeaseRow, LeaseRow.lease_id, ids)
        return {
            row.lease_id: lease_from_row(row)
            for row in self._scalars(query, LeaseRow.lease_id, ids)
        }

    @staticmethod
    def _active_or_selected(query: Any, table: Any, _key: Any, ids: Iterable[str] | None) -> Any:
        return query.where(table.removed_at.is_(None)) if ids is None else query

    def _scalars(self, query: Any, key: Any, ids: Iterable[str] | None) -> Iterator[Any]:
        if ids is None:
            yield from self.session.scalars(query)
            return
        wanted = sorted(set(ids))
        for chunk in _chunks(wanted, 900):  # stay under SQLite's bound-parameter limit
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
        first_load = (
            self.session.scalar(
                select(table.id).where(table.corporation_code == corporation).limit(1)
            )
            is None
        )
        conflict = () if first_load else ("corporation_code", key)
        _bulk_insert(self.session, _table_of(table), columns, rows, conflict=conflict)
        return len(items)

    def mark_removed(self, kind: EntityKind, ids: Iterable[str], now: datetime) -> int:
        table, key = _TABLES[kind]
        wanted = sorted(set(ids))
        for chunk in _chunks(wanted, 900):
            self.session.execute(
                update(table)
                .where(table.corporation_code == self.corporation, getattr(table, key).in_(chunk))
                .values(removed_at=now)
            )
        return len(wanted)


class SyncRunRepository:
    """Sync runs with their change events and the rows kept aside."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def start(self, source: str, now: datetime) -> int:
        run = SyncRunRow(
            corporation_code=self.corporation,
            source=source,
            started_at=now,
            outcome="running",
            counts={},
        )
        self.session.add(run)
        self.session.flush()
        return run.id

    def finish(
        self,
        run_id: int,
        *,
        outcome: str,
        now: datetime,
        counts: Mapping[str, int] | None = None,
        rows_written: int = 0,
        rejected_count: int = 0,
        message: str = "",
    ) -> None:
        self.session.execute(
            update(SyncRunRow)
            .where(SyncRunRow.id == run_id)
            .values(
                outcome=outcome,
                finished_at=now,
                counts=dict(counts or {}),
                rows_written=rows_written,
                rejected_count=rejected_count,
                message=message,
            )
        )

    def add_events(self, run_id: int, events: Sequence[ChangeEvent], now: datetime) -> None:
        if not events:
            return
        columns = (
            "sync_run_id",
            "corporation_code",
            "kind",
            "entity",
            "entity_id",
            "unit_code",
            "fields",
            "created_at",
        )
        corporation = self.corporation
        rows = (
            (
                run_id,
                corporation,
                e.kind.value,
                e.entity.value,
                e.entity_id,
                e.unit_code,
                list(e.fields),
                now,
            )
            for e in events
        )
        _bulk_insert(self.session, _table_of(ChangeEventRow), columns, rows)

    def add_rejected(self, run_id: int, rejected: Sequence[RejectedRow]) -> None:
        rows = [
            {
                "sync_run_id": run_id,
                "corporation_code": self.corporation,
                "entity": r.entity.value,
                "source_id": r.source_id[:64],
                "unit_code": r.unit_code[:64],
                "reason": r.reason.value,
                "detail": r.detail,
                "raw": _jsonable(r.raw),
            }
            for r in rejected
        ]
        for chunk in _chunks(rows):
            self.session.execute(insert(RejectedRowRow), list(chunk))

    def latest(self, *, outcome: str | None = None) -> SyncRunRow | None:
        query = select(SyncRunRow).where(SyncRunRow.corporation_code == self.corporation)
        if outcome:
            query = query.where(SyncRunRow.outcome == outcome)
        return self.session.scalars(query.order_by(SyncRunRow.id.desc()).limit(1)).first()

    def rejected_of(self, run_id: int) -> list[RejectedRowRow]:
        return list(
            self.session.scalars(
                select(RejectedRowRow)
                .where(RejectedRowRow.sync_run_id == run_id)
                .order_by(RejectedRowRow.id)
            )
        )

    def events_of(self, run_id: int) -> list[ChangeEventRow]:
        return list(
            self.session.scalars(
                select(ChangeEventRow)
                .where(ChangeEventRow.sync_run_id == run_id)
                .order_by(ChangeEventRow.id)
            )
        )


class SourcePageRepository:
    """Summaries of one source's pages by page key (see ``SourcePageRow`` and ``PageMemo``)."""

    def __init__(self, session: Session, corporation_code: str, source: str) -> None:
        self.session = session
        self.corporation = corporation_code
        self.source = source

    def load(self) -> dict[str, bytes]:
        rows = _driver_rows(
            self.session,
            "SELECT page_key, summary FROM source_pages WHERE corporation_code = ? AND source = ?",
            (self.corporation, self.source),
        )
        return {key: bytes(summary) for key, summary in rows}

    def save(self, new: Mapping[str, bytes], stale: Iterable[str], now: datetime) -> None:
        """Add the new summaries and drop the stale ones, in the caller's transaction."""
        gone = sorted(set(stale))
        for chunk in _chunks(gone, 900):
            self.session.execute(
                delete(SourcePageRow).where(
                    SourcePageRow.corporation_code == self.corporation,
                    SourcePageRow.source == self.source,
                    SourcePageRow.page_key.in_(chunk),
                )
            )
        if new:
            columns = ("corporation_code", "source", "page_key", "summary", "updated_at")
            rows = ((self.corporation, self.source, k, v, now) for k, v in new.items())
            _bulk_insert(
                self.session,
                _table_of(SourcePageRow),
                columns,
                rows,
                conflict=("corporation_code", "source", "page_key"),
            )


def _jsonable(value: Any) -> Any:
    """Raw rows are stored as JSON; anything else (bytes, odd types) as its text form."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


class ConnectorState:
    """Durable connector state by key (delta links, reply watermarks) for one corporation."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def get(self, key: str) -> str | None:
        return self.session.scalar(
            select(ConnectorStateRow.value).where(
                ConnectorStateRow.corporation_code == self.corporation, ConnectorStateRow.key == key
            )
        )

    def set(self, key: str, value: str, now: datetime) -> None:
        row = self.session.scalar(
            select(ConnectorStateRow).where(
                ConnectorStateRow.corporation_code == self.corporation, ConnectorStateRow.key == key
            )
        )
        if row is None:
            self.session.add(
                ConnectorStateRow(
                    corporation_code=self.corporation, key=key, value=value, updated_at=now
                )
            )
        elif row.value != value:
            row.value = value
            row.updated_at = now


def team_contact_values(contact: TeamContact) -> dict[str, Any]:
    values = {f.name: getattr(contact, f.name) for f in dataclass_fields(contact)}
    values["preferred_channel"] = (
        contact.preferred_channel.value if contact.preferred_channel else None
    )
    values["needs"] = sorted(n.value for n in contact.needs)
    return values


def team_contact_from_values(values: Mapping[str, Any]) -> TeamContact:
    data = dict(values)
    data["preferred_channel"] = (
        PreferredChannel(data["preferred_channel"]) if data.get("preferred_channel") else None
    )
    data["needs"] = frozenset(PracticalNeed(n) for n in data.get("needs", ()))
    return TeamContact(**data)


class TeamContactRepository:
    """The stored rows of the team's contact lists, per source."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def stored_hashes(self, source: str) -> dict[str, str]:
        rows = self.session.execute(
            select(TeamContactRow.row_key, TeamContactRow.content_hash).where(
                TeamContactRow.corporation_code == self.corporation,
                TeamContactRow.source == source,
                TeamContactRow.removed_at.is_(None),
            )
        )
        return {k: h for k, h in rows}

    def upsert(
        self,
        source: str,
        items: Mapping[str, TeamContact],
        hashes: Mapping[str, str],
        now: datetime,
    ) -> int:
        if not items:
            return 0
        rows = [
            {
                "corporation_code": self.corporation,
                "source": source,
                "row_key": key,
                "data": team_contact_values(item),
                "content_hash": hashes[key],
                "updated_at": now,
                "removed_at": None,
            }
            for key, item in items.items()
        ]
        dialect = self.session.get_bind().dialect.name
        stmt: postgresql.Insert | sqlite.Insert = (
            postgresql.insert(TeamContactRow)
            if dialect == "postgresql"
            else sqlite.insert(TeamContactRow)
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["corporation_code", "source", "row_key"],
            set_={
                c: stmt.excluded[c] for c in ("data", "content_hash", "updated_at", "removed_at")
            },
        )
        for chunk in _chunks(rows):
            self.session.execute(stmt, list(chunk))
        return len(rows)

    def mark_removed(self, source: str, keys: Iterable[str], now: datetime) -> int:
        wanted = sorted(set(keys))
        for chunk in _chunks(wanted, 900):
            self.session.execute(
                update(TeamContactRow)
                .where(
                    TeamContactRow.corporation_code == self.corporation,
                    TeamContactRow.source == source,
                    TeamContactRow.row_key.in_(chunk),
                    TeamContactRow.removed_at.is_(None),
                )
                .values(removed_at=now)
            )
        return len(wanted)

    def active(self) -> list[TeamContact]:
        rows = self.session.scalars(
            select(TeamContactRow.data)
            .where(
                TeamContactRow.corporation_code == self.corporation,
                TeamContactRow.removed_at.is_(None),
            )
            .order_by(TeamContactRow.source, TeamContactRow.id)
        )
        return [team_contact_from_values(values) for values in rows]


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


class InvitationRepository:
    """The last SEQUENCE and content fingerprint per invitation UID."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def stored(self, uids: Iterable[str]) -> dict[str, tuple[int, str]]:
        wanted = sorted(set(uids))
        found: dict[str, tuple[int, str]] = {}
        for chunk in _chunks(wanted, 900):
            rows = self.session.execute(
                select(InvitationRow.uid, InvitationRow.sequence, InvitationRow.content_hash).where(
                    InvitationRow.corporation_code == self.corporation, InvitationRow.uid.in_(chunk)
                )
            )
            found.update({uid: (sequence, digest) for uid, sequence, digest in rows})
        return found

    def save(self, versions: Mapping[str, tuple[str, int, str]], now: datetime) -> None:
        """``versions``: uid -> (unit code, sequence, fingerprint) as just sent."""
        existing = {
            row.uid: row
            for row in self.session.scalars(
                select(InvitationRow).where(
                    InvitationRow.corporation_code == self.corporation,
                    InvitationRow.uid.in_(list(versions)),
                )
            )
        }
        for uid, (unit_code, sequence, digest) in versions.items():
            row = existing.get(uid)
            if row is None:
                self.session.add(
                    InvitationRow(
                        corporation_code=self.corporation,
                        uid=uid,
                        unit_code=unit_code,
                        sequence=sequence,
                        content_hash=digest,
                        updated_at=now,
                    )
                )
            elif (row.sequence, row.content_hash) != (sequence, digest):
                row.sequence, row.content_hash, row.updated_at = sequence, digest, now
