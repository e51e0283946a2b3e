"""Text from a source made safe to store, print and compare: :func:`clean_text` (pure).

Names and addresses reach letters, e-mail headers, CSV files and the operator's terminal. At
import, every source (VERA, spreadsheet exports, the team's lists) passes its text through
:func:`clean_text`: line breaks and tabs become spaces, control characters (NUL, ESC, the C1
range) and the bidirectional embedding, override, isolate and mark characters are removed, and
runs of spaces collapse to one. Text that holds none of these (nearly all of it) is returned as
it came, stripped, so its stored content hash stays the same.
"""

from __future__ import annotations

import unicodedata

#: Invisible characters that reorder or hide text (Trojan Source), removed wherever they stand.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
#: Characters that separate words or lines: they become one space.
_BREAKS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")


def clean_text(value: str) -> str:
    """``value`` stripped; without control and bidirectional characters when it had any.

    Line and paragraph breaks, tabs and other spaces (no-break space included) become one space;
    other control characters (``Cc``: NUL, ESC, DEL, C1) and :data:`BIDI_CONTROLS` are removed.
    Joiners (ZWJ, ZWNJ), which some scripts need, are kept.
    """
    if value.isprintable():  # the common case: no control, format or separator characters
        return value.strip()
    kept: list[str] = []
    for char in value:
        if char in _BREAKS:
            kept.append(" ")
        elif char in BIDI_CONTROLS:
            continue
        else:
            category = unicodedata.category(char)
            if category == "Cc":
                continue
            kept.append(" " if category == "Zs" else char)
    return " ".join("".join(kept).split())
