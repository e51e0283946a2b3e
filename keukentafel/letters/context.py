"""Pure context builders: everything a letter template prints, computed from the register.

This module owns the Dutch words around a name (salutations, the names in the address block),
Dutch dates and times without any locale, the resident's language choice and the one dict every
template receives (see the letters contract in ``templates/README.md``). It does no I/O: the
caller passes the household, the project, the configuration and "today".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from markupsafe import Markup

from keukentafel.config.letters import EnvelopeProfile, LettersConfig
from keukentafel.domain.addressing import street_line
from keukentafel.domain.deadlines import DeadlineProblem, answer_day_on_or_before
from keukentafel.domain.deadlines import response_deadline as computed_deadline
from keukentafel.domain.links import format_code
from keukentafel.domain.messages import Event, find_policy, to_amsterdam
from keukentafel.domain.model import AMSTERDAM, Address, Household, PersonName, Project, Resident
from keukentafel.domain.references import resident_reference
from keukentafel.letters.window import (
    MAX_LINES,
    address_block,
    clean_line,
    layout_geometry,
    name_choices,
)

# Event and the Amsterdam clock live in the domain (the mailing rules need them); re-exported here.
__all__ = ["AMSTERDAM", "EMAIL_LAYOUT", "LETTER_LAYOUT", "Event", "build_context", "to_amsterdam"]

LETTER_LAYOUT = "_base/letter.html"
EMAIL_LAYOUT = "_base/email.html"

_WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


# --- Dutch dates and times -------------------------------------------------------------------


def nl_date(day: date) -> str:
    """3 maart 2026."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def nl_weekday_date(day: date) -> str:
    """dinsdag 3 maart 2026."""
    return f"{_WEEKDAYS[day.weekday()]} {nl_date(day)}"


def nl_time(moment: time | datetime) -> str:
    """19.30 uur (Dutch writes a point between hours and minutes)."""
    return f"{moment.hour}.{moment.minute:02d} uur"


def nl_datetime(moment: datetime) -> str:
    """dinsdag 3 maart 2026 om 19.30 uur, in Amsterdam time when the moment is aware."""
    local = to_amsterdam(moment)
    return f"{nl_weekday_date(local.date())} om {nl_time(local)}"


# --- names --------------------------------------------------------------------------------------


def _capitalise_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _clean(text: str) -> str:
    return clean_line(text)


def surname_part(name: PersonName, *, leading: bool) -> str:
    """'de Vries' after initials or a first name, 'De Vries' when it starts the name."""
    surname = _clean(name.surname)
    prefix = _clean(name.tussenvoegsel).lower()
    if not prefix:
        return _capitalise_first(surname) if leading else surname
    prefix = _capitalise_first(prefix) if leading else prefix
    return f"{prefix} {surname}"


def _gender(name: PersonName) -> str:
    return name.gender.strip().upper()


def _initials(name: PersonName) -> str:
    return _clean(name.initials)


def _salutation_title(name: PersonName) -> str:
    return {"V": "mevrouw", "M": "meneer"}.get(_gender(name), "")


def _person_salutation(name: PersonName, *, with_initials: bool = False) -> str:
    """'mevrouw De Vries', 'meneer J. Bakker', 'Sam de Vries' (gender unknown)."""
    title = _salutation_title(name)
    if title:
        if with_initials and _initials(name):
            return f"{title} {_initials(name)} {surname_part(name, leading=False)}"
        return f"{title} {surname_part(name, leading=True)}"
    given = _clean(name.first_name) or _initials(name)
    if given:
        return f"{given} {surname_part(name, leading=False)}"
    return f"heer of mevrouw {surname_part(name, leading=True)}"


def _persons(household: Household) -> list[PersonName]:
    return [
        resident.name
        for resident in household.residents
        if resident.name is not None and _clean(resident.name.surname)
    ]


def _organisations(household: Household) -> list[str]:
    return [
        _clean(resident.organisation_name)
        for resident in household.residents
        if resident.is_organisation and _clean(resident.organisation_name)
    ]


def _family_key(name: PersonName) -> tuple[str, str]:
    return (_clean(name.tussenvoegsel).lower(), _clean(name.surname).lower())


def _is_couple(names: list[PersonName]) -> bool:
    """Two people, one man and one woman, with the same surname: 'heer en mevrouw Yılmaz'."""
    return (
        len(names) == 2
        and _family_key(names[0]) == _family_key(names[1])
        and {_gender(names[0]), _gender(names[1])} == {"M", "V"}
    )


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} en {parts[-1]}"


def spoken_street_line(address: Address) -> str:
    """'Dorpsstraat 12 A', 'Dorpsstraat 12-2': the address as a sentence names it, written as the
    address block writes it (keukentafel.domain.addressing.street_line, NEN 5825)."""
    return street_line(address)


def salutation(household: Household) -> str:
    """The complete salutation; templates print it followed by a comma.

    'Beste mevrouw De Vries', 'Beste heer en mevrouw Yılmaz', 'Beste mevrouw De Vries en meneer
    Bakker', 'Beste medewerker van Stichting Thuis', 'Beste bewoner(s) van Dorpsstraat 12 A'.
    """
    names = _persons(household)
    if _is_couple(names):
        return f"Beste heer en mevrouw {surname_part(names[0], leading=True)}"
    if names:
        same_family = len({_family_key(n) for n in names}) < len(names)
        return "Beste " + _join([_person_salutation(n, with_initials=same_family) for n in names])
    organisations = _organisations(household)
    if organisations:
        return f"Beste medewerker van {organisations[0]}"
    return f"Beste bewoner(s) van {spoken_street_line(household.unit.address)}"


def name_lines(household: Household) -> list[str]:
    """The addressee lines of the PostNL block in their full forms: one per person, a couple on
    one line (keukentafel.letters.window shortens them to fit a window)."""
    return [forms[0] for forms in name_choices(household, MAX_LINES - 2)]


def address_lines(household: Household, envelope: EnvelopeProfile | None = None) -> list[str]:
    """The address block as it prints in the envelope window (keukentafel.letters.window)."""
    return list(address_block(household, envelope or EnvelopeProfile()).lines)


def letter_language(household: Household, available: Collection[str]) -> str:
    """The language of the translated summary, or 'nl' when there is none in that language."""
    wanted = household.language.strip().lower() or "nl"
    return wanted if wanted in available else "nl"


# --- the whole context -----------------------------------------------------------------------


def event_context(event: Event) -> dict[str, str]:
    start = to_amsterdam(event.start)
    end = to_amsterdam(event.end)
    return {
        "title": event.title,
        "date_text": nl_weekday_date(start.date()),
        "start_text": nl_datetime(start),
        "time_text": nl_time(start),
        "end_time_text": nl_time(end),
        "location_name": event.location_name,
        "location_address": event.location_address,
        "online_url": event.online_url,
    }


_CHANGE_WORDS = {
    "date": "de datum",
    "time": "de tijd",
    "place": "de plaats",
    "title": "het onderwerp",
}


def _place(event: dict[str, str]) -> str:
    parts = (event["location_name"], event["location_address"], event["online_url"])
    return ", ".join(part for part in parts if part)


def correction_context(details: Mapping[str, Any], event: Event | None) -> dict[str, Any] | None:
    """What a correction's letter says at the top (None for a letter that corrects nothing):
    what changed, as it was and as it is now, and the date of the letter it replaces
    (the ``correction`` detail comes from keukentafel.domain.mailing.correction_details)."""
    correction = details.get("correction")
    if not correction:
        return None
    changes = [str(change) for change in correction.get("changes", ())]
    words = [_CHANGE_WORDS[change] for change in changes if change in _CHANGE_WORDS]
    if words:
        headline = _capitalise_first(f"{_join(words)} {'is' if len(words) == 1 else 'zijn'}")
        headline += " veranderd."
    else:
        headline = "Wij hebben iets in onze brief verbeterd."
    rows: list[dict[str, str]] = []
    previous = correction.get("previous_event")
    if previous is not None and event is not None:
        before, after = event_context(previous), event_context(event)
        texts = {
            "date": ("Datum", before["date_text"], after["date_text"]),
            "time": (
                "Tijd",
                f"{before['time_text']} tot {before['end_time_text']}",
                f"{after['time_text']} tot {after['end_time_text']}",
            ),
            "place": ("Plaats", _place(before), _place(after)),
            "title": ("Wat", before["title"], after["title"]),
        }
        rows = [
            {"label": texts[c][0], "was": texts[c][1], "now": texts[c][2]}
            for c in changes
            if c in texts
        ]
    original = correction.get("original_date")
    return {
        "corrects": str(correction.get("corrects", "")),
        "headline": headline,
        "original_date_text": nl_date(original) if isinstance(original, date) else "",
        "rows": rows,
    }


def dutch_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """The details with every date also written out in Dutch, as ``<key>_text``.

    The mailing rules compute dates (the notice date and the last day to object, see
    keukentafel.domain.mailing); how a date reads in a letter is decided here, once.
    """
    found = dict(details)
    for key, value in details.items():
        if isinstance(value, date) and not isinstance(value, datetime):
            found[f"{key}_text"] = nl_date(value)
    return found


def internal_reference(kind: str, project: Project, household: Household) -> str:
    """Our own code of a letter (project, kind, unit code): the manifest's, never printed."""
    return f"{project.code}/{kind}/{household.unit.code}"


def reference(project: Project, household: Household) -> str:
    """The short reference on the letter that a resident quotes on the phone
    (keukentafel.domain.references): the same in every letter of the project."""
    return resident_reference(project.code, household.unit.code)


# Kept whole: a flat dict literal that *is* the template contract (templates/README.md);
# one place to read every key a template may print.
def build_context(
    kind: str,
    household: Household,
    *,
    letters_config: LettersConfig,
    project: Project,
    on: date,
    event: Event | None = None,
    details: Mapping[str, Any] | None = None,
    response_link: str | None = None,
    response_deadline: date | None = None,
    qr_svg: str = "",
    response_code: str = "",
    start_url: str = "",
    registered: bool = False,
    summary_languages: Collection[str] | None = None,
    layout: str = LETTER_LAYOUT,
) -> dict[str, Any]:
    """The dict every template gets (see the contract). Pure; all keys are always present.

    Long on purpose: the dict literal below *is* the template contract (templates/README.md),
    one key per line, so it reads against the README without jumping around.

    ``response`` is None unless a ``response_link`` is given: the caller signs a link for kinds
    that ask something (``meta.yaml``: ``asks_response``). The deadline is ``response_deadline``,
    else the plan's ``details["response_deadline"]``, else computed as a mailing would
    (keukentafel.domain.deadlines). ``summary_languages`` are the languages the kind has a summary in; by default
    those of the contract (en, tr, ar for the announcement and the invitations).
    """
    if summary_languages is None:
        policy = find_policy(kind)
        summary_languages = policy.summary_languages if policy else frozenset()
    branding = letters_config.branding
    contact = letters_config.contact
    envelope = letters_config.envelope
    logo_url = ""
    if branding.logo_path:
        from pathlib import PurePath

        logo_path = PurePath(branding.logo_path)
        logo_url = logo_path.as_uri() if logo_path.is_absolute() else ""
    response: dict[str, Any] | None = None
    if response_link is not None:
        deadline = response_deadline or _deadline(on, event, details or {})
        response = {
            "url": response_link,
            "qr_svg": Markup(qr_svg),  # noqa: S704 - our own SVG from segno, never resident data
            "deadline_text": nl_weekday_date(deadline),
            # the short code typed on the project's start page (keukentafel/domain/links.py)
            "code": format_code(response_code) if response_code else "",
            "start_address": start_url.split("://", 1)[-1],
        }
    return {
        "kind": kind,
        "corporation": {
            "code": project.corporation_code,
            "name": branding.name,
            "logo_url": logo_url,
            "colour": branding.colour,
            "return_address": branding.return_address,
            "website": branding.website,
        },
        "project": {"code": project.code, "name": project.name, "kind": project.kind.value},
        "contact": {
            "name": contact.name,
            "role": contact.role,
            "phone": contact.phone,
            "email": contact.email,
        },
        "household": {
            "unit_code": household.unit.code,
            "salutation": salutation(household),
            "address_lines": address_lines(household, envelope),
            "street_line": spoken_street_line(household.unit.address),
            "language": letter_language(household, summary_languages),
            "is_owner_occupier": household.is_owner_occupied,
        },
        "letter": {
            "date_text": nl_date(on),
            "reference": reference(project, household),
            "registered": registered,
        },
        "response": response,
        "event": event_context(event) if event is not None else None,
        "details": dutch_details({k: v for k, v in (details or {}).items() if k != "correction"}),
        "correction": correction_context(details or {}, event),
        "envelope": {
            "x_mm": envelope.x,
            "y_mm": envelope.y,
            "width_mm": envelope.width,
            "height_mm": envelope.height,
            **layout_geometry(),
        },
        "layout": layout,
    }


def _deadline(on: date, event: Event | None, details: Mapping[str, Any]) -> date:
    """The plan's deadline; for a preview without a plan, the one a mailing would compute (or,
    when the sample event is too close for one, the last answer day two weeks on)."""
    given = details.get("response_deadline")
    if isinstance(given, date):
        return given
    try:
        day = to_amsterdam(event.start).date() if event is not None else None
        return computed_deadline(on, event_day=day)
    except DeadlineProblem:
        return answer_day_on_or_before(on + timedelta(days=14))


def household_key(project: Project, household: Household) -> str:
    """The key a personal link carries: project and unit code, never a name."""
    return f"{project.code}:{household.unit.code}"


def display_name(resident: Resident) -> str:
    if resident.name is None:
        return _clean(resident.organisation_name)
    given = _clean(resident.name.first_name) or _initials(resident.name)
    surname = surname_part(resident.name, leading=not given)
    return f"{given} {surname}".strip()
