"""The Dutch (and some English) words people type for tenure, role, channel, language and needs.

ERP exports and the guidance teams' own lists say "Sociale huur", "MDH", "bellen", "Oekraïens" or
"tolk nodig" where the register needs a :class:`~keukentafel.domain.model.Tenure`, a
:class:`~keukentafel.domain.model.PartyRole`, a :class:`PreferredChannel`, an ISO 639-1 language
code or a :class:`~keukentafel.domain.model.PracticalNeed`. This module owns those words: one
normaliser (:func:`word_key`: accents and case folded, ``- _ / .`` read as spaces, runs of spaces
as one), one table per vocabulary, and lookups that return None for a word they do not know.

What an unknown word does is each caller's policy, decided here so that it is not hidden in code:

- spreadsheet source (the register export):
  - tenure, role: the unit is kept aside (``MALFORMED``), as for any unreadable unit;
  - channel: the row is used, no contact point is marked preferred, and a finding
    (``RejectReason.UNKNOWN_VALUE``, which holds nothing) is recorded;
  - language: the row is used with Dutch (``nl``, the register's default, which a team list may
    still fill in), and the same finding is recorded.
- team lists (contact additions): an unknown channel, language, need or yes/no value keeps the
  row aside (``MALFORMED``).

Why they differ: the register export decides who lives where. Keeping a whole unit aside for a
preference the register can do without (a language, a channel) would freeze its household,
move-outs included, until the export is fixed; so the spreadsheet keeps the row, uses the default,
and tells the operator. Tenure and role decide who lives there, so an unknown word there keeps the
unit aside. A team list only adds to the register: a row kept aside costs nothing but the
addition, and a guess (an unknown need may be a health detail typed in the wrong column) could
mislead, so team lists keep the row aside.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from enum import Enum, StrEnum
from typing import TypeVar

from keukentafel.domain.model import ContactKind, PartyRole, PracticalNeed, Tenure

V = TypeVar("V")

_SEPARATORS = re.compile(r"[-_/.]")
_LANGUAGE_CODE = re.compile(r"[a-z]{2}")


@functools.lru_cache(maxsize=4096)  # exports repeat the same few words thousands of times
def word_key(text: str) -> str:
    """The form every table is keyed by: 'Oekraïens ' → 'oekraiens', 'Sociale-huur' →
    'sociale huur', 'E-mail' → 'e mail'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_SEPARATORS.sub(" ", plain).split()).casefold()


def _table(*groups: tuple[Iterable[str], V]) -> dict[str, V]:
    """A lookup table keyed by :func:`word_key`, so that its words are written as people type."""
    return {word_key(word): value for words, value in groups for word in words}


# --- tenure ----------------------------------------------------------------------------------


class Privately(Enum):
    """Tenure text that only says 'not the corporation's': who lives there decides (an owner row
    makes it owner-occupied, else it is a private rental)."""

    OWNED = "privately owned"


TENURE_WORDS: dict[str, Tenure | Privately] = _table(
    (
        (
            "huur",
            "huurwoning",
            "sociale huur",
            "sociaal",
            "verhuurd",
            "veh",
            "corporatie",
            "daeb",
            "niet daeb",
            "vrije sector",
            "vrije sector huur",
            "middenhuur",
            "geliberaliseerd",
            "gereguleerd",
        ),
        Tenure.CORPORATION_RENTAL,
    ),
    (
        (
            "particuliere huur",
            "particuliere verhuur",
            "particulier verhuurd",
            "verhuurd door eigenaar",
            "belegger",
        ),
        Tenure.PRIVATE_RENTAL,
    ),
    (
        (
            "koop",
            "koopwoning",
            "eigenaar",
            "eigenaar bewoner",
            "eigen bewoning",
            "eigendom",
            "verkocht",
            "vek",
        ),
        Tenure.OWNER_OCCUPIED,
    ),
    (("particulier", "particulier bezit", "particulier eigendom", "privé", "adm"), Privately.OWNED),
    (
        (
            "leeg",
            "leegstand",
            "leegstaand",
            "lee",
            "vacant",
            "onverhuurd",
            "niet verhuurd",
            "te huur",
            "frictieleegstand",
        ),
        Tenure.VACANT,
    ),
)


def tenure_word(text: str) -> Tenure | Privately | None:
    """The tenure a word names ('Sociale huur', 'leegstand', 'particulier'); None if unknown."""
    return TENURE_WORDS.get(word_key(text))


# --- party role ------------------------------------------------------------------------------

ROLE_WORDS: dict[str, PartyRole] = _table(
    (("huurder", "hoofdhuurder", "huu", "contractant", "tenant"), PartyRole.TENANT),
    (("medehuurder", "mdh", "mede huurder", "partner", "co tenant"), PartyRole.CO_TENANT),
    (
        ("eigenaar", "eigenaar bewoner", "eig", "kop", "koper", "owner", "owner occupier"),
        PartyRole.OWNER_OCCUPIER,
    ),
)


def role_word(text: str) -> PartyRole | None:
    """huurder/HUU → tenant, medehuurder/MDH → co-tenant, eigenaar/koper → owner; None if unknown."""
    return ROLE_WORDS.get(word_key(text))


# --- contact channel -------------------------------------------------------------------------


class PreferredChannel(StrEnum):
    EMAIL = "email"
    MOBILE = "mobile"  # text message or app on a mobile number
    PHONE = "phone"  # a call
    LETTER = "letter"
    VISIT = "visit"


CHANNEL_WORDS: dict[str, PreferredChannel] = _table(
    (("email", "e-mail", "mail", "ema"), PreferredChannel.EMAIL),
    (
        ("mobiel", "mobile", "mob", "gsm", "sms", "whatsapp", "app", "appen", "06"),
        PreferredChannel.MOBILE,
    ),
    (("telefoon", "tel", "vast", "phone", "bellen"), PreferredChannel.PHONE),
    (("brief", "post", "letter"), PreferredChannel.LETTER),
    (("bezoek", "huisbezoek", "langskomen", "visit"), PreferredChannel.VISIT),
)

#: The contact point a channel prefers, where it has one (a letter or a visit has none).
CHANNEL_CONTACT_KIND: dict[PreferredChannel, ContactKind] = {
    PreferredChannel.EMAIL: ContactKind.EMAIL,
    PreferredChannel.MOBILE: ContactKind.MOBILE,
    PreferredChannel.PHONE: ContactKind.PHONE,
}


def channel_word(text: str) -> PreferredChannel | None:
    """'e-mail' → email, 'bellen' → phone, 'huisbezoek' → visit; None if unknown."""
    return CHANNEL_WORDS.get(word_key(text))


# --- language --------------------------------------------------------------------------------

LANGUAGE_WORDS: dict[str, str] = _table(
    (("nederlands",), "nl"),
    (("engels", "english"), "en"),
    (("turks",), "tr"),
    (("arabisch",), "ar"),
    (("pools",), "pl"),
    (("tigrinya",), "ti"),
    (("oekraïens",), "uk"),
    (("duits",), "de"),
    (("frans",), "fr"),
    (("spaans",), "es"),
    (("portugees",), "pt"),
    (("somalisch",), "so"),
    (("farsi", "perzisch", "dari"), "fa"),
    (("russisch",), "ru"),
    (("roemeens",), "ro"),
    (("bulgaars",), "bg"),
    (("italiaans",), "it"),
    (("chinees",), "zh"),
    (("koerdisch",), "ku"),
    (("hongaars",), "hu"),
)


def language_code(text: str) -> str | None:
    """ISO 639-1 from a code ('TR') or a Dutch language name ('Turks'); None if unknown."""
    key = word_key(text)
    if _LANGUAGE_CODE.fullmatch(key):
        return key
    return LANGUAGE_WORDS.get(key)


# --- practical needs and yes/no --------------------------------------------------------------

NEED_WORDS: dict[str, PracticalNeed] = _table(
    *(((need.value,), need) for need in PracticalNeed),
    (("tolk", "tolk nodig"), PracticalNeed.INTERPRETER),
    (("extra tijd",), PracticalNeed.EXTRA_TIME),
    (
        ("eerst begeleider bellen", "eerst bewonersbegeleider bellen"),
        PracticalNeed.CALL_GUIDE_FIRST,
    ),
    (("met twee personen", "met z'n tweeën", "met zn tweeen"), PracticalNeed.VISIT_WITH_TWO),
    (("leest geen brieven", "geen brieven"), PracticalNeed.NO_LETTERS_ONLY),
)


def need_word(text: str) -> PracticalNeed | None:
    """'tolk' → interpreter, 'extra tijd' → extra time; None if unknown."""
    return NEED_WORDS.get(word_key(text))


YES_WORDS = frozenset(map(word_key, ("ja", "j", "yes", "y", "true", "waar", "1", "x", "v", "✓")))
NO_WORDS = frozenset(map(word_key, ("", "nee", "n", "no", "false", "onwaar", "0", "-")))


def yes_no(text: str) -> bool | None:
    """'ja'/'x'/'✓' → True, 'nee'/''/'-' → False; None if it is neither."""
    key = word_key(text)
    if key in YES_WORDS:
        return True
    if key in NO_WORDS:
        return False
    return None
