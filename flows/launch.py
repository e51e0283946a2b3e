"""Run one job for a command: as a Prefect flow when a server is configured, else on its own.

With ``PREFECT_API_URL`` set (keukentafel/settings.py) a command runs the flow against that
server: the run is tracked, named (``sync-wsd-2026-12-06``) and tagged as the scheduled runs are
(flows/naming.py), and its report becomes artifacts there. Without one the command runs the same
job (flows/jobs.py) in this process, with no Prefect machinery at all: no temporary server to
start, nothing that can time out. Either way the caller gets the job's :class:`Outcome`.

On a server, Prefect's import and the flow run's start take about a second before the job runs
(README, "Benchmarks"). A sync begins reading its source in that second (:data:`BEGIN`, use case
``begin_sync``): a second process reads the ERP's relations on the other core while this one
starts Prefect. What it read waits for the flow's sync; if the flow does not come to read, the
App's close stops it. Beginning is a head start, not a step of the run: when it fails, the
command says so in one line and the flow reads as it always does (and meets the same problem,
which it then reports as the run's).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flows.jobs import FAILED, JOBS, Outcome, RunFailed
from flows.naming import tags_for

if TYPE_CHECKING:
    from keukentafel.bootstrap import App

#: The flow of each kind of run (module, function), imported only when a server is configured.
FLOWS = {
    "sync": ("flows.sync_register", "sync_register_flow"),
    "team": ("flows.team_contacts", "pull_team_contacts_flow"),
    "dispatch": ("flows.mailing", "dispatch_flow"),
    "mailing": ("flows.mailing", "mailing_flow"),
    "purge": ("flows.privacy", "purge_personal_data_flow"),
    "consent": ("flows.consent", "consent_tally_flow"),
    "feeds": ("flows.feeds", "feeds_flow"),
    "replies": ("flows.replies", "pull_replies_flow"),
}


#: What a kind of run can begin before Prefect's start: the App's method, given the corporation.
BEGIN = {"sync": "begin_sync"}

log = logging.getLogger(__name__)


def launch(job: str, app: App, corporation: str, **params: Any) -> Outcome[Any]:
    """Run the ``job`` (a kind of run: flows/naming.py) for ``corporation`` with ``params`` (the
    job's and the flow's keywords).

    An outage comes back as a ``Failed`` outcome with its ``error``; any other exception (a
    corporation file that is not valid, a bug) is raised."""
    if not app.settings.prefect_api_url:
        return JOBS[job](app, corporation, **params)
    _begin(job, app, corporation)
    return _on_prefect(job, corporation, params)


def _begin(job: str, app: App, corporation: str) -> None:
    method = BEGIN.get(job)
    if method is None:
        return
    try:
        getattr(app, method)(corporation)
    except Exception as exc:  # a head start only: the run reads as usual and reports the problem
        log.warning("%s for %s did not begin before Prefect's start (%s)", job, corporation, exc)


def _on_prefect(kind: str, corporation: str, params: dict[str, Any]) -> Outcome[Any]:
    import asyncio
    import importlib
    import inspect

    from prefect import tags
    from prefect.settings import get_current_settings

    from keukentafel.usecases.sync_register import SyncFailed

    module, name = FLOWS[kind]
    flow = getattr(importlib.import_module(module), name)
    with tags(*tags_for(kind, corporation)):
        state = flow(corporation, **params, return_state=True)
        if inspect.iscoroutine(state):  # an async flow (flows/sync_register.py says why)
            state = asyncio.run(state)
    ui = get_current_settings().ui_url or str(get_current_settings().api.url or "")
    where = f"{ui.rstrip('/')}/runs/flow-run/{state.state_details.flow_run_id}"
    if state.is_completed():
        return Outcome(kind, corporation, state.result(), where=where)
    data = state.result(raise_on_failure=False)
    if isinstance(data, RunFailed):
        outcome: Outcome[Any] = data.outcome
        outcome.where = f"{where} (or {outcome.where})" if outcome.where else where
        return outcome
    if isinstance(data, SyncFailed):
        message = f"sync failed: {data}"
        return Outcome(kind, corporation, state=FAILED, message=message, error=data, where=where)
    if isinstance(data, BaseException):
        raise data
    return Outcome(
        kind, corporation, state=FAILED, message=state.message or state.name, where=where
    )
