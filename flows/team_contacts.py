"""Flow: pull the guidance team's contact list (SharePoint list or Excel file) from Microsoft 365.

One task for the pull (read, store, merge, record), one for the operator report: counts, and the
conflicts and unmatched rows with unit codes and fields, never names or values. Which lists are
read is the corporation file's ``m365`` section, chosen by the process's App.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from flows.results import TeamPullSummary
from keukentafel.bootstrap import current_app


@task(name="pull-team-contacts")
def pull(corporation: str, on: date | None = None) -> TeamPullSummary:
    reports = current_app().pull_team_contacts(corporation, on or date.today())
    return TeamPullSummary.of(reports)


@task(name="publish-team-contacts-report")
def publish(result: TeamPullSummary) -> None:
    rows = [
        {"source": source, "what": what, "count": count}
        for source, counts in result.counts.items()
        for what, count in counts.items()
    ]
    create_table_artifact(
        key="team-contacts-counts", table=rows, description="Team contact list pull"
    )
    if result.findings:
        create_table_artifact(
            key="team-contacts-findings",
            table=[asdict(f) for f in result.findings],
            description="Conflicts (the ERP value is kept) and rows that fit no household",
        )


@flow(name="pull-team-contacts")
def pull_team_contacts_flow(corporation: str) -> TeamPullSummary:
    """Read the team's lists, store them apart from the ERP register, report what does not fit."""
    result = pull(corporation)
    publish(result)
    return result
