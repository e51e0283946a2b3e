"""Personal response links: signing, verifying, and the QR code that carries them.

A link is ``<base_url>/<token>`` with ``token = "v1." + b64(payload) + "." + b64(mac)``:
urlsafe base64 without padding, ``payload`` is compact JSON ``{"k": household key, "p":
purpose, "e": expiry as Unix seconds}``, ``mac`` is HMAC-SHA256 over ``"v1." + b64(payload)``
with the secret from the environment. The household key is a project and unit code, never a
name. An HMAC does not make a link single-use: the page behind it keeps a record of what the
link may still do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import segno
from markupsafe import Markup

from keukentafel.config.letters import link_secret_problem

VERSION = "v1"


class LinkError(Exception):
    """A link that cannot be used. The message never contains the token or the secret."""


class LinkMalformed(LinkError):
    pass


class LinkTampered(LinkError):
    pass


class LinkExpired(LinkError):
    pass


class LinkSecretMissing(LinkError):
    pass


@dataclass(frozen=True, slots=True)
class LinkClaims:
    household_key: str
    purpose: str
    expires_at: datetime  # aware, UTC


def read_link_secret(env: Mapping[str, str], env_name: str) -> bytes:
    """The signing secret from the named variable of ``env``: at least 32 random-looking bytes
    (see keukentafel/config/letters.py, ``link_secret_problem``); the error names the variable,
    never the value.

    ``env`` is the settings' snapshot of the environment (keukentafel/settings.py)."""
    value = env.get(env_name, "")
    problem = link_secret_problem(value)
    if problem:
        raise LinkSecretMissing(f"environment variable {env_name} {problem}")
    return value.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise LinkMalformed("link token is not urlsafe base64")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise LinkMalformed("link token is not urlsafe base64") from exc
    if _b64(data) != text:  # one token per value: no variants in the unused bits
        raise LinkMalformed("link token is not canonical base64")
    return data


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _secret_bytes(secret: bytes | str) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def _mac(signed_part: str, secret: bytes | str) -> bytes:
    return hmac.new(_secret_bytes(secret), signed_part.encode("ascii"), hashlib.sha256).digest()


def sign_link(
    base_url: str, household_key: str, purpose: str, expires_at: datetime, secret: bytes | str
) -> str:
    """A signed personal link; ``expires_at`` must be timezone-aware."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    if not household_key or not purpose:
        raise ValueError("household_key and purpose must not be empty")
    payload = json.dumps(
        {"k": household_key, "p": purpose, "e": int(expires_at.timestamp())},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    signed_part = f"{VERSION}.{_b64(payload)}"
    return f"{base_url.rstrip('/')}/{signed_part}.{_b64(_mac(signed_part, secret))}"


def verify_link(url: str, secret: bytes | str, now: datetime) -> LinkClaims:
    """The claims of a link signed with ``secret``; raises LinkMalformed/Tampered/Expired."""
    token = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise LinkMalformed("link token has an unknown shape or version")
    version, payload_b64, mac_b64 = parts
    mac = _unb64(mac_b64)
    payload_bytes = _unb64(payload_b64)
    if not hmac.compare_digest(mac, _mac(f"{version}.{payload_b64}", secret)):
        raise LinkTampered("link signature does not match")
    try:
        payload = json.loads(payload_bytes)
        claims = LinkClaims(
            household_key=str(payload["k"]),
            purpose=str(payload["p"]),
            expires_at=datetime.fromtimestamp(int(payload["e"]), tz=UTC),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise LinkMalformed("link payload cannot be read") from exc
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if now >= claims.expires_at:
        raise LinkExpired("link has expired")
    return claims


def qr_svg(url: str, *, scale: int = 2) -> Markup:
    """The link as an inline SVG QR code (error correction M), safe to print unescaped."""
    code = segno.make(url, error="m", micro=False)
    return Markup(code.svg_inline(scale=scale, title="QR-code van uw persoonlijke link"))  # noqa: S704
