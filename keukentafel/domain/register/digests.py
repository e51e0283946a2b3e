"""Items known by their content hash: what validation and the diff work on.

A source that skips unchanged pages delivers their items as :class:`Digested` (id, content hash
and the few references validation needs) whose values are made only when needed; a source that
maps everything is digested by :func:`digest_of` before validation. Either way validation never
hashes an item twice and never maps an item it does not need.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from keukentafel.domain.model import Lease, Resident, Unit
from keukentafel.domain.register.hashing import content_hash
from keukentafel.domain.register.rejects import EntityKind


class DigestMismatch(Exception):
    """An item made again from its page is not the item its digest describes (a bug, not data)."""


class PageValues(Protocol):
    """A page of source items whose values are made on demand (mapped when first asked for)."""

    def values(self) -> Sequence[Any]: ...


@dataclass(slots=True, eq=False)
class Digested:
    """One source item as validation and the diff see it: its id, content hash and references.

    ``refs`` are what validation needs besides the id: for a unit its ERP id, for a lease its
    unit code followed by the relation ids of its parties, for a resident nothing. The value
    itself is ``item`` when it was already mapped, else it is made from ``page`` when first
    asked for (only items that must be written or compared field by field ever are).
    """

    entity: EntityKind
    key: str
    digest: str
    refs: tuple[str, ...]
    item: Any = None
    page: PageValues | None = None
    index: int = 0

    def value(self) -> Any:
        if self.item is None:
            if self.page is None:
                raise DigestMismatch(f"{self.entity.value} {self.key} has no value")
            value = self.page.values()[self.index]
            again = _DIGESTERS[self.entity](value)
            if (again.key, again.digest, again.refs) != (self.key, self.digest, self.refs):
                raise DigestMismatch(
                    f"{self.entity.value} {self.key} mapped again differs from its digest"
                )
            self.item = value
        return self.item


def digest_unit(unit: Unit) -> Digested:
    return Digested(EntityKind.UNIT, unit.code, content_hash(unit), (unit.vera_id,), unit)


def digest_resident(resident: Resident) -> Digested:
    return Digested(EntityKind.RESIDENT, resident.relation_id, content_hash(resident), (), resident)


def digest_lease(lease: Lease) -> Digested:
    refs = (lease.unit_code, *[p.relation_id for p in lease.parties])
    return Digested(EntityKind.LEASE, lease.lease_id, content_hash(lease), refs, lease)


_DIGESTERS: dict[EntityKind, Callable[[Any], Digested]] = {
    EntityKind.UNIT: digest_unit,
    EntityKind.RESIDENT: digest_resident,
    EntityKind.LEASE: digest_lease,
}


def digest_of(entity: EntityKind, value: Any) -> Digested:
    return _DIGESTERS[entity](value)
