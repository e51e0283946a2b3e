"""``keukentafel privacy`` as an operator uses it, on the sample of tests/privacy_sample.py (the
purge flow in Prefect with its artifacts is in tests/e2e/test_flows.py, beside the other flows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keukentafel.bootstrap import CorporationRegistry, build
from keukentafel.cli.app import app
from keukentafel.settings import Settings
from tests import privacy_sample as sample

CORPORATION_FILE = """
corporation: {code: PRV, name: Woonstichting Privé}
source:
  kind: vera
  vera:
    base_url: http://127.0.0.1:1/v4
    auth: {mode: api_key, api_key_env: PRV_VERA_KEY}
projects:
  - {code: P-OLD, name: Renovatie Oud, kind: renovation_occupied, complexes: [OLD, SHARED],
     end_date: 2023-06-30, retention_months: 12}
  - {code: P-NEW, name: Sloop Nieuw, kind: demolition, complexes: [SHARED, NEW]}
"""


@pytest.fixture
def corporation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample in a store of its own, and the environment the commands read."""
    path = tmp_path / "prv.yaml"
    path.write_text(CORPORATION_FILE, encoding="utf-8")
    env = {
        "KEUKENTAFEL_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "KEUKENTAFEL_OUTPUT_DIR": str(tmp_path / "out"),
        "KEUKENTAFEL_DATA_DIR": str(tmp_path / "out" / "data"),  # the sample's scans
        "KEUKENTAFEL_CONFIG": str(path),
    }
    with build(Settings.from_env(env), corporations=CorporationRegistry([])) as seeded:
        sample.seed(seeded.sessions, tmp_path / "out")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, ["privacy", *args])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_export_purge_and_audit_from_the_command_line(corporation: Path) -> None:
    exported = _run("export", "--unit", "VHE00005")
    assert "Access export of unit VHE00005" in exported and "Residents: 2" in exported
    assert "1 restricted note(s) are not in the export" in exported
    (json_file,) = (corporation / "out" / "privacy" / "exports").rglob("*.json")
    assert json.loads(json_file.read_text(encoding="utf-8"))["unit"] == "VHE00005"

    scanned = _run("export", "--unit", "VHE00004")
    assert "letters copied: 2; scans copied: 1" in scanned

    plan = _run("purge", "--dry-run")
    assert "P-OLD" in plan and "2024-06-30" in plan and "due" in plan and "running" in plan
    purged = _run("purge")
    assert "Units purged: VHE00001, VHE00002, VHE00003" in purged
    assert "Kept (shared with a project that keeps its data): VHE00004" in purged
    assert "│ evidence scans │ 1 │" in purged
    assert len(list((corporation / "out" / "data" / "evidence").iterdir())) == 1  # VHE00004's
    again = _run("purge")
    assert "Nothing left to remove" in again

    audit = _run("audit")
    assert "personal_data_exported" in audit and "purge_run" in audit
    for said in (exported, plan, purged, again, audit):
        for value in sample.names_and_contacts():
            assert value not in said

    missing = CliRunner().invoke(app, ["privacy", "export", "--unit", "VHE09999"])
    assert missing.exit_code == 2 and "not in the register" in missing.output
    assert "Traceback" not in missing.output
