"""Standard Webhooks (pure): signing, verification, the retry schedule and what an answer means.

The scheme (shared/specs/standard-webhooks.md): the headers ``webhook-id`` (stable for one
message across every retry: the receiver's idempotency key), ``webhook-timestamp`` (seconds,
the attempt's time) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` over
``id.timestamp.body``, the body's exact bytes). Secrets are ``whsec_`` + base64 of 24 to 64
random bytes. While a secret is rotated two are valid at once: the sender signs with both (the
header carries two signatures, space-separated) and a receiver accepts either.

A delivery succeeds on 2xx. 410 Gone disables the endpoint (nothing more is sent until an
operator enables it again; nothing is dropped). Everything else is retried on the schedule
below (``Retry-After`` is honoured when it asks for longer); after the last retry the message
fails for good and the operator is told.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
SIGNATURE_VERSION = "v1"
#: Receivers refuse a timestamp further than this from their own clock (replay protection).
TOLERANCE = timedelta(minutes=5)
#: Delays between attempts after the first (the spec's example schedule).
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


class WebhookSecretError(ValueError):
    """A configured secret that is not ``whsec_`` + base64 of 24 to 64 bytes."""


class WebhookInvalid(ValueError):
    """A received webhook that must not be applied: headers missing, too old, or no signature
    matches. The message never carries the body or a secret."""


def parse_secret(text: str) -> bytes:
    """The key bytes of a ``whsec_`` secret."""
    raw = text.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookSecretError("a webhook secret must be whsec_ followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise WebhookSecretError(f"a webhook secret must hold 24 to 64 bytes, not {len(key)}")
    return key


def secret_text(key: bytes) -> str:
    """``whsec_`` + base64: how a secret is written down and handed to a contractor."""
    return SECRET_PREFIX + base64.b64encode(key).decode()


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>``: HMAC-SHA256 over ``id.timestamp.body``."""
    if not _ID.fullmatch(msg_id):
        raise ValueError("a webhook id is letters, digits, '_' and '-' only (no '.')")
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac).decode()}"


def headers_for(keys: Sequence[bytes], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every valid key (two while rotating)."""
    if not keys:
        raise WebhookSecretError("no webhook secret to sign with")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(key, msg_id, timestamp, body) for key in keys),
    }


def verify(keys: Sequence[bytes], headers: Mapping[str, str], body: bytes, now: datetime) -> str:
    """The webhook id of a genuine message; WebhookInvalid otherwise. ``now`` is aware."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not (msg_id and stamp and signatures):
        raise WebhookInvalid("missing webhook-id, webhook-timestamp or webhook-signature")
    if not _ID.fullmatch(msg_id):
        raise WebhookInvalid("webhook-id has characters that are not allowed")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise WebhookInvalid("webhook-timestamp is not a number of seconds") from None
    if abs(now.timestamp() - timestamp) > TOLERANCE.total_seconds():
        raise WebhookInvalid("webhook-timestamp is too far from now (replayed or clock skew)")
    offered = signatures.split(" ")
    for key in keys:
        expected = sign(key, msg_id, timestamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return msg_id
    raise WebhookInvalid("no signature matches a valid secret")


def webhook_id(contractor: str, first: int, last: int) -> str:
    """The stable id of the webhook that carries changes ``first``..``last`` of a contractor."""
    digest = hashlib.sha256(f"{contractor}\x1f{first}\x1f{last}".encode()).hexdigest()[:24]
    return f"msg_{digest}"


# --- what an answer means ---------------------------------------------------------------------


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DISABLE = "disable"  # 410 Gone: the receiver wants no more


def outcome_of(status: int) -> Outcome:
    """2xx delivered; 410 disables the endpoint; every other answer (3xx included: redirects
    are not followed) is retried later."""
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 410:
        return Outcome.DISABLE
    return Outcome.RETRY


def next_attempt(attempts: int, now: datetime, retry_after: float | None = None) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None when the schedule is used up.

    ``Retry-After`` (seconds) wins when it asks for longer than the schedule."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[max(0, attempts - 1)]
    if retry_after is not None and retry_after > delay.total_seconds():
        delay = timedelta(seconds=min(retry_after, 86_400))
    return now + delay
