"""Use case: what the alerts need to know from the store (counts only, never personal data).

An outbox is *stale* when messages have waited longer than an hour without being sent (the
shared mailbox refuses, the dispatcher does not run, Microsoft 365 throttles for long): the
dispatch flow reports it as a Prefect event that the ``outbox-stale`` automation
(flows/alerts.py) turns into a notification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.store.repositories import OutboxRepository

STALE_AFTER = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class StaleOutbox:
    corporation: str
    waiting: int  # messages queued more than STALE_AFTER ago and not sent
    oldest_minutes: int  # how long the oldest of them has waited

    @property
    def stale(self) -> bool:
        return self.waiting > 0


def stale_outbox(
    sessions: sessionmaker[Session],
    corporation: str,
    now: datetime,
    older_than: timedelta = STALE_AFTER,
) -> StaleOutbox:
    """Messages of ``corporation`` waiting longer than ``older_than`` at ``now`` (naive UTC)."""
    with sessions() as session:
        count, oldest = OutboxRepository(session, corporation).unsent_since(now - older_than)
    minutes = int((now - oldest).total_seconds() // 60) if oldest is not None else 0
    return StaleOutbox(corporation, count, minutes)
