"""The consent report for the corporation: what it shows, row by row (pure).

One report per project on an evaluation date: the profile (threshold, denominator and its legal
basis), per ballot the counts, the exact fraction and the percentage shown, whether the threshold
and the 10-homes rule are met and since when, and per unit its status, notice date and last day.
The PDF carries unit codes only; the XLSX meant for the corporation adds each party's name and
answers and each unit's address (keukentafel/reports/consent.py writes both). Owners are listed
as the owners' track, never counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from keukentafel.domain.consent.state import UnitStatus
from keukentafel.domain.consent.tally import BallotTally, ProjectTally, UnitTally
from keukentafel.domain.model import Project, Resident

#: How a status reads in the report (English, for the corporation's staff).
STATUS_TEXT = {
    UnitStatus.AGREED: "agreed",
    UnitStatus.DECLINED: "declined",
    UnitStatus.INCOMPLETE: "incomplete (not every party agreed)",
    UnitStatus.NO_ANSWER: "no answer",
    UnitStatus.EXCLUDED: "excluded",
    UnitStatus.OWNER: "owners' track (does not count)",
    UnitStatus.VACANT: "vacant (does not count)",
}


def person_name(resident: Resident) -> str:
    """A party's name as the corporation's list shows it: "J. de Jansen", or the organisation."""
    if resident.name is None:
        return resident.organisation_name
    name = resident.name
    return " ".join(part for part in (name.initials, name.tussenvoegsel, name.surname) if part)


@dataclass(frozen=True, slots=True)
class ConsentReport:
    """A project's tally on a date, with the names and addresses only the XLSX shows."""

    project: Project
    tally: ProjectTally
    names: Mapping[str, str]  # party id -> name
    addresses: Mapping[str, str]  # unit code -> street and number
    problems: tuple[str, ...] = ()  # register leases the scope could not take, and why

    @property
    def as_of(self) -> date:
        return self.tally.as_of

    def ballot_rows(self) -> list[dict[str, object]]:
        """One row per ballot: counts, fraction, percentage, threshold, rules and dates."""
        return [_ballot_row(self.tally, ballot) for ballot in self.tally.ballots]

    def unit_rows(self, *, people: bool) -> list[dict[str, object]]:
        """One row per unit: status per ballot, notice date and last day; ``people`` adds the
        address, each party's name and answers, and the exclusion's reason and who decided."""
        return [self._unit_row(unit, people=people) for unit in self.tally.units]

    def _unit_row(self, unit: UnitTally, *, people: bool) -> dict[str, object]:
        row: dict[str, object] = {"unit": unit.unit_code}
        if people:
            row["address"] = self.addresses.get(unit.unit_code, "")
        row["tenure"] = unit.tenure.value
        for ballot, status in unit.statuses.items():
            row[f"status {ballot}"] = STATUS_TEXT[status]
        row["lease"] = unit.lease_id or ""
        row["excluded since"] = unit.exclusion.day if unit.exclusion else None
        row["notice date"] = unit.notice_date
        row["last day to go to court"] = unit.last_day
        if people:
            exclusion = unit.exclusion
            row["exclusion reason"] = exclusion.reason if exclusion else ""
            row["decided by"] = exclusion.decided_by if exclusion else ""
            row["parties"] = "; ".join(
                f"{self.names.get(p.party_id, p.party_id)} ({p.role.value}): "
                + ", ".join(f"{ballot} {answer.value}" for ballot, answer in p.answers.items())
                for p in unit.parties
            )
        return row


def _ballot_row(tally: ProjectTally, ballot: BallotTally) -> dict[str, object]:
    package = tally.profile.package(ballot.ballot)
    threshold = ballot.threshold
    return {
        "ballot": ballot.ballot,
        "title": package.title if package else "whole proposal",
        "rented homes in scope": ballot.homes,
        "agreed": ballot.agreed,
        "declined": ballot.declined,
        "incomplete": ballot.incomplete,
        "no answer": ballot.no_answer,
        "excluded": tally.excluded,
        "owners (not counted)": tally.owners,
        "vacant": tally.vacant,
        "denominator": ballot.denominator,
        "agreed / denominator": f"{ballot.agreed}/{ballot.denominator}"
        if ballot.denominator
        else "",
        "percentage": f"{ballot.percentage}%" if ballot.percentage is not None else "",
        "threshold": f"{threshold.numerator}/{threshold.denominator}",
        "threshold met": ballot.threshold_met,
        "at least min homes": ballot.enough_homes,
        "presumption applies": ballot.presumption_applies,
        "presumption since": ballot.presumption_since,
        "presumption lost on": ballot.presumption_lost_on,
        "lost again": ballot.lost_again,
    }
