"""The diff of a validated snapshot against the stored content hashes, and its change events.

:func:`diff_hashes` finds what to write per entity kind; the ``*_events`` functions name what
happened (a move-in, a changed contact, a removed unit) for the steps that react to it, with field
names but never values. :func:`protect_held_units` keeps a unit kept aside whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from keukentafel.domain.model import Lease, LeaseStatus, Resident, Unit
from keukentafel.domain.register.hashing import canonical, content_hash
from keukentafel.domain.register.rejects import EntityKind


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

    upserts: Mapping[str, Any] = field(default_factory=dict)
    hashes: Mapping[str, str] = field(default_factory=dict)  # new content hash per upserted id
    added: set[str] = field(default_factory=set)
    changed: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)


def diff_hashes(
    stored: Mapping[str, str],
    incoming: Mapping[str, Any],
    held: set[str],
    hashes: Mapping[str, str] | None = None,
) -> EntityDiff:
    """Compare incoming items with stored content hashes. Held ids are neither changed nor removed.

    ``hashes`` are the incoming items' content hashes when known (see :func:`validate`); only
    the items that changed are then read from ``incoming``.
    """
    result = EntityDiff()
    if hashes is None:
        hashes = {key: content_hash(item) for key, item in incoming.items()}
    if not stored:  # a first load: everything is new, so the diff is what came in (no copies)
        result.upserts, result.hashes, result.added = incoming, hashes, set(hashes)
        return result
    if hashes != stored:
        upserts: dict[str, Any] = {}
        new_hashes: dict[str, str] = {}
        for key, digest in hashes.items():
            old = stored.get(key)
            if old == digest:
                continue
            upserts[key] = incoming[key]
            new_hashes[key] = digest
            (result.added if old is None else result.changed).add(key)
        result.upserts, result.hashes = upserts, new_hashes
        result.removed = {key for key in stored if key not in hashes and key not in held}
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


def first_load_counts(
    units: EntityDiff, residents: EntityDiff, leases: EntityDiff
) -> dict[ChangeKind, int]:
    """The change counts of a first load (an empty register): every row is added and nobody
    moves, so every agreement counts as ``lease_added``. A first load stores no event per row:
    each would only say "added in the first run" (see docs/architecture.md, "Decisions")."""
    return {
        ChangeKind.UNIT_ADDED: len(units.added),
        ChangeKind.RESIDENT_ADDED: len(residents.added),
        ChangeKind.LEASE_ADDED: len(leases.added),
    }


def lease_events(diff: EntityDiff, old: Mapping[str, Lease]) -> list[ChangeEvent]:
    """Move-ins and move-outs are what letters and planning react to; other edits are changes.

    A new agreement that is already over is ``lease_added`` (history: nobody moves). The first
    load of an empty register has no events at all (:func:`first_load_counts`)."""
    events: list[ChangeEvent] = []
    for lid in sorted(diff.added):
        lease: Lease = diff.upserts[lid]
        moving_in = lease.status is not LeaseStatus.ENDED
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
