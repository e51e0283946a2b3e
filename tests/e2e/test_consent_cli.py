"""The ``keukentafel consent`` commands as an operator uses them, on a store seeded through the
real sync, with the demo's corporation file (its renovation project has a consent profile)."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from keukentafel.cli.app import app
from keukentafel.domain.consent import evaluate
from tests.builders import local_today

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "demo.yaml"
TODAY = local_today()
AGO = (TODAY - timedelta(days=20)).isoformat()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """12 rented homes and an owner in CPX-0001 (project DIJK-RENO) in a fresh store."""
    from keukentafel.bootstrap import CorporationRegistry, build
    from keukentafel.domain.model import LeaseParty, PartyRole
    from keukentafel.settings import Settings
    from keukentafel.usecases.sync_register import sync_register
    from tests import builders
    from tests.builders import StaticSource

    url = f"sqlite:///{tmp_path / 'store.db'}"
    snapshot = builders.register(13)
    snapshot.units = [replace(u, complex_code="CPX-0001") for u in snapshot.units]
    owner = snapshot.leases[12]
    snapshot.leases[12] = replace(owner, parties=(LeaseParty("R13", PartyRole.OWNER_OCCUPIER),))
    with build(
        Settings.from_env({"KEUKENTAFEL_DATABASE_URL": url}), corporations=CorporationRegistry([])
    ) as seeded:
        sync_register(seeded.sessions, "WSD", StaticSource(snapshot))
    monkeypatch.setenv("KEUKENTAFEL_DATABASE_URL", url)
    monkeypatch.setenv("KEUKENTAFEL_CONFIG", str(CONFIG))
    monkeypatch.setenv("KEUKENTAFEL_OUTPUT_DIR", str(tmp_path / "out"))
    return tmp_path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["consent", *args])
    return result.exit_code, result.output


PROJECT = ("--project", "DIJK-RENO")


def test_record_import_tally_household_and_report(store: Path) -> None:
    scan = store / "scan-0001.pdf"
    scan.write_bytes(b"%PDF the signed form of VHE00001")
    code, out = invoke(
        "record", *PROJECT, "--unit", "VHE00001", "--answer", "agree", "--by", "bea",
        "--at", f"{AGO}T10:15", "--evidence", str(scan),
    )  # fmt: skip
    assert code == 0 and out.startswith("recorded A-"), out
    code, out = invoke("record", *PROJECT, "--unit", "VHE00013", "--answer", "agree", "--by", "bea")
    assert code == 1 and "refused (owners_track)" in out
    code, out = invoke("record", *PROJECT, "--unit", "VHE00002", "--answer", "maybe", "--by", "b")
    assert code == 2 and "answer: must be one of agree | decline | withdraw" in out

    forms = store / "formulieren.csv"
    rows = [f"VHE{n:05d};akkoord;{AGO}" for n in range(2, 10)] + ["VHE00099;akkoord;" + AGO]
    forms.write_text("VHE;Antwoord;Datum\n" + "\n".join(rows) + "\n", encoding="utf-8")
    code, out = invoke("import", str(forms), *PROJECT, "--by", "bea")
    assert code == 0, out
    assert "9 row(s), 8 recorded, 1 set aside" in out and "unknown_unit" in out
    code, out = invoke("import", str(forms), *PROJECT, "--by", "bea")
    assert "0 recorded, 9 set aside" in out and "duplicate" in out

    code, out = invoke("tally", *PROJECT, "--units")
    assert code == 0, out
    assert "12 rented homes in scope" in out and "1 owners" in out
    assert "75.0000" in out and "applies" in out and "VHE00010" in out
    code, out = invoke("tally", *PROJECT, "--json")
    found = json.loads(out)
    assert found["ballots"][0]["fraction"] == "3/4"
    assert found["notice_recipients"]["whole"] == ["VHE00010", "VHE00011", "VHE00012"]
    code, out = invoke("household", *PROJECT, "--unit", "VHE00001")
    assert (
        code == 0 and "VHE00001 (corporation_rental)" in out and "R1 (tenant): whole agree" in out
    )
    code, out = invoke("household", *PROJECT, "--unit", "VHE77777")
    assert code == 2 and "not in project DIJK-RENO" in out

    ran_on = local_today()
    code, out = invoke("report", *PROJECT, "--out", str(store / "report"))
    assert code == 0, out
    # named after the command's day (Amsterdam's), also when the run crossed its midnight
    names = {path.name for path in (store / "report").iterdir()}
    assert any(
        {f"DIJK-RENO-consent-{day}.xlsx", f"DIJK-RENO-consent-{day}.pdf"} <= names
        for day in {ran_on.isoformat(), local_today().isoformat()}
    ), names


def test_the_notice_refuses_below_the_threshold_and_typed_units(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEUKENTAFEL_LINK_SECRET", secrets.token_urlsafe(32))
    content = store / "zeventig.yaml"
    content.write_text("mailing_id: zeventig-1\ndetails: {court_name: kantonrechter}\n")
    code, out = invoke("notice", *PROJECT, "--content", str(content))
    assert code == 2 and "0 of 12 agreed" in out.replace("\n", " ")
    typed = store / "typed.yaml"
    typed.write_text("mailing_id: z-2\nunits: [VHE00010]\ndetails: {court_name: kantonrechter}\n")
    result = CliRunner().invoke(
        app,
        ["mailing", "send", "consent_reached", *PROJECT, "--content", str(typed)],
    )
    assert result.exit_code == 2
    assert "units: consent_reached goes to the units the consent tally gives" in " ".join(
        result.output.split()
    )
    share = store / "share.yaml"
    share.write_text("mailing_id: z-3\ndetails: {share_text: 80%, court_name: kantonrechter}\n")
    result = CliRunner().invoke(
        app,
        ["mailing", "send", "consent_reached", *PROJECT, "--content", str(share)],
    )
    assert result.exit_code == 2 and "details.share_text" in result.output


def test_evaluate_prints_the_case_as_json(tmp_path: Path) -> None:
    past = TODAY - timedelta(days=60)
    case = {
        "project": {"code": "WHATIF", "kind": "renovation_occupied"},
        "profile": {"legal_basis": "art. 7:220 lid 3 BW", "min_homes": 2},
        "units": [{"code": f"U{n}", "tenure": "corporation_rental"} for n in range(1, 4)],
        "leases": [
            {"id": f"L{n}", "unit": f"U{n}", "start": "2020-01-01", "parties": [
                {"party": f"P{n}", "role": "tenant"}]}
            for n in range(1, 4)
        ],
        "answers": [
            {"unit": "U1", "answer": "agree", "at": past.isoformat(), "channel": "paper"},
            {"unit": "U2", "answer": "agree", "at": past.isoformat(), "channel": "web"},
            {"unit": "U3", "answer": "agree", "at": (TODAY + timedelta(days=9)).isoformat(),
             "channel": "web"},
        ],
    }  # fmt: skip
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(case), encoding="utf-8")
    code, out = invoke("evaluate", str(path), "--as-of", TODAY.isoformat(), "--json")
    assert code == 0, out
    found = json.loads(out)
    expected = evaluate(case, TODAY)
    assert found["ballots"] == expected["ballots"] and found["units"] == expected["units"]
    assert found["ballots"][0]["fraction"] == "2/3"
    assert [r["code"] for r in found["refused"]] == ["future_date"]
    code, out = invoke("evaluate", str(path))
    assert code == 0 and "whole: 2 of 3 agreed (66.6667%)" in out
    path.write_text("project: {code: X}\n", encoding="utf-8")
    code, out = invoke("evaluate", str(path), "--json")
    assert code == 2 and "invalid consent case" in out
