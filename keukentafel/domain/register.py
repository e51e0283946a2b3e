"""Register sync rules: rows kept aside, validation of a snapshot, and the diff against the store.

A sync is *snapshot → validate → diff → apply*. This module owns the pure middle: it decides which
rows are usable, what changed, which change events later steps react to, and whether the
snapshot is safe to apply at all (the shrink guard). The use case does the I/O around it.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from enum import Enum, StrEnum
from typing import Any, TypeVar

from keukentafel.domain.model import Lease, LeaseStatus, Resident, Unit


class EntityKind(StrEnum):
    UNIT = "unit"
    RESIDENT = "resident"
    LEASE = "lease"


class RejectReason(StrEnum):
    """Why a row was kept aside. Each has an operator-readable explanation below."""

    MALFORMED = "malformed"
    MISSING_ID = "missing_id"
    MISSING_UNIT_CODE = "missing_unit_code"
    MISSING_ADDRESS = "missing_address"
    INVALID_POSTCODE = "invalid_postcode"
    INVALID_DATE = "invalid_date"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    DUPLICATE_UNIT_CODE = "duplicate_unit_code"
    NO_PARTIES = "no_parties"
    UNKNOWN_RELATION = "unknown_relation"
    CONFLICT = "conflict"  # a team list disagrees with the ERP: the ERP value stays
    UNMATCHED = "unmatched"  # a team list row fits no household in the register


REASON_TEXT: dict[RejectReason, str] = {
    RejectReason.MALFORMED: "the row is not in the expected shape",
    RejectReason.MISSING_ID: "the row has no identifier",
    RejectReason.MISSING_UNIT_CODE: "the unit has no unit code (VHE number)",
    RejectReason.MISSING_ADDRESS: "the unit has no usable street and house number",
    RejectReason.INVALID_POSTCODE: "the postcode is not a valid Dutch postcode",
    RejectReason.INVALID_DATE: "a date cannot be read",
    RejectReason.CONFLICTING_DUPLICATE: "the same identifier arrived twice with different contents",
    RejectReason.DUPLICATE_UNIT_CODE: "two different units carry the same unit code",
    RejectReason.NO_PARTIES: "the lease names no tenant",
    RejectReason.UNKNOWN_RELATION: "the lease names a relation the source did not deliver",
    RejectReason.CONFLICT: "the team list disagrees with the ERP; the ERP value is kept",
    RejectReason.UNMATCHED: "the team list row fits no household in the register",
}


class RowRejected(Exception):
    """Raised by a mapping function when one source row cannot be used.

    ``detail`` is English for the operator and must not contain personal data (no names, no
    e-mail addresses): say which field and what is wrong with it.
    """

    def __init__(self, reason: RejectReason, detail: str = "", *, unit_code: str = "") -> None:
        super().__init__(f"{reason.value}: {detail or REASON_TEXT[reason]}")
        self.reason = reason
        self.detail = detail or REASON_TEXT[reason]
        self.unit_code = unit_code


@dataclass(frozen=True, slots=True)
class RejectedRow:
    entity: EntityKind
    source_id: str  # the row's id in the source, "" when it has none
    unit_code: str  # "" when unknown
    reason: RejectReason
    detail: str
    raw: Any = field(default=None, compare=False)  # the row as received, kept for the operator


T = TypeVar("T")


def map_rows(
    entity: EntityKind,
    rows: Iterable[Any],
    mapper: Callable[[Any], T],
    id_of: Callable[[Any], str],
) -> tuple[list[T], list[RejectedRow]]:
    """Apply a pure mapping function to raw rows, keeping every failure aside with its reason."""
    mapped: list[T] = []
    rejected: list[RejectedRow] = []
    for row in rows:
        try:
            mapped.append(mapper(row))
        except RowRejected as exc:
            rejected.append(
                RejectedRow(
                    entity, _safe_id(id_of, row), exc.unit_code, exc.reason, exc.detail, row
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            rejected.append(
                RejectedRow(
                    entity,
                    _safe_id(id_of, row),
                    "",
                    RejectReason.MALFORMED,
                    f"{type(exc).__name__} while reading the row",
                    row,
                )
            )
    return mapped, rejected


def _safe_id(id_of: Callable[[Any], str], row: Any) -> str:
    try:
        return str(id_of(row) or "")
    except Exception:  # a malformed row may not even have an id
        return ""


@dataclass(slots=True)
class Snapshot:
    """Everything one source delivered in one run, mapped to the domain, not yet validated."""

    source: str
    units: list[Unit] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)
    leases: list[Lease] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    out_of_scope: int = 0  # rows outside the project's complexes, dropped by design


@dataclass(slots=True)
class ValidSnapshot:
    units: dict[str, Unit]  # by unit code
    residents: dict[str, Resident]  # by relation id
    leases: dict[str, Lease]  # by lease id
    rejected: list[RejectedRow]
    out_of_scope: int
    # Ids that arrived but were kept aside: their stored versions must stay untouched.
    held: dict[EntityKind, set[str]]


def validate(snapshot: Snapshot) -> ValidSnapshot:
    """Keep one copy of each row, reject conflicts, and drop what no in-scope lease needs.

    - the same id twice with the same content is one row; with different contents, both are
      kept aside (we cannot know which is right) and the stored version stays;
    - two units with different VERA ids but one unit code are kept aside the same way;
    - leases of units outside the snapshot are out of scope (another complex) and dropped;
    - a lease naming a relation the source did not deliver is kept aside;
    - relations that are no party to an in-scope lease are not stored at all (data minimisation).
    """
    rejected = list(snapshot.rejected)
    held: dict[EntityKind, set[str]] = defaultdict(set)
    for row in rejected:
        if row.source_id:
            held[row.entity].add(row.source_id)
        if row.entity is EntityKind.UNIT and row.unit_code:
            held[EntityKind.UNIT].add(row.unit_code)

    def unit_code(unit: Unit) -> str:
        return unit.code

    def relation_id(resident: Resident) -> str:
        return resident.relation_id

    def lease_id(lease: Lease) -> str:
        return lease.lease_id

    units = _dedupe(EntityKind.UNIT, snapshot.units, unit_code, rejected, held)
    by_vera_id: dict[str, list[Unit]] = defaultdict(list)
    for unit in units.values():
        by_vera_id[unit.vera_id].append(unit)
    for vera_id, same in by_vera_id.items():
        if vera_id and len(same) > 1:
            for unit in same:
                del units[unit.code]
                held[EntityKind.UNIT].add(unit.code)
                rejected.append(
                    RejectedRow(
                        EntityKind.UNIT,
                        unit.vera_id,
                        unit.code,
                        RejectReason.DUPLICATE_UNIT_CODE,
                        f"ERP id {vera_id} arrived with {len(same)} different unit codes",
                    )
                )
    residents = _dedupe(EntityKind.RESIDENT, snapshot.residents, relation_id, rejected, held)
    leases = _dedupe(EntityKind.LEASE, snapshot.leases, lease_id, rejected, held)

    out_of_scope = snapshot.out_of_scope
    # Parties of a lease that is held keep their stored rows (and get their updates).
    held_parties: set[str] = set()
    for lid, lease in list(leases.items()):
        if lease.unit_code not in units:
            if lease.unit_code in held[EntityKind.UNIT]:
                held[EntityKind.LEASE].add(lid)  # its unit is kept aside: keep the lease as stored
                held_parties.update(p.relation_id for p in lease.parties)
            else:
                out_of_scope += 1
            del leases[lid]
            continue
        missing = [p.relation_id for p in lease.parties if p.relation_id not in residents]
        if missing:
            held_parties.update(p.relation_id for p in lease.parties)
        if missing and not all(m in held[EntityKind.RESIDENT] for m in missing):
            del leases[lid]
            held[EntityKind.LEASE].add(lid)
            rejected.append(
                RejectedRow(
                    EntityKind.LEASE,
                    lid,
                    lease.unit_code,
                    RejectReason.UNKNOWN_RELATION,
                    f"relation {missing[0]} is not among the relations delivered",
                )
            )
        elif missing:
            del leases[lid]
            held[EntityKind.LEASE].add(lid)

    needed = {p.relation_id for lease in leases.values() for p in lease.parties} | held_parties
    out_of_scope += sum(1 for rid in residents if rid not in needed)
    residents = {rid: r for rid, r in residents.items() if rid in needed}
    held[EntityKind.RESIDENT].update(held_parties)
    return ValidSnapshot(units, residents, leases, rejected, out_of_scope, dict(held))


def _dedupe(
    entity: EntityKind,
    items: list[T],
    key: Callable[[T], str],
    rejected: list[RejectedRow],
    held: dict[EntityKind, set[str]],
) -> dict[str, T]:
    result: dict[str, T] = {}
    conflicts: set[str] = set()
    for item in items:
        k = key(item)
        if k in conflicts:
            continue
        previous = result.get(k)
        if previous is None:
            result[k] = item
        elif previous != item:
            conflicts.add(k)
            del result[k]
    for k in sorted(conflicts):
        held[entity].add(k)
        rejected.append(
            RejectedRow(
                entity,
                k,
                k if entity is EntityKind.UNIT else "",
                RejectReason.CONFLICTING_DUPLICATE,
                REASON_TEXT[RejectReason.CONFLICTING_DUPLICATE],
            )
        )
    return result


# --- content hashing ------------------------------------------------------------------------


def canonical(value: Any) -> Any:
    """A stable, hash-seed-independent plain form of a domain value (sets sorted)."""
    if is_dataclass(value) and not isinstance(value, type):
        return tuple(canonical(getattr(value, f.name)) for f in fields(value))
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return tuple(sorted(canonical(v) for v in value))
    if isinstance(value, tuple | list):
        return tuple(canonical(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def content_hash(value: Any) -> str:
    """A short digest of a domain value; equal values give equal hashes in every process.

    The repr of a frozen domain value is stable across processes except for the order inside a
    set, whose hashing is randomised per process; only ``Resident.needs`` is a set, so only a
    resident with two or more needs takes the slower canonical form (measured: 263,000 values
    hash in about a second this way, eight times faster than canonicalising everything).
    """
    if isinstance(value, Resident) and len(value.needs) > 1:
        text = repr(canonical(value))
    else:
        text = repr(value)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


# --- diff -----------------------------------------------------------------------------------


class ChangeKind(StrEnum):
    UNIT_ADDED = "unit_added"
    UNIT_CHANGED = "unit_changed"
    UNIT_REMOVED = "unit_removed"
    RESIDENT_ADDED = "resident_added"
    RESIDENT_CHANGED = "resident_changed"
    CONTACT_CHANGED = "contact_changed"
    RESIDENT_REMOVED = "resident_removed"
    MOVE_IN = "move_in"
    MOVE_OUT = "move_out"
    LEASE_ADDED = "lease_added"  # an agreement that is already over: history, nobody moves
    LEASE_CHANGED = "lease_changed"


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    kind: ChangeKind
    entity: EntityKind
    entity_id: str
    unit_code: str  # "" for residents: they reach a unit through a lease
    fields: tuple[str, ...] = ()  # names of the fields that changed, never their values


@dataclass(slots=True)
class EntityDiff:
    """What changed for one entity kind, by id: new or changed items and ids to remove."""

    upserts: dict[str, Any] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)  # new content hash per upserted id
    added: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)


def diff_hashes(
    stored: Mapping[str, str],
    incoming: Mapping[str, Any],
    held: set[str],
) -> EntityDiff:
    """Compare incoming items with stored content hashes. Held ids are neither changed nor removed."""
    result = EntityDiff()
    for key, item in incoming.items():
        digest = content_hash(item)
        old = stored.get(key)
        if old == digest:
            continue
        result.upserts[key] = item
        result.hashes[key] = digest
        (result.added if old is None else result.changed).add(key)
    result.removed = {key for key in stored if key not in incoming and key not in held}
    return result


def changed_fields(old: Any, new: Any) -> tuple[str, ...]:
    return tuple(
        f.name
        for f in fields(old)
        if canonical(getattr(old, f.name)) != canonical(getattr(new, f.name))
    )


def unit_events(diff: EntityDiff, old: Mapping[str, Unit]) -> list[ChangeEvent]:
    events = [ChangeEvent(ChangeKind.UNIT_ADDED, EntityKind.UNIT, c, c) for c in sorted(diff.added)]
    for code in sorted(diff.changed):
        events.append(
            ChangeEvent(
                ChangeKind.UNIT_CHANGED,
                EntityKind.UNIT,
                code,
                code,
                changed_fields(old[code], diff.upserts[code]),
            )
        )
    events += [
        ChangeEvent(ChangeKind.UNIT_REMOVED, EntityKind.UNIT, c, c) for c in sorted(diff.removed)
    ]
    return events


def resident_events(diff: EntityDiff, old: Mapping[str, Resident]) -> list[ChangeEvent]:
    events = [
        ChangeEvent(ChangeKind.RESIDENT_ADDED, EntityKind.RESIDENT, r, "")
        for r in sorted(diff.added)
    ]
    for rid in sorted(diff.changed):
        names = changed_fields(old[rid], diff.upserts[rid])
        contact_only = set(names) <= {"contacts"}
        kind = ChangeKind.CONTACT_CHANGED if contact_only else ChangeKind.RESIDENT_CHANGED
        events.append(ChangeEvent(kind, EntityKind.RESIDENT, rid, "", names))
    events += [
        ChangeEvent(ChangeKind.RESIDENT_REMOVED, EntityKind.RESIDENT, r, "")
        for r in sorted(diff.removed)
    ]
    return events


def lease_events(
    diff: EntityDiff, old: Mapping[str, Lease], *, initial_load: bool = False
) -> list[ChangeEvent]:
    """Move-ins and move-outs are what letters and planning react to; other edits are changes.

    On the initial load (an empty register) nobody moves: every agreement is ``lease_added``.
    """
    events: list[ChangeEvent] = []
    for lid in sorted(diff.added):
        lease: Lease = diff.upserts[lid]
        moving_in = lease.status is not LeaseStatus.ENDED and not initial_load
        kind = ChangeKind.MOVE_IN if moving_in else ChangeKind.LEASE_ADDED
        events.append(ChangeEvent(kind, EntityKind.LEASE, lid, lease.unit_code))
    for lid in sorted(diff.changed):
        before, after = old[lid], diff.upserts[lid]
        names = changed_fields(before, after)
        if before.status is not LeaseStatus.ENDED and after.status is LeaseStatus.ENDED:
            kind = ChangeKind.MOVE_OUT
        elif before.status is LeaseStatus.ENDED and after.status is not LeaseStatus.ENDED:
            kind = ChangeKind.MOVE_IN
        else:
            kind = ChangeKind.LEASE_CHANGED
        events.append(ChangeEvent(kind, EntityKind.LEASE, lid, after.unit_code, names))
    for lid in sorted(diff.removed):
        events.append(ChangeEvent(ChangeKind.MOVE_OUT, EntityKind.LEASE, lid, old[lid].unit_code))
    return events


def protect_held_units(
    held_units: set[str],
    leases: EntityDiff,
    old_leases: Mapping[str, Lease],
    residents: EntityDiff,
) -> None:
    """A unit kept aside keeps its whole stored household, even what did not arrive at all.

    A source may fail to deliver a unit's lease (an unreadable row has no id to hold): its stored
    lease must not turn into a move-out, nor its parties into removed residents.
    """
    kept = {lid for lid in leases.removed if old_leases[lid].unit_code in held_units}
    leases.removed -= kept
    residents.removed -= {p.relation_id for lid in kept for p in old_leases[lid].parties}


# --- the shrink guard -----------------------------------------------------------------------


class UnsafeSnapshot(Exception):
    """The snapshot would do more harm than a broken ERP is allowed to do. Nothing was changed."""


def lost_current_leases(diff: EntityDiff, old: Mapping[str, Lease]) -> int:
    """Leases stored as current that this snapshot removes or ends."""
    lost = sum(1 for lid in diff.removed if old[lid].status is not LeaseStatus.ENDED)
    for lid in diff.changed:
        if (
            old[lid].status is not LeaseStatus.ENDED
            and diff.upserts[lid].status is LeaseStatus.ENDED
        ):
            lost += 1
    return lost


def check_shrink(
    *,
    stored_units: int,
    removed_units: int,
    stored_current_leases: int,
    lost_leases: int,
    max_share: float,
) -> None:
    """Refuse a snapshot that removes more than ``max_share`` of the units or of the households.

    A first sync (empty store) always passes. The message carries counts only.
    """
    checks = (
        ("units", stored_units, removed_units),
        ("households", stored_current_leases, lost_leases),
    )
    for what, stored, lost in checks:
        if stored and lost / stored > max_share:
            raise UnsafeSnapshot(
                f"refusing to apply: this snapshot would remove {lost} of {stored} {what} "
                f"({lost / stored:.0%}, more than the allowed {max_share:.0%}); "
                "check the source, or raise sync.max_shrink for this run if the change is real"
            )


def count_by_kind(events: Iterable[ChangeEvent]) -> dict[str, int]:
    counts = Counter(event.kind.value for event in events)
    return {kind.value: counts.get(kind.value, 0) for kind in ChangeKind}
