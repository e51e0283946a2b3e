"""Content hashes of register values: equal values give equal hashes in every process.

The diff compares these hashes with the ones stored per row, so they must never change for an
unchanged value: ``content_hash`` is the BLAKE2 digest of the value's ``repr`` (or, for a resident
with several needs, of its canonical form, because set order differs per process). The hand-written
``_fast_repr`` functions give exactly that ``repr`` twice as fast; a test pins them to ``repr``.
The VERA page memo's code version covers this module: a change here re-maps every page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import date
from enum import Enum
from typing import Any

from keukentafel.domain.model import (
    Address,
    AgreementKind,
    ContactKind,
    ContactPoint,
    Lease,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    PersonName,
    PracticalNeed,
    Resident,
    Tenure,
    Unit,
)


def canonical(value: Any) -> Any:
    """A stable, hash-seed-independent plain form of a domain value (sets sorted).

    Like the values' own repr, it leaves out the fields added later while they hold their
    defaults (see :data:`_LATER_FIELDS`), so the canonical form of an older value is unchanged.
    """
    if is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in fields(value)]
        later = _LATER_FIELDS.get(type(value))
        if later is not None and all(getattr(value, name) == default for name, default in later):
            names = names[: -len(later)]
        return tuple(canonical(getattr(value, name)) for name in names)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return tuple(sorted(canonical(v) for v in value))
    if isinstance(value, tuple | list):
        return tuple(canonical(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return value


#: Trailing fields added to a value after hashes were stored, with their defaults: left out of
#: the repr and the canonical form together while every one of them holds its default.
_LATER_FIELDS: dict[type, tuple[tuple[str, Any], ...]] = {
    Address: (("street_short", ""),),
    ContactPoint: (("problem", ""),),
    LeaseParty: (("start_date", None), ("end_date", None)),
}


def content_hash(value: Any) -> str:
    """A short digest of a domain value; equal values give equal hashes in every process.

    The repr of a frozen domain value is stable across processes except for the order inside a
    set, whose hashing is randomised per process; only ``Resident.needs`` is a set, so only a
    resident with two or more needs takes the slower canonical form (measured: 263,000 values
    hash in about a second this way, eight times faster than canonicalising everything).
    Units, residents and leases are written out by :func:`_fast_repr`, which gives exactly their
    ``repr`` without the dataclass machinery (twice as fast; stored hashes stay valid).
    """
    if isinstance(value, Resident) and len(value.needs) > 1:
        text = repr(canonical(value))
    else:
        text = _fast_repr(value)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


_ENUM_REPR: dict[Any, str] = {
    member: repr(member)
    for kind in (Tenure, AgreementKind, LeaseStatus, PartyRole, ContactKind, PracticalNeed)
    for member in kind
}


def _enum_repr(value: Any) -> str:
    found = _ENUM_REPR.get(value) if type(value) in _ENUM_TYPES else None
    return found if found is not None else repr(value)


_ENUM_TYPES = {type(member) for member in _ENUM_REPR}


def _tuple_repr(parts: list[str]) -> str:
    if len(parts) == 1:
        return f"({parts[0]},)"
    return f"({', '.join(parts)})"


def _address_repr(a: Any) -> str:
    if type(a) is not Address:
        return repr(a)
    text = (
        f"Address(street={a.street!r}, number={a.number!r}, postcode={a.postcode!r}, "
        f"town={a.town!r}, letter={a.letter!r}, addition={a.addition!r}"
    )
    return f"{text}, street_short={a.street_short!r})" if a.street_short else f"{text})"


def _unit_repr(u: Unit) -> str:
    return (
        f"Unit(code={u.code!r}, vera_id={u.vera_id!r}, complex_code={u.complex_code!r}, "
        f"address={_address_repr(u.address)}, tenure={_enum_repr(u.tenure)})"
    )


def _name_repr(n: Any) -> str:
    if type(n) is not PersonName:
        return repr(n)
    return (
        f"PersonName(surname={n.surname!r}, initials={n.initials!r}, "
        f"first_name={n.first_name!r}, tussenvoegsel={n.tussenvoegsel!r}, gender={n.gender!r})"
    )


def _contact_repr(c: Any) -> str:
    if type(c) is not ContactPoint:
        return repr(c)
    text = f"ContactPoint(kind={_enum_repr(c.kind)}, value={c.value!r}, preferred={c.preferred!r}"
    return f"{text}, problem={c.problem!r})" if c.problem else f"{text})"


def _resident_repr(r: Resident) -> str:
    contacts = r.contacts
    if type(contacts) is tuple:
        contacts_text = _tuple_repr([_contact_repr(c) for c in contacts])
    else:
        contacts_text = repr(contacts)
    needs = r.needs
    needs_text = "frozenset()" if type(needs) is frozenset and not needs else repr(needs)
    return (
        f"Resident(relation_id={r.relation_id!r}, name={_name_repr(r.name)}, "
        f"organisation_name={r.organisation_name!r}, contacts={contacts_text}, "
        f"language={r.language!r}, needs={needs_text})"
    )


def _party_repr(p: Any) -> str:
    if type(p) is not LeaseParty:
        return repr(p)
    text = f"LeaseParty(relation_id={p.relation_id!r}, role={_enum_repr(p.role)}"
    if p.start_date is None and p.end_date is None:
        return f"{text})"
    return f"{text}, start_date={p.start_date!r}, end_date={p.end_date!r})"


def _lease_repr(lease: Lease) -> str:
    parties = lease.parties
    if type(parties) is tuple:
        parties_text = _tuple_repr([_party_repr(p) for p in parties])
    else:
        parties_text = repr(parties)
    return (
        f"Lease(lease_id={lease.lease_id!r}, unit_code={lease.unit_code!r}, "
        f"kind={_enum_repr(lease.kind)}, status={_enum_repr(lease.status)}, "
        f"start_date={lease.start_date!r}, end_date={lease.end_date!r}, parties={parties_text})"
    )


# The fast forms spell out these fields; if a class changes, its values fall back to repr().
# Address, ContactPoint and LeaseParty write their own repr, which leaves out the fields added
# later while they hold their defaults (street_short, problem, the role's dates), so values
# without them keep the hashes stored before those fields existed; the fast forms do the same.
_FAST_REPR_FIELDS: dict[type, tuple[str, ...]] = {
    Address: ("street", "number", "postcode", "town", "letter", "addition", "street_short"),
    Unit: ("code", "vera_id", "complex_code", "address", "tenure"),
    PersonName: ("surname", "initials", "first_name", "tussenvoegsel", "gender"),
    ContactPoint: ("kind", "value", "preferred", "problem"),
    Resident: ("relation_id", "name", "organisation_name", "contacts", "language", "needs"),
    LeaseParty: ("relation_id", "role", "start_date", "end_date"),
    Lease: ("lease_id", "unit_code", "kind", "status", "start_date", "end_date", "parties"),
}
_FAST_REPR: dict[type, Callable[[Any], str]] = (
    {Unit: _unit_repr, Resident: _resident_repr, Lease: _lease_repr}
    if all(
        tuple(f.name for f in fields(cls) if f.repr) == names
        and tuple(f.name for f in fields(cls)) == names
        and "__repr__" in cls.__dict__
        for cls, names in _FAST_REPR_FIELDS.items()
    )
    else {}
)


def _fast_repr(value: Any) -> str:
    """``repr(value)`` for the register's values, without the dataclass wrapper's overhead."""
    fast = _FAST_REPR.get(type(value))
    return fast(value) if fast is not None else repr(value)
