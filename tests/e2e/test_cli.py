"""The command line as an operator uses it: the demo end to end, and readable errors."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keukentafel.cli.app import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_runs_every_capability_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    env = {**os.environ, "COLUMNS": "160"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from keukentafel.cli.app import app; app()",
            "demo",
            "--units",
            "400",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = done.stdout
    for step in (
        "1. Register sync",
        "2. A week later",
        "3. The same sync again",
        "4. The register",
        "5. The guidance team",
        "6. A mailing",
        "7. The outbox again",
        "8. The evening starts half an hour later",
        "9. The register as data",
        "10. An access request",
        "11. Two years after HAVEN-SLOOP ended",
        "12. Consent: scanned answer forms",
        "13. The 70% tally",
        "14. The 70% notice",
        "15. The renovation's contractor",
        "16. The resident's own page",
        "17. The consent report",
    ):
        assert step in text
    # consent: the import sets aside what it cannot take, a second import adds nothing, the
    # tally meets 70%, the notice goes out with its last days, the report is written
    assert "a formula, not a value" in text and "unknown_unit" in text
    assert "The same list imported again: 0 recorded" in text
    assert "applies" in text and "last day to go to court" in text
    reports = sorted((out / "consent").glob("DIJK-RENO-consent-*"))
    assert [p.suffix for p in reports] == [".pdf", ".xlsx"]
    assert text.rstrip().splitlines()[-1].startswith("Demo output and store:")
    assert "XLSX (with names)" in text.split("17. The consent report")[1]
    flat = " ".join(text.split())  # rich wraps long lines
    assert "answered 200 at /woning (with the answer form)" in flat
    assert "agreed on the page, confirming with their name (HTTP 200): now agreed" in flat
    assert "Then open http://127.0.0.1:8000/antwoord/v1." in flat and "type the code" in flat
    assert (out / "web.env").stat().st_mode & 0o077 == 0  # the secrets: for the owner only
    _serve_it_yourself(out / "web.env", flat.split("Then open http://127.0.0.1:8000")[1].split()[0])
    assert "Session MODEL-1 is full" in flat
    assert "received 3 signed webhook(s)" in flat and "without the token: HTTP 401" in flat
    assert "was received before: nothing applied again" in flat
    assert "(0 repeat(s) applied once)" in flat and "contact moment(s)" in flat
    contractor = out / "contractor"
    assert (contractor / "export.csv").read_bytes().startswith(b"\xef\xbb\xbfeenheid;")
    assert (contractor / "export.xlsx").read_bytes()[:2] == b"PK"
    assert (contractor / "calendar.ics").read_bytes().count(b"BEGIN:VEVENT") == 4
    assert len(list((out / "afspraken").glob("*/*/archief/*.pdf"))) == 9  # 7 planned, 2 delayed
    assert len(list((out / "afspraken").glob("*/*/agenda/*.ics"))) == 9
    assert list((out / "afspraken").glob("*/*/email/*.eml"))
    assert '"unit_code": "VHE' in text and '"address_lines": [' in text
    assert '"role": "co_tenant"' in text and "contact point(s) kept aside" in text
    assert "invalid_postcode" in text
    assert "move_out" in text and "move_in" in text and "contact_changed" in text
    infos = sorted(p for p in (out / "mailings").iterdir() if "info_evening" in p.name)
    mailing, update = infos  # the first, and its correction
    assert any(mailing.glob("*-drukwerk.pdf")) and any(mailing.glob("*-manifest.csv"))
    assert any((mailing / "email").glob("*.eml")) and any((mailing / "agenda").glob("*.ics"))
    letters = len(list((mailing / "archief").glob("*.pdf")))
    assert letters > 10
    # the closing keeps with the last paragraph: Dutch letters take one sheet, not two
    manifest = (mailing / next(mailing.glob("*-manifest.csv")).name).read_text("utf-8-sig")
    pages = [int(row.split(";")[6]) for row in manifest.splitlines()[1:]]
    assert sum(pages) < 1.5 * letters
    assert update.name.endswith("-bewonersavond-2027-01-verzet")
    assert "Correction of mailing bewonersavond-2027-01" in text
    updated = next((update / "email").glob("*.eml")).read_bytes()
    assert b"Subject: Gewijzigd: " in updated and b"SEQUENCE:1" in updated
    (export,) = (out / "privacy" / "exports").rglob("inzage-*.json")
    residents = json.loads(export.read_text(encoding="utf-8"))["sections"]["residents"]
    assert residents and all(r["surname"] not in text for r in residents)
    assert "Access export of unit" in text and "Units purged:" in text
    assert "The purge again: 0 more item(s) removed." in text
    later = out / "two-years-later"
    assert not list((later / "privacy" / "exports").rglob("*.json"))
    assert not list(later.glob("mailings/HAVEN-SLOOP-*/*-drukwerk.pdf"))


def test_config_errors_name_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "corp.yaml"
    bad.write_text(
        (ROOT / "config" / "demo.yaml").read_text().replace("kind: demolition", "kind: knock_down")
    )
    result = CliRunner().invoke(app, ["register", "--config", str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.output.replace("\n", "") or "corp.yaml" in result.output
    assert "projects.1.kind" in result.output


def test_letters_check_passes_on_the_shipped_templates() -> None:
    result = CliRunner().invoke(app, ["letters", "check"])
    assert result.exit_code == 0, result.output
    assert "announcement: ok" in result.output and "consent_reached: ok" in result.output


def test_letters_calibrate_writes_the_window_page(tmp_path: Path) -> None:
    out = tmp_path / "calibration.pdf"
    result = CliRunner().invoke(
        app,
        ["letters", "calibrate", "--config", str(ROOT / "config" / "demo.yaml"), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF") and "x=20.0 y=50.0" in result.output


def _synced_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, households: int) -> None:
    """A SQLite store in ``tmp_path`` synced with generated households (complex CPX-0001, as
    config/demo.yaml's projects read), and KEUKENTAFEL_DATABASE_URL pointing the commands at it."""
    from keukentafel.bootstrap import CorporationRegistry, build
    from keukentafel.settings import Settings
    from keukentafel.usecases.sync_register import sync_register
    from tests import builders
    from tests.builders import StaticSource

    url = f"sqlite:///{tmp_path / 'store.db'}"
    snapshot = builders.register(households)
    snapshot.units = [replace(u, complex_code="CPX-0001") for u in snapshot.units]
    settings = Settings.from_env({"KEUKENTAFEL_DATABASE_URL": url})
    with build(settings, corporations=CorporationRegistry([])) as seeded:
        sync_register(seeded.sessions, "WSD", StaticSource(snapshot))
    monkeypatch.setenv("KEUKENTAFEL_DATABASE_URL", url)


def test_letters_preview_renders_one_household_from_the_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _synced_store(tmp_path, monkeypatch, households=3)
    out = tmp_path / "preview"
    args = [
        "letters",
        "preview",
        "announcement",
        "--unit",
        "VHE00002",
        "--config",
        str(ROOT / "config" / "demo.yaml"),
    ]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = next(out.glob("*.html")).read_text(encoding="utf-8")
    assert "Jansen2" in html and "Dorpsstraat 2" in html
    assert next(out.glob("*.pdf")).read_bytes().startswith(b"%PDF")
    unknown = CliRunner().invoke(app, [*args[:3], "--unit", "VHE99999", *args[5:]])
    assert unknown.exit_code == 2 and "not in the register" in unknown.output


def test_a_letter_made_by_hand_is_dated_today_in_amsterdam_whatever_the_machines_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, machine_on_another_day: date
) -> None:
    from keukentafel.letters.context import nl_date
    from tests import builders

    _synced_store(tmp_path, monkeypatch, households=1)
    args = ["letters", "preview", "announcement", "--unit", "VHE00001"]
    config = ["--config", str(ROOT / "config" / "demo.yaml"), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, *config])
    assert result.exit_code == 0, result.output
    html = next((tmp_path / "out").glob("*.html")).read_text(encoding="utf-8")
    today = builders.local_today()
    assert today != machine_on_another_day
    assert nl_date(today) in html and nl_date(machine_on_another_day) not in html


def test_register_and_the_default_corporation_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEUKENTAFEL_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("KEUKENTAFEL_CONFIG", str(ROOT / "config" / "demo.yaml"))
    result = CliRunner().invoke(app, ["register"])
    assert result.exit_code == 0, result.output
    assert "Register of WSD: never synced" in result.output
    assert "DIJK-RENO Renovatie Dijkwijk" in result.output


def test_register_as_json_csv_and_xlsx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import openpyxl

    _synced_store(tmp_path, monkeypatch, households=3)
    monkeypatch.setenv("KEUKENTAFEL_CONFIG", str(ROOT / "config" / "demo.yaml"))
    runner = CliRunner()
    as_json = runner.invoke(app, ["register", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert [u["unit_code"] for u in data["units"]] == ["VHE00001", "VHE00002", "VHE00003"]
    assert data["units"][0]["address_lines"][-2:] == ["Dorpsstraat 1", "1234 AB  ONS DORP"]
    as_csv = runner.invoke(app, ["register", "--format", "csv"])
    assert as_csv.exit_code == 0 and as_csv.stdout.startswith("record;unit_code;erp_id;")
    xlsx = tmp_path / "register.xlsx"
    written = runner.invoke(app, ["register", "--format", "xlsx", "--output", str(xlsx)])
    assert written.exit_code == 0, written.output
    assert openpyxl.load_workbook(xlsx)["register"]["B2"].value == "VHE00001"
    no_file = runner.invoke(app, ["register", "--format", "xlsx"])
    assert no_file.exit_code == 2 and "give --output FILE" in no_file.output
    unknown = runner.invoke(app, ["register", "--format", "pdf"])
    assert unknown.exit_code == 2 and "--format must be one of" in unknown.output


def test_commands_say_what_is_missing_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEUKENTAFEL_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("KEUKENTAFEL_CONFIG", str(ROOT / "config" / "demo.yaml"))
    demo = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
    bare = tmp_path / "bare.yaml"
    bare.write_text(demo[: demo.index("letters:")], encoding="utf-8")
    send = ["mailing", "send", "info_evening", "--project", "HAVEN-SLOOP"]
    cases: list[tuple[list[str], dict[str, str], str]] = [
        (["letters", "calibrate", "-c", str(bare)], {}, "the 'letters' section is missing"),
        (["team", "pull", "-c", str(bare)], {}, "the 'm365' section is missing"),
        (["sync", "-c", str(tmp_path / "none.yaml")], {}, "cannot read"),
        ([*send, "-c", str(bare)], {}, "the 'letters' section is missing"),
        (send, {}, "KEUKENTAFEL_LINK_SECRET is unset"),
        (
            send,
            {"KEUKENTAFEL_LINK_SECRET": "x" * 32},
            "KEUKENTAFEL_LINK_SECRET does not look random",
        ),
        (send, {"KEUKENTAFEL_LINK_SECRET": secrets.token_urlsafe(32)}, "give --content FILE"),
    ]
    for args, env, message in cases:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split())
        assert "Traceback" not in result.output


def _serve_it_yourself(env_file: Path, path: str) -> None:
    """What ``env $(cat web.env) keukentafel web`` serves (keukentafel/cli/web.py builds the same
    App from the environment) opens the printed link on the household's page."""
    from fastapi.testclient import TestClient

    from keukentafel.bootstrap import build
    from keukentafel.settings import Settings

    env = dict(line.split("=", 1) for line in env_file.read_text(encoding="utf-8").splitlines())
    with build(Settings.from_env(env)) as served, TestClient(served.web()) as browser:
        page = browser.get(path, follow_redirects=True)
    assert page.status_code == 200 and page.url.path == "/woning"
    assert "Uw antwoord" in page.text
