"""Validation of a snapshot: one copy of each row, conflicts kept aside, only what is in scope.

:func:`validate` runs four named steps over the snapshot's digests (id, content hash and the few
references validation needs), so items of unchanged pages are never mapped; "same content" means
the same content hash:

1. :func:`_hold_rejected_ids`: ids of rows kept aside by the source are held (their stored
   versions stay untouched);
2. de-duplication, then :func:`_reject_duplicate_erp_ids`: two units with different unit codes
   but one ERP id are both kept aside;
3. :func:`_scope_leases`: leases of units outside the snapshot are out of scope; a lease naming
   a relation the source did not deliver is kept aside; a lease of a held unit is held;
4. :func:`_minimise_residents`: relations that are no party to an in-scope lease are not stored
   at all (data minimisation);
5. :func:`_drop_out_of_scope_rejections`: a row kept aside that concerns a unit outside the
   snapshot (a lease naming another complex's unit, a relation no in-scope lease needs) is out
   of scope, counted, and not listed: at a corporation of 80,000 units the list would otherwise
   hide the real problems under rows nobody asked for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TypeVar

from keukentafel.domain.model import Lease, Resident, Unit
from keukentafel.domain.register.digests import (
    Digested,
    digest_lease,
    digest_resident,
    digest_unit,
)
from keukentafel.domain.register.rejects import (
    FINDINGS,
    REASON_TEXT,
    EntityKind,
    RejectedRow,
    RejectReason,
)
from keukentafel.domain.register.snapshot import Snapshot

T = TypeVar("T")
Held = dict[EntityKind, set[str]]


class _Values(Mapping[str, T]):
    """Items by id as domain values; a digested item's value is made when it is first read."""

    __slots__ = ("_items",)

    def __init__(self, items: dict[str, Digested]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> T:
        value: T = self._items[key].value()
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(slots=True)
class ValidSnapshot:
    units: Mapping[str, Unit]  # by unit code
    residents: Mapping[str, Resident]  # by relation id
    leases: Mapping[str, Lease]  # by lease id
    rejected: list[RejectedRow]
    out_of_scope_by: dict[EntityKind, int]  # rows outside the complexes, per entity
    # Ids that arrived but were kept aside: their stored versions must stay untouched.
    held: dict[EntityKind, set[str]]
    # Content hash per id of every valid item (what the diff compares with the store).
    hashes: dict[EntityKind, dict[str, str]] = field(default_factory=dict)

    @property
    def out_of_scope(self) -> int:
        return sum(self.out_of_scope_by.values())


def validate(snapshot: Snapshot) -> ValidSnapshot:
    """Keep one copy of each row, reject conflicts, and drop what no in-scope lease needs.

    - the same id twice with the same content is one row; with different contents, both are
      kept aside (we cannot know which is right) and the stored version stays;
    - two units with different VERA ids but one unit code are kept aside the same way;
    - leases of units outside the snapshot are out of scope (another complex) and dropped;
    - a lease naming a relation the source did not deliver is kept aside;
    - relations that are no party to an in-scope lease are not stored at all (data minimisation);
    - rows kept aside that concern only units outside the snapshot are out of scope, not listed.

    Works on digests (id, content hash and the few references validation needs), so items of
    unchanged pages are never mapped; "same content" means the same content hash.
    """
    rejected = list(snapshot.rejected)
    held = _hold_rejected_ids(rejected)
    by_kind = _digests_by_kind(snapshot)

    units = _dedupe(EntityKind.UNIT, by_kind[EntityKind.UNIT], rejected, held)
    _reject_duplicate_erp_ids(units, rejected, held)
    residents = _dedupe(EntityKind.RESIDENT, by_kind[EntityKind.RESIDENT], rejected, held)
    leases = _dedupe(EntityKind.LEASE, by_kind[EntityKind.LEASE], rejected, held)

    out_of_scope, held_parties = _scope_leases(units, residents, leases, rejected, held)
    residents, unneeded, needed = _minimise_residents(residents, leases, held_parties)
    held[EntityKind.RESIDENT].update(held_parties)
    scope = dict(snapshot.out_of_scope_by)
    for entity, count in (
        (EntityKind.LEASE, out_of_scope),
        (EntityKind.RESIDENT, unneeded),
        *_drop_out_of_scope_rejections(rejected, units.keys() | held[EntityKind.UNIT], needed),
    ):
        scope[entity] = scope.get(entity, 0) + count
    return ValidSnapshot(
        _Values(units),
        _Values(residents),
        _Values(leases),
        rejected,
        {entity: count for entity, count in scope.items() if count},
        dict(held),
        {
            EntityKind.UNIT: {k: d.digest for k, d in units.items()},
            EntityKind.RESIDENT: {k: d.digest for k, d in residents.items()},
            EntityKind.LEASE: {k: d.digest for k, d in leases.items()},
        },
    )


def _hold_rejected_ids(rejected: list[RejectedRow]) -> Held:
    """Step 1: every id a source kept aside is held; a unit also by its unit code. A finding
    about a row that was used all the same holds nothing."""
    held: Held = defaultdict(set)
    for row in rejected:
        if row.reason in FINDINGS:
            continue
        if row.source_id:
            held[row.entity].add(row.source_id)
        if row.entity is EntityKind.UNIT and row.unit_code:
            held[EntityKind.UNIT].add(row.unit_code)
    return held


def _digests_by_kind(snapshot: Snapshot) -> dict[EntityKind, list[Digested]]:
    """Digested items and mapped values alike, as digests per entity kind."""
    by_kind: dict[EntityKind, list[Digested]] = {kind: [] for kind in EntityKind}
    for item in snapshot.digested:
        by_kind[item.entity].append(item)
    by_kind[EntityKind.UNIT] += map(digest_unit, snapshot.units)
    by_kind[EntityKind.RESIDENT] += map(digest_resident, snapshot.residents)
    by_kind[EntityKind.LEASE] += map(digest_lease, snapshot.leases)
    return by_kind


def _reject_duplicate_erp_ids(
    units: dict[str, Digested], rejected: list[RejectedRow], held: Held
) -> None:
    """Step 2: an ERP id that arrives with several unit codes keeps all those units aside."""
    first_of: dict[str, Digested] = {}
    by_vera_id: dict[str, list[Digested]] = {}  # only ERP ids that arrive with several codes
    for unit in units.values():
        vera_id = unit.refs[0]
        first = first_of.setdefault(vera_id, unit)
        if first is not unit and vera_id:
            by_vera_id.setdefault(vera_id, [first]).append(unit)
    for vera_id, same in by_vera_id.items():
        for unit in same:
            del units[unit.key]
            held[EntityKind.UNIT].add(unit.key)
            rejected.append(
                RejectedRow(
                    EntityKind.UNIT,
                    vera_id,
                    unit.key,
                    RejectReason.DUPLICATE_UNIT_CODE,
                    f"ERP id {vera_id} arrived with {len(same)} different unit codes",
                )
            )


def _scope_leases(
    units: Mapping[str, Digested],
    residents: Mapping[str, Digested],
    leases: dict[str, Digested],
    rejected: list[RejectedRow],
    held: Held,
) -> tuple[int, set[str]]:
    """Step 3: drop leases of units outside the snapshot; hold those that cannot be applied.

    Returns how many leases are out of scope, and the parties of held leases (they keep their
    stored rows and get their updates). Removes every dropped or held lease from ``leases``.
    """
    out_of_scope = 0
    held_units = held[EntityKind.UNIT]
    held_residents = held[EntityKind.RESIDENT]
    held_leases = held[EntityKind.LEASE]
    held_parties: set[str] = set()
    dropped: list[str] = []
    for lid, lease in leases.items():
        refs = lease.refs
        unit_code = refs[0]
        if unit_code not in units:
            if unit_code in held_units:
                held_leases.add(lid)  # its unit is kept aside: keep the lease as stored
                held_parties.update(refs[1:])
            else:
                out_of_scope += 1
            dropped.append(lid)
            continue
        if len(refs) == 2 and refs[1] in residents:  # the common case: one known party
            continue
        missing = [rid for rid in refs[1:] if rid not in residents]
        if not missing:
            continue
        held_parties.update(refs[1:])
        dropped.append(lid)
        held_leases.add(lid)
        if not all(m in held_residents for m in missing):
            rejected.append(
                RejectedRow(
                    EntityKind.LEASE,
                    lid,
                    unit_code,
                    RejectReason.UNKNOWN_RELATION,
                    f"relation {missing[0]} is not among the relations delivered",
                )
            )
    for lid in dropped:
        del leases[lid]
    return out_of_scope, held_parties


def _minimise_residents(
    residents: dict[str, Digested], leases: Mapping[str, Digested], held_parties: set[str]
) -> tuple[dict[str, Digested], int, set[str]]:
    """Step 4: only parties of in-scope (or held) leases are kept; returns them, the count of
    the others (which are out of scope) and the relation ids those leases need."""
    needed = {rid for lease in leases.values() for rid in lease.refs[1:]} | held_parties
    unneeded = sum(1 for rid in residents if rid not in needed)
    return {rid: r for rid, r in residents.items() if rid in needed}, unneeded, needed


def _drop_out_of_scope_rejections(
    rejected: list[RejectedRow], unit_codes: AbstractSet[str], needed: AbstractSet[str]
) -> list[tuple[EntityKind, int]]:
    """Step 5: rows kept aside (or findings) about a lease of a unit outside the snapshot, or
    about a relation that no in-scope lease needs, leave the list; returns their counts."""
    kept: list[RejectedRow] = []
    dropped: dict[EntityKind, int] = defaultdict(int)
    for row in rejected:
        if row.entity is EntityKind.LEASE and row.unit_code and row.unit_code not in unit_codes:
            dropped[EntityKind.LEASE] += 1
        elif row.entity is EntityKind.RESIDENT and row.source_id and row.source_id not in needed:
            dropped[EntityKind.RESIDENT] += 1
        else:
            kept.append(row)
    rejected[:] = kept
    return list(dropped.items())


def _dedupe(
    entity: EntityKind,
    items: list[Digested],
    rejected: list[RejectedRow],
    held: Held,
) -> dict[str, Digested]:
    result: dict[str, Digested] = {}
    conflicts: set[str] = set()
    for item in items:
        k = item.key
        previous = result.setdefault(k, item)
        if previous is not item and previous.digest != item.digest and k not in conflicts:
            conflicts.add(k)
    for k in sorted(conflicts):
        unit_code = ""
        if entity is EntityKind.UNIT:
            unit_code = k
        elif entity is EntityKind.LEASE:
            unit_code = result[k].refs[0]  # a lease's first reference is its unit's code
        del result[k]
        held[entity].add(k)
        rejected.append(
            RejectedRow(
                entity,
                k,
                unit_code,
                RejectReason.CONFLICTING_DUPLICATE,
                REASON_TEXT[RejectReason.CONFLICTING_DUPLICATE],
            )
        )
    return result
