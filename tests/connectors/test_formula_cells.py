"""A formula where a value belongs never moves a household out.

openpyxl writes formulas without a saved value (as any script does); read for its values, such a
cell looks empty. Both XLSX readers (the register's spreadsheet source and the team's Excel list)
must keep the row aside with reason ``formula``, and a row that cannot be identified must never
remove anything stored. Runs the real sync and team-pull use cases on the real store.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connectors.erp.spreadsheet.read import read_snapshot
from connectors.fakes.m365 import FakeMicrosoft365
from connectors.m365.adapters import GraphConnection, WorkbookSource
from connectors.m365.contacts import contacts_from_workbook
from connectors.sheets import FORMULA, FormulaCell, open_sheet
from keukentafel.config import SpreadsheetConfig
from keukentafel.domain.model import ContactKind
from keukentafel.domain.register import RejectReason, Snapshot
from keukentafel.domain.runs import RunOutcome
from keukentafel.store.models import ChangeEventRow, UnitRow
from keukentafel.usecases.page_memo import PageMemo
from keukentafel.usecases.sync_register import ProgressFn, sync_register
from keukentafel.usecases.team_contacts import effective_households, pull_team_contacts
from tests import builders
from tests.builders import CORP
from tests.m365_fixtures import SITE_ID, make_m365_config

COLUMNS = {
    "unit_code": "VHE-nummer",
    "complex_code": "Complex",
    "street": "Straat",
    "house_number": "Huisnummer",
    "postcode": "Postcode",
    "town": "Plaats",
    "lease_id": "Contractnummer",
    "lease_start": "Ingangsdatum",
    "relation_id": "Relatienummer",
    "role": "Rol",
    "initials": "Voorletters",
    "surname": "Achternaam",
    "email": "E-mail",
}
ON = date(2026, 11, 28)


def _export(path: Path, units: int, cells: dict[tuple[int, str], object] | None = None) -> Path:
    """An ERP export of ``units`` rented homes; ``cells`` replaces (unit number, field) cells."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(COLUMNS.values()))
    for n in range(1, units + 1):
        values = {
            "unit_code": f"VHE{n:05d}",
            "complex_code": "CPX-1",
            "street": "Dorpsstraat",
            "house_number": str(n),
            "postcode": "1234 AB",
            "town": "Ons Dorp",
            "lease_id": f"L{n}",
            "lease_start": "01-01-2015",
            "relation_id": f"R{n}",
            "role": "huurder",
            "initials": "J.",
            "surname": f"Jansen{n}",
            "email": f"r{n}@example.org",
        }
        for (unit, name), value in (cells or {}).items():
            if unit == n:
                values[name] = value  # type: ignore[assignment]
        sheet.append([values[name] for name in COLUMNS])
    book.save(path)
    return path


class ExportSource:
    """The register's spreadsheet source on an export file (the real reader and mapping)."""

    name = "spreadsheet"

    def __init__(self, path: Path) -> None:
        self.config = SpreadsheetConfig(path=str(path), columns=COLUMNS, date_format="%d-%m-%Y")

    def read(self, progress: ProgressFn | None = None, memo: PageMemo | None = None) -> Snapshot:
        return read_snapshot(self.config, ["CPX-1"], today=ON)


def _current_units(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        rows = session.scalars(select(UnitRow.code).where(UnitRow.removed_at.is_(None)))
        return set(rows)


def _events(sessions: sessionmaker[Session], run_id: int) -> list[str]:
    with sessions() as session:
        rows = session.scalars(
            select(ChangeEventRow.kind).where(ChangeEventRow.sync_run_id == run_id)
        )
        return [str(kind) for kind in rows]


def test_a_formula_in_the_unit_code_column_keeps_the_household(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    first = sync_register(sessions, CORP, ExportSource(_export(tmp_path / "a.xlsx", 12)))
    assert first.outcome == RunOutcome.SUCCEEDED and len(_current_units(sessions)) == 12

    formula = '=CONCAT("VHE","00003")'  # no value saved: read for values it looks empty
    export = _export(tmp_path / "b.xlsx", 12, {(3, "unit_code"): formula})
    second = sync_register(sessions, CORP, ExportSource(export))

    assert _current_units(sessions) == {f"VHE{n:05d}" for n in range(1, 13)}
    assert "move_out" not in _events(sessions, second.run_id)
    assert [(r.reason, r.detail) for r in second.rejected] == [
        (
            RejectReason.FORMULA,
            "row 4: column 'VHE-nummer' (unit_code) holds a formula without a saved value "
            "(was the file saved by Excel?)",
        )
    ]
    assert formula not in str(second.rejected[0].detail)
    assert "nothing was removed in this run" in second.message


def test_a_row_that_cannot_be_identified_removes_nothing_stored(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    sync_register(sessions, CORP, ExportSource(_export(tmp_path / "a.xlsx", 12)))
    # Unit 12 really left the export; unit 5's code cell is a formula: could it be unit 12?
    export = _export(tmp_path / "b.xlsx", 11, {(5, "unit_code"): "=A2"})
    result = sync_register(sessions, CORP, ExportSource(export))
    assert result.outcome == RunOutcome.SUCCEEDED
    assert "VHE00012" in _current_units(sessions) and "VHE00005" in _current_units(sessions)
    assert not {"unit_removed", "move_out"} & set(_events(sessions, result.run_id))
    # Once every row can be identified again, the unit that left is removed.
    again = sync_register(sessions, CORP, ExportSource(_export(tmp_path / "c.xlsx", 11)))
    assert "VHE00012" not in _current_units(sessions) and again.message == ""


def test_a_formula_in_another_column_keeps_the_unit_aside(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    sync_register(sessions, CORP, ExportSource(_export(tmp_path / "a.xlsx", 12)))
    export = _export(tmp_path / "b.xlsx", 12, {(7, "postcode"): "=B2", (7, "street"): "Nieuw"})
    result = sync_register(sessions, CORP, ExportSource(export))
    kept = [(r.unit_code, r.reason) for r in result.rejected]
    assert kept == [("VHE00007", RejectReason.FORMULA)]
    assert "'Postcode' (postcode)" in result.rejected[0].detail
    assert result.counts.get("unit_changed", 0) == 0 and "VHE00007" in _current_units(sessions)


def _with_saved_value(data: bytes, cell: str, saved: str, kind: str) -> bytes:
    """The XLSX with a saved value for the formula in ``cell``, as Excel writes one."""
    source = io.BytesIO(data)
    out = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(out, "w") as new:
        for item in old.infolist():
            content = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(
                    rb'<c r="' + cell.encode() + rb'"><f>(.*?)</f><v\s*/>',
                    b'<c r="'
                    + cell.encode()
                    + b'" t="'
                    + kind.encode()
                    + b'"><f>\\1</f><v>'
                    + saved.encode()
                    + b"</v>",
                    content,
                )
            new.writestr(item, content)
    return out.getvalue()


def test_a_saved_value_is_read_and_a_saved_error_is_not(tmp_path: Path) -> None:
    data = _export(tmp_path / "a.xlsx", 3, {(1, "unit_code"): "=X1", (2, "unit_code"): "=X2"})
    data_bytes = _with_saved_value(data.read_bytes(), "A2", "VHE00001", "str")
    data_bytes = _with_saved_value(data_bytes, "A3", "#REF!", "e")
    sheet = open_sheet(data_bytes)
    rows = [cells for _, cells in sheet.rows]
    assert rows[1][0] == "VHE00001"  # Excel saved its value: that is what people see
    assert rows[2][0] == FormulaCell("#REF!")
    assert rows[3][0] == "VHE00003"
    assert FORMULA.reason.startswith("holds a formula without a saved value")


def test_openpyxl_parses_xml_with_defusedxml() -> None:
    assert openpyxl.DEFUSEDXML is True


# --- the team's Excel list -------------------------------------------------------------------

BOOK_COLUMNS = {"unit_code": "VHE", "mobile": "Mobiel"}


def _team_book(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(BOOK_COLUMNS.values()))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_formula_in_the_team_list_keeps_the_row_aside_under_its_own_key() -> None:
    data = _team_book([["VHE00001", "06-11112222"], ['=CONCAT("VHE","00002")', "06-22223333"]])
    contacts, rejected = contacts_from_workbook(data, BOOK_COLUMNS)
    assert [c.unit_code for c in contacts] == ["VHE00001"]
    assert [(r.source_id, r.reason) for r in rejected] == [("3", RejectReason.FORMULA)]
    assert "'VHE' (unit_code) holds a formula" in rejected[0].detail


def test_a_team_row_kept_aside_keeps_its_stored_version(
    sessions: sessionmaker[Session], fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    builders.run(sessions, builders.register(3))
    site = fake_m365.state.add_site(SITE_ID)
    config = make_m365_config(
        fake_m365,
        contact_workbook={"site_id": SITE_ID, "item_path": "lijst.xlsx", "columns": BOOK_COLUMNS},
    )
    source = WorkbookSource(GraphConnection(config, m365_env))
    rows: list[list[object]] = [["VHE00001", "06-11112222"], ["VHE00002", "06-22223333"]]
    fake_m365.state.put_file(site.drive_id, "lijst.xlsx", _team_book(rows))
    pull_team_contacts(sessions, CORP, source, on=ON)

    rows[1][0] = "=A2"  # someone made the unit code a formula; Excel never saved the file
    fake_m365.state.put_file(site.drive_id, "lijst.xlsx", _team_book(rows))
    report = pull_team_contacts(sessions, CORP, source, on=ON)
    assert report.counts["rows_removed"] == 0 and report.counts["kept_aside"] == 1
    households = {h.unit.code: h for h in effective_households(sessions, CORP, ON)}
    assert households["VHE00002"].residents[0].contact(ContactKind.MOBILE) == "+31622223333"
