"""The iCalendar feed of a contractor (or one of its teams): its appointments as events.

One VEVENT per appointment record, with a UID that never changes (the appointment code and the
contractor) and a SEQUENCE that is the number of times the record changed, minus one: every
change raises it, so a subscribed calendar replaces the event. Times are UTC. The description
holds only what the record holds (keukentafel.domain.planning.feed), one labelled line each:
the unit, the residents' names, contact details while the appointment is open, go / no-go and
the practical flags. Requested appointments are TENTATIVE, cancelled ones CANCELLED.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar, Event

from keukentafel.domain.planning.feed import APPOINTMENT
from keukentafel.feeds.exports import contact_text, names_text
from keukentafel.usecases.feeds import Record

PRODID = "-//Keukentafel//planning aannemer//NL"
_STATUS = {"AAN": "TENTATIVE", "GEP": "CONFIRMED", "AFG": "CONFIRMED", "ANN": "CANCELLED"}


def event_uid(contractor: str, code: str) -> str:
    return f"{code}.{contractor}@keukentafel"


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _description(data: Mapping[str, Any]) -> str:
    relations = data.get("relaties", [])
    lines = [
        ("Eenheid", str((data.get("eenheid") or {}).get("code", ""))),
        ("Bewoners", names_text(relations)),
        (
            "Telefoon",
            "; ".join(
                p for p in (contact_text(relations, "MOB"), contact_text(relations, "TEL")) if p
            ),
        ),
        ("E-mail", contact_text(relations, "EMA")),
        (
            "Voorkeur",
            ", ".join(
                sorted({str(r["voorkeurskanaal"]) for r in relations if r.get("voorkeurskanaal")})
            ),
        ),
        (
            "Bereikbaar",
            "; ".join(sorted({str(r["bereikbaar"]) for r in relations if r.get("bereikbaar")})),
        ),
        ("Doorgang", str(data.get("doorgang", ""))),
        ("Kenmerken", ", ".join(data.get("kenmerken", []))),
        ("Status", str((data.get("status") or {}).get("naam", ""))),
    ]
    return "\n".join(f"{label}: {value}" for label, value in lines if value)


def _location(data: Mapping[str, Any]) -> str:
    a = data.get("adres") or {}
    number = f"{a.get('huisnummer', '')}{a.get('huisletter', '')}"
    if a.get("huisnummerToevoeging"):
        number += f"-{a['huisnummerToevoeging']}"
    street = f"{a.get('straatnaam', '')} {number}".strip()
    town = f"{a.get('postcode', '')} {a.get('woonplaats', '')}".strip()
    return ", ".join(part for part in (street, town) if part)


def to_ics(
    records: list[Record], contractor: str, *, team: str = "", now: datetime | None = None
) -> bytes:
    """The contractor's calendar (only ``team``'s appointments when a team is given)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Planning {contractor}{' ' + team if team else ''}")
    stamp = now or datetime.now(UTC)
    for record in sorted(records, key=lambda r: r.key):
        data = record.data
        if record.type != APPOINTMENT or not data.get("begindatum"):
            continue
        if team and data.get("team") != team:
            continue
        event = Event()
        event.add("uid", event_uid(contractor, str(data["code"])))
        event.add("sequence", max(0, record.changes - 1))
        event.add("dtstamp", stamp)
        event.add("dtstart", _moment(str(data["begindatum"])))
        event.add("dtend", _moment(str(data["einddatum"])))
        event.add(
            "summary",
            f"{data.get('onderwerp', '')} {(data.get('eenheid') or {}).get('code', '')}".strip(),
        )
        location = _location(data)
        if location:
            event.add("location", location)
        event.add("description", _description(data))
        event.add("status", _STATUS.get(str((data.get("status") or {}).get("code")), "CONFIRMED"))
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical
