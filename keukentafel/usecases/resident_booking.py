"""Use case: a resident picks or moves a place in a small-group session on their own page.

The page lists the household's appointments and the project's sessions still to come with their
places left. Picking one goes through the booking use case (``usecases.appointments``): a first
place is booked with ``book_session_place``, a place the household already has is moved with
``move_appointment`` (the old place is given back in the same transaction). The store takes the
last place for one household only; the other gets ``SessionFull`` and the page says the session
is full. The letter or e-mail and the calendar event follow through the outbox as for any booking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.messages import to_amsterdam
from keukentafel.domain.model import Project
from keukentafel.domain.planning.appointments import (
    Appointment,
    AppointmentKind,
    PlanningError,
    PlanningSession,
    SessionFull,
)
from keukentafel.usecases.appointments import (
    Booking,
    appointments_of_unit,
    book_session_place,
    move_appointment,
    sessions_of,
)

RESIDENT = "web:resident"


@dataclass(frozen=True, slots=True)
class BookingView:
    appointments: Sequence[Appointment]  # the household's open appointments, soonest first
    sessions: Sequence[PlanningSession]  # the project's sessions still to come
    current_session: str  # the session the household has a place in ("" none)


def _local_now(now: datetime) -> datetime:
    return to_amsterdam(now.replace(tzinfo=UTC) if now.tzinfo is None else now).replace(tzinfo=None)


def _start(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo is None else _local_now(moment)


def booking_view(
    sessions: sessionmaker[Session], project: Project, unit_code: str, now: datetime
) -> BookingView:
    local = _local_now(now)
    mine = [
        a
        for a in appointments_of_unit(sessions, project.corporation_code, unit_code)
        if a.status.is_open and a.project_code == project.code
    ]
    mine.sort(key=lambda a: _start(a.slot.start) if a.slot else local)
    coming = [s for s in sessions_of(sessions, project) if _start(s.slot.start) > local]
    coming.sort(key=lambda s: _start(s.slot.start))
    current = next((a.session_code for a in mine if a.kind is AppointmentKind.SESSION), "")
    return BookingView(mine, coming, current)


@dataclass(frozen=True, slots=True)
class Picked:
    appointment: Appointment | None
    message: str  # B1 Dutch for the resident


def pick_session(
    sessions: sessionmaker[Session],
    project: Project,
    unit_code: str,
    session_code: str,
    booking: Booking,
) -> Picked:
    """Book a place in ``session_code`` for the household, or move its place there."""
    view = booking_view(sessions, project, unit_code, booking.clock())
    if session_code not in {s.code for s in view.sessions}:
        return Picked(None, "Deze bijeenkomst kunt u niet meer kiezen.")
    if view.current_session == session_code:
        return Picked(None, "U heeft al een plaats in deze bijeenkomst.")
    held = next((a for a in view.appointments if a.kind is AppointmentKind.SESSION), None)
    try:
        if held is None:
            done = book_session_place(sessions, project, unit_code, session_code, booking)
        else:
            done = move_appointment(
                sessions, project, held.code, booking, session_code=session_code
            )
    except SessionFull:
        return Picked(None, "Deze bijeenkomst is vol. Kies een andere datum.")
    except PlanningError:
        return Picked(None, "Dit lukte niet. Bel uw contactpersoon voor een afspraak.")
    return Picked(done, "Uw plaats is geboekt. U krijgt een bevestiging.")


__all__ = ["RESIDENT", "BookingView", "Picked", "booking_view", "pick_session"]
