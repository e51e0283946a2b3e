"""Appointments on the real store (SQLite and PostgreSQL): booking, moving, cancelling, the
letters and invitations that follow each version, the last place of a session, and the ERP
writes queued with each change."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.invitations import event_uid
from keukentafel.domain.messages import MessageKind
from keukentafel.domain.model import LeaseStatus
from keukentafel.domain.planning.appointments import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    PlanningError,
    PlanningSession,
    SessionFull,
    Slot,
)
from keukentafel.domain.planning.inbound import ChangeKind, ContractorChange, InboundMessage
from keukentafel.feeds.erp_export import ErpExportWriter
from keukentafel.store.repositories.feeds import ErpWrites
from keukentafel.usecases.appointments import (
    Booking,
    book_home_visit,
    book_session_place,
    cancel_appointment,
    complete_appointment,
    create_session,
    move_appointment,
    notify_households,
    plan_work_days,
    resident_move,
    sessions_of,
)
from keukentafel.usecases.contractor_inbox import apply_contractor_message
from keukentafel.usecases.erp_writes import deliver_erp_writes
from keukentafel.usecases.outbox import outbox_counts
from tests.builders import CORP, RENOVATION, MemoryWriter, lease, register, resident, run

S = AppointmentStatus
NOW = datetime(2027, 5, 1, 8, 0)
GUIDE = "begeleider1@corporatie.example"
DAY = date(2027, 5, 12)


def clock() -> datetime:
    return NOW


BOOK = Booking("cli:test", erp=True, clock=clock)


def at(hour: int, day: date = DAY) -> Slot:
    return Slot(datetime.combine(day, time(hour)), datetime.combine(day, time(hour + 1)))


@pytest.fixture
def store(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    run(sessions, register(12))
    return sessions


def notify(
    sessions: sessionmaker[Session], writer: MemoryWriter
) -> tuple[int, list[tuple[str, MessageKind, dict[str, int]]]]:
    before = len(writer.written)
    report = notify_households(
        sessions, CORP, {RENOVATION.code: RENOVATION}, lambda a: writer, erp=True, clock=clock
    )
    sent = [
        (plan.recipients[0].unit.code, plan.kind, sequences)
        for plan, _key, _event, sequences in writer.written[before:]
    ]
    return report.letters, sent


def test_a_visit_booked_moved_and_cancelled_tells_the_household_each_time_with_one_uid(
    store: sessionmaker[Session],
) -> None:
    writer = MemoryWriter()
    booked = book_home_visit(store, RENOVATION, "VHE00003", GUIDE, at(10), BOOK)
    assert booked.status is S.PLANNED and booked.version == 1

    letters, sent = notify(store, writer)
    assert letters == 1 and sent[0][:2] == ("VHE00003", MessageKind.APPOINTMENT_CONFIRMATION)
    uid = event_uid(RENOVATION.code, f"afspraak-{booked.code}", "VHE00003")
    assert sent[0][2] == {"VHE00003": 0}
    assert notify(store, writer) == (0, [])  # told already: nothing again

    moved = move_appointment(store, RENOVATION, booked.code, BOOK, slot=at(14))
    assert moved.version == 2
    letters, sent = notify(store, writer)
    assert sent[0][1] is MessageKind.APPOINTMENT_CHANGE and sent[0][2] == {"VHE00003": 1}
    plan = writer.last
    assert plan.details["previous_start_text"] == "woensdag 12 mei 2027 om 10.00 uur"
    assert writer.written[-1][2] is not None  # the event: same event id, so the same UID
    assert event_uid(RENOVATION.code, writer.written[-1][2].event_id, "VHE00003") == uid

    cancel_appointment(store, RENOVATION, booked.code, BOOK)
    letters, sent = notify(store, writer)
    assert sent[0][1] is MessageKind.APPOINTMENT_CHANGE and writer.written[-1][2] is None
    assert outbox_counts(store, CORP)["pending"] == 3  # one e-mail per letter


def test_one_open_visit_per_unit_and_no_visit_to_a_unit_outside_the_project(
    store: sessionmaker[Session],
) -> None:
    book_home_visit(store, RENOVATION, "VHE00001", GUIDE, at(10), BOOK)
    with pytest.raises(PlanningError, match="open home visit already"):
        book_home_visit(store, RENOVATION, "VHE00001", GUIDE, at(11), BOOK)
    with pytest.raises(PlanningError, match="not in project"):
        book_home_visit(store, RENOVATION, "VHE99999", GUIDE, at(11), BOOK)
    other = replace(RENOVATION, complex_codes=("CPX-9",))
    with pytest.raises(PlanningError, match="not in project"):
        book_home_visit(store, other, "VHE00002", GUIDE, at(11), BOOK)


def test_a_resident_moves_only_their_own_visit(store: sessionmaker[Session]) -> None:
    mine = book_home_visit(store, RENOVATION, "VHE00004", GUIDE, at(9), BOOK)
    with pytest.raises(PlanningError, match="not a home visit of unit VHE00005"):
        resident_move(store, RENOVATION, "VHE00005", mine.code, at(15), clock=clock)
    moved = resident_move(store, RENOVATION, "VHE00004", mine.code, at(15), clock=clock)
    assert moved.slot == at(15) and moved.version == 2


def test_a_change_by_someone_else_meanwhile_is_refused_not_overwritten(
    store: sessionmaker[Session],
) -> None:
    booked = book_home_visit(store, RENOVATION, "VHE00006", GUIDE, at(10), BOOK)
    move_appointment(store, RENOVATION, booked.code, BOOK, slot=at(11))
    from keukentafel.store.repositories.planning import PlanningRepository

    stale = booked.moved_to(S.PLANNED, at(12))
    with store.begin() as session, pytest.raises(PlanningError, match="someone else"):
        PlanningRepository(session, CORP).save(stale, booked.version, NOW)


def test_work_days_planned_again_move_and_a_done_visit_is_a_contact_moment(
    store: sessionmaker[Session],
) -> None:
    days = Slot.days(DAY, DAY + timedelta(days=2), (time(7, 30), time(16)))
    first = plan_work_days(store, RENOVATION, "BOUW", "VHE00007", "Keuken", days, BOOK)
    again = plan_work_days(store, RENOVATION, "BOUW", "VHE00007", "keuken", days, BOOK)
    assert again == first  # the same days again: nothing changes
    later = Slot.days(DAY + timedelta(days=7), DAY + timedelta(days=9), (time(7, 30), time(16)))
    moved = plan_work_days(store, RENOVATION, "BOUW", "VHE00007", "keuken", later, BOOK)
    assert moved.code == first.code and moved.version == 2 and moved.element == "keuken"

    visit = book_home_visit(store, RENOVATION, "VHE00008", GUIDE, at(10), BOOK)
    done = complete_appointment(store, RENOVATION, visit.code, BOOK)
    assert done.status is S.DONE
    with store() as session:
        due = ErpWrites(session, CORP).due()
    kinds = sorted((w.kind, w.unit_code, w.version) for w in due)
    assert ("contactmoment", "VHE00008", 0) in kinds
    assert ("afspraak", "VHE00007", 1) in kinds and ("afspraak", "VHE00007", 2) in kinds
    assert ("afspraak", "VHE00008", 2) in kinds


def _session(code: str, capacity: int) -> PlanningSession:
    return PlanningSession(
        code=code,
        project_code=RENOVATION.code,
        title="Kijken in de modelwoning",
        slot=at(14),
        location_name="Modelwoning",
        location_address="Dorpsstraat 5",
        capacity=capacity,
    )


def test_a_session_place_is_given_back_when_cancelled_or_moved(
    store: sessionmaker[Session],
) -> None:
    create_session(store, RENOVATION, _session("MW-1", 1), clock=clock)
    create_session(store, RENOVATION, _session("MW-2", 1), clock=clock)
    place = book_session_place(store, RENOVATION, "VHE00001", "MW-1", BOOK)
    with pytest.raises(SessionFull):
        book_session_place(store, RENOVATION, "VHE00002", "MW-1", BOOK)
    moved = move_appointment(store, RENOVATION, place.code, BOOK, session_code="MW-2")
    assert moved.session_code == "MW-2"
    assert {s.code: s.booked for s in sessions_of(store, RENOVATION)} == {"MW-1": 0, "MW-2": 1}
    book_session_place(store, RENOVATION, "VHE00002", "MW-1", BOOK)
    cancel_appointment(store, RENOVATION, moved.code, BOOK)
    assert {s.code: s.booked for s in sessions_of(store, RENOVATION)} == {"MW-1": 1, "MW-2": 0}


def test_two_people_never_take_the_last_place_of_a_session(
    store: sessionmaker[Session],
) -> None:
    rounds = 6
    for n in range(rounds):
        create_session(store, RENOVATION, _session(f"S-{n}", 2), clock=clock)
        book_session_place(store, RENOVATION, "VHE00012", f"S-{n}", BOOK)  # one place left
    outcomes: dict[str, list[str]] = {f"S-{n}": [] for n in range(rounds)}

    def book(unit: str, code: str, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            book_session_place(store, RENOVATION, unit, code, BOOK)
            outcomes[code].append("booked")
        except SessionFull:
            outcomes[code].append("full")

    for n in range(rounds):
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=book, args=(unit, f"S-{n}", barrier))
            for unit in ("VHE00010", "VHE00011")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    for code, found in outcomes.items():
        assert sorted(found) == ["booked", "full"], code
    assert all(s.booked == 2 for s in sessions_of(store, RENOVATION))
    with store() as session:
        from keukentafel.store.repositories.planning import PlanningRepository

        places = PlanningRepository(session, CORP).query(kind=AppointmentKind.SESSION)
    assert len(places) == 2 * rounds


def test_a_unit_that_fell_vacant_gets_no_letter_and_the_reason_is_kept(
    store: sessionmaker[Session],
) -> None:
    booked = book_home_visit(store, RENOVATION, "VHE00009", GUIDE, at(10), BOOK)
    snapshot = register(12)
    snapshot.leases = [lease for lease in snapshot.leases if lease.unit_code != "VHE00009"]
    run(store, snapshot, max_shrink=1.0)
    writer = MemoryWriter()
    report = notify_households(
        store, CORP, {RENOVATION.code: RENOVATION}, lambda a: writer, clock=clock
    )
    assert report.letters == 0 and [u for u, _ in report.refused] == ["VHE00009"]
    assert (
        notify_households(
            store, CORP, {RENOVATION.code: RENOVATION}, lambda a: writer, clock=clock
        ).refused
        == []
    )
    assert isinstance(booked, Appointment)


#: 23:30 UTC on 1 May 2027: already 2 May in Amsterdam (CEST).
LATE = Booking("cli:test", erp=True, clock=lambda: datetime(2027, 5, 1, 23, 30))


def _new_tenant_of_vhe00003_on_2_may(sessions: sessionmaker[Session]) -> None:
    """R3's lease of VHE00003 ends on 1 May 2027; R13's begins on 2 May."""
    snapshot = register(12)
    old = replace(snapshot.leases[2], status=LeaseStatus.ENDED, end_date=date(2027, 5, 1))
    new = replace(lease(13), lease_id="L3-NEW", unit_code="VHE00003", start_date=date(2027, 5, 2))
    snapshot.leases[2:3] = [old, new]
    snapshot.residents.append(resident(13))
    run(sessions, snapshot)


def test_the_letters_contact_moment_names_the_household_the_letter_went_to_after_midnight(
    sessions: sessionmaker[Session],
) -> None:
    """At 23:30 UTC on 1 May it is already 2 May in Amsterdam: the letter goes to R13, and the
    contact moment the ERP gets for it names R13 too."""
    _new_tenant_of_vhe00003_on_2_may(sessions)
    book_home_visit(sessions, RENOVATION, "VHE00003", GUIDE, at(10), LATE)
    writer = MemoryWriter()
    notify_households(
        sessions, CORP, {RENOVATION.code: RENOVATION}, lambda a: writer, erp=True, clock=LATE.clock
    )
    assert [r.relation_id for r in writer.last.recipients[0].residents] == ["R13"]
    with sessions() as session:
        (moment,) = [w for w in ErpWrites(session, CORP).due() if w.kind == "contactmoment"]
    assert [r["id"] for r in moment.payload["relaties"]] == ["R13"]


def test_an_exported_contact_moment_after_midnight_is_in_the_file_of_amsterdams_day(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """A corporation whose ERP takes no writes imports a file per day: the contact moment of a
    letter sent at 23:30 UTC on 1 May is in the file of 2 May, Amsterdam's day."""
    _new_tenant_of_vhe00003_on_2_may(sessions)
    book_home_visit(sessions, RENOVATION, "VHE00003", GUIDE, at(10), LATE)
    notify_households(
        sessions,
        CORP,
        {RENOVATION.code: RENOVATION},
        lambda a: MemoryWriter(),
        erp=True,
        clock=LATE.clock,
    )
    writer = ErpExportWriter(tmp_path, CORP, clock=LATE.clock)
    report = deliver_erp_writes(sessions, CORP, writer, clock=LATE.clock)
    assert report.sent >= 1 and report.failed == []
    names = {p.name for p in tmp_path.iterdir()}
    assert f"{CORP}-contactmomenten-2027-05-02.csv" in names
    assert all(name.endswith("-2027-05-02.csv") for name in names), names


def test_a_contractors_change_after_midnight_reaches_the_erp_with_the_new_household(
    sessions: sessionmaker[Session],
) -> None:
    """A contractor marks VHE00003's work done at 23:30 UTC on 1 May (2 May in Amsterdam): the
    appointment the ERP gets names R13, who lives there from 2 May."""
    _new_tenant_of_vhe00003_on_2_may(sessions)
    days = Slot.days(DAY, DAY + timedelta(days=2), (time(7, 30), time(16)))
    work = plan_work_days(sessions, RENOVATION, "BOUW", "VHE00003", "keuken", days, BOOK)
    done = InboundMessage(ChangeKind.DONE, [ContractorChange(1, ChangeKind.DONE, code=work.code)])
    report = apply_contractor_message(
        sessions,
        CORP,
        "BOUW",
        "msg-1",
        b"{}",
        done,
        hours=(time(7, 30), time(16)),
        erp=True,
        clock=LATE.clock,
    )
    assert report.applied == 1
    with sessions() as session:
        (write,) = [w for w in ErpWrites(session, CORP).due() if w.version == work.version + 1]
    assert write.kind == "afspraak" and [r["id"] for r in write.payload["relaties"]] == ["R13"]
