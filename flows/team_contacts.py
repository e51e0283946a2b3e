"""Flow: pull the guidance team's contact list (SharePoint list or Excel file) from Microsoft 365.

One task for the pull (read, store, merge, record), one for the operator report: counts, and the
conflicts and unmatched rows with unit codes and fields, never names or values.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from keukentafel.bootstrap import (
    GraphConnection,
    SharePointListSource,
    WorkbookSource,
    load_corporation,
    m365_config,
    open_store,
)
from keukentafel.settings import Settings
from keukentafel.usecases.team_contacts import TeamContactSource, pull_team_contacts


@task(name="pull-team-contacts")
def pull(config_path: str, on: date | None = None) -> dict[str, Any]:
    settings = Settings.from_env()
    config = load_corporation(config_path)
    graph = GraphConnection(m365_config(config, config_path), os.environ)
    sources: list[TeamContactSource] = []
    if graph.config.contact_list:
        sources.append(SharePointListSource(graph))
    if graph.config.contact_workbook:
        sources.append(WorkbookSource(graph))
    sessions = open_store(settings.database_url)
    result: dict[str, Any] = {"counts": {}, "findings": []}
    try:
        for source in sources:
            report = pull_team_contacts(
                sessions,
                config.corporation.code,
                source,
                on=on or date.today(),
                complexes=config.complexes(),
            )
            result["counts"][source.name] = report.counts
            result["findings"] += [
                {
                    "source": source.name,
                    "unit_code": r.unit_code,
                    "reason": r.reason.value,
                    "detail": r.detail,
                }
                for r in report.rejected
            ]
    finally:
        graph.close()
    return result


@task(name="publish-team-contacts-report")
def publish(result: dict[str, Any]) -> None:
    rows = [
        {"source": source, "what": what, "count": count}
        for source, counts in result["counts"].items()
        for what, count in counts.items()
    ]
    create_table_artifact(
        key="team-contacts-counts", table=rows, description="Team contact list pull"
    )
    if result["findings"]:
        create_table_artifact(
            key="team-contacts-findings",
            table=result["findings"],
            description="Conflicts (the ERP value is kept) and rows that fit no household",
        )


@flow(name="pull-team-contacts")
def pull_team_contacts_flow(config_path: str) -> dict[str, Any]:
    """Read the team's lists, store them apart from the ERP register, report what does not fit."""
    result = pull(config_path)
    publish(result)
    return result
