"""Who is in scope of a project's consent track, on any date: units, tenancies, contract parties.

Consent is given per *tenancy* (a unit's rental lease), not per unit: when a lease ends and a new
one starts, the new tenant starts with no answer. A household has agreed only when every contract
party whose role runs on the day has agreed. Owner-occupied and privately rented units are the
owners' track (the VvE decides there): they never count and never get tenant letters. A rental
unit without a running tenancy is vacant and does not count.

All dates are Europe/Amsterdam calendar dates; an end date is the last day something runs
(inclusive), ``None`` means open. These are the consent track's own value types: the register
model's lease parties may carry role dates (``start_date``/``end_date``); where they do not,
``tenancy_from_lease`` leaves them ``None`` and a role runs as long as its lease.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise

from keukentafel.domain.consent.profile import ConsentProfile, require_consent_track
from keukentafel.domain.model import (
    AgreementKind,
    Lease,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    ProjectKind,
    Tenure,
)

#: Tenures that belong to the owners' track: the corporation is not the landlord there.
OWNER_TENURES = frozenset({Tenure.OWNER_OCCUPIED, Tenure.PRIVATE_RENTAL})
TENANT_ROLES = frozenset({PartyRole.TENANT, PartyRole.CO_TENANT})
#: Day numbers (``date.toordinal``) of an open start and an open end.
OPEN_START = 0
OPEN_END = date.max.toordinal()


class ScopeError(ValueError):
    """The units or tenancies handed to the consent track contradict each other."""


def runs_on(start: date | None, end: date | None, day: date) -> bool:
    """Whether a period with inclusive bounds (``None`` = open) covers the day."""
    return (start is None or start <= day) and (end is None or day <= end)


@dataclass(frozen=True, slots=True)
class ContractParty:
    """A party to a rental lease: the tenant or a co-tenant, with the days the role runs."""

    party_id: str  # the register's relation id; never a name
    role: PartyRole
    start: date | None = None
    end: date | None = None
    first: int = field(init=False, repr=False, compare=False)  # day numbers, for the replay
    last: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.party_id:
            raise ScopeError("a contract party needs a party id")
        if self.role not in TENANT_ROLES:
            raise ScopeError(f"party {self.party_id}: role must be tenant or co_tenant")
        if self.start and self.end and self.end < self.start:
            raise ScopeError(f"party {self.party_id}: role ends before it starts")
        object.__setattr__(self, "first", self.start.toordinal() if self.start else OPEN_START)
        object.__setattr__(self, "last", self.end.toordinal() if self.end else OPEN_END)

    def runs_on(self, day: date) -> bool:
        return runs_on(self.start, self.end, day)


@dataclass(frozen=True, slots=True)
class Tenancy:
    """A unit's rental lease with its contract parties: the thing one answer belongs to."""

    lease_id: str
    unit_code: str
    start: date | None
    end: date | None
    parties: tuple[ContractParty, ...]
    first: int = field(init=False, repr=False, compare=False)  # day numbers, for the replay
    last: int = field(init=False, repr=False, compare=False)
    change_days: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.lease_id or not self.unit_code:
            raise ScopeError("a tenancy needs a lease id and a unit code")
        if self.start and self.end and self.end < self.start:
            raise ScopeError(f"lease {self.lease_id}: ends before it starts")
        if not self.parties:
            raise ScopeError(f"lease {self.lease_id}: has no contract party")
        ids = [p.party_id for p in self.parties]
        if len(set(ids)) != len(ids):
            raise ScopeError(f"lease {self.lease_id}: a party appears twice")
        object.__setattr__(self, "first", self.start.toordinal() if self.start else OPEN_START)
        object.__setattr__(self, "last", self.end.toordinal() if self.end else OPEN_END)
        # Days on which who may (or must) answer changes: starts and the day after each end.
        days: set[int] = set()
        for first, last in [(self.first, self.last), *((p.first, p.last) for p in self.parties)]:
            if first != OPEN_START:
                days.add(first)
            if last != OPEN_END:
                days.add(last + 1)
        object.__setattr__(self, "change_days", frozenset(days))

    def runs_on(self, day: date) -> bool:
        return runs_on(self.start, self.end, day)

    def running_parties(self, day: date) -> tuple[ContractParty, ...]:
        """The parties whose role runs on the day: these must all agree."""
        return tuple(p for p in self.parties if p.runs_on(day))

    def party(self, party_id: str) -> ContractParty | None:
        for party in self.parties:
            if party.party_id == party_id:
                return party
        return None


@dataclass(frozen=True, slots=True)
class ConsentUnit:
    code: str
    tenure: Tenure

    @property
    def owners_track(self) -> bool:
        return self.tenure in OWNER_TENURES


@dataclass(frozen=True, slots=True)
class ProjectScope:
    """One project's units and their tenancies, indexed for look-ups by unit and date.

    When the register has overlapping tenancies on one unit (bad data), the one that started
    last runs; ``overlaps()`` names them so a loader can report them.
    """

    project_code: str
    kind: ProjectKind
    profile: ConsentProfile
    units: tuple[ConsentUnit, ...]
    tenancies: tuple[Tenancy, ...] = ()
    _units: dict[str, ConsentUnit] = field(init=False, repr=False, compare=False)
    _by_unit: dict[str, tuple[Tenancy, ...]] = field(init=False, repr=False, compare=False)
    _leases: dict[str, Tenancy] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        require_consent_track(self.kind)
        units = {unit.code: unit for unit in self.units}
        if len(units) != len(self.units):
            raise ScopeError(f"project {self.project_code}: a unit code appears twice")
        by_unit: dict[str, list[Tenancy]] = {}
        leases: dict[str, Tenancy] = {}
        for tenancy in self.tenancies:
            unit = units.get(tenancy.unit_code)
            if unit is None:
                raise ScopeError(f"lease {tenancy.lease_id}: unit {tenancy.unit_code} not in scope")
            if tenancy.lease_id in leases:
                raise ScopeError(f"lease {tenancy.lease_id} appears twice")
            leases[tenancy.lease_id] = tenancy
            by_unit.setdefault(tenancy.unit_code, []).append(tenancy)
        object.__setattr__(self, "_units", units)
        object.__setattr__(self, "_leases", leases)
        object.__setattr__(
            self,
            "_by_unit",
            {code: tuple(sorted(ts, key=_start_key)) for code, ts in by_unit.items()},
        )

    def unit(self, code: str) -> ConsentUnit | None:
        return self._units.get(code)

    def tenancy(self, lease_id: str) -> Tenancy | None:
        return self._leases.get(lease_id)

    def tenancies_of(self, unit_code: str) -> tuple[Tenancy, ...]:
        """The unit's tenancies, by start date."""
        return self._by_unit.get(unit_code, ())

    def tenancy_on(self, unit_code: str, day: date) -> Tenancy | None:
        """The tenancy that runs on the day (the latest started if the register overlaps)."""
        tenancies = self._by_unit.get(unit_code, ())
        # Tenancies are sorted by start: only those started by the day can run on it.
        for tenancy in reversed(
            tenancies[: bisect_right(tenancies, _day_key(day), key=_start_key)]
        ):
            if tenancy.runs_on(day):
                return tenancy
        return None

    def overlaps(self) -> list[tuple[str, str]]:
        """Pairs of lease ids on one unit whose periods overlap."""
        pairs: list[tuple[str, str]] = []
        for tenancies in self._by_unit.values():
            for before, after in pairwise(tenancies):
                # Sorted by start: they overlap unless the later one starts after the earlier ends.
                if before.end is None or after.start is None or after.start <= before.end:
                    pairs.append((before.lease_id, after.lease_id))
        return pairs


def _start_key(tenancy: Tenancy) -> tuple[int, str]:
    return (tenancy.first, tenancy.lease_id)


def _day_key(day: date) -> tuple[int, str]:
    # Sorts after every tenancy starting on that day, whatever its lease id.
    return (day.toordinal(), "\U0010ffff")


def tenancy_from_lease(lease: Lease) -> Tenancy | None:
    """The consent tenancy of a register lease; ``None`` for a purchase or an undatable end.

    A party's role runs from its own start to its own end date when the register has them (a
    co-tenant who joined or left during the lease), else as long as the lease. A lease that ended
    without an end date cannot be placed in time and is left out (it is not running).
    """
    if lease.kind is not AgreementKind.RENTAL:
        return None
    if lease.status is LeaseStatus.ENDED and lease.end_date is None:
        return None
    parties = tuple(
        ContractParty(party.relation_id, party.role, *_role_dates(party))
        for party in lease.parties
        if party.role in TENANT_ROLES
    )
    if not parties:
        return None
    return Tenancy(lease.lease_id, lease.unit_code, lease.start_date, lease.end_date, parties)


def _role_dates(party: LeaseParty) -> tuple[date | None, date | None]:
    """A lease party's role start and end (issue 9: ``LeaseParty.start_date``/``end_date``);
    without them the role runs as long as the lease. A role that ends before it starts is bad
    register data: it is read as open rather than refusing the whole lease (the lease's own
    dates still bound it)."""
    start, end = party.start_date, party.end_date
    if start is not None and end is not None and end < start:
        return None, None
    return start, end
