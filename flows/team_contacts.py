"""Flow: pull the guidance team's contact list (SharePoint list or Excel file) from Microsoft 365.

The work is the ``team`` job (flows/jobs.py): read, store, merge, record; the report holds
counts, and the conflicts and unmatched rows with unit codes and fields, never names or values.
Rows that fit no household end the run ``Failed`` (a conflict, where the ERP's value is kept,
does not). Which lists are read is the corporation file's ``m365`` section.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flows import jobs
from flows.decorator import flow
from flows.publish import finish, named
from keukentafel.bootstrap import current_app


@flow(name="pull-team-contacts", flow_run_name=named("team"))
def pull_team_contacts_flow(corporation: str, on: date | None = None) -> Any:
    """Read the team's lists, store them apart from the ERP register, report what does not fit."""
    return finish(jobs.team(current_app(), corporation, on=on))
