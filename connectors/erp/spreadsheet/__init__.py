"""The spreadsheet source of the resident register: an ERP export (CSV or XLSX) to a Snapshot.

- :mod:`.read`: reading the file and matching its headers (I/O), and ``read_snapshot``;
- :mod:`.mapping`: the pure ``snapshot_from_rows``.

Re-exports the public names of the former ``connectors/erp/spreadsheet.py`` so that imports keep
working while the branches of issue 8 are merged.
"""

from __future__ import annotations

from connectors.erp.spreadsheet.mapping import (
    ROW_ERROR,
    ROW_NUMBER,
    SOURCE,
    UnitResult,
    derived_lease_id,
    derived_relation_id,
    role_from_text,
    snapshot_from_rows,
    tenure_from_text,
)
from connectors.erp.spreadsheet.read import SpreadsheetError, read_rows, read_snapshot

__all__ = [
    "ROW_ERROR",
    "ROW_NUMBER",
    "SOURCE",
    "SpreadsheetError",
    "UnitResult",
    "derived_lease_id",
    "derived_relation_id",
    "read_rows",
    "read_snapshot",
    "role_from_text",
    "snapshot_from_rows",
    "tenure_from_text",
]
