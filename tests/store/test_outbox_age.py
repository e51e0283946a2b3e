"""The stale-outbox count the alert needs: messages not sent, queued over an hour ago."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.outbox import OutgoingMessage
from keukentafel.store.repositories import OutboxRepository
from keukentafel.usecases.alerts import stale_outbox

NOW = datetime(2026, 12, 7, 12, 0)


def _message(unit: str, corporation: str = "WSD") -> OutgoingMessage:
    return OutgoingMessage(
        f"{corporation}/P/info_evening/m1", unit, "email", f"{unit}@x.nl", "S", b"b"
    )


def test_only_unsent_messages_older_than_an_hour_count(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        outbox = OutboxRepository(session, "WSD")
        outbox.enqueue([_message("VHE1"), _message("VHE2")], NOW - timedelta(minutes=150))
        outbox.enqueue([_message("VHE3")], NOW - timedelta(minutes=90))
        outbox.enqueue([_message("VHE4")], NOW - timedelta(minutes=20))  # not an hour yet
        OutboxRepository(session, "OTH").enqueue(
            [_message("VHE9", "OTH")], NOW - timedelta(hours=5)
        )
    with sessions.begin() as session:
        outbox = OutboxRepository(session, "WSD")
        sent = next(m for m in outbox.due() if outbox.get(m).unit_code == "VHE2")  # type: ignore[union-attr]
        outbox.mark_sent(sent, NOW)
    found = stale_outbox(sessions, "WSD", NOW)
    assert (found.waiting, found.oldest_minutes, found.stale) == (2, 150, True)
    assert not stale_outbox(sessions, "WSD", NOW - timedelta(hours=3)).stale
