"""The web application's own security parts: sealed cookies, CSRF form tokens, headers.

- **Sealed cookies** (:class:`CookieSealer`): the cookie's JSON is encrypted and authenticated
  with AES-GCM under a key derived from the session secret, with an expiry inside; the browser
  can neither read nor change it. Cookies are ``HttpOnly``, ``SameSite=Lax`` (a resident arrives
  from a QR code and staff return from Entra ID: both are top-level navigations from elsewhere)
  and ``Secure`` unless the request came over plain http to a loopback address (development and
  the demo).
- **CSRF** (:func:`form_token`, :func:`check_form_token`): every form carries a one-time nonce
  with an HMAC bound to the session's own key; the nonce is claimed in the store when the form is
  used, so a replayed form records nothing.
- **Headers** (:func:`security_headers`): a strict Content-Security-Policy (no scripts at all),
  ``X-Content-Type-Options``, ``Referrer-Policy: no-referrer`` (a link's token never leaks to
  another site), ``X-Frame-Options`` and ``frame-ancestors``, ``Permissions-Policy``, no caching of
  personal pages, and HSTS over https.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "testserver"})

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def security_headers(https: bool) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieSealer:
    """Encrypts and authenticates small JSON values for cookies, with an expiry inside."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret must be at least 32 bytes")
        self._aead = AESGCM(hashlib.sha256(b"keukentafel-cookie\x1f" + secret).digest())
        self._mac_key = hashlib.sha256(b"keukentafel-mac\x1f" + secret).digest()

    def seal(self, name: str, value: Mapping[str, Any], max_age: int) -> str:
        body = json.dumps({**value, "_x": int(time.time()) + max_age}, separators=(",", ":"))
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, body.encode(), name.encode())
        return _b64(nonce + sealed)

    def open(self, name: str, text: str | None) -> dict[str, Any] | None:
        """The value, or None when the cookie is missing, changed, for another name or expired."""
        if not text or len(text) > 4000:
            return None
        try:
            raw = _unb64(text)
            body = self._aead.decrypt(raw[:12], raw[12:], name.encode())
            value = json.loads(body)
        except (ValueError, InvalidTag):
            return None
        if not isinstance(value, dict) or int(value.get("_x", 0)) < time.time():
            return None
        return value

    def keyed_digest(self, purpose: str, text: str) -> str:
        """A digest of ``text`` that only this installation can compute (client addresses)."""
        return hmac.new(self._mac_key, f"{purpose}\x1f{text}".encode(), hashlib.sha256).hexdigest()


def new_csrf_key() -> str:
    return secrets.token_urlsafe(24)


def form_token(csrf_key: str, purpose: str) -> str:
    """A form's hidden token: a new nonce and its HMAC under the session's CSRF key."""
    nonce = secrets.token_urlsafe(18)
    mac = hmac.new(csrf_key.encode(), f"{purpose}\x1f{nonce}".encode(), hashlib.sha256)
    return f"{nonce}.{_b64(mac.digest())}"


def check_form_token(csrf_key: str | None, purpose: str, token: str) -> str | None:
    """The token's nonce when it was made for this session and purpose; else None."""
    if not csrf_key or token.count(".") != 1:
        return None
    nonce, mac_b64 = token.split(".")
    expected = hmac.new(csrf_key.encode(), f"{purpose}\x1f{nonce}".encode(), hashlib.sha256)
    try:
        given = _unb64(mac_b64)
    except ValueError:
        return None
    return nonce if hmac.compare_digest(given, expected.digest()) else None


def nonce_digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()
