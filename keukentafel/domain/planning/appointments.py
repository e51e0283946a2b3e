"""Appointments (pure): home visits per resident guide, places in small-group sessions, and the
contractor's work days per unit, with their states in VERA ``Afspraak`` terms.

A state moves ``AAN`` (requested) → ``GEP`` (planned) → ``AFG`` (done), or to ``ANN``
(cancelled) from either open state; a planned appointment may be moved (``GEP`` → ``GEP`` with
another slot). Every change raises the appointment's ``version``; the letter, the household's
invitation (same UID, higher SEQUENCE), the guide's calendar event, the contractor feeds and
the corporation's copy all follow the version, so each of them can tell whether it is current
and catch up after a crash without doing anything twice.

Times are Amsterdam wall-clock times, naive (as :class:`keukentafel.domain.messages.Event`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from keukentafel.domain.messages import Event, MessageKind, to_amsterdam


class PlanningError(ValueError):
    """A booking or change that cannot be made; the message says why (unit codes, never names)."""


class SessionFull(PlanningError):
    """The session has no place left: someone else took the last one."""


class SlotTaken(PlanningError):
    """The guide has a planned home visit at that time already: someone else took the slot."""


class AppointmentKind(StrEnum):
    HOME_VISIT = "home_visit"  # keukentafelgesprek or huisbezoek, with one resident guide
    SESSION = "session"  # a place in a small-group session (model home, workshop)
    WORK_DAYS = "work_days"  # the contractor's days in a unit: "keuken 12 t/m 14 mei"


class AppointmentStatus(StrEnum):
    """VERA AFSPRAAKSTATUS codes (Referentiedata)."""

    REQUESTED = "AAN"
    PLANNED = "GEP"
    DONE = "AFG"
    CANCELLED = "ANN"

    @property
    def naam(self) -> str:
        """The VERA name that goes with the code."""
        return _STATUS_NAMES[self]

    @property
    def is_open(self) -> bool:
        return self in (AppointmentStatus.REQUESTED, AppointmentStatus.PLANNED)


_STATUS_NAMES = {
    AppointmentStatus.REQUESTED: "Aangevraagd",
    AppointmentStatus.PLANNED: "Gepland",
    AppointmentStatus.DONE: "Afgerond",
    AppointmentStatus.CANCELLED: "Geannuleerd",
}

S = AppointmentStatus
#: The moves an appointment may make (``GEP`` → ``GEP`` is a move to another slot).
TRANSITIONS: Mapping[AppointmentStatus, frozenset[AppointmentStatus]] = {
    S.REQUESTED: frozenset({S.PLANNED, S.CANCELLED}),
    S.PLANNED: frozenset({S.PLANNED, S.DONE, S.CANCELLED}),
}


@dataclass(frozen=True, slots=True)
class Slot:
    """A period in Amsterdam wall-clock time."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if to_amsterdam(self.end) <= to_amsterdam(self.start):
            raise PlanningError("a slot must end after it starts")

    def overlaps(self, other: Slot) -> bool:
        return self.start < other.end and other.start < self.end

    @classmethod
    def days(cls, first: date, last: date, hours: tuple[time, time]) -> Slot:
        """Work days from ``first`` to ``last`` inclusive, from the start to the end hour."""
        if last < first:
            raise PlanningError("the last work day is before the first")
        return cls(datetime.combine(first, hours[0]), datetime.combine(last, hours[1]))


@dataclass(frozen=True, slots=True)
class PlanningSession:
    """A small-group session (in the model home, a workshop) with a fixed number of places."""

    code: str
    project_code: str
    title: str
    slot: Slot
    location_name: str
    location_address: str
    capacity: int
    guide: str = ""  # the resident guide who leads it (their calendar gets it once)
    booked: int = 0

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise PlanningError(f"session {self.code}: capacity must be at least 1")

    @property
    def places_left(self) -> int:
        return max(0, self.capacity - self.booked)


@dataclass(frozen=True, slots=True)
class Appointment:
    """One appointment with one household (a unit). ``code`` is ours and never changes."""

    code: str
    corporation_code: str
    project_code: str
    unit_code: str
    kind: AppointmentKind
    status: AppointmentStatus
    slot: Slot | None  # None while requested without a time
    title: str  # "Keukentafelgesprek", the session's title, "Werk aan uw keuken"
    location_name: str = "Bij u thuis"
    location_address: str = ""
    guide: str = ""  # home visits: the resident guide's calendar (UPN)
    session_code: str = ""
    contractor_code: str = ""
    element: str = ""  # work days: what is worked on ("keuken", "badkamer")
    team: str = ""  # work days: the contractor's team, for its calendar feed
    version: int = 1
    # What the household was last told: the version and slot of the last letter sent. The next
    # letter is decided from it (never told: a confirmation; told another slot: a change).
    notified_version: int = 0
    told_slot: Slot | None = None
    delay_reason: str = ""  # the contractor's reason, for the letter of this version only

    @property
    def notified(self) -> bool:
        """Whether the household has been told about this version (or nothing needs telling)."""
        return self.notified_version >= self.version

    def moved_to(
        self, status: AppointmentStatus, slot: Slot | None = None, *, delay_reason: str = ""
    ) -> Appointment:
        """This appointment in ``status`` (and ``slot``), one version higher; a move the life
        cycle does not allow is a PlanningError. The same planned slot again changes nothing."""
        if status not in TRANSITIONS.get(self.status, frozenset()):
            raise PlanningError(
                f"appointment {self.code} of unit {self.unit_code} is {self.status.naam.lower()}:"
                f" it cannot become {status.naam.lower()}"
            )
        new_slot = self.slot if slot is None else slot
        if status is S.PLANNED and new_slot is None:
            raise PlanningError(f"appointment {self.code}: planning it needs a date and time")
        if status is S.PLANNED and self.status is S.PLANNED and new_slot == self.slot:
            return self
        return replace(
            self,
            status=status,
            slot=new_slot,
            version=self.version + 1,
            delay_reason=delay_reason,
        )

    def told(self) -> Appointment:
        """This appointment once its current version's letter went out (or needed none)."""
        slot = self.slot if self.status is S.PLANNED else self.told_slot
        return replace(self, notified_version=self.version, told_slot=slot)


def appointment_code(*parts: str) -> str:
    """A short stable code from the parts that identify an appointment ("AFS-3f2a…")."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]
    return f"AFS-{digest}"


def work_days_code(corporation: str, project: str, contractor: str, element: str, unit: str) -> str:
    """Work days of one contractor on one element of one unit have one code, forever: a
    contractor's change refers to it, and planning the same days again finds it."""
    return appointment_code(corporation, project, contractor, element.lower(), unit)


# --- what residents receive ----------------------------------------------------------------


def event_of(appointment: Appointment) -> Event | None:
    """The event a letter or invitation shows (None without a slot, e.g. cancelled)."""
    if appointment.slot is None or appointment.status is S.CANCELLED:
        return None
    return Event(
        event_id=f"afspraak-{appointment.code}",
        title=appointment.title,
        start=appointment.slot.start,
        end=appointment.slot.end,
        location_name=appointment.location_name,
        location_address=appointment.location_address,
    )


@dataclass(frozen=True, slots=True)
class Notice:
    """The letter or e-mail one version of an appointment produces."""

    kind: MessageKind
    event: Event | None
    details: dict[str, Any]


def purpose_of(appointment: Appointment) -> str:
    """What the appointment is for, as the letter says it ("werk aan uw keuken, ...")."""
    if appointment.kind is AppointmentKind.WORK_DAYS and appointment.slot is not None:
        return f"werk aan uw {appointment.element or 'woning'} ({period_text(appointment.slot)})"
    return appointment.title.lower() if appointment.title else "afspraak"


def notice_for(appointment: Appointment) -> Notice | None:
    """The letter the current version needs, or None.

    Planned and never told: a confirmation. Planned at another slot than the one last told: a
    change letter with the old start, or the delay letter with the new period when the
    contractor gave a reason. Cancelled after the household was told: a change letter without a
    new slot ("we call you for a new time"). Requested, done, or nothing new: no letter."""
    told = appointment.told_slot if appointment.notified_version > 0 else None
    if appointment.status is S.CANCELLED:
        if told is None:
            return None
        purpose = purpose_of(replace(appointment, slot=told))
        return Notice(
            MessageKind.APPOINTMENT_CHANGE,
            None,
            {"purpose": purpose, "previous_start_text": start_text(told.start)},
        )
    if appointment.status is not S.PLANNED or appointment.slot is None:
        return None
    event = event_of(appointment)
    purpose = purpose_of(appointment)
    if told is None:
        return Notice(
            MessageKind.APPOINTMENT_CONFIRMATION,
            event,
            {"purpose": purpose, "previous_start_text": ""},
        )
    if told == appointment.slot:
        return None
    if appointment.delay_reason:
        return Notice(
            MessageKind.DELAY_NOTICE,
            event,
            {
                "reason_text": appointment.delay_reason,
                "new_period_text": period_text(appointment.slot),
            },
        )
    return Notice(
        MessageKind.APPOINTMENT_CHANGE,
        event,
        {"purpose": purpose, "previous_start_text": start_text(told.start)},
    )


# --- Dutch dates, for the few details the letters take as text --------------------------------

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
_WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")


def day_text(day: date) -> str:
    """dinsdag 12 mei 2027."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def start_text(moment: datetime) -> str:
    """dinsdag 12 mei 2027 om 8.00 uur."""
    local = to_amsterdam(moment)
    return f"{day_text(local.date())} om {local.hour}.{local.minute:02d} uur"


def period_text(slot: Slot) -> str:
    """ "dinsdag 12 mei 2027" for one day; "dinsdag 12 mei tot en met donderdag 14 mei 2027"."""
    first, last = to_amsterdam(slot.start).date(), to_amsterdam(slot.end).date()
    if first == last:
        return day_text(first)
    head = day_text(first)
    if first.year == last.year:
        head = head.removesuffix(f" {first.year}")
    return f"{head} tot en met {day_text(last)}"


_ELEMENT = re.compile(r"^[\w ./-]{1,40}$")


def checked_element(text: str) -> str:
    """A work element as a short neutral word ("keuken"); anything longer is refused, so no
    free text ever rides along into the contractor's feeds."""
    element = " ".join(text.split()).lower()
    if not _ELEMENT.fullmatch(element):
        raise PlanningError(f"work element {text[:20]!r} is not a short word (at most 40 letters)")
    return element


def hours_of(text: str) -> tuple[time, time]:
    """Work hours as "07:30-16:00"."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-", 1))
    except ValueError:
        raise PlanningError(f"work hours {text!r} are not like 07:30-16:00") from None
    if end <= start:
        raise PlanningError(f"work hours {text!r} end before they start")
    return start, end


def shifted(slot: Slot, days: int) -> Slot:
    """The slot ``days`` calendar days later (a contractor's delay of whole days)."""
    return Slot(slot.start + timedelta(days=days), slot.end + timedelta(days=days))
