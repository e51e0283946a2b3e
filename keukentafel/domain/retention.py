"""How long residents' personal data is kept (pure): per project an end date and a retention period.

A project keeps the personal data of the households in its complexes until its *keep-until* day:
its end date plus its retention period in calendar months (the day clamped to the month's last
day, so 31 August + 6 months is 28 or 29 February). From the day after, the data is *due*: the
purge removes it. A project without an end date is running and keeps its data.

A unit is purged only when every project whose complexes hold it is due: a complex shared with a
project that still keeps data (running, or closed but within its retention) is kept whole, and so
is every resident who is a party to a lease of a kept unit.

Consent results outlive the purge in pseudonymised form: each party of a purged unit is replaced
by a pseudonym that is stable within that unit (``anon-1``, ``anon-2``, ... in the order the
parties first appear on the unit's leases) and carries nothing of the person, so per-party counts
(a household split between co-tenants) stay countable. See :class:`Pseudonyms`.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

#: Months after a project's end that its residents' data is kept when the file does not say.
DEFAULT_RETENTION_MONTHS = 24

_PSEUDONYM = re.compile(r"anon-[1-9][0-9]*")


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, clamped to the last day of the month reached."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True, slots=True)
class ProjectRetention:
    """A project's complexes and how long the personal data of their households is kept."""

    code: str
    complex_codes: tuple[str, ...]
    end_date: date | None = None  # None: running, keeps its data
    retention_months: int = DEFAULT_RETENTION_MONTHS

    @property
    def keep_until(self) -> date | None:
        """The last day the data is kept; None while the project runs."""
        if self.end_date is None:
            return None
        return add_months(self.end_date, self.retention_months)

    def is_due(self, on: date) -> bool:
        """Whether the project's retention has passed on ``on`` (its data must go)."""
        keep_until = self.keep_until
        return keep_until is not None and on > keep_until


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """Which projects are due on a day and which complexes may therefore be purged."""

    on: date
    due: tuple[ProjectRetention, ...]
    keeping: tuple[ProjectRetention, ...]
    purge_complexes: frozenset[str]  # in a due project and in no keeping project
    shared_complexes: frozenset[str]  # in a due project and in a keeping one: kept

    @property
    def due_codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.due)


def plan_retention(projects: Iterable[ProjectRetention], on: date) -> RetentionPlan:
    """Split the projects into due and keeping on ``on``, and their complexes accordingly."""
    projects = list(projects)
    due = tuple(p for p in projects if p.is_due(on))
    keeping = tuple(p for p in projects if not p.is_due(on))
    due_complexes = {c for p in due for c in p.complex_codes}
    kept_complexes = {c for p in keeping for c in p.complex_codes}
    return RetentionPlan(
        on=on,
        due=due,
        keeping=keeping,
        purge_complexes=frozenset(due_complexes - kept_complexes),
        shared_complexes=frozenset(due_complexes & kept_complexes),
    )


def kept_complexes(projects: Iterable[ProjectRetention], on: date) -> list[str]:
    """The complexes whose households' data may be held on ``on``, in project order: the scope
    of the register sync and the team-list pull (a due project's data is not read back in)."""
    return list(dict.fromkeys(c for p in projects if not p.is_due(on) for c in p.complex_codes))


# --- pseudonyms ------------------------------------------------------------------------------


def is_pseudonym(value: str) -> bool:
    """Whether ``value`` is already a pseudonym (so pseudonymising again changes nothing)."""
    return _PSEUDONYM.fullmatch(value) is not None


@dataclass(slots=True)
class Pseudonyms:
    """Stable pseudonyms per unit: ``anon-<n>`` by the order a party first appears on the unit.

    Made from the unit's leases before they are removed (``parties_by_unit``: relation ids in
    order). A relation asked for that was not on those leases gets the next number, in the order
    asked, so one purge gives the same answer to every table it rewrites. A value that is
    already a pseudonym is returned as it is.
    """

    parties_by_unit: Mapping[str, Sequence[str]]
    _by_unit: dict[str, dict[str, str]] = field(default_factory=dict, init=False)
    _first_unit: dict[str, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for unit_code in sorted(self.parties_by_unit):
            for relation_id in self.parties_by_unit[unit_code]:
                self.of(unit_code, relation_id)

    def of(self, unit_code: str, relation_id: str) -> str:
        """The pseudonym of ``relation_id`` within ``unit_code``."""
        if is_pseudonym(relation_id):
            return relation_id
        known = self._by_unit.setdefault(unit_code, {})
        if relation_id not in known:
            known[relation_id] = f"anon-{len(known) + 1}"
            first = self._first_unit.get(relation_id)
            if first is None or unit_code < first:
                self._first_unit[relation_id] = unit_code
        return known[relation_id]

    def first_unit_of(self, relation_id: str) -> str:
        """The first unit (in unit-code order) on whose leases the relation appears; "" if none."""
        return self._first_unit.get(relation_id, "")


# --- what a purge removed --------------------------------------------------------------------


@dataclass(slots=True)
class PurgeTally:
    """What a purge removed: a count per kind and the units it removed something of."""

    counts: dict[str, int] = field(default_factory=dict)
    units: set[str] = field(default_factory=set)

    def add(self, kind: str, per_unit: Mapping[str, int]) -> None:
        """Count ``kind`` for each unit that had something removed (zeros are not counted)."""
        self.counts.setdefault(kind, 0)
        for unit_code, count in per_unit.items():
            if count:
                self.counts[kind] += count
                if unit_code:  # "" is a row that names no unit (a resident kept aside)
                    self.units.add(unit_code)

    @property
    def removed(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class FileRemoval:
    """Files removed from the output folder: a count per kind, per unit code."""

    per_kind: Mapping[str, Mapping[str, int]]  # kind -> unit code -> files removed
