"""The ``source.spreadsheet`` section: an ERP export (CSV or XLSX) and its column mapping.

The field names a mapping may use are listed in ``keukentafel.domain.spreadsheet_fields``, which
the spreadsheet connector shares; they are re-exported here so configuration is read from one
place (the connector's own modules are being reshaped at the same time, so that file stays put).
"""

from __future__ import annotations

from pydantic import field_validator

from keukentafel.config.base import _Model
from keukentafel.domain.spreadsheet_fields import REQUIRED_FIELDS, SPREADSHEET_FIELDS

__all__ = ["REQUIRED_FIELDS", "SPREADSHEET_FIELDS", "SpreadsheetConfig"]


class SpreadsheetConfig(_Model):
    """An ERP export: one row per tenant (or co-tenant) per unit; vacant units have no name.

    ``columns`` maps our field names to the export's column headers, e.g.
    ``unit_code: "VHE-nummer"``. Unknown field names are rejected on load.
    """

    path: str
    sheet: str | None = None  # XLSX only; the first sheet when empty
    delimiter: str = ";"
    encoding: str = "utf-8-sig"
    date_format: str = "%d-%m-%Y"
    columns: dict[str, str]

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - SPREADSHEET_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(SPREADSHEET_FIELDS))}"
            )
        missing = sorted(REQUIRED_FIELDS - set(value))
        if missing:
            raise ValueError(f"missing required field(s) {', '.join(missing)}")
        return value
