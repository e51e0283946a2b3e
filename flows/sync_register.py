"""Flow: sync the resident register of one corporation from its source (VERA or a spreadsheet).

The work is the ``sync`` job (flows/jobs.py: fetch, validate, diff, apply in one transaction);
this flow names the run (``sync-wsd-2026-12-06``), publishes the job's report as artifacts
(counts per change kind, the rows kept aside: unit codes and reasons, never names) and ends in
the state the job says: ``Completed``; ``Failed`` when rows were kept aside (the rest applied);
``Refused`` when the shrink guard or a running sync stopped it (nothing changed); a plain failed
run when the source could not deliver. Retries live in the HTTP client, not here.

The flow is ``async`` (the job itself runs as before, in the flow's thread): Prefect's engine for
synchronous flows ends every run by joining its heartbeat thread, which sleeps in one-second
steps, so each sync waited up to a second after it had finished; the asynchronous engine does
not wait (measured in README, "Benchmarks"). Call it as ``asyncio.run(sync_register_flow(...))``
or through flows/launch.py.
"""

from __future__ import annotations

from typing import Any

from flows import jobs
from flows.decorator import flow
from flows.publish import afinish, named
from flows.results import SyncSummary
from keukentafel.bootstrap import current_app

__all__ = ["SyncSummary", "sync_register_flow"]


@flow(name="sync-register", flow_run_name=named("sync"), log_prints=False)
async def sync_register_flow(
    corporation: str, show_progress: bool = False, max_shrink: float | None = None
) -> Any:
    """Pull the register of one corporation (by its code) and apply what changed.

    ``max_shrink`` overrides the corporation file's shrink guard for this run (recorded in the
    run)."""
    return await afinish(
        jobs.sync(current_app(), corporation, show_progress=show_progress, max_shrink=max_shrink)
    )
