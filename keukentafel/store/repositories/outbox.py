"""The outbox table: queueing rendered messages once, claiming them, and marking the outcome.

Every method works in the caller's transaction; the dispatcher (keukentafel.usecases.outbox)
commits each step on its own, so the ``sending`` mark is durable before the transport is called.
A message the service asked to wait (``waiting``, or ``sending`` after a 503) is due again only
once its ``next_attempt_at`` has passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from keukentafel.domain.outbox import MAX_ATTEMPTS, OutboxStatus, OutgoingMessage, QueuedMessage
from keukentafel.store.models import OutboxRow
from keukentafel.store.repositories._bulk import chunks

_DUE = (OutboxStatus.PENDING, OutboxStatus.WAITING, OutboxStatus.SENDING)


class OutboxRepository:
    """The outbox of one corporation."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def enqueue(self, messages: Iterable[OutgoingMessage], now: datetime) -> int:
        """Add messages; one already queued (same mailing, unit, channel) is skipped.

        Returns how many rows this call inserted (``RETURNING`` the new ids), so the count holds
        with other writers at work and does not depend on what the outbox held before."""
        rows = [
            {
                "corporation_code": self.corporation,
                "mailing_key": m.mailing_key,
                "unit_code": m.unit_code,
                "channel": m.channel,
                "dedupe_key": m.dedupe_key,
                "message_id": m.message_id,
                "recipient": m.recipient,
                "subject": m.subject[:200],
                "body": m.body,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "last_error": "",
                "created_at": now,
                "next_attempt_at": None,
                "deferrals": 0,
            }
            for m in messages
        ]
        if not rows:
            return 0
        dialect = self.session.get_bind().dialect.name
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(OutboxRow)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxRow.id)
        )
        inserted = 0
        for chunk in chunks(rows, 1000):
            inserted += len(self.session.execute(stmt, list(chunk)).all())
        return inserted

    def due(self, mailing_key: str | None = None, now: datetime | None = None) -> list[int]:
        """Ids of the pending, waiting and in-doubt (sending) messages, oldest first; with
        ``now``, only those whose next-attempt time (if any) has come."""
        query = select(OutboxRow.id).where(
            OutboxRow.corporation_code == self.corporation, OutboxRow.status.in_(_DUE)
        )
        if now is not None:
            query = query.where(
                or_(OutboxRow.next_attempt_at.is_(None), OutboxRow.next_attempt_at <= now)
            )
        if mailing_key:
            query = query.where(OutboxRow.mailing_key == mailing_key)
        return list(self.session.scalars(query.order_by(OutboxRow.id)))

    def get(self, message_id: int) -> QueuedMessage | None:
        row = self.session.get(OutboxRow, message_id)
        if row is None:
            return None
        return QueuedMessage(
            id=row.id,
            unit_code=row.unit_code,
            status=row.status,
            attempts=row.attempts,
            message_id=row.message_id,
            body=row.body,
            since=row.sending_at or row.created_at,
            deferrals=row.deferrals,
            next_attempt_at=row.next_attempt_at,
        )

    def claim(self, message_id: int, seen: OutboxStatus, now: datetime) -> bool:
        """Mark the message sending, if it is still in the status it was seen in; False when
        another dispatcher claimed it first (a conditional update: only one can win)."""
        claimed = self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == message_id, OutboxRow.status == seen)
            .values(
                status=OutboxStatus.SENDING,
                sending_at=now,
                attempts=OutboxRow.attempts + 1,
                next_attempt_at=None,
            )
            .returning(OutboxRow.id)
        )
        return len(claimed.all()) == 1

    def mark_sent(self, message_id: int, now: datetime) -> None:
        self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == message_id)
            .values(status=OutboxStatus.SENT, sent_at=now, next_attempt_at=None)
        )

    def defer(self, message_id: int, until: datetime, error: str, *, in_doubt: bool) -> None:
        """The service said "later" to a claimed message: it goes again (``waiting``), or, when
        it may have been accepted (``in_doubt``), stays ``sending`` to be looked up first; either
        way not before ``until``. The wait is not an attempt: the claim's count is taken back."""
        self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == message_id)
            .values(
                status=OutboxStatus.SENDING if in_doubt else OutboxStatus.WAITING,
                next_attempt_at=until,
                deferrals=OutboxRow.deferrals + 1,
                attempts=OutboxRow.attempts - 1,  # claim() counted one
                last_error=error[:500],
            )
        )

    def note_error(self, message_id: int, error: str) -> None:
        """Keep the last error with the message, and change nothing else (it stays in doubt)."""
        self.session.execute(
            update(OutboxRow).where(OutboxRow.id == message_id).values(last_error=error[:500])
        )

    def record_failure(self, message_id: int, error: str) -> bool:
        """A refused delivery: back to pending for a later run, or failed for good after
        MAX_ATTEMPTS. True when it failed for good."""
        row = self.session.get(OutboxRow, message_id)
        assert row is not None
        row.last_error = error[:500]
        failed = row.attempts >= MAX_ATTEMPTS
        row.status = OutboxStatus.FAILED if failed else OutboxStatus.PENDING
        return failed

    def unsent_since(self, before: datetime) -> tuple[int, datetime | None]:
        """Messages not sent (pending, waiting or in doubt) that were queued before ``before``,
        and the oldest one's queue time: for the stale-outbox alert (counts only)."""
        query = select(func.count(), func.min(OutboxRow.created_at)).where(
            OutboxRow.corporation_code == self.corporation,
            OutboxRow.status.in_(
                [OutboxStatus.PENDING, OutboxStatus.WAITING, OutboxStatus.SENDING]
            ),
            OutboxRow.created_at < before,
        )
        count, oldest = self.session.execute(query).one()
        return int(count), oldest

    def requeue_failed(self, mailing_key: str | None, note: str) -> list[tuple[str, str]]:
        """Messages failed for good back to pending (attempts and waits reset), ``note`` put
        before their last error; returns (unit code, mailing key) of each. Only ``failed`` rows
        change: a sent message is never requeued. ``mailing_key`` is the whole key or the
        mailing's id."""
        query = (
            update(OutboxRow)
            .where(
                OutboxRow.corporation_code == self.corporation,
                OutboxRow.status == OutboxStatus.FAILED,
            )
            .values(
                status=OutboxStatus.PENDING,
                attempts=0,
                deferrals=0,
                next_attempt_at=None,
                sending_at=None,
                last_error=func.substr(note + " after: " + OutboxRow.last_error, 1, 500),
            )
            .returning(OutboxRow.unit_code, OutboxRow.mailing_key)
        )
        if mailing_key:  # the whole key, or the mailing's id (its last part)
            query = query.where(
                or_(
                    OutboxRow.mailing_key == mailing_key,
                    OutboxRow.mailing_key.endswith(f"/{mailing_key}", autoescape=True),
                )
            )
        return [(unit, key) for unit, key in self.session.execute(query)]

    def counts(self, mailing_key: str | None = None) -> dict[str, int]:
        """Messages per status (every status present, zero included)."""
        query = (
            select(OutboxRow.status, func.count())
            .where(OutboxRow.corporation_code == self.corporation)
            .group_by(OutboxRow.status)
        )
        if mailing_key:
            query = query.where(OutboxRow.mailing_key == mailing_key)
        found: dict[OutboxStatus, int] = {
            status: count for status, count in self.session.execute(query)
        }
        return {str(status): found.get(status, 0) for status in OutboxStatus}


def message_origin(session: Session, corporation_code: str, message_id: str) -> tuple[str, str]:
    """The mailing key and unit code of the message we sent with ``message_id`` (our header);
    ("", "") when none of ours has it (reply matching, usecases/replies.py)."""
    row = session.execute(
        select(OutboxRow.mailing_key, OutboxRow.unit_code).where(
            OutboxRow.corporation_code == corporation_code, OutboxRow.message_id == message_id
        )
    ).first()
    return (str(row.mailing_key), str(row.unit_code)) if row is not None else ("", "")
