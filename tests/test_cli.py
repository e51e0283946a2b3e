"""The command line as an operator uses it: the demo end to end, and readable errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from keukentafel.cli import app

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_every_capability_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    env = {**os.environ, "COLUMNS": "160"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from keukentafel.cli import app; app()",
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
    ):
        assert step in text
    assert "invalid_postcode" in text
    assert "move_out" in text and "move_in" in text and "contact_changed" in text
    mailing = next((out / "mailings").iterdir())
    assert any(mailing.glob("*-drukwerk.pdf")) and any(mailing.glob("*-manifest.csv"))
    assert any((mailing / "email").glob("*.eml")) and any((mailing / "agenda").glob("*.ics"))
    assert len(list((mailing / "archief").glob("*.pdf"))) > 10


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
