"""Calendars in the fake Graph: events (``transactionId``, Teams meetings), calendarView, cancel,
and free/busy (``getSchedule``).

This module owns the ``/users/{upn}/events`` (and ``/calendar/events``), ``/calendarView`` and
``/calendar/getSchedule`` routes. A create with a ``transactionId`` already seen returns the
event made the first time (Graph's idempotency), so a retried POST never makes a second event.
``getSchedule`` answers each schedule's busy items (``showAs`` busy, tentative, oof or
workingElsewhere; cancelled events left out) in the time zone of the request's ``startTime``.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from connectors.fakes._server import Answer
from connectors.fakes.m365.odata import GraphRequestError, matches_filter, parse_time
from connectors.fakes.m365.resource import GraphResource, GraphRoute
from connectors.fakes.m365.state import new_id, utc_now


def _check_event(event: dict[str, Any]) -> None:
    for key in ("start", "end"):
        value = event.get(key)
        if not isinstance(value, dict) or not value.get("dateTime"):
            raise GraphRequestError(
                400, "ErrorInvalidRequest", f"The event needs {key}.dateTime and timeZone."
            )


def _online_meeting(event: dict[str, Any]) -> None:
    if event.get("isOnlineMeeting") and event.get("onlineMeetingProvider", "teamsForBusiness") in (
        "teamsForBusiness",
    ):
        event["onlineMeetingProvider"] = "teamsForBusiness"
        event.setdefault(
            "onlineMeeting",
            {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/fake-{uuid.uuid4().hex}"},
        )
    elif not event.get("isOnlineMeeting"):
        event["onlineMeeting"] = None


_ZONES: dict[str, tzinfo] = {
    "W. Europe Standard Time": ZoneInfo("Europe/Amsterdam"),
    "Europe/Amsterdam": ZoneInfo("Europe/Amsterdam"),
    "UTC": UTC,
}
_FREE = frozenset({"free"})


def _zone(name: str) -> tzinfo:
    zone = _ZONES.get(name or "UTC")
    if zone is None:
        raise GraphRequestError(400, "ErrorInvalidTimeZone", f"Unknown time zone {name!r}.")
    return zone


def _moment(value: dict[str, Any]) -> datetime:
    """A Graph ``{dateTime, timeZone}`` as an aware moment."""
    text = str(value.get("dateTime", ""))[:19]
    return datetime.fromisoformat(text).replace(tzinfo=_zone(str(value.get("timeZone", "UTC"))))


def _graph_moment(moment: datetime, zone_name: str) -> dict[str, str]:
    local = moment.astimezone(_zone(zone_name))
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name}


def _by_start(event: dict[str, Any]) -> tuple[str, str]:
    return event["start"]["dateTime"], event["id"]


class Calendar(GraphResource):
    def routes(self) -> list[GraphRoute]:
        events = r"/users/([^/]+)/(?:calendar/)?events"
        event = events + r"/([^/]+)"
        return [
            ("POST", events, self._create_event),
            ("GET", events, self._list_events),
            ("GET", r"/users/([^/]+)/calendarView", self._calendar_view),
            ("GET", event, self._get_event),
            ("PATCH", event, self._patch_event),
            ("DELETE", event, self._delete_event),
            ("POST", event + "/cancel", self._cancel),
            ("POST", r"/users/([^/]+)/calendar/getSchedule", self._get_schedule),
        ]

    def _event(self, upn: str, event_id: str) -> dict[str, Any]:
        event = self.mailbox(upn).events.get(event_id)
        if event is None:
            raise GraphRequestError(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return event

    def _create_event(self, params: dict[str, str], payload: Any, upn: str) -> Answer:
        box = self.mailbox(upn)
        if not isinstance(payload, dict):
            raise GraphRequestError(400, "ErrorInvalidRequest", "Empty request body.")
        transaction = payload.get("transactionId")
        if transaction and transaction in box.event_by_transaction:
            existing = box.events.get(box.event_by_transaction[transaction])
            if existing is not None:
                return Answer(201, copy.deepcopy(existing))
        _check_event(payload)
        event = copy.deepcopy(payload)
        now = utc_now()
        event_id = new_id("AAMkEv")
        event.update(
            {
                "id": event_id,
                "iCalUId": new_id("040000008200E00074C5B7101A82E008"),
                "changeKey": new_id(),
                "createdDateTime": now,
                "lastModifiedDateTime": now,
                "isCancelled": False,
                "organizer": {"emailAddress": {"address": box.upn}},
                "webLink": f"https://outlook.office365.com/owa/?itemid={event_id}",
            }
        )
        event.setdefault("attendees", [])
        for attendee in event["attendees"]:
            attendee.setdefault("type", "required")
            attendee["status"] = {"response": "none", "time": "0001-01-01T00:00:00Z"}
        _online_meeting(event)
        box.events[event_id] = event
        if transaction:
            box.event_by_transaction[transaction] = event_id
        return Answer(201, copy.deepcopy(event))

    def _list_events(self, params: dict[str, str], payload: Any, upn: str) -> Answer:
        box = self.mailbox(upn)
        events = sorted(box.events.values(), key=_by_start)
        chosen = [copy.deepcopy(e) for e in events if matches_filter(e, params.get("$filter"))]
        return self.page(f"/users/{upn}/events", params, chosen)

    def _calendar_view(self, params: dict[str, str], payload: Any, upn: str) -> Answer:
        box = self.mailbox(upn)
        start, end = params.get("startDateTime"), params.get("endDateTime")
        if not start or not end:
            raise GraphRequestError(
                400, "ErrorInvalidParameter", "startDateTime and endDateTime are required."
            )
        lo, hi = parse_time(start), parse_time(end)
        chosen = [
            copy.deepcopy(e)
            for e in sorted(box.events.values(), key=_by_start)
            if not e.get("isCancelled")
            and parse_time(e["start"]["dateTime"]) < hi
            and parse_time(e["end"]["dateTime"]) > lo
        ]
        return self.page(f"/users/{upn}/calendarView", params, chosen)

    def _get_event(self, params: dict[str, str], payload: Any, upn: str, event_id: str) -> Answer:
        return Answer(200, copy.deepcopy(self._event(upn, event_id)))

    def _patch_event(self, params: dict[str, str], payload: Any, upn: str, event_id: str) -> Answer:
        event = self._event(upn, event_id)
        if not isinstance(payload, dict):
            raise GraphRequestError(400, "ErrorInvalidRequest", "Empty request body.")
        if event.get("isCancelled"):
            raise GraphRequestError(
                400, "ErrorInvalidOperation", "A cancelled event cannot be changed."
            )
        changes = {
            k: v
            for k, v in payload.items()
            if k not in ("id", "iCalUId", "organizer", "createdDateTime")
        }
        event.update(copy.deepcopy(changes))
        _check_event(event)
        _online_meeting(event)
        event["changeKey"] = new_id()
        event["lastModifiedDateTime"] = utc_now()
        return Answer(200, copy.deepcopy(event))

    def _delete_event(
        self, params: dict[str, str], payload: Any, upn: str, event_id: str
    ) -> Answer:
        self._event(upn, event_id)
        del self.mailbox(upn).events[event_id]
        return Answer(204)

    def _cancel(self, params: dict[str, str], payload: Any, upn: str, event_id: str) -> Answer:
        event = self._event(upn, event_id)
        event["isCancelled"] = True
        body = {str(k).lower(): v for k, v in (payload or {}).items()}
        event["cancellationComment"] = body.get("comment", "")
        event["changeKey"] = new_id()
        event["lastModifiedDateTime"] = utc_now()
        return Answer(202)

    def _get_schedule(self, params: dict[str, str], payload: Any, upn: str) -> Answer:
        """Free/busy of each requested schedule between startTime and endTime."""
        self.mailbox(upn)  # the caller's own mailbox must exist
        if not isinstance(payload, dict) or not payload.get("schedules"):
            raise GraphRequestError(400, "ErrorInvalidRequest", "schedules is required.")
        start, end = payload.get("startTime") or {}, payload.get("endTime") or {}
        lo, hi = _moment(start), _moment(end)
        zone_name = str(start.get("timeZone") or "UTC")
        interval = int(payload.get("availabilityViewInterval") or 30)
        return Answer(
            200,
            {
                "value": [
                    self._schedule(str(who), lo, hi, zone_name, interval)
                    for who in payload["schedules"]
                ]
            },
        )

    def _schedule(
        self, who: str, lo: datetime, hi: datetime, zone_name: str, interval: int
    ) -> dict[str, Any]:
        box = self.state.mailbox(who)
        if box is None:
            return {
                "scheduleId": who,
                "error": {"message": "The user was not found.", "responseCode": "UserNotFound"},
            }
        items: list[dict[str, Any]] = []
        spans: list[tuple[datetime, datetime]] = []
        for event in sorted(box.events.values(), key=_by_start):
            status = str(event.get("showAs") or "busy")
            if event.get("isCancelled") or status in _FREE:
                continue
            begin, finish = _moment(event["start"]), _moment(event["end"])
            if begin < hi and finish > lo:
                spans.append((begin, finish))
                items.append(
                    {
                        "isPrivate": False,
                        "status": status,
                        "start": _graph_moment(begin, zone_name),
                        "end": _graph_moment(finish, zone_name),
                    }
                )
        view = []
        slot = lo
        while slot < hi:
            later = slot + timedelta(minutes=interval)
            taken = any(begin < later and finish > slot for begin, finish in spans)
            view.append("2" if taken else "0")
            slot = later
        return {"scheduleId": who, "availabilityView": "".join(view), "scheduleItems": items}
