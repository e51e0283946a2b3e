"""The register export as files: JSON, CSV and XLSX (``keukentafel register --format``).

Writers for :class:`~keukentafel.usecases.register_export.RegisterExport`; every field is
described in ``docs/register.md``. JSON keeps the structure (units with their parties). CSV and
XLSX are tables in the shape of an ERP export: one row per party per unit (a unit without parties
is one row), with ``record`` = ``unit``; CSV adds the rows kept aside with ``record`` =
``kept_aside``, XLSX puts them on a sheet of their own.

CSV and XLSX are opened in spreadsheet programs, so no cell may start a formula: a text that
starts with ``=``, ``+``, ``-``, ``@``, a tab, CR or LF gets a leading apostrophe (OWASP's advice
for CSV injection), and every XLSX cell is written as a string cell, never as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from keukentafel.usecases.register_export import ExportedParty, ExportedUnit, RegisterExport

FORMATS = ("table", "json", "csv", "xlsx")
MAX_ADDRESS_LINES = 6  # PostNL: at most six lines in an address block
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")

UNIT_COLUMNS = [
    "record",
    "unit_code",
    "erp_id",
    "complex",
    "tenure",
    "postally_complete",
    *(f"address_line_{n}" for n in range(1, MAX_ADDRESS_LINES + 1)),
    "lease_id",
    "relation_id",
    "role",
    "role_start",
    "role_end",
    "in_household",
    "contact_problems",
]
KEPT_ASIDE_COLUMNS = ["entity", "source_id", "reason", "detail"]
CSV_COLUMNS = [*UNIT_COLUMNS, *KEPT_ASIDE_COLUMNS]


def safe_cell(value: str) -> str:
    """A text a spreadsheet program shows as text: a leading formula character is escaped."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# --- JSON ----------------------------------------------------------------------------------------


def export_data(export: RegisterExport) -> dict[str, Any]:
    """The export as JSON-ready data (dates as ISO text)."""
    last = export.last_sync
    return {
        "corporation": export.corporation_code,
        "on": export.on.isoformat(),
        "last_sync": None
        if last is None
        else {
            "run_id": last.run_id,
            "source": last.source,
            "outcome": last.outcome,
            "started_at": last.started_at.isoformat() + "Z",
        },
        "units": [_unit_data(unit) for unit in export.units],
        "kept_aside": [
            {
                "entity": row.entity,
                "unit_code": row.unit_code,
                "source_id": row.source_id,
                "reason": row.reason,
                "detail": row.detail,
            }
            for row in export.kept_aside
        ],
        "out_of_scope": dict(export.out_of_scope),
    }


def _unit_data(unit: ExportedUnit) -> dict[str, Any]:
    return {
        "unit_code": unit.code,
        "erp_id": unit.erp_id,
        "complex": unit.complex_code,
        "tenure": unit.tenure,
        "postally_complete": unit.postally_complete,
        "address_lines": list(unit.address_lines),
        "parties": [
            {
                "lease_id": p.lease_id,
                "relation_id": p.relation_id,
                "role": p.role.value,
                "role_start": _iso(p.start_date),
                "role_end": _iso(p.end_date),
                "in_household": p.in_household,
            }
            for p in unit.parties
        ],
        "contact_problems": [
            {"relation_id": c.relation_id, "kind": c.kind.value, "problem": c.problem}
            for c in unit.contact_problems
        ],
    }


def to_json(export: RegisterExport) -> str:
    return json.dumps(export_data(export), ensure_ascii=False, indent=2) + "\n"


# --- tables --------------------------------------------------------------------------------------


def unit_rows(export: RegisterExport) -> Iterator[dict[str, str]]:
    """One row per party per unit (one row for a unit without parties), as text."""
    for unit in export.units:
        lines = list(unit.address_lines)[:MAX_ADDRESS_LINES]
        base = {
            "record": "unit",
            "unit_code": unit.code,
            "erp_id": unit.erp_id,
            "complex": unit.complex_code,
            "tenure": unit.tenure,
            "postally_complete": "yes" if unit.postally_complete else "no",
            **{f"address_line_{n}": line for n, line in enumerate(lines, start=1)},
        }
        parties: list[ExportedParty | None] = list(unit.parties) or [None]
        for party in parties:
            row = dict(base)
            if party is not None:
                problems = [
                    f"{c.kind.value}: {c.problem}"
                    for c in unit.contact_problems
                    if c.relation_id == party.relation_id
                ]
                row.update(
                    lease_id=party.lease_id,
                    relation_id=party.relation_id,
                    role=party.role.value,
                    role_start=_iso(party.start_date) or "",
                    role_end=_iso(party.end_date) or "",
                    in_household="yes" if party.in_household else "no",
                    contact_problems="; ".join(problems),
                )
            yield row


def kept_aside_rows(export: RegisterExport) -> Iterator[dict[str, str]]:
    for row in export.kept_aside:
        yield {
            "record": "kept_aside",
            "unit_code": row.unit_code,
            "entity": row.entity,
            "source_id": row.source_id,
            "reason": row.reason,
            "detail": row.detail,
        }


def to_csv(export: RegisterExport) -> str:
    """The export as one CSV table (``;``-separated, as Dutch spreadsheet programs expect)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    for row in (*unit_rows(export), *kept_aside_rows(export)):
        writer.writerow({key: safe_cell(value) for key, value in row.items()})
    return out.getvalue()


def write_xlsx(export: RegisterExport, path: Path) -> None:
    """Two sheets: ``register`` (the unit rows) and ``kept aside``; every cell a string cell."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "register"
    _fill(sheet, UNIT_COLUMNS, unit_rows(export))
    _fill(
        book.create_sheet("kept aside"), ["unit_code", *KEPT_ASIDE_COLUMNS], kept_aside_rows(export)
    )
    book.save(path)


def _fill(sheet: Any, columns: list[str], rows: Iterator[dict[str, str]]) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # XML 1.0 has no place for them

    for number, name in enumerate(columns, start=1):
        sheet.cell(row=1, column=number).value = name
    for row_number, row in enumerate(rows, start=2):
        for number, name in enumerate(columns, start=1):
            value = row.get(name, "")
            if not value:
                continue
            cell = sheet.cell(row=row_number, column=number)
            cell.value = safe_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
            cell.data_type = "s"  # text, even when it looks like a formula or a number
