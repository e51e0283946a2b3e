"""Personal links: signing, verification, tampering, expiry, malformed tokens, QR codes."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from keukentafel.letters.links import (
    LinkExpired,
    LinkMalformed,
    LinkSecretMissing,
    LinkTampered,
    qr_svg,
    read_link_secret,
    sign_link,
    verify_link,
)

SECRET = b"0123456789abcdef0123456789abcdef"
BASE = "https://antwoord.example.nl/r/"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=30)


def _link(**kw: object) -> str:
    args: dict[str, object] = {
        "base_url": BASE,
        "household_key": "ZONNEHOF-2026:0012",
        "purpose": "proposal",
        "expires_at": EXPIRES,
        "secret": SECRET,
    }
    args.update(kw)
    return sign_link(**args)  # type: ignore[arg-type]


def test_round_trip() -> None:
    url = _link()
    assert url.startswith("https://antwoord.example.nl/r/v1.")
    claims = verify_link(url, SECRET, NOW)
    assert claims.household_key == "ZONNEHOF-2026:0012"
    assert claims.purpose == "proposal"
    assert claims.expires_at == EXPIRES
    # query strings and fragments added by mail clients do not break verification
    assert verify_link(url + "?utm_source=mail#top", SECRET, NOW) == claims


def test_link_is_url_safe_and_carries_no_name() -> None:
    url = _link()
    token = url.rsplit("/", 1)[1]
    assert all(c.isalnum() or c in "-_." for c in token)
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert set(payload) == {"k", "p", "e"}


def test_wrong_secret_is_tampered() -> None:
    with pytest.raises(LinkTampered):
        verify_link(_link(), b"another-secret-0123456789abcdef", NOW)


def test_changed_payload_is_tampered() -> None:
    url = _link()
    head, payload, mac = url.rsplit("/", 1)[1].split(".")
    forged = json.dumps({"k": "ZONNEHOF-2026:0013", "p": "proposal", "e": int(EXPIRES.timestamp())})
    forged_b64 = base64.urlsafe_b64encode(forged.encode()).rstrip(b"=").decode()
    with pytest.raises(LinkTampered):
        verify_link(f"{BASE}{head}.{forged_b64}.{mac}", SECRET, NOW)
    # one flipped character in the signature
    flipped = mac[:10] + ("A" if mac[10] != "A" else "B") + mac[11:]
    with pytest.raises(LinkTampered):
        verify_link(f"{BASE}{head}.{payload}.{flipped}", SECRET, NOW)


def test_only_the_canonical_encoding_verifies() -> None:
    url = _link()
    head, payload, mac = url.rsplit("/", 1)[1].split(".")
    # 32 bytes take 43 characters; the last one carries 2 unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    variant = mac[:-1] + alphabet[alphabet.index(mac[-1]) ^ 1]
    with pytest.raises(LinkMalformed):
        verify_link(f"{BASE}{head}.{payload}.{variant}", SECRET, NOW)


def test_expired() -> None:
    url = _link(expires_at=NOW + timedelta(seconds=1))
    verify_link(url, SECRET, NOW)
    with pytest.raises(LinkExpired):
        verify_link(url, SECRET, NOW + timedelta(seconds=1))


@pytest.mark.parametrize(
    "token",
    ["", "v1", "v1.abc", "v2.abc.def", "v1.a b.c", "v1.!!!.abc", "v1..abc", "v1.abc.def.ghi"],
)
def test_malformed(token: str) -> None:
    with pytest.raises(LinkMalformed):
        verify_link(BASE + token, SECRET, NOW)


def test_signed_garbage_payload_is_malformed_not_a_crash() -> None:
    import hashlib
    import hmac

    payload = base64.urlsafe_b64encode(b"not json").rstrip(b"=").decode()
    mac = hmac.new(SECRET, f"v1.{payload}".encode(), hashlib.sha256).digest()
    mac_b64 = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(LinkMalformed):
        verify_link(f"{BASE}v1.{payload}.{mac_b64}", SECRET, NOW)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        _link(expires_at=datetime(2026, 12, 1))


def test_secret_from_the_settings_environment() -> None:
    strong = secrets.token_urlsafe(32)
    assert (
        read_link_secret({"KT_TEST_LINK_SECRET": strong}, "KT_TEST_LINK_SECRET") == strong.encode()
    )
    with pytest.raises(LinkSecretMissing) as error:
        read_link_secret({"KT_TEST_LINK_SECRET": "xyzzy"}, "KT_TEST_LINK_SECRET")
    assert "xyzzy" not in str(error.value)  # the value is never in the message
    with pytest.raises(LinkSecretMissing, match="KT_TEST_LINK_SECRET"):
        read_link_secret({}, "KT_TEST_LINK_SECRET")


@pytest.mark.parametrize(
    "weak",
    [
        "a" * 32,
        "s" * 64,
        "ab" * 16,
        "0123456789abcdef" * 2,
        "Welkom01" * 4,
        "abcdefghijklmnopqrstuvwxyz012345",
        "a-link-secret-of-32-characters!!",
        "correct horse battery staple now",
        "x" * 31,
    ],
)
def test_a_weak_link_secret_is_refused_naming_only_the_variable(weak: str) -> None:
    with pytest.raises(LinkSecretMissing) as error:
        read_link_secret({"KT_TEST_LINK_SECRET": weak}, "KT_TEST_LINK_SECRET")
    message = str(error.value)
    assert message.startswith("environment variable KT_TEST_LINK_SECRET ")
    assert weak not in message and "token_urlsafe(32)" in message


def test_random_secrets_of_32_bytes_are_accepted() -> None:
    for _ in range(200):
        for value in (
            secrets.token_urlsafe(32),
            secrets.token_hex(32),
            base64.b64encode(secrets.token_bytes(32)).decode(),
        ):
            assert read_link_secret({"K": value}, "K") == value.encode()


def test_qr_is_inline_svg_markup() -> None:
    svg = qr_svg(_link())
    assert str(svg).startswith("<svg")
    assert "</svg>" in svg
    assert svg.__html__() == str(svg)  # marked safe: printed unescaped by autoescaping templates
