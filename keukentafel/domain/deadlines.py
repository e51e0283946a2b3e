"""Answer deadlines and the Dutch public holidays they must avoid (pure).

A letter that asks for an answer names the last day to give it. This module owns that day:

- given in the mailing's content (``details.response_deadline``), it is checked: after the letter
  date, before the event the letter invites to, and an *answer day*;
- otherwise it is computed: ``RESPONSE_DAYS`` after the letter date, but at the latest
  ``DAYS_BEFORE_EVENT`` days before the event (so the team knows in time who comes), moved back
  to the nearest answer day; fewer than ``MIN_RESPONSE_DAYS`` left is refused, because a letter
  takes a day or two and a resident needs time to answer.

An *answer day* is any day that is neither a Sunday nor a Dutch public holiday: residents then
can reach the team, and the post and the office are open. The holidays are computed, never
listed by hand: the days the Algemene termijnenwet (art. 3) recognises, which are

- Nieuwjaarsdag (1 January), Eerste and Tweede Paasdag (Easter Sunday and Monday),
  Hemelvaartsdag (Easter + 39 days), Eerste and Tweede Pinksterdag (Easter + 49 and + 50 days),
  Eerste and Tweede Kerstdag (25 and 26 December);
- Koningsdag: 27 April, on 26 April when the 27th is a Sunday (since 2014); before 2014
  Koninginnedag, 30 April, on 29 April when the 30th is a Sunday (the rule since 1980);
- Bevrijdingsdag, 5 May: **every year**. Our policy follows the Algemene termijnenwet, which
  counts it every year, and not the collective agreements that give it off only every fifth
  year: a deadline on 5 May would fall on a day many offices are closed.

and, as our policy too, Goede Vrijdag (Easter − 2 days): not in the Algemene termijnenwet, but
many corporations' offices close, so no deadline falls on it. Easter is the Gregorian Easter
(the anonymous Gregorian algorithm, Meeus/Jones/Butcher).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

RESPONSE_DAYS = 14  # the answer period of a letter without an event (practice: about 2 weeks)
DAYS_BEFORE_EVENT = 2  # answers are in at least this many days before the event
MIN_RESPONSE_DAYS = 5  # fewer days between the letter and its deadline is refused


class DeadlineProblem(ValueError):
    """A deadline that cannot be used; the message says why in operator language."""


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def kings_day(year: int) -> date:
    """Koningsdag (Koninginnedag before 2014), with the Sunday rule: a day earlier."""
    day = date(year, 4, 27) if year >= 2014 else date(year, 4, 30)
    return day - timedelta(days=1) if day.weekday() == 6 else day


@lru_cache(maxsize=64)
def _holidays(year: int) -> Mapping[date, str]:
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1): "Nieuwjaarsdag",
        easter - timedelta(days=2): "Goede Vrijdag",
        easter: "Eerste Paasdag",
        easter + timedelta(days=1): "Tweede Paasdag",
        kings_day(year): "Koningsdag" if year >= 2014 else "Koninginnedag",
        date(year, 5, 5): "Bevrijdingsdag",
        easter + timedelta(days=39): "Hemelvaartsdag",
        easter + timedelta(days=49): "Eerste Pinksterdag",
        easter + timedelta(days=50): "Tweede Pinksterdag",
        date(year, 12, 25): "Eerste Kerstdag",
        date(year, 12, 26): "Tweede Kerstdag",
    }
    return MappingProxyType(dict(sorted(days.items())))


def public_holidays(year: int) -> Mapping[date, str]:
    """The Dutch public holidays of a year (see the module docstring), by date, with their
    Dutch names. When two fall on one day (Hemelvaartsdag on 5 May, as in 2016) the day
    carries the name of the moveable one."""
    if year < 1980:
        raise DeadlineProblem(f"no holiday rules before 1980 (asked for {year})")
    return _holidays(year)


def holiday_name(day: date) -> str:
    """The holiday's Dutch name, or "" when the day is none."""
    return public_holidays(day.year).get(day, "")


def is_answer_day(day: date) -> bool:
    """Neither a Sunday nor a Dutch public holiday."""
    return day.weekday() != 6 and not holiday_name(day)


def why_not_answer_day(day: date) -> str:
    """'a Sunday', 'Tweede Kerstdag', or "" for an answer day."""
    if day.weekday() == 6:
        return "a Sunday"
    return holiday_name(day)


def answer_day_on_or_before(day: date) -> date:
    """The day itself when it is an answer day, else the nearest earlier one."""
    while not is_answer_day(day):
        day -= timedelta(days=1)
    return day


def response_deadline(
    on: date, *, event_day: date | None = None, given: date | None = None
) -> date:
    """The last day to answer a letter dated ``on`` (see the module docstring).

    ``event_day`` is the day of the event the letter invites to, if any; ``given`` a deadline
    from the mailing's content. Raises DeadlineProblem with the reason when a given deadline
    cannot be used, or when no fair deadline fits before the event."""
    if given is not None:
        return _checked(on, given, event_day)
    latest = on + timedelta(days=RESPONSE_DAYS)
    if event_day is not None:
        latest = min(latest, event_day - timedelta(days=DAYS_BEFORE_EVENT))
    deadline = answer_day_on_or_before(latest)
    if deadline < on + timedelta(days=MIN_RESPONSE_DAYS):
        raise DeadlineProblem(
            f"the event on {event_day} is too close to the letter date {on} to ask for an answer "
            f"{DAYS_BEFORE_EVENT} days before it with at least {MIN_RESPONSE_DAYS} days to "
            "answer: give details.response_deadline in the content file, or send earlier"
        )
    return deadline


def _checked(on: date, given: date, event_day: date | None) -> date:
    if given <= on:
        raise DeadlineProblem(f"response_deadline {given} is not after the letter date {on}")
    if event_day is not None and given >= event_day:
        raise DeadlineProblem(f"response_deadline {given} is not before the event on {event_day}")
    reason = why_not_answer_day(given)
    if reason:
        raise DeadlineProblem(
            f"response_deadline {given} is {reason}: residents cannot reach anyone then; "
            f"choose another day (for example {answer_day_on_or_before(given)})"
        )
    return given


def as_date(value: object, name: str = "response_deadline") -> date | None:
    """A date from content (a YAML date, or an ISO text); None for nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise DeadlineProblem(f"{name} must be a date like 2026-12-18")
