"""Use case: put rendered messages in the outbox, and deliver each one exactly once.

The dispatcher commits the ``sending`` mark before calling the transport and the ``sent`` mark
right after, one message at a time ("send, then mark sent" per message), and reconciles in-doubt
messages through the transport before it sends anything again. See keukentafel/domain/outbox.py.
Pacing is the transport's business (the shared mailbox paces itself), so it lives in one layer.

The transport's answers (the :class:`MailTransport` contract): ``send`` returns when the message
went out; raises :class:`DeliveryRejected` when it certainly did not and never will as it is (a
refusal: failed after ``MAX_ATTEMPTS``); :class:`DeliveryDeferred` when the service said "later"
(throttled: certainly not out; it waits and goes again, and the run stops there, since the next
message would be told the same); :class:`DeliveryInDoubt` when the service said "unavailable" but
may have taken the message (it waits, then is looked up before it is sent again; the run stops
too). Anything else leaves the message in doubt and the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.outbox import (
    MAX_ATTEMPTS,
    DispatchAction,
    OutgoingMessage,
    QueuedMessage,
    next_attempt,
)
from keukentafel.store.repositories import OutboxRepository


class DeliveryRejected(Exception):
    """The transport refused the message: it certainly did not go out (bad request, no access).

    Any other exception from ``send`` leaves the message *in doubt* (the request may have been
    accepted before the connection broke): it is reconciled through ``already_sent`` before it
    is ever sent again.
    """


class DeliveryDeferred(Exception):
    """The service asked us to wait (Microsoft 365: 429): the message certainly did not go out.

    ``retry_after`` is how many seconds the service asked for, when it said. The message waits
    (not counted as an attempt) and goes again after its back-off.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeliveryInDoubt(Exception):
    """The service said it is unavailable (503), which a gateway may answer after the message
    was taken: it may have gone out. It waits (not counted as an attempt) and is looked up
    through ``already_sent`` before it is ever sent again."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MailTransport(Protocol):
    """Delivers one RFC 5322 message; can tell whether a message with our id already went out.

    ``send`` raises DeliveryRejected when the message certainly did not go out and will not as it
    is, DeliveryDeferred when the service said "later", DeliveryInDoubt when it said
    "unavailable" (see the module's docstring).
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
    waiting: int = 0  # the service said "later" (429) or "unavailable" (503) to these
    paused: bool = False  # the run stopped there: the rest waits for a later run
    refused: int = 0  # refusals in this run (those failed for good included): an outage to fix
    refusal_reasons: dict[str, int] = field(default_factory=dict)  # the service's answer: count


@dataclass(frozen=True, slots=True)
class RetryReport:
    """What ``mailing retry`` put back in the outbox: counts and unit codes, never addresses."""

    requeued: int
    unit_codes: list[str]
    mailing_keys: list[str]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def enqueue(
    sessions: sessionmaker[Session],
    corporation: str,
    messages: Iterable[OutgoingMessage],
    *,
    now: datetime | None = None,
) -> int:
    """Add messages; one that is already in the outbox (same mailing, unit, channel) is skipped.
    Returns how many this call added."""
    with sessions.begin() as session:
        return OutboxRepository(session, corporation).enqueue(messages, now or _utcnow())


def dispatch(
    sessions: sessionmaker[Session],
    corporation: str,
    transport: MailTransport,
    *,
    mailing_key: str | None = None,
    clock: Callable[[], datetime] = _utcnow,
    in_doubt_after: timedelta = timedelta(minutes=2),
) -> DispatchReport:
    """Deliver every pending or in-doubt message of the corporation (optionally of one mailing).

    A message marked ``sending`` less than ``in_doubt_after`` ago may be in the hands of another
    dispatcher right now, or not yet visible in Sent Items: it is left for a later run. Messages
    are claimed with a conditional update, so two dispatchers never send the same message. A
    message whose next-attempt time has not come is not due; when the service says "later" or
    "unavailable" the run stops (``paused``) and the rest stays for a later run.
    """
    report = DispatchReport()
    with sessions() as session:
        due = OutboxRepository(session, corporation).due(mailing_key, clock())
    for message_id in due:
        with sessions() as session:
            message = OutboxRepository(session, corporation).get(message_id)
        if message is None or message.action is DispatchAction.SKIP:
            continue
        if message.action is DispatchAction.RECONCILE:
            if clock() - message.since < in_doubt_after:
                report.in_flight += 1
                continue
            if _reconciled(sessions, corporation, transport, message, report, clock):
                continue
        with sessions.begin() as session:
            claimed = OutboxRepository(session, corporation).claim(
                message.id, message.status, clock()
            )
        if not claimed:  # another dispatcher claimed it first
            report.in_flight += 1
            continue
        _deliver(sessions, corporation, transport, message, report, clock)
        if report.paused:
            break
    return report


def _reconciled(
    sessions: sessionmaker[Session],
    corporation: str,
    transport: MailTransport,
    message: QueuedMessage,
    report: DispatchReport,
    clock: Callable[[], datetime],
) -> bool:
    """Ask the transport about an in-doubt message. True when nothing more is to be done now:
    it went out (marked sent) or the transport cannot tell (left in doubt, never guessed)."""
    try:
        delivered = transport.already_sent(message.message_id, message.since - timedelta(minutes=5))
    except Exception as exc:  # cannot tell: leave it in doubt for the next run
        with sessions.begin() as session:
            OutboxRepository(session, corporation).note_error(
                message.id, f"reconcile: {type(exc).__name__}: {exc}"
            )
        report.retried_later += 1
        return True
    if delivered:
        with sessions.begin() as session:
            OutboxRepository(session, corporation).mark_sent(message.id, clock())
        report.reconciled += 1
    return delivered


def _deliver(
    sessions: sessionmaker[Session],
    corporation: str,
    transport: MailTransport,
    message: QueuedMessage,
    report: DispatchReport,
    clock: Callable[[], datetime],
) -> None:
    """Send a claimed message and record the outcome: sent, refused (retried or failed for
    good), told to wait (the run pauses), or in doubt (the transport broke off: reconciled on a
    later run)."""
    try:
        transport.send(message.body, message.message_id)
    except (DeliveryDeferred, DeliveryInDoubt) as exc:
        until = next_attempt(clock(), message.deferrals, exc.retry_after)
        with sessions.begin() as session:
            OutboxRepository(session, corporation).defer(
                message.id,
                until,
                f"{type(exc).__name__}: {exc}",
                in_doubt=isinstance(exc, DeliveryInDoubt),
            )
        report.waiting += 1
        report.paused = True
        return
    except DeliveryRejected as exc:
        reason = f"{type(exc).__name__}: {exc}"
        with sessions.begin() as session:
            failed = OutboxRepository(session, corporation).record_failure(message.id, reason)
        report.refused += 1
        report.refusal_reasons[reason[:300]] = report.refusal_reasons.get(reason[:300], 0) + 1
        if failed:
            report.failed += 1
            report.failed_units.append(message.unit_code)
        else:
            report.retried_later += 1
        return
    except Exception as exc:  # may have gone out: stays 'sending', reconciled next run
        with sessions.begin() as session:
            OutboxRepository(session, corporation).note_error(
                message.id, f"in doubt: {type(exc).__name__}: {exc}"
            )
        report.retried_later += 1
        return
    with sessions.begin() as session:
        OutboxRepository(session, corporation).mark_sent(message.id, clock())
    report.sent += 1


def retry_failed(
    sessions: sessionmaker[Session],
    corporation: str,
    *,
    mailing_key: str | None = None,
    actor: str,
    clock: Callable[[], datetime] = _utcnow,
) -> RetryReport:
    """Put the messages that failed for good (of one mailing, or all) back in the outbox, after
    the cause was fixed: pending again with their attempts and waits reset, and a note of the
    retry (when, by whom, the last error) kept with each. Sent messages are never touched, and a
    message keeps its message id, so one that went out after all is still found in Sent Items."""
    with sessions.begin() as session:
        requeued = OutboxRepository(session, corporation).requeue_failed(
            mailing_key, f"requeued {clock():%Y-%m-%d %H:%M} UTC by {actor}"
        )
    return RetryReport(
        requeued=len(requeued),
        unit_codes=sorted({unit for unit, _key in requeued}),
        mailing_keys=sorted({key for _unit, key in requeued}),
    )


def outbox_counts(
    sessions: sessionmaker[Session], corporation: str, mailing_key: str | None = None
) -> dict[str, int]:
    """Messages per status, for the operator."""
    with sessions() as session:
        return OutboxRepository(session, corporation).counts(mailing_key)


__all__ = [
    "MAX_ATTEMPTS",
    "DeliveryDeferred",
    "DeliveryInDoubt",
    "DeliveryRejected",
    "DispatchReport",
    "MailTransport",
    "RetryReport",
    "dispatch",
    "enqueue",
    "outbox_counts",
    "retry_failed",
]
