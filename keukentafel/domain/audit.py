"""The audit log's events (pure): who did what, when, to which household; never a resident's name.

An :class:`AuditEvent` says *what* happened (its :class:`AuditKind`), *who* did it (``actor``: a
member of staff or a process, e.g. ``cli:jan``, ``web:<Entra object id>``,
``prefect:<flow run id>``), *when* (``at``, stored as naive UTC), *which household* (the unit
code, "" when the event is about no single household), *what exactly* (``subject``: an
identifier such as ``note:12``, ``entry:<ledger id>`` or ``project:DIJK-RENO``) and ``detail``:
counts and codes. Everything in an event is an identifier or a number: a value with a space in it
(a name, a sentence) is refused, so free text, and with it a resident's name, cannot get in. The
error names the field, never the value.

The log is append-only (keukentafel/store/repositories/audit.py): it is written by the code that
does the audited thing, in the same transaction, and nothing updates or deletes it. It outlives
the purge: it holds no personal data of residents, and the purge is itself one of its events.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType


class AuditKind(StrEnum):
    RESTRICTED_NOTE_VIEWED = "restricted_note_viewed"  # someone read a special-category note
    CONSENT_CHANGED = "consent_changed"  # an answer, withdrawal, exclusion or correction recorded
    PERSONAL_DATA_EXPORTED = "personal_data_exported"  # an access export of one household
    PURGE_RUN = "purge_run"  # the purge ran (unit "": the run; a unit code: that unit's data)
    WEB_SIGN_IN = "web_sign_in"  # a member of staff signed in to the staff page
    CONTRACTOR_FEED_DELIVERED = "contractor_feed_delivered"  # a feed went to a contractor


class InvalidAuditEvent(ValueError):
    """An event that may not be recorded; the message names the field, never its value."""


#: A detail value: a count, a flag, an identifier, or identifiers (unit codes, project codes).
DetailValue = int | bool | str | tuple[str, ...]

_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:/@+#=-]*")
_LIMITS = {"corporation_code": 64, "actor": 200, "unit_code": 64, "subject": 200}


def _identifier(name: str, value: object, limit: int = 200) -> None:
    if not isinstance(value, str) or len(value) > limit or not _IDENTIFIER.fullmatch(value):
        raise InvalidAuditEvent(
            f"{name}: must be an identifier of at most {limit} characters without spaces "
            "(no free text, no names)"
        )


def actor_of(who: str) -> str:
    """An actor for the log from a free-text "who" (a name typed with ``--by``): the text itself
    when it is an identifier (``cli:jan``, ``web:<object id>``), else ``by:`` and a digest of it.
    The log holds no names; the act's own record (a ledger entry's ``recorded_by``) says who in
    words, and the digest is the same for the same words."""
    text = who.strip()
    if text and len(text) <= _LIMITS["actor"] and _IDENTIFIER.fullmatch(text):
        return text
    return "by:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _naive_utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _detail(detail: Mapping[str, object]) -> Mapping[str, DetailValue]:
    checked: dict[str, DetailValue] = {}
    for key, value in detail.items():
        _identifier("detail key", key, 64)
        if isinstance(value, bool | int):
            checked[key] = value
        elif isinstance(value, str):
            _identifier(f"detail.{key}", value)
            checked[key] = value
        elif isinstance(value, Sequence):
            for item in value:
                _identifier(f"detail.{key}[]", item)
            checked[key] = tuple(value)
        else:
            raise InvalidAuditEvent(
                f"detail.{key}: must be a number, an identifier or a list of identifiers"
            )
    return MappingProxyType(checked)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One audited act. ``at`` may be aware; it is kept as naive UTC like the rest of the store."""

    kind: AuditKind
    corporation_code: str
    actor: str
    at: datetime
    unit_code: str = ""
    subject: str = ""
    detail: Mapping[str, DetailValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            kind = AuditKind(self.kind)
        except ValueError:
            raise InvalidAuditEvent("kind: not an audit event kind") from None
        if not isinstance(self.at, datetime):
            raise InvalidAuditEvent("at: must be a datetime")
        for name, limit in _LIMITS.items():
            _identifier(name, getattr(self, name), limit)
        if not self.corporation_code or not self.actor:
            raise InvalidAuditEvent("corporation_code and actor: must not be empty")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "at", _naive_utc(self.at))
        object.__setattr__(self, "detail", _detail(self.detail))


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An event as the log keeps it, with its position in the log."""

    id: int
    event: AuditEvent
