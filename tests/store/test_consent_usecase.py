"""The consent track on the live register and the stored ledger (SQLite and PostgreSQL).

The use cases run as plain functions on the real store; the register is synced by the real sync
use case; mailings use the in-memory writer of tests/builders.py. What is asserted is what is
stored and what the tally, the households and the mailings say.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.audit import AuditKind
from keukentafel.domain.consent import (
    Channel,
    MailingNotAllowed,
    NoticeSent,
    Refusal,
    RefusalCode,
    UnitStatus,
    local_moment,
)
from keukentafel.domain.mailing import MailingPlan, MailingState, WrittenMailing
from keukentafel.domain.messages import Event, MessageKind
from keukentafel.store.repositories import ConsentRepository, MailingRepository
from keukentafel.store.repositories.audit import AuditLog
from keukentafel.usecases import consent
from keukentafel.usecases.consent import (
    AnswerInput,
    ConsentBooks,
    CorrectionInput,
    ExclusionInput,
    household_status,
    record,
    send_notice,
    send_reminder,
)
from keukentafel.usecases.mailing import MailingResult
from keukentafel.usecases.outbox import outbox_counts
from tests import builders
from tests.builders import CONSENT, CORP, clock_at, consent_register, run

NOW = datetime(2027, 3, 1, 12, 0)  # naive UTC, as the store's clock gives it
CLOCK = clock_at(NOW)
ON = date(2027, 3, 1)


def answer(unit: int, word: str = "agree", day: int = 10, **kw: Any) -> AnswerInput:
    return AnswerInput(
        unit_code=f"VHE{unit:05d}",
        answer=word,
        at=local_moment(date(2027, 2, day)),
        channel=kw.pop("channel", Channel.PAPER),
        **kw,
    )


def record_all(
    sessions: sessionmaker[Session], inputs: list[Any], books: ConsentBooks | None = None
) -> consent.RecordReport:
    return record(sessions, CONSENT, inputs, recorded_by="clerk", clock=CLOCK, books=books)


@pytest.fixture
def fourteen(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """14 units: 12 rented homes (VHE00003 with a co-tenant), VHE00013 owner, VHE00014 vacant."""
    run(sessions, consent_register(14, owners=(13,), vacant=(14,), co_tenants=(3,)))
    return sessions


def test_answers_are_admitted_stored_and_counted_refusals_say_why(
    fourteen: sessionmaker[Session],
) -> None:
    tomorrow = AnswerInput(
        unit_code="VHE00009",
        answer="agree",
        at=local_moment(date(2027, 3, 2)),
        channel=Channel.PAPER,
    )
    report = record_all(
        fourteen,
        [
            *(answer(n) for n in range(1, 9)),
            answer(3, parties=("R3",)),  # one co-tenant again: another entry, still agreed
            answer(99),
            answer(13),
            answer(14),
            answer(5, parties=("R6",)),
            tomorrow,
            answer(1),  # the same form as the first: nothing new
        ],
    )
    assert [r.code for r in report.refused] == [
        RefusalCode.UNKNOWN_UNIT,
        RefusalCode.OWNERS_TRACK,
        RefusalCode.VACANT,
        RefusalCode.PARTY_NOT_ON_LEASE,
        RefusalCode.FUTURE_DATE,
        RefusalCode.DUPLICATE,
    ]
    assert "R6" in report.refused[3].reason and "L5" in report.refused[3].reason
    assert len(report.admitted) == 9
    with fourteen() as session:
        stored, last = ConsentRepository(session, CORP).entries(CONSENT.project.code)
    assert [e.id for e in stored] == [e.id for e in report.admitted] and last > 0
    household = next(e for e in stored if getattr(e, "unit_code", "") == "VHE00003")
    assert household.parties == ("R3", "R3B")  # type: ignore[union-attr]  # filled in on admission
    assert household.recorded_by == "clerk" and household.lease_id == "L3"  # type: ignore[union-attr]
    tally = consent.consent_tally(fourteen, CONSENT, ON)
    whole = tally.ballot()
    assert (whole.homes, whole.agreed, whole.no_answer, whole.denominator) == (12, 8, 4, 12)
    assert (tally.owners, tally.vacant) == (1, 1)
    assert str(whole.percentage) == "66.6667" and not whole.threshold_met


def test_one_co_tenant_alone_is_incomplete(fourteen: sessionmaker[Session]) -> None:
    record_all(fourteen, [answer(3, parties=("R3B",))])
    status = household_status(fourteen, CONSENT, "VHE00003", ON)
    assert status.status is UnitStatus.INCOMPLETE
    assert [(p.party_id, p.answers["whole"].value) for p in status.parties] == [
        ("R3", "none"),
        ("R3B", "agree"),
    ]
    assert status.may_answer and status.notice_date is None


def test_the_tally_on_a_past_date_and_a_correction(fourteen: sessionmaker[Session]) -> None:
    first = record_all(fourteen, [answer(n, day=n) for n in range(1, 10)])
    wrong = first.admitted[8]
    assert consent.consent_tally(fourteen, CONSENT, ON).ballot().agreed == 9
    assert consent.consent_tally(fourteen, CONSENT, date(2027, 2, 4)).ballot().agreed == 4
    record_all(fourteen, [CorrectionInput(corrects=wrong.id, reason="read the wrong form")])
    tally = consent.consent_tally(fourteen, CONSENT, ON)
    assert tally.ballot().agreed == 8
    assert tally.unit("VHE00009").status is UnitStatus.NO_ANSWER


def test_an_exclusion_needs_a_reason_and_takes_the_unit_out(
    fourteen: sessionmaker[Session],
) -> None:
    report = record_all(
        fourteen,
        [
            ExclusionInput(
                unit_code="VHE00012", at=local_moment(date(2027, 2, 1)), reason="", decided_by="x"
            ),
            ExclusionInput(
                unit_code="VHE00012",
                at=local_moment(date(2027, 2, 1)),
                reason="temporary contract",
                decided_by="legal team",
            ),
        ],
    )
    assert [r.code for r in report.refused] == [RefusalCode.REASON_REQUIRED]
    tally = consent.consent_tally(fourteen, CONSENT, ON)
    assert (tally.homes, tally.excluded) == (11, 1)
    status = household_status(fourteen, CONSENT, "VHE00012", ON)
    assert status.status is UnitStatus.EXCLUDED and status.excluded_since == date(2027, 2, 1)


def test_kept_ledgers_follow_other_writers_and_register_changes(
    fourteen: sessionmaker[Session],
) -> None:
    web, clerk = ConsentBooks(), ConsentBooks()  # two processes, each with its kept ledgers
    assert consent.consent_tally(fourteen, CONSENT, ON, books=web).ballot().agreed == 0
    record_all(fourteen, [answer(n) for n in range(1, 5)], books=clerk)
    assert consent.consent_tally(fourteen, CONSENT, ON, books=web).ballot().agreed == 4
    # the same form entered by both: the second is refused, also by the one that had not seen it
    assert record_all(fourteen, [answer(7)], books=clerk).admitted
    again = record_all(fourteen, [answer(7)], books=web)
    assert [r.code for r in again.refused] == [RefusalCode.DUPLICATE]
    # a new tenant in VHE00001 from 1 March: the register sync changes the scope
    snap = consent_register(14, owners=(13,), vacant=(14,), co_tenants=(3,))
    old = snap.leases[0]
    snap.leases[0] = replace(old, end_date=date(2027, 2, 28))
    snap.leases.append(replace(old, lease_id="L1N", start_date=date(2027, 3, 1), end_date=None))
    run(fourteen, snap)
    tally = consent.consent_tally(fourteen, CONSENT, ON, books=web)
    assert tally.ballot().agreed == 4  # 2, 3, 4 and 7: the new tenancy of VHE00001 has no answer
    assert tally.unit("VHE00001").lease_id == "L1N"
    assert tally.unit("VHE00001").status is UnitStatus.NO_ANSWER


# --- the 70% notice and the reminders -----------------------------------------------------------

DETAILS = {"court_name": "kantonrechter"}


def notice(
    sessions: sessionmaker[Session],
    writer: Any,
    on: date = ON,
    *,
    books: ConsentBooks | None = None,
    mailing_id: str = "zeventig-procent",
) -> MailingResult:
    return send_notice(
        sessions,
        CONSENT,
        writer,
        on=on,
        mailing_id=mailing_id,
        started_by="cli:test",
        details=DETAILS,
        clock=clock_at(datetime(on.year, on.month, on.day, 12)),
        books=books,
    )


@pytest.fixture
def reached(fourteen: sessionmaker[Session]) -> sessionmaker[Session]:
    """9 of the 12 homes agreed (75%); VHE00010 declined, VHE00011 and VHE00012 did not answer."""
    record_all(fourteen, [*(answer(n) for n in range(1, 10)), answer(10, "decline")])
    return fourteen


def notices(sessions: sessionmaker[Session]) -> list[NoticeSent]:
    with sessions() as session:
        stored, _ = ConsentRepository(session, CORP).entries(CONSENT.project.code)
    return [e for e in stored if isinstance(e, NoticeSent)]


def test_the_notice_goes_to_those_who_did_not_agree_and_stores_its_dates(
    reached: sessionmaker[Session],
) -> None:
    writer = builders.MemoryWriter()
    result = notice(reached, writer)
    plan = writer.last
    assert [h.unit.code for h in plan.recipients] == ["VHE00010", "VHE00011", "VHE00012"]
    assert plan.details["share_text"] == "75%"
    assert plan.details["notice_date"] == ON
    assert plan.details["objection_deadline"] == date(2027, 4, 26)  # 1 March + 56 days
    assert result.letters == result.registered == 3
    sent = notices(reached)
    assert sorted(n.unit_code for n in sent) == ["VHE00010", "VHE00011", "VHE00012"]
    assert {(n.sent_on, n.channel, n.recorded_by) for n in sent} == {
        (ON, Channel.PAPER, "cli:test")
    }
    status = household_status(reached, CONSENT, "VHE00011", date(2027, 3, 5))
    assert (status.notice_date, status.last_day) == (ON, date(2027, 4, 26))
    assert household_status(reached, CONSENT, "VHE00001", ON).notice_date is None
    # the same mailing again, that day: nothing queued, no notice added
    again = notice(reached, writer)
    assert again.enqueued == 0 and len(notices(reached)) == 3
    with reached() as session:  # each notice is audited with its entry, once
        audited = AuditLog(session).events(
            CORP, kinds=[AuditKind.CONSENT_CHANGED], since=datetime(2027, 3, 1)
        )
    noticed = [e.event for e in audited if e.event.detail["entry_kind"] == "notice"]
    assert sorted(e.unit_code for e in noticed) == ["VHE00010", "VHE00011", "VHE00012"]
    assert {(e.actor, e.detail["via"]) for e in noticed} == {("cli:test", "notice")}
    # ... and on another day: refused, the notice of 1 March stands
    with pytest.raises(MailingNotAllowed, match="went out on 2027-03-01"):
        notice(reached, writer, date(2027, 3, 8))
    # an answer after the last day is refused; on the last day it counts
    late = record(
        reached,
        CONSENT,
        [
            AnswerInput(
                unit_code="VHE00011",
                answer="agree",
                at=local_moment(date(2027, 4, 26)),
                channel=Channel.PHONE,
            ),
            AnswerInput(
                unit_code="VHE00012",
                answer="agree",
                at=local_moment(date(2027, 4, 27)),
                channel=Channel.PHONE,
            ),
        ],
        recorded_by="clerk",
        clock=clock_at(datetime(2027, 5, 1, 9)),
    )
    assert [r.code for r in late.refused] == [RefusalCode.AFTER_DEADLINE]
    assert len(late.admitted) == 1


def test_no_notice_without_the_presumption_and_nothing_written(
    fourteen: sessionmaker[Session],
) -> None:
    record_all(fourteen, [answer(n) for n in range(1, 8)])  # 7 of 12: 58.3333%
    writer = builders.MemoryWriter()
    with pytest.raises(MailingNotAllowed, match=r"7 of 12 agreed \(58.3333%\)"):
        notice(fourteen, writer)
    assert not writer.written and not notices(fourteen)


class WithdrawingWriter(builders.MemoryWriter):
    """Writes the letters while, elsewhere, two tenants withdraw (another clerk, another process)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__()
        self.sessions = sessions

    def write(self, plan: MailingPlan, **kw: Any) -> WrittenMailing:
        written = super().write(plan, **kw)
        withdrawn = [answer(n, "withdraw", day=28) for n in (1, 2)]
        record_all(self.sessions, withdrawn, books=ConsentBooks())
        return written


def test_the_notice_is_refused_when_the_threshold_is_lost_while_it_is_written(
    reached: sessionmaker[Session],
) -> None:
    books = ConsentBooks()
    with pytest.raises(MailingNotAllowed, match="7 of 12 agreed"):
        notice(reached, WithdrawingWriter(reached), books=books)
    assert not notices(reached)
    assert outbox_counts(reached, CORP).get("pending", 0) == 0
    with reached() as session:
        mailing = MailingRepository(session, CORP).get(
            CONSENT.project.code, MessageKind.CONSENT_REACHED, "zeventig-procent"
        )
    assert mailing is not None and mailing.state is MailingState.PLANNED
    assert consent.consent_tally(reached, CONSENT, ON, books=books).ballot().agreed == 7


class BrokenOutboxWriter(builders.MemoryWriter):
    """Hands the outbox a message the store cannot take (no body): the queue's transaction fails
    after the notices were admitted."""

    def write(self, plan: MailingPlan, **kw: Any) -> WrittenMailing:
        written = super().write(plan, **kw)
        broken = replace(written.messages[0], body=None)
        return replace(written, messages=(broken,))


def test_a_failed_queue_stores_no_notice_and_keeps_none_in_memory(
    reached: sessionmaker[Session],
) -> None:
    books = ConsentBooks()
    with pytest.raises(IntegrityError):
        notice(reached, BrokenOutboxWriter(), books=books)
    assert not notices(reached)
    tally = consent.consent_tally(reached, CONSENT, ON, books=books)
    assert tally.unit("VHE00011").notice_date is None
    notice(reached, builders.MemoryWriter(), books=books)  # and it can go out after all
    assert len(notices(reached)) == 3


def test_reminders_go_to_households_without_any_answer(reached: sessionmaker[Session]) -> None:
    writer = builders.MemoryWriter()
    send_reminder(
        reached,
        CONSENT,
        writer,
        on=ON,
        mailing_id="herinnering-1",
        started_by="cli:test",
        details={},
        clock=CLOCK,
    )
    assert [h.unit.code for h in writer.last.recipients] == ["VHE00011", "VHE00012"]
    record_all(reached, [answer(11, "decline"), answer(12, "agree", channel=Channel.VISIT)])
    with pytest.raises(MailingNotAllowed, match="nobody to remind"):
        send_reminder(
            reached, CONSENT, writer, on=ON, mailing_id="herinnering-2", started_by="cli:test"
        )


def test_record_takes_a_household_answer_for_the_web_page(reached: sessionmaker[Session]) -> None:
    books = ConsentBooks()
    before = household_status(reached, CONSENT, "VHE00012", ON, books=books)
    assert before.status is UnitStatus.NO_ANSWER and before.presumption_applies == {"whole": True}
    outcome = record(
        reached,
        CONSENT,
        [
            AnswerInput(
                unit_code="VHE00012",
                answer="agree",
                at=datetime(2027, 3, 1, 10, 30),
                channel=Channel.WEB,
            )
        ],
        recorded_by="web:personal-link",
        clock=CLOCK,
        books=books,
    ).outcomes[0]
    assert not isinstance(outcome, Refusal) and outcome.day == ON
    after = household_status(reached, CONSENT, "VHE00012", ON, books=books)
    assert after.status is UnitStatus.AGREED
    with pytest.raises(consent.UnitNotInProject):
        household_status(reached, CONSENT, "VHE99999", ON, books=books)


def test_an_event_is_passed_through_to_the_mailing(reached: sessionmaker[Session]) -> None:
    writer = builders.MemoryWriter()
    event = Event(
        event_id="spreekuur-1",
        title="Spreekuur",
        start=datetime(2027, 3, 10, 19, 0),
        end=datetime(2027, 3, 10, 20, 0),
        location_name="Buurthuis",
        location_address="Kadestraat 2",
    )
    send_reminder(
        reached,
        CONSENT,
        writer,
        on=ON,
        mailing_id="herinnering-1",
        started_by="cli:test",
        event=event,
        clock=CLOCK,
    )
    assert writer.written[-1][2] == event


def test_two_writers_at_once_take_turns(fourteen: sessionmaker[Session]) -> None:
    """Two processes (each with its own kept ledgers) record the same form at the same moment:
    the ledger row's lock makes one wait and then see the other's entry."""
    import threading

    barrier = threading.Barrier(2)
    reports: list[consent.RecordReport] = []

    def clerk() -> None:
        books = ConsentBooks()
        consent.consent_tally(fourteen, CONSENT, ON, books=books)  # loaded before the race
        barrier.wait()
        reports.append(record_all(fourteen, [answer(4)], books=books))

    threads = [threading.Thread(target=clerk) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    outcomes = sorted("admitted" if not r.refused else r.refused[0].code.value for r in reports)
    assert outcomes == ["admitted", "duplicate"]
    assert consent.consent_tally(fourteen, CONSENT, ON).ballot().agreed == 1
