"""The short reference a resident quotes on the phone (pure).

Letters carry ``Ons kenmerk``. The internal code of a letter (project, kind and unit code) is
long and means nothing to a resident, so letters print a short one instead: seven symbols in
two groups (``KTM-4A7X``), the same for one household in every letter of a project, from an
alphabet without look-alikes (no 0/O/Q/D, 1/I/L/J, 2/Z, 5/S, 6/G, 8/B, U/V). It is a keyed
digest of the project and the unit code, so it names nobody and cannot be guessed from the
address; the print manifest lists it next to the unit code, so whoever answers the phone finds
the household.

Seven symbols from eighteen give 612 million codes: in a project of 2,000 homes the chance
that two share a code is about one in three hundred. Such a clash confuses nobody silently:
:func:`reference_clashes` finds it, the mailing reports it, and whoever answers the phone sees
two units in the manifest and asks for the street.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

ALPHABET = "ACEFHKMNPRTWXY3479"
SYMBOLS = 7


def resident_reference(project_code: str, unit_code: str) -> str:
    """``KTM-4A7X``: the household's short reference within the project."""
    digest = hashlib.sha256(f"keukentafel/{project_code}/{unit_code}".encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    symbols = []
    for _ in range(SYMBOLS):
        number, index = divmod(number, len(ALPHABET))
        symbols.append(ALPHABET[index])
    code = "".join(symbols)
    return f"{code[:3]}-{code[3:]}"


def reference_clashes(project_code: str, unit_codes: Iterable[str]) -> dict[str, list[str]]:
    """The references two or more of these units share (empty nearly always), with the units."""
    found: dict[str, list[str]] = {}
    for unit in unit_codes:
        found.setdefault(resident_reference(project_code, unit), []).append(unit)
    return {code: units for code, units in found.items() if len(units) > 1}
