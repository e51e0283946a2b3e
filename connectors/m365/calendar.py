"""Visits in a staff member's Outlook calendar through Microsoft Graph.

This module owns the Graph event JSON for a home visit (keukentafelgesprek) or call and the
create / update / cancel calls on ``/users/{upn}/events``:

- the resident is an attendee (Outlook sends the invitation, updates and the cancellation);
- times are Amsterdam wall-clock times sent with the Windows zone name ``W. Europe Standard
  Time`` (Graph accepts Windows names on create and update everywhere; IANA names only for a
  subset that does not list Europe/Amsterdam);
- ``transactionId`` is derived from our stable visit UID (a UUID5), so a create retried after a
  timeout makes no second event: Graph answers with the event it already made;
- an optional Teams meeting (``isOnlineMeeting`` with ``teamsForBusiness``) gives a join URL;
- free/busy: ``getSchedule`` on the guide's own calendar gives the busy periods a resident guide
  cannot be booked in (:meth:`StaffCalendar.busy`).

:class:`GraphGuideCalendar` is the appointments use case's ``GuideCalendar`` port over these
calls: a planned appointment becomes an event without attendees (the household gets our own
invitation with the letter, so no second invitation comes from Outlook), keyed by the
appointment code; the event text names the unit code, never the residents.

The event JSON::

    {"subject": "Keukentafelgesprek", "body": {"contentType": "HTML", "content": "…"},
     "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "W. Europe Standard Time"},
     "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "W. Europe Standard Time"},
     "location": {"displayName": "Kerkstraat 1, Utrecht", "address": {…}},
     "attendees": [{"emailAddress": {"address": "…", "name": "…"}, "type": "required"}],
     "transactionId": "<uuid5 of our UID>", "isOnlineMeeting": false}
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from connectors.m365.graph import GraphClient, GraphError
from keukentafel.domain.model import AMSTERDAM
from keukentafel.domain.planning.appointments import Appointment, Slot

GRAPH_TIME_ZONE = "W. Europe Standard Time"
# A fixed namespace: the same visit UID gives the same transactionId in every process, forever.
_TRANSACTION_NAMESPACE = uuid.UUID("6b2f3c55-2a8e-4f59-9c1e-6f0a4b7d8e21")


@dataclass(frozen=True, slots=True)
class VisitLocation:
    display_name: str  # "Kerkstraat 1, Utrecht" or "Modelwoning, Kerkstraat 3"
    street: str = ""
    postcode: str = ""
    town: str = ""


@dataclass(frozen=True, slots=True)
class VisitEvent:
    """One appointment to put in a staff calendar. ``uid`` is ours and never changes."""

    uid: str  # stable, e.g. the appointment id; also the iCalendar UID of our feeds
    subject: str
    start: datetime  # aware, or naive meaning Amsterdam wall-clock time
    end: datetime
    body_html: str = ""
    location: VisitLocation | None = None
    attendee_email: str = ""  # the resident; "" when they have no e-mail (letter or call)
    attendee_name: str = ""
    teams_meeting: bool = False
    unit_code: str = ""  # for our records and log lines; not sent to Graph

    def __post_init__(self) -> None:
        if not self.uid:
            raise ValueError("a visit needs a stable uid")
        if _local(self.end) <= _local(self.start):
            raise ValueError(f"visit {self.uid} ends before it starts")


@dataclass(frozen=True, slots=True)
class CreatedEvent:
    event_id: str
    join_url: str | None  # the Teams link when a Teams meeting was asked for


def transaction_id(uid: str) -> str:
    """The ``transactionId`` for a visit: a UUID5 of our UID (stable across processes)."""
    return str(uuid.uuid5(_TRANSACTION_NAMESPACE, uid))


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=AMSTERDAM)
    return moment.astimezone(AMSTERDAM)


def _graph_time(moment: datetime) -> dict[str, str]:
    return {
        "dateTime": _local(moment).strftime("%Y-%m-%dT%H:%M:%S"),
        "timeZone": GRAPH_TIME_ZONE,
    }


def event_json(event: VisitEvent, *, for_create: bool) -> dict[str, Any]:
    """Graph's event JSON for a visit; ``transactionId`` only on create."""
    data: dict[str, Any] = {
        "subject": event.subject,
        "body": {"contentType": "HTML", "content": event.body_html},
        "start": _graph_time(event.start),
        "end": _graph_time(event.end),
        "isOnlineMeeting": event.teams_meeting,
        "attendees": [],
        "allowNewTimeProposals": False,
    }
    if event.teams_meeting:
        data["onlineMeetingProvider"] = "teamsForBusiness"
    if event.location is not None:
        location: dict[str, Any] = {"displayName": event.location.display_name}
        if event.location.street or event.location.postcode:
            location["address"] = {
                "street": event.location.street,
                "postalCode": event.location.postcode,
                "city": event.location.town,
                "countryOrRegion": "NL",
            }
        data["location"] = location
    if event.attendee_email:
        address: dict[str, str] = {"address": event.attendee_email}
        if event.attendee_name:
            address["name"] = event.attendee_name
        data["attendees"] = [{"emailAddress": address, "type": "required"}]
    if for_create:
        data["transactionId"] = transaction_id(event.uid)
    return data


class CalendarError(Exception):
    """Graph answered without what we need (e.g. no event id); names our uid, not the resident."""


class StaffCalendar:
    """The calendar of one staff member (``upn``), with application permission Calendars.ReadWrite."""

    def __init__(self, client: GraphClient, upn: str) -> None:
        self._client = client
        self._upn = upn
        self._base = f"/users/{quote(upn, safe='@')}"
        self._events = f"{self._base}/events"
        self._join_urls: dict[str, str | None] = {}

    def create(self, event: VisitEvent) -> str:
        """Create the event (or find the one a retried create already made); returns its id."""
        return self.create_event(event).event_id

    def create_event(self, event: VisitEvent) -> CreatedEvent:
        """Like ``create``, also returning the Teams join URL when one was asked for."""
        answer = self._client.post(self._events, json=event_json(event, for_create=True))
        body = answer.json or {}
        event_id = str(body.get("id") or "")
        if not event_id:
            raise CalendarError(f"creating visit {event.uid} returned no event id")
        join_url = _join_url(body)
        self._join_urls[event_id] = join_url
        return CreatedEvent(event_id, join_url)

    def update(self, event_id: str, event: VisitEvent) -> None:
        """Replace time, place, text and attendee; Outlook sends the attendee an update."""
        body = self._client.patch(self._event(event_id), event_json(event, for_create=False))
        if body:
            self._join_urls[event_id] = _join_url(body)

    def cancel(self, event_id: str, comment: str = "") -> None:
        """Cancel the meeting; Outlook sends the attendee a cancellation with ``comment``.

        Graph's cancel is for meetings (events with attendees) and answers 400 otherwise; an
        appointment without an attendee (a resident without e-mail) is then deleted instead.
        """
        try:
            self._client.post(f"{self._event(event_id)}/cancel", json={"Comment": comment})
        except GraphError as exc:
            if exc.status != 400:
                raise
            self._client.delete(self._event(event_id))
        self._join_urls.pop(event_id, None)

    def join_url(self, event_id: str) -> str | None:
        """The Teams join URL of an event (from the create answer when we have it)."""
        if event_id in self._join_urls:
            return self._join_urls[event_id]
        body = self._client.get(
            self._event(event_id), {"$select": "id,isOnlineMeeting,onlineMeeting"}
        )
        join_url = _join_url(body)
        self._join_urls[event_id] = join_url
        return join_url

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The busy periods (Amsterdam wall-clock, naive) between two moments, from Graph's
        ``getSchedule`` on this mailbox (busy, tentative, out of office, elsewhere)."""
        answer = self._client.post(
            f"{self._base}/calendar/getSchedule",
            json={
                "schedules": [self._upn],
                "startTime": _graph_time(start),
                "endTime": _graph_time(end),
                "availabilityViewInterval": 30,
            },
            headers={"Prefer": f'outlook.timezone="{GRAPH_TIME_ZONE}"'},
        )
        found: list[tuple[datetime, datetime]] = []
        for schedule in (answer.json or {}).get("value", []):
            if schedule.get("error"):
                raise CalendarError(f"free/busy: {schedule['error'].get('responseCode', '?')}")
            for item in schedule.get("scheduleItems", []):
                if str(item.get("status", "busy")).lower() == "free":
                    continue
                found.append((_naive_local(item["start"]), _naive_local(item["end"])))
        return found

    def get(self, event_id: str) -> dict[str, Any]:
        """The event as Graph holds it (for reconciliation and tests)."""
        return self._client.get(self._event(event_id))

    def _event(self, event_id: str) -> str:
        return f"{self._events}/{quote(event_id, safe='')}"


_WINDOWS_ZONES = {GRAPH_TIME_ZONE: AMSTERDAM, "Europe/Amsterdam": AMSTERDAM, "UTC": UTC}


def _naive_local(value: dict[str, Any]) -> datetime:
    """A Graph ``{dateTime, timeZone}`` as a naive Amsterdam wall-clock time."""
    zone = _WINDOWS_ZONES.get(str(value.get("timeZone") or "UTC"), UTC)
    moment = datetime.fromisoformat(str(value["dateTime"])[:19]).replace(tzinfo=zone)
    return moment.astimezone(AMSTERDAM).replace(tzinfo=None)


def _join_url(body: dict[str, Any]) -> str | None:
    meeting = body.get("onlineMeeting") or {}
    url = meeting.get("joinUrl") if isinstance(meeting, dict) else None
    return str(url) if url else None


class GraphGuideCalendar:
    """Resident guides' Outlook calendars as the appointments use case's ``GuideCalendar``."""

    def __init__(self, client: GraphClient) -> None:
        self._client = client

    def _calendar(self, guide: str) -> StaffCalendar:
        return StaffCalendar(self._client, guide)

    def busy(self, guide: str, start: datetime, end: datetime) -> list[Slot]:
        return [Slot(begin, finish) for begin, finish in self._calendar(guide).busy(start, end)]

    def put(self, guide: str, appointment: Appointment, event_id: str) -> str:
        """Create the event (a retried create finds the first one by its transactionId) or
        update it; an event found with an older time or text is brought up to date."""
        assert appointment.slot is not None
        event = VisitEvent(
            uid=appointment.code,
            subject=f"{appointment.title} ({appointment.unit_code})",
            start=appointment.slot.start,
            end=appointment.slot.end,
            body_html=f"<p>Afspraak {appointment.code}, eenheid {appointment.unit_code}.</p>",
            location=VisitLocation(appointment.location_address or appointment.location_name),
            unit_code=appointment.unit_code,
        )
        calendar = self._calendar(guide)
        if event_id:
            calendar.update(event_id, event)
            return event_id
        created = calendar.create(event)
        held = calendar.get(created)
        wanted = event_json(event, for_create=False)
        if held.get("start", {}).get("dateTime", "")[:19] != wanted["start"]["dateTime"] or (
            held.get("subject") != wanted["subject"]
        ):
            calendar.update(created, event)
        return created

    def remove(self, guide: str, event_id: str) -> None:
        try:
            self._calendar(guide).cancel(event_id, "Deze afspraak gaat niet door.")
        except GraphError as exc:
            if exc.status != 404:  # already gone: that is what we wanted
                raise
