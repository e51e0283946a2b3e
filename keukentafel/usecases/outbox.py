"""Use case: put rendered messages in the outbox, and deliver each one exactly once.

The dispatcher commits the ``sending`` mark before calling the transport and the ``sent`` mark
right after, one message at a time ("send, then mark sent" per message), and reconciles in-doubt
messages through the transport before it sends anything again. See keukentafel/domain/outbox.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.outbox import (
    MAX_ATTEMPTS,
    DispatchAction,
    OutboxStatus,
    OutgoingMessage,
    next_action,
)
from keukentafel.store.models import OutboxRow


class DeliveryRejected(Exception):
    """The transport refused the message: it certainly did not go out (bad request, no access).

    Any other exception from ``send`` leaves the message *in doubt* (the request may have been
    accepted before the connection broke): it is reconciled through ``already_sent`` before it
    is ever sent again.
    """


class MailTransport(Protocol):
    """Delivers one RFC 5322 message; can tell whether a message with our id already went out.

    ``send`` raises DeliveryRejected when the message certainly did not go out.
    """

    def send(self, message: bytes, message_id: str) -> None: ...

    def already_sent(self, message_id: str, since: datetime) -> bool: ...


@dataclass(slots=True)
class DispatchReport:
    sent: int = 0
    reconciled: int = 0  # in doubt after a crash, found already delivered: not sent again
    retried_later: int = 0
    in_flight: int = 0  # marked sending by a dispatcher moments ago: left alone
    failed: int = 0
    failed_units: list[str] = field(default_factory=list)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def enqueue(
    sessions: sessionmaker[Session],
    corporation: str,
    messages: Iterable[OutgoingMessage],
    *,
    now: datetime | None = None,
) -> int:
    """Add messages; one that is already in the outbox (same mailing, unit, channel) is skipped."""
    now = now or _utcnow()
    rows = [
        {
            "corporation_code": corporation,
            "mailing_key": m.mailing_key,
            "unit_code": m.unit_code,
            "channel": m.channel,
            "dedupe_key": m.dedupe_key,
            "message_id": m.message_id,
            "recipient": m.recipient,
            "subject": m.subject[:200],
            "body": m.body,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "last_error": "",
            "created_at": now,
        }
        for m in messages
    ]
    if not rows:
        return 0
    with sessions.begin() as session:
        before = session.scalar(select(func.count()).select_from(OutboxRow)) or 0
        dialect = session.get_bind().dialect.name
        stmt = (
            postgresql.insert(OutboxRow).on_conflict_do_nothing(index_elements=["dedupe_key"])
            if dialect == "postgresql"
            else sqlite.insert(OutboxRow).on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        for start in range(0, len(rows), 1000):
            session.execute(stmt, rows[start : start + 1000])
        after = session.scalar(select(func.count()).select_from(OutboxRow)) or 0
    return after - before


def dispatch(
    sessions: sessionmaker[Session],
    corporation: str,
    transport: MailTransport,
    *,
    mailing_key: str | None = None,
    clock: Callable[[], datetime] = _utcnow,
    pace_per_minute: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    in_doubt_after: timedelta = timedelta(minutes=2),
) -> DispatchReport:
    """Deliver every pending or in-doubt message of the corporation (optionally of one mailing).

    A message marked ``sending`` less than ``in_doubt_after`` ago may be in the hands of another
    dispatcher right now, or not yet visible in Sent Items: it is left for a later run. Rows are
    claimed with a conditional update, so two dispatchers never send the same message.
    """
    report = DispatchReport()
    query = select(OutboxRow.id).where(
        OutboxRow.corporation_code == corporation,
        OutboxRow.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENDING.value]),
    )
    if mailing_key:
        query = query.where(OutboxRow.mailing_key == mailing_key)
    with sessions() as session:
        ids = list(session.scalars(query.order_by(OutboxRow.id)))
    interval = 60.0 / pace_per_minute if pace_per_minute else 0.0
    last_send: float | None = None
    for row_id in ids:
        with sessions() as session:
            row = session.get(OutboxRow, row_id)
            assert row is not None
            status = OutboxStatus(row.status)
            action = next_action(status, row.attempts)
            body, message_id, since = row.body, row.message_id, row.sending_at or row.created_at
        if action is DispatchAction.SKIP:
            continue
        if action is DispatchAction.RECONCILE and clock() - since < in_doubt_after:
            report.in_flight += 1
            continue
        if action is DispatchAction.RECONCILE:
            try:
                delivered = transport.already_sent(message_id, since - timedelta(minutes=5))
            except Exception as exc:  # cannot tell: leave it in doubt for the next run, never guess
                _note_error(sessions, row_id, f"reconcile: {type(exc).__name__}: {exc}")
                report.retried_later += 1
                continue
            if delivered:
                _mark(sessions, row_id, OutboxStatus.SENT, clock())
                report.reconciled += 1
                continue
        if interval and last_send is not None:
            wait = interval - (time.monotonic() - last_send)
            if wait > 0:
                sleep(wait)
        with sessions.begin() as session:
            claimed = session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id, OutboxRow.status == status.value)
                .values(
                    status=OutboxStatus.SENDING.value,
                    sending_at=clock(),
                    attempts=OutboxRow.attempts + 1,
                )
            )
        if cast(CursorResult[Any], claimed).rowcount != 1:  # another dispatcher claimed it first
            report.in_flight += 1
            continue
        last_send = time.monotonic()
        try:
            transport.send(body, message_id)
        except DeliveryRejected as exc:
            failed = _record_failure(sessions, row_id, f"{type(exc).__name__}: {exc}")
            if failed:
                report.failed += 1
                with sessions() as session:
                    unit = session.scalar(select(OutboxRow.unit_code).where(OutboxRow.id == row_id))
                report.failed_units.append(unit or "")
            else:
                report.retried_later += 1
            continue
        except Exception as exc:  # may have gone out: stays 'sending', reconciled next run
            _note_error(sessions, row_id, f"in doubt: {type(exc).__name__}: {exc}")
            report.retried_later += 1
            continue
        _mark(sessions, row_id, OutboxStatus.SENT, clock())
        report.sent += 1
    return report


def _mark(
    sessions: sessionmaker[Session], row_id: int, status: OutboxStatus, now: datetime
) -> None:
    with sessions.begin() as session:
        session.execute(
            update(OutboxRow).where(OutboxRow.id == row_id).values(status=status.value, sent_at=now)
        )


def _note_error(sessions: sessionmaker[Session], row_id: int, error: str) -> None:
    with sessions.begin() as session:
        session.execute(
            update(OutboxRow).where(OutboxRow.id == row_id).values(last_error=error[:500])
        )


def _record_failure(sessions: sessionmaker[Session], row_id: int, error: str) -> bool:
    """Back to pending for a later run, or failed for good after MAX_ATTEMPTS. True when failed."""
    with sessions.begin() as session:
        row = session.get(OutboxRow, row_id)
        assert row is not None
        row.last_error = error[:500]
        failed = row.attempts >= MAX_ATTEMPTS
        row.status = (OutboxStatus.FAILED if failed else OutboxStatus.PENDING).value
    return failed


def outbox_counts(
    sessions: sessionmaker[Session], corporation: str, mailing_key: str | None = None
) -> dict[str, int]:
    query = (
        select(OutboxRow.status, func.count())
        .where(OutboxRow.corporation_code == corporation)
        .group_by(OutboxRow.status)
    )
    if mailing_key:
        query = query.where(OutboxRow.mailing_key == mailing_key)
    with sessions() as session:
        found = {status: count for status, count in session.execute(query)}
    return {s.value: found.get(s.value, 0) for s in OutboxStatus}


__all__ = [
    "MAX_ATTEMPTS",
    "DispatchReport",
    "MailTransport",
    "dispatch",
    "enqueue",
    "outbox_counts",
]
