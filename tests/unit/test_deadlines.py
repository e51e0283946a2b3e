"""Answer deadlines: computed before the event, never on a Sunday or a Dutch public holiday."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from keukentafel.domain.deadlines import (
    DeadlineProblem,
    answer_day_on_or_before,
    easter_sunday,
    is_answer_day,
    kings_day,
    public_holidays,
    response_deadline,
)
from keukentafel.domain.mailing import MailingNotAllowed, plan_mailing
from keukentafel.domain.messages import Event, MessageKind
from keukentafel.domain.model import Household
from tests import builders
from tests.builders import RENOVATION


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
        (2285, date(2285, 3, 22)),
    ],
)
def test_easter_is_the_gregorian_easter(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_kings_day_moves_to_saturday_when_the_27th_is_a_sunday() -> None:
    assert kings_day(2025) == date(2025, 4, 26)  # 27 April 2025 is a Sunday
    assert kings_day(2014) == date(2014, 4, 26)
    assert kings_day(2026) == date(2026, 4, 27)
    assert kings_day(2006) == date(2006, 4, 29)  # Koninginnedag, 30 April 2006 was a Sunday
    assert kings_day(2013) == date(2013, 4, 30)


def test_the_holidays_of_2027() -> None:
    assert dict(public_holidays(2027)) == {
        date(2027, 1, 1): "Nieuwjaarsdag",
        date(2027, 3, 26): "Goede Vrijdag",
        date(2027, 3, 28): "Eerste Paasdag",
        date(2027, 3, 29): "Tweede Paasdag",
        date(2027, 4, 27): "Koningsdag",
        date(2027, 5, 5): "Bevrijdingsdag",  # every year: our policy (Algemene termijnenwet)
        date(2027, 5, 6): "Hemelvaartsdag",
        date(2027, 5, 16): "Eerste Pinksterdag",
        date(2027, 5, 17): "Tweede Pinksterdag",
        date(2027, 12, 25): "Eerste Kerstdag",
        date(2027, 12, 26): "Tweede Kerstdag",
    }
    assert public_holidays(2016)[date(2016, 5, 5)] == "Hemelvaartsdag"  # both on one day


def test_answer_days_exclude_sundays_and_holidays_only() -> None:
    assert not is_answer_day(date(2026, 12, 20))  # a Sunday
    assert not is_answer_day(date(2026, 12, 26))  # Tweede Kerstdag, a Saturday
    assert is_answer_day(date(2026, 12, 19))  # a Saturday
    assert answer_day_on_or_before(date(2026, 12, 27)) == date(2026, 12, 24)  # Sun, 26, 25


def test_a_deadline_is_before_the_event_and_never_on_a_sunday() -> None:
    # the case: a workshop on Friday 11 December, letters of 6 December: + 14 days
    # would be Sunday 20 December, after the event
    assert response_deadline(date(2026, 11, 30), event_day=date(2026, 12, 11)) == date(2026, 12, 9)
    assert response_deadline(date(2026, 12, 6)) == date(2026, 12, 19)  # 20th is a Sunday
    assert response_deadline(date(2026, 12, 12)) == date(2026, 12, 24)  # 26, 25 Christmas
    assert response_deadline(date(2027, 4, 13)) == date(2027, 4, 26)  # 27th is Koningsdag


def test_every_computed_deadline_of_three_years_is_an_answer_day_before_the_event() -> None:
    day = date(2026, 1, 1)
    while day < date(2029, 1, 1):
        for event_in in (None, 9, 12, 30):
            event_day = day + timedelta(days=event_in) if event_in else None
            try:
                deadline = response_deadline(day, event_day=event_day)
            except DeadlineProblem:  # only when no answer day fits: Christmas before the event
                assert event_day is not None
                window = range(5, (event_day - day).days - 1)
                assert not any(is_answer_day(day + timedelta(days=n)) for n in window)
                continue
            assert is_answer_day(deadline)
            assert day + timedelta(days=5) <= deadline <= day + timedelta(days=14)
            assert event_day is None or deadline <= event_day - timedelta(days=2)
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("given", "event_day", "reason"),
    [
        (date(2026, 12, 20), None, "is a Sunday.*for example 2026-12-19"),
        (date(2026, 12, 25), None, "is Eerste Kerstdag"),
        (date(2026, 11, 30), None, "not after the letter date"),
        (date(2026, 12, 11), date(2026, 12, 11), "not before the event"),
    ],
)
def test_a_given_deadline_is_checked(given: date, event_day: date | None, reason: str) -> None:
    with pytest.raises(DeadlineProblem, match=reason):
        response_deadline(date(2026, 12, 1), event_day=event_day, given=given)
    assert response_deadline(date(2026, 12, 1), given=date(2026, 12, 18)) == date(2026, 12, 18)


def test_an_event_too_close_for_a_deadline_is_refused() -> None:
    with pytest.raises(DeadlineProblem, match=r"too close.*response_deadline"):
        response_deadline(date(2026, 12, 1), event_day=date(2026, 12, 5))


def _households() -> list[Household]:
    return [
        Household(builders.unit(n), ((builders.resident(n), builders.lease(n).parties[0].role),))
        for n in (1, 2)
    ]


def _workshop(day: date) -> Event:
    start = datetime.combine(day, datetime.min.time()).replace(hour=14)
    return Event("w-1", "Modelwoning", start, start + timedelta(hours=1), "Modelwoning", "")


def test_the_plan_carries_the_deadline_and_refuses_a_bad_one() -> None:
    on = date(2026, 11, 30)
    plan = plan_mailing(
        MessageKind.WORKSHOP,
        RENOVATION,
        _households(),
        on,
        {"topic": "x"},
        event=_workshop(date(2026, 12, 11)),
    )
    assert plan.details["response_deadline"] == date(2026, 12, 9)
    news = plan_mailing(MessageKind.NEWSLETTER, RENOVATION, _households(), on, {"items": []})
    assert "response_deadline" not in news.details  # a kind that asks nothing has none
    with pytest.raises(MailingNotAllowed, match="workshop: response_deadline 2026-12-20"):
        plan_mailing(
            MessageKind.WORKSHOP,
            RENOVATION,
            _households(),
            on,
            {"topic": "x", "response_deadline": "2026-12-20"},
        )
