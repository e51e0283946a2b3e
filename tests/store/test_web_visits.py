"""A home visit picked on the resident's page in a free slot of the project's guide, on the real
store (SQLite and PostgreSQL), through the real App, with the guide's Outlook free/busy read
through Graph from the fake Microsoft 365 tenant (``getSchedule``): busy time is not offered, a
booked slot is offered to no one else, two residents racing for one slot get it once, a move
frees the old slot, and the letter, e-mail and the guide's calendar event follow."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from connectors.fakes.m365 import FakeMicrosoft365
from keukentafel.bootstrap import App
from keukentafel.domain.planning.appointments import AppointmentKind
from keukentafel.store.models import OutboxRow
from tests import builders
from tests import web_builders as wb
from tests.m365_fixtures import CLIENT_SECRET, MAILBOX, STAFF

TODAY = builders.local_today()
pytestmark = pytest.mark.slow  # a real mailing (PDF letters) per test


def _first_weekday_after(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() > 4:
        day += timedelta(days=1)
    return day


DAY = _first_weekday_after(TODAY)  # the first day slots are offered (from tomorrow)


@pytest.fixture
def app(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path, fake_m365: FakeMicrosoft365
) -> Iterator[App]:
    builders.run(sessions, builders.register(3))
    url = engine.url.render_as_string(hide_password=False)
    m365 = {
        "tenant_id": fake_m365.tenant_id,
        "client_id": fake_m365.client_id,
        "authority_host": fake_m365.authority_host,
        "graph_base_url": fake_m365.graph_base_url,
        "ca_bundle": fake_m365.ca_bundle_path,
        "mailbox": MAILBOX,
        "staff_calendars": [STAFF],
    }
    # the guide is in a meeting on the first day from 9 to 12 (their own Outlook)
    fake_m365.state.mailbox(STAFF).events["busy-1"] = {  # type: ignore[union-attr]
        "id": "busy-1",
        "subject": "Overleg",
        "showAs": "busy",
        "start": {"dateTime": f"{DAY}T09:00:00", "timeZone": "Europe/Amsterdam"},
        "end": {"dateTime": f"{DAY}T12:00:00", "timeZone": "Europe/Amsterdam"},
    }
    with wb.make_app(
        tmp_path, url, m365=m365, secrets={"KT_TEST_M365": CLIENT_SECRET}, visit_guide=STAFF
    ) as application:
        wb.send_proposal(application, TODAY)
        yield application


def _client(app: App, unit: str, parties: list[str]) -> TestClient:
    web = TestClient(app.web(session_secret=b"s" * 32), base_url="https://testserver")
    assert web.get(wb.path_of(wb.link_for(unit, TODAY, parties).url)).status_code == 200
    return web


def _offered(page: str) -> list[str]:
    return re.findall(r'name="slot" value="([^"]+)"', page)


def _token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.split('action="/woning/bezoek"')[1])
    assert found
    return found.group(1)


def _at(hour: int, day: date = DAY) -> str:
    return datetime.combine(day, time(hour)).isoformat()


def test_a_resident_picks_a_free_slot_of_the_guide_and_no_one_else_gets_it(
    app: App, sessions: sessionmaker[Session], fake_m365: FakeMicrosoft365
) -> None:
    one, two = _client(app, "VHE00001", ["R1"]), _client(app, "VHE00002", ["R2"])
    page = one.get("/woning").text
    assert "Een gesprek bij u thuis" in page
    offered = _offered(page)
    assert _at(12) in offered and _at(16) in offered
    assert not {_at(9), _at(10), _at(11)} & set(offered)  # busy in Outlook: not offered
    stale = two.get("/woning").text  # resident two's page, read before one books

    booked = one.post("/woning/bezoek", data={"slot": _at(12), "csrf": _token(page)})
    assert booked.status_code == 200 and "Uw afspraak is gemaakt" in booked.text
    (visit,) = [a for a in app.planning("TST").appointments("VHE00001") if a.status.is_open]
    assert (visit.kind, visit.guide, visit.slot and visit.slot.start) == (
        AppointmentKind.HOME_VISIT,
        STAFF,
        datetime.combine(DAY, time(12)),
    )
    assert _at(12) not in _offered(two.get("/woning").text)  # taken: offered to no one else
    late = two.post("/woning/bezoek", data={"slot": _at(12), "csrf": _token(stale)})
    assert late.status_code == 409 and "niet meer vrij" in late.text
    assert not [a for a in app.planning("TST").appointments("VHE00002") if a.status.is_open]
    page = one.get("/woning").text
    assert "Uw begeleider komt op" in page and "12:00 uur" in page

    # the letter, e-mail and invitation through the outbox, and the guide's calendar event
    notified, calendar = app.planning("TST").follow_up()
    assert notified.letters == 1 and calendar is not None and calendar.created_or_updated == 1
    events = [e for e in fake_m365.state.events(STAFF) if "VHE00001" in e.get("subject", "")]
    assert len(events) == 1 and events[0]["start"]["dateTime"].startswith(f"{DAY}T12:00")
    with sessions() as session:
        mail = session.scalars(select(OutboxRow).where(OutboxRow.unit_code == "VHE00001")).all()
    assert any(b"BEGIN:VCALENDAR" in bytes(m.body) for m in mail)  # the invitation goes along

    # a move: the new slot is the visit's, the old one is free again
    page = one.get("/woning").text
    moved = one.post("/woning/bezoek", data={"slot": _at(14), "csrf": _token(page)})
    assert moved.status_code == 200
    (visit,) = [a for a in app.planning("TST").appointments("VHE00001") if a.status.is_open]
    assert visit.slot is not None and visit.slot.start.hour == 14 and visit.version == 2
    offered = _offered(two.get("/woning").text)
    assert _at(14) not in offered and _at(12) not in offered  # Outlook still has it at 12
    app.planning("TST").follow_up()
    events = [e for e in fake_m365.state.events(STAFF) if "VHE00001" in e.get("subject", "")]
    assert len(events) == 1 and events[0]["start"]["dateTime"].startswith(f"{DAY}T14:00")
    assert _at(12) in _offered(two.get("/woning").text)  # the calendar moved: free again


def test_two_residents_racing_for_one_slot_get_it_once(app: App) -> None:
    clients = [_client(app, f"VHE0000{n}", [f"R{n}"]) for n in (2, 3)]
    tokens = [_token(c.get("/woning").text) for c in clients]
    start = threading.Barrier(2)
    answers: list[int] = []

    def pick(n: int) -> None:
        start.wait()
        sent = clients[n].post("/woning/bezoek", data={"slot": _at(15), "csrf": tokens[n]})
        answers.append(sent.status_code)

    threads = [threading.Thread(target=pick, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(answers) == [200, 409]
    planned = [
        a
        for unit in ("VHE00002", "VHE00003")
        for a in app.planning("TST").appointments(unit)
        if a.status.is_open
    ]
    assert len(planned) == 1 and planned[0].slot is not None
    assert planned[0].slot.start == datetime.combine(DAY, time(15))
