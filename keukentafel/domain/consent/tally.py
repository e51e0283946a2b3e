"""The consent tally of a project on any evaluation date, and who gets the notice or a reminder.

``tally_of(state, as_of)`` reads a folded ``ConsentState`` (state.py) at the end of a local day:
per ballot (the whole proposal, or each renovation package) the rented homes in scope, agreed,
declined, incomplete, no answer, the denominator the profile chooses, the exact fraction and the
percentage shown (half-up at 4 decimals), whether the threshold is met and the presumption of
art. 7:220 lid 3 applies (threshold met and at least ``min_homes`` rented homes), since when,
and when it was last lost; per unit its status, its parties' answers, the latest notice date and
the last day to go to court.

"What was the tally on 1 March" is ``tally_of(state, date(…, 3, 1))`` with everything known now
(a form dated 28 February entered on 5 March counts); "what did the register say on 1 March" is
the state folded with ``known_at`` (state.fold).

The recipients of the 70% notice and of reminders come from the tally, never from a typed list:
the notice goes to the tenants who did not agree, only while the presumption applies; a reminder
goes to households without any answer. Owners are never in either.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from functools import cached_property

from keukentafel.domain.consent.entries import (
    Exclusion,
    LedgerEntry,
    Refusal,
    objection_deadline,
)
from keukentafel.domain.consent.profile import WHOLE, ConsentMode, ConsentProfile
from keukentafel.domain.consent.rules import MailingNotAllowed
from keukentafel.domain.consent.scope import ProjectScope
from keukentafel.domain.consent.state import (
    AGREED,
    DECLINED,
    EXCLUDED,
    INCOMPLETE,
    N_STATUS,
    NO_ANSWER,
    OWNER,
    PARTY_ANSWERS,
    STATUSES,
    VACANT,
    BallotHistory,
    ConsentState,
    PartyAnswer,
    UnitStatus,
    UnitTimeline,
    denominator_of,
    fold,
    rented_of,
)
from keukentafel.domain.model import PartyRole, Tenure

_NOT_AGREED = frozenset({UnitStatus.DECLINED, UnitStatus.INCOMPLETE, UnitStatus.NO_ANSWER})


def percentage(agreed: int, denominator: int) -> Decimal | None:
    """100 * agreed / denominator, rounded half-up to 4 decimals in integers (no float, no
    double rounding): 2 of 3 is 66.6667, 1 of 8 is 12.5000."""
    if denominator <= 0:
        return None
    quotient, remainder = divmod(agreed * 100 * 10_000, denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return Decimal(quotient).scaleb(-4)


def _day(ordinal: int | None) -> date | None:
    return date.fromordinal(ordinal) if ordinal is not None else None


@dataclass(frozen=True, slots=True)
class BallotTally:
    ballot: str  # "whole" or a renovation package code
    agreed: int
    declined: int  # answered, not agreed (a party declined or withdrew)
    incomplete: int  # some parties agreed, not all: not agreed
    no_answer: int
    homes: int  # rented homes in scope: running tenancy, not excluded
    denominator: int
    fraction: Fraction | None  # agreed / denominator, exact
    percentage: Decimal | None  # for display only: half-up, 4 decimals
    threshold: Fraction
    threshold_met: bool
    min_homes: int
    presumption_applies: bool
    threshold_met_since: date | None  # first day of the current run of being met
    presumption_since: date | None
    threshold_lost_on: date | None  # the last day it stopped being met, if it ever did
    presumption_lost_on: date | None

    @property
    def respondents(self) -> int:
        return self.agreed + self.declined + self.incomplete

    @property
    def enough_homes(self) -> bool:
        """The 10-homes rule (``min_homes``): below it the court decides, there's no presumption."""
        return self.homes >= self.min_homes

    @property
    def lost_again(self) -> bool:
        """Whether the threshold was met earlier and lost again (it may be met again now)."""
        return self.threshold_lost_on is not None


@dataclass(frozen=True, slots=True)
class PartyAnswers:
    party_id: str
    role: PartyRole
    answers: Mapping[str, PartyAnswer]  # ballot -> answer


@dataclass(frozen=True, slots=True)
class UnitTally:
    unit_code: str
    tenure: Tenure
    lease_id: str | None  # the tenancy running on the evaluation date
    statuses: Mapping[str, UnitStatus]  # ballot -> status
    parties: tuple[PartyAnswers, ...]  # parties whose role runs, with their answers
    exclusion: Exclusion | None
    notice_date: date | None  # the latest notice sent to this tenancy by the evaluation date
    last_day: date | None  # notice date + 56 days, inclusive

    @property
    def status(self) -> UnitStatus | None:
        """The status if it is the same for every ballot, else ``None`` (mixed)."""
        values = set(self.statuses.values())
        return values.pop() if len(values) == 1 else None


@dataclass(frozen=True)
class ProjectTally:
    """The counts are read at once; ``units`` (a line per unit) when first asked for."""

    project_code: str
    as_of: date
    profile: ConsentProfile
    units_total: int
    homes: int  # rented homes in scope
    excluded: int
    owners: int
    vacant: int
    ballots: tuple[BallotTally, ...]
    ignored: tuple[Refusal, ...]  # entries in effect by as_of that do not count, with why
    state: ConsentState = field(repr=False, compare=False)

    @cached_property
    def units(self) -> tuple[UnitTally, ...]:
        lines = _UnitLines(self.state, self.as_of.toordinal())
        return tuple(lines.unit(timeline) for timeline in self.state.units)

    def ballot(self, code: str | None = None) -> BallotTally:
        """A ballot by package code; ``None`` is the whole proposal (or the only ballot)."""
        wanted = code or WHOLE
        for ballot in self.ballots:
            if ballot.ballot == wanted or (code is None and len(self.ballots) == 1):
                return ballot
        raise KeyError(f"project {self.project_code} has no ballot {wanted}")

    def unit(self, code: str) -> UnitTally:
        """One unit's line; reads only that unit unless every line was read already (a web page
        that shows one household does not pay for the project's other units)."""
        if "units" in self.__dict__:
            for unit in self.units:
                if unit.unit_code == code:
                    return unit
        else:
            for timeline in self.state.units:
                if timeline.unit.code == code:
                    return _UnitLines(self.state, self.as_of.toordinal()).unit(timeline)
        raise KeyError(f"project {self.project_code} has no unit {code}")


def tally_of(state: ConsentState, as_of: date) -> ProjectTally:
    """The tally at the end of the local day ``as_of``."""
    day = as_of.toordinal()
    profile = state.scope.profile
    ballots = tuple(_ballot(profile, history, day) for history in state.histories)
    first = state.histories[0].on(day) if state.histories else None
    counts = first.counts if first else (0,) * N_STATUS
    return ProjectTally(
        project_code=state.scope.project_code,
        as_of=as_of,
        profile=profile,
        units_total=len(state.units),
        homes=rented_of(counts),
        excluded=counts[EXCLUDED],
        owners=counts[OWNER],
        vacant=counts[VACANT],
        ballots=ballots,
        ignored=tuple(refusal for when, refusal in state.ignored if when <= day),
        state=state,
    )


def evaluate_ledger(
    scope: ProjectScope,
    entries: Sequence[LedgerEntry],
    as_of: date,
    *,
    known_at: datetime | None = None,
) -> ProjectTally:
    """Fold a project's ledger and read its tally on ``as_of`` (one call for a one-off)."""
    return tally_of(fold(scope, entries, known_at), as_of)


def _ballot(profile: ConsentProfile, history: BallotHistory, day: int) -> BallotTally:
    point = history.on(day)
    counts = point.counts if point else (0,) * N_STATUS
    denominator = denominator_of(profile, counts)
    agreed = counts[AGREED]
    return BallotTally(
        ballot=history.ballot,
        agreed=agreed,
        declined=counts[DECLINED],
        incomplete=counts[INCOMPLETE],
        no_answer=counts[NO_ANSWER],
        homes=rented_of(counts),
        denominator=denominator,
        fraction=Fraction(agreed, denominator) if denominator else None,
        percentage=percentage(agreed, denominator),
        threshold=profile.threshold,
        threshold_met=bool(point and point.met),
        min_homes=profile.min_homes,
        presumption_applies=bool(point and point.presumption),
        threshold_met_since=_day(point.met_since) if point else None,
        presumption_since=_day(point.presumption_since) if point else None,
        threshold_lost_on=_day(point.met_lost_on) if point else None,
        presumption_lost_on=_day(point.presumption_lost_on) if point else None,
    )


class _UnitLines:
    """Reads unit lines on one day. The status and answer maps are shared between units with
    the same values (read-only ``Mapping``s): most units share a handful of them."""

    def __init__(self, state: ConsentState, day: int) -> None:
        self.state = state
        self.day = day
        self.ballots = state.ballots
        self.statuses: dict[tuple[int, ...], Mapping[str, UnitStatus]] = {}
        self.answers: dict[tuple[int, ...], Mapping[str, PartyAnswer]] = {}

    def _statuses(self, codes: tuple[int, ...]) -> Mapping[str, UnitStatus]:
        found = self.statuses.get(codes)
        if found is None:
            found = self.statuses[codes] = {
                b: STATUSES[s] for b, s in zip(self.ballots, codes, strict=True)
            }
        return found

    def _answers(self, codes: tuple[int, ...]) -> Mapping[str, PartyAnswer]:
        found = self.answers.get(codes)
        if found is None:
            found = self.answers[codes] = {
                b: PARTY_ANSWERS[a] for b, a in zip(self.ballots, codes, strict=True)
            }
        return found

    def unit(self, timeline: UnitTimeline) -> UnitTally:
        snapshot = timeline.on(self.day)
        tenancy = snapshot.tenancy
        notice_date: date | None = None
        parties: tuple[PartyAnswers, ...] = ()
        if tenancy is not None:
            sent = self.state.notices.get(tenancy.lease_id, ())
            index = bisect_right(sent, self.day) - 1
            notice_date = date.fromordinal(sent[index]) if index >= 0 else None
            roles = {p.party_id: p.role for p in tenancy.parties}
            parties = tuple(
                [
                    PartyAnswers(party_id, roles[party_id], self._answers(answers))
                    for party_id, answers in snapshot.parties
                ]
            )
        return UnitTally(
            unit_code=timeline.unit.code,
            tenure=timeline.unit.tenure,
            lease_id=tenancy.lease_id if tenancy else None,
            statuses=self._statuses(snapshot.statuses),
            parties=parties,
            exclusion=snapshot.exclusion,
            notice_date=notice_date,
            last_day=objection_deadline(notice_date) if notice_date else None,
        )


# --- who gets the notice, who gets a reminder -----------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    """A household a letter goes to: the tenancy and its parties whose role runs."""

    unit_code: str
    lease_id: str
    party_ids: tuple[str, ...]
    status: UnitStatus
    notice_date: date | None  # a notice sent earlier, if any (a new one replaces its deadline)
    last_day: date | None


def _ballot_code(tally: ProjectTally, package: str | None, kind: str) -> str:
    if tally.profile.mode is ConsentMode.WHOLE:
        if package is not None:
            raise MailingNotAllowed(
                f"{kind}: project {tally.project_code} asks consent for the whole proposal; "
                f"name no package"
            )
        return WHOLE
    if package is None:
        raise MailingNotAllowed(
            f"{kind}: project {tally.project_code} votes per package; name the package"
        )
    if package not in tally.profile.ballots:
        raise MailingNotAllowed(f"{kind}: package {package} is not voted on in this project")
    return package


def notice_recipients(tally: ProjectTally, package: str | None = None) -> tuple[Recipient, ...]:
    """The tenants who did not agree (declined, incomplete, no answer), for the 70% notice.

    Refuses (``MailingNotAllowed``) unless the presumption applies on the tally's date: the
    threshold is met and there are at least ``min_homes`` rented homes. Owners, vacant and
    excluded units are never recipients.
    """
    code = _ballot_code(tally, package, "consent_reached")
    ballot = tally.ballot(code)
    if not ballot.presumption_applies:
        why = (
            f"{ballot.homes} rented homes in scope; the presumption needs at least "
            f"{ballot.min_homes}"
            if not ballot.enough_homes
            else f"{ballot.agreed} of {ballot.denominator} agreed "
            f"({ballot.percentage if ballot.percentage is not None else '-'}%), below the "
            f"threshold {ballot.threshold.numerator}/{ballot.threshold.denominator}"
        )
        raise MailingNotAllowed(
            f"consent_reached: project {tally.project_code} ({code}) on {tally.as_of}: {why}"
        )
    return _households(tally, code, _NOT_AGREED)


def reminder_recipients(tally: ProjectTally, package: str | None = None) -> tuple[Recipient, ...]:
    """Households without any answer (for the package, or for every ballot when ``None``):
    nobody who answered gets a reminder. Owners, vacant and excluded units never do."""
    if package is not None:
        return _households(tally, _ballot_code(tally, package, "reminder"), {UnitStatus.NO_ANSWER})
    recipients: list[Recipient] = []
    for unit in tally.units:
        if unit.lease_id and all(s is UnitStatus.NO_ANSWER for s in unit.statuses.values()):
            recipients.append(_recipient(unit, UnitStatus.NO_ANSWER))
    return tuple(recipients)


def _households(
    tally: ProjectTally, ballot: str, wanted: frozenset[UnitStatus] | set[UnitStatus]
) -> tuple[Recipient, ...]:
    recipients: list[Recipient] = []
    for unit in tally.units:
        status = unit.statuses[ballot]
        if status in wanted and unit.lease_id:
            recipients.append(_recipient(unit, status))
    return tuple(recipients)


def _recipient(unit: UnitTally, status: UnitStatus) -> Recipient:
    assert unit.lease_id is not None  # only rented units are recipients
    return Recipient(
        unit.unit_code,
        unit.lease_id,
        tuple(p.party_id for p in unit.parties),
        status,
        unit.notice_date,
        unit.last_day,
    )


# --- JSON-able form ----------------------------------------------------------------------------


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _fraction_text(value: Fraction | None) -> str | None:
    return None if value is None else f"{value.numerator}/{value.denominator}"


def ballot_as_dict(ballot: BallotTally, profile: ConsentProfile) -> dict[str, object]:
    package = profile.package(ballot.ballot)
    return {
        "ballot": ballot.ballot,
        "title": package.title if package else "whole proposal",
        "agreed": ballot.agreed,
        "declined": ballot.declined,
        "incomplete": ballot.incomplete,
        "no_answer": ballot.no_answer,
        "respondents": ballot.respondents,
        "homes": ballot.homes,
        "denominator": ballot.denominator,
        "fraction": _fraction_text(ballot.fraction),
        "percentage": None if ballot.percentage is None else str(ballot.percentage),
        "threshold": _fraction_text(ballot.threshold),
        "threshold_met": ballot.threshold_met,
        "min_homes": ballot.min_homes,
        "enough_homes": ballot.enough_homes,
        "presumption_applies": ballot.presumption_applies,
        "threshold_met_since": _iso(ballot.threshold_met_since),
        "presumption_since": _iso(ballot.presumption_since),
        "threshold_lost_on": _iso(ballot.threshold_lost_on),
        "presumption_lost_on": _iso(ballot.presumption_lost_on),
        "lost_again": ballot.lost_again,
    }


def unit_as_dict(unit: UnitTally, *, people: bool = True) -> dict[str, object]:
    """One unit's line. ``people=False`` keeps unit codes, statuses and dates only: no party
    ids, no exclusion reason or who decided (for logs and flow artifacts)."""
    exclusion = unit.exclusion
    status = unit.status
    excluded: dict[str, object] | None = None
    if exclusion is not None:
        excluded = {"id": exclusion.id, "since": exclusion.day.isoformat()}
        if people:
            excluded |= {"reason": exclusion.reason, "decided_by": exclusion.decided_by}
    line: dict[str, object] = {
        "unit": unit.unit_code,
        "tenure": unit.tenure.value,
        "status": status.value if status else "mixed",
        "statuses": {ballot: s.value for ballot, s in unit.statuses.items()},
        "lease": unit.lease_id,
        "excluded": excluded,
        "notice_date": _iso(unit.notice_date),
        "last_day": _iso(unit.last_day),
    }
    if people:
        line["parties"] = [
            {
                "party": p.party_id,
                "role": p.role.value,
                "answers": {ballot: a.value for ballot, a in p.answers.items()},
            }
            for p in unit.parties
        ]
    return line


def tally_as_dict(tally: ProjectTally, *, people: bool = True) -> dict[str, object]:
    """The tally as plain JSON types: dates ISO, fractions "n/d", percentages as text.
    ``people=False``: counts, unit codes and dates only (see ``unit_as_dict``)."""
    return {
        "project": tally.project_code,
        "as_of": tally.as_of.isoformat(),
        "counts": {
            "units": tally.units_total,
            "homes": tally.homes,
            "excluded": tally.excluded,
            "owners": tally.owners,
            "vacant": tally.vacant,
        },
        "ballots": [ballot_as_dict(b, tally.profile) for b in tally.ballots],
        "units": [unit_as_dict(u, people=people) for u in tally.units],
    }
