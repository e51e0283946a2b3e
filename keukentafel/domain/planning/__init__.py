"""Planning (pure): appointments with households and what the contractor and the ERP see.

- ``appointments``: home visits, session places and work days; VERA states AAN/GEP/AFG/ANN;
  the letter each version produces;
- ``slots``: free slots of a resident guide from their calendar's busy times;
- ``feed``: the contractor's records (only the privacy table's fields) and go / no-go;
- ``webhooks``: Standard Webhooks signing and verification, retries, what an answer means;
- ``inbound``: the contractor's changes, delays and completions (webhook or file);
- ``erp``: contact moments and appointments written back to the corporation (VERA).
"""

from __future__ import annotations

from keukentafel.domain.planning.appointments import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Notice,
    PlanningError,
    PlanningSession,
    SessionFull,
    Slot,
    appointment_code,
    event_of,
    notice_for,
    period_text,
    work_days_code,
)
from keukentafel.domain.planning.feed import FEED_FIELDS, FeedItem, go_by_unit
from keukentafel.domain.planning.slots import WorkingHours, free_slots

__all__ = [
    "FEED_FIELDS",
    "Appointment",
    "AppointmentKind",
    "AppointmentStatus",
    "FeedItem",
    "Notice",
    "PlanningError",
    "PlanningSession",
    "SessionFull",
    "Slot",
    "WorkingHours",
    "appointment_code",
    "event_of",
    "free_slots",
    "go_by_unit",
    "notice_for",
    "period_text",
    "work_days_code",
]
