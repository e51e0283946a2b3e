"""Flow: the retention purge of one corporation (personal data leaves on time, AVG).

One task runs the purge (keukentafel/usecases/privacy.py through the process's App), one
publishes what it removed: a table of counts per kind and a table of the unit codes purged and
kept, never a name. The purge records itself in the audit log. Re-running it removes nothing
more. It is scheduled daily at ``PURGE_CRON`` (Europe/Amsterdam), before the register sync, so
the sync never sees the units of a project that just became due (see flows/deployments.py).
"""

from __future__ import annotations

import re
from datetime import date

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from keukentafel.bootstrap import current_app
from keukentafel.usecases.privacy import PurgeReport

#: Every day at 05:30 Amsterdam time: before the 06:00 register sync.
PURGE_CRON = "30 5 * * *"


def artifact_key(corporation: str, what: str) -> str:
    """A Prefect artifact key (lower-case letters, digits, dashes) carrying the corporation."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{what}-{corporation}".lower()).strip("-")


@task(name="purge-personal-data")
def purge(corporation: str, on: date, started_by: str) -> PurgeReport:
    return current_app().purge_personal_data(corporation, on=on, actor=started_by)


@task(name="publish-purge-report")
def publish(report: PurgeReport) -> None:
    create_table_artifact(
        key=artifact_key(report.corporation_code, "purge-counts"),
        table=[*report.count_rows(), {"what": "units", "removed": len(report.units)}],
        description=(
            f"Purge of {report.corporation_code} on {report.on}: personal data removed per kind; "
            f"projects due: {', '.join(c for c, _ in report.due_projects) or 'none'}"
        ),
    )
    units = [{"unit": code, "state": "purged"} for code in report.units]
    units += [{"unit": code, "state": "kept: shared with a project"} for code in report.kept_units]
    if units:
        create_table_artifact(
            key=artifact_key(report.corporation_code, "purge-units"),
            table=units,
            description="Units whose personal data this purge removed, and units it kept",
        )


@flow(name="purge-personal-data")
def purge_personal_data_flow(
    corporation: str, on: date | None = None, started_by: str | None = None
) -> PurgeReport:
    """Remove the personal data of the corporation's projects whose retention has passed."""
    report = purge(corporation, on or date.today(), started_by or f"prefect:{flow_run.id}")
    publish(report)
    return report
