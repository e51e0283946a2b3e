"""`keukentafel mailing plan`: counts, skipped units with reasons, a sample letter; nothing
recorded, printed or queued, and no Prefect involved."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from connectors.fakes.vera_data import generate_dataset
from connectors.fakes.vera_server import FakeVeraServer
from keukentafel.bootstrap import CorporationRegistry, build
from keukentafel.cli.app import app as cli
from keukentafel.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "config" / "mailings" / "havenkwartier-info_evening.yaml"


@pytest.fixture
def synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Settings, list[str]]]:
    """A corporation file against the fake ERP, its register synced (the use case, no flow)."""
    key = secrets.token_urlsafe(16)
    env = {
        "KEUKENTAFEL_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "KEUKENTAFEL_OUTPUT_DIR": str(tmp_path / "out"),
        "KEUKENTAFEL_DEMO_VERA_API_KEY": key,
        "KEUKENTAFEL_LINK_SECRET": secrets.token_urlsafe(32),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data.pop("feeds", None)
    with FakeVeraServer(generate_dataset(120, seed=4, complexes=5), api_key=key) as vera:
        data["source"]["vera"]["base_url"] = vera.url
        path = tmp_path / "wsd.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        settings = Settings.from_env(env)
        with build(settings, corporations=CorporationRegistry.from_files([path])) as app:
            app.run_sync("WSD")
        surnames = [r["achternaam"] for r in vera.dataset.relations if r.get("achternaam")]
        yield path, settings, surnames


def test_plan_counts_and_shows_a_sample_without_sending(
    synced: tuple[Path, Settings, list[str]],
) -> None:
    path, settings, surnames = synced
    args = ["mailing", "plan", "info_evening", "--project", "HAVEN-SLOOP"]
    result = CliRunner().invoke(cli, [*args, "--content", str(CONTENT), "--config", str(path)])
    assert result.exit_code == 0, result.output
    out = result.output
    letters = int(re.search(r"letters \(post\)\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    assert letters > 0 and re.search(r"e-mails\s+\d+", out)
    assert "skipped" in out and "vacant" in out  # every skipped household with its reason
    pdf = Path(re.search(r"sample letter: (\S+)", out).group(1))  # type: ignore[union-attr]
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf.is_relative_to(settings.output_dir / "review" / "wsd")
    assert not any(name in out for name in surnames)
    assert "keukentafel mailing send info_evening --project HAVEN-SLOOP" in out
    with build(settings, corporations=CorporationRegistry.from_files([path])) as app:
        assert sum(app.outbox_counts("WSD").values()) == 0  # nothing queued
    assert not (settings.output_dir / "mailings").exists()  # nothing printed


def test_plan_refuses_an_unknown_project_in_one_line(
    synced: tuple[Path, Settings, list[str]],
) -> None:
    path, _settings, _surnames = synced
    args = ["mailing", "plan", "info_evening", "--project", "NOPE", "--content", str(CONTENT)]
    result = CliRunner().invoke(cli, [*args, "--config", str(path)])
    assert result.exit_code == 2
    assert "NOPE" in result.output and "Traceback" not in result.output


def test_plan_of_a_correction_needs_the_mailing_it_corrects(
    synced: tuple[Path, Settings, list[str]],
) -> None:
    path, _settings, _surnames = synced
    correction = ROOT / "config" / "mailings" / "havenkwartier-info_evening-verzet.yaml"
    args = ["mailing", "plan", "info_evening", "--project", "HAVEN-SLOOP"]
    result = CliRunner().invoke(cli, [*args, "--content", str(correction), "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert "no mailing bewonersavond-2027-01 of this kind to correct" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 3


def test_the_70_percent_notice_is_not_planned_here(
    synced: tuple[Path, Settings, list[str]],
) -> None:
    path, _settings, _surnames = synced
    args = ["mailing", "plan", "consent_reached", "--project", "DIJK-RENO", "--sample"]
    result = CliRunner().invoke(cli, [*args, "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert "consent tally" in result.output


def test_plan_of_a_correction_counts_the_households_the_first_mailing_reached(
    synced: tuple[Path, Settings, list[str]],
) -> None:
    from datetime import date

    from keukentafel.bootstrap import mailing_content

    path, settings, _surnames = synced
    with build(settings, corporations=CorporationRegistry.from_files([path])) as app:
        first = app.prepare_mailing(
            "WSD",
            "HAVEN-SLOOP",
            "info_evening",
            on=date.today(),
            content=mailing_content("info_evening", date.today(), CONTENT, sample=False),
            started_by="test",
        )
        queued = app.outbox_counts("WSD")
    correction = ROOT / "config" / "mailings" / "havenkwartier-info_evening-verzet.yaml"
    args = ["mailing", "plan", "info_evening", "--project", "HAVEN-SLOOP"]
    result = CliRunner().invoke(cli, [*args, "--content", str(correction), "--config", str(path)])
    assert result.exit_code == 0, result.output
    letters = int(re.search(r"letters \(post\)\s+(\d+)", result.output).group(1))  # type: ignore[union-attr]
    assert letters == first.letters
    with build(settings, corporations=CorporationRegistry.from_files([path])) as app:
        assert app.outbox_counts("WSD") == queued  # the plan queued nothing
