"""Consent under art. 7:220 BW (pure): the mailing rules and the consent track.

``rules`` holds the rules that decide whether, and to whom, a consent letter may go; the names
below are re-exported so ``from keukentafel.domain.consent import check_mailing`` keeps working.
"""

from __future__ import annotations

from keukentafel.domain.consent.rules import (
    COMPUTED_DETAILS,
    CONSENT_KINDS,
    MIN_HOMES_FOR_PRESUMPTION,
    OBJECTION_PERIOD,
    TARGETED_KINDS,
    MailingNotAllowed,
    check_mailing,
    objection_deadline,
)

__all__ = [
    "COMPUTED_DETAILS",
    "CONSENT_KINDS",
    "MIN_HOMES_FOR_PRESUMPTION",
    "OBJECTION_PERIOD",
    "TARGETED_KINDS",
    "MailingNotAllowed",
    "check_mailing",
    "objection_deadline",
]
