"""Consent per package (``consent: per_package``) on the resident's page, on the real store
(SQLite and PostgreSQL) through the real App: each party answers per renovation package or on
the whole proposal (which covers every package), the ledger keeps the package, and the tally per
package is the one ``keukentafel consent tally`` prints."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from keukentafel.bootstrap import App
from keukentafel.cli.app import app as cli
from keukentafel.domain.model import LeaseParty, PartyRole
from keukentafel.store.models import ConsentEntryRow
from tests import builders
from tests import web_builders as wb

TODAY = builders.local_today()
pytestmark = pytest.mark.slow  # a real mailing (PDF letters) per test


@pytest.fixture
def app(engine: Engine, sessions: sessionmaker[Session], tmp_path: Path) -> Iterator[App]:
    snapshot = builders.register(3)
    snapshot.leases[1] = replace(  # VHE00002: tenant R2 and co-tenant R3
        snapshot.leases[1],
        parties=(LeaseParty("R2", PartyRole.TENANT), LeaseParty("R3", PartyRole.CO_TENANT)),
    )
    snapshot.leases[2] = replace(snapshot.leases[2], parties=(LeaseParty("R1", PartyRole.TENANT),))
    builders.run(sessions, snapshot)
    url = engine.url.render_as_string(hide_password=False)
    with wb.make_app(tmp_path, url, consent_mode="per_package") as application:
        wb.send_proposal(application, TODAY)
        yield application


def _client(app: App, unit: str, parties: list[str]) -> TestClient:
    web = TestClient(app.web(session_secret=b"s" * 32), base_url="https://testserver")
    assert web.get(wb.path_of(wb.link_for(unit, TODAY, parties).url)).status_code == 200
    return web


def _answer(web: TestClient, name: str, ballot: str, answer: str) -> int:
    page = web.get("/woning").text
    form = page.split('action="/woning/antwoord"')[1]
    found = re.search(r'name="csrf" value="([^"]+)"', form)
    assert found
    data = {"name": name, "answer": answer, "ballot": ballot, "csrf": found.group(1)}
    return web.post("/woning/antwoord", data=data).status_code


def _counts(app: App) -> dict[str, tuple[int, int, int, int]]:
    tally = app.consent_tally("TST", "P")
    return {b.ballot: (b.agreed, b.declined, b.incomplete, b.no_answer) for b in tally.ballots}


def test_each_party_answers_per_package_and_the_tally_counts_per_package(
    app: App, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _client(app, "VHE00001", ["R1"])
    page = one.get("/woning").text
    # the form offers the whole proposal and each renovation package
    assert re.findall(r'name="ballot" value="([^"]+)"', page) == ["whole", "ISOLATIE", "VENTILATIE"]
    assert "Isolatie" in page and "Ventilatie" in page
    assert _answer(one, "J. Jansen1", "ISOLATIE", "agree") == 200
    assert _answer(one, "J. Jansen1", "VENTILATIE", "decline") == 200
    page = one.get("/woning").text
    assert "Isolatie: <strong>akkoord</strong>" in page
    assert "Ventilatie: <strong>niet akkoord</strong>" in page
    assert _answer(one, "J. Jansen1", "NOPE", "agree") == 400  # no such package: nothing

    tenant, co_tenant = (
        _client(app, "VHE00002", ["R2", "R3"]),
        _client(app, "VHE00002", ["R2", "R3"]),
    )
    assert _answer(tenant, "Jansen2", "whole", "agree") == 200  # covers every package
    assert _answer(co_tenant, "Jansen3", "ISOLATIE", "agree") == 200
    # VHE00003 gives no answer

    with sessions() as session:
        rows = session.scalars(select(ConsentEntryRow).order_by(ConsentEntryRow.seq)).all()
        stored = [(r.unit_code, r.package, r.choice, r.channel) for r in rows]
    assert stored == [
        ("VHE00001", "ISOLATIE", "agree", "web"),
        ("VHE00001", "VENTILATIE", "decline", "web"),
        ("VHE00002", None, "agree", "web"),
        ("VHE00002", "ISOLATIE", "agree", "web"),
    ]
    counts = _counts(app)
    # ISOLATIE: VHE00001 and both parties of VHE00002 agree; VENTILATIE: VHE00001 declines,
    # VHE00002's co-tenant has not answered on it (the tenant's whole answer covers it)
    assert counts == {"ISOLATIE": (2, 0, 0, 1), "VENTILATIE": (0, 1, 1, 1)}

    # the same numbers as the operator's command
    for name, value in {
        "KEUKENTAFEL_DATABASE_URL": str(app.settings.database_url),
        "KEUKENTAFEL_DATA_DIR": str(app.settings.data_dir),
        "KEUKENTAFEL_OUTPUT_DIR": str(app.settings.output_dir),
        "KT_TEST_LINK_SECRET": wb.LINK_SECRET,
        "KT_TEST_M365": "x",
        "KT_PULL": wb.PULL_TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    config = str(app.settings.config_path)
    result = CliRunner().invoke(
        cli, ["consent", "tally", "--project", "P", "--json", "--config", config]
    )
    assert result.exit_code == 0, result.output
    printed = {
        b["ballot"]: (b["agreed"], b["declined"], b["incomplete"], b["no_answer"])
        for b in json.loads(result.output)["ballots"]
    }
    assert printed == counts
