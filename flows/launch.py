"""Run one job for a command: as a Prefect flow when a server is configured, else on its own.

With ``PREFECT_API_URL`` set (keukentafel/settings.py) a command runs the flow against that
server: the run is tracked, named (``sync-wsd-2026-12-06``) and tagged as the scheduled runs are
(flows/naming.py), and its report becomes artifacts there. Without one the command runs the same
job (flows/jobs.py) in this process, with no Prefect machinery at all: no temporary server to
start, nothing that can time out. Either way the caller gets the job's :class:`Outcome`.
"""

from __future__ import annotations

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


def launch(job: str, app: App, corporation: str, **params: Any) -> Outcome[Any]:
    """Run the ``job`` (a kind of run: flows/naming.py) for ``corporation`` with ``params`` (the
    job's and the flow's keywords).

    An outage comes back as a ``Failed`` outcome with its ``error``; any other exception (a
    corporation file that is not valid, a bug) is raised."""
    if not app.settings.prefect_api_url:
        return JOBS[job](app, corporation, **params)
    return _on_prefect(job, corporation, params)


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
