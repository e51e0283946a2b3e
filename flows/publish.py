"""What a flow does with a job's outcome (flows/jobs.py): artifacts, and the run's final state.

:func:`finish` publishes the report as Prefect artifacts and returns what the flow returns: the
value when the run completed; a ``Failed`` state (named ``Refused`` for a refused sync) with the
cause as its message when it did not, carrying :class:`~flows.jobs.RunFailed` so that the caller
still gets the whole outcome; an outage's exception is raised again (a plain failed run).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from prefect.states import Failed

from flows.jobs import Outcome, RunFailed
from flows.naming import run_name


def publish(outcome: Outcome[Any]) -> None:
    for artifact in outcome.artifacts:
        if artifact.table is not None:
            create_table_artifact(
                key=artifact.key, table=artifact.table, description=artifact.description
            )
        else:
            create_markdown_artifact(
                key=artifact.key,
                markdown=artifact.markdown or "",
                description=artifact.description,
            )


def finish(outcome: Outcome[Any]) -> Any:
    """Publish the report; the flow's return value or final state (see the module)."""
    publish(outcome)
    if outcome.error is not None:
        raise outcome.error
    if outcome.ok:
        return outcome.value
    return Failed(name=outcome.state, message=outcome.message, data=RunFailed(outcome))


def started_by(given: str | None) -> str:
    """Who started the run: as given, else this flow run (``prefect:<id>``)."""
    return given or f"prefect:{flow_run.id}"


def named(kind: str, *what: str) -> Any:
    """A ``flow_run_name`` for ``@flow``: ``<kind>-<corporation>[-<what>...]-<date>``, where
    each of ``what`` names a parameter of the flow whose value goes into the name."""

    def name() -> str:
        parameters = flow_run.parameters
        on = parameters.get("on")
        if isinstance(on, str):
            on = date.fromisoformat(on[:10])
        return run_name(
            kind,
            str(parameters.get("corporation", "")),
            *(str(parameters.get(p) or "") for p in what),
            on=on if isinstance(on, date) else None,
        )

    return name
