"""When a personal link or code lets someone in: the rules over an issued link's record.

A link (keukentafel/domain/links.py) is signed, but a signature alone says nothing about
revocation or who lives in the home now. This module owns the decision over the server-side
record of an issued link (:class:`Grant`): it works for one household only, only while the unit's
running agreements are the ones it was issued for, until it expires or is revoked. Every refusal
has a reason; the web application shows the same plain page for each (it tells an outsider
nothing) and records nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class Refusal(StrEnum):
    """Why a link, a code or a session does not let someone in (for logs and tests, no data)."""

    MALFORMED = "malformed"  # not a link or code of ours
    TAMPERED = "tampered"  # the signature does not match
    UNKNOWN = "unknown"  # signed, but never issued (a preview, another installation)
    EXPIRED = "expired"
    REVOKED = "revoked"
    MOVED = "moved"  # the agreements it was issued for no longer run: a new tenant lives there
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True, slots=True)
class Grant:
    """The record of one issued link and its code (the store keeps digests, never the secret)."""

    public_id: str
    corporation_code: str
    project_code: str
    unit_code: str
    tenancy: str  # the running agreement ids when it was issued (see tenancy_key)
    purpose: str
    issued_on: date
    expires_at: datetime  # naive UTC, like every time in the store
    revoked_at: datetime | None = None

    @property
    def household_key(self) -> str:
        return f"{self.project_code}:{self.unit_code}"


def tenancy_key(lease_ids: Iterable[str]) -> str:
    """The tenancy of a unit on a day: its running agreements' ids, sorted. A new tenant means a
    new agreement, so another key; an empty key means nobody lives there under an agreement."""
    return ",".join(sorted(set(lease_ids)))


def check_grant(grant: Grant, *, now: datetime, current_tenancy: str) -> Refusal | None:
    """None when the grant lets its household in now; else why not.

    ``now`` is naive UTC; ``current_tenancy`` is :func:`tenancy_key` of the unit's running
    agreements today."""
    if grant.revoked_at is not None and grant.revoked_at <= now:
        return Refusal.REVOKED
    if now >= grant.expires_at:
        return Refusal.EXPIRED
    if not grant.tenancy or grant.tenancy != current_tenancy:
        return Refusal.MOVED
    return None
