"""Contractor feeds in the store: record digests, the change log, the webhook outbox, the
contractor inbox, the ERP writes, and a fast read of the register for computing feeds.

Sequences: ``allocate`` raises a contractor's ``last_sequence`` with one UPDATE on its endpoint
row. On PostgreSQL that row stays locked until the transaction commits, and SQLite has one
writer at a time, so a transaction that takes sequences after another commits after it: a
reader paging by ``sequence > cursor`` never sees a later sequence before an earlier one, and so
never skips a change. Every method works in the caller's transaction and never commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, func, select, update
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
from keukentafel.domain.planning.erp import ErpWrite
from keukentafel.domain.planning.feed import FeedItem
from keukentafel.store.models import (
    ErpWriteRow,
    FeedChangeRow,
    FeedEndpointRow,
    FeedInboxRow,
    FeedItemRow,
    WebhookOutboxRow,
)
from keukentafel.store.repositories._bulk import bulk_insert, chunks, driver_rows, table_of


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# --- the register, read fast -------------------------------------------------------------------

# Enum members by value: a dict lookup is ten times cheaper than calling the enum, and a feed
# reads every unit, lease and resident of its projects.
_TENURE = {t.value: t for t in Tenure}
_KIND = {k.value: k for k in AgreementKind}
_STATUS = {s.value: s for s in LeaseStatus}
_ROLE = {r.value: r for r in PartyRole}
_CONTACT = {c.value: c for c in ContactKind}
_NEED = {n.value: n for n in PracticalNeed}


def _json(value: Any) -> Any:
    """A JSON column as the driver returns it: text on SQLite, parsed already on PostgreSQL."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(slots=True)
class RegisterRows:
    """The register of some complexes as plain rows, each with its stored content hash: enough
    to tell which units changed (``source_digest``) before any domain value is made."""

    units: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # code -> row
    leases: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)  # unit code -> rows
    residents: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # relation id -> row


def read_register(session: Session, corporation: str, complexes: Iterable[str]) -> RegisterRows:
    """The units of ``complexes``, their leases and the leases' parties, read with plain driver
    queries (no ORM objects: a whole large register in a second or two). JSON columns come as
    text (PostgreSQL's driver would parse every one with the slow standard json module); a
    resident's contacts and needs are parsed only when its household is made."""
    rows = RegisterRows()
    for chunk in chunks(sorted(set(complexes)), 500):
        marks = ", ".join("?" for _ in chunk)
        for row in driver_rows(
            session,
            "SELECT code, vera_id, complex_code, street, number, letter, addition, postcode,"
            " town, tenure, content_hash FROM units WHERE corporation_code = ?"
            f" AND removed_at IS NULL AND complex_code IN ({marks})",
            (corporation, *chunk),
        ):
            rows.units[row[0]] = tuple(row)
    for row in driver_rows(
        session,
        "SELECT lease_id, unit_code, kind, status, start_date, end_date, CAST(parties AS TEXT),"
        " content_hash FROM leases WHERE corporation_code = ? AND removed_at IS NULL"
        " ORDER BY lease_id",
        (corporation,),
    ):
        if row[1] in rows.units:
            start, end = _day(row[4]), _day(row[5])
            lease = (*row[:4], start, end, _json(row[6]), row[7])
            rows.leases.setdefault(row[1], []).append(lease)
    parties = {p["relation_id"] for ls in rows.leases.values() for lease in ls for p in lease[6]}
    for row in driver_rows(
        session,
        "SELECT relation_id, is_organisation, initials, first_name, tussenvoegsel, surname,"
        " gender, organisation_name, CAST(contacts AS TEXT), language, CAST(needs AS TEXT),"
        " content_hash FROM residents WHERE corporation_code = ? AND removed_at IS NULL",
        (corporation,),
    ):
        if row[0] in parties:
            rows.residents[row[0]] = tuple(row)
    return rows


def _current(lease: tuple[Any, ...], on: date) -> bool:
    """As keukentafel.domain.model.Lease.is_current, on the plain row."""
    status, start, end = lease[3], lease[4], lease[5]
    if status == LeaseStatus.ENDED.value:
        return False
    return (start is None or start <= on) and (end is None or end >= on)


def source_digest(rows: RegisterRows, unit_code: str, on: date, extra: str = "") -> str:
    """A digest of everything a unit's household is made from on ``on``: the unit's row, its
    leases (and which run that day) and the rows of their parties; plus ``extra``."""
    parts = [rows.units[unit_code][-1], extra]
    for lease in rows.leases.get(unit_code, ()):
        current = _current(lease, on)
        parts.append(f"{lease[-1]}{int(current)}")
        if current:
            for party in lease[6]:
                resident = rows.residents.get(party["relation_id"])
                parts.append(resident[-1] if resident else "?")
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()


def households_of(rows: RegisterRows, unit_codes: Iterable[str], on: date) -> list[Household]:
    """The households of some units of ``rows``, in unit-code order (like ``load_households``)."""
    found = []
    residents: dict[str, Resident] = {}
    for code in sorted(unit_codes):
        vera_id, cx, street, number, letter, addition, postcode, town, tenure = rows.units[code][
            1:10
        ]
        unit = Unit(
            code,
            vera_id,
            cx,
            Address(street, number, postcode, town, letter, addition),
            _TENURE[tenure],
        )
        leases = [
            Lease(
                lease_id,
                code,
                _KIND[kind],
                _STATUS[status],
                start,
                end,
                tuple(LeaseParty(p["relation_id"], _ROLE[p["role"]]) for p in parties),
            )
            for lease_id, _unit, kind, status, start, end, parties, _hash in rows.leases.get(
                code, ()
            )
        ]
        for lease in leases:
            for party in lease.parties:
                if party.relation_id not in residents and party.relation_id in rows.residents:
                    residents[party.relation_id] = _resident(rows.residents[party.relation_id])
        found.append(household_of(unit, leases, residents, on))
    return found


def _resident(row: tuple[Any, ...]) -> Resident:
    relation_id, organisation, initials, first, particle, surname, gender, org_name = row[:8]
    contacts, language, needs = row[8:11]
    name = None if organisation else PersonName(surname, initials, first, particle, gender)
    points = tuple(
        ContactPoint(_CONTACT[c["kind"]], c["value"], bool(c.get("preferred")))
        for c in _json(contacts)
    )
    wanted = frozenset(_NEED[n] for n in _json(needs) if n in _NEED)
    return Resident(relation_id, name, org_name, points, language, wanted)


def households_fast(
    session: Session, corporation: str, on: date, complexes: Iterable[str]
) -> list[Household]:
    """The households of the units in ``complexes`` (as ``load_households`` gives them)."""
    rows = read_register(session, corporation, complexes)
    return households_of(rows, rows.units, on)


# --- records and the change log ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a contractor's change log."""

    sequence: int
    key: str
    type: str
    deleted: bool
    payload: bytes  # the record as canonical JSON ("null" when deleted)


_CHANGE_COLUMNS = (
    "corporation_code",
    "contractor_code",
    "sequence",
    "item_key",
    "item_type",
    "deleted",
    "payload",
    "created_at",
)
_ITEM_COLUMNS = (
    "corporation_code",
    "contractor_code",
    "item_key",
    "digest",
    "source_digest",
    "sequence",
    "removed",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    last_sequence: int
    disabled_at: datetime | None
    disabled_reason: str


class FeedRepository:
    """One contractor's feed: record digests, the change log and its sequence counter."""

    def __init__(self, session: Session, corporation: str, contractor: str) -> None:
        self.session = session
        self.corporation = corporation
        self.contractor = contractor

    def _where(self, model: Any) -> list[Any]:
        return [
            model.corporation_code == self.corporation,
            model.contractor_code == self.contractor,
        ]

    def endpoint(self) -> Endpoint:
        row = self.session.scalar(select(FeedEndpointRow).where(*self._where(FeedEndpointRow)))
        if row is None:
            return Endpoint(0, None, "")
        return Endpoint(row.last_sequence, row.disabled_at, row.disabled_reason)

    def _ensure_endpoint(self, now: datetime) -> None:
        stmt = (
            _insert(self.session)(FeedEndpointRow)
            .values(
                corporation_code=self.corporation,
                contractor_code=self.contractor,
                last_sequence=0,
                disabled_reason="",
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["corporation_code", "contractor_code"])
        )
        self.session.execute(stmt)

    def allocate(self, count: int, now: datetime) -> int:
        """Take ``count`` sequences; returns the first. Holds the contractor's sequence lock
        until the transaction ends (see the module docstring)."""
        self._ensure_endpoint(now)
        last = self.session.execute(
            update(FeedEndpointRow)
            .where(*self._where(FeedEndpointRow))
            .values(last_sequence=FeedEndpointRow.last_sequence + count, updated_at=now)
            .returning(FeedEndpointRow.last_sequence)
        ).scalar_one()
        return int(last) - count + 1

    def set_disabled(self, reason: str | None, now: datetime) -> None:
        """Disable the webhook endpoint with a reason (410 Gone), or enable it (None)."""
        self._ensure_endpoint(now)
        self.session.execute(
            update(FeedEndpointRow)
            .where(*self._where(FeedEndpointRow))
            .values(
                disabled_at=now if reason is not None else None,
                disabled_reason=reason or "",
                updated_at=now,
            )
        )

    def digests(self) -> dict[str, tuple[str, str]]:
        """(record digest, source digest) of every record the contractor has now."""
        rows = driver_rows(
            self.session,
            "SELECT item_key, digest, source_digest FROM feed_items WHERE corporation_code = ?"
            " AND contractor_code = ? AND removed = ?",
            (self.corporation, self.contractor, False),
        )
        return {key: (digest, source) for key, digest, source in rows}

    def set_sources(self, sources: Sequence[tuple[str, str]], now: datetime) -> None:
        """New source digests for records whose content did not change (nothing is logged)."""
        for chunk in chunks(sources, 1000):
            self.session.execute(
                update(FeedItemRow)
                .where(
                    *self._where(FeedItemRow),
                    FeedItemRow.item_key == bindparam("key"),
                )
                .values(source_digest=bindparam("source"), updated_at=now),
                [{"key": key, "source": source} for key, source in chunk],
            )

    def record(self, items: Sequence[FeedItem], first: int, now: datetime) -> list[Change]:
        """Append ``items`` to the change log from sequence ``first`` on and store their
        digests; returns the changes as logged."""
        changes = [
            Change(
                first + i,
                item.key,
                item.type,
                item.data is None,
                orjson.dumps(item.data, option=orjson.OPT_SORT_KEYS),
            )
            for i, item in enumerate(items)
        ]
        bulk_insert(
            self.session,
            table_of(FeedChangeRow),
            _CHANGE_COLUMNS,
            (
                (
                    self.corporation,
                    self.contractor,
                    c.sequence,
                    c.key,
                    c.type,
                    c.deleted,
                    c.payload,
                    now,
                )
                for c in changes
            ),
        )
        bulk_insert(
            self.session,
            table_of(FeedItemRow),
            _ITEM_COLUMNS,
            (
                (
                    self.corporation,
                    self.contractor,
                    item.key,
                    item.digest,
                    item.source,
                    first + i,
                    item.data is None,
                    now,
                )
                for i, item in enumerate(items)
            ),
            conflict=("corporation_code", "contractor_code", "item_key"),
        )
        return changes

    def changes_after(self, sequence: int, limit: int) -> list[Change]:
        rows = self.session.execute(
            select(
                FeedChangeRow.sequence,
                FeedChangeRow.item_key,
                FeedChangeRow.item_type,
                FeedChangeRow.deleted,
                FeedChangeRow.payload,
            )
            .where(*self._where(FeedChangeRow), FeedChangeRow.sequence > sequence)
            .order_by(FeedChangeRow.sequence)
            .limit(limit)
        )
        return [Change(int(s), k, t, bool(d), bytes(p)) for s, k, t, d, p in rows]

    def change_counts(self, item_type: str) -> dict[str, int]:
        """How many changes each record of a type has had (a calendar's SEQUENCE)."""
        rows = self.session.execute(
            select(FeedChangeRow.item_key, func.count())
            .where(*self._where(FeedChangeRow), FeedChangeRow.item_type == item_type)
            .group_by(FeedChangeRow.item_key)
        )
        return {key: int(count) for key, count in rows}

    def current(self) -> list[Change]:
        """The latest change of every record the contractor has now (for exports)."""
        latest = (
            select(FeedItemRow.sequence)
            .where(*self._where(FeedItemRow), FeedItemRow.removed.is_(False))
            .scalar_subquery()
        )
        rows = self.session.execute(
            select(
                FeedChangeRow.sequence,
                FeedChangeRow.item_key,
                FeedChangeRow.item_type,
                FeedChangeRow.deleted,
                FeedChangeRow.payload,
            )
            .where(*self._where(FeedChangeRow), FeedChangeRow.sequence.in_(latest))
            .order_by(FeedChangeRow.item_key)
        )
        return [Change(int(s), k, t, bool(d), bytes(p)) for s, k, t, d, p in rows]


# --- the webhook outbox --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueuedWebhook:
    id: int
    contractor: str
    webhook_id: str
    body: bytes
    status: str
    attempts: int
    next_attempt_at: datetime
    first_sequence: int
    last_sequence: int


WEBHOOK_PENDING, WEBHOOK_SENT, WEBHOOK_FAILED = "pending", "sent", "failed"


class WebhookOutbox:
    """Signed webhooks waiting for, or done with, delivery (one corporation)."""

    def __init__(self, session: Session, corporation: str) -> None:
        self.session = session
        self.corporation = corporation

    def enqueue(
        self,
        contractor: str,
        webhooks: Iterable[tuple[str, str, int, int, bytes]],
        now: datetime,
    ) -> int:
        """Queue (webhook id, event type, first, last sequence, body); an id queued before is
        skipped. Returns how many were added."""
        rows = [
            {
                "corporation_code": self.corporation,
                "contractor_code": contractor,
                "webhook_id": webhook_id,
                "event_type": event_type,
                "first_sequence": first,
                "last_sequence": last,
                "body": body,
                "status": WEBHOOK_PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "last_status": 0,
                "last_error": "",
                "created_at": now,
            }
            for webhook_id, event_type, first, last, body in webhooks
        ]
        if not rows:
            return 0
        stmt = (
            _insert(self.session)(WebhookOutboxRow)
            .on_conflict_do_nothing(index_elements=["webhook_id"])
            .returning(WebhookOutboxRow.id)
        )
        return sum(len(self.session.execute(stmt, list(c)).all()) for c in chunks(rows, 500))

    def pending(self, contractor: str) -> list[QueuedWebhook]:
        """The contractor's undelivered webhooks in sequence order (due or not)."""
        rows = self.session.scalars(
            select(WebhookOutboxRow)
            .where(
                WebhookOutboxRow.corporation_code == self.corporation,
                WebhookOutboxRow.contractor_code == contractor,
                WebhookOutboxRow.status == WEBHOOK_PENDING,
            )
            .order_by(WebhookOutboxRow.first_sequence)
        )
        return [
            QueuedWebhook(
                r.id,
                r.contractor_code,
                r.webhook_id,
                r.body,
                r.status,
                r.attempts,
                r.next_attempt_at,
                r.first_sequence,
                r.last_sequence,
            )
            for r in rows
        ]

    def begin_attempt(self, row_id: int, seen_attempts: int, now: datetime) -> bool:
        """Count an attempt before it is made (a crash mid-attempt still counts it); False when
        another dispatcher took this attempt first."""
        taken = self.session.execute(
            update(WebhookOutboxRow)
            .where(
                WebhookOutboxRow.id == row_id,
                WebhookOutboxRow.status == WEBHOOK_PENDING,
                WebhookOutboxRow.attempts == seen_attempts,
            )
            .values(attempts=WebhookOutboxRow.attempts + 1, next_attempt_at=now)
            .returning(WebhookOutboxRow.id)
        )
        return len(taken.all()) == 1

    def mark_sent(self, row_id: int, status: int, now: datetime) -> None:
        self.session.execute(
            update(WebhookOutboxRow)
            .where(WebhookOutboxRow.id == row_id)
            .values(status=WEBHOOK_SENT, last_status=status, sent_at=now, last_error="")
        )

    def record_failure(
        self, row_id: int, status: int, error: str, next_at: datetime | None
    ) -> None:
        """A failed attempt: try again at ``next_at``, or failed for good (None)."""
        values: dict[str, Any] = {"last_status": status, "last_error": error[:500]}
        if next_at is None:
            values["status"] = WEBHOOK_FAILED
        else:
            values["next_attempt_at"] = next_at
        self.session.execute(
            update(WebhookOutboxRow).where(WebhookOutboxRow.id == row_id).values(**values)
        )

    def counts(self, contractor: str | None = None) -> dict[str, int]:
        query = (
            select(WebhookOutboxRow.status, func.count())
            .where(WebhookOutboxRow.corporation_code == self.corporation)
            .group_by(WebhookOutboxRow.status)
        )
        if contractor is not None:
            query = query.where(WebhookOutboxRow.contractor_code == contractor)
        found: dict[str, int] = {WEBHOOK_PENDING: 0, WEBHOOK_SENT: 0, WEBHOOK_FAILED: 0}
        found.update({status: count for status, count in self.session.execute(query)})
        return found


# --- the contractor inbox ------------------------------------------------------------------------


class ContractorInbox:
    """Messages from contractors by the sender's id: each is applied once."""

    def __init__(self, session: Session, corporation: str, contractor: str) -> None:
        self.session = session
        self.corporation = corporation
        self.contractor = contractor

    def claim(self, message_id: str, kind: str, body: bytes, now: datetime) -> bool:
        """Record the message as received; False when it was received before (then the caller
        applies nothing). In the transaction that applies it, so both happen or neither."""
        stmt = (
            _insert(self.session)(FeedInboxRow)
            .values(
                corporation_code=self.corporation,
                contractor_code=self.contractor,
                message_id=message_id[:120],
                kind=kind[:32],
                received_at=now,
                outcome="received",
                applied=0,
                refused=[],
                body=body,
            )
            .on_conflict_do_nothing(
                index_elements=["corporation_code", "contractor_code", "message_id"]
            )
            .returning(FeedInboxRow.id)
        )
        return len(self.session.execute(stmt).all()) == 1

    def settle(self, message_id: str, outcome: str, applied: int, refused: list[str]) -> None:
        self.session.execute(
            update(FeedInboxRow)
            .where(
                FeedInboxRow.corporation_code == self.corporation,
                FeedInboxRow.contractor_code == self.contractor,
                FeedInboxRow.message_id == message_id[:120],
            )
            .values(outcome=outcome, applied=applied, refused=refused)
        )

    def count(self) -> int:
        return int(
            self.session.scalar(
                select(func.count()).where(
                    FeedInboxRow.corporation_code == self.corporation,
                    FeedInboxRow.contractor_code == self.contractor,
                )
            )
            or 0
        )


# --- writes to the corporation's ERP -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueuedWrite:
    id: int
    kind: str
    key: str
    version: int
    unit_code: str
    payload: dict[str, Any]
    status: str
    remote_id: str


class ErpWrites:
    """Contact moments and appointment versions queued for the ERP (one corporation)."""

    def __init__(self, session: Session, corporation: str) -> None:
        self.session = session
        self.corporation = corporation

    def enqueue(self, writes: Iterable[ErpWrite], now: datetime) -> int:
        rows = [
            {
                "corporation_code": self.corporation,
                "kind": w.kind.value,
                "write_key": w.key,
                "version": w.version,
                "unit_code": w.unit_code,
                "payload": w.payload,
                "status": "pending",
                "attempts": 0,
                "remote_id": "",
                "target": "",
                "last_error": "",
                "created_at": now,
            }
            for w in writes
        ]
        if not rows:
            return 0
        stmt = (
            _insert(self.session)(ErpWriteRow)
            .on_conflict_do_nothing(index_elements=["corporation_code", "write_key", "version"])
            .returning(ErpWriteRow.id)
        )
        return len(self.session.execute(stmt, rows).all())

    def due(self) -> list[QueuedWrite]:
        """Pending and in-doubt (sending) writes, oldest first."""
        rows = self.session.scalars(
            select(ErpWriteRow)
            .where(
                ErpWriteRow.corporation_code == self.corporation,
                ErpWriteRow.status.in_(("pending", "sending")),
            )
            .order_by(ErpWriteRow.id)
        )
        return [
            QueuedWrite(
                r.id, r.kind, r.write_key, r.version, r.unit_code, r.payload, r.status, r.remote_id
            )
            for r in rows
        ]

    def remote_id_of(self, key: str) -> str:
        """The ERP's id for a key, from any write of it that went through."""
        found = self.session.scalar(
            select(ErpWriteRow.remote_id).where(
                ErpWriteRow.corporation_code == self.corporation,
                ErpWriteRow.write_key == key,
                ErpWriteRow.remote_id != "",
            )
        )
        return str(found or "")

    def newer_queued(self, key: str, version: int) -> bool:
        found = self.session.scalar(
            select(func.count()).where(
                ErpWriteRow.corporation_code == self.corporation,
                ErpWriteRow.write_key == key,
                ErpWriteRow.version > version,
            )
        )
        return bool(found)

    def set_status(
        self,
        row_id: int,
        status: str,
        now: datetime,
        *,
        remote_id: str = "",
        target: str = "",
        error: str = "",
        attempt: bool = False,
    ) -> None:
        values: dict[str, Any] = {"status": status}
        if attempt:
            values["attempts"] = ErpWriteRow.attempts + 1
        if remote_id:
            values["remote_id"] = remote_id
        if target:
            values["target"] = target[:200]
        if error:
            values["last_error"] = error[:500]
        if status == "sent":
            values["sent_at"] = now
        self.session.execute(update(ErpWriteRow).where(ErpWriteRow.id == row_id).values(**values))

    def attempts_of(self, row_id: int) -> int:
        return int(
            self.session.scalar(select(ErpWriteRow.attempts).where(ErpWriteRow.id == row_id)) or 0
        )

    def counts(self) -> dict[str, int]:
        found = dict.fromkeys(("pending", "sending", "sent", "superseded", "failed"), 0)
        for status, count in self.session.execute(
            select(ErpWriteRow.status, func.count())
            .where(ErpWriteRow.corporation_code == self.corporation)
            .group_by(ErpWriteRow.status)
        ):
            found[status] = count
        return found
