"""Calendar invitations keep one UID per household and event; every change raises SEQUENCE.

RFC 5545: an attendee's calendar applies an update (METHOD REQUEST, or CANCEL) only when its
SEQUENCE is higher than the version it has. So the sequence is remembered per UID with a
fingerprint of what the invitation said: the same event sent again keeps its sequence, a moved
or relocated event gets the next one.
"""

from __future__ import annotations


def next_sequence(stored: tuple[int, str] | None, fingerprint: str) -> int:
    """The SEQUENCE for an invitation whose content has ``fingerprint`` now."""
    if stored is None:
        return 0
    sequence, previous = stored
    return sequence if previous == fingerprint else sequence + 1
