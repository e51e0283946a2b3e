"""Answering on the resident's page, on the real store (SQLite and PostgreSQL) through the real
App: each contract party confirms with their own name, changes and withdraws; a replayed form and
an unknown name record nothing; after the last day the page says why not; a paper answer with its
scan on the staff side; a place in a session, where two households cannot take the last place."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.bootstrap import App
from keukentafel.domain.consent import Channel, Evidence, NoticeSent
from keukentafel.domain.model import LeaseParty, PartyRole
from keukentafel.domain.planning.appointments import PlanningSession, Slot
from keukentafel.domain.staff import Role, StaffMember
from keukentafel.store.models import ConsentEntryRow, OutboxRow
from keukentafel.usecases import staff_consent
from keukentafel.usecases.consent import append_entries
from tests import builders
from tests import web_builders as wb

TODAY = builders.local_today()
pytestmark = pytest.mark.slow  # a real mailing (PDF letters) per test
GUIDE = StaffMember("oid-g", "gids@example.org", "Gids", frozenset({Role.GUIDE}), frozenset({"P"}))
OTHER = StaffMember("oid-o", "ander@example.org", "Ander", frozenset({Role.GUIDE}), frozenset())


def _register() -> object:
    snapshot = builders.register(3)
    snapshot.leases[1] = replace(  # VHE00002: tenant R2 and co-tenant R3 (Jansen2, Jansen3)
        snapshot.leases[1],
        parties=(LeaseParty("R2", PartyRole.TENANT), LeaseParty("R3", PartyRole.CO_TENANT)),
    )
    snapshot.leases[2] = replace(snapshot.leases[2], parties=(LeaseParty("R1", PartyRole.TENANT),))
    return snapshot


@pytest.fixture
def app(engine: Engine, sessions: sessionmaker[Session], tmp_path: Path) -> Iterator[App]:
    builders.run(sessions, _register())
    url = engine.url.render_as_string(hide_password=False)
    with wb.make_app(tmp_path, url) as application:
        wb.send_proposal(application, TODAY)
        yield application


def _client(app: App, unit: str, parties: list[str]) -> TestClient:
    web = TestClient(app.web(session_secret=b"s" * 32), base_url="https://testserver")
    assert web.get(wb.path_of(wb.link_for(unit, TODAY, parties).url)).status_code == 200
    return web


def _token(page: str, action: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.split(f'action="{action}"')[1])
    assert found, f"no form {action}"
    return found.group(1)


def _answer(web: TestClient, name: str, answer: str) -> tuple[int, str, dict[str, str]]:
    page = web.get("/woning").text
    form = {
        "name": name,
        "answer": answer,
        "ballot": "whole",
        "csrf": _token(page, "/woning/antwoord"),
    }
    sent = web.post("/woning/antwoord", data=form)
    return sent.status_code, sent.text, form


def _ledger(sessions: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with sessions() as s:
        rows = s.scalars(select(ConsentEntryRow).order_by(ConsentEntryRow.seq)).all()
        return [(r.unit_code, r.type, r.channel or "") for r in rows]


def test_answer_change_and_withdraw_go_into_the_ledger_with_channel_web(
    app: App, sessions: sessionmaker[Session]
) -> None:
    web = _client(app, "VHE00001", ["R1"])
    assert "Uw antwoord" in web.get("/woning").text
    status, text, form = _answer(web, "J. de Jansen1", "agree")
    assert status == 200 and "Uw antwoord is opgeslagen" in text
    assert "akkoord" in web.get("/woning").text
    replay = web.post("/woning/antwoord", data=form)
    assert replay.status_code == 409  # the same form again records nothing
    assert _answer(web, "jansen1", "decline")[0] == 200  # changed
    assert _answer(web, "J. Jansen1", "withdraw")[0] == 400  # nothing to withdraw after decline
    assert _answer(web, "J. Jansen1", "agree")[0] == 200
    assert _answer(web, "J. Jansen1", "withdraw")[0] == 200
    assert "akkoord ingetrokken" in web.get("/woning").text
    assert _answer(web, "Piet Pietersen", "agree")[0] == 400  # not a party: nothing recorded
    entries = _ledger(sessions)
    assert len(entries) == 4 and {c for _, _, c in entries} == {"web"}
    assert app.consent_household("TST", "P", "VHE00001").parties[0].party_id == "R1"
    tally = app.consent_tally("TST", "P").ballots[0]
    assert (tally.agreed, tally.declined) == (0, 1)
    events = app.audit_events("TST", "VHE00001")
    assert len(events) == 4 and all(e.event.actor.startswith("web:resident:") for e in events)
    assert "Jansen" not in repr([e.event for e in events])  # the audit log names no one


def test_a_household_with_a_co_tenant_agrees_only_when_both_have(
    app: App, sessions: sessionmaker[Session]
) -> None:
    tenant = _client(app, "VHE00002", ["R2", "R3"])
    co_tenant = _client(app, "VHE00002", ["R2", "R3"])
    assert _answer(tenant, "J. de Jansen2", "agree")[0] == 200
    assert "nog niet iedereen akkoord" in tenant.get("/woning").text
    assert app.consent_tally("TST", "P").ballots[0].agreed == 0
    assert _answer(co_tenant, "Jansen3", "agree")[0] == 200
    page = co_tenant.get("/woning").text
    assert "Medehuurder: akkoord" in page and "Huurder: akkoord" in page
    assert app.consent_tally("TST", "P").ballots[0].agreed == 1


def test_after_the_last_day_the_page_explains_and_records_nothing(
    app: App, sessions: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    target = app.consent_project("TST", "P")
    sent = TODAY - timedelta(days=58)
    notice = NoticeSent(
        id="N-test",
        recorded_at=datetime.now(UTC),
        recorded_by="test",
        unit_code="VHE00001",
        sent_on=sent,
        channel=Channel.PAPER,
        lease_id="L1",
    )
    report = append_entries(
        app.sessions, target, [notice], now=datetime.now(UTC), books=app.consent_books()
    )
    assert report.admitted
    web = _client(app, "VHE00001", ["R1"])
    page = web.get("/woning").text
    assert "De termijn om te antwoorden is voorbij" in page
    assert 'action="/woning/antwoord"' not in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.split('action="/woning/vraag"')[1])
    assert csrf
    answer = web.post(  # a form from before the deadline, or made by hand: refused all the same
        "/woning/antwoord",
        data={"name": "Jansen1", "answer": "agree", "ballot": "whole", "csrf": csrf.group(1)},
    )
    assert answer.status_code == 400  # a token for another form is no answer form
    assert [k for _, k, _ in _ledger(sessions)] == ["notice"]


def test_a_paper_answer_with_its_scan_is_in_the_ledger_and_the_tally(
    app: App, sessions: sessionmaker[Session]
) -> None:
    target = app.consent_project("TST", "P")
    evidence = staff_consent.keep_scan(
        app.settings.data_dir, "../akkoord Jansen.PDF", b"%PDF-1.4 scan"
    )
    given = staff_consent.PaperAnswer(
        unit_code="VHE00003",
        answer="agree",
        package=None,
        parties=(),
        channel=Channel.PAPER,
        given_on=TODAY,
        evidence=evidence,
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    with pytest.raises(staff_consent.NotAllowedToRecord):
        staff_consent.record_paper_answer(
            app.sessions, target, given, OTHER, now=now, books=app.consent_books()
        )
    entry = staff_consent.record_paper_answer(
        app.sessions, target, given, GUIDE, now=now, books=app.consent_books()
    )
    # the file keeps its upload name on disk; the append-only ledger only "scan.pdf" and the digest
    assert evidence.file_name == "akkoord_Jansen.PDF"
    assert (app.settings.data_dir / "evidence" / evidence.sha256 / "akkoord_Jansen.PDF").is_file()
    assert getattr(entry, "evidence", None) == Evidence("scan.pdf", evidence.sha256)
    tally = app.consent_tally("TST", "P")
    assert staff_consent.status_label(tally, "VHE00003") == "akkoord"
    assert staff_consent.status_label(tally, "VHE00001") == "geen antwoord"
    assert [e.event.actor for e in app.audit_events("TST", "VHE00003")] == ["entra:oid-g"]
    lines = staff_consent.household_answers(app.sessions, target, "VHE00003")
    assert [
        (x.what, x.channel, x.evidence == f"scan.pdf (sha256 {evidence.sha256})") for x in lines
    ] == [("akkoord", "paper", True)]


def test_two_households_cannot_take_the_last_place_of_a_session(
    app: App, sessions: sessionmaker[Session]
) -> None:
    day = TODAY + timedelta(days=14)
    planning = app.planning("TST")
    for code, capacity in (("S-1", 1), ("S-2", 5)):
        planning.create_session(
            PlanningSession(
                code=code,
                project_code="P",
                title="Modelwoning",
                slot=Slot(
                    datetime.combine(day, datetime.min.time()).replace(hour=19),
                    datetime.combine(day, datetime.min.time()).replace(hour=20),
                ),
                location_name="Dorpshuis",
                location_address="Dorpsstraat 99",
                capacity=capacity,
            )
        )
    one = _client(app, "VHE00001", ["R1"])
    two = _client(app, "VHE00002", ["R2", "R3"])
    forms = [(w, _token(w.get("/woning").text, "/woning/afspraak")) for w in (one, two)]
    first = forms[0][0].post("/woning/afspraak", data={"session": "S-1", "csrf": forms[0][1]})
    second = forms[1][0].post("/woning/afspraak", data={"session": "S-1", "csrf": forms[1][1]})
    assert first.status_code == 200 and "Uw plaats is geboekt" in first.text
    assert second.status_code == 409 and "vol" in second.text
    assert "(vol)" in two.get("/woning").text
    moved = one.post(
        "/woning/afspraak",
        data={"session": "S-2", "csrf": _token(one.get("/woning").text, "/woning/afspraak")},
    )
    assert moved.status_code == 200
    page = two.get("/woning").text
    assert "(vol)" not in page  # the place in S-1 was given back by the move
    booked = {a.session_code for a in planning.appointments("VHE00001") if a.status.is_open}
    assert booked == {"S-2"}
    with sessions() as s:  # the letters follow through the outbox, not straight away
        assert s.scalars(select(OutboxRow)).all() is not None


def test_the_web_application_serves_the_contractors_pull_api(app: App) -> None:
    web = TestClient(app.web(session_secret=b"s" * 32), base_url="https://testserver")
    assert web.get("/contractor/v1/changes").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert web.get("/contractor/v1/changes", headers=wrong).status_code == 401
    auth = {"Authorization": f"Bearer {wb.PULL_TOKEN}"}
    app.planning("TST").refresh()
    page = web.get("/contractor/v1/changes", params={"limit": 500}, headers=auth)
    assert page.status_code == 200 and page.json()["contractor"] == "BOUW"
    keys = [c["key"] for c in page.json()["changes"]]
    assert keys == ["eenheid:VHE00001", "eenheid:VHE00002", "eenheid:VHE00003"]
