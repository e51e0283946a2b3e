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
from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from keukentafel.domain.addressing import house_number_text, street_line

#: The register's calendar: a role, a lease or a household "runs on" a date in Amsterdam.
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def amsterdam_date(moment: datetime) -> date:
    """The calendar date in Amsterdam at a moment; a naive moment is UTC (the store's clock)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(AMSTERDAM).date()


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
    """A Dutch postal address as the ERP delivers it (BAG's parts, never a composed line).

    ``postcode`` is "" when the source has none: VERA requires no field, and a unit without a
    postcode is kept (the town alone ends its address block, as the Kadaster BAG API writes it);
    :attr:`postally_complete` is then False so the print manifest can flag it for the post.
    ``street_short`` is the official shortened street name (BAG ``korteNaam``, at most 24
    characters) where a source has one; letters use it when the street line does not fit.
    """

    street: str
    number: int
    postcode: str  # normalised "1234 AB"; "" when the source has none
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
        """The house number as NEN 5825 writes it: 12, 12 A, 12-2, 12 A3, 14 bis."""
        return house_number_text(self.number, self.letter, self.addition)

    @property
    def street_line(self) -> str:
        """'Dorpsstraat 12 A': street and house number as the Kadaster BAG API writes them."""
        return street_line(self)

    @property
    def postally_complete(self) -> bool:
        """Whether the address has everything PostNL sorts on (today: a postcode)."""
        return bool(self.postcode)


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


@dataclass(frozen=True, slots=True, repr=False)
class ContactPoint:
    """An e-mail address or phone number of a resident.

    ``problem`` says why the point cannot be used (an e-mail address that is not one), for the
    operator, without the value; "" when it is usable. A point with a problem is kept so the
    operator sees it, but :meth:`Resident.contact` and every mailing pass it by.
    """

    kind: ContactKind
    value: str
    preferred: bool = False
    problem: str = ""

    def __repr__(self) -> str:
        # As the dataclass would write it, without problem while it is empty (content hashes).
        text = (
            f"ContactPoint(kind={self.kind!r}, value={self.value!r}, preferred={self.preferred!r}"
        )
        return f"{text}, problem={self.problem!r})" if self.problem else f"{text})"

    @property
    def usable(self) -> bool:
        return not self.problem


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
        """The preferred usable contact point of one kind, else the first usable of that kind."""
        of_kind = [c for c in self.contacts if c.kind is kind and not c.problem]
        for point in of_kind:
            if point.preferred:
                return point.value
        return of_kind[0].value if of_kind else None

    @property
    def usable_contacts(self) -> tuple[ContactPoint, ...]:
        """The contact points a message may go to (those without a problem), in order."""
        return tuple(c for c in self.contacts if not c.problem)

    @property
    def contact_problems(self) -> tuple[ContactPoint, ...]:
        """The contact points kept aside, each with its ``problem``."""
        return tuple(c for c in self.contacts if c.problem)

    @property
    def preferred_contact(self) -> ContactPoint | None:
        usable = self.usable_contacts
        for point in usable:
            if point.preferred:
                return point
        return usable[0] if usable else None


@dataclass(frozen=True, slots=True, repr=False)
class LeaseParty:
    """A party to an agreement in one role, and the days that role runs (VERA
    ``relaties[].rollen[].begindatum/einddatum``, both inclusive; None: open).

    A role counts only while it runs, as an agreement does (:meth:`Lease.is_current`): a
    co-tenant whose role ended is no member of the household any more.
    """

    relation_id: str
    role: PartyRole
    start_date: date | None = None
    end_date: date | None = None  # the last day of the role

    def __repr__(self) -> str:
        # As the dataclass would write it, without the dates while both are open (content
        # hashes of the leases without role dates stay as they were).
        text = f"LeaseParty(relation_id={self.relation_id!r}, role={self.role!r}"
        if self.start_date is None and self.end_date is None:
            return f"{text})"
        return f"{text}, start_date={self.start_date!r}, end_date={self.end_date!r})"

    def runs_on(self, on: date) -> bool:
        """Whether the role runs on the given (Amsterdam) calendar date."""
        if self.start_date is not None and self.start_date > on:
            return False
        return self.end_date is None or self.end_date >= on


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

    def parties_on(self, on: date) -> tuple[LeaseParty, ...]:
        """The parties whose role runs on the given day (whether or not the lease does)."""
        return tuple(party for party in self.parties if party.runs_on(on))


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
    """The household of a unit on a given day: parties of its current agreements whose role
    runs on that day (``on`` is an Amsterdam calendar date: see :func:`amsterdam_date`).

    Tenants come before co-tenants; a party whose relation is unknown is left out (the sync
    keeps such leases aside with a reason, so this only happens with partial data).
    """
    members: list[tuple[Resident, PartyRole]] = []
    seen: set[str] = set()
    for lease in sorted(leases, key=lambda lease: (lease.start_date or date.min, lease.lease_id)):
        if lease.unit_code != unit.code or not lease.is_current(on):
            continue
        for party in sorted(lease.parties_on(on), key=lambda p: _ROLE_ORDER[p.role]):
            resident = residents.get(party.relation_id)
            if resident is None or party.relation_id in seen:
                continue
            seen.add(party.relation_id)
            members.append((resident, party.role))
    members.sort(key=lambda member: _ROLE_ORDER[member[1]])
    return Household(unit=unit, members=tuple(members))
