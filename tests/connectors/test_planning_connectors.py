"""The planning's connectors against fake servers: VERA's write API (idempotent by key, an
answer lost on the way back), the ERP export files, and free/busy from the fake Graph."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from connectors.erp.vera.writes import VeraWriter
from connectors.fakes.m365 import FakeMicrosoft365
from connectors.fakes.vera_data import generate_dataset
from connectors.fakes.vera_server import FakeVeraServer
from connectors.m365.calendar import StaffCalendar, VisitEvent
from connectors.m365.graph import GraphClient
from keukentafel.config import VeraConfig
from keukentafel.feeds.erp_export import ErpExportWriter
from keukentafel.usecases.erp_writes import ErpRefused
from tests.m365_fixtures import STAFF

MOMENT = {
    "idExtern": "kt-1",
    "datum": "2027-05-01T08:00:00Z",
    "kanaal": {"code": "BRI"},
    "richting": {"code": "UIT"},
    "onderwerp": "Bevestiging afspraak",
    "relaties": [{"id": "R1", "soort": {"code": "NAT"}}],
}


@pytest.fixture
def vera() -> Iterator[FakeVeraServer]:
    with FakeVeraServer(generate_dataset(1, seed=1), api_key="k") as server:
        yield server


def writer_for(vera: FakeVeraServer, key: str = "k") -> VeraWriter:
    config = VeraConfig.model_validate(
        {"base_url": vera.url, "auth": {"mode": "api_key", "api_key_env": "VK"}, "max_retries": 1}
    )
    return VeraWriter(config, env={"VK": key}, backoff_base=0.001)


def test_a_contact_moment_written_twice_is_one_in_the_erp(vera: FakeVeraServer) -> None:
    writer = writer_for(vera)
    first = writer.write("contactmoment", "kt-1", MOMENT, "")
    again = writer.write("contactmoment", "kt-1", MOMENT, "")
    assert first == again and len(vera.written["/contactmomenten"]) == 1
    assert writer.find("contactmoment", "kt-1") == first
    assert writer.find("contactmoment", "kt-2") is None


def test_a_lost_answer_leaves_the_write_in_doubt_and_the_key_finds_it(
    vera: FakeVeraServer,
) -> None:
    writer = writer_for(vera)
    vera.drop_after_write = 1
    with pytest.raises(ConnectionError):
        writer.write("contactmoment", "kt-9", {**MOMENT, "idExtern": "kt-9"}, "")
    assert len(vera.written["/contactmomenten"]) == 1  # it went in
    assert writer.find("contactmoment", "kt-9") is not None


def test_an_appointment_is_created_then_replaced_by_its_id(vera: FakeVeraServer) -> None:
    writer = writer_for(vera)
    payload = {"idExtern": "kt-a", "code": "AFS-1", "status": {"code": "GEP"}}
    remote = writer.write("afspraak", "kt-a", payload, "")
    writer.write("afspraak", "kt-a", {**payload, "status": {"code": "ANN"}}, remote)
    assert list(vera.written["/afspraken"]) == [remote]
    assert vera.written["/afspraken"][remote]["status"] == {"code": "ANN"}


def test_a_refused_write_is_certain(vera: FakeVeraServer) -> None:
    with pytest.raises(ErpRefused, match="HTTP 401"):
        writer_for(vera, key="wrong").write("contactmoment", "kt-1", MOMENT, "")
    assert vera.written["/contactmomenten"] == {}


def test_the_export_writes_each_key_once_and_guards_formulas(tmp_path: Path) -> None:
    writer = ErpExportWriter(tmp_path, "TST")
    evil = {**MOMENT, "onderwerp": '=HYPERLINK("x")'}
    found = writer.write("contactmoment", "kt-1", evil, "")
    assert writer.find("contactmoment", "kt-1") == found
    assert writer.find("contactmoment", "kt-2") is None
    text = next(tmp_path.glob("TST-contactmomenten-*.csv")).read_text(encoding="utf-8")
    header, row = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert header[:3] == ["idExtern", "datum", "kanaal"]
    assert row == ["kt-1", "2027-05-01T08:00:00Z", "BRI", "UIT", '\'=HYPERLINK("x")', "", "R1"]


def test_the_export_names_its_file_after_amsterdams_day_of_the_write(tmp_path: Path) -> None:
    # 23:30 UTC on 31 December is 00:30 on 1 January in Amsterdam: the corporation's new day
    late = datetime(2026, 12, 31, 23, 30)
    ErpExportWriter(tmp_path, "TST", clock=lambda: late).write("contactmoment", "kt-1", MOMENT, "")
    ErpExportWriter(tmp_path, "TST", clock=lambda: late.replace(hour=22)).write(
        "afspraak", "kt-2", {"idExtern": "kt-2"}, ""
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "TST-afspraken-2026-12-31.csv",
        "TST-contactmomenten-2027-01-01.csv",
    ]


def _event(client: GraphClient, subject: str, start: str, end: str, **extra: object) -> str:
    answer = client.post(
        f"/users/{STAFF}/events",
        json={
            "subject": subject,
            "start": {"dateTime": start, "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": end, "timeZone": "W. Europe Standard Time"},
            **extra,
        },
    )
    assert answer.json is not None
    return str(answer.json["id"])


def test_free_busy_gives_busy_periods_in_amsterdam_time(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    _event(graph_client, "Overleg", "2027-05-12T09:00:00", "2027-05-12T10:30:00")
    _event(graph_client, "Vrij", "2027-05-12T11:00:00", "2027-05-12T12:00:00", showAs="free")
    cancelled = _event(graph_client, "Gaat niet door", "2027-05-12T13:00:00", "2027-05-12T14:00:00")
    graph_client.post(f"/users/{STAFF}/events/{cancelled}/cancel", json={"Comment": ""})
    _event(graph_client, "Volgende dag", "2027-05-13T09:00:00", "2027-05-13T10:00:00")
    busy = StaffCalendar(graph_client, STAFF).busy(
        datetime(2027, 5, 12, 0, 0), datetime(2027, 5, 12, 23, 59)
    )
    assert busy == [(datetime(2027, 5, 12, 9, 0), datetime(2027, 5, 12, 10, 30))]


def test_a_retried_create_makes_no_second_event(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient
) -> None:
    calendar = StaffCalendar(graph_client, STAFF)
    event = VisitEvent(
        "AFS-1", "Keukentafelgesprek", datetime(2027, 5, 12, 10), datetime(2027, 5, 12, 11)
    )
    assert calendar.create(event) == calendar.create(event)
    assert len(fake_m365.state.events(STAFF)) == 1
