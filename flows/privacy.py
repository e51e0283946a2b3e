"""Flow: the retention purge of one corporation (personal data leaves on time, AVG).

The work is the ``purge`` job (flows/jobs.py, through keukentafel/usecases/privacy.py); the flow
publishes what it removed: a table of counts per kind (``purge-<code>-counts``) and a table of
the unit codes purged and kept (``purge-<code>-units``), never a name. The purge records itself
in the audit log. Re-running it removes nothing more. It is scheduled daily at ``PURGE_CRON``
(Europe/Amsterdam), before the register sync, so the sync never sees the units of a project that
just became due (see flows/deployments.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flows import jobs, publish
from flows.decorator import flow
from keukentafel.bootstrap import current_app

#: Every day at 05:30 Amsterdam time: before the 06:00 register sync.
PURGE_CRON = "30 5 * * *"


@flow(name="purge-personal-data", flow_run_name=publish.named("purge"))
def purge_personal_data_flow(
    corporation: str, on: date | None = None, started_by: str | None = None
) -> Any:
    """Remove the personal data of the corporation's projects whose retention has passed."""
    return publish.finish(
        jobs.purge(current_app(), corporation, on=on, started_by=publish.started_by(started_by))
    )
