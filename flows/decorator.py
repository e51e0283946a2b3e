"""``@flow`` for Keukentafel's flows: Prefect's own ``Flow``, one step lighter at the start.

A flow run's parameters are stored on the server as JSON. Prefect makes them JSON-safe with
FastAPI's ``jsonable_encoder``, and importing it imports FastAPI as a whole (its application,
routing and OpenAPI models): 0.18-0.29 s on this machine, in every command that runs a flow on
a Prefect server, before the flow's first line (measured in README, "Seventh round"). Nothing
else in such a command uses FastAPI.

Our flows take a corporation's code, a project's code, a kind, a flag or a number: values that
are JSON already and that ``jsonable_encoder`` returns as they are. :class:`PlainParametersFlow`
stores those as they are and hands anything else (a list, a date, a model) to Prefect's own
encoding, so what the server stores is the same either way
(tests/unit/test_flow_decorator.py compares them; tests/e2e/test_flows.py reads them back
from a server).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import Flow

P = ParamSpec("P")
R = TypeVar("R")

#: Parameter values that are JSON as they are (exactly these types: not subclasses such as an
#: enum member of str, which Prefect's encoding turns into its value).
PLAIN = (str, int, float, bool, type(None))


class PlainParametersFlow(Flow[P, R]):
    """A Prefect flow whose plain parameters (:data:`PLAIN`) are stored without FastAPI."""

    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        if all(type(value) in PLAIN for value in parameters.values()):
            return dict(parameters)
        return super().serialize_parameters(parameters)


def flow(**options: Any) -> Callable[[Callable[P, R]], Flow[P, R]]:
    """``prefect.flow(**options)`` made a :class:`PlainParametersFlow`: the same options (name,
    flow_run_name, log_prints, ...), the same flow."""

    def decorate(fn: Callable[P, R]) -> Flow[P, R]:
        return PlainParametersFlow(fn, **options)

    return decorate
