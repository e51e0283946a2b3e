"""The command line as an operator uses it: the demo end to end, and readable errors."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
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
    ):
        assert step in text
    assert "invalid_postcode" in text
    assert "move_out" in text and "move_in" in text and "contact_changed" in text
    mailing, update = sorted((out / "mailings").iterdir())  # the first, and its correction
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


def test_letters_preview_renders_one_household_from_the_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keukentafel.bootstrap import CorporationRegistry, build
    from keukentafel.settings import Settings
    from keukentafel.usecases.sync_register import sync_register
    from tests import builders
    from tests.builders import StaticSource

    url = f"sqlite:///{tmp_path / 'store.db'}"
    snapshot = builders.register(3)
    snapshot.units = [replace(u, complex_code="CPX-0001") for u in snapshot.units]
    settings = Settings.from_env({"KEUKENTAFEL_DATABASE_URL": url})
    with build(settings, corporations=CorporationRegistry([])) as seeded:
        sync_register(seeded.sessions, "WSD", StaticSource(snapshot))
    monkeypatch.setenv("KEUKENTAFEL_DATABASE_URL", url)
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


def test_register_and_the_default_corporation_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEUKENTAFEL_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("KEUKENTAFEL_CONFIG", str(ROOT / "config" / "demo.yaml"))
    result = CliRunner().invoke(app, ["register"])
    assert result.exit_code == 0, result.output
    assert "Register of WSD: never synced" in result.output
    assert "DIJK-RENO Renovatie Dijkwijk" in result.output


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
        (send, {"KEUKENTAFEL_LINK_SECRET": "x" * 32}, "give --content FILE"),
    ]
    for args, env, message in cases:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split())
        assert "Traceback" not in result.output
