"""Use case: appointments with households: book, move, cancel, complete; and what follows.

Staff book for a household (the CLI now, the staff page later); a resident picks or moves a
slot on their own page (:func:`resident_book_visit`, :func:`resident_move`, for the web app).
Each change is one transaction that saves the appointment's new version, and (when the
corporation writes back) queues the appointment for its ERP. What follows a version runs after
the commit and can be run again at any time without doing anything twice:

- :func:`notify_households`: the letter or e-mail of each version not yet told (confirmation,
  change, delay, cancellation) through the mailing use case and its outbox, with the
  household's invitation (one UID per appointment, SEQUENCE raised by the invitation store on
  every change); the letter's contact moment is queued for the ERP in the same transaction that
  marks the version told;
- :func:`sync_guide_calendars`: the resident guide's Outlook event (created with a
  ``transactionId`` from the appointment code, so a retried create makes no second event).

A session's last place goes to one booking only (a conditional update in the store).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent import MailingNotAllowed
from keukentafel.domain.messages import MessageKind, to_amsterdam
from keukentafel.domain.model import Household, Project, amsterdam_date
from keukentafel.domain.planning.appointments import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    PlanningError,
    PlanningSession,
    SessionFull,
    Slot,
    appointment_code,
    checked_element,
    notice_for,
    work_days_code,
)
from keukentafel.domain.planning.erp import (
    ErpWrite,
    appointment_write,
    letter_contact_moment,
    visit_contact_moment,
)
from keukentafel.domain.planning.slots import WorkingHours, free_slots
from keukentafel.store.repositories.feeds import ErpWrites
from keukentafel.store.repositories.planning import PlanningRepository, household_of_unit
from keukentafel.usecases.mailing import MailingWriter, prepare_mailing

S = AppointmentStatus
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class GuideCalendar(Protocol):
    """A resident guide's calendar (Outlook through Graph: connectors.m365.calendar)."""

    def busy(self, guide: str, start: datetime, end: datetime) -> list[Slot]:
        """The guide's busy periods between two Amsterdam wall-clock times."""
        ...

    def put(self, guide: str, appointment: Appointment, event_id: str) -> str:
        """Create the appointment's event (or update ``event_id``); returns the event id."""
        ...

    def remove(self, guide: str, event_id: str) -> None:
        """Cancel or delete the event (an event already gone is fine)."""
        ...


#: The mailing writer for one appointment version (its files in a folder of their own).
WriterFor = Callable[[Appointment], MailingWriter]


@dataclass(frozen=True, slots=True)
class Booking:
    """Who changes an appointment, and whether its versions go back to the ERP."""

    by: str  # "cli:<user>", "web:resident", "contractor:<code>"
    erp: bool = False
    clock: Clock = _utcnow


# --- reading ---------------------------------------------------------------------------------


def _household(
    sessions: sessionmaker[Session], project: Project, unit_code: str, on: date
) -> Household:
    """The household of a unit of the project; PlanningError for a unit outside it."""
    with sessions() as session:
        household = household_of_unit(session, project.corporation_code, unit_code, on)
    if household is None or household.unit.complex_code not in project.complex_codes:
        raise PlanningError(f"unit {unit_code} is not in project {project.code}")
    return household


def _address_text(household: Household) -> str:
    a = household.unit.address
    return f"{a.street_line}, {a.postcode}  {a.town.upper()}"


def _today(booking: Booking) -> date:
    return amsterdam_date(booking.clock())


def get_appointment(sessions: sessionmaker[Session], corporation: str, code: str) -> Appointment:
    with sessions() as session:
        found = PlanningRepository(session, corporation).get(code)
    if found is None:
        raise PlanningError(f"no appointment {code}")
    return found


def appointments_of_unit(
    sessions: sessionmaker[Session], corporation: str, unit_code: str
) -> list[Appointment]:
    """Every appointment of a unit (the resident's page shows them)."""
    with sessions() as session:
        return PlanningRepository(session, corporation).query(unit_code=unit_code)


# --- writing one version -------------------------------------------------------------------------


def _erp_writes(appointment: Appointment, household: Household | None) -> list[ErpWrite]:
    return [appointment_write(appointment, household)]


def _insert(
    sessions: sessionmaker[Session],
    appointment: Appointment,
    household: Household | None,
    booking: Booking,
    *,
    take_place: str = "",
) -> Appointment:
    """Save a new appointment (taking a session place first, when given) in one transaction."""
    corporation = appointment.corporation_code
    with sessions.begin() as session:
        repo = PlanningRepository(session, corporation)
        now = booking.clock()
        # The place is taken by the first statement of the transaction: on SQLite that takes
        # the write lock before anything is read, on PostgreSQL it locks the session's row.
        if take_place and not repo.take_place(take_place, now):
            raise SessionFull(f"session {take_place} has no place left")
        repo.add(appointment, now, booking.by)
        if booking.erp:
            ErpWrites(session, corporation).enqueue(_erp_writes(appointment, household), now)
    return appointment


def _change(
    sessions: sessionmaker[Session],
    before: Appointment,
    after: Appointment,
    booking: Booking,
    *,
    household: Household | None = None,
    places: tuple[str, str] = ("", ""),
) -> Appointment:
    """Save a new version (optionally giving back one session place and taking another)."""
    if after is before:
        return before
    give_back, take = places
    corporation = before.corporation_code
    with sessions.begin() as session:
        repo = PlanningRepository(session, corporation)
        now = booking.clock()
        if take and not repo.take_place(take, now):
            raise SessionFull(f"session {take} has no place left")
        if give_back:
            repo.give_back_place(give_back, now)
        repo.save(after, before.version, now)
        if booking.erp:
            ErpWrites(session, corporation).enqueue(_erp_writes(after, household), now)
    return after


# --- booking -------------------------------------------------------------------------------------


def create_session(
    sessions: sessionmaker[Session],
    project: Project,
    planned: PlanningSession,
    *,
    clock: Clock = _utcnow,
) -> PlanningSession:
    """A small-group session of the project, with its capacity."""
    if planned.project_code != project.code:
        raise PlanningError(f"session {planned.code} is not of project {project.code}")
    with sessions.begin() as session:
        PlanningRepository(session, project.corporation_code).add_session(planned, clock())
    return planned


def sessions_of(sessions: sessionmaker[Session], project: Project) -> list[PlanningSession]:
    with sessions() as session:
        repo = PlanningRepository(session, project.corporation_code)
        return repo.planning_sessions(project.code)


def _refuse_second_open(
    sessions: sessionmaker[Session], project: Project, unit_code: str, kind: AppointmentKind
) -> None:
    with sessions() as session:
        open_ones = PlanningRepository(session, project.corporation_code).query(
            unit_code=unit_code, kind=kind, project_code=project.code, open_only=True
        )
    if open_ones:
        raise PlanningError(
            f"unit {unit_code} has an open {kind.value.replace('_', ' ')} already "
            f"({open_ones[0].code}): move that one instead"
        )


def book_home_visit(
    sessions: sessionmaker[Session],
    project: Project,
    unit_code: str,
    guide: str,
    slot: Slot | None,
    booking: Booking,
    *,
    title: str = "Keukentafelgesprek",
) -> Appointment:
    """A kitchen-table talk (or home visit) with the household, planned (GEP) at ``slot``, or
    requested (AAN) without one. One open home visit per unit and project."""
    household = _household(sessions, project, unit_code, _today(booking))
    if household.is_vacant:
        raise PlanningError(f"unit {unit_code} is vacant: nobody to visit")
    if not guide:
        raise PlanningError("a home visit needs a resident guide (their calendar)")
    _refuse_second_open(sessions, project, unit_code, AppointmentKind.HOME_VISIT)
    appointment = Appointment(
        code=appointment_code(project.corporation_code, unit_code, uuid.uuid4().hex),
        corporation_code=project.corporation_code,
        project_code=project.code,
        unit_code=unit_code,
        kind=AppointmentKind.HOME_VISIT,
        status=S.PLANNED if slot is not None else S.REQUESTED,
        slot=slot,
        title=title,
        location_name="Bij u thuis",
        location_address=_address_text(household),
        guide=guide,
    )
    return _insert(sessions, appointment, household, booking)


def book_session_place(
    sessions: sessionmaker[Session],
    project: Project,
    unit_code: str,
    session_code: str,
    booking: Booking,
) -> Appointment:
    """A place for the household in a small-group session; SessionFull when none is left
    (also when two bookings race for the last place: exactly one gets it)."""
    household = _household(sessions, project, unit_code, _today(booking))
    if household.is_vacant:
        raise PlanningError(f"unit {unit_code} is vacant: nobody to invite")
    with sessions() as session:
        repo = PlanningRepository(session, project.corporation_code)
        planned = repo.planning_session(session_code)
        booked = repo.query(unit_code=unit_code, session_code=session_code, open_only=True)
    if planned is None or planned.project_code != project.code:
        raise PlanningError(f"no session {session_code} in project {project.code}")
    if booked:
        raise PlanningError(f"unit {unit_code} has a place in session {session_code} already")
    appointment = Appointment(
        code=appointment_code(project.corporation_code, unit_code, session_code, uuid.uuid4().hex),
        corporation_code=project.corporation_code,
        project_code=project.code,
        unit_code=unit_code,
        kind=AppointmentKind.SESSION,
        status=S.PLANNED,
        slot=planned.slot,
        title=planned.title,
        location_name=planned.location_name,
        location_address=planned.location_address,
        session_code=session_code,
    )
    return _insert(sessions, appointment, household, booking, take_place=session_code)


def plan_work_days(
    sessions: sessionmaker[Session],
    project: Project,
    contractor: str,
    unit_code: str,
    element: str,
    days: Slot,
    booking: Booking,
    *,
    team: str = "",
) -> Appointment:
    """The contractor's work days on one element of a unit ("keuken, 12 t/m 14 mei"). Planning
    the same element again moves the days (a change letter follows)."""
    element = checked_element(element)
    code = work_days_code(project.corporation_code, project.code, contractor, element, unit_code)
    household = _household(sessions, project, unit_code, _today(booking))
    with sessions() as session:
        existing = PlanningRepository(session, project.corporation_code).get(code)
    if existing is not None and existing.status.is_open:
        moved = existing.moved_to(S.PLANNED, days)
        if team and team != moved.team:
            moved = _with_team(moved, team, existing)
        return _change(sessions, existing, moved, booking, household=household)
    if existing is not None:
        raise PlanningError(f"work days {code} of unit {unit_code} are {existing.status.naam}")
    appointment = Appointment(
        code=code,
        corporation_code=project.corporation_code,
        project_code=project.code,
        unit_code=unit_code,
        kind=AppointmentKind.WORK_DAYS,
        status=S.PLANNED,
        slot=days,
        title=f"Werk aan uw {element}",
        location_name="Bij u thuis",
        location_address=_address_text(household),
        contractor_code=contractor,
        element=element,
        team=team,
    )
    return _insert(sessions, appointment, household, booking)


def _with_team(moved: Appointment, team: str, before: Appointment) -> Appointment:
    version = moved.version if moved is not before else before.version + 1
    return replace(moved, team=team, version=version)


# --- changing ------------------------------------------------------------------------------------


def move_appointment(
    sessions: sessionmaker[Session],
    project: Project,
    code: str,
    booking: Booking,
    *,
    slot: Slot | None = None,
    session_code: str = "",
) -> Appointment:
    """Move a planned (or plan a requested) appointment to ``slot``, or a session place to
    another session (taking a place there and giving this one back, in one transaction)."""
    before = get_appointment(sessions, project.corporation_code, code)
    household = _household(sessions, project, before.unit_code, _today(booking))
    if before.kind is AppointmentKind.SESSION:
        if not session_code:
            raise PlanningError(f"{code} is a session place: give the session to move it to")
        with sessions() as session:
            target = PlanningRepository(session, project.corporation_code).planning_session(
                session_code
            )
        if target is None or target.project_code != project.code:
            raise PlanningError(f"no session {session_code} in project {project.code}")
        after = before.moved_to(S.PLANNED, target.slot)
        after = replace(
            after,
            session_code=session_code,
            title=target.title,
            location_name=target.location_name,
            location_address=target.location_address,
            version=before.version + 1,
        )
        return _change(
            sessions,
            before,
            after,
            booking,
            household=household,
            places=(before.session_code, session_code),
        )
    if slot is None:
        raise PlanningError("give the new date and time")
    after = before.moved_to(S.PLANNED, slot)
    return _change(sessions, before, after, booking, household=household)


def cancel_appointment(
    sessions: sessionmaker[Session], project: Project, code: str, booking: Booking
) -> Appointment:
    """Cancel an open appointment (ANN); a session place is given back."""
    before = get_appointment(sessions, project.corporation_code, code)
    household = _household(sessions, project, before.unit_code, _today(booking))
    after = before.moved_to(S.CANCELLED)
    place = before.session_code if before.kind is AppointmentKind.SESSION else ""
    return _change(sessions, before, after, booking, household=household, places=(place, ""))


def complete_appointment(
    sessions: sessionmaker[Session], project: Project, code: str, booking: Booking
) -> Appointment:
    """The appointment took place (AFG). A home visit is a contact moment for the ERP."""
    before = get_appointment(sessions, project.corporation_code, code)
    household = _household(sessions, project, before.unit_code, _today(booking))
    after = before.moved_to(S.DONE)
    _change(sessions, before, after, booking, household=household)
    moment = visit_contact_moment(after, household, booking.clock())
    if booking.erp and moment is not None:
        with sessions.begin() as session:
            ErpWrites(session, project.corporation_code).enqueue([moment], booking.clock())
    return after


# --- the resident's own page (issue 14 calls these) -------------------------------------------


def resident_book_visit(
    sessions: sessionmaker[Session],
    project: Project,
    unit_code: str,
    guide: str,
    slot: Slot,
    *,
    erp: bool = False,
    clock: Clock = _utcnow,
) -> Appointment:
    """A resident picks a free slot of their guide on their own page."""
    return book_home_visit(
        sessions, project, unit_code, guide, slot, Booking("web:resident", erp, clock)
    )


def resident_move(
    sessions: sessionmaker[Session],
    project: Project,
    unit_code: str,
    code: str,
    slot: Slot,
    *,
    erp: bool = False,
    clock: Clock = _utcnow,
) -> Appointment:
    """A resident moves their own home visit; another household's appointment is refused
    (the page's link identifies the unit, the appointment code alone is not enough)."""
    found = get_appointment(sessions, project.corporation_code, code)
    if found.unit_code != unit_code or found.kind is not AppointmentKind.HOME_VISIT:
        raise PlanningError(f"appointment {code} is not a home visit of unit {unit_code}")
    return move_appointment(sessions, project, code, Booking("web:resident", erp, clock), slot=slot)


# --- free slots ----------------------------------------------------------------------------------


def guide_free_slots(
    sessions: sessionmaker[Session],
    calendar: GuideCalendar,
    corporation: str,
    guide: str,
    first_day: date,
    last_day: date,
    *,
    length: timedelta = timedelta(hours=1),
    hours: WorkingHours = WorkingHours(),  # noqa: B008 - a frozen value
    now: datetime | None = None,
) -> list[Slot]:
    """Free slots of a guide: working hours minus their Outlook free/busy and minus the visits
    we booked for them (in case the calendar has not caught up yet)."""
    start, end = datetime.combine(first_day, time(0)), datetime.combine(last_day, time(23, 59))
    busy = list(calendar.busy(guide, start, end))
    with sessions() as session:
        ours = PlanningRepository(session, corporation).query(
            kind=AppointmentKind.HOME_VISIT, open_only=True
        )
    busy += [a.slot for a in ours if a.guide == guide and a.slot is not None]
    local_now = to_amsterdam((now or _utcnow()).replace(tzinfo=UTC)).replace(tzinfo=None)
    return free_slots(busy, first_day, last_day, length=length, hours=hours, not_before=local_now)


# --- what follows a version ----------------------------------------------------------------------


@dataclass(slots=True)
class NotifyReport:
    letters: int = 0  # versions that got a letter (and an e-mail where there is an address)
    enqueued: int = 0  # e-mails added to the outbox
    nothing_to_tell: int = 0  # versions that need no letter (requested, done, same slot)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (unit code, reason)


def notify_households(
    sessions: sessionmaker[Session],
    corporation: str,
    projects: Mapping[str, Project],
    writer_for: WriterFor,
    *,
    erp: bool = False,
    clock: Clock = _utcnow,
) -> NotifyReport:
    """Write the letter of every appointment version whose household was not told yet.

    The mailing of a version has the id ``<code>-v<version>``: preparing it again after a crash
    adds nothing to the outbox and keeps the invitation's SEQUENCE."""
    report = NotifyReport()
    with sessions() as session:
        pending = PlanningRepository(session, corporation).unnotified()
    for appointment in pending:
        notice = notice_for(appointment)
        project = projects.get(appointment.project_code)
        if notice is None or project is None:
            _mark_told(sessions, appointment, None, erp=False, clock=clock)
            report.nothing_to_tell += 1
            continue
        try:
            result = prepare_mailing(
                sessions,
                project,
                notice.kind,
                writer_for(appointment),
                on=amsterdam_date(clock()),
                mailing_id=f"{appointment.code}-v{appointment.version}",
                started_by=f"appointment:{appointment.code}",
                event=notice.event,
                details=notice.details,
                units=[appointment.unit_code],
                clock=clock,
            )
        except MailingNotAllowed as exc:  # e.g. the unit fell vacant: nobody to write to
            report.refused.append((appointment.unit_code, str(exc)))
            _mark_told(sessions, appointment, None, erp=False, clock=clock)
            continue
        report.letters += 1
        report.enqueued += result.enqueued
        _mark_told(sessions, appointment, notice.kind, erp=erp, clock=clock)
    return report


def _mark_told(
    sessions: sessionmaker[Session],
    appointment: Appointment,
    kind: MessageKind | None,
    *,
    erp: bool,
    clock: Clock,
) -> None:
    with sessions.begin() as session:
        now = clock()
        PlanningRepository(session, appointment.corporation_code).mark_told(appointment, now)
        if erp and kind is not None:
            household = household_of_unit(
                session, appointment.corporation_code, appointment.unit_code, amsterdam_date(now)
            )
            moment = letter_contact_moment(appointment, household, kind, now)
            ErpWrites(session, appointment.corporation_code).enqueue([moment], now)


@dataclass(slots=True)
class CalendarReport:
    created_or_updated: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (unit code, reason)


def sync_guide_calendars(
    sessions: sessionmaker[Session],
    corporation: str,
    calendar: GuideCalendar,
    *,
    clock: Clock = _utcnow,
) -> CalendarReport:
    """Bring every guide's calendar up to the appointments' versions: an open appointment with
    a slot is created or updated, a cancelled one removed. A failure is reported and retried on
    the next run (nothing is marked done that did not happen)."""
    report = CalendarReport()
    with sessions() as session:
        behind = PlanningRepository(session, corporation).calendar_behind()
    for appointment, event_id, _version in behind:
        try:
            if appointment.status.is_open and appointment.slot is not None:
                event_id = calendar.put(appointment.guide, appointment, event_id)
                report.created_or_updated += 1
            elif appointment.status is S.CANCELLED and event_id:
                calendar.remove(appointment.guide, event_id)
                report.removed += 1
        except Exception as exc:  # the next run tries again; say which unit, not who
            report.failed.append((appointment.unit_code, f"{type(exc).__name__}: {exc}"[:200]))
            continue
        with sessions.begin() as session:
            PlanningRepository(session, corporation).mark_calendar(
                appointment.code, appointment.version, event_id, clock()
            )
    return report
