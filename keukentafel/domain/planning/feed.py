"""What a contractor may see (pure): one record per unit and per appointment, in VERA names.

The privacy table of the domain brief is the law here. A contractor plans works, so its feeds
carry, and can only carry, these fields:

- the unit code and address (``adres``), and the residents' names (initials, particle, surname);
- contact details (``contactgegevens``, ``voorkeurskanaal``, ``bereikbaar``) only inside an open
  appointment (requested or planned), never on the unit itself;
- practical needs as neutral words (``kenmerken``: "tolk", "extra_tijd", ...), never a reason;
- go / no-go per unit from the consent tally (``doorgang``), never an answer or a status;
- the appointments (``Afspraak``: code, subject, status, dates, team).

:data:`FEED_FIELDS` lists every key any feed or export may contain; a test walks every payload
and export and fails on anything else. Health, care, income or arrears fields, restricted notes
and free-text notes have no key here, so they cannot travel.

Every record has a digest of its content; a feed records a change only when the digest moved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from keukentafel.domain.consent.state import UnitStatus
from keukentafel.domain.messages import to_amsterdam
from keukentafel.domain.model import (
    ContactKind,
    Household,
    PracticalNeed,
    ProjectKind,
    Resident,
    Unit,
)
from keukentafel.domain.planning.appointments import Appointment

UNIT = "eenheid"
APPOINTMENT = "afspraak"

#: The neutral word a contractor sees for each practical need (never the reason behind it).
NEED_WORDS: Mapping[PracticalNeed, str] = {
    PracticalNeed.INTERPRETER: "tolk",
    PracticalNeed.EXTRA_TIME: "extra_tijd",
    PracticalNeed.CALL_GUIDE_FIRST: "eerst_bewonersbegeleider_bellen",
    PracticalNeed.VISIT_WITH_TWO: "met_twee_personen",
    PracticalNeed.NO_LETTERS_ONLY: "bellen_of_langsgaan",
}

GO, NO_GO = "go", "no_go"

_CONTACT_CODES = {ContactKind.MOBILE: "MOB", ContactKind.PHONE: "TEL", ContactKind.EMAIL: "EMA"}

#: Every key a feed, export or calendar may carry (envelopes included). Nothing else.
FEED_FIELDS: frozenset[str] = frozenset(
    {
        # envelopes: webhook body, pull API page, change
        "type",
        "timestamp",
        "data",
        "changes",
        "sequence",
        "key",
        "deleted",
        "next_cursor",
        "has_more",
        "contractor",
        # unit and address
        "code",
        "project",
        "adres",
        "straatnaam",
        "huisnummer",
        "huisletter",
        "huisnummerToevoeging",
        "postcode",
        "woonplaats",
        "relaties",
        "voorletters",
        "tussenvoegsels",
        "achternaam",
        "naam",
        "doorgang",
        "kenmerken",
        # appointment (VERA Afspraak)
        "id",
        "onderwerp",
        "status",
        "begindatum",
        "einddatum",
        "eenheid",
        "team",
        # contact, inside open appointments only
        "contactgegevens",
        "soort",
        "waarde",
        "voorkeurskanaal",
        "bereikbaar",
    }
)


#: The columns of the CSV and XLSX exports: the same fields, one row per unit and appointment.
EXPORT_COLUMNS: tuple[str, ...] = (
    "eenheid",
    "project",
    "straatnaam",
    "huisnummer",
    "huisletter",
    "huisnummerToevoeging",
    "postcode",
    "woonplaats",
    "namen",
    "doorgang",
    "kenmerken",
    "afspraak",
    "onderwerp",
    "status",
    "begindatum",
    "einddatum",
    "team",
    "telefoon",
    "email",
    "voorkeurskanaal",
    "bereikbaar",
)
#: The labels of the lines in a calendar event's description.
CALENDAR_LABELS: tuple[str, ...] = (
    "Eenheid",
    "Bewoners",
    "Telefoon",
    "E-mail",
    "Voorkeur",
    "Bereikbaar",
    "Doorgang",
    "Kenmerken",
    "Status",
)


@dataclass(frozen=True, slots=True)
class ContactPreference:
    """How and when a resident likes to be reached (from the team's list)."""

    channel: str = ""  # "email" | "mobile" | "phone"
    hours: str = ""


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One record of a contractor's feed: its key, type, content (None: gone) and digest."""

    key: str
    type: str
    data: Mapping[str, Any] | None
    digest: str
    source: str = ""  # what it was made from (see keukentafel/usecases/feeds.py), if known


def canonical(data: Any) -> bytes:
    """The record as compact JSON with sorted keys: the same bytes for the same content."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(data: Any) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()[:32]


def utc_text(moment: datetime) -> str:
    """VERA's date-time: UTC with a Z (``2027-05-12T06:00:00Z``)."""
    return to_amsterdam(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the pieces -----------------------------------------------------------------------------------


def address_of(unit: Unit) -> dict[str, str]:
    a = unit.address
    return {
        "straatnaam": a.street,
        "huisnummer": str(a.number),
        "huisletter": a.letter,
        "huisnummerToevoeging": a.addition,
        "postcode": a.postcode,
        "woonplaats": a.town,
    }


def _name_of(resident: Resident) -> dict[str, str]:
    if resident.name is None:
        return {"naam": resident.organisation_name}
    return {
        "voorletters": resident.name.initials,
        "tussenvoegsels": resident.name.tussenvoegsel,
        "achternaam": resident.name.surname,
    }


def flags_of(household: Household) -> list[str]:
    """The household's practical needs as neutral words, sorted, without repeats."""
    return sorted({NEED_WORDS[n] for r in household.residents for n in r.needs if n in NEED_WORDS})


def _contact_of(resident: Resident, preference: ContactPreference | None) -> dict[str, Any]:
    points = [
        {"soort": {"code": _CONTACT_CODES[c.kind]}, "waarde": c.value} for c in resident.contacts
    ]
    found: dict[str, Any] = {"contactgegevens": points}
    channel = preference.channel if preference else ""
    if not channel and resident.preferred_contact is not None:
        channel = resident.preferred_contact.kind.value
    code = {"email": "EMA", "mobile": "MOB", "phone": "TEL"}.get(channel, "")
    if code:
        found["voorkeurskanaal"] = code
    if preference and preference.hours:
        found["bereikbaar"] = preference.hours[:60]
    return found


def go_word(go: bool) -> str:
    return GO if go else NO_GO


# --- the records ----------------------------------------------------------------------------------


Digest = Callable[[Any], str]


def unit_item(
    household: Household, project_code: str, go: bool, digest: Digest = digest_of
) -> FeedItem:
    """The unit: code, address, names, go / no-go and practical flags. No contact details.
    ``digest`` hashes the record (the use case passes a faster one of the same meaning)."""
    data = {
        "code": household.unit.code,
        "project": project_code,
        "adres": address_of(household.unit),
        "relaties": [_name_of(r) for r in household.residents],
        "doorgang": go_word(go),
        "kenmerken": flags_of(household),
    }
    return FeedItem(f"{UNIT}:{household.unit.code}", UNIT, data, digest(data))


def appointment_item(
    appointment: Appointment,
    household: Household | None,
    go: bool,
    preferences: Mapping[str, ContactPreference],
    digest: Digest = digest_of,
) -> FeedItem:
    """One appointment as a VERA ``Afspraak``; contact details only while it is open."""
    residents = household.residents if household is not None else ()
    relations = []
    for resident in residents:
        entry = _name_of(resident)
        if appointment.status.is_open:
            entry.update(_contact_of(resident, preferences.get(resident.relation_id)))
        relations.append(entry)
    data: dict[str, Any] = {
        "id": appointment.code,
        "code": appointment.code,
        "project": appointment.project_code,
        "onderwerp": appointment.element or appointment.title,
        "status": {"code": appointment.status.value, "naam": appointment.status.naam},
        "eenheid": {"code": appointment.unit_code},
        "relaties": relations,
        "team": appointment.team,
        "doorgang": go_word(go),
        "kenmerken": flags_of(household) if household is not None else [],
    }
    if household is not None:
        data["adres"] = address_of(household.unit)
    if appointment.slot is not None:
        data["begindatum"] = utc_text(appointment.slot.start)
        data["einddatum"] = utc_text(appointment.slot.end)
    return FeedItem(f"{APPOINTMENT}:{appointment.code}", APPOINTMENT, data, digest(data))


def removed_item(key: str) -> FeedItem:
    """A record that left the feed (a unit out of scope, an appointment no longer the
    contractor's): the change says only which key is gone."""
    kind = key.split(":", 1)[0]
    return FeedItem(key, kind, None, "")


# --- go / no-go from the consent tally ---------------------------------------------------------

_GO_STATUSES = frozenset({UnitStatus.AGREED, UnitStatus.VACANT})


def consent_needed(kind: ProjectKind) -> bool:
    """Renovation asks consent (art. 7:220 BW); maintenance and demolition do not."""
    return kind in (ProjectKind.RENOVATION_OCCUPIED, ProjectKind.RENOVATION_MOVED_OUT)


def go_from_statuses(statuses: Iterable[UnitStatus]) -> bool:
    """Go only when every ballot of the unit is agreed (or nobody lives there to ask).

    Deliberately careful: a tenant who did not agree may still be bound after the 8 weeks of
    the 70% notice, but whether they went to court is not recorded here; staff decide those
    units, so they stay no-go. Owner-occupied and excluded units are no-go too (their own
    track)."""
    found = list(statuses)
    return bool(found) and all(status in _GO_STATUSES for status in found)


def go_by_unit(
    kind: ProjectKind,
    unit_codes: Sequence[str],
    statuses: Mapping[str, Iterable[UnitStatus]] | None,
    *,
    threshold_met: bool = True,
) -> dict[str, bool]:
    """Go / no-go for each unit of a project: everything goes where no consent is needed
    (maintenance, demolition: no consent track, go by definition); where it is, nothing goes
    without a tally or while the project's threshold is not met on every ballot
    (``threshold_met``), and otherwise a unit goes only by its tally statuses."""
    if not consent_needed(kind):
        return dict.fromkeys(unit_codes, True)
    if statuses is None or not threshold_met:
        return dict.fromkeys(unit_codes, False)
    return {code: go_from_statuses(statuses.get(code, ())) for code in unit_codes}


def keys_of(data: Any) -> set[str]:
    """Every mapping key anywhere in ``data`` (the privacy check walks payloads with it)."""
    found: set[str] = set()
    if isinstance(data, Mapping):
        for key, value in data.items():
            found.add(str(key))
            found |= keys_of(value)
    elif isinstance(data, list | tuple):
        for value in data:
            found |= keys_of(value)
    return found
