"""The shared table reader: finding the header row, and opening an XLSX sheet or Excel table."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from openpyxl.worksheet.table import Table

from connectors.sheets import DuplicateHeader, HeaderNotFound, SheetError, find_header, open_sheet

COLUMNS = {"unit_code": "VHE-nummer", "postcode": "Postcode", "language": "Taal"}


def numbered(*rows: list[Any]) -> list[tuple[int, list[Any]]]:
    return list(enumerate(rows, start=1))


def test_the_header_may_stand_below_a_title_and_is_matched_loosely() -> None:
    rows = iter(
        numbered(
            ["Export bewoners 1-3-2026"],
            [],
            ["\ufeffvhe-NUMMER", " postcode ", "Notitie", "TAAL"],
            ["10001", "8011 AB", "geheim", "nl"],
        )
    )
    header = find_header(rows, COLUMNS)
    assert (header.row, header.width) == (3, 4)
    assert header.positions == {"unit_code": 0, "postcode": 1, "language": 3}
    assert next(rows) == (4, ["10001", "8011 AB", "geheim", "nl"])  # the data follows


def test_a_missing_header_names_the_field_and_suggests_a_close_one_but_no_other_cell() -> None:
    rows = numbered(["Jan Jansen", "06-12345678"], ["VHE nummer", "Postcode", "Land"])
    with pytest.raises(HeaderNotFound) as caught:
        find_header(rows, COLUMNS)
    error = caught.value
    assert (error.row, error.found, error.width) == (2, 1, 3)
    assert error.missing == ["unit_code", "language"]
    assert error.suggestions == {"unit_code": "VHE nummer"}  # "Land" is not close to "Taal"
    assert "Jansen" not in str(error) and "0612" not in str(error)


def test_only_the_first_rows_are_scanned_and_an_empty_file_has_no_header() -> None:
    rows = numbered(*[["x"]] * 3, ["VHE-nummer", "Postcode", "Taal"])
    with pytest.raises(HeaderNotFound):
        find_header(rows, COLUMNS, scan_rows=3)
    with pytest.raises(HeaderNotFound) as caught:
        find_header(numbered([], [None, " "]), COLUMNS)
    assert caught.value.row is None


def test_a_header_twice_in_the_row_is_an_error() -> None:
    with pytest.raises(DuplicateHeader, match="'Taal' \\(for language\\) appears 2 times"):
        find_header(numbered(["VHE-nummer", "Taal", "Postcode", "taal"]), COLUMNS)


def workbook_bytes() -> bytes:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "Voorblad"
    first.append(["alleen tekst"])
    sheet = book.create_sheet("Lijst")
    sheet.append(["Titel"])
    sheet.append(["VHE-nummer", "Taal"])
    sheet.append(["10001", "Turks"])
    sheet.add_table(Table(displayName="Contacten", ref="A2:B3"))
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


@pytest.mark.parametrize("tables", [False, True])
def test_a_named_sheet_or_the_first_one(tables: bool) -> None:
    data = workbook_bytes()
    first = open_sheet(data, tables=tables)
    assert list(first.rows) == [(1, ("alleen tekst",))]
    named = open_sheet(data, "Lijst", tables=tables)
    assert [number for number, _ in named.rows] == [1, 2, 3]


def test_an_excel_table_by_name_keeps_excel_row_numbers() -> None:
    sheet = open_sheet(workbook_bytes(), "contacten", tables=True)
    assert list(sheet.rows) == [(2, ("VHE-nummer", "Taal")), (3, ("10001", "Turks"))]
    with pytest.raises(SheetError, match="no sheet named 'contacten'"):
        open_sheet(workbook_bytes(), "contacten")  # tables only when asked for


def test_bytes_that_are_no_workbook() -> None:
    with pytest.raises(SheetError, match="not a readable XLSX workbook"):
        open_sheet(b"VHE;Taal\n1;nl\n")
