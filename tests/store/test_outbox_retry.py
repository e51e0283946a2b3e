"""``mailing retry``: messages that failed for good go back to the outbox once, and are sent once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.outbox import MAX_ATTEMPTS, OutboxStatus
from keukentafel.store.models import OutboxRow
from keukentafel.usecases.outbox import (
    DeliveryRejected,
    dispatch,
    enqueue,
    outbox_counts,
    retry_failed,
)
from tests.builders import CORP, messages


@dataclass
class Mailbox:
    """A fake of the MailTransport port: refuses every message (403) until ``allowed``."""

    allowed: bool = False
    delivered: list[str] = field(default_factory=list)

    def send(self, message: bytes, message_id: str) -> None:
        if not self.allowed:
            raise DeliveryRejected("HTTP 403 ErrorAccessDenied: Access is denied")
        self.delivered.append(message_id)

    def already_sent(self, message_id: str, since: datetime) -> bool:
        return message_id in self.delivered


def _fail_for_good(sessions: sessionmaker[Session], mailbox: Mailbox) -> None:
    for attempt in range(MAX_ATTEMPTS):
        report = dispatch(sessions, CORP, mailbox)
        assert report.refused == 3
        assert report.refusal_reasons == {
            "DeliveryRejected: HTTP 403 ErrorAccessDenied: Access is denied": 3
        }
        assert report.failed == (3 if attempt == MAX_ATTEMPTS - 1 else 0)


def test_retry_requeues_failed_messages_and_dispatch_sends_each_once(
    sessions: sessionmaker[Session],
) -> None:
    enqueue(sessions, CORP, messages(3, mailing="WSD/P/announcement/m1"))
    mailbox = Mailbox()
    _fail_for_good(sessions, mailbox)
    assert outbox_counts(sessions, CORP)["failed"] == 3
    assert dispatch(sessions, CORP, mailbox).refused == 0  # failed for good: left alone

    mailbox.allowed = True  # the permission was granted
    report = retry_failed(sessions, CORP, actor="cli:bea")
    assert report.requeued == 3 and report.mailing_keys == ["WSD/P/announcement/m1"]
    assert report.unit_codes == ["VHE00000", "VHE00001", "VHE00002"]
    with sessions() as session:
        rows = session.query(OutboxRow).all()
        assert {r.status for r in rows} == {OutboxStatus.PENDING}
        assert {r.attempts for r in rows} == {0} and {r.deferrals for r in rows} == {0}
        assert all(r.next_attempt_at is None for r in rows)
        assert all(
            r.last_error.startswith("requeued ") and "by cli:bea after: " in r.last_error
            for r in rows
        )
        assert all("403" in r.last_error for r in rows)
    assert dispatch(sessions, CORP, mailbox).sent == 3
    assert dispatch(sessions, CORP, mailbox).sent == 0
    assert (
        sorted(mailbox.delivered) == sorted(set(mailbox.delivered)) and len(mailbox.delivered) == 3
    )
    assert retry_failed(sessions, CORP, actor="cli:bea").requeued == 0  # sent is never requeued


def test_retry_of_one_mailing_leaves_the_others_failed(sessions: sessionmaker[Session]) -> None:
    enqueue(sessions, CORP, messages(3, mailing="WSD/P/announcement/m1"))
    enqueue(sessions, CORP, messages(3, mailing="WSD/P/info_evening/m2"))
    mailbox = Mailbox()
    for _ in range(MAX_ATTEMPTS):
        dispatch(sessions, CORP, mailbox)
    assert outbox_counts(sessions, CORP)["failed"] == 6
    assert retry_failed(sessions, CORP, mailing_key="m2", actor="cli:bea").requeued == 3
    assert outbox_counts(sessions, CORP, "WSD/P/info_evening/m2")["pending"] == 3
    assert outbox_counts(sessions, CORP, "WSD/P/announcement/m1")["failed"] == 3
    assert retry_failed(sessions, CORP, mailing_key="nope", actor="x").requeued == 0
    whole = retry_failed(sessions, CORP, mailing_key="WSD/P/announcement/m1", actor="x")
    assert whole.requeued == 3
