"""Free slots for a resident guide (pure): working hours minus what their calendar has.

The guide's Outlook calendar says when they are busy (Graph free/busy, read by the use case
through its port); the appointments we booked are in that calendar too, and are subtracted
again here in case the calendar has not caught up yet. A slot is offered only on a working
day, inside working hours, on a grid (every half hour by default), and never in the past.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from keukentafel.domain.planning.appointments import PlanningError, Slot


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """When a guide takes appointments: weekdays (0 is Monday) and the hours of the day."""

    start: time = time(9, 0)
    end: time = time(17, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise PlanningError("working hours end before they start")


def free_slots(
    busy: Iterable[Slot],
    first_day: date,
    last_day: date,
    *,
    length: timedelta = timedelta(hours=1),
    hours: WorkingHours = WorkingHours(),
    step: timedelta = timedelta(minutes=30),
    not_before: datetime | None = None,
    limit: int = 50,
) -> list[Slot]:
    """Slots of ``length`` from ``first_day`` to ``last_day`` that overlap nothing ``busy``."""
    if length <= timedelta(0) or step <= timedelta(0):
        raise PlanningError("a slot length and step must be positive")
    taken = sorted(busy, key=lambda slot: slot.start)
    found: list[Slot] = []
    day = first_day
    while day <= last_day and len(found) < limit:
        if day.weekday() in hours.weekdays:
            found += _free_on(day, taken, length, hours, step, not_before, limit - len(found))
        day += timedelta(days=1)
    return found


def _free_on(
    day: date,
    taken: list[Slot],
    length: timedelta,
    hours: WorkingHours,
    step: timedelta,
    not_before: datetime | None,
    limit: int,
) -> list[Slot]:
    start, close = datetime.combine(day, hours.start), datetime.combine(day, hours.end)
    found: list[Slot] = []
    while start + length <= close and len(found) < limit:
        candidate = Slot(start, start + length)
        late_enough = not_before is None or start >= not_before
        if late_enough and not any(candidate.overlaps(other) for other in taken):
            found.append(candidate)
        start += step
    return found
