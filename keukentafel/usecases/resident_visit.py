"""Use case: a resident picks (or moves) a home visit in a free slot of the project's guide.

The slots are the guide's working hours minus their Outlook free/busy (Graph ``getSchedule``,
through the ``GuideCalendar`` port) and minus the visits we planned for them
(``usecases.appointments.guide_free_slots``), from tomorrow for ``days`` days. Picking one
checks it against the free slots again, then books a home visit (``book_home_visit``) or moves
the household's open one (``move_appointment``) through the booking use case, so the letter,
e-mail and invitation (outbox) and the guide's calendar event follow as for any booking
(``Planning.notify`` and the calendar sync). Two residents who pick the same slot race in the
store: one gets it, the other ``SlotTaken`` and a B1 message to pick another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.model import Project, amsterdam_date
from keukentafel.domain.planning.appointments import (
    Appointment,
    AppointmentKind,
    PlanningError,
    Slot,
    SlotTaken,
)
from keukentafel.domain.planning.slots import WorkingHours
from keukentafel.usecases.appointments import (
    Booking,
    GuideCalendar,
    appointments_of_unit,
    book_home_visit,
    guide_free_slots,
    move_appointment,
)


@dataclass(frozen=True, slots=True)
class VisitPlan:
    """Where and how long the project's guide visits: from the ``web.projects`` section."""

    guide: str  # the guide's mailbox (user principal name)
    days: int = 14
    minutes: int = 60


@dataclass(frozen=True, slots=True)
class VisitView:
    slots: Sequence[Slot]  # the guide's free slots, soonest first
    current: Appointment | None  # the household's open home visit, if any

    def days(self, limit: int = 3) -> list[tuple[date, list[Slot]]]:
        """The slots to offer, per day, for the first ``limit`` days that have any: one after
        the other (a slot starts where the one before it ends), so a phone shows a short list."""
        found: dict[date, list[Slot]] = {}
        for slot in self.slots:
            day = slot.start.date()
            if day not in found and len(found) == limit:
                break
            shown = found.setdefault(day, [])
            if not shown or slot.start >= shown[-1].end:
                shown.append(slot)
        return list(found.items())


@dataclass(frozen=True, slots=True)
class VisitPicked:
    appointment: Appointment | None
    message: str  # B1 Dutch for the resident


def _current(
    sessions: sessionmaker[Session], project: Project, unit_code: str
) -> Appointment | None:
    return next(
        (
            a
            for a in appointments_of_unit(sessions, project.corporation_code, unit_code)
            if a.kind is AppointmentKind.HOME_VISIT
            and a.status.is_open
            and a.project_code == project.code
        ),
        None,
    )


def visit_view(
    sessions: sessionmaker[Session],
    calendar: GuideCalendar,
    project: Project,
    unit_code: str,
    plan: VisitPlan,
    now: datetime,
) -> VisitView:
    """The guide's free slots from tomorrow, and the household's open home visit."""
    today = amsterdam_date(now)
    first = today + timedelta(days=1)
    slots = guide_free_slots(
        sessions,
        calendar,
        project.corporation_code,
        plan.guide,
        first,
        first + timedelta(days=plan.days - 1),
        length=timedelta(minutes=plan.minutes),
        hours=WorkingHours(),
        now=now,
    )
    return VisitView(slots, _current(sessions, project, unit_code))


def pick_visit(
    sessions: sessionmaker[Session],
    calendar: GuideCalendar,
    project: Project,
    unit_code: str,
    plan: VisitPlan,
    start: datetime,
    booking: Booking,
) -> VisitPicked:
    """Book the household a home visit at ``start`` (a free slot of the guide), or move its
    open visit there."""
    view = visit_view(sessions, calendar, project, unit_code, plan, booking.clock())
    slot = next((s for s in view.slots if s.start == start), None)
    if slot is None:
        return VisitPicked(None, "Dit tijdstip is niet meer vrij. Kies een ander tijdstip.")
    try:
        if view.current is None:
            done = book_home_visit(sessions, project, unit_code, plan.guide, slot, booking)
        else:
            done = move_appointment(sessions, project, view.current.code, booking, slot=slot)
    except SlotTaken:
        return VisitPicked(None, "Iemand anders koos net dit tijdstip. Kies een ander tijdstip.")
    except PlanningError:
        return VisitPicked(None, "Dit lukte niet. Bel uw contactpersoon voor een afspraak.")
    return VisitPicked(done, "U krijgt een brief of e-mail met de afspraak.")


__all__ = ["VisitPicked", "VisitPlan", "VisitView", "pick_visit", "visit_view"]
