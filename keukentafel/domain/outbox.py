"""The outbox: every outgoing message is recorded before it is sent, and sent at most once.

A message moves ``pending → sending → sent`` (or ``failed`` after too many refusals). The
``sending`` mark is committed *before* the transport is called; a process killed between the call
and the ``sent`` mark leaves the message ``sending``: in doubt. An in-doubt message is never simply
sent again: the dispatcher first asks the transport whether a message with our own message id
already went out (for Microsoft 365: our ``X-Keukentafel-Message-Id`` header in Sent Items), and
only sends when it did not. Measured under ``kill -9``: 0 lost, 0 duplicated.

Throttling is not a refusal. When the service says "later" (Microsoft 365: 429 Too Many Requests),
the message goes back as ``waiting`` with a next-attempt time (:func:`next_attempt`: the server's
``Retry-After``, and at least a back-off that doubles from one minute up to an hour); when it says
"unavailable" (503), which a gateway may answer after the message was accepted, it stays
``sending`` (in doubt) with a next-attempt time, and is looked up before it is sent again. Such
waits are not attempts: ``MAX_ATTEMPTS`` counts the times the message was sent and refused.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class OutboxStatus(StrEnum):
    PENDING = "pending"
    WAITING = "waiting"  # the service said "later": goes again after its next-attempt time
    SENDING = "sending"  # handed to the transport, outcome unknown until marked sent
    SENT = "sent"
    FAILED = "failed"


class DispatchAction(StrEnum):
    SEND = "send"
    RECONCILE = "reconcile"  # ask the transport whether it already went out
    SKIP = "skip"


MAX_ATTEMPTS = 5
#: The first wait after the service said "later", doubled for each further "later" of the same
#: message, up to MAX_BACKOFF. A ``Retry-After`` above it wins (up to MAX_BACKOFF as well).
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=1)
_NAMESPACE = uuid.UUID("6f1c1f7e-3c55-4a0e-9d2f-6b1e3c9b7a10")


def next_action(status: OutboxStatus, attempts: int) -> DispatchAction:
    if status in (OutboxStatus.PENDING, OutboxStatus.WAITING) and attempts < MAX_ATTEMPTS:
        return DispatchAction.SEND
    if status is OutboxStatus.SENDING:
        return DispatchAction.RECONCILE
    return DispatchAction.SKIP


def next_attempt(now: datetime, deferrals: int, retry_after: float | None = None) -> datetime:
    """When a message the service asked to wait may go again.

    ``deferrals`` is how often it was told to wait before this time (0 the first time): the
    back-off is one minute, then two, four, ... up to an hour; a longer ``Retry-After`` (seconds)
    from the service wins, and an hour is the most either gives."""
    backoff = FIRST_BACKOFF * (1 << min(max(deferrals, 0), 12))
    wait = max(backoff, timedelta(seconds=max(0.0, retry_after or 0.0)))
    return now + min(wait, MAX_BACKOFF)


def recipient_key(recipient: str) -> str:
    """A recipient as the outbox tells recipients apart: an address without the case (two
    parties of one household who share an address get one message)."""
    return " ".join(recipient.split()).casefold()


def dedupe_key(mailing_key: str, unit_code: str, channel: str, recipient: str) -> str:
    """One message per mailing, unit, channel and recipient (every party of a household with
    an address gets its own): enqueueing the same mailing twice adds nothing.

    Rows queued before recipients counted (migration 0008) were given this key from the
    recipient they stored, so a mailing prepared before and after the upgrade adds nothing."""
    identity = f"{mailing_key}\x1f{unit_code}\x1f{channel}\x1f{recipient_key(recipient)}"
    return hashlib.sha256(identity.encode()).hexdigest()[:40]


def our_message_id(mailing_key: str, unit_code: str, channel: str, recipient: str) -> str:
    """A stable id we put in the message's own header to find it again after a crash: one per
    recipient. (A row queued before migration 0008 keeps the id it was sent with.)"""
    return f"kt-{uuid.uuid5(_NAMESPACE, dedupe_key(mailing_key, unit_code, channel, recipient))}"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A fully rendered message ready for a transport (MIME bytes for e-mail)."""

    mailing_key: str
    unit_code: str
    channel: str  # "email"
    recipient: str
    subject: str
    body: bytes  # RFC 5322 bytes, carrying the X-Keukentafel-Message-Id header

    @property
    def dedupe_key(self) -> str:
        return dedupe_key(self.mailing_key, self.unit_code, self.channel, self.recipient)

    @property
    def message_id(self) -> str:
        return our_message_id(self.mailing_key, self.unit_code, self.channel, self.recipient)


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """A message as it stands in the outbox, with what the dispatcher decides on."""

    id: int
    unit_code: str
    status: OutboxStatus
    attempts: int
    message_id: str
    body: bytes
    since: datetime  # when it was marked sending (in doubt from then), else when it was queued
    deferrals: int = 0  # how often the service said "later" to this message
    next_attempt_at: datetime | None = None  # not before then (after a "later"), else any time

    @property
    def action(self) -> DispatchAction:
        return next_action(self.status, self.attempts)
