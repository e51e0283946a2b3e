"""What a flow does with a job's outcome (flows/jobs.py): artifacts, and the run's final state.

:func:`finish` publishes the report as Prefect artifacts and returns what the flow returns: the
value when the run completed; a ``Failed`` state (named ``Refused`` for a refused sync) with the
cause as its message when it did not, carrying :class:`~flows.jobs.RunFailed` so that the caller
still gets the whole outcome; an outage's exception is raised again (a plain failed run).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_table_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.runtime import flow_run
from prefect.states import Failed

from flows.jobs import Outcome, RunFailed
from flows.naming import run_name


def _artifacts(outcome: Outcome[Any]) -> Iterator[tuple[bool, dict[str, Any]]]:
    """Each artifact of the report: whether it is a table, and the keywords that create it."""
    for artifact in outcome.artifacts:
        common = {"key": artifact.key, "description": artifact.description}
        if artifact.table is not None:
            yield True, {**common, "table": artifact.table}
        else:
            yield False, {**common, "markdown": artifact.markdown or ""}


def publish(outcome: Outcome[Any]) -> None:
    for table, made in _artifacts(outcome):
        create = create_table_artifact if table else create_markdown_artifact
        create(**made)


async def apublish(outcome: Outcome[Any]) -> None:
    """:func:`publish` from an async flow (Prefect's artifact calls return coroutines there)."""
    for table, made in _artifacts(outcome):
        create = acreate_table_artifact if table else acreate_markdown_artifact
        await create(**made)


def finish(outcome: Outcome[Any]) -> Any:
    """Publish the report; the flow's return value or final state (see the module)."""
    publish(outcome)
    return _ending(outcome)


async def afinish(outcome: Outcome[Any]) -> Any:
    """:func:`finish` from an async flow."""
    await apublish(outcome)
    return _ending(outcome)


def _ending(outcome: Outcome[Any]) -> Any:
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
