"""Personal links and short codes: signing, verifying, and the code a reader can type.

This module owns the HMAC part of a resident's personal link (the letters print it, with a QR
code made in keukentafel/letters/links.py; the web application checks it) and the short code
printed next to it.

A link is ``<base_url>/<token>`` with ``token = "v1." + b64(payload) + "." + b64(mac)``:
urlsafe base64 without padding, ``payload`` is compact JSON ``{"k": household key, "p":
purpose, "e": expiry as Unix seconds, "t": tenancy tag}``, ``mac`` is HMAC-SHA256 over
``"v1." + b64(payload)`` with the secret from the environment. The household key is a project
and unit code, never a name; the tenancy tag is a short digest of the contract parties' relation
ids, so a letter for the next tenant of the same home gets another link even on the same day.
A link's expiry is the end of a calendar day (Europe/Amsterdam), so composing the same letter
again gives the same link: a re-run mailing prints what its first run printed.

The short code is derived from the token with the same secret: 10 characters from an alphabet
without look-alikes (no 0/O/Q/D, 1/I/L, 2/Z, 5/S, 8/B, 6/G, U/V), about 43 bits, printed in two
groups of five. It is typed on the project's start page.

An HMAC does not make a link single-use or revocable: the web application keeps a record of each
issued link (keukentafel/usecases/resident_access.py) and refuses one that is not on record, was
revoked, expired, or belongs to a lease that no longer runs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from urllib.parse import urlsplit

from keukentafel.domain.model import AMSTERDAM

VERSION = "v1"

#: The code alphabet: capitals and digits that cannot be mistaken for one another.
CODE_ALPHABET = "ACEFHJKMNPRTWXY34679"
CODE_LENGTH = 10
_CODE_SET = frozenset(CODE_ALPHABET)


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
    tenancy: str = ""  # the tenancy tag; "" on links made before it existed

    @property
    def project_code(self) -> str:
        return self.household_key.split(":", 1)[0]

    @property
    def unit_code(self) -> str:
        return self.household_key.split(":", 1)[-1]


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """One household's personal link for one letter, and the code printed next to it."""

    url: str
    token: str
    code: str  # 10 characters, ungrouped; format_code() prints it
    start_url: str  # the project's start page, where the code is typed
    expires_at: datetime  # aware, UTC

    @property
    def token_digest(self) -> str:
        return token_digest(self.token)


def read_link_secret(env: Mapping[str, str], env_name: str) -> bytes:
    """The signing secret from the named variable of ``env``: at least 32 random-looking bytes
    (``link_secret_problem``); the error names the variable, never the value.

    ``env`` is the settings' snapshot of the environment (keukentafel/settings.py)."""
    value = env.get(env_name, "")
    problem = link_secret_problem(value)
    if problem:
        raise LinkSecretMissing(f"environment variable {env_name} {problem}")
    return value.encode()


#: The least a link secret holds: 32 bytes, and as much entropy as 32 random bytes would show.
MIN_LINK_SECRET_BYTES = 32
_MIN_ESTIMATED_BITS = 128.0
_HOW_TO_MAKE_ONE = (
    "use 32 random bytes, e.g. the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
)


def link_secret_problem(value: str) -> str | None:
    """What is wrong with a link-signing secret, or None when it looks like 32 random bytes.

    At least 32 bytes, and random-looking: an estimate of its entropy (the Shannon entropy of its
    characters times its length) of at least 128 bits, no repeated block (``abab…``) and no run
    of neighbouring characters (``abcdef…``). A secret from ``secrets.token_urlsafe(32)``,
    ``token_hex(32)`` or ``openssl rand -base64 32`` passes; a word, a phrase or 32 times the
    same letter does not. The answer never contains the value."""
    if len(value.encode()) < MIN_LINK_SECRET_BYTES:
        return f"is unset or shorter than {MIN_LINK_SECRET_BYTES} bytes; {_HOW_TO_MAKE_ONE}"
    if (
        _estimated_bits(value) < _MIN_ESTIMATED_BITS
        or _is_periodic(value)
        or _is_mostly_sequential(value)
    ):
        return f"does not look random (too predictable to sign links); {_HOW_TO_MAKE_ONE}"
    return None


def _estimated_bits(value: str) -> float:
    counts = Counter(value)
    size = len(value)
    per_char = -sum(n / size * math.log2(n / size) for n in counts.values())
    return per_char * size


def _is_periodic(value: str) -> bool:
    """A block repeated to the end (``Welkom01Welkom01…``)."""
    size = len(value)
    return any(
        value == (value[:period] * (size // period + 1))[:size]
        for period in range(1, size // 2 + 1)
    )


def _is_mostly_sequential(value: str) -> bool:
    """Most neighbours one code point apart or equal (``abcdefgh…``, ``98765…``)."""
    steps = [abs(ord(b) - ord(a)) for a, b in pairwise(value)]
    return sum(1 for step in steps if step <= 1) > len(steps) / 2


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


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


def _secret_bytes(secret: bytes | str) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def _mac(signed_part: str, secret: bytes | str) -> bytes:
    return hmac.new(_secret_bytes(secret), signed_part.encode("ascii"), hashlib.sha256).digest()


def tenancy_tag(relation_ids: Iterable[str]) -> str:
    """A short, stable digest of who the contract parties are (no name, no id in clear)."""
    joined = "\x1f".join(sorted(set(relation_ids)))
    return hashlib.sha256(joined.encode()).hexdigest()[:12] if joined else ""


def link_expiry(on: date, valid_days: int) -> datetime:
    """The end of the ``valid_days``-th day after ``on`` (Europe/Amsterdam), as aware UTC."""
    last_day = on + timedelta(days=valid_days)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=AMSTERDAM)
    return end.astimezone(UTC)


def sign_link(
    base_url: str,
    household_key: str,
    purpose: str,
    expires_at: datetime,
    secret: bytes | str,
    *,
    tenancy: str = "",
) -> str:
    """A signed personal link; ``expires_at`` must be timezone-aware."""
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    if not household_key or not purpose:
        raise ValueError("household_key and purpose must not be empty")
    claims: dict[str, object] = {"k": household_key, "p": purpose, "e": int(expires_at.timestamp())}
    if tenancy:
        claims["t"] = tenancy
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    signed_part = f"{VERSION}.{_b64(payload)}"
    return f"{base_url.rstrip('/')}/{signed_part}.{_b64(_mac(signed_part, secret))}"


def token_of(url: str) -> str:
    """The token of a link (its last path segment), without query or fragment."""
    return url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def verify_link(url: str, secret: bytes | str, now: datetime) -> LinkClaims:
    """The claims of a link (or a bare token) signed with ``secret``; raises LinkMalformed,
    LinkTampered or LinkExpired."""
    parts = token_of(url).split(".")
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
            tenancy=str(payload.get("t", "")),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LinkMalformed("link payload cannot be read") from exc
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if now >= claims.expires_at:
        raise LinkExpired("link has expired")
    return claims


# --- short codes -------------------------------------------------------------------------------


def short_code(token: str, secret: bytes | str) -> str:
    """The code printed with the link: ``CODE_LENGTH`` characters of ``CODE_ALPHABET``."""
    digest = hmac.new(_secret_bytes(secret), b"code\x1f" + token.encode(), hashlib.sha256)
    number = int.from_bytes(digest.digest(), "big")  # 256 bits: the modulo bias is negligible
    characters = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        characters.append(CODE_ALPHABET[index])
    return "".join(characters)


def format_code(code: str) -> str:
    """A code as printed: two groups of five (``KM7R4 TXHAC``)."""
    half = len(code) // 2
    return f"{code[:half]} {code[half:]}"


def normalise_code(text: str) -> str | None:
    """What a reader typed, as a code: capitals, spaces and dashes dropped; None when it cannot
    be a code (wrong length or a character outside the alphabet)."""
    cleaned = "".join(c for c in text.upper() if c not in " -.\t")
    if len(cleaned) != CODE_LENGTH or any(c not in _CODE_SET for c in cleaned):
        return None
    return cleaned


def token_digest(token: str) -> str:
    """What the store keeps of a token: its SHA-256 (the token itself is never stored)."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def code_digest(project_code: str, code: str) -> str:
    """What the store keeps of a code, per project: a SHA-256, never the code."""
    return hashlib.sha256(f"code\x1f{project_code.upper()}\x1f{code}".encode()).hexdigest()


def start_url(link_base_url: str, project_code: str) -> str:
    """The project's start page on the site the links point to: ``<origin>/p/<project>``."""
    parts = urlsplit(link_base_url)
    return f"{parts.scheme}://{parts.netloc}/p/{project_code}"


def issue_link(
    base_url: str,
    household_key: str,
    purpose: str,
    *,
    on: date,
    valid_days: int,
    secret: bytes | str,
    parties: Iterable[str] = (),
) -> IssuedLink:
    """The link and code of one household's letter of ``purpose`` dated ``on``: the same inputs
    give the same link and code (see the module docstring)."""
    expires = link_expiry(on, valid_days)
    url = sign_link(base_url, household_key, purpose, expires, secret, tenancy=tenancy_tag(parties))
    token = token_of(url)
    project_code = household_key.split(":", 1)[0]
    return IssuedLink(
        url=url,
        token=token,
        code=short_code(token, secret),
        start_url=start_url(base_url, project_code),
        expires_at=expires,
    )
