"""The composition root: settings from one place, corporation files validated once, one App."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from connectors.erp.sources import SpreadsheetSource, VeraSource
from keukentafel.bootstrap import (
    App,
    CorporationRegistry,
    build,
    current_app,
    installed,
    mailing_content,
    utc_now,
)
from keukentafel.config import ConfigError
from keukentafel.domain.mailing import plan_mailing
from keukentafel.domain.messages import MessageKind
from keukentafel.letters.output import LettersMailingWriter
from keukentafel.settings import Settings
from keukentafel.usecases.resident_access import AccessIssuingWriter
from tests import builders
from tests.builders import StaticSource

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
LINK_SECRET = "Yq3vN8cW1rT6zK0pB5mJ2xH9dL4sF7gA-eU_iO"


def settings_for(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "KEUKENTAFEL_DATABASE_URL": f"sqlite:///{tmp_path / 'store' / 'kt.db'}",
            "KEUKENTAFEL_OUTPUT_DIR": str(tmp_path / "out"),
            "KEUKENTAFEL_CONFIG_DIR": str(tmp_path / "corporations"),
            **env,
        }
    )


def corporation_file(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_settings_defaults_and_every_variable(tmp_path: Path) -> None:
    default = Settings.from_env({})
    assert default.config_dir == Path("config/corporations")
    assert default.config_path == Path("config/demo.yaml")
    assert (default.sync_cron, default.team_cron, default.dispatch_cron) == (
        "0 6 * * *",
        "30 6 * * *",
        "*/10 7-21 * * *",
    )
    assert default.database_url.endswith("data/keukentafel.db")
    given = Settings.from_env(
        {
            "KEUKENTAFEL_DATABASE_URL": "postgresql+psycopg://kt@db/kt",
            "KEUKENTAFEL_DATA_DIR": str(tmp_path / "state"),
            "KEUKENTAFEL_OUTPUT_DIR": str(tmp_path / "letters"),
            "KEUKENTAFEL_CONFIG": "a.yaml",
            "KEUKENTAFEL_CONFIG_DIR": "corps",
            "KEUKENTAFEL_SYNC_CRON": "0 5 * * *",
            "KEUKENTAFEL_TEAM_CRON": "0 7 * * *",
            "KEUKENTAFEL_DISPATCH_CRON": "*/5 * * * *",
        }
    )
    assert given.database_url == "postgresql+psycopg://kt@db/kt"
    assert given.data_dir == tmp_path / "state" and given.output_dir == tmp_path / "letters"
    assert given.config_path == Path("a.yaml") and given.config_dir == Path("corps")
    assert (given.sync_cron, given.team_cron, given.dispatch_cron) == (
        "0 5 * * *",
        "0 7 * * *",
        "*/5 * * * *",
    )


def test_environ_is_a_read_only_snapshot() -> None:
    env = {"VERA_KEY": "k1"}
    settings = Settings.from_env(env)
    env["VERA_KEY"] = "changed later"
    assert settings.environ["VERA_KEY"] == "k1"
    with pytest.raises(TypeError):
        settings.environ["VERA_KEY"] = "x"  # type: ignore[index]
    assert "k1" not in repr(settings)  # secrets are never printed with the settings


def test_an_invalid_file_fails_alone(tmp_path: Path) -> None:
    folder = tmp_path / "corporations"
    corporation_file(folder, "a.yaml", DEMO)
    corporation_file(
        folder, "b.yaml", DEMO.replace("code: WSD", "code: BAD").replace("#1f5c99", "blue")
    )
    corporation_file(folder, "c.yaml", "corporation: [unclosed")
    registry = CorporationRegistry.from_dir(folder)
    assert registry.codes() == ["WSD"]
    assert registry.get("WSD").corporation.name == "Woonstichting De Dijk"
    assert [(e.path.name, e.code) for e in registry.invalid()] == [
        ("b.yaml", "BAD"),
        ("c.yaml", "c"),
    ]
    with pytest.raises(ConfigError, match=r"b\.yaml.*\n.*letters\.branding\.colour"):
        registry.get("BAD")
    with pytest.raises(ConfigError, match="not valid YAML"):
        registry.get("c")
    with pytest.raises(
        ConfigError, match=r"no corporation file for 'NOPE' \(configured: WSD, BAD, c\)"
    ):
        registry.get("NOPE")
    assert CorporationRegistry.from_dir(tmp_path / "missing").entries() == []


def test_one_corporation_in_two_files_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "corporations"
    corporation_file(folder, "a.yaml", DEMO)
    corporation_file(folder, "b.yaml", DEMO)
    registry = CorporationRegistry.from_dir(folder)
    assert registry.codes() == []
    with pytest.raises(ConfigError, match=r"WSD is configured twice: .*a\.yaml, .*b\.yaml"):
        registry.get("WSD")


def test_the_store_is_opened_and_migrated_once_on_first_use(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    app = build(settings, corporations=CorporationRegistry([]))
    assert not (tmp_path / "store").exists()  # building opens nothing
    with app:
        sessions = app.sessions
        assert app.sessions is sessions
        assert (tmp_path / "store" / "kt.db").exists()
        with sessions() as session:
            assert (
                session.connection().exec_driver_sql("SELECT count(*) FROM sync_runs").scalar() == 0
            )
    with app:
        assert app.sessions is not sessions  # closed: the engine was disposed, a new one made


def test_app_runs_the_use_cases_on_its_own_store_and_clock(tmp_path: Path) -> None:
    folder = tmp_path / "corporations"
    corporation_file(folder, "wsd.yaml", DEMO)
    stamp = datetime(2026, 12, 1, 6, 0)
    with build(settings_for(tmp_path), clock=lambda: stamp) as app:
        assert app.corporations.codes() == ["WSD"]
        snapshot = builders.register(3)
        snapshot.units = [replace(u, complex_code="CPX-0003") for u in snapshot.units]
        from keukentafel.usecases.sync_register import sync_register

        result = sync_register(app.sessions, "WSD", StaticSource(snapshot), clock=app.clock)
        assert result.outcome == "succeeded"
        summary = app.summarise("WSD", date(2026, 12, 1))
        assert summary.last_run is not None and summary.last_run["started_at"] == stamp
        assert [p.households for p in summary.projects] == [0, 3]
        assert len(app.households("WSD", date(2026, 12, 1))) == 3


def test_factories_choose_the_adapters_from_the_corporation_file(tmp_path: Path) -> None:
    folder = tmp_path / "corporations"
    corporation_file(folder, "wsd.yaml", DEMO)
    without_m365 = DEMO[: DEMO.index("m365:")].replace("code: WSD", "code: NOM")
    sheet = without_m365.replace("code: NOM", "code: CSV").replace(
        DEMO[DEMO.index("source:") : DEMO.index("projects:")],
        "source:\n  kind: spreadsheet\n  spreadsheet:\n    path: export.csv\n"
        "    columns: {unit_code: a, street: b, house_number: c, postcode: d, town: e}\n\n",
    )
    corporation_file(folder, "nom.yaml", without_m365)
    corporation_file(folder, "csv.yaml", sheet)
    settings = settings_for(
        tmp_path, KEUKENTAFEL_DEMO_VERA_API_KEY="k", KEUKENTAFEL_LINK_SECRET=LINK_SECRET
    )
    with build(settings) as app:
        vera = app.register_source(app.corporation("WSD"))
        assert isinstance(vera, VeraSource) and vera.env["KEUKENTAFEL_DEMO_VERA_API_KEY"] == "k"
        assert isinstance(app.register_source(app.corporation("CSV")), SpreadsheetSource)
        with app.mail_transport(app.corporation("NOM")) as transport:
            assert transport is None  # no shared mailbox: e-mails stay in the outbox
        with app.team_sources(app.corporation("WSD")) as sources:
            assert [s.name for s in sources] == ["m365_list"]
        with pytest.raises(ConfigError, match=r"nom\.yaml: the 'm365' section is missing"):
            app.m365(app.corporation("NOM"))
        writer = app.mailing_writer(app.corporation("WSD"))
        # the letters' writer, wrapped so the resident's page knows each letter's link and PDF
        assert isinstance(writer, AccessIssuingWriter)
        assert isinstance(writer.inner, LettersMailingWriter)
        assert (
            writer.inner.secret == LINK_SECRET.encode()
            and writer.links.secret == writer.inner.secret
        )
        assert writer.inner.config.envelope.width == 90


def test_secrets_come_from_the_settings_never_printed(tmp_path: Path) -> None:
    folder = tmp_path / "corporations"
    corporation_file(folder, "wsd.yaml", DEMO)
    app = build(settings_for(tmp_path, KEUKENTAFEL_LINK_SECRET="too-short"))
    with pytest.raises(ConfigError) as err:
        app.mailing_writer(app.corporation("WSD"))
    assert "KEUKENTAFEL_LINK_SECRET is unset or shorter than 32 bytes" in str(err.value)
    assert "too-short" not in str(err.value)


def test_mailing_content_from_a_file_or_samples(tmp_path: Path) -> None:
    sample = mailing_content("info_evening", date(2026, 12, 1), None, sample=True)
    assert sample.mailing_id == "sample-2026-12-01" and sample.event is not None
    assert (
        "objection_deadline_text"
        not in mailing_content("consent_reached", date(2026, 12, 1), None, sample=True).details
    )
    with pytest.raises(ConfigError, match="give --content FILE"):
        mailing_content("info_evening", date(2026, 12, 1), None, sample=False)


def test_the_installed_app_is_the_process_app(tmp_path: Path) -> None:
    outer = App(settings_for(tmp_path), CorporationRegistry([]))
    inner = App(settings_for(tmp_path), CorporationRegistry([]))
    with installed(outer):
        with installed(inner):
            assert current_app() is inner
        assert current_app() is outer


def test_utc_now_is_naive_utc() -> None:
    now = utc_now()
    assert now.tzinfo is None
    assert abs((datetime.now(UTC).replace(tzinfo=None) - now).total_seconds()) < 5


def test_the_mailing_writer_writes_with_the_corporations_letters(tmp_path: Path) -> None:
    from keukentafel.letters.samples import SAMPLE_DATE, sample_details, sample_households

    corporation_file(tmp_path / "corporations", "wsd.yaml", DEMO)
    with build(settings_for(tmp_path, KEUKENTAFEL_LINK_SECRET=LINK_SECRET)) as app:
        corp = app.corporation("WSD")
        writer = app.mailing_writer(corp)
    households = sample_households()[:2]
    plan = plan_mailing(
        MessageKind.ANNOUNCEMENT,
        corp.project("DIJK-RENO"),
        households,
        SAMPLE_DATE,
        sample_details("announcement", SAMPLE_DATE),
    )
    written = writer.write(
        plan, mailing_key="WSD/DIJK-RENO/announcement/m-1", event=None, sequences={}
    )
    assert written.letters == 2
    assert written.out_dir.is_relative_to(tmp_path / "out" / "mailings")
    assert written.print_pdf.name.startswith("DIJK-RENO-announcement")
    assert written.print_pdf.read_bytes().startswith(b"%PDF")
    assert len(written.messages) + len(written.without_email) == 2
