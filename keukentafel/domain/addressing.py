"""Dutch postal addressing: postcode normalisation and PostNL address blocks (pure)."""

from __future__ import annotations

import re

from keukentafel.domain.model import Address

_POSTCODE = re.compile(r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{2})\s*$")
# PostNL never issues these letter pairs (they read as abbreviations with a bad ring).
_UNUSED_LETTERS = frozenset({"SA", "SD", "SS"})


class InvalidPostcode(ValueError):
    pass


def normalise_postcode(text: str) -> str:
    """'1234ab', ' 1234 AB ' -> '1234 AB'; raises InvalidPostcode for anything else."""
    match = _POSTCODE.match(text or "")
    if not match or match.group(2).upper() in _UNUSED_LETTERS:
        raise InvalidPostcode(f"not a Dutch postcode: {len(text or '')} characters")
    return f"{match.group(1)} {match.group(2).upper()}"


def is_valid_postcode(text: str) -> bool:
    try:
        normalise_postcode(text)
    except InvalidPostcode:
        return False
    return True


def postcode_town_line(postcode: str, town: str) -> str:
    """PostNL's last line: postcode with one space, two spaces, town in capitals."""
    return f"{normalise_postcode(postcode)}  {town.strip().upper()}"


def postnl_address_lines(name_lines: list[str] | tuple[str, ...], address: Address) -> list[str]:
    """The address block for a letter or envelope window, 3 to 6 lines as PostNL asks.

    ``name_lines`` are the addressee lines (one or two names, an attention line); empty lines are
    dropped and at most four are kept so the block never exceeds six lines.
    """
    names = [line.strip() for line in name_lines if line and line.strip()][:4]
    return [*names, address.street_line, postcode_town_line(address.postcode, address.town)]
