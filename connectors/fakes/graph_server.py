"""Deprecated: the fake Microsoft 365 tenant moved to :mod:`connectors.fakes.m365`.

This shim keeps ``from connectors.fakes.graph_server import FakeMicrosoft365`` working while the
other branches of issue 8 merge; the integrator removes it afterwards. Import from
``connectors.fakes.m365`` instead.
"""

from __future__ import annotations

from connectors.fakes._server import LoggedRequest
from connectors.fakes.m365 import FakeMicrosoft365, FaultRule
from connectors.fakes.m365 import GraphFaults as Faults
from connectors.fakes.m365.odata import GraphRequestError

__all__ = ["FakeMicrosoft365", "FaultRule", "Faults", "GraphRequestError", "LoggedRequest"]
