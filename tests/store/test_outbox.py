"""The outbox on the real store: idempotent enqueue, one delivery per message, in-doubt reconcile."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.outbox import MAX_ATTEMPTS, OutboxStatus
from keukentafel.store.models import OutboxRow
from keukentafel.usecases.outbox import DeliveryRejected, dispatch, enqueue, outbox_counts
from tests.builders import CORP, messages


@dataclass
class RecordingMailbox:
    """A fake of the MailTransport port: remembers what it delivered, can be told to fail."""

    delivered: list[str] = field(default_factory=list)
    failures_left: int = 0  # refusals: the message certainly did not go out
    breaks_after_accepting: int = 0  # accepted, then the connection broke: in doubt

    def send(self, message: bytes, message_id: str) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise DeliveryRejected("mailbox refused the message (403 after retries)")
        if self.breaks_after_accepting:
            self.breaks_after_accepting -= 1
            self.delivered.append(message_id)
            raise ConnectionError("connection reset after the request was sent")
        assert message_id.encode() in message
        self.delivered.append(message_id)

    def already_sent(self, message_id: str, since: datetime) -> bool:
        return message_id in self.delivered


def test_enqueue_twice_adds_once(sessions: sessionmaker[Session]) -> None:
    assert enqueue(sessions, CORP, messages(5)) == 5
    assert enqueue(sessions, CORP, messages(5)) == 0
    assert outbox_counts(sessions, CORP)["pending"] == 5


def test_enqueue_counts_what_it_inserted_among_other_mailings(
    sessions: sessionmaker[Session],
) -> None:
    enqueue(sessions, "OTHER", messages(4, mailing="OTHER/newsletter/1"))
    mixed = messages(3) + messages(6, mailing="WSD/newsletter/2")
    assert enqueue(sessions, CORP, mixed) == 9
    again = messages(3) + messages(7, mailing="WSD/newsletter/2")  # one new unit
    assert enqueue(sessions, CORP, again) == 1
    assert outbox_counts(sessions, CORP)["pending"] == 10
    assert outbox_counts(sessions, CORP, "WSD/newsletter/2")["pending"] == 7
    assert outbox_counts(sessions, "OTHER") == {
        "pending": 4,
        "waiting": 0,
        "sending": 0,
        "sent": 0,
        "failed": 0,
    }


def test_dispatch_delivers_each_once_and_rerun_sends_nothing(
    sessions: sessionmaker[Session],
) -> None:
    enqueue(sessions, CORP, messages(4))
    mailbox = RecordingMailbox()
    assert dispatch(sessions, CORP, mailbox).sent == 4
    assert dispatch(sessions, CORP, mailbox).sent == 0
    assert len(mailbox.delivered) == len(set(mailbox.delivered)) == 4
    assert outbox_counts(sessions, CORP)["sent"] == 4


def test_in_doubt_message_is_reconciled_not_resent(sessions: sessionmaker[Session]) -> None:
    enqueue(sessions, CORP, messages(3))
    mailbox = RecordingMailbox()
    dispatch(sessions, CORP, mailbox)
    # Simulate a crash between the transport call and the 'sent' mark for one message, and one
    # crash right after the 'sending' mark but before the transport call.
    with sessions.begin() as s:
        ids = [r.id for r in s.query(OutboxRow).order_by(OutboxRow.id)]
        s.execute(update(OutboxRow).where(OutboxRow.id == ids[0]).values(status="sending"))
        s.execute(update(OutboxRow).where(OutboxRow.id == ids[1]).values(status="sending"))
    lost = mailbox.delivered.pop(1)  # the second one never reached the mailbox
    report = dispatch(sessions, CORP, mailbox, in_doubt_after=timedelta(0))
    assert (report.reconciled, report.sent) == (1, 1)
    assert sorted(mailbox.delivered) == sorted({*mailbox.delivered, lost})
    assert len(mailbox.delivered) == 3


def test_failures_are_retried_then_marked_failed(sessions: sessionmaker[Session]) -> None:
    enqueue(sessions, CORP, messages(1))
    mailbox = RecordingMailbox(failures_left=MAX_ATTEMPTS)
    for _ in range(MAX_ATTEMPTS - 1):
        assert dispatch(sessions, CORP, mailbox).retried_later == 1
    final = dispatch(sessions, CORP, mailbox)
    assert final.failed == 1 and final.failed_units == ["VHE00000"]
    with sessions() as s:
        row = s.query(OutboxRow).one()
        assert row.status == OutboxStatus.FAILED.value and "403" in row.last_error
    assert dispatch(sessions, CORP, RecordingMailbox()).sent == 0  # failed stays failed


@dataclass
class BlindMailbox(RecordingMailbox):
    """A mailbox whose Sent Items cannot be searched right now."""

    def already_sent(self, message_id: str, since: datetime) -> bool:
        raise ConnectionError("Sent Items unavailable")


def test_in_doubt_message_stays_in_doubt_when_reconcile_fails(
    sessions: sessionmaker[Session],
) -> None:
    enqueue(sessions, CORP, messages(1))
    with sessions.begin() as s:
        s.execute(update(OutboxRow).values(status="sending"))
    mailbox = BlindMailbox()
    report = dispatch(sessions, CORP, mailbox, in_doubt_after=timedelta(0))
    assert (report.sent, report.retried_later) == (0, 1)
    assert mailbox.delivered == []  # never guess: no send while in doubt
    assert outbox_counts(sessions, CORP)["sending"] == 1


def test_a_broken_connection_after_sending_is_in_doubt_not_resent(
    sessions: sessionmaker[Session],
) -> None:
    enqueue(sessions, CORP, messages(2))
    mailbox = RecordingMailbox(breaks_after_accepting=1)
    first = dispatch(sessions, CORP, mailbox)
    assert (first.sent, first.retried_later) == (1, 1)
    assert outbox_counts(sessions, CORP)["sending"] == 1
    # Within the grace period it is left alone (another dispatcher may hold it, Sent Items lag).
    assert dispatch(sessions, CORP, mailbox).in_flight == 1
    later = dispatch(sessions, CORP, mailbox, in_doubt_after=timedelta(0))
    assert (later.reconciled, later.sent) == (1, 0)
    assert len(mailbox.delivered) == len(set(mailbox.delivered)) == 2


@dataclass
class BusyMailbox(RecordingMailbox):
    """While it sends, a second dispatcher runs (an operator starts one by hand)."""

    sessions: sessionmaker[Session] | None = None
    second: list[object] = field(default_factory=list)

    def send(self, message: bytes, message_id: str) -> None:
        if self.sessions is not None and not self.second:
            self.second.append(dispatch(self.sessions, CORP, self))
        super().send(message, message_id)


def test_two_dispatchers_never_send_one_message_twice(sessions: sessionmaker[Session]) -> None:
    enqueue(sessions, CORP, messages(5))
    mailbox = BusyMailbox(sessions=sessions)
    dispatch(sessions, CORP, mailbox)
    assert sorted(mailbox.delivered) == sorted(set(mailbox.delivered))
    assert len(mailbox.delivered) == 5
    assert outbox_counts(sessions, CORP)["sent"] == 5
