"""Throttling is not a refusal: the outbox waits for Microsoft 365 and sends each message once.

The fake tenant (real msal, Graph over https) throttles ``sendMail`` for an hour of the test's
fake clock, or stores a message and then answers 503 as a gateway that gave up would. The outbox
runs on the real store (SQLite, and PostgreSQL when TEST_DATABASE_URL is set); the dispatcher is
called as the schedule would call it, every ten minutes of the fake clock. Nothing sleeps.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from connectors.fakes.m365 import FakeMicrosoft365
from connectors.m365.adapters import GraphConnection, GraphMailTransport
from keukentafel.domain.outbox import MAX_ATTEMPTS, OutboxStatus, next_attempt
from keukentafel.store.models import OutboxRow
from keukentafel.usecases.outbox import DispatchReport, dispatch, enqueue, outbox_counts
from tests.builders import CORP, messages
from tests.m365_fixtures import MAILBOX, make_m365_config

SENDMAIL = f"/users/{MAILBOX}/sendMail"


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


def _transport(fake: FakeMicrosoft365, env: dict[str, str], **config: object) -> GraphMailTransport:
    settings = {"send_pace_per_minute": 600, "max_retries": 0, **config}
    graph = GraphConnection(make_m365_config(fake, **settings), env)
    return GraphMailTransport(graph, sleep=lambda _: None)


def _sent_items(fake: FakeMicrosoft365) -> Counter[str]:
    found: Counter[str] = Counter()
    for message in fake.state.messages(MAILBOX, "SentItems"):
        for header in message.get("internetMessageHeaders") or []:
            if header["name"].lower() == "x-keukentafel-message-id":
                found[header["value"]] += 1
    return found


def test_an_hour_of_throttling_fails_nothing_and_then_everything_goes_once(
    sessions: sessionmaker[Session], fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 9, 0))
    throttled_until = clock.now + timedelta(hours=1)
    fake_m365.faults.throttle(
        None,
        retry_after="300",
        method="POST",
        path_prefix=SENDMAIL,
        when=lambda: clock.now < throttled_until,
    )
    batch = messages(12)
    enqueue(sessions, CORP, batch, now=clock.now)
    transport = _transport(fake_m365, m365_env)
    reports: list[DispatchReport] = []
    during: dict[str, int] = {}
    while clock.now < throttled_until + timedelta(hours=2):
        reports.append(dispatch(sessions, CORP, transport, clock=clock))
        if clock.now < throttled_until:
            during = outbox_counts(sessions, CORP)
        clock.advance(10)

    # While Microsoft 365 said "later", messages waited; none failed, none went.
    assert during["waiting"] >= 1 and during["failed"] == 0 and during["sent"] == 0
    assert all(r.failed == 0 for r in reports)
    # Each throttled run stopped at the first "later": one 429 per run, not one per message.
    throttled_runs = [r for r in reports if r.paused]
    assert len(throttled_runs) == 6
    assert fake_m365.count("POST", "sendMail") == 6 + len(batch)
    # Afterwards everything went, each message exactly once.
    sent = _sent_items(fake_m365)
    assert set(sent) == {m.message_id for m in batch} and max(sent.values()) == 1
    assert outbox_counts(sessions, CORP) == {
        "pending": 0,
        "waiting": 0,
        "sending": 0,
        "sent": len(batch),
        "failed": 0,
    }
    with sessions() as session:
        attempts = {row.attempts for row in session.query(OutboxRow)}
    assert attempts == {1}  # the waits were not counted as attempts


def test_a_503_after_graph_took_the_message_sends_it_exactly_once(
    sessions: sessionmaker[Session], fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 9, 0))
    # Graph stores the first message in Sent Items, then a gateway answers 503.
    fake_m365.faults.unavailable(1, method="POST", path_prefix=SENDMAIL, execute=True)
    batch = messages(3)
    enqueue(sessions, CORP, batch, now=clock.now)
    transport = _transport(fake_m365, m365_env, max_retries=4)  # the client may retry: not this

    first = dispatch(sessions, CORP, transport, clock=clock)
    assert (first.sent, first.waiting, first.paused) == (0, 1, True)
    assert outbox_counts(sessions, CORP)["sending"] == 1  # in doubt, not pending
    assert fake_m365.count("POST", "sendMail") == 1  # the HTTP layer did not send it again

    clock.advance(10)
    second = dispatch(sessions, CORP, transport, clock=clock)
    assert (second.reconciled, second.sent, second.failed) == (1, 2, 0)
    sent = _sent_items(fake_m365)
    assert set(sent) == {m.message_id for m in batch} and max(sent.values()) == 1
    assert outbox_counts(sessions, CORP)["sent"] == 3


def test_an_in_doubt_message_is_not_looked_up_before_its_back_off(
    sessions: sessionmaker[Session], fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 9, 0))
    fake_m365.faults.unavailable(1, "900", method="POST", path_prefix=SENDMAIL, execute=True)
    enqueue(sessions, CORP, messages(1), now=clock.now)
    transport = _transport(fake_m365, m365_env)
    dispatch(sessions, CORP, transport, clock=clock)
    fake_m365.reset_counts()
    clock.advance(10)  # Retry-After said 15 minutes: not yet
    early = dispatch(sessions, CORP, transport, clock=clock)
    assert (early.reconciled, early.sent, early.in_flight) == (0, 0, 0)
    assert fake_m365.count("GET", "SentItems") == 0
    clock.advance(10)
    assert dispatch(sessions, CORP, transport, clock=clock).reconciled == 1


def test_the_back_off_doubles_from_a_minute_up_to_an_hour_and_honours_retry_after() -> None:
    now = datetime(2026, 12, 1, 9, 0)
    waits = [next_attempt(now, n) - now for n in range(9)]
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert waits[-1] == timedelta(hours=1)
    assert next_attempt(now, 0, retry_after=300) - now == timedelta(minutes=5)
    assert next_attempt(now, 3, retry_after=30) - now == timedelta(minutes=8)
    assert next_attempt(now, 0, retry_after=86400) - now == timedelta(hours=1)


def test_a_definite_refusal_still_fails_after_max_attempts(
    sessions: sessionmaker[Session], fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    clock = FakeClock(datetime(2026, 12, 1, 9, 0))
    fake_m365.faults.forbid(SENDMAIL, method="POST", code="ErrorAccessDenied")
    enqueue(sessions, CORP, messages(1), now=clock.now)
    transport = _transport(fake_m365, m365_env)
    for _ in range(MAX_ATTEMPTS):
        dispatch(sessions, CORP, transport, clock=clock)
        clock.advance(10)
    with sessions() as session:
        row = session.query(OutboxRow).one()
    assert row.status == OutboxStatus.FAILED and row.attempts == MAX_ATTEMPTS
    assert "ErrorAccessDenied" in row.last_error
