"""The planning track end to end on one App: real letters (WeasyPrint), the outbox through the
fake Microsoft 365 tenant, the guide's Outlook calendar, the contractor API (FastAPI), the
contractor's delay coming back signed, and the writes to the fake VERA server."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar

from connectors.fakes.contractor import FakeContractor
from connectors.fakes.m365 import FakeMicrosoft365
from connectors.fakes.vera_data import generate_dataset
from connectors.fakes.vera_server import FakeVeraServer
from keukentafel.bootstrap import App, CorporationRegistry, build
from keukentafel.domain.planning.appointments import Slot
from keukentafel.domain.planning.webhooks import secret_text
from keukentafel.feeds.api import router
from keukentafel.settings import Settings
from keukentafel.usecases.sync_register import sync_register
from tests.builders import CORP, StaticSource, register
from tests.m365_fixtures import MAILBOX, SECRET_ENV, STAFF

pytestmark = pytest.mark.slow  # letters through WeasyPrint, several fake servers

OUT_SECRET = secret_text(b"o" * 32)
IN_SECRET = secret_text(b"i" * 32)
TOKEN = "pull-token-for-bouw-0123456789"
NOW = datetime(2027, 5, 1, 8, 0)


@pytest.fixture
def vera() -> Iterator[FakeVeraServer]:
    with FakeVeraServer(generate_dataset(1, seed=1), api_key="vera-key") as server:
        yield server


@pytest.fixture
def contractor() -> Iterator[FakeContractor]:
    with FakeContractor([OUT_SECRET]) as fake:
        yield fake


@pytest.fixture
def app(
    tmp_path: Path,
    fake_m365: FakeMicrosoft365,
    m365_env: dict[str, str],
    vera: FakeVeraServer,
    contractor: FakeContractor,
) -> Iterator[App]:
    corporation = {
        "corporation": {"code": CORP, "name": "Woonstichting Test"},
        "source": {
            "kind": "vera",
            "vera": {
                "base_url": vera.url,
                "auth": {"mode": "api_key", "api_key_env": "VERA_KEY"},
                "max_retries": 1,
            },
        },
        "projects": [
            {"code": "P", "name": "Renovatie", "kind": "major_maintenance", "complexes": ["CPX-1"]},
        ],
        "letters": {
            "branding": {
                "name": "Woonstichting Test",
                "return_address": "Woonstichting Test, Postbus 1, 1000 AA  AMSTERDAM",
            },
            "contact": {
                "name": "Bea Begeleider",
                "phone": "020-1234567",
                "email": "team@example.org",
            },
            "link_base_url": "https://bewoners.example.org/a",
        },
        "m365": {
            "tenant_id": fake_m365.tenant_id,
            "client_id": fake_m365.client_id,
            "authority_host": fake_m365.authority_host,
            "graph_base_url": fake_m365.graph_base_url,
            "client_secret_env": SECRET_ENV,
            "ca_bundle": fake_m365.ca_bundle_path,
            "mailbox": MAILBOX,
            "send_pace_per_minute": 600,
            "staff_calendars": [STAFF],
        },
        "feeds": {
            "contractors": [
                {
                    "code": "BOUW",
                    "name": "Bouwbedrijf Test",
                    "projects": ["P"],
                    "teams": ["noord"],
                    "webhook": {"url": contractor.hook_url, "secret_envs": ["BOUW_WHSEC"]},
                    "pull_token_env": "BOUW_TOKEN",
                    "inbound_secret_envs": ["BOUW_IN_WHSEC"],
                }
            ],
            "erp": {"mode": "vera"},
        },
    }
    path = tmp_path / "tst.yaml"
    path.write_text(yaml.safe_dump(corporation), encoding="utf-8")
    env = {
        **m365_env,
        "VERA_KEY": "vera-key",
        "BOUW_WHSEC": OUT_SECRET,
        "BOUW_IN_WHSEC": IN_SECRET,
        "BOUW_TOKEN": TOKEN,
        "KEUKENTAFEL_LINK_SECRET": "pX4vK9qW2mZ7tB1nR6cJ3hF8sL0dG5yA-uE_iT",
    }
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'kt.db'}",
        data_dir=tmp_path / "data",
        output_dir=tmp_path / "out",
        config_path=path,
        environ=MappingProxyType(env),
    )
    with build(
        settings, corporations=CorporationRegistry.from_files([path]), clock=lambda: NOW
    ) as application:
        sync_register(application.sessions, CORP, StaticSource(register(6)))
        yield application


def client_for(app: App) -> TestClient:
    web = FastAPI()
    web.include_router(router(app))
    return TestClient(web)


def agenda(folder: Path) -> list[Any]:
    return [
        Calendar.from_ical(p.read_bytes()).walk("VEVENT")[0]
        for p in sorted(folder.glob("**/agenda/*.ics"))
    ]


def test_a_contractors_delay_reaches_every_household_with_the_new_dates_and_calendars(
    app: App, fake_m365: FakeMicrosoft365, vera: FakeVeraServer, contractor: FakeContractor
) -> None:
    planning = app.planning(CORP)
    units = ["VHE00001", "VHE00002", "VHE00003"]
    planned = [
        planning.plan_work_days(
            "P",
            "BOUW",
            unit,
            "keuken",
            date(2027, 5, 12),
            date(2027, 5, 14),
            team="noord",
            by="cli:test",
        )
        for unit in units
    ]
    notified, _ = planning.follow_up()
    assert notified.letters == 3
    first = {str(e["uid"]): int(e["sequence"]) for e in agenda(app.settings.output_dir)}
    assert sorted(first.values()) == [0, 0, 0]

    body, headers = FakeContractor.signed(
        IN_SECRET,
        "msg_delay_0001",
        "afspraken.vertraagd",
        {
            "reden": "De keukens worden twee weken later geleverd.",
            "afspraken": [
                {"code": a.code, "begindatum": "2027-05-26", "einddatum": "2027-05-28"}
                for a in planned
            ]
            + [
                {
                    "eenheid": {"code": "VHE00005"},
                    "onderwerp": "keuken",
                    "begindatum": "2027-05-26",
                    "einddatum": "2027-05-28",
                }
            ],
        },
    )
    client = client_for(app)
    answer = client.post(f"/contractor/v1/inbound/{CORP}/BOUW", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied"] == 3 and len(answer.json()["refused"]) == 1  # VHE00005 has none
    again = client.post(f"/contractor/v1/inbound/{CORP}/BOUW", content=body, headers=headers)
    assert again.json() == {
        "webhook-id": "msg_delay_0001",
        "duplicate": True,
        "applied": 0,
        "refused": [],
        "units": [],
    }
    tampered = client.post(
        f"/contractor/v1/inbound/{CORP}/BOUW", content=body + b" ", headers=headers
    )
    assert tampered.status_code == 401

    notified, _ = planning.follow_up()
    assert notified.letters == 3  # one delay letter per affected household, not six
    delay_dirs = sorted((app.settings.output_dir / "afspraken").glob("*-v2"))
    assert len(delay_dirs) == 3
    for folder in delay_dirs:
        eml = next(folder.glob("**/email/*.eml")).read_bytes().decode("utf-8", "replace")
        message = email.message_from_string(eml)
        text = next(
            part.get_payload(decode=True).decode()
            for part in message.walk()
            if part.get_content_type() == "text/plain"
        )
        assert "Het werk aan uw woning duurt langer" in text
        assert "woensdag 26 mei tot en met vrijdag 28 mei 2027" in " ".join(text.split())
        assert "twee weken later geleverd" in text
    events = agenda(app.settings.output_dir)
    changed = [e for e in events if int(e["sequence"]) == 1]
    assert {str(e["uid"]) for e in changed} == set(first)  # the same events, SEQUENCE raised
    assert all(e["dtstart"].dt.date() == date(2027, 5, 26) for e in changed)

    report = app.dispatch(CORP)
    assert report is not None and report.sent == 6 and report.failed == 0
    subjects = sorted(m["subject"] for m in fake_m365.state.messages(MAILBOX, "SentItems"))
    assert sum("duurt langer" in s for s in subjects) == 3

    # the contractor's own planning system got the moved days too (webhooks)
    planning.refresh()
    delivered = planning.deliver()
    assert delivered.delivered == {"BOUW": 1}
    work = [v for k, v in contractor.current().items() if k.startswith("afspraak:")]
    assert sorted(w["begindatum"] for w in work) == ["2027-05-26T05:30:00Z"] * 3

    # and the corporation's ERP: every appointment version and every letter, once
    vera.drop_after_write = 1  # one answer lost on the way back: in doubt, found, not doubled
    first_run = planning.write_back()
    assert first_run is not None and first_run.retrying == 1
    second = planning.write_back()
    assert second is not None and second.failed == []
    moments = list(vera.written["/contactmomenten"].values())
    assert len(moments) == 6 and len({m["idExtern"] for m in moments}) == 6
    appointments = list(vera.written["/afspraken"].values())
    assert len(appointments) == 3
    assert {a["begindatum"] for a in appointments} == {"2027-05-26T05:30:00Z"}
    assert planning.write_back() is not None and len(vera.written["/contactmomenten"]) == 6


def test_the_pull_api_is_per_contractor_and_pages_by_cursor(app: App) -> None:
    planning = app.planning(CORP)
    planning.plan_work_days(
        "P",
        "BOUW",
        "VHE00004",
        "badkamer",
        date(2027, 6, 1),
        date(2027, 6, 2),
        team="noord",
        by="cli:test",
    )
    planning.refresh()
    client = client_for(app)
    assert client.get("/contractor/v1/changes").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert client.get("/contractor/v1/changes", headers=wrong).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get("/contractor/v1/changes", params=params, headers=auth).json()
        seen += page["changes"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert [c["sequence"] for c in seen] == list(range(1, 8))  # 6 units + 1 appointment
    assert page["contractor"] == "BOUW"
    assert (
        client.get("/contractor/v1/changes", params={"cursor": "x"}, headers=auth).status_code
        == 400
    )
    csv_answer = client.get("/contractor/v1/export.csv", headers=auth)
    assert csv_answer.status_code == 200 and "VHE00004" in csv_answer.content.decode("utf-8-sig")
    xlsx = client.get("/contractor/v1/export.xlsx", headers=auth)
    assert xlsx.content[:2] == b"PK"
    ics = client.get("/contractor/v1/calendar.ics", params={"team": "noord"}, headers=auth)
    assert b"BEGIN:VEVENT" in ics.content and b"badkamer VHE00004" in ics.content
    from keukentafel.bootstrap_planning import ContractorRef, calendar_key

    key = calendar_key(app, ContractorRef(CORP, "BOUW"), "noord")
    by_key = client.get(
        f"/contractor/v1/calendar/{CORP}/BOUW.ics", params={"team": "noord", "key": key}
    )
    assert by_key.status_code == 200 and by_key.content.count(b"BEGIN:VEVENT") == 1
    bad = client.get(f"/contractor/v1/calendar/{CORP}/BOUW.ics", params={"team": "", "key": key})
    assert bad.status_code == 404  # a key opens its own calendar only


def test_a_visit_goes_into_the_guides_calendar_once_and_free_slots_skip_busy_time(
    app: App, fake_m365: FakeMicrosoft365
) -> None:
    planning = app.planning(CORP)
    day = date(2027, 5, 12)
    busy = Slot(datetime.combine(day, time(9)), datetime.combine(day, time(12)))
    visit = planning.book_visit("P", "VHE00006", STAFF, busy, by="cli:test")
    _, calendar = planning.follow_up()
    assert calendar is not None and calendar.created_or_updated == 1
    assert planning.sync_calendars() == type(calendar)()  # nothing behind: nothing sent again
    events = fake_m365.state.events(STAFF)
    assert len(events) == 1 and events[0]["attendees"] == []  # no second invitation from Outlook
    assert "VHE00006" in events[0]["subject"]
    free = planning.free_slots(STAFF, day, day)
    assert free and all(not s.overlaps(busy) for s in free)
    assert free[0].start == datetime.combine(day, time(12))

    moved = planning.move(
        "P",
        visit.code,
        slot=Slot(datetime.combine(day, time(14)), datetime.combine(day, time(15))),
        by="cli:test",
    )
    planning.follow_up()
    events = fake_m365.state.events(STAFF)
    assert len(events) == 1 and events[0]["start"]["dateTime"].startswith("2027-05-12T14:00")
    planning.cancel("P", moved.code, by="cli:test")
    planning.follow_up()
    assert all(e.get("isCancelled") for e in fake_m365.state.events(STAFF)) or not (
        fake_m365.state.events(STAFF)
    )
    assert len(planning.free_slots(STAFF, day, day)) > len(free)
    # the household's own calendar: the same UID cancelled with the next SEQUENCE, in the e-mail
    folder = app.settings.output_dir / "afspraken"
    booked = Calendar.from_ical(next(folder.glob(f"{visit.code}-v1/*/agenda/*.ics")).read_bytes())
    cancel_file = next(folder.glob(f"{visit.code}-v3/*/agenda/*-afzegging.ics"))
    cancelled = Calendar.from_ical(cancel_file.read_bytes())
    assert str(cancelled["method"]) == "CANCEL"
    first, last = booked.walk("VEVENT")[0], cancelled.walk("VEVENT")[0]
    assert str(last["uid"]) == str(first["uid"]) and int(last["sequence"]) == 2
    eml = next(folder.glob(f"{visit.code}-v3/*/email/*.eml")).read_bytes()
    assert b"afzegging.ics" in eml and b"METHOD:CANCEL" in eml.replace(b"=\r\n", b"")


def test_an_erp_without_writes_gets_its_files_named_after_the_apps_amsterdam_day(
    tmp_path: Path,
) -> None:
    """``feeds.erp.mode: export``: the App hands its own clock to the export, so a write at
    23:30 UTC on 1 May (2 May in Amsterdam) lands in the file of 2 May."""
    data = yaml.safe_load((Path(__file__).parents[2] / "config" / "demo.yaml").read_text())
    data["feeds"]["erp"] = {"mode": "export"}
    path = tmp_path / "export.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'kt.db'}",
        data_dir=tmp_path / "data",
        output_dir=tmp_path / "out",
        config_path=path,
        environ=MappingProxyType({}),
    )
    corporations = CorporationRegistry.from_files([path])
    late = datetime(2027, 5, 1, 23, 30)
    with build(settings, corporations=corporations, clock=lambda: late) as application:
        code = corporations.single().code
        with application.planning(code).erp_writer() as writer:
            assert writer is not None
            writer.write("contactmoment", "kt-1", {"idExtern": "kt-1"}, "")
    assert [p.name for p in (tmp_path / "out" / "erp").iterdir()] == [
        f"{code}-contactmomenten-2027-05-02.csv"
    ]
