"""The fake Microsoft 365 tenant (Entra ID and Graph), split by resource as ``connectors/m365/`` is.

``server`` (routing, the token check), ``entra`` (authority, tokens, AADSTS errors), ``sharepoint``
(lists, delta), ``drives`` (files, downloads), ``mail`` (sendMail, drafts, upload sessions),
``calendar``, ``batch`` (``$batch``), ``odata`` (errors, paging, ``$select``/``$filter``),
``faults`` (Graph's faults) and ``state`` (the tenant's data). Import from here.
"""

from __future__ import annotations

from connectors.fakes.m365.faults import FaultRule, GraphCall, GraphFaults
from connectors.fakes.m365.server import FakeMicrosoft365
from connectors.fakes.m365.state import FakeM365State

__all__ = ["FakeM365State", "FakeMicrosoft365", "FaultRule", "GraphCall", "GraphFaults"]
