"""The resident register as plain, typed values: corporation, project, unit, lease, resident.

This module owns the vocabulary every other part speaks. It does no I/O and imports nothing
outside the standard library. All values are frozen dataclasses so they can be hashed, compared
and diffed; collections inside them are tuples or frozensets for the same reason.

Names follow the glossary in the domain brief: a *unit* is a verhuureenheid (VHE), a *complex* is
a VERA cluster, a *lease* is a huurovereenkomst (or, for owner-occupiers, the purchase agreement
that makes them the occupant), a *resident* is a VERA relation that is a party to one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class ProjectKind(StrEnum):
    RENOVATION_OCCUPIED = "renovation_occupied"  # renovatie in bewoonde staat
    RENOVATION_MOVED_OUT = "renovation_moved_out"  # renovatie met wisselwoning
    MAJOR_MAINTENANCE = "major_maintenance"  # groot onderhoud
    DEMOLITION = "demolition"  # sloop-nieuwbouw


class Tenure(StrEnum):
    CORPORATION_RENTAL = "corporation_rental"
    PRIVATE_RENTAL = "private_rental"
    OWNER_OCCUPIED = "owner_occupied"
    VACANT = "vacant"


class AgreementKind(StrEnum):
    RENTAL = "rental"  # VERA overeenkomstsoort HUU
    PURCHASE = "purchase"  # VERA overeenkomstsoort KOO: the buyer is the owner-occupier


class LeaseStatus(StrEnum):
    RUNNING = "running"  # LOP, and VOP (tenant gave notice, not yet final)
    TERMINATED = "terminated"  # OPG: notice given and an end date fixed; still lives there
    ENDED = "ended"  # BEE, ONT, VER, GEA: nobody lives there under this agreement any more


class PartyRole(StrEnum):
    TENANT = "tenant"  # HUU
    CO_TENANT = "co_tenant"  # MDH
    OWNER_OCCUPIER = "owner_occupier"


class ContactKind(StrEnum):
    EMAIL = "email"  # EMA
    MOBILE = "mobile"  # MOB
    PHONE = "phone"  # TEL


class PracticalNeed(StrEnum):
    """Neutral flags a contractor may see. Never a reason, never a diagnosis."""

    INTERPRETER = "interpreter"
    EXTRA_TIME = "extra_time"
    CALL_GUIDE_FIRST = "call_guide_first"
    VISIT_WITH_TWO = "visit_with_two"
    NO_LETTERS_ONLY = "no_letters_only"  # reads no letters: visit or call instead


@dataclass(frozen=True, slots=True)
class Corporation:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Project:
    code: str
    name: str
    corporation_code: str
    kind: ProjectKind
    complex_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True, repr=False)
class Address:
    street: str
    number: int
    postcode: str  # normalised "1234 AB"
    town: str
    letter: str = ""  # huisletter, one letter: "12 A"
    addition: str = ""  # huisnummertoevoeging: "12-2", "12 bis", "12 A 3"
    street_short: str = ""  # the official short street name (BAG korteNaam), "" when unknown

    def __repr__(self) -> str:
        # As the dataclass would write it, without street_short while it is empty: the content
        # hash of a unit is the hash of its repr, and units without one must keep their hashes.
        text = (
            f"Address(street={self.street!r}, number={self.number!r}, "
            f"postcode={self.postcode!r}, town={self.town!r}, letter={self.letter!r}, "
            f"addition={self.addition!r}"
        )
        return f"{text}, street_short={self.street_short!r})" if self.street_short else f"{text})"

    @property
    def house_number(self) -> str:
        """The house number as Dutch post writes it: 12, 12A, 12-2, 12A-3."""
        text = f"{self.number}{self.letter}"
        if self.addition:
            text += f"-{self.addition}" if self.addition[0].isalnum() else self.addition
        return text

    @property
    def street_line(self) -> str:
        return f"{self.street} {self.house_number}"


@dataclass(frozen=True, slots=True)
class Unit:
    code: str  # the VHE number the corporation uses on paper (Eenheid.code or idExtern)
    vera_id: str  # the ERP's technical id (Eenheid.id); may equal code for spreadsheet sources
    complex_code: str  # the cluster the project selects on; "" when the source has none
    address: Address
    tenure: Tenure


@dataclass(frozen=True, slots=True)
class PersonName:
    surname: str
    initials: str = ""  # "J.P."
    first_name: str = ""
    tussenvoegsel: str = ""  # "van der", lower-case as in the middle of a name
    gender: str = ""  # VERA GESLACHT code when known: "M", "V", "O"; "" when unknown


@dataclass(frozen=True, slots=True)
class ContactPoint:
    kind: ContactKind
    value: str
    preferred: bool = False


@dataclass(frozen=True, slots=True)
class Resident:
    """A natural person or organisation that is party to a lease or purchase.

    Special-category information (health, care) is never here: it lives in ``RestrictedNote``,
    which is stored apart and never leaves the system.
    """

    relation_id: str
    name: PersonName | None  # None for an organisation
    organisation_name: str = ""
    contacts: tuple[ContactPoint, ...] = ()
    language: str = "nl"  # ISO 639-1 of the language the resident prefers to read
    needs: frozenset[PracticalNeed] = frozenset()

    @property
    def is_organisation(self) -> bool:
        return self.name is None

    def contact(self, kind: ContactKind) -> str | None:
        """The preferred contact point of one kind, else the first of that kind."""
        of_kind = [c for c in self.contacts if c.kind is kind]
        for point in of_kind:
            if point.preferred:
                return point.value
        return of_kind[0].value if of_kind else None

    @property
    def preferred_contact(self) -> ContactPoint | None:
        for point in self.contacts:
            if point.preferred:
                return point
        return self.contacts[0] if self.contacts else None


@dataclass(frozen=True, slots=True)
class LeaseParty:
    relation_id: str
    role: PartyRole


@dataclass(frozen=True, slots=True)
class Lease:
    lease_id: str
    unit_code: str
    kind: AgreementKind
    status: LeaseStatus
    start_date: date | None
    end_date: date | None
    parties: tuple[LeaseParty, ...]

    def is_current(self, on: date) -> bool:
        """Whether someone lives in the unit under this agreement on the given day."""
        if self.status is LeaseStatus.ENDED:
            return False
        if self.start_date is not None and self.start_date > on:
            return False
        return not (self.end_date is not None and self.end_date < on)


@dataclass(frozen=True, slots=True)
class RestrictedNote:
    """A note with special-category or sensitive content. Stored apart, audited, never sent."""

    relation_id: str
    text: str
    author: str


@dataclass(frozen=True, slots=True)
class Household:
    """Who lives in a unit today, the main contractor first."""

    unit: Unit
    members: tuple[tuple[Resident, PartyRole], ...] = field(default=())

    @property
    def residents(self) -> tuple[Resident, ...]:
        return tuple(resident for resident, _ in self.members)

    @property
    def is_vacant(self) -> bool:
        return not self.members

    @property
    def is_owner_occupied(self) -> bool:
        return any(role is PartyRole.OWNER_OCCUPIER for _, role in self.members)

    @property
    def language(self) -> str:
        """The language the household reads: the first member's preference."""
        return self.members[0][0].language if self.members else "nl"


_ROLE_ORDER = {PartyRole.TENANT: 0, PartyRole.OWNER_OCCUPIER: 0, PartyRole.CO_TENANT: 1}


def household_of(
    unit: Unit,
    leases: list[Lease] | tuple[Lease, ...],
    residents: dict[str, Resident],
    on: date,
) -> Household:
    """The household of a unit on a given day: parties of its current agreements.

    Tenants come before co-tenants; a party whose relation is unknown is left out (the sync
    keeps such leases aside with a reason, so this only happens with partial data).
    """
    members: list[tuple[Resident, PartyRole]] = []
    seen: set[str] = set()
    for lease in sorted(leases, key=lambda lease: (lease.start_date or date.min, lease.lease_id)):
        if lease.unit_code != unit.code or not lease.is_current(on):
            continue
        for party in sorted(lease.parties, key=lambda p: _ROLE_ORDER[p.role]):
            resident = residents.get(party.relation_id)
            if resident is None or party.relation_id in seen:
                continue
            seen.add(party.relation_id)
            members.append((resident, party.role))
    members.sort(key=lambda member: _ROLE_ORDER[member[1]])
    return Household(unit=unit, members=tuple(members))
