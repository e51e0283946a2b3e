"""Small-group sessions and appointments: read and write them as domain values.

A session's places are taken with one conditional update (``booked < capacity``), so two
bookings racing for the last place cannot both win, on SQLite (one writer at a time) and on
PostgreSQL (the row lock makes the second update re-check the condition). An appointment is
saved against the version it was read at: a change made meanwhile by someone else is refused,
never overwritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from keukentafel.domain.model import Household, household_of
from keukentafel.domain.planning.appointments import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    PlanningError,
    PlanningSession,
    Slot,
    SlotTaken,
)
from keukentafel.store.models import (
    AppointmentRow,
    LeaseRow,
    PlanningSessionRow,
    ResidentRow,
    UnitRow,
)
from keukentafel.store.repositories.register import (
    lease_from_row,
    resident_from_row,
    unit_from_row,
)

_OPEN = (AppointmentStatus.REQUESTED.value, AppointmentStatus.PLANNED.value)


def _slot(start: datetime | None, end: datetime | None) -> Slot | None:
    return Slot(start, end) if start is not None and end is not None else None


def appointment_from_row(row: AppointmentRow) -> Appointment:
    return Appointment(
        code=row.code,
        corporation_code=row.corporation_code,
        project_code=row.project_code,
        unit_code=row.unit_code,
        kind=AppointmentKind(row.kind),
        status=AppointmentStatus(row.status),
        slot=_slot(row.start, row.end),
        title=row.title,
        location_name=row.location_name,
        location_address=row.location_address,
        guide=row.guide,
        session_code=row.session_code,
        contractor_code=row.contractor_code,
        element=row.element,
        team=row.team,
        version=row.version,
        notified_version=row.notified_version,
        told_slot=_slot(row.told_start, row.told_end),
        delay_reason=row.delay_reason,
    )


def _values(a: Appointment) -> dict[str, object]:
    return {
        "project_code": a.project_code,
        "unit_code": a.unit_code,
        "kind": a.kind.value,
        "status": a.status.value,
        "start": a.slot.start if a.slot else None,
        "end": a.slot.end if a.slot else None,
        "title": a.title[:200],
        "location_name": a.location_name[:200],
        "location_address": a.location_address[:200],
        "guide": a.guide,
        "session_code": a.session_code,
        "contractor_code": a.contractor_code,
        "element": a.element,
        "team": a.team,
        "version": a.version,
        "notified_version": a.notified_version,
        "told_start": a.told_slot.start if a.told_slot else None,
        "told_end": a.told_slot.end if a.told_slot else None,
        "delay_reason": a.delay_reason,
    }


def session_from_row(row: PlanningSessionRow) -> PlanningSession:
    return PlanningSession(
        code=row.code,
        project_code=row.project_code,
        title=row.title,
        slot=Slot(row.start, row.end),
        location_name=row.location_name,
        location_address=row.location_address,
        capacity=row.capacity,
        guide=row.guide,
        booked=row.booked,
    )


class PlanningRepository:
    """The sessions and appointments of one corporation."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    # -- sessions

    def add_session(self, planned: PlanningSession, now: datetime) -> None:
        if self.planning_session(planned.code) is not None:
            raise PlanningError(f"session {planned.code} exists already")
        self.session.add(
            PlanningSessionRow(
                corporation_code=self.corporation,
                project_code=planned.project_code,
                code=planned.code,
                title=planned.title[:200],
                start=planned.slot.start,
                end=planned.slot.end,
                location_name=planned.location_name[:200],
                location_address=planned.location_address[:200],
                guide=planned.guide,
                capacity=planned.capacity,
                booked=0,
                updated_at=now,
            )
        )
        self.session.flush()

    def planning_session(self, code: str) -> PlanningSession | None:
        row = self.session.scalar(
            select(PlanningSessionRow).where(
                PlanningSessionRow.corporation_code == self.corporation,
                PlanningSessionRow.code == code,
            )
        )
        return session_from_row(row) if row is not None else None

    def planning_sessions(self, project_code: str | None = None) -> list[PlanningSession]:
        query = select(PlanningSessionRow).where(
            PlanningSessionRow.corporation_code == self.corporation
        )
        if project_code:
            query = query.where(PlanningSessionRow.project_code == project_code)
        return [session_from_row(row) for row in self.session.scalars(query.order_by("start"))]

    def take_place(self, code: str, now: datetime) -> bool:
        """Take one place of the session if one is left; False when it is full (or unknown).

        One conditional UPDATE: whoever commits first gets the last place, the other's update
        matches no row."""
        taken = self.session.execute(
            update(PlanningSessionRow)
            .where(
                PlanningSessionRow.corporation_code == self.corporation,
                PlanningSessionRow.code == code,
                PlanningSessionRow.booked < PlanningSessionRow.capacity,
            )
            .values(booked=PlanningSessionRow.booked + 1, updated_at=now)
            .returning(PlanningSessionRow.id)
        )
        return len(taken.all()) == 1

    def give_back_place(self, code: str, now: datetime) -> None:
        self.session.execute(
            update(PlanningSessionRow)
            .where(
                PlanningSessionRow.corporation_code == self.corporation,
                PlanningSessionRow.code == code,
                PlanningSessionRow.booked > 0,
            )
            .values(booked=PlanningSessionRow.booked - 1, updated_at=now)
        )

    # -- appointments

    def get(self, code: str) -> Appointment | None:
        row = self._row(code)
        return appointment_from_row(row) if row is not None else None

    def _row(self, code: str) -> AppointmentRow | None:
        return self.session.scalar(
            select(AppointmentRow).where(
                AppointmentRow.corporation_code == self.corporation, AppointmentRow.code == code
            )
        )

    def add(self, appointment: Appointment, now: datetime, booked_by: str) -> None:
        """Insert the appointment; ``SlotTaken`` when it is a planned home visit at a time its
        guide has one planned already (the store's unique index decides between two racing
        bookings: the second waits for the first and then fails)."""
        if self._row(appointment.code) is not None:
            raise PlanningError(f"appointment {appointment.code} exists already")
        row = AppointmentRow(
            corporation_code=self.corporation,
            code=appointment.code,
            booked_by=booked_by[:200],
            created_at=now,
            updated_at=now,
            calendar_event_id="",
            calendar_version=0,
            **_values(appointment),
        )
        with self._guide_slot(appointment):
            self.session.add(row)
            self.session.flush()

    @contextmanager
    def _guide_slot(self, appointment: Appointment) -> Iterator[None]:
        """A savepoint around a write that may take a guide's time: the unique index's refusal
        becomes ``SlotTaken`` and the caller's transaction stays usable."""
        try:
            with self.session.begin_nested():
                yield
        except IntegrityError as exc:
            if "ux_appointments_guide_visit" in str(exc.orig) or self._slot_holder(appointment):
                raise SlotTaken(
                    f"guide {appointment.guide} has a planned visit at "
                    f"{appointment.slot.start if appointment.slot else '-'} already"
                ) from exc
            raise

    def _slot_holder(self, appointment: Appointment) -> bool:
        if appointment.slot is None or not appointment.guide:
            return False
        found = self.session.execute(
            select(AppointmentRow.id).where(
                AppointmentRow.corporation_code == self.corporation,
                AppointmentRow.guide == appointment.guide,
                AppointmentRow.start == appointment.slot.start.replace(tzinfo=None),
                AppointmentRow.kind == AppointmentKind.HOME_VISIT.value,
                AppointmentRow.status == "GEP",
                AppointmentRow.code != appointment.code,
            )
        ).first()
        return found is not None

    def save(self, appointment: Appointment, read_version: int, now: datetime) -> None:
        """Write a changed appointment, only if it is still at the version it was read at;
        ``SlotTaken`` when it moves a home visit to a time its guide has taken already."""
        with self._guide_slot(appointment):
            saved = self.session.execute(
                update(AppointmentRow)
                .where(
                    AppointmentRow.corporation_code == self.corporation,
                    AppointmentRow.code == appointment.code,
                    AppointmentRow.version == read_version,
                )
                .values(updated_at=now, **_values(appointment))
                .returning(AppointmentRow.id)
            ).all()
        if len(saved) != 1:
            raise PlanningError(
                f"appointment {appointment.code} was changed by someone else meanwhile; "
                "read it again and retry"
            )

    def query(
        self,
        *,
        unit_code: str | None = None,
        kind: AppointmentKind | None = None,
        project_code: str | None = None,
        contractor_code: str | None = None,
        session_code: str | None = None,
        open_only: bool = False,
    ) -> list[Appointment]:
        query = select(AppointmentRow).where(AppointmentRow.corporation_code == self.corporation)
        if unit_code is not None:
            query = query.where(AppointmentRow.unit_code == unit_code)
        if kind is not None:
            query = query.where(AppointmentRow.kind == kind.value)
        if project_code is not None:
            query = query.where(AppointmentRow.project_code == project_code)
        if contractor_code is not None:
            query = query.where(AppointmentRow.contractor_code == contractor_code)
        if session_code is not None:
            query = query.where(AppointmentRow.session_code == session_code)
        if open_only:
            query = query.where(AppointmentRow.status.in_(_OPEN))
        rows = self.session.scalars(query.order_by(AppointmentRow.id))
        return [appointment_from_row(row) for row in rows]

    def unnotified(self) -> list[Appointment]:
        """Appointments whose household has not been told about the current version."""
        rows = self.session.scalars(
            select(AppointmentRow)
            .where(
                AppointmentRow.corporation_code == self.corporation,
                AppointmentRow.notified_version < AppointmentRow.version,
            )
            .order_by(AppointmentRow.id)
        )
        return [appointment_from_row(row) for row in rows]

    def mark_told(self, appointment: Appointment, now: datetime) -> None:
        """The household was told about ``appointment`` (its letter is in the outbox)."""
        told = appointment.told()
        self.session.execute(
            update(AppointmentRow)
            .where(
                AppointmentRow.corporation_code == self.corporation,
                AppointmentRow.code == appointment.code,
                AppointmentRow.notified_version < told.notified_version,
            )
            .values(
                notified_version=told.notified_version,
                told_start=told.told_slot.start if told.told_slot else None,
                told_end=told.told_slot.end if told.told_slot else None,
                updated_at=now,
            )
        )

    def calendar_behind(self) -> list[tuple[Appointment, str, int]]:
        """Appointments with a guide whose calendar event is older than the appointment:
        (appointment, Graph event id or "", the version the calendar has)."""
        rows = self.session.scalars(
            select(AppointmentRow)
            .where(
                AppointmentRow.corporation_code == self.corporation,
                AppointmentRow.guide != "",
                AppointmentRow.calendar_version < AppointmentRow.version,
            )
            .order_by(AppointmentRow.id)
        )
        return [(appointment_from_row(r), r.calendar_event_id, r.calendar_version) for r in rows]

    def mark_calendar(self, code: str, version: int, event_id: str, now: datetime) -> None:
        self.session.execute(
            update(AppointmentRow)
            .where(
                AppointmentRow.corporation_code == self.corporation,
                AppointmentRow.code == code,
                AppointmentRow.calendar_version < version,
            )
            .values(calendar_version=version, calendar_event_id=event_id, updated_at=now)
        )

    def counts(self, contractor_code: str | None = None) -> dict[str, int]:
        """Appointments per status (every status present)."""
        found = dict.fromkeys((s.value for s in AppointmentStatus), 0)
        query = select(AppointmentRow.status).where(
            AppointmentRow.corporation_code == self.corporation
        )
        if contractor_code is not None:
            query = query.where(AppointmentRow.contractor_code == contractor_code)
        for status in self.session.scalars(query):
            found[status] = found.get(status, 0) + 1
        return found


def household_of_unit(
    session: Session, corporation: str, unit_code: str, on: date
) -> Household | None:
    """One unit's household on a day, read by its indexes (None: no such unit)."""
    unit_row = session.scalar(
        select(UnitRow).where(
            UnitRow.corporation_code == corporation,
            UnitRow.code == unit_code,
            UnitRow.removed_at.is_(None),
        )
    )
    if unit_row is None:
        return None
    leases = [
        lease_from_row(row)
        for row in session.scalars(
            select(LeaseRow).where(
                LeaseRow.corporation_code == corporation,
                LeaseRow.unit_code == unit_code,
                LeaseRow.removed_at.is_(None),
            )
        )
    ]
    ids = sorted({p.relation_id for lease in leases for p in lease.parties})
    residents = {
        row.relation_id: resident_from_row(row)
        for row in session.scalars(
            select(ResidentRow).where(
                ResidentRow.corporation_code == corporation,
                ResidentRow.relation_id.in_(ids),
                ResidentRow.removed_at.is_(None),
            )
        )
    }
    return household_of(unit_from_row(unit_row), leases, residents, on)
