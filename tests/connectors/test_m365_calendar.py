"""Visits in a staff calendar, against the fake Entra ID + Graph with the real msal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.fakes.m365 import FakeMicrosoft365, FaultRule
from connectors.m365.calendar import (
    GRAPH_TIME_ZONE,
    StaffCalendar,
    VisitEvent,
    VisitLocation,
    event_json,
    transaction_id,
)
from connectors.m365.graph import GraphClient
from tests.m365_fixtures import STAFF

GUIDE = STAFF  # the guide's own mailbox and calendar in the fake tenant


@pytest.fixture
def fake(fake_m365: FakeMicrosoft365) -> FakeMicrosoft365:
    return fake_m365


@pytest.fixture
def client(graph_client: GraphClient) -> GraphClient:
    return graph_client


def visit(**changes: object) -> VisitEvent:
    values: dict[str, object] = {
        "uid": "appointment-VHE-1-1",
        "subject": "Keukentafelgesprek",
        "start": datetime(2026, 12, 1, 9, 0, tzinfo=UTC),  # 10:00 in Amsterdam (winter)
        "end": datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        "body_html": "<p>We bespreken de renovatie.</p>",
        "location": VisitLocation("Kerkstraat 1, Utrecht", "Kerkstraat 1", "1234 AB", "Utrecht"),
        "attendee_email": "fam.jansen@example.nl",
        "attendee_name": "Fam. Jansen",
        "unit_code": "VHE-1",
    }
    values.update(changes)
    return VisitEvent(**values)  # type: ignore[arg-type]


def test_event_json_uses_amsterdam_wall_clock_time() -> None:
    summer = visit(
        start=datetime(2026, 6, 1, 8, 0, tzinfo=UTC), end=datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
    )
    naive = visit(start=datetime(2026, 6, 1, 10, 0), end=datetime(2026, 6, 1, 11, 30))
    for event in (summer, naive):
        data = event_json(event, for_create=True)
        assert data["start"] == {"dateTime": "2026-06-01T10:00:00", "timeZone": GRAPH_TIME_ZONE}
        assert data["end"] == {"dateTime": "2026-06-01T11:30:00", "timeZone": GRAPH_TIME_ZONE}
    assert "transactionId" not in event_json(summer, for_create=False)


def test_transaction_id_is_stable_and_per_visit() -> None:
    assert transaction_id("appointment-1") == transaction_id("appointment-1")
    assert transaction_id("appointment-1") != transaction_id("appointment-2")
    assert len(transaction_id("appointment-1")) == 36  # a UUID


def test_a_visit_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="appointment-VHE-1-1"):
        visit(end=datetime(2026, 12, 1, 8, 0, tzinfo=UTC))


def test_create_twice_makes_one_event(fake: FakeMicrosoft365, client: GraphClient) -> None:
    calendar = StaffCalendar(client, GUIDE)
    first = calendar.create(visit())
    second = calendar.create(visit())  # a retry after a lost answer
    assert first == second
    (event,) = fake.state.events(GUIDE)
    assert event["id"] == first
    assert event["transactionId"] == transaction_id("appointment-VHE-1-1")
    assert event["start"] == {"dateTime": "2026-12-01T10:00:00", "timeZone": GRAPH_TIME_ZONE}
    assert event["location"]["displayName"] == "Kerkstraat 1, Utrecht"
    assert event["location"]["address"]["postalCode"] == "1234 AB"
    assert [a["emailAddress"]["address"] for a in event["attendees"]] == ["fam.jansen@example.nl"]
    assert event["attendees"][0]["type"] == "required"
    assert not event["isOnlineMeeting"]
    assert calendar.join_url(first) is None


def test_create_throttled_then_retried_makes_one_event(
    fake: FakeMicrosoft365, client: GraphClient
) -> None:
    fake.faults.throttle(2, "0.02", method="POST", path_prefix=f"/users/{GUIDE}/events")
    event_id = StaffCalendar(client, GUIDE).create(visit())
    assert [e["id"] for e in fake.state.events(GUIDE)] == [event_id]


def test_update_and_cancel(fake: FakeMicrosoft365, client: GraphClient) -> None:
    calendar = StaffCalendar(client, GUIDE)
    event_id = calendar.create(visit())
    calendar.update(
        event_id,
        visit(
            start=datetime(2026, 12, 2, 13, 0, tzinfo=UTC),
            end=datetime(2026, 12, 2, 14, 0, tzinfo=UTC),
            location=VisitLocation("Modelwoning, Kerkstraat 3"),
        ),
    )
    (event,) = fake.state.events(GUIDE)
    assert event["id"] == event_id
    assert event["start"]["dateTime"] == "2026-12-02T14:00:00"
    assert event["location"] == {"displayName": "Modelwoning, Kerkstraat 3"}

    calendar.cancel(event_id, "De afspraak gaat niet door. We bellen u voor een nieuwe datum.")
    (event,) = fake.state.events(GUIDE)
    assert event["isCancelled"] is True
    assert fake.count("POST", f"/events/{event_id}/cancel") == 1


def test_teams_meeting_gives_a_join_url(fake: FakeMicrosoft365, client: GraphClient) -> None:
    calendar = StaffCalendar(client, GUIDE)
    created = calendar.create_event(visit(uid="call-VHE-2", teams_meeting=True))
    assert created.join_url is not None
    assert created.join_url.startswith("https://teams.microsoft.com/")
    (event,) = fake.state.events(GUIDE)
    assert (event["isOnlineMeeting"], event["onlineMeetingProvider"]) == (True, "teamsForBusiness")
    # another process (no cache) finds the same link through Graph
    assert StaffCalendar(client, GUIDE).join_url(created.event_id) == created.join_url


def test_cancel_of_an_appointment_without_attendee_deletes_it(
    fake: FakeMicrosoft365, client: GraphClient
) -> None:
    calendar = StaffCalendar(client, GUIDE)
    event_id = calendar.create(visit(uid="call-VHE-3", attendee_email="", attendee_name=""))
    assert fake.state.events(GUIDE)[0]["attendees"] == []
    # Graph refuses to "cancel" an event that is no meeting
    fake.faults.add(
        FaultRule(400, "ErrorInvalidRequest", "You can't cancel a non-meeting.", 1, method="POST")
    )
    calendar.cancel(event_id)
    assert fake.state.events(GUIDE) == []
