"""Consent wired into the rest of the App (SQLite, and PostgreSQL when TEST_DATABASE_URL is set):
the contractor feeds carry go / no-go from the live consent ledger, and every change of consent
is in the audit log in the transaction of its ledger entry."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from connectors.fakes.contractor import FakeContractor
from keukentafel.bootstrap import App, CorporationRegistry, build, installed
from keukentafel.domain.audit import AuditKind
from keukentafel.domain.consent import Channel, Refusal
from keukentafel.domain.planning.webhooks import secret_text
from keukentafel.settings import Settings
from keukentafel.store.models import ConsentEntryRow
from keukentafel.store.repositories.audit import AuditLog
from keukentafel.usecases.consent import AnswerInput, CorrectionInput, ExclusionInput
from keukentafel.usecases.sync_register import sync_register
from tests.builders import CORP, StaticSource, register, unit

NOW = datetime(2027, 5, 1, 8, 0)
EARLIER = datetime(2027, 4, 20, 10, 0)
RENOVATION_UNITS = [f"VHE{n:05d}" for n in range(1, 13)]  # CPX-1: 12 rented homes
DEMOLITION_UNITS = ["VHE00013", "VHE00014"]  # CPX-2

CORPORATION = {
    "corporation": {"code": CORP, "name": "Woonstichting Test"},
    "source": {
        "kind": "vera",
        "vera": {
            "base_url": "http://127.0.0.1:1/v4",
            "auth": {"mode": "api_key", "api_key_env": "VERA_KEY"},
        },
    },
    "projects": [
        {
            "code": "P",
            "name": "Renovatie",
            "kind": "renovation_occupied",
            "complexes": ["CPX-1"],
            "consent": {"legal_basis": "art. 7:220 lid 3 BW", "threshold": 0.70},
        },
        {"code": "D", "name": "Sloop", "kind": "demolition", "complexes": ["CPX-2"]},
    ],
    "feeds": {
        "contractors": [
            {"code": "BOUW", "name": "Bouwbedrijf Test", "projects": ["P", "D"]},
        ]
    },
}


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[App]:
    """An App on the test's store with a renovation (consent profile) and a demolition project,
    both the contractor's, and 14 units synced through the real sync."""
    config = tmp_path / "tst.yaml"
    data = json.loads(json.dumps(CORPORATION))
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    settings = settings_for(engine, tmp_path, config)
    snapshot = register(14)
    snapshot.units = [
        u if n <= 12 else replace(u, complex_code="CPX-2") for n, u in enumerate(snapshot.units, 1)
    ]
    assert unit(13, "CPX-2").code == DEMOLITION_UNITS[0]
    with build(
        settings, corporations=CorporationRegistry.from_files([config]), clock=lambda: NOW
    ) as application:
        sync_register(application.sessions, CORP, StaticSource(snapshot), clock=lambda: NOW)
        yield application


def settings_for(engine: Engine, tmp_path: Path, config: Path) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        data_dir=tmp_path / "data",
        output_dir=tmp_path / "out",
        config_path=config,
        environ=MappingProxyType({"VERA_KEY": "k"}),
    )


def doorgang(app: App) -> dict[str, str]:
    """Each unit's go / no-go as the contractor reads it: the latest change per unit on the pull
    API, paged from the start."""
    planning = app.planning(CORP)
    planning.refresh()
    found: dict[str, str] = {}
    cursor: str | None = None
    while True:
        body = json.loads(planning.changes("BOUW", cursor, 5).body)
        for change in body["changes"]:
            if change["key"].startswith("eenheid:") and not change["deleted"]:
                found[change["key"].removeprefix("eenheid:")] = change["data"]["doorgang"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return found


def agree(app: App, units: list[str]) -> None:
    answers = [
        AnswerInput(unit_code=u, answer="agree", at=EARLIER, channel=Channel.PAPER) for u in units
    ]
    report = app.record_consent(CORP, "P", answers, recorded_by="Bea Begeleider")
    assert not report.refused


def test_answers_recorded_flip_go_in_the_feed_payload(app: App) -> None:
    before = doorgang(app)
    assert {u: before[u] for u in DEMOLITION_UNITS} == dict.fromkeys(DEMOLITION_UNITS, "go")
    assert {before[u] for u in RENOVATION_UNITS} == {"no_go"}  # nobody agreed yet

    agree(app, RENOVATION_UNITS[:8])  # 8 of 12: 66.7%, below the threshold
    below = doorgang(app)
    assert {below[u] for u in RENOVATION_UNITS} == {"no_go"}  # agreed, but the project may not go

    agree(app, RENOVATION_UNITS[8:9])  # 9 of 12: 75%, the threshold is met
    met = doorgang(app)
    assert [u for u in RENOVATION_UNITS if met[u] == "go"] == RENOVATION_UNITS[:9]
    assert {met[u] for u in RENOVATION_UNITS[9:]} == {"no_go"}  # did not agree: staff decide
    assert {met[u] for u in DEMOLITION_UNITS} == {"go"}

    withdrawn = app.record_consent_answer(
        CORP, "P", RENOVATION_UNITS[0], "withdraw", recorded_by="bea", at=EARLIER + timedelta(1)
    )
    assert not isinstance(withdrawn, Refusal)
    lost = doorgang(app)  # 8 of 12 again: everything stops
    assert {lost[u] for u in RENOVATION_UNITS} == {"no_go"}
    assert {lost[u] for u in DEMOLITION_UNITS} == {"go"}


def test_a_renovation_without_a_consent_profile_stays_no_go(engine: Engine, tmp_path: Path) -> None:
    data = json.loads(json.dumps(CORPORATION))
    del data["projects"][0]["consent"]
    config = tmp_path / "tst.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    snapshot = register(14)
    snapshot.units = [
        u if n <= 12 else replace(u, complex_code="CPX-2") for n, u in enumerate(snapshot.units, 1)
    ]
    with build(
        settings_for(engine, tmp_path, config),
        corporations=CorporationRegistry.from_files([config]),
        clock=lambda: NOW,
    ) as app:
        sync_register(app.sessions, CORP, StaticSource(snapshot), clock=lambda: NOW)
        found = doorgang(app)
    assert {found[u] for u in RENOVATION_UNITS} == {"no_go"}
    assert {found[u] for u in DEMOLITION_UNITS} == {"go"}


# --- every change of consent in the audit log ---------------------------------------------------

NO_AUDIT_INSERT = {
    "sqlite": (
        [
            "CREATE TRIGGER audit_log_test_refuse BEFORE INSERT ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log refused by the test'); END"
        ],
        ["DROP TRIGGER IF EXISTS audit_log_test_refuse"],
    ),
    "postgresql": (
        [
            "CREATE FUNCTION audit_log_test_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_log refused by the test'; END $$",
            "CREATE TRIGGER audit_log_test_refuse BEFORE INSERT ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_test_refuse()",
        ],
        [
            "DROP TRIGGER IF EXISTS audit_log_test_refuse ON audit_log",
            "DROP FUNCTION IF EXISTS audit_log_test_refuse()",
        ],
    ),
}


def ledger_ids(app: App) -> list[str]:
    with app.sessions() as session:
        return list(session.scalars(select(ConsentEntryRow.entry_id).order_by(ConsentEntryRow.seq)))


def consent_events(app: App) -> list[Any]:
    with app.sessions() as session:
        return [e.event for e in AuditLog(session).events(CORP, kinds=[AuditKind.CONSENT_CHANGED])]


def test_every_change_of_consent_is_in_the_audit_log_without_names(
    app: App, tmp_path: Path
) -> None:
    web = app.record_consent_answer(
        CORP, "P", "VHE00001", "agree", recorded_by="web:0b1c2d3e", at=EARLIER
    )
    assert not isinstance(web, Refusal)
    by_hand = app.record_consent(
        CORP,
        "P",
        [
            ExclusionInput(
                unit_code="VHE00002", at=EARLIER, reason="Woning wordt verkocht", decided_by="Bea"
            ),
            AnswerInput(unit_code="VHE00003", answer="decline", at=EARLIER, channel=Channel.PHONE),
        ],
        recorded_by="Bea Begeleider",
        actor="cli:bea",
        via="cli",
    )
    corrected = app.record_consent(
        CORP,
        "P",
        [CorrectionInput(corrects=by_hand.admitted[1].id, reason="Verkeerde woning")],
        recorded_by="Bea Begeleider",
    )
    withdrawn = app.record_consent_answer(
        CORP, "P", "VHE00001", "withdraw", recorded_by="web:0b1c2d3e", at=EARLIER + timedelta(1)
    )
    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "formulieren.csv").write_text(
        "VHE;Antwoord;Datum;Kanaal;Naam\nVHE00004;akkoord;2027-04-19;paper;Jansen4\n"
        "VHE09999;akkoord;2027-04-19;paper;Onbekend\n",
        encoding="utf-8",
    )
    imported = app.import_consent_forms(
        CORP, "P", forms / "formulieren.csv", recorded_by="Fatima el Idrissi", actor="cli:fatima"
    )
    assert [row.recorded for row in imported.rows] == [True, False]
    assert not corrected.refused and not isinstance(withdrawn, Refusal)

    events = consent_events(app)
    ids = ledger_ids(app)
    assert len(ids) == 6 and [e.subject for e in events] == [f"entry:{i}" for i in ids]
    described = [(e.unit_code, e.detail["entry_kind"], e.detail["via"], e.actor) for e in events]
    assert described == [
        ("VHE00001", "answer", "web", "web:0b1c2d3e"),
        ("VHE00002", "exclusion", "cli", "cli:bea"),
        ("VHE00003", "answer", "cli", "cli:bea"),
        ("VHE00003", "correction", "record", events[3].actor),
        ("VHE00001", "withdrawal", "web", "web:0b1c2d3e"),
        ("VHE00004", "answer", "import", "cli:fatima"),
    ]
    assert events[3].actor.startswith("by:")  # a name typed with --by becomes a digest
    assert events[0].detail["choice"] == "agree" and events[2].detail["channel"] == "phone"
    assert all(e.at == NOW for e in events)
    said = repr(events)
    for name in ("Bea", "Begeleider", "Fatima", "Idrissi", "Jansen", "verkocht", "Verkeerde"):
        assert name not in said


def test_the_ledger_entry_and_its_audit_event_commit_together(app: App, engine: Engine) -> None:
    make, lift = NO_AUDIT_INSERT[engine.dialect.name]
    with engine.begin() as conn:
        for statement in make:
            conn.execute(text(statement))
    try:
        with pytest.raises(DBAPIError, match="audit_log refused by the test"):
            agree(app, ["VHE00005"])
    finally:
        with engine.begin() as conn:
            for statement in lift:
                conn.execute(text(statement))
    assert ledger_ids(app) == [] and consent_events(app) == []  # neither without the other
    agree(app, ["VHE00005"])  # the kept ledger was dropped: it holds nothing the store lacks
    assert len(ledger_ids(app)) == 1 and len(consent_events(app)) == 1
    assert app.consent_tally(CORP, "P").ballot().agreed == 1


# --- contractor feed deliveries: unit codes at most in logs and the flow's results --------------

SECRET = secret_text(b"w" * 32)


def test_feed_deliveries_log_and_report_no_personal_data(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from flows import jobs

    data = json.loads(json.dumps(CORPORATION))
    config = tmp_path / "tst.yaml"
    snapshot = register(14)
    names = [v for r in snapshot.residents for v in (r.name.surname, r.contacts[0].value) if r.name]
    with FakeContractor([SECRET]) as contractor:
        data["feeds"]["contractors"][0]["webhook"] = {
            "url": contractor.hook_url,
            "secret_envs": ["BOUW_WHSEC"],
        }
        config.write_text(yaml.safe_dump(data), encoding="utf-8")
        settings = replace(
            settings_for(engine, tmp_path, config),
            environ=MappingProxyType({"VERA_KEY": "k", "BOUW_WHSEC": SECRET}),
        )
        with (
            build(
                settings, corporations=CorporationRegistry.from_files([config]), clock=lambda: NOW
            ) as app,
            installed(app),
        ):
            sync_register(app.sessions, CORP, StaticSource(snapshot), clock=lambda: NOW)
            agree(app, RENOVATION_UNITS[:9])
            caplog.set_level(logging.DEBUG)
            outcome = jobs.feeds(app, CORP)  # what the flow runs and publishes
            counts = app.planning(CORP).counts()
        received = b"".join(d.body for d in contractor.deliveries)
    assert b"Jansen1" in received  # the contractor gets what the privacy table allows
    assert outcome.ok, outcome.message
    assert outcome.value is not None
    [row] = outcome.value.contractors
    assert row["contractor"] == "BOUW" and row["delivered"] == 1  # 14 changes in one webhook
    reported = [(a.key, a.description, a.table, a.markdown) for a in outcome.artifacts]
    assert reported  # the report the flow publishes as artifacts
    said = repr((outcome.value, outcome.message, reported, counts)) + "\n".join(
        r.getMessage() for r in caplog.records
    )
    assert [n for n in names if n in said] == []
    assert "Jansen" not in said and "@example.org" not in said
