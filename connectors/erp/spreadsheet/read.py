"""Reading an ERP export (CSV or XLSX) as rows of text keyed by our field names (I/O).

``read_rows`` opens the file named in ``SpreadsheetConfig``, checks that every mapped column
header is there *before* any row is read, and yields each row as text keyed by our field names
(``keukentafel.domain.spreadsheet_fields``) plus its row number (``ROW_NUMBER``), counted as a
spreadsheet program does (blank lines count; a title line above the header is allowed). The header
row is found by the shared :func:`connectors.sheets.find_header`; XLSX sheets are opened by
:func:`connectors.sheets.open_sheet`. ``read_snapshot`` reads and maps in one call.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from connectors.erp.spreadsheet.mapping import (
    ROW_ERROR,
    ROW_FORMULA,
    ROW_NUMBER,
    snapshot_from_rows,
)
from connectors.sheets import (
    DuplicateHeader,
    FormulaCell,
    Header,
    HeaderNotFound,
    SheetError,
    find_header,
    open_sheet,
)
from keukentafel.config import ConfigError, SpreadsheetConfig
from keukentafel.domain.register.snapshot import Snapshot

log = logging.getLogger(__name__)

_DATE_FIELDS = frozenset({"lease_start", "lease_end", "role_start", "role_end"})
#: How many non-empty rows may stand above the header (a report title, an export date).
_HEADER_SCAN_ROWS = 10


class SpreadsheetError(ConfigError):
    """The export file cannot be read as configured; the message names the file and the problem."""


def read_snapshot(
    config: SpreadsheetConfig,
    complexes: list[str] | None,
    *,
    today: date | None = None,
) -> Snapshot:
    """Read the export named in the config and map it to a Snapshot (source "spreadsheet")."""
    snapshot = snapshot_from_rows(
        read_rows(config),
        complexes,
        date_format=config.date_format,
        today=today,
        columns=config.columns,
    )
    log.info(
        "spreadsheet %s: %d units, %d residents, %d leases, %d rows kept aside, %d out of scope",
        Path(config.path).name,
        len(snapshot.units),
        len(snapshot.residents),
        len(snapshot.leases),
        len(snapshot.rejected),
        snapshot.out_of_scope,
    )
    return snapshot


def read_rows(config: SpreadsheetConfig) -> Iterator[dict[str, str]]:
    """The export's rows as text keyed by our field names, plus ``ROW_NUMBER``.

    Opens the file and finds its header row at once: the first row, among the first ten that are
    not empty, holding every mapped header (case and repeated spaces ignored). A missing header
    raises ``SpreadsheetError`` (a ``ConfigError``) naming the file and the header before any row
    is read; the error never echoes other cells. The rows follow lazily. Every mapped field is
    present in every row ("" when the cell is empty); rows whose cells are all empty are skipped.
    A CSV row with more filled cells than there are headers (a ``;`` inside an unquoted street
    name shifts every column after it) carries ``ROW_ERROR``.

    CSV: ``config.delimiter`` and ``config.encoding`` (default UTF-8 with or without BOM). A file
    that is not valid UTF-8 is read as Windows-1252 (what Excel on Windows writes) with a
    warning; a UTF-16 file (Excel's "Unicode text") is recognised by its BOM.
    XLSX: read-only through openpyxl, the named sheet or the first; numbers, dates and empty
    cells become text (``1234.0`` → ``1234``, dates → ISO ``2024-03-01``). A formula without a
    saved value (or with an Excel error saved) in a mapped column marks its row (``ROW_ERROR``
    naming the column, ``ROW_FORMULA``): the row is kept aside, never read as empty.
    """
    path = Path(config.path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise SpreadsheetError(
            f"{path}: the old Excel format .xls is not supported; save the export as .xlsx or CSV"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpreadsheetError(f"{path}: cannot read the export ({exc.strerror})") from None
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, data, config)
    return _read_csv(path, data, config)


# --- CSV ---------------------------------------------------------------------------------------


def _read_csv(path: Path, data: bytes, config: SpreadsheetConfig) -> Iterator[dict[str, str]]:
    text = _decode(path, data, config.encoding)
    records = enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=config.delimiter), 1)
    header = _header(path, records, config, delimiter=config.delimiter)
    return _csv_rows(records, header.width, header.positions)


def _csv_rows(
    records: Iterable[tuple[int, list[str]]],
    width: int,
    positions: dict[str, int],
) -> Iterator[dict[str, str]]:
    for number, record in records:
        row = {
            name: _csv_cell(record[i]) if i < len(record) else "" for name, i in positions.items()
        }
        extra = [cell for cell in record[width:] if cell.strip()]
        if not any(row.values()) and not extra:
            continue
        row[ROW_NUMBER] = str(number)
        if extra:
            row[ROW_ERROR] = (
                f"{len(record)} cells where the header has {width}; "
                "is there an unquoted delimiter in a cell?"
            )
        yield row


_EXCEL_TEXT = re.compile(r'^="(.*)"$')


def _csv_cell(value: str) -> str:
    """A CSV cell as text; ``="0612345678"`` (Excel's keep-as-text trick) loses its wrapper."""
    value = value.strip()
    if not value.startswith('="'):
        return value
    match = _EXCEL_TEXT.match(value)
    return match.group(1).strip() if match else value


def _decode(path: Path, data: bytes, encoding: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode(encoding)
    except LookupError:
        raise SpreadsheetError(
            f"{path}: unknown encoding {encoding!r} in the configuration"
        ) from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        if encoding.lower().replace("_", "-") not in {"utf-8", "utf8", "utf-8-sig", "utf8-sig"}:
            raise SpreadsheetError(
                f"{path}: line {line} is not valid {encoding}; check the export's encoding "
                "and set spreadsheet.encoding"
            ) from None
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise SpreadsheetError(
            f"{path}: line {line} is neither UTF-8 nor Windows-1252; "
            "set spreadsheet.encoding to the export's encoding"
        ) from None
    log.warning(
        "%s is not UTF-8 (first bad byte on line %d); read it as Windows-1252. "
        "Set spreadsheet.encoding: cp1252 to silence this warning",
        path,
        line,
    )
    return text


# --- XLSX --------------------------------------------------------------------------------------


def _read_xlsx(path: Path, data: bytes, config: SpreadsheetConfig) -> Iterator[dict[str, str]]:
    try:
        sheet = open_sheet(data, config.sheet)
    except SheetError as exc:
        raise SpreadsheetError(f"{path}: {exc}") from None
    try:
        texts = (
            (number, [_cell_text(v, "", sheet.epoch) for v in values])
            for number, values in sheet.rows
        )
        header = _header(path, texts, config, delimiter=None)
    except BaseException:
        sheet.close()
        raise
    return _xlsx_rows(sheet.rows, sheet.epoch, header.positions, config.columns)


def _xlsx_rows(
    cells: Iterator[tuple[int, tuple[Any, ...]]],
    epoch: datetime,
    positions: dict[str, int],
    columns: dict[str, str],
) -> Iterator[dict[str, str]]:
    for number, values in cells:  # the sheet closes its workbook when the rows run out
        row: dict[str, str] = {}
        formulas: list[tuple[str, FormulaCell]] = []
        for name, i in positions.items():
            value = values[i] if i < len(values) else None
            if isinstance(value, FormulaCell):
                formulas.append((name, value))
            row[name] = _cell_text(value, name, epoch)
        if not any(row.values()) and not formulas:
            continue
        row[ROW_NUMBER] = str(number)
        if formulas:
            name, cell = formulas[0]
            row[ROW_ERROR] = f"column {columns.get(name, name)!r} ({name}) {cell.reason}"
            row[ROW_FORMULA] = ",".join(name for name, _ in formulas)
        yield row


def _cell_text(value: Any, field_name: str, epoch: datetime) -> str:
    """One XLSX cell as the text a person would have typed.

    A unit code or postcode digits stored as a number must not become ``1234.0``; a date becomes
    ISO; a number in a date column is an Excel serial date (the cell lost its date format).
    """
    if value is None or isinstance(value, FormulaCell):  # a formula: the caller marks its row
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, int | float):
        if field_name in _DATE_FIELDS and value > 0:
            from openpyxl.utils.datetime import from_excel

            serial = from_excel(value, epoch=epoch)
            if isinstance(serial, datetime):
                return serial.date().isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return str(value).strip()


# --- the header row ----------------------------------------------------------------------------


def _header(
    path: Path,
    rows: Iterable[tuple[int, Sequence[str]]],
    config: SpreadsheetConfig,
    *,
    delimiter: str | None,
) -> Header:
    """The header row (see :func:`connectors.sheets.find_header`), or an error that names the
    file, the missing headers (with a close match when there is one) and never other cells."""
    try:
        return find_header(rows, config.columns, scan_rows=_HEADER_SCAN_ROWS)
    except DuplicateHeader as exc:
        raise SpreadsheetError(f"{path}: {exc}") from None
    except HeaderNotFound as exc:
        if exc.row is None:
            raise SpreadsheetError(f"{path}: the export is empty (no header row)") from None
        parts = []
        for name in exc.missing:
            column = config.columns[name]
            close = exc.suggestions.get(name)
            parts.append(
                f"{column!r} (for {name})" + (f", did you mean {close!r}?" if close else "")
            )
        message = (
            f"{path}: missing column header(s) {'; '.join(parts)}. "
            f"Row {exc.row} has {exc.found} of the {len(config.columns)} mapped headers"
        )
        if delimiter is not None and exc.width == 1:
            message += f"; it has only one column: is the delimiter {delimiter!r} right?"
        raise SpreadsheetError(message) from None
