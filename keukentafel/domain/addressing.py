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
    """PostNL's last line: postcode with one space, two spaces, town in capitals; the town alone
    when there is no postcode (BAG ``adresregel6`` without a postcode: ``'S-GRAVENHAGE``)."""
    town = town.strip().upper()
    if not postcode.strip():
        return town
    return f"{normalise_postcode(postcode)}  {town}"


def postnl_address_lines(name_lines: list[str] | tuple[str, ...], address: Address) -> list[str]:
    """The address block for a letter or envelope window, 3 to 6 lines as PostNL asks.

    ``name_lines`` are the addressee lines (one or two names, an attention line); empty lines are
    dropped and at most four are kept so the block never exceeds six lines.
    """
    names = [line.strip() for line in name_lines if line and line.strip()][:4]
    return [*names, address.street_line, postcode_town_line(address.postcode, address.town)]


_HOUSE_NUMBER = re.compile(r"^(\d+)(.*)$")
_LETTER = re.compile(r"^([A-Za-z])(?=$|[\s\-/]|\d)")


def split_house_number(text: str) -> tuple[int, str, str]:
    """'12A-3' -> (12, 'A', '3'): number, huisletter, huisnummertoevoeging.

    A single letter right after the number (or after a space) is the huisletter; what follows
    (after '-', '/', or a space) is the addition, in the case it was written: '12 bis' ->
    (12, '', 'bis'). After a '-' even a single letter is an addition: '12-A' -> (12, '', 'A').
    Raises ValueError when the text does not start with a number above zero.
    """
    text = " ".join(text.split())
    match = _HOUSE_NUMBER.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError("no house number")
    number, rest = int(match.group(1)), match.group(2).strip()
    letter = ""
    letter_match = _LETTER.match(rest)
    if letter_match:
        letter = letter_match.group(1).upper()
        rest = rest[1:]
    addition = rest.strip().lstrip("-/").strip()
    return number, letter, " ".join(addition.split())
