"""Reading a list of scanned consent forms (CSV or XLSX) for the consent import (I/O).

``read_form_file(path)`` gives the use case (keukentafel/usecases/consent_import.py) each row's
known columns as text, with what it could not take as a value:

- the header is the first non-empty row; its cells are matched to our fields by name, English or
  Dutch (``unit``/``vhe``, ``party``/``relatie``, ``answer``/``antwoord``, ``package``/``pakket``,
  ``date``/``datum``, ``time``/``tijd``, ``channel``/``kanaal``, ``scan``/``bestand``,
  ``sha256``); other columns (a name someone added) are not read, only listed;
- an XLSX **formula cell is not a value**: the workbook is read with its formulas (not the
  cached results, which may be missing or stale), and a row with a formula in a known column is
  kept aside with that reason, never read as what the formula last showed;
- the scan named in a row is looked up by its file name in the scans folder (by default the
  form file's own folder) and its SHA-256 taken; a given ``sha256`` must match the file. A name
  with a folder in it is refused (the list cannot point the reader elsewhere).

Problems with the file as a whole (not CSV/XLSX, no header with unit, answer and date) raise
``FormFileError``, naming the file; nothing is read from it then.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from keukentafel.config import ConfigError
from keukentafel.domain.consent import Evidence
from keukentafel.usecases.consent_import import FormFile, FormRow

#: Our field and the header texts that mean it (compared case-insensitively, spaces folded).
FIELDS: dict[str, tuple[str, ...]] = {
    "unit": ("unit", "unit code", "vhe", "eenheid"),
    "party": ("party", "parties", "relation", "relatie"),
    "answer": ("answer", "antwoord"),
    "package": ("package", "pakket"),
    "date": ("date", "datum"),
    "time": ("time", "tijd"),
    "channel": ("channel", "kanaal"),
    "scan": ("scan", "file", "bestand"),
    "sha256": ("sha256", "sha-256"),
}
REQUIRED = ("unit", "answer", "date")


class FormFileError(ConfigError):
    """The form file cannot be read at all; the message names the file and why (a ConfigError,
    as for an ERP export that cannot be read: the entry points print it as such)."""


def _key(value: object) -> str:
    return " ".join(str(value or "").replace("\ufeff", "").split()).casefold()


_BY_HEADER = {alias: field for field, aliases in FIELDS.items() for alias in aliases}


def read_form_file(path: Path, scans: Path | None = None) -> FormFile:
    """The rows of a form file, each with its scan's evidence (see the module docstring)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormFileError(f"{path}: cannot read ({exc.strerror})") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _csv_records(path, data)
    elif suffix in {".xlsx", ".xlsm"}:
        records = _xlsx_records(path, data)
    else:
        raise FormFileError(f"{path}: a form list is a .csv or .xlsx file")
    rows, ignored = _rows(path, records, scans or path.parent)
    return FormFile(path.name, hashlib.sha256(data).hexdigest(), tuple(rows), ignored)


Record = tuple[int, Sequence[Any], Sequence[str]]  # row number, values, formula columns


def _csv_records(path: Path, data: bytes) -> Iterator[Record]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FormFileError(f"{path}: not UTF-8 text; save the list as CSV UTF-8") from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", ",", "\t"), key=first.count)
    for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)):
        yield number + 1, cells, ()


def _xlsx_records(path: Path, data: bytes) -> Iterator[Record]:
    from openpyxl import load_workbook  # heavy import, only for XLSX files

    try:
        # data_only=False: a formula cell shows its formula, so it is seen and kept aside.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises zipfile, KeyError or its own errors alike
        raise FormFileError(
            f"{path}: not a readable XLSX workbook ({type(exc).__name__})"
        ) from None
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            values = [getattr(cell, "value", None) for cell in cells]
            formulas = [
                str(i) for i, cell in enumerate(cells) if getattr(cell, "data_type", "") == "f"
            ]
            yield number, values, formulas
    finally:
        workbook.close()


def _rows(
    path: Path, records: Iterator[Record], scans: Path
) -> tuple[list[FormRow], tuple[str, ...]]:
    header: dict[int, str] | None = None
    ignored: tuple[str, ...] = ()
    rows: list[FormRow] = []
    for number, values, formulas in records:
        if not any(_key(v) for v in values):
            continue
        if header is None:
            header, ignored = _header(path, values)
            continue
        rows.append(_row(number, values, formulas, header, scans))
    if header is None:
        raise FormFileError(f"{path}: empty; expected a header with {', '.join(REQUIRED)}")
    return rows, ignored


def _header(path: Path, values: Sequence[Any]) -> tuple[dict[int, str], tuple[str, ...]]:
    header: dict[int, str] = {}
    ignored: list[str] = []
    for index, value in enumerate(values):
        field = _BY_HEADER.get(_key(value))
        if field is None:
            if _key(value):
                ignored.append(str(value).strip())
        elif field in header.values():
            raise FormFileError(f"{path}: two columns mean {field}")
        else:
            header[index] = field
    missing = [f for f in REQUIRED if f not in header.values()]
    if missing:
        raise FormFileError(
            f"{path}: the first row is not a header with {', '.join(REQUIRED)} "
            f"(missing: {', '.join(missing)})"
        )
    return header, tuple(ignored)


def _row(
    number: int,
    values: Sequence[Any],
    formulas: Sequence[str],
    header: dict[int, str],
    scans: Path,
) -> FormRow:
    cells: dict[str, str] = {}
    problems: list[str] = []
    for index, field in header.items():
        if str(index) in formulas:
            problems.append(f"{field}: a formula, not a value (type the value in the cell)")
            continue
        cells[field] = _text(values[index] if index < len(values) else None)
    evidence = None
    if not problems and cells.get("scan"):
        try:
            evidence = _evidence(cells["scan"], cells.get("sha256", ""), scans)
        except ValueError as error:
            problems.append(str(error))
    return FormRow(number, cells, tuple(problems), evidence)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        midnight = value.time() == time(0)
        return value.date().isoformat() if midnight else value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _evidence(name: str, given: str, scans: Path) -> Evidence:
    """The scan's name and SHA-256: from the file in ``scans``, checked against a given one."""
    if Path(name).name != name or name in {".", ".."}:
        raise ValueError(f"scan: {name!r} must be a file name, without a folder")
    given = given.strip().lower()
    found = scans / name
    if found.is_file():
        digest = hashlib.sha256(found.read_bytes()).hexdigest()
        if given and given != digest:
            raise ValueError(f"scan: {name} does not have the SHA-256 the list gives")
        return Evidence(name, digest)
    if given:
        return Evidence(name, given)  # Evidence checks it is a SHA-256
    raise ValueError(f"scan: {name} is not in {scans.name or scans}; give its sha256 or the file")
