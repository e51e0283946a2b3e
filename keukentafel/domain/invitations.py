"""Calendar invitations keep one UID per household and event; every change raises SEQUENCE.

RFC 5545: an attendee's calendar applies an update (METHOD REQUEST, or CANCEL) only when its
SEQUENCE is higher than the version it has. So the sequence is remembered per UID with a
fingerprint of what the invitation said: the same event sent again keeps its sequence, a moved
or relocated event gets the next one.
"""

from __future__ import annotations

import uuid

_UID_NAMESPACE = uuid.UUID("6f1c1a52-34a5-4b7e-9a63-1f0c6f0d9e11")


def event_uid(project_code: str, event_id: str, unit_code: str) -> str:
    """The same UID for the same project, event and unit, on every run and every machine."""
    return f"{uuid.uuid5(_UID_NAMESPACE, f'{project_code}/{event_id}/{unit_code}')}@keukentafel"


def next_sequence(stored: tuple[int, str] | None, fingerprint: str) -> int:
    """The SEQUENCE for an invitation whose content has ``fingerprint`` now."""
    if stored is None:
        return 0
    sequence, previous = stored
    return sequence if previous == fingerprint else sequence + 1
