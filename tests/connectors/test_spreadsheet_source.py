"""Tests for the spreadsheet (ERP export) source: reading CSV/XLSX and mapping rows to a Snapshot.

All people here are generated. Files are written to tmp_path by the tests themselves (CSV bytes by
hand, XLSX through openpyxl), plus the committed samples in config/samples/.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from connectors.erp.spreadsheet.mapping import (
    ROW_ERROR,
    ROW_NUMBER,
    derived_lease_id,
    role_from_text,
    snapshot_from_rows,
    tenure_from_text,
)
from connectors.erp.spreadsheet.read import SpreadsheetError, read_rows, read_snapshot
from keukentafel.config import ConfigError, SpreadsheetConfig, load_config
from keukentafel.domain.addressing import split_house_number
from keukentafel.domain.model import (
    AgreementKind,
    ContactKind,
    ContactPoint,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    Tenure,
    household_of,
)
from keukentafel.domain.register import EntityKind, RejectReason, Snapshot, validate
from keukentafel.domain.vocabulary import language_code

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"
TODAY = date(2026, 11, 28)
DATE_FORMAT = "%d-%m-%Y"

COLUMNS = {
    "unit_code": "VHE-nummer",
    "complex_code": "Complex",
    "street": "Straat",
    "house_number": "Huisnummer",
    "postcode": "Postcode",
    "town": "Plaats",
    "tenure": "Eigendom",
    "lease_id": "Contractnummer",
    "lease_start": "Ingangsdatum",
    "lease_end": "Einddatum",
    "relation_id": "Relatienummer",
    "role": "Rol",
    "initials": "Voorletters",
    "tussenvoegsel": "Tussenvoegsel",
    "surname": "Achternaam",
    "email": "E-mail",
    "mobile": "Mobiel",
    "preferred_channel": "Voorkeur",
}
HEADER = list(COLUMNS.values())


def sheet_config(path: Path, **overrides: Any) -> SpreadsheetConfig:
    values: dict[str, Any] = {"path": str(path), "columns": COLUMNS, **overrides}
    return SpreadsheetConfig(**values)


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8-sig") -> Path:
    text = "\r\n".join(";".join(cells) for cells in rows) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def unit_row(**fields: str) -> dict[str, str]:
    """A row keyed by our field names, with a usable address unless overridden."""
    base = {
        "unit_code": "U1",
        "complex_code": "C1",
        "street": "Kerkstraat",
        "house_number": "1",
        "postcode": "3511 AB",
        "town": "Utrecht",
        "tenure": "huur",
    }
    return {**base, **fields}


def person(**fields: str) -> dict[str, str]:
    return unit_row(
        **{"initials": "J.", "surname": "Jansen", "lease_start": "01-01-2020", **fields}
    )


def mapped(rows: Sequence[Mapping[str, str]], complexes: list[str] | None = None) -> Snapshot:
    return snapshot_from_rows(rows, complexes, date_format=DATE_FORMAT, today=TODAY)


# --- reading CSV --------------------------------------------------------------------------------


def test_csv_with_bom_and_semicolons_yields_rows_by_field_name(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "export.csv",
        [
            HEADER,
            [
                "1001",
                "C1",
                "Kerkstraat",
                "12A-3",
                "3511ab",
                "Utrecht",
                "Huur",
                "HC-1",
                "01-03-2020",
                "",
                "R-1",
                "Huurder",
                "J.",
                "van der",
                "Berg",
                "j@example.nl",
                "0600000001",
                "mobiel",
            ],
            [""] * len(HEADER),  # an empty line between rows is skipped, but counted
            ["1002", "C1", "Kerkstraat", "14", "3511 AB", "Utrecht", "Leegstand"],  # short row
        ],
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(read_rows(sheet_config(path)))
    assert [r[ROW_NUMBER] for r in rows] == ["2", "4"]
    assert rows[0]["unit_code"] == "1001"  # the BOM did not stick to the first header
    assert rows[0]["house_number"] == "12A-3"
    assert rows[0]["tussenvoegsel"] == "van der"
    assert rows[1]["surname"] == ""  # cells missing at the end of a row are empty, not absent
    assert set(rows[1]) == set(COLUMNS) | {ROW_NUMBER}


def test_csv_headers_match_ignoring_case_and_spaces_and_other_columns_are_ignored(
    tmp_path: Path,
) -> None:
    header = ["Extra", *[f"  {h.upper()} " for h in HEADER]]
    path = write_csv(tmp_path / "e.csv", [header, ["x", "1001", "C1", "Kerkstraat", "1"]])
    (row,) = read_rows(sheet_config(path))
    assert row["unit_code"] == "1001"
    assert row["house_number"] == "1"


def test_csv_missing_column_header_is_a_config_error_naming_file_and_header(
    tmp_path: Path,
) -> None:
    header = [h for h in HEADER if h != "Postcode"]
    path = write_csv(tmp_path / "export.csv", [header, ["1001"] * len(header)])
    with pytest.raises(ConfigError) as error:
        read_rows(sheet_config(path))  # raised at the call, before any row is iterated
    message = str(error.value)
    assert str(path) in message
    assert "'Postcode' (for postcode)" in message
    assert f"Row 1 has {len(HEADER) - 1} of the {len(HEADER)} mapped headers" in message


def test_header_near_miss_is_suggested_and_a_title_row_above_the_header_is_skipped(
    tmp_path: Path,
) -> None:
    near = [h if h != "Postcode" else "Post code" for h in HEADER]
    path = write_csv(tmp_path / "e.csv", [["Export Tobias 01-11-2026"], [], near, ["1001"]])
    with pytest.raises(
        SpreadsheetError, match=r"'Postcode' \(for postcode\), did you mean 'Post code'\?"
    ):
        read_rows(sheet_config(path))
    path = write_csv(tmp_path / "ok.csv", [["Export Tobias 01-11-2026"], [], HEADER, ["1001"]])
    (row,) = read_rows(sheet_config(path))
    assert (row["unit_code"], row[ROW_NUMBER]) == ("1001", "4")


def test_a_file_without_header_row_does_not_echo_resident_data(tmp_path: Path) -> None:
    data = [
        "1001",
        "C1",
        "Kerkstraat",
        "1",
        "3511 AB",
        "Utrecht",
        "huur",
        "",
        "",
        "",
        "",
        "",
        "J.",
        "",
        "Jansen",
        "j.jansen@example.nl",
    ]
    path = write_csv(tmp_path / "e.csv", [data, data])
    with pytest.raises(SpreadsheetError) as error:
        read_rows(sheet_config(path))
    assert "missing column header" in str(error.value)
    assert "Jansen" not in str(error.value)
    assert "example.nl" not in str(error.value)


def test_wrong_delimiter_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "comma.csv"
    path.write_text(",".join(HEADER) + "\n1001,C1\n", encoding="utf-8")
    with pytest.raises(SpreadsheetError, match="is the delimiter ';' right"):
        read_rows(sheet_config(path))
    rows = list(read_rows(sheet_config(path, delimiter=",")))
    assert rows[0]["complex_code"] == "C1"


def test_cp1252_export_is_read_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_csv(
        tmp_path / "ansi.csv",
        [
            HEADER,
            [
                "1001",
                "C1",
                "Hoofdstraat",
                "1",
                "1234 AB",
                "IJsselstein",
                "huur",
                "",
                "",
                "",
                "",
                "",
                "Z.",
                "",
                "Zoë",
            ],
        ],
        encoding="cp1252",
    )
    with caplog.at_level(logging.WARNING):
        (row,) = read_rows(sheet_config(path))
    assert row["surname"] == "Zoë"
    assert "Windows-1252" in caplog.text
    assert "Zo" not in caplog.text  # no cell content in the log


def test_a_wrong_explicit_encoding_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes(("\n".join([";".join(HEADER), "1001;C1"])).encode("utf-8") + b"\xff\n")
    with pytest.raises(SpreadsheetError, match=r"utf16.csv: line 2 is not valid ascii"):
        read_rows(sheet_config(path, encoding="ascii"))


def test_utf16_export_is_recognised_by_its_bom(tmp_path: Path) -> None:
    path = tmp_path / "unicode.txt"
    text = "\t".join(HEADER) + "\r\n" + "\t".join(["1001", "C1", "Weg", "2"]) + "\r\n"
    path.write_bytes(text.encode("utf-16"))
    (row,) = read_rows(sheet_config(path, delimiter="\t"))
    assert (row["unit_code"], row["house_number"]) == ("1001", "2")


def test_shifted_csv_row_is_kept_aside_as_malformed(tmp_path: Path) -> None:
    good = ["1001", "C1", "Kerkstraat", "1", "3511 AB", "Utrecht", "huur"]
    # An unquoted ';' in the street name pushes every later cell one column to the right.
    shifted = [
        "1002",
        "C1",
        "Laan 1940",
        "1945",
        "3",
        "3511 AB",
        "Utrecht",
        "huur",
        *[""] * 10,
        "x",
    ]
    path = write_csv(tmp_path / "e.csv", [HEADER, good, shifted])
    rows = list(read_rows(sheet_config(path)))
    assert ROW_ERROR in rows[1]
    snapshot = snapshot_from_rows(rows, None, date_format=DATE_FORMAT, today=TODAY)
    assert [u.code for u in snapshot.units] == ["1001"]
    (rejected,) = snapshot.rejected
    assert (rejected.reason, rejected.unit_code) == (RejectReason.MALFORMED, "1002")
    assert rejected.detail.startswith("row 3:")


def test_excel_keep_as_text_cells_lose_their_wrapper(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", [HEADER, ['="001001"', "C1", "Weg", '="7"']])
    (row,) = read_rows(sheet_config(path))
    assert (row["unit_code"], row["house_number"]) == ("001001", "7")


@pytest.mark.parametrize(
    ("name", "message"),
    [("old.xls", "old Excel format .xls"), ("absent.csv", "cannot read the export")],
)
def test_unreadable_files_are_config_errors(tmp_path: Path, name: str, message: str) -> None:
    if name.endswith(".xls"):
        (tmp_path / name).write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(SpreadsheetError, match=message):
        read_rows(sheet_config(tmp_path / name))


# --- reading XLSX -------------------------------------------------------------------------------


def write_xlsx(
    path: Path, rows: list[list[Any]], *, sheet: str = "Export", first: str = ""
) -> Path:
    workbook = openpyxl.Workbook()
    active = workbook.active
    assert active is not None
    if first:  # a sheet before the data sheet
        active.title = first
        active.append(["not the data"])
        data_sheet = workbook.create_sheet(sheet)
    else:
        active.title = sheet
        data_sheet = active
    for row in rows:
        data_sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_cells_become_text_sensibly(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "export.xlsx",
        [
            HEADER,
            # unit code and house number as floats, a date cell, an Excel serial number in a
            # date column that lost its format, a mobile number that lost its leading zero.
            [
                1001.0,
                "C1",
                "Kerkstraat",
                12.0,
                "3511ab",
                "Utrecht",
                "huur",
                5001,
                datetime(2020, 3, 1),
                45292,
                "R-1",
                None,
                "J.",
                None,
                "Jansen",
                None,
                600000001,
                "mobiel",
            ],
            [None] * len(HEADER),
            [1002, "C1", "Kerkstraat", "14", "3511 AB", "Utrecht", "leeg"],
        ],
    )
    rows = list(read_rows(sheet_config(path)))
    first = rows[0]
    assert first["unit_code"] == "1001"
    assert first["house_number"] == "12"
    assert first["lease_id"] == "5001"
    assert first["lease_start"] == "2020-03-01"
    assert first["lease_end"] == "2024-01-01"  # serial 45292
    assert first["role"] == ""
    assert first["mobile"] == "600000001"
    assert [r[ROW_NUMBER] for r in rows] == ["2", "4"]
    snapshot = snapshot_from_rows(rows, None, date_format=DATE_FORMAT, today=TODAY)
    (resident,) = snapshot.residents
    assert resident.contacts == (ContactPoint(ContactKind.MOBILE, "0600000001", preferred=True),)
    (lease,) = snapshot.leases
    assert (lease.start_date, lease.end_date, lease.status) == (
        date(2020, 3, 1),
        date(2024, 1, 1),
        LeaseStatus.ENDED,
    )


def test_xlsx_named_sheet_or_first_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "e.xlsx", [HEADER, ["1001", "C1"]], sheet="Huurders", first="Info")
    (row,) = read_rows(sheet_config(path, sheet="Huurders"))
    assert row["unit_code"] == "1001"
    with pytest.raises(SpreadsheetError, match="missing column header"):
        read_rows(sheet_config(path))  # the first sheet holds no header
    with pytest.raises(SpreadsheetError, match=r"no sheet named 'Adressen'.*Info, Huurders"):
        read_rows(sheet_config(path, sheet="Adressen"))


def test_xlsx_missing_column_header(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "e.xlsx", [[h for h in HEADER if h != "Plaats"], ["1001"]])
    with pytest.raises(
        ConfigError, match=r"e\.xlsx: missing column header\(s\) 'Plaats' \(for town\)"
    ):
        read_rows(sheet_config(path))


def test_not_a_workbook_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("not a zip", encoding="utf-8")
    with pytest.raises(SpreadsheetError, match="not a readable XLSX workbook"):
        read_rows(sheet_config(path))


def test_same_input_as_csv_and_xlsx_gives_equal_snapshots(tmp_path: Path) -> None:
    data = [
        [
            "1001",
            "C1",
            "Kerkstraat",
            "12",
            "3511 AB",
            "Utrecht",
            "huur",
            "HC-1",
            "01-03-2020",
            "",
            "R-1",
            "huurder",
            "J.",
            "",
            "Jansen",
            "j@example.nl",
            "0600000001",
            "e-mail",
        ],
        [
            "1001",
            "C1",
            "Kerkstraat",
            "12",
            "3511 AB",
            "Utrecht",
            "huur",
            "HC-1",
            "01-03-2020",
            "",
            "R-2",
            "medehuurder",
            "A.",
            "de",
            "Vries",
            "",
            "0600000002",
            "",
        ],
        ["1002", "C1", "Kerkstraat", "12A", "3511 AB", "Utrecht", "leegstand"],
        [
            "1003",
            "C2",
            "Dorpsweg",
            "3 bis",
            "3512 CD",
            "Utrecht",
            "koop",
            "K-9",
            "12-04-2019",
            "",
            "R-3",
            "eigenaar",
            "T.",
            "",
            "Visser",
        ],
        [
            "1004",
            "C1",
            "Kerkstraat",
            "14",
            "3511 XX",
            "Utrecht",
            "huur",
            "HC-4",
            "01-01-2010",
            "30-06-2024",
            "R-4",
            "huurder",
            "S.",
            "",
            "Smit",
        ],
        ["1005", "C1", "Kerkstraat", "16", "35 AB", "Utrecht", "huur"],  # bad postcode
    ]
    csv_path = write_csv(tmp_path / "e.csv", [HEADER, *data])

    def as_cell(field: str, text: str) -> Any:
        if field in {"unit_code", "mobile"} or (field == "house_number" and text.isdigit()):
            return int(text)
        if field in {"lease_start", "lease_end"} and text:
            return datetime.strptime(text, DATE_FORMAT)
        return text or None

    fields = list(COLUMNS)
    xlsx_rows = [[as_cell(fields[i], cell) for i, cell in enumerate(row)] for row in data]
    xlsx_path = write_xlsx(tmp_path / "e.xlsx", [HEADER, *xlsx_rows])

    from_csv = read_snapshot(sheet_config(csv_path), ["C1", "C2"], today=TODAY)
    from_xlsx = read_snapshot(sheet_config(xlsx_path), ["C1", "C2"], today=TODAY)
    assert from_csv == from_xlsx
    assert len(from_csv.units) == 4
    assert [r.unit_code for r in from_csv.rejected] == ["1005"]


# --- the committed samples ----------------------------------------------------------------------


def test_sample_config_loads_and_maps_to_a_clean_register() -> None:
    config = load_config(SAMPLES / "spreadsheet-example.yaml")
    assert config.source.kind == "spreadsheet"
    sheet = config.source.spreadsheet
    assert sheet is not None
    snapshot = read_snapshot(sheet, config.complexes(), today=TODAY)
    assert snapshot.source == "spreadsheet"
    assert snapshot.rejected == []
    assert snapshot.out_of_scope_by == {EntityKind.UNIT: 1, EntityKind.RESIDENT: 1}  # C900
    valid = validate(snapshot)
    assert valid.rejected == []
    assert len(valid.units) == 12
    tenures = {u.code: u.tenure for u in valid.units.values()}
    assert tenures["10003"] is Tenure.VACANT
    assert tenures["10007"] is Tenure.OWNER_OCCUPIED
    assert tenures["10009"] is Tenure.PRIVATE_RENTAL
    household = household_of(
        valid.units["10001"], list(valid.leases.values()), valid.residents, TODAY
    )
    assert [role for _, role in household.members] == [PartyRole.TENANT, PartyRole.CO_TENANT]


def test_sample_csv_and_xlsx_are_the_same_register() -> None:
    config = load_config(SAMPLES / "spreadsheet-example.yaml")
    sheet = config.source.spreadsheet
    assert sheet is not None
    xlsx = sheet.model_copy(update={"path": str(SAMPLES / "sample-export.xlsx")})
    assert read_snapshot(sheet, None, today=TODAY) == read_snapshot(xlsx, None, today=TODAY)


# --- pure parsers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", (12, "", "")),
        ("12A", (12, "A", "")),
        ("12a", (12, "A", "")),
        ("12 a", (12, "A", "")),
        ("12-2", (12, "", "2")),
        ("12A-3", (12, "A", "3")),
        ("12 A 3", (12, "A", "3")),
        ("12a3", (12, "A", "3")),
        ("12 bis", (12, "", "bis")),
        ("12-bis", (12, "", "bis")),
        ("12 hs", (12, "", "hs")),
        ("12-A", (12, "", "A")),
        ("12/1", (12, "", "1")),
        ("  7   B  ", (7, "B", "")),
        ("1024 zw", (1024, "", "zw")),
    ],
)
def test_split_house_number(text: str, expected: tuple[int, str, str]) -> None:
    assert split_house_number(text) == expected


@pytest.mark.parametrize("text", ["", "A12", "nr 12", "0", "-3"])
def test_split_house_number_rejects_text_without_a_number(text: str) -> None:
    with pytest.raises(ValueError, match="no house number"):
        split_house_number(text)


@pytest.mark.parametrize(
    ("text", "has_owner", "has_residents", "expected"),
    [
        ("huur", False, True, Tenure.CORPORATION_RENTAL),
        ("Sociale huur", False, True, Tenure.CORPORATION_RENTAL),
        ("sociale-huur", False, True, Tenure.CORPORATION_RENTAL),
        ("Vrije sector", False, True, Tenure.CORPORATION_RENTAL),
        ("VEH", False, True, Tenure.CORPORATION_RENTAL),
        ("huur", False, False, Tenure.VACANT),  # a rental unit nobody rents
        ("koop", True, True, Tenure.OWNER_OCCUPIED),
        ("Eigenaar", True, True, Tenure.OWNER_OCCUPIED),
        ("verkocht", False, False, Tenure.OWNER_OCCUPIED),  # owner unknown to the corporation
        ("leeg", False, False, Tenure.VACANT),
        ("Leegstand", False, False, Tenure.VACANT),
        ("particuliere huur", False, True, Tenure.PRIVATE_RENTAL),
        ("particulier", False, True, Tenure.PRIVATE_RENTAL),
        ("particulier", False, False, Tenure.PRIVATE_RENTAL),
        ("Particulier", True, True, Tenure.OWNER_OCCUPIED),
        ("", False, True, Tenure.CORPORATION_RENTAL),
        ("", True, True, Tenure.OWNER_OCCUPIED),
        ("", False, False, Tenure.VACANT),
    ],
)
def test_tenure_from_text(
    text: str, has_owner: bool, has_residents: bool, expected: Tenure
) -> None:
    assert tenure_from_text(text, has_owner=has_owner, has_residents=has_residents) is expected


def test_unknown_tenure_is_an_error_naming_the_word() -> None:
    with pytest.raises(ValueError, match="unknown tenure 'erfpacht'"):
        tenure_from_text("erfpacht", has_owner=False, has_residents=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("huurder", PartyRole.TENANT),
        ("HUU", PartyRole.TENANT),
        ("Medehuurder", PartyRole.CO_TENANT),
        ("MDH", PartyRole.CO_TENANT),
        ("mede-huurder", PartyRole.CO_TENANT),
        ("eigenaar", PartyRole.OWNER_OCCUPIER),
        ("eigenaar-bewoner", PartyRole.OWNER_OCCUPIER),
        ("EIG", PartyRole.OWNER_OCCUPIER),
        ("", None),
    ],
)
def test_role_from_text(text: str, expected: PartyRole | None) -> None:
    assert role_from_text(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("NL", "nl"),
        ("Turks", "tr"),
        ("tr", "tr"),
        ("Oekraïens", "uk"),
        ("oekraiens", "uk"),
        ("Dari", "fa"),
        ("Klingon", None),
    ],
)
def test_language_words_and_codes(text: str, expected: str | None) -> None:
    assert language_code(text) == expected


@pytest.mark.parametrize(
    ("column", "value", "language", "preferred", "detail"),
    [
        ("language", "Klingon", "nl", True, "not a known language"),
        ("preferred_channel", "postduif", "pl", False, "not a known channel"),
    ],
)
def test_an_unknown_language_or_channel_keeps_the_row_and_is_reported(
    column: str, value: str, language: str, preferred: bool, detail: str
) -> None:
    row = person(
        relation_id="R-1",
        email="a@example.nl",
        **{"language": "Pools", "preferred_channel": "mail", column: value},
    )
    snapshot = snapshot_from_rows(
        [{**row, ROW_NUMBER: "7"}], None, date_format=DATE_FORMAT, today=TODAY, columns=COLUMNS
    )
    (resident,) = snapshot.residents  # the row is used: the register can do without the word
    assert resident.language == language
    assert resident.contacts == (ContactPoint(ContactKind.EMAIL, "a@example.nl", preferred),)
    (finding,) = snapshot.rejected
    assert (finding.reason, finding.entity, finding.source_id, finding.unit_code) == (
        RejectReason.UNKNOWN_VALUE,
        EntityKind.RESIDENT,
        "R-1",
        "U1",
    )
    assert finding.detail.startswith("row 7, column ") and detail in finding.detail
    assert value not in finding.detail
    valid = validate(snapshot)  # a finding holds nothing: the resident and its lease are stored
    assert "R-1" in valid.residents and len(valid.leases) == 1
    assert not any(valid.held.values())


# --- mapping ------------------------------------------------------------------------------------


def test_co_tenants_share_one_lease_with_roles_from_the_column() -> None:
    snapshot = mapped(
        [
            person(relation_id="R-1", role="HUU", lease_id="HC-1"),
            person(relation_id="R-2", role="MDH", lease_id="HC-1", initials="A.", surname="Vries"),
        ]
    )
    (lease,) = snapshot.leases
    assert lease.lease_id == "HC-1"
    assert lease.kind is AgreementKind.RENTAL
    assert lease.parties[0].role is PartyRole.TENANT
    assert lease.parties[1].role is PartyRole.CO_TENANT
    assert [r.relation_id for r in snapshot.residents] == ["R-1", "R-2"]


def test_without_role_and_ids_the_first_row_is_the_tenant_and_ids_are_derived() -> None:
    rows = [person(), person(initials="A.", surname="de Vries", tussenvoegsel="")]
    snapshot = mapped(rows)
    (lease,) = snapshot.leases
    assert lease.lease_id == derived_lease_id("U1", date(2020, 1, 1)) == "U1/2020-01-01"
    assert [p.role for p in lease.parties] == [PartyRole.TENANT, PartyRole.CO_TENANT]
    ids = [r.relation_id for r in snapshot.residents]
    assert len(set(ids)) == 2
    assert all(i.startswith("sheet-") and "jansen" not in i.lower() for i in ids)


def test_derived_ids_are_stable_across_reimports() -> None:
    first = mapped([person(email="j@example.nl")])
    # A later export adds the first name and a phone number: the same person, the same ids.
    again = mapped([person(email="j@example.nl", first_name="Jan", mobile="0600000009")])
    assert first.residents[0].relation_id == again.residents[0].relation_id
    assert first.leases[0].lease_id == again.leases[0].lease_id
    other_unit = mapped([person(unit_code="U2", house_number="3")])
    assert other_unit.residents[0].relation_id != first.residents[0].relation_id


def test_owner_occupiers_get_a_purchase_and_the_owner_role() -> None:
    snapshot = mapped(
        [
            person(tenure="koop", lease_id="K-1", relation_id="R-1"),  # no role: the tenure says
            person(tenure="koop", lease_id="K-1", relation_id="R-2", initials="L."),
            person(
                unit_code="U2",
                house_number="2",
                tenure="particulier",
                role="eigenaar",
                relation_id="R-3",
            ),
        ]
    )
    tenures = {u.code: u.tenure for u in snapshot.units}
    assert tenures == {"U1": Tenure.OWNER_OCCUPIED, "U2": Tenure.OWNER_OCCUPIED}
    assert all(lease.kind is AgreementKind.PURCHASE for lease in snapshot.leases)
    roles = {p.role for lease in snapshot.leases for p in lease.parties}
    assert roles == {PartyRole.OWNER_OCCUPIER}


def test_vacant_units_have_no_lease_and_no_residents() -> None:
    snapshot = mapped(
        [
            unit_row(tenure="huur"),
            # Lease columns on a row without a resident describe nobody: ignored.
            unit_row(
                unit_code="U2",
                house_number="2",
                tenure="leegstand",
                lease_id="OLD-1",
                lease_start="01-01-2000",
            ),
        ]
    )
    assert [u.tenure for u in snapshot.units] == [Tenure.VACANT, Tenure.VACANT]
    assert snapshot.leases == []
    assert snapshot.residents == []
    assert snapshot.rejected == []


@pytest.mark.parametrize(
    ("end", "status"),
    [
        ("", LeaseStatus.RUNNING),
        ("27-11-2026", LeaseStatus.ENDED),
        ("28-11-2026", LeaseStatus.TERMINATED),  # still lives there today
        ("31-01-2027", LeaseStatus.TERMINATED),
        ("31-12-9999", LeaseStatus.RUNNING),  # an ERP's way of writing "no end date"
        ("2026-01-31", LeaseStatus.ENDED),  # ISO is always understood
    ],
)
def test_lease_status_follows_the_end_date(end: str, status: LeaseStatus) -> None:
    (lease,) = mapped([person(lease_end=end)]).leases
    assert lease.status is status


def test_contact_points_and_the_preferred_channel() -> None:
    (resident,) = mapped(
        [
            person(
                email="a@example.nl; b@example.nl",
                mobile="612345678",
                phone="030-0000001",
                preferred_channel="Telefoon",
                language="Pools",
            )
        ]
    ).residents
    assert resident.contacts == (
        ContactPoint(ContactKind.EMAIL, "a@example.nl"),
        ContactPoint(ContactKind.EMAIL, "b@example.nl"),
        ContactPoint(ContactKind.MOBILE, "0612345678"),
        ContactPoint(ContactKind.PHONE, "030-0000001", preferred=True),
    )
    assert resident.preferred_contact == ContactPoint(
        ContactKind.PHONE, "030-0000001", preferred=True
    )
    assert resident.language == "pl"


def test_organisation_tenant_has_no_person_name() -> None:
    (resident,) = mapped(
        [unit_row(organisation_name="Stichting Voorbeeld", relation_id="R-9", lease_start="")]
    ).residents
    assert resident.is_organisation
    assert resident.organisation_name == "Stichting Voorbeeld"


def test_address_parts_and_unit_columns_filled_on_the_first_row_only() -> None:
    rows = [
        person(
            house_number="12 a", postcode="3511ab", street="  Oude   Gracht ", relation_id="R-1"
        ),
        {
            "unit_code": "U1",
            "initials": "A.",
            "surname": "Vries",
            "relation_id": "R-2",
            "lease_start": "01-01-2020",
            "street": "",
            "house_number": "",
        },
    ]
    snapshot = mapped(rows)
    (unit,) = snapshot.units
    assert unit.address.street_line == "Oude Gracht 12 A"
    assert unit.address.postcode == "3511 AB"
    assert unit.vera_id == unit.code == "U1"
    assert unit.complex_code == "C1"
    assert len(snapshot.leases[0].parties) == 2


def test_separate_letter_and_addition_columns_win() -> None:
    (unit,) = mapped(
        [unit_row(house_number="16", house_letter="a", house_number_addition="3")]
    ).units
    assert (unit.address.number, unit.address.letter, unit.address.addition) == (16, "A", "3")
    assert unit.address.house_number == "16 A3"


def test_units_outside_the_complexes_count_as_out_of_scope() -> None:
    rows = [
        person(),
        person(unit_code="U2", complex_code="C9"),
        unit_row(unit_code="", complex_code="C9"),  # no code, but not ours either
    ]
    snapshot = mapped(rows, ["C1"])
    assert [u.code for u in snapshot.units] == ["U1"]
    assert snapshot.out_of_scope_by == {EntityKind.UNIT: 2, EntityKind.RESIDENT: 1}
    assert snapshot.rejected == []
    # An export without a complex column cannot be filtered: everything is in scope.
    no_column = [{k: v for k, v in row.items() if k != "complex_code"} for row in rows[:2]]
    assert len(mapped(no_column, ["C1"]).units) == 2


# --- rows kept aside ----------------------------------------------------------------------------

REJECT_CASES = [
    (
        "missing unit code",
        person(unit_code=" "),
        RejectReason.MISSING_UNIT_CODE,
        "row 2: column 'VHE-nummer' (unit_code) is empty",
    ),
    (
        "bad postcode",
        person(postcode="1234 A"),
        RejectReason.INVALID_POSTCODE,
        "row 2, column 'Postcode' (postcode): not a Dutch postcode",
    ),
    (
        "postcode letters PostNL never issues",
        person(postcode="1234 SS"),
        RejectReason.INVALID_POSTCODE,
        "row 2, column 'Postcode' (postcode)",
    ),
    (
        "missing street",
        person(street=""),
        RejectReason.MISSING_ADDRESS,
        "row 2: unit U1 has no value in column(s) 'Straat' (street)",
    ),
    (
        "house number without a number",
        person(house_number="achter"),
        RejectReason.MISSING_ADDRESS,
        "row 2, column 'Huisnummer' (house_number): does not start with a house number",
    ),
    (
        "bad start date",
        person(lease_start="31-02-2020"),
        RejectReason.INVALID_DATE,
        "row 2, column 'Ingangsdatum' (lease_start): not a date",
    ),
    (
        "bad end date",
        person(lease_end="gisteren"),
        RejectReason.INVALID_DATE,
        "row 2, column 'Einddatum' (lease_end): not a date",
    ),
    (
        "unknown role",
        person(role="onderhuurder"),
        RejectReason.MALFORMED,
        "row 2, column 'Rol' (role): unknown role 'onderhuurder'",
    ),
    (
        "unknown tenure",
        person(tenure="erfpacht"),
        RejectReason.MALFORMED,
        "row 2, column 'Eigendom' (tenure): unknown tenure 'erfpacht'",
    ),
    (
        "contact details without a name",
        unit_row(email="x@example.nl"),
        RejectReason.MALFORMED,
        "row 2: contact details without a name or column 'Relatienummer' (relation_id)",
    ),
    (
        "reader found the row broken",
        {**person(), ROW_ERROR: "20 cells where the header has 18"},
        RejectReason.MALFORMED,
        "row 2: 20 cells where the header has 18",
    ),
    (
        "a cell that is not text",
        {**person(), "surname": 12},
        RejectReason.MALFORMED,
        "row 2: column surname holds a int, not text",
    ),
]


@pytest.mark.parametrize(
    ("bad", "reason", "detail"),
    [case[1:] for case in REJECT_CASES],
    ids=[case[0] for case in REJECT_CASES],
)
def test_each_reject_reason_keeps_the_row_aside_and_the_rest_goes_on(
    bad: dict[str, Any], reason: RejectReason, detail: str
) -> None:
    good = person(unit_code="U9", house_number="9", relation_id="R-9", surname="Smit")
    rows = [{**bad, ROW_NUMBER: "2"}, {**good, ROW_NUMBER: "3"}]
    snapshot = snapshot_from_rows(
        rows, ["C1"], date_format=DATE_FORMAT, today=TODAY, columns=COLUMNS
    )
    (rejected,) = snapshot.rejected
    assert rejected.reason is reason
    assert rejected.entity is EntityKind.UNIT
    assert rejected.detail.startswith(detail)
    assert "Jansen" not in rejected.detail and "J." not in rejected.detail
    assert [u.code for u in snapshot.units] == ["U9"]  # the rest went on
    assert "R-9" in {r.relation_id for r in snapshot.residents}
    if reason is not RejectReason.MISSING_UNIT_CODE:
        assert rejected.unit_code == rejected.source_id == "U1"
        # validate() then holds the stored unit: the sync leaves it as it was.
        assert "U1" in validate(snapshot).held[EntityKind.UNIT]


def test_rows_that_disagree_on_the_address_keep_the_unit_aside() -> None:
    rows = [
        {**person(relation_id="R-1", lease_id="HC-1"), ROW_NUMBER: "4"},
        {
            **person(relation_id="R-2", lease_id="HC-1", initials="A.", house_number="14"),
            ROW_NUMBER: "5",
        },
        {**person(unit_code="U2", house_number="2", relation_id="R-3"), ROW_NUMBER: "6"},
    ]
    snapshot = snapshot_from_rows(rows, None, date_format=DATE_FORMAT, today=TODAY)
    (rejected,) = snapshot.rejected
    assert rejected.reason is RejectReason.CONFLICTING_DUPLICATE
    assert rejected.unit_code == "U1"
    assert rejected.detail == "rows 4 and 5 give unit U1 different values in column house_number"
    assert [u.code for u in snapshot.units] == ["U2"]
    # Its lease is still delivered so validate() keeps the stored one instead of ending it.
    assert "HC-1" in {lease.lease_id for lease in snapshot.leases}
    valid = validate(snapshot)
    assert "HC-1" in valid.held[EntityKind.LEASE]
    assert "HC-1" not in valid.leases


@pytest.mark.parametrize(
    ("second", "column"),
    [
        ({"postcode": "3511ab"}, None),  # the same postcode written differently agrees
        ({"street": "KERKSTRAAT"}, None),
        ({"house_number": "1", "tenure": "sociale huur"}, None),  # same tenure category
        ({"postcode": "3511 AC"}, "postcode"),
        ({"town": "Zeist"}, "town"),
        ({"tenure": "koop"}, "tenure"),
        ({"complex_code": "C2"}, "complex_code"),
        ({"lease_end": "01-01-2030"}, "'Einddatum' (lease_end)"),
    ],
)
def test_which_differences_between_rows_of_a_unit_conflict(
    second: dict[str, str], column: str | None
) -> None:
    rows = [
        person(relation_id="R-1", lease_id="HC-1"),
        {**person(relation_id="R-2", lease_id="HC-1", initials="A."), **second},
    ]
    snapshot = snapshot_from_rows(rows, None, date_format=DATE_FORMAT, today=TODAY, columns=COLUMNS)
    if column is None:
        assert snapshot.rejected == []
        assert len(snapshot.units) == 1
    else:
        (rejected,) = snapshot.rejected
        assert rejected.reason is RejectReason.CONFLICTING_DUPLICATE
        assert column in rejected.detail
        assert snapshot.units == []


def test_one_relation_twice_in_a_unit_with_different_details_conflicts() -> None:
    rows = [
        person(relation_id="R-1", email="a@example.nl"),
        person(relation_id="R-1", email="b@example.nl"),
    ]
    (rejected,) = mapped(rows).rejected
    assert rejected.reason is RejectReason.CONFLICTING_DUPLICATE
    assert "relation R-1" in rejected.detail
    assert "example" not in rejected.detail


# --- issue 9: hostile but legal exports ---------------------------------------------------------


def test_a_unit_without_a_postcode_is_kept_and_an_invalid_one_still_kept_aside() -> None:
    snapshot = mapped(
        [
            person(postcode=""),
            person(unit_code="U2", house_number="2", postcode="12AB", relation_id="R-2"),
        ]
    )
    (unit,) = snapshot.units
    assert (unit.code, unit.address.postcode, unit.address.postally_complete) == ("U1", "", False)
    assert [(r.unit_code, r.reason) for r in snapshot.rejected] == [
        ("U2", RejectReason.INVALID_POSTCODE)
    ]


def test_role_dates_decide_who_is_in_the_household() -> None:
    snapshot = mapped(
        [
            person(relation_id="R-1", role="huurder", lease_id="HC-1"),
            person(
                relation_id="R-2",
                surname="Bakker",
                role="medehuurder",
                lease_id="HC-1",
                role_start="01-06-2021",
                role_end="31-12-2025",
            ),
        ]
    )
    (lease,) = snapshot.leases
    assert lease.parties == (
        LeaseParty("R-1", PartyRole.TENANT),
        LeaseParty("R-2", PartyRole.CO_TENANT, date(2021, 6, 1), date(2025, 12, 31)),
    )
    residents = {r.relation_id: r for r in snapshot.residents}
    household = household_of(snapshot.units[0], [lease], residents, TODAY)
    assert [r.relation_id for r in household.residents] == ["R-1"]


def test_an_unreadable_role_date_keeps_the_unit_aside() -> None:
    snapshot = mapped([person(role_end="ooit")])
    assert [(r.reason, r.detail) for r in snapshot.rejected] == [
        (
            RejectReason.INVALID_DATE,
            "row 1, column role_end: not a date (expected %d-%m-%Y or YYYY-MM-DD)",
        )
    ]


def test_the_official_short_street_name_is_read_and_checked() -> None:
    (unit,) = mapped(
        [
            person(
                street="Burgemeester van Nispen tot Sevenaerstraat",
                street_short="Burg v N t Sevenaerstr",
            )
        ]
    ).units
    assert unit.address.street_short == "Burg v N t Sevenaerstr"
    too_long = mapped([person(street_short="Burgemeester van Nispen tot Sev")])
    (unit,) = too_long.units
    assert unit.address.street_short == ""
    (finding,) = too_long.rejected
    assert finding.reason is RejectReason.UNKNOWN_VALUE
    assert "longer than 24 characters" in finding.detail
    assert "Burgemeester" not in finding.detail


def test_hostile_names_are_cleaned_and_bad_e_mail_addresses_kept_on_their_point() -> None:
    snapshot = mapped(
        [
            person(
                relation_id="R-1",
                initials="J.\u202e",
                surname="Jan\r\nsen\x00",
                street="Kerk\x1bstraat\r\n",
                email="geen-adres; ayşe@bücher.example",
                mobile="0612345678",
            )
        ]
    )
    (unit,) = snapshot.units
    (resident,) = snapshot.residents
    assert unit.address.street == "Kerkstraat"
    assert resident.name is not None
    assert (resident.name.initials, resident.name.surname) == ("J.", "Jan sen")
    bad, good = resident.contacts[:2]
    assert (bad.value, bad.usable) == ("geen-adres", False)
    assert bad.problem == "e-mail address not usable: it has no @-sign"
    assert (good.value, good.usable) == ("ayşe@xn--bcher-kva.example", True)
    assert resident.contact(ContactKind.EMAIL) == "ayşe@xn--bcher-kva.example"
    assert snapshot.rejected == []  # the resident and the household are used


def test_an_e_mail_cell_is_split_only_where_every_part_is_an_address() -> None:
    (two,) = mapped([person(email="a@example.nl b@example.nl")]).residents
    assert [c.value for c in two.contacts] == ["a@example.nl", "b@example.nl"]
    (one,) = mapped([person(email="{{ user }}@example.com")]).residents
    (point,) = one.contacts
    assert (point.value, point.usable) == ("{{ user }}@example.com", False)
