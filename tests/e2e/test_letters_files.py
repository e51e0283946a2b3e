"""A logo or templates folder that is not there is a clear error before anything is printed."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keukentafel.bootstrap import build
from keukentafel.cli.app import app as cli
from keukentafel.config import ConfigError
from keukentafel.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
SECRET = secrets.token_urlsafe(32)


def _corporation(tmp_path: Path, extra: str) -> Path:
    text = DEMO.replace("    website: www.example.org\n", f"    website: www.example.org\n{extra}")
    path = tmp_path / "corporations" / "wsd.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


def _settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "KEUKENTAFEL_DATABASE_URL": f"sqlite:///{tmp_path / 'kt.db'}",
            "KEUKENTAFEL_OUTPUT_DIR": str(tmp_path / "out"),
            "KEUKENTAFEL_CONFIG_DIR": str(tmp_path / "corporations"),
            "KEUKENTAFEL_LINK_SECRET": SECRET,
        }
    )


def test_a_missing_logo_stops_the_mailing_before_anything_is_printed(tmp_path: Path) -> None:
    path = _corporation(tmp_path, "    logo_path: logo-that-is-not-there.png\n")
    with build(_settings(tmp_path)) as app, pytest.raises(ConfigError) as caught:
        app.mailing_writer(app.corporation("WSD"))
    message = str(caught.value)
    assert message.startswith(f"{path}: letters.branding.logo_path: there is no file ")
    assert "logo-that-is-not-there.png" in message
    assert not (tmp_path / "out").exists()


def test_a_missing_templates_folder_is_said_as_such(tmp_path: Path) -> None:
    _corporation(tmp_path, "")
    path = tmp_path / "corporations" / "wsd.yaml"
    path.write_text(
        path.read_text().replace(
            "  link_secret_env: KEUKENTAFEL_LINK_SECRET\n",
            "  link_secret_env: KEUKENTAFEL_LINK_SECRET\n  templates_dir: own-templates\n",
        )
    )
    with build(_settings(tmp_path)) as app, pytest.raises(ConfigError) as caught:
        app.letters(app.corporation("WSD"))
    assert "letters.templates_dir: there is no folder" in str(caught.value)
    assert "unknown message kind" not in str(caught.value)


def test_the_mailing_command_says_so_and_prints_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _corporation(tmp_path, "    logo_path: logo-that-is-not-there.png\n")
    monkeypatch.setenv("KEUKENTAFEL_DATABASE_URL", f"sqlite:///{tmp_path / 'kt.db'}")
    monkeypatch.setenv("KEUKENTAFEL_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("KEUKENTAFEL_LINK_SECRET", SECRET)
    args = ["mailing", "send", "info_evening", "--project", "HAVEN-SLOOP", "--sample"]
    result = CliRunner().invoke(cli, [*args, "-c", str(path)])
    assert result.exit_code == 2, result.output
    assert "letters.branding.logo_path: there is no file" in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()
