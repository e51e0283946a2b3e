"""Flow: the daily consent tally of every project with a consent profile (art. 7:220 BW).

``consent-tally`` takes a corporation code, computes each consent project's tally at the end of
the day through the App (the same use case the CLI and the web page call) and publishes two
table artifacts: the counts per project and ballot, and each unit's code with its status,
notice date and last day. Never names and never party ids: artifacts hold counts and unit codes
only. It writes nothing, so it can run as often as wanted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from keukentafel.bootstrap import current_app
from keukentafel.domain.consent.tally import unit_as_dict


@dataclass(slots=True)
class ConsentTallies:
    """Per project and ballot the counts; per unit its code, status and dates (no people)."""

    corporation: str
    as_of: date
    ballots: list[dict[str, Any]] = field(default_factory=list)
    units: list[dict[str, Any]] = field(default_factory=list)


#: What a unit's row in the artifact shows: its code and dates, no lease or exclusion ids.
_UNIT_KEYS = ("unit", "tenure", "status", "notice_date", "last_day")


@task(name="consent-tally")
def tally(corporation: str, on: date | None) -> ConsentTallies:
    app = current_app()
    as_of = on or app.today()
    result = ConsentTallies(corporation, as_of)
    for project, _profile in app.corporation(corporation).consent_projects():
        found = app.consent_tally(corporation, project.code, on=as_of)
        for ballot in found.ballots:
            result.ballots.append(
                {
                    "project": project.code,
                    "ballot": ballot.ballot,
                    "homes": ballot.homes,
                    "agreed": ballot.agreed,
                    "declined": ballot.declined,
                    "incomplete": ballot.incomplete,
                    "no answer": ballot.no_answer,
                    "excluded": found.excluded,
                    "owners": found.owners,
                    "vacant": found.vacant,
                    "denominator": ballot.denominator,
                    "percentage": str(ballot.percentage) if ballot.percentage else "",
                    "presumption": ballot.presumption_applies,
                    "since": str(ballot.presumption_since or ""),
                }
            )
        for unit in found.units:
            line = unit_as_dict(unit, people=False)
            result.units.append({"project": project.code, **{k: line[k] for k in _UNIT_KEYS}})
    return result


@task(name="publish-consent-tally")
def publish(tallies: ConsentTallies) -> None:
    create_table_artifact(
        key=f"consent-tally-{tallies.corporation.lower()}",
        table=tallies.ballots,
        description=f"Consent tally at the end of {tallies.as_of} (counts per project and ballot)",
    )
    create_table_artifact(
        key=f"consent-units-{tallies.corporation.lower()}",
        table=tallies.units,
        description=f"Consent per unit at the end of {tallies.as_of} (unit codes, no names)",
    )


@flow(name="consent-tally")
def consent_tally_flow(corporation: str, on: date | None = None) -> ConsentTallies:
    """Compute and publish the consent tally of every consent project of the corporation."""
    tallies = tally(corporation, on)
    publish(tallies)
    return tallies
