"""Tables people keep in files: one XLSX sheet reader and one header-row finder.

Shared by the register's spreadsheet source (:mod:`connectors.erp.spreadsheet`, CSV and XLSX) and
the guidance team's Excel list (:mod:`connectors.m365.contacts`), which used to find their header
rows in two different ways.

- :func:`open_sheet` opens an XLSX workbook from bytes (no file handle stays open) and yields the
  rows of the first worksheet, a named worksheet or, with ``tables=True``, a named Excel table,
  each with its row number as Excel shows it. A cell is the value Excel saved for it; a formula
  for which no value was saved (a file written by a script and never opened in Excel), or whose
  saved value is an Excel error (``#REF!``), is the marker :data:`FORMULA` carrying that error,
  never ``None``: an empty-looking unit code must not read as "this household is gone". Callers
  set such a row aside with that reason.
- :func:`find_header` finds the header row: the first row, among the first few that are not
  empty, that holds every mapped column header (case, a byte-order mark and repeated spaces
  ignored). A header found twice in that row is an error (which column would be meant?). When no
  row has them all, :class:`HeaderNotFound` tells the caller which fields are missing in the row
  that matched most, with close matches to suggest; it never carries other cells, which could be
  a resident's details in a file without a header row.

Errors carry no path: callers prefix what the file is.
"""

from __future__ import annotations

import difflib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: The values Excel saves for a formula that failed.
EXCEL_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!"}
)
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


@dataclass(frozen=True, slots=True)
class FormulaCell:
    """A formula cell without a usable saved value: none was saved, or an Excel error was.

    ``error`` is the saved error (``#REF!``), or "" when no value was saved. Not a value: a
    caller that meets one sets its row aside (the reason names the column, never the formula).
    """

    error: str = ""

    @property
    def reason(self) -> str:
        if self.error:
            return f"holds a formula whose saved value is the Excel error {self.error}"
        return "holds a formula without a saved value (was the file saved by Excel?)"


#: The marker for a formula without a saved value.
FORMULA = FormulaCell()


class SheetError(Exception):
    """The workbook or its header row cannot be used; the message names no cell values."""


class HeaderNotFound(SheetError):
    """No scanned row holds every mapped header.

    ``row`` is the number of the row that matched most (None when every scanned row was empty),
    ``found`` how many fields it matched, ``width`` its number of cells, ``missing`` the fields
    whose header it lacks and ``suggestions`` a close header text per missing field, if any.
    """

    def __init__(
        self,
        row: int | None,
        found: int,
        width: int,
        missing: list[str],
        suggestions: dict[str, str],
    ) -> None:
        what = "no header row" if row is None else f"missing header(s) for {', '.join(missing)}"
        super().__init__(what)
        self.row = row
        self.found = found
        self.width = width
        self.missing = missing
        self.suggestions = suggestions


class DuplicateHeader(SheetError):
    def __init__(self, field_name: str, column: str, count: int) -> None:
        super().__init__(f"the column header {column!r} (for {field_name}) appears {count} times")
        self.field = field_name
        self.column = column
        self.count = count


@dataclass(frozen=True, slots=True)
class Header:
    """Where the header is: its row number, its width and each mapped field's column index."""

    row: int
    width: int
    positions: dict[str, int] = field(default_factory=dict)


def header_key(value: Any) -> str:
    """A header cell as compared: text without a byte-order mark, single spaces, case folded."""
    if value is None:
        return ""
    return " ".join(str(value).replace("\ufeff", "").split()).casefold()


def find_header(
    rows: Iterable[tuple[int, Sequence[Any]]],
    columns: Mapping[str, str],
    *,
    scan_rows: int = 10,
) -> Header:
    """Consume ``(row number, cells)`` up to the header row and say where the mapped columns are.

    ``columns`` maps our field names to the file's headers. At most ``scan_rows`` non-empty rows
    are looked at (a report title or an export date may stand above the header). Raises
    :class:`HeaderNotFound` or :class:`DuplicateHeader`.
    """
    best: tuple[int, Sequence[Any], dict[str, int], list[str]] | None = None
    scanned = 0
    for number, cells in rows:
        if not any(header_key(cell) for cell in cells):
            continue
        positions, missing = _match(cells, columns)
        if not missing:
            return Header(number, len(cells), positions)
        if best is None or len(positions) > len(best[2]):
            best = (number, cells, positions, missing)
        scanned += 1
        if scanned >= scan_rows:
            break
    if best is None:
        raise HeaderNotFound(None, 0, 0, list(columns), {})
    number, cells, positions, missing = best
    texts = [str(cell).strip() for cell in cells if header_key(cell)]
    suggestions = {}
    for name in missing:
        close = difflib.get_close_matches(columns[name], texts, n=1, cutoff=0.75)
        if close:
            suggestions[name] = close[0]
    raise HeaderNotFound(number, len(positions), len(cells), missing, suggestions)


def _match(cells: Sequence[Any], columns: Mapping[str, str]) -> tuple[dict[str, int], list[str]]:
    """Field name → column index, and the fields whose header this row lacks."""
    index: dict[str, list[int]] = {}
    for i, cell in enumerate(cells):
        key = header_key(cell)
        if key:
            index.setdefault(key, []).append(i)
    positions: dict[str, int] = {}
    missing: list[str] = []
    for name, column in columns.items():
        found = index.get(header_key(column), [])
        if not found:
            missing.append(name)
        elif len(found) > 1:
            raise DuplicateHeader(name, column, len(found))
        else:
            positions[name] = found[0]
    return positions, missing


@dataclass(slots=True)
class Sheet:
    """The rows of one sheet, each ``(row number, cell values)``; close when not read to the end.

    ``epoch`` is the workbook's date system (Excel serial dates count from it).
    """

    rows: Iterator[tuple[int, tuple[Any, ...]]]
    epoch: datetime
    _workbook: Any

    def close(self) -> None:
        self._workbook.close()


def open_sheet(data: bytes, sheet: str | None = None, *, tables: bool = False) -> Sheet:
    """The first worksheet, the worksheet named ``sheet`` or (``tables=True``) the Excel table
    of that name, read from XLSX bytes.

    Without tables the workbook is read in openpyxl's read-only mode, row by row; Excel tables
    need the full workbook in memory. Raises :class:`SheetError` for bytes that are not an XLSX
    workbook or a sheet that is not there.
    """
    from openpyxl import load_workbook  # heavy import, only for XLSX files

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=not tables, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError or its own errors alike
        raise SheetError(f"not a readable XLSX workbook ({type(exc).__name__})") from None
    try:
        rows = _rows(workbook, sheet, tables=tables)
    except BaseException:
        workbook.close()
        raise
    if not _has_formulas(data):
        return Sheet(_closing(workbook, rows), workbook.epoch, workbook)
    # The saved values carry no trace of a formula: read the formulas too, side by side.
    formulas_book = load_workbook(io.BytesIO(data), read_only=not tables, data_only=False)
    try:
        formulas = _rows(formulas_book, sheet, tables=tables)
    except BaseException:
        formulas_book.close()
        workbook.close()
        raise
    marked = _marking_formulas(rows, formulas)
    return Sheet(_closing(workbook, _closing(formulas_book, marked)), workbook.epoch, workbook)


def _has_formulas(data: bytes) -> bool:
    """Whether any worksheet of the XLSX holds a formula (an ``<f>`` element)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(
                _FORMULA_TAG.search(archive.read(name))
                for name in archive.namelist()
                if name.startswith("xl/worksheets/") and name.endswith(".xml")
            )
    except (zipfile.BadZipFile, KeyError, OSError):
        return True  # cannot tell: read the formulas as well


def _marking_formulas(
    values: Iterator[tuple[int, tuple[Any, ...]]],
    formulas: Iterator[tuple[int, tuple[Any, ...]]],
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """The saved values, with :class:`FormulaCell` where a formula has no usable value. Both
    readers parse the same sheet; every row of values is kept whatever the other yields."""
    for number, row in values:
        _, source = next(formulas, (number, ()))
        yield (
            number,
            tuple(
                _marked(value, source[i] if i < len(source) else None)
                for i, value in enumerate(row)
            ),
        )


def _marked(value: Any, source: Any) -> Any:
    """``value`` as saved, or a :class:`FormulaCell` when ``source`` is a formula without one."""
    if not _is_formula(source):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        return FORMULA
    if isinstance(value, str) and value.strip() in EXCEL_ERRORS:
        return FormulaCell(value.strip())
    return value


def _is_formula(source: Any) -> bool:
    if isinstance(source, str):
        return source.startswith("=")
    from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

    return isinstance(source, ArrayFormula | DataTableFormula)


def _rows(
    workbook: Any, sheet: str | None, *, tables: bool
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    if sheet is None or sheet in workbook.sheetnames:
        ws = workbook.worksheets[0] if sheet is None else workbook[sheet]
        if not tables:
            # ERP writers often store a wrong <dimension>; without this openpyxl may read one
            # column only.
            ws.reset_dimensions()
        return enumerate(map(tuple, ws.iter_rows(min_row=1, values_only=True)), start=1)
    if tables:
        from openpyxl.utils.cell import range_boundaries

        for ws in workbook.worksheets:
            for name, table in ws.tables.items():
                if name.lower() == sheet.lower():
                    ref = table if isinstance(table, str) else table.ref
                    min_col, min_row, max_col, max_row = range_boundaries(ref)
                    cells = ws.iter_rows(
                        min_row=min_row,
                        max_row=max_row,
                        min_col=min_col,
                        max_col=max_col,
                        values_only=True,
                    )
                    return enumerate(map(tuple, cells), start=min_row)
    what = "sheet or table" if tables else "sheet"
    raise SheetError(
        f"no {what} named {sheet!r}; the workbook has: {', '.join(workbook.sheetnames)}"
    )


def _closing(
    workbook: Any, rows: Iterator[tuple[int, tuple[Any, ...]]]
) -> Iterator[tuple[int, tuple[Any, ...]]]:
    try:
        yield from rows
    finally:
        workbook.close()
