"""The rate limits of code entry are sliding windows: a fixed window's edge neither resets a
client's count nor lets it try twice the limit, and the count fades as the span passes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.resident_access import Refusal
from keukentafel.usecases.resident_access import (
    LinkSettings,
    Outcome,
    ProjectAccess,
    Refused,
    enter_code,
)
from tests.builders import CORP, RENOVATION

ACCESS = ProjectAccess(
    CORP,
    RENOVATION,
    LinkSettings("https://bewoners.example.org", b"k" * 32, 60),
    attempts_per_address=5,
    failures_per_project=8,
)
EDGE = datetime(2026, 12, 7, 15, 0)  # a quarter hour and an hour begin here


def attempt(sessions: sessionmaker[Session], at: datetime, client: str = "a") -> Refusal:
    outcome: Outcome = enter_code(sessions, ACCESS, "AAAAA AAAAA", client_key=client, now=at)
    assert isinstance(outcome, Refused)
    return outcome.reason


def test_a_windows_edge_does_not_reset_the_count(sessions: sessionmaker[Session]) -> None:
    before = [attempt(sessions, EDGE - timedelta(seconds=10 - i)) for i in range(5)]
    after = attempt(sessions, EDGE + timedelta(seconds=2))
    assert before == [Refusal.UNKNOWN] * 5
    assert after is Refusal.RATE_LIMITED


def test_the_count_fades_as_the_span_passes(sessions: sessionmaker[Session]) -> None:
    for i in range(5):
        attempt(sessions, EDGE - timedelta(minutes=1, seconds=i))
    # 12 minutes into the next quarter: 5 x 3/15 = 1 carried, so 4 more go through
    later = [attempt(sessions, EDGE + timedelta(minutes=12, seconds=i)) for i in range(5)]
    assert later == [Refusal.UNKNOWN] * 4 + [Refusal.RATE_LIMITED]


def test_failures_per_project_slide_over_the_hour(sessions: sessionmaker[Session]) -> None:
    for i in range(8):  # eight clients, one failure each, just before the hour
        attempt(sessions, EDGE - timedelta(seconds=20 - i), client=f"c{i}")
    assert attempt(sessions, EDGE + timedelta(seconds=5), client="new") is Refusal.RATE_LIMITED
    # 45 minutes on, a quarter of the previous hour still counts: 2 of 8
    late = EDGE + timedelta(minutes=45)
    assert attempt(sessions, late, client="other") is Refusal.UNKNOWN
