"""The register as data: the export agrees with the store, and its files are safe to open."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import openpyxl
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.cli.register_files import CSV_COLUMNS, to_csv, to_json, write_xlsx
from keukentafel.domain.model import (
    Address,
    ContactKind,
    ContactPoint,
    LeaseParty,
    PartyRole,
    PersonName,
    household_of,
)
from keukentafel.domain.register import EntityKind, RejectedRow, RejectReason
from keukentafel.letters.context import address_lines
from keukentafel.store.repositories import RegisterRepository, SyncRunRepository
from keukentafel.usecases.register_export import export_register
from tests import builders
from tests.builders import CORP, run

ON = date(2026, 11, 28)


def _hostile_register(sessions: sessionmaker[Session]) -> None:
    snap = builders.register(4)
    snap.units[0] = replace(snap.units[0], address=Address("Molenweg", 4, "", "Ons Dorp", "B", "2"))
    lease = snap.leases[1]
    snap.leases[1] = replace(
        lease,
        parties=(
            *lease.parties,
            LeaseParty("R90", PartyRole.CO_TENANT, date(2015, 3, 1), date(2026, 6, 30)),
        ),
    )
    snap.residents.append(replace(builders.resident(90), name=PersonName("=HYPERLINK(1)", "@A.")))
    snap.residents[2] = replace(
        snap.residents[2],
        contacts=(
            ContactPoint(
                ContactKind.EMAIL, "geen", True, "e-mail address not usable: it has no @-sign"
            ),
            ContactPoint(ContactKind.MOBILE, "06-12345678"),
        ),
    )
    snap.leases.pop(3)  # unit 4 is vacant
    snap.rejected += [
        RejectedRow(EntityKind.UNIT, "E77", "VHE00077", RejectReason.INVALID_POSTCODE, "postcode"),
        RejectedRow(EntityKind.LEASE, "OVK-9", "", RejectReason.MISSING_UNIT_CODE, "=1+1"),
    ]
    run(sessions, snap)


def test_the_export_is_the_store_unit_by_unit(sessions: sessionmaker[Session]) -> None:
    _hostile_register(sessions)
    export = export_register(sessions, CORP, ON, address_lines)
    with sessions() as session:
        register = RegisterRepository(session, CORP)
        units, leases, residents = register.units(), register.leases(), register.residents()
        runs = SyncRunRepository(session, CORP)
        latest = runs.latest()
        assert latest is not None
        rejected = runs.rejected_of(latest.id)
    assert [u.code for u in export.units] == sorted(units)
    for exported in export.units:
        unit = units[exported.code]
        current = [
            lease
            for lease in leases.values()
            if lease.unit_code == unit.code and lease.is_current(ON)
        ]
        assert (exported.erp_id, exported.complex_code, exported.tenure) == (
            unit.vera_id,
            unit.complex_code,
            unit.tenure.value,
        )
        assert exported.postally_complete == bool(unit.address.postcode)
        household = household_of(unit, current, residents, ON)
        assert list(exported.address_lines) == address_lines(household)
        assert [
            (p.lease_id, p.relation_id, p.role, p.start_date, p.end_date) for p in exported.parties
        ] == [
            (lease.lease_id, p.relation_id, p.role, p.start_date, p.end_date)
            for lease in current
            for p in lease.parties
        ]
        assert {p.relation_id for p in exported.parties if p.in_household} == {
            r.relation_id for r in household.residents
        }
    by_code = {u.code: u for u in export.units}
    assert by_code["VHE00001"].address_lines[-2:] == ("Molenweg 4 B2", "ONS DORP")
    assert not by_code["VHE00001"].postally_complete
    ended = next(p for p in by_code["VHE00002"].parties if p.relation_id == "R90")
    assert (ended.end_date, ended.in_household) == (date(2026, 6, 30), False)
    (problem,) = by_code["VHE00003"].contact_problems
    assert (problem.relation_id, problem.kind, problem.problem) == (
        "R3",
        ContactKind.EMAIL,
        "e-mail address not usable: it has no @-sign",
    )
    assert by_code["VHE00004"].parties == ()
    assert [
        (k.entity, k.unit_code, k.source_id, k.reason, k.detail) for k in export.kept_aside
    ] == [(r.entity, r.unit_code, r.source_id, r.reason, r.detail) for r in rejected]


def test_json_csv_and_xlsx_say_the_same_and_never_start_a_formula(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    _hostile_register(sessions)
    export = export_register(sessions, CORP, ON, address_lines)
    data = json.loads(to_json(export))
    assert data["corporation"] == CORP and data["on"] == "2026-11-28"
    assert [u["unit_code"] for u in data["units"]] == [u.code for u in export.units]
    second = data["units"][1]
    assert second["parties"][1] == {
        "lease_id": "L2",
        "relation_id": "R90",
        "role": "co_tenant",
        "role_start": "2015-03-01",
        "role_end": "2026-06-30",
        "in_household": False,
    }
    assert data["kept_aside"][1]["source_id"] == "OVK-9"

    rows = list(csv.DictReader(io.StringIO(to_csv(export)), delimiter=";"))
    assert list(rows[0]) == CSV_COLUMNS
    units = [r for r in rows if r["record"] == "unit"]
    kept = [r for r in rows if r["record"] == "kept_aside"]
    assert len(units) == sum(max(1, len(u.parties)) for u in export.units)
    assert [r["source_id"] for r in kept] == ["E77", "OVK-9"]
    assert kept[1]["detail"] == "'=1+1"  # escaped: a spreadsheet shows it as text
    r90 = next(r for r in units if r["relation_id"] == "R90")
    assert (r90["role_end"], r90["in_household"]) == ("2026-06-30", "no")
    r3 = next(r for r in units if r["relation_id"] == "R3")
    assert r3["contact_problems"] == "email: e-mail address not usable: it has no @-sign"
    for row in rows:
        for value in row.values():
            assert not value or value[0] not in "=+-@\t\r\n"

    path = tmp_path / "register.xlsx"
    write_xlsx(export, path)
    book = openpyxl.load_workbook(path)
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value]
    assert all(c.data_type == "s" for c in cells)  # never a formula, never a number
    values = [c.value for c in cells]
    assert "'=1+1" in values
    assert book.sheetnames == ["register", "kept aside"]
    assert book["register"].max_row == len(units) + 1
