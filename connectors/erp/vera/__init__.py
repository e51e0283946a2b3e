"""The VERA connector: a corporation's ERP register over VERA REST.

- :mod:`.client`: the HTTP client (auth, paging, retries through :mod:`connectors.http`);
- :mod:`.snapshot`: reading units, relations and agreements into a register ``Snapshot``, with the
  page memo that skips unchanged pages;
- :mod:`.mapping`: the pure mapping of one VERA item to a domain value.

Re-exports the public names of the former ``connectors/erp/vera.py`` that other modules use, so
their imports keep working while the branches of issue 8 are merged.
"""

from __future__ import annotations

from connectors.erp.vera.client import (
    AGREEMENTS,
    RELATIONS,
    UNITS,
    Page,
    SnapshotIncomplete,
    VeraClient,
    VeraError,
    VeraRequestError,
    cluster_params,
    parse_page,
)
from connectors.erp.vera.snapshot import PageSummaries, page_key, read_snapshot

__all__ = [
    "AGREEMENTS",
    "RELATIONS",
    "UNITS",
    "Page",
    "PageSummaries",
    "SnapshotIncomplete",
    "VeraClient",
    "VeraError",
    "VeraRequestError",
    "cluster_params",
    "page_key",
    "parse_page",
    "read_snapshot",
]
