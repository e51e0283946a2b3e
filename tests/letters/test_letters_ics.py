"""iCalendar invitations parse back with icalendar; UID stays, SEQUENCE rises, CANCEL works."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

from keukentafel.letters.context import Event
from keukentafel.letters.ics import (
    Party,
    amsterdam_vtimezone,
    build_ics,
    cancel,
    event_uid,
    reschedule,
)

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
EVENT = Event(
    "bewonersavond-1",
    "Bewonersavond",
    datetime(2027, 3, 30, 19, 30),  # the first week of summer time
    datetime(2027, 3, 30, 21, 0),
    "Buurthuis De Linde",
    "Lindelaan 4, 1234 AC  Ons Dorp",
)
ORGANISER = Party("Sanne Bakker", "bewonersbegeleiding@example.nl")
ATTENDEE = Party("Ö'Brien & Zn.", "info@obrien.example")


def _event(ics: bytes) -> tuple[Calendar, Any]:
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def _first() -> bytes:
    return build_ics(
        EVENT,
        uid=event_uid("ZONNEHOF-2026", EVENT.event_id, "0012"),
        sequence=0,
        method="REQUEST",
        organiser=ORGANISER,
        attendee=ATTENDEE,
        description="Uitnodiging bewonersavond",
        now=NOW,
    )


def test_uid_is_stable_and_distinct() -> None:
    uid = event_uid("ZONNEHOF-2026", "bewonersavond-1", "0012")
    assert uid == event_uid("ZONNEHOF-2026", "bewonersavond-1", "0012")
    assert uid != event_uid("ZONNEHOF-2026", "bewonersavond-1", "0013")
    assert uid != event_uid("ZONNEHOF-2026", "bewonersavond-2", "0012")
    assert uid.endswith("@keukentafel")


def test_request_parses_back() -> None:
    calendar, vevent = _event(_first())
    assert str(calendar["method"]) == "REQUEST"
    assert str(calendar["version"]) == "2.0"
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Amsterdam"]
    assert str(vevent["uid"]) == event_uid("ZONNEHOF-2026", "bewonersavond-1", "0012")
    assert int(vevent["sequence"]) == 0
    start = vevent["dtstart"].dt
    assert start == datetime(2027, 3, 30, 19, 30, tzinfo=AMS)
    assert start.utcoffset().total_seconds() == 2 * 3600  # CEST
    assert str(vevent["location"]) == "Buurthuis De Linde, Lindelaan 4, 1234 AC  Ons Dorp"
    assert str(vevent["organizer"]) == "mailto:bewonersbegeleiding@example.nl"
    attendee = vevent["attendee"]
    assert str(attendee) == "mailto:info@obrien.example"
    assert str(attendee.params["CN"]) == "Ö'Brien & Zn."
    assert str(vevent["status"]) == "CONFIRMED"


def test_change_keeps_uid_and_raises_sequence() -> None:
    first = _first()
    moved = Event(
        EVENT.event_id,
        EVENT.title,
        datetime(2027, 4, 6, 19, 30),
        datetime(2027, 4, 6, 21, 0),
        EVENT.location_name,
        EVENT.location_address,
    )
    second = reschedule(first, moved, now=NOW)
    third = reschedule(second, moved, now=NOW)
    _, before = _event(first)
    calendar, after = _event(second)
    _, later = _event(third)
    assert str(after["uid"]) == str(before["uid"]) == str(later["uid"])
    assert (int(before["sequence"]), int(after["sequence"]), int(later["sequence"])) == (0, 1, 2)
    assert str(calendar["method"]) == "REQUEST"
    assert after["dtstart"].dt == datetime(2027, 4, 6, 19, 30, tzinfo=AMS)
    assert str(after["attendee"]) == "mailto:info@obrien.example"


def test_cancel() -> None:
    first = _first()
    calendar, cancelled = _event(cancel(first, EVENT, now=NOW))
    _, original = _event(first)
    assert str(calendar["method"]) == "CANCEL"
    assert str(cancelled["status"]) == "CANCELLED"
    assert str(cancelled["uid"]) == str(original["uid"])
    assert int(cancelled["sequence"]) == 1


def test_timezone_is_built_once() -> None:
    assert amsterdam_vtimezone() is amsterdam_vtimezone()
