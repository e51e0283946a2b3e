"""iCalendar (RFC 5545) invitations: one VEVENT per household and event, REQUEST and CANCEL.

The UID is stable per project, event and unit (a UUID5), so a changed invitation replaces the
earlier one in the resident's calendar; SEQUENCE is raised on every change. Times are written
with TZID=Europe/Amsterdam and one VTIMEZONE that is built once per process and reused (building
it per invitation is ten times slower).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

from icalendar import Calendar, Timezone, vCalAddress, vText
from icalendar import Event as VEvent

from keukentafel.domain.invitations import event_uid
from keukentafel.domain.messages import Event, to_amsterdam

__all__ = ["Party", "amsterdam_vtimezone", "build_ics", "cancel", "event_uid", "reschedule"]

PRODID = "-//Keukentafel//bewonersbegeleiding//NL"
Method = Literal["REQUEST", "CANCEL"]


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    email: str


# The EU rule since 1996 as two RRULEs (as tzurl.org publishes it): a dozen lines instead of
# one RDATE per transition, so every invitation stays small and cheap to fold.
_AMSTERDAM_VTIMEZONE = (
    "BEGIN:VTIMEZONE\r\n"
    "TZID:Europe/Amsterdam\r\n"
    "BEGIN:DAYLIGHT\r\n"
    "TZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\n"
    "TZNAME:CEST\r\n"
    "DTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
    "END:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\n"
    "TZOFFSETFROM:+0200\r\n"
    "TZOFFSETTO:+0100\r\n"
    "TZNAME:CET\r\n"
    "DTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "END:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
)


@lru_cache(maxsize=1)
def amsterdam_vtimezone() -> Timezone:
    """Europe/Amsterdam as a VTIMEZONE, built once per process and reused."""
    component = Timezone.from_ical(_AMSTERDAM_VTIMEZONE)
    assert isinstance(component, Timezone)
    return component


def _address(party: Party, *, role: str | None = None, rsvp: bool = True) -> vCalAddress:
    address = vCalAddress(f"mailto:{party.email}")
    address.params["CN"] = vText(party.name)
    if role:
        address.params["ROLE"] = vText(role)
        address.params["PARTSTAT"] = vText("NEEDS-ACTION")
        address.params["RSVP"] = vText("TRUE" if rsvp else "FALSE")
    return address


def build_ics(
    event: Event,
    *,
    uid: str,
    sequence: int,
    method: Method,
    organiser: Party,
    attendee: Party | None,
    description: str = "",
    now: datetime | None = None,
    rsvp: bool = True,
) -> bytes:
    """One VCALENDAR with METHOD and one VEVENT, as bytes (CRLF lines, UTF-8).

    ``rsvp`` False says no answer is expected (``RSVP=FALSE``): for a meeting the letter says
    nobody needs to sign up for."""
    if sequence < 0:
        raise ValueError("sequence must not be negative")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(amsterdam_vtimezone())
    vevent = VEvent()
    vevent.add("uid", uid)
    vevent.add("sequence", sequence)
    vevent.add("dtstamp", (now or datetime.now(UTC)).astimezone(UTC))
    vevent.add("dtstart", to_amsterdam(event.start))
    vevent.add("dtend", to_amsterdam(event.end))
    vevent.add("summary", event.title)
    location = ", ".join(part for part in (event.location_name, event.location_address) if part)
    if location:
        vevent.add("location", location)
    if event.online_url:
        vevent.add("url", event.online_url)
    if description:
        vevent.add("description", description)
    vevent.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    vevent["organizer"] = _address(organiser)
    if attendee is not None:
        vevent.add("attendee", _address(attendee, role="REQ-PARTICIPANT", rsvp=rsvp))
    calendar.add_component(vevent)
    ical: bytes = calendar.to_ical()
    return ical


def _only_event(ics: bytes) -> VEvent:
    calendar = Calendar.from_ical(ics)
    events = [c for c in calendar.walk("VEVENT") if isinstance(c, VEvent)]
    if len(events) != 1:
        raise ValueError(f"expected one VEVENT, found {len(events)}")
    return events[0]


def _party(value: object) -> Party | None:
    if value is None:
        return None
    text = str(value)
    email = text.split(":", 1)[1] if text.lower().startswith("mailto:") else text
    name = str(getattr(value, "params", {}).get("CN", ""))
    return Party(name=name, email=email)


def _previous(ics: bytes) -> tuple[str, int, Party, Party | None]:
    vevent = _only_event(ics)
    organiser = _party(vevent.get("organizer"))
    if organiser is None:
        raise ValueError("the previous invitation has no ORGANIZER")
    attendees = vevent.get("attendee")
    first = attendees[0] if isinstance(attendees, list) else attendees
    return str(vevent["uid"]), int(vevent.get("sequence", 0)), organiser, _party(first)


def reschedule(
    previous: bytes, event: Event, *, description: str = "", now: datetime | None = None
) -> bytes:
    """The changed invitation: same UID, organiser and attendee, SEQUENCE one higher."""
    uid, sequence, organiser, attendee = _previous(previous)
    return build_ics(
        event,
        uid=uid,
        sequence=sequence + 1,
        method="REQUEST",
        organiser=organiser,
        attendee=attendee,
        description=description,
        now=now,
    )


def cancel(previous: bytes, event: Event, *, now: datetime | None = None) -> bytes:
    """The cancellation of an invitation: same UID, SEQUENCE one higher, METHOD CANCEL."""
    uid, sequence, organiser, attendee = _previous(previous)
    return build_ics(
        event,
        uid=uid,
        sequence=sequence + 1,
        method="CANCEL",
        organiser=organiser,
        attendee=attendee,
        now=now,
    )
