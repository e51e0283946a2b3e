"""The compact consent state of one project, derived from its ledger in one replay (pure).

``fold(scope, entries)`` replays the ledger unit by unit into:

- per unit a timeline of snapshots, one per day on which something about the unit changed (its
  tenancy, a party's role, an answer, an exclusion), so the unit on any date is one bisect;
- per ballot (the whole proposal, or each renovation package) a history of the counts on each
  day they changed, with the threshold and presumption runs already walked, so the tally on any
  date, "since when" and "lost again" are one bisect too;
- the entries it could not count, with the reason (an answer after the deadline, a withdrawal
  of nothing, a lease the register no longer has...).

The state is end-of-day: what counts on a date is the state after every entry of that local day,
taken in time order (ties in ledger order). The threshold is compared in integers, which is the
exact-fraction comparison ``agreed / denominator >= threshold`` without floats.

The same checks that refuse an entry on admission (``ledger.Ledger``) run here again, because the
register can change after an answer was taken (a corrected lease date); the ledger is the truth
of what was recorded, this replay the truth of what counts.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from operator import add

from keukentafel.domain.consent.entries import (
    OBJECTION_DAYS,
    Answer,
    Choice,
    Correction,
    Exclusion,
    ExclusionReversal,
    LedgerEntry,
    NoticeSent,
    Refusal,
    RefusalCode,
    TimedEntry,
    Withdrawal,
)
from keukentafel.domain.consent.profile import (
    ConsentMode,
    ConsentProfile,
    Denominator,
    PackageKind,
)
from keukentafel.domain.consent.scope import ConsentUnit, ContractParty, ProjectScope, Tenancy


class UnitStatus(StrEnum):
    """A unit's status for one ballot, in code order (the ints below index this)."""

    AGREED = "agreed"  # every party whose role runs agreed
    DECLINED = "declined"  # answered, not agreed: a party declined or withdrew
    INCOMPLETE = "incomplete"  # some parties agreed, the others did not answer: not agreed
    NO_ANSWER = "no_answer"
    EXCLUDED = "excluded"  # out of the denominator, with a reason and who decided
    OWNER = "owner"  # owners' track: never counts
    VACANT = "vacant"  # no running tenancy: does not count


class PartyAnswer(StrEnum):
    NONE = "none"
    AGREE = "agree"
    DECLINE = "decline"
    WITHDRAWN = "withdrawn"


STATUSES = tuple(UnitStatus)
PARTY_ANSWERS = tuple(PartyAnswer)
# The four statuses of a rented home in scope come first: the counts slice them together.
AGREED, DECLINED, INCOMPLETE, NO_ANSWER, EXCLUDED, OWNER, VACANT = range(7)
N_STATUS = len(STATUSES)
NONE, AGREE, DECLINE, WITHDRAWN = range(4)
#: The first day of the calendar: every timeline starts with the unit as it was then.
DAY_ONE = date.min.toordinal()


class Refused(Exception):
    """Internal: an entry cannot be counted. Carries the refusal code and reason."""

    def __init__(self, code: RefusalCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


#: A party whose role runs, with its answer per ballot (an index into PARTY_ANSWERS). Plain
#: tuples, not objects: the replay makes one per party per change day for 80,000 units.
PartyRow = tuple[str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Snapshot:
    day: int  # date ordinal from which this holds
    tenancy: Tenancy | None  # the running tenancy, if any
    statuses: tuple[int, ...]  # per ballot, an index into STATUSES
    parties: tuple[PartyRow, ...]  # parties whose role runs, with their answers
    exclusion: Exclusion | None  # the exclusion in force, if any


@dataclass(frozen=True, slots=True)
class UnitTimeline:
    """A unit's snapshots by day. Before the first one the unit is as ``start`` says: vacant,
    or an owner's unit (one shared snapshot, so most units keep only their real changes)."""

    unit: ConsentUnit
    start: Snapshot
    days: tuple[int, ...]
    snapshots: tuple[Snapshot, ...]
    ignored: tuple[tuple[int, Refusal], ...] = ()  # this unit's entries that do not count

    def on(self, day: int) -> Snapshot:
        index = bisect_right(self.days, day) - 1
        return self.snapshots[index] if index >= 0 else self.start


@cache
def _start(width: int, status: int) -> Snapshot:
    return Snapshot(DAY_ONE, None, (status,) * width, (), None)


@dataclass(frozen=True, slots=True)
class Point:
    """One ballot's counts from ``day`` on, with the runs of threshold and presumption so far."""

    day: int
    counts: tuple[int, ...]  # per status index
    met: bool
    presumption: bool
    met_since: int | None
    presumption_since: int | None
    met_lost_on: int | None  # the last day the threshold stopped being met, if ever
    presumption_lost_on: int | None


#: (met since, presumption since, threshold last lost on, presumption last lost on) as day
#: numbers: one tuple per change in a run, shared by the days in between.
Runs = tuple[int | None, int | None, int | None, int | None]


@dataclass(frozen=True, slots=True)
class BallotHistory:
    """One ballot's counts on each day they changed, with the runs walked up to that day."""

    ballot: str
    days: tuple[int, ...]
    counts: tuple[tuple[int, ...], ...]  # per day, per status index
    runs: tuple[Runs, ...]  # per day

    def on(self, day: int) -> Point | None:
        index = bisect_right(self.days, day) - 1
        if index < 0:
            return None
        met_since, presumption_since, met_lost, presumption_lost = self.runs[index]
        return Point(
            self.days[index],
            self.counts[index],
            met_since is not None,
            presumption_since is not None,
            met_since,
            presumption_since,
            met_lost,
            presumption_lost,
        )


@dataclass(frozen=True, slots=True)
class ConsentState:
    scope: ProjectScope
    ballots: tuple[str, ...]
    units: tuple[UnitTimeline, ...]
    histories: tuple[BallotHistory, ...]
    notices: dict[str, tuple[int, ...]]  # lease id -> notice days (ordinals), ascending
    unplaced: tuple[tuple[int, Refusal], ...]  # entries no unit of the project takes
    known_at: datetime | None

    @property
    def ignored(self) -> list[tuple[int, Refusal]]:
        """(day the entry took effect, why it does not count), by day."""
        found = [*self.unplaced, *(item for unit in self.units for item in unit.ignored)]
        found.sort(key=lambda item: item[0])
        return found


# --- checks shared with admission (ledger.py) ------------------------------------------------


def ballots_for(profile: ConsentProfile, package: str | None) -> tuple[int, ...]:
    """Which ballots an answer covers: all for the whole proposal, else its package's."""
    ballots = profile.ballots
    if package is None:
        return tuple(range(len(ballots)))
    if profile.mode is ConsentMode.WHOLE:
        raise Refused(
            RefusalCode.WHOLE_PROPOSAL_ONLY,
            f"package {package}: this project asks consent for the whole proposal only",
        )
    found = profile.package(package)
    if found is None:
        raise Refused(RefusalCode.UNKNOWN_PACKAGE, f"package {package} is not in the proposal")
    if found.kind is PackageKind.MAINTENANCE:
        raise Refused(
            RefusalCode.NOT_VOTED,
            f"package {package} is maintenance: it needs no consent and is not voted on",
        )
    return (ballots.index(package),)


def tenancy_for(scope: ProjectScope, unit_code: str, lease_id: str, day: date) -> Tenancy:
    """The tenancy an entry on a unit belongs to: the given lease, or the one running that day."""
    if not lease_id:
        tenancy = scope.tenancy_on(unit_code, day)
        if tenancy is None:
            raise Refused(RefusalCode.VACANT, f"unit {unit_code} has no running lease on {day}")
        return tenancy
    tenancy = scope.tenancy(lease_id)
    if tenancy is None or tenancy.unit_code != unit_code:
        raise Refused(RefusalCode.UNKNOWN_LEASE, f"unit {unit_code} has no lease {lease_id}")
    if not tenancy.first <= day.toordinal() <= tenancy.last:
        raise Refused(
            RefusalCode.LEASE_NOT_RUNNING,
            f"lease {lease_id} of unit {unit_code} does not run on {day}",
        )
    return tenancy


def parties_for(tenancy: Tenancy, party_ids: Sequence[str], day: date) -> tuple[ContractParty, ...]:
    """The answering parties: those named (each must be on the lease with a running role), or
    the whole household (every party whose role runs that day)."""
    if not party_ids:
        running = tenancy.running_parties(day)
        if not running:
            raise Refused(
                RefusalCode.PARTY_NOT_ON_LEASE,
                f"lease {tenancy.lease_id}: no party's role runs on {day}",
            )
        return running
    parties: list[ContractParty] = []
    for party_id in party_ids:
        party = tenancy.party(party_id)
        if party is None:
            raise Refused(
                RefusalCode.PARTY_NOT_ON_LEASE,
                f"party {party_id} is not on lease {tenancy.lease_id} of unit {tenancy.unit_code}",
            )
        if not party.runs_on(day):
            raise Refused(
                RefusalCode.PARTY_NOT_ON_LEASE,
                f"party {party_id}'s role on lease {tenancy.lease_id} does not run on {day}",
            )
        parties.append(party)
    return tuple(parties)


def check_deadline(notice_days: Sequence[int], tenancy: Tenancy, day: date) -> None:
    """Refuse an answer after the last day of the latest notice sent to the tenancy by then."""
    index = bisect_right(notice_days, day.toordinal()) - 1
    if index < 0:
        return
    last = notice_days[index] + OBJECTION_DAYS
    if day.toordinal() > last:
        raise Refused(
            RefusalCode.AFTER_DEADLINE,
            f"lease {tenancy.lease_id} of unit {tenancy.unit_code}: answered on {day}, after the "
            f"last day {date.fromordinal(last)} of the notice of "
            f"{date.fromordinal(notice_days[index])}",
        )


def voided_ids(entries: Sequence[LedgerEntry]) -> set[str]:
    """Ids of entries voided by a correction that is itself not voided.

    A correction always comes after the entry it corrects, so walking the ledger backwards
    decides every correction before the entry it points at.
    """
    correctors: dict[str, list[str]] = {}
    for entry in entries:
        if isinstance(entry, Correction):
            correctors.setdefault(entry.corrects, []).append(entry.id)
    void: set[str] = set()
    if not correctors:
        return void
    for entry in reversed(entries):
        if any(c not in void for c in correctors.get(entry.id, ())):
            void.add(entry.id)
    return void


# --- replay of one unit -----------------------------------------------------------------------


class _UnitReplay:
    """Replays one unit's entries day by day and keeps a snapshot whenever the unit changed."""

    def __init__(
        self, scope: ProjectScope, unit: ConsentUnit, notices: dict[str, tuple[int, ...]]
    ) -> None:
        self.scope = scope
        self.unit = unit
        self.notices = notices
        self.tenancies = scope.tenancies_of(unit.code)
        self.width = len(scope.profile.ballots)
        self.excluded = (EXCLUDED,) * self.width
        self.vacant = (VACANT,) * self.width
        # Every party's row, made once and replaced on an answer: snapshots share the rows.
        blank = (NONE,) * self.width
        self.rows: dict[tuple[str, str], PartyRow] = {
            (t.lease_id, p.party_id): (p.party_id, blank) for t in self.tenancies for p in t.parties
        }
        self.exclusions: dict[str, Exclusion] = {}  # in force, by id
        self.ignored: list[tuple[int, Refusal]] = []
        self.snapshots: list[Snapshot] = []
        self.start = _start(self.width, VACANT)

    def run(self, entries: Sequence[TimedEntry]) -> UnitTimeline:
        if self.unit.owners_track:
            for entry in entries:
                self._ignore(entry, Refused(RefusalCode.OWNERS_TRACK, self._owner_reason()))
            owner = _start(self.width, OWNER)
            return UnitTimeline(self.unit, owner, (), (), tuple(self.ignored))
        # Sorting is stable: entries of one moment stay in ledger order.
        entries = sorted(entries, key=_moment)
        change_days = {e.ordinal for e in entries}
        for tenancy in self.tenancies:
            change_days |= tenancy.change_days
        self._snapshot(DAY_ONE)
        position, count = 0, len(entries)
        for day in sorted(change_days):
            while position < count and entries[position].ordinal <= day:
                self._apply(entries[position])
                position += 1
            self._snapshot(day)
        days = tuple([s.day for s in self.snapshots])
        return UnitTimeline(self.unit, self.start, days, tuple(self.snapshots), tuple(self.ignored))

    def _owner_reason(self) -> str:
        return f"unit {self.unit.code} is {self.unit.tenure.value}: the owners' track never counts"

    def _ignore(self, entry: TimedEntry, refused: Refused) -> None:
        self.ignored.append((entry.ordinal, Refusal(entry.id, refused.code, refused.reason)))

    def _apply(self, entry: TimedEntry) -> None:
        try:
            if isinstance(entry, Answer):
                self._answer(entry)
            elif isinstance(entry, Withdrawal):
                self._withdraw(entry)
            elif isinstance(entry, Exclusion):
                self._exclude(entry)
            elif isinstance(entry, ExclusionReversal):
                self._reverse(entry)
        except Refused as refused:
            self._ignore(entry, refused)

    def _answer_keys(
        self, entry: Answer | Withdrawal
    ) -> tuple[tuple[int, ...], list[tuple[str, str]]]:
        """The ballots the entry covers and the (lease, party) rows it changes."""
        covered = ballots_for(self.scope.profile, entry.package)
        tenancy = tenancy_for(self.scope, self.unit.code, entry.lease_id, entry.day)
        parties = parties_for(tenancy, entry.parties, entry.day)
        check_deadline(self.notices.get(tenancy.lease_id, ()), tenancy, entry.day)
        return covered, [(tenancy.lease_id, p.party_id) for p in parties]

    def _set(self, key: tuple[str, str], ballots: Sequence[int], value: int) -> None:
        party_id, old = self.rows[key]
        answers = list(old)
        for ballot in ballots:
            answers[ballot] = value
        self.rows[key] = (party_id, tuple(answers))

    def _answer(self, entry: Answer) -> None:
        covered, keys = self._answer_keys(entry)
        value = AGREE if entry.choice is Choice.AGREE else DECLINE
        for key in keys:
            self._set(key, covered, value)

    def _withdraw(self, entry: Withdrawal) -> None:
        covered, keys = self._answer_keys(entry)
        withdrawn = 0
        for key in keys:
            agreed = [b for b in covered if self.rows[key][1][b] == AGREE]
            self._set(key, agreed, WITHDRAWN)
            withdrawn += len(agreed)
        if not withdrawn:
            raise Refused(
                RefusalCode.NOTHING_TO_WITHDRAW,
                f"unit {self.unit.code}: no agreement of these parties to withdraw on {entry.day}",
            )

    def _exclude(self, entry: Exclusion) -> None:
        if not entry.reason.strip():
            raise Refused(RefusalCode.REASON_REQUIRED, "an exclusion needs a reason")
        if not entry.decided_by.strip():
            raise Refused(RefusalCode.DECIDED_BY_REQUIRED, "an exclusion needs who decided")
        if self.exclusions:
            current = next(iter(self.exclusions.values()))
            raise Refused(
                RefusalCode.ALREADY_EXCLUDED,
                f"unit {self.unit.code} is already excluded since {current.day} ({current.id})",
            )
        self.exclusions[entry.id] = entry

    def _reverse(self, entry: ExclusionReversal) -> None:
        if self.exclusions.pop(entry.exclusion_id, None) is None:
            raise Refused(
                RefusalCode.NOT_EXCLUDED,
                f"exclusion {entry.exclusion_id} of unit {self.unit.code} is not in force "
                f"on {entry.day}",
            )

    # Kept whole: the innermost step of every replay (bench/consent_bench.py); one function
    # keeps the hot path free of calls, and its branches are one status decision.
    def _snapshot(self, day: int) -> None:
        tenancy: Tenancy | None = None
        for candidate in self.tenancies:  # by start: the latest started that runs wins
            if candidate.first <= day <= candidate.last:
                tenancy = candidate
        parties: tuple[PartyRow, ...] = ()
        if tenancy is not None:
            lease, rows = tenancy.lease_id, self.rows
            parties = tuple(
                [rows[lease, p.party_id] for p in tenancy.parties if p.first <= day <= p.last]
            )
        exclusion = next(iter(self.exclusions.values()), None) if self.exclusions else None
        if exclusion is not None:
            statuses = self.excluded
        elif tenancy is None:
            statuses = self.vacant
        elif self.width == 1:
            statuses = _ONE_BALLOT[_household(parties, 0)]
        else:
            statuses = tuple([_household(parties, b) for b in range(self.width)])
        last = self.snapshots[-1] if self.snapshots else self.start
        if (
            last.tenancy is tenancy
            and last.statuses == statuses
            and last.parties == parties
            and last.exclusion is exclusion
        ):
            return
        self.snapshots.append(Snapshot(day, tenancy, statuses, parties, exclusion))


#: Status tuples of a single ballot, shared by every snapshot (no tuple per snapshot).
_ONE_BALLOT = tuple((status,) for status in range(N_STATUS))


def _moment(entry: TimedEntry) -> float:
    return entry.utc


def replay_unit(
    scope: ProjectScope,
    unit: ConsentUnit,
    notices: dict[str, tuple[int, ...]],
    entries: Sequence[TimedEntry],
) -> UnitTimeline:
    """Replay one unit's live entries (ledger order) into its timeline, with what did not count."""
    return _UnitReplay(scope, unit, notices).run(entries)


def _household(parties: tuple[PartyRow, ...], ballot: int) -> int:
    """Agreed only when every party whose role runs agreed; one alone is incomplete."""
    agree = other = 0
    for _, answers in parties:
        answer = answers[ballot]
        if answer in (DECLINE, WITHDRAWN):
            return DECLINED
        if answer == AGREE:
            agree += 1
        else:
            other += 1
    if agree and not other:
        return AGREED
    return INCOMPLETE if agree else NO_ANSWER


# --- the fold --------------------------------------------------------------------------------


def fold(
    scope: ProjectScope, entries: Sequence[LedgerEntry], known_at: datetime | None = None
) -> ConsentState:
    """Replay a project's ledger (in recorded order) into its compact consent state.

    ``known_at`` replays only what was recorded by then: "what did the register say then",
    as against the default "what do we know now about then" (see tally.py).
    """
    if known_at is not None:
        entries = [e for e in entries if e.recorded_at <= known_at]
    void = voided_ids(entries)
    live = [e for e in entries if e.id not in void]
    notices, by_unit, unplaced = _sort_out(scope, live)
    timelines = [
        replay_unit(scope, unit, notices, by_unit.get(unit.code, [])) for unit in scope.units
    ]
    return ConsentState(
        scope=scope,
        ballots=scope.profile.ballots,
        units=tuple(timelines),
        histories=histories(scope.profile, timelines),
        notices=notices,
        unplaced=tuple(unplaced),
        known_at=known_at,
    )


def refold_units(
    state: ConsentState,
    entries_by_unit: dict[str, list[TimedEntry]],
    notices: dict[str, tuple[int, ...]],
) -> ConsentState:
    """The state with only the given units replayed again (their live entries changed, or a
    notice to them did); every other unit's timeline is kept, the histories are recounted."""
    scope = state.scope
    timelines = [
        replay_unit(scope, t.unit, notices, entries_by_unit[t.unit.code])
        if t.unit.code in entries_by_unit
        else t
        for t in state.units
    ]
    return ConsentState(
        scope=scope,
        ballots=state.ballots,
        units=tuple(timelines),
        histories=histories(scope.profile, timelines),
        notices=notices,
        unplaced=state.unplaced,
        known_at=state.known_at,
    )


def _sort_out(
    scope: ProjectScope, live: list[LedgerEntry]
) -> tuple[dict[str, tuple[int, ...]], dict[str, list[TimedEntry]], list[tuple[int, Refusal]]]:
    """Notices per lease, timed entries per unit, and the entries no unit can take."""
    notices: dict[str, list[int]] = {}
    by_unit: dict[str, list[TimedEntry]] = {}
    ignored: list[tuple[int, Refusal]] = []
    exclusions = {e.id: e for e in live if isinstance(e, Exclusion)}
    for entry in live:
        if isinstance(entry, Correction):
            continue
        if isinstance(entry, NoticeSent):
            try:
                lease_id = notice_lease(scope, entry)
            except Refused as refused:
                refusal = Refusal(entry.id, refused.code, refused.reason)
                ignored.append((entry.sent_on.toordinal(), refusal))
                continue
            notices.setdefault(lease_id, []).append(entry.sent_on.toordinal())
            continue
        try:
            unit_code = _unit_of(scope, entry, exclusions)
        except Refused as refused:
            refusal = Refusal(entry.id, refused.code, refused.reason)
            ignored.append((entry.day.toordinal(), refusal))
            continue
        by_unit.setdefault(unit_code, []).append(entry)
    return {lease: tuple(sorted(days)) for lease, days in notices.items()}, by_unit, ignored


def _unit_of(
    scope: ProjectScope,
    entry: Answer | Withdrawal | Exclusion | ExclusionReversal,
    exclusions: dict[str, Exclusion],
) -> str:
    unit_code = entry.unit_code
    if isinstance(entry, ExclusionReversal):
        target = exclusions.get(entry.exclusion_id)
        if target is None:
            raise Refused(
                RefusalCode.UNKNOWN_ENTRY, f"there is no exclusion {entry.exclusion_id} to reverse"
            )
        unit_code = target.unit_code
    if scope.unit(unit_code) is None:
        raise Refused(
            RefusalCode.UNKNOWN_UNIT, f"unit {unit_code} is not in project {scope.project_code}"
        )
    return unit_code


def notice_lease(scope: ProjectScope, entry: NoticeSent) -> str:
    """The tenancy a notice went to: the one given, or the one running on the day it was sent."""
    unit = scope.unit(entry.unit_code)
    if unit is None:
        raise Refused(
            RefusalCode.UNKNOWN_UNIT,
            f"unit {entry.unit_code} is not in project {scope.project_code}",
        )
    if unit.owners_track:
        raise Refused(
            RefusalCode.OWNERS_TRACK,
            f"unit {unit.code} is {unit.tenure.value}: owners never get the tenants' notice",
        )
    return tenancy_for(scope, unit.code, entry.lease_id, entry.sent_on).lease_id


# --- per-ballot history ----------------------------------------------------------------------


def histories(
    profile: ConsentProfile, timelines: Sequence[UnitTimeline]
) -> tuple[BallotHistory, ...]:
    """Count every unit's status changes per day and walk the runs of each ballot."""
    width = len(profile.ballots)
    deltas: dict[int, list[int]] = {}
    first = deltas[DAY_ONE] = [0] * (N_STATUS * width)
    for timeline in timelines:
        previous = timeline.start.statuses  # every unit counts from the first day
        for ballot in range(width):
            first[ballot * N_STATUS + previous[ballot]] += 1
        for snapshot in timeline.snapshots:
            current = snapshot.statuses
            if current == previous:
                continue
            row = deltas.get(snapshot.day)
            if row is None:
                row = deltas[snapshot.day] = [0] * (N_STATUS * width)
            if width == 1:  # the common case, without the loop over ballots
                row[current[0]] += 1
                row[previous[0]] -= 1
            else:
                for ballot in range(width):
                    row[ballot * N_STATUS + current[ballot]] += 1
                    row[ballot * N_STATUS + previous[ballot]] -= 1
            previous = current
    days = sorted(deltas)
    totals = [0] * (N_STATUS * width)
    counts_by_ballot: list[list[tuple[int, ...]]] = [[] for _ in range(width)]
    for day in days:
        totals = list(map(add, totals, deltas[day]))
        for ballot, counts in enumerate(counts_by_ballot):
            counts.append(tuple(totals[ballot * N_STATUS : (ballot + 1) * N_STATUS]))
    return tuple(
        _walk(profile, code, days, counts_by_ballot[index])
        for index, code in enumerate(profile.ballots)
    )


def denominator_of(profile: ConsentProfile, counts: Sequence[int]) -> int:
    respondents = counts[AGREED] + counts[DECLINED] + counts[INCOMPLETE]
    if profile.denominator is Denominator.RESPONDENTS:
        return respondents
    return respondents + counts[NO_ANSWER]


def rented_of(counts: Sequence[int]) -> int:
    """Rented homes in scope: a running tenancy, not excluded (the 10-homes rule counts these)."""
    return counts[AGREED] + counts[DECLINED] + counts[INCOMPLETE] + counts[NO_ANSWER]


def meets(profile: ConsentProfile, agreed: int, denominator: int) -> bool:
    """agreed / denominator >= threshold, exactly (integers, no floats, no rounding)."""
    threshold = profile.threshold
    return denominator > 0 and agreed * threshold.denominator >= threshold.numerator * denominator


def _walk(
    profile: ConsentProfile, ballot: str, days: list[int], counts: list[tuple[int, ...]]
) -> BallotHistory:
    """Walk the days in order, deciding threshold and presumption on each (exactly)."""
    numerator, denominator = profile.threshold.numerator, profile.threshold.denominator
    respondents_only = profile.denominator is Denominator.RESPONDENTS
    runs: list[Runs] = []
    current: Runs = (None, None, None, None)
    for day, row in zip(days, counts, strict=True):
        agreed, declined, incomplete, no_answer = row[AGREED : NO_ANSWER + 1]
        homes = agreed + declined + incomplete + no_answer
        base = homes - no_answer if respondents_only else homes
        met = base > 0 and agreed * denominator >= numerator * base
        presumption = met and homes >= profile.min_homes
        met_since, presumption_since, met_lost, presumption_lost = current
        if met != (met_since is not None) or presumption != (presumption_since is not None):
            if met and met_since is None:
                met_since = day
            elif not met and met_since is not None:
                met_since, met_lost = None, day
            if presumption and presumption_since is None:
                presumption_since = day
            elif not presumption and presumption_since is not None:
                presumption_since, presumption_lost = None, day
            current = (met_since, presumption_since, met_lost, presumption_lost)
        runs.append(current)
    return BallotHistory(ballot, tuple(days), tuple(counts), tuple(runs))
