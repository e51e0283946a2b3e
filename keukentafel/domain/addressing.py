"""Dutch postal addressing: postcodes, the street line and PostNL address blocks (pure).

Lines are composed as the Kadaster BAG API composes ``adresregel5`` and ``adresregel6`` (NEN
5825:2002): :func:`street_line` is the one place that writes a street and house number, for the
address block and for every sentence that names the address ("Beste bewoner(s) van ...").
A unit without a postcode ends its block with the town alone, as BAG does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the model imports this module to write its street lines
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


_DIGITS = frozenset("0123456789")


def house_number_text(number: int, letter: str = "", addition: str = "") -> str:
    """The house number as NEN 5825 (BAG ``adresregel5``) writes it.

    House letter and addition are joined; the joined part follows the number after a ``-`` when
    it starts with a digit and after a space otherwise: ``12 A``, ``14 bis``, ``4 B2``, ``8-3-hoog``,
    ``16 DK``, ``1-5A3``.
    """
    suffix = f"{letter.strip()}{addition.strip()}"
    if not suffix:
        return str(number)
    return f"{number}{'-' if suffix[0] in _DIGITS else ' '}{suffix}"


def street_line(address: Address, *, short: bool = False) -> str:
    """Street, a space and the house number (:func:`house_number_text`): ``Dorpsstraat 12 A``.

    With ``short`` the official shortened street name is used where the address has one
    (``street_short``, at most 24 characters, BAG's ``korteNaam``), as BAG itself does.
    """
    street = address.street_short if short and address.street_short else address.street
    return f"{street} {house_number_text(address.number, address.letter, address.addition)}"


def town_line(address: Address) -> str:
    """The last line of the block: ``1234 AB  PLAATS``, or ``PLAATS`` without a postcode."""
    return postcode_town_line(address.postcode, address.town)


def postnl_address_lines(
    name_lines: list[str] | tuple[str, ...], address: Address, *, short_street: bool = False
) -> list[str]:
    """The address block for a letter or envelope window, 3 to 6 lines as PostNL asks.

    ``name_lines`` are the addressee lines (one or two names, an attention line); empty lines are
    dropped and at most four are kept so the block never exceeds six lines. ``short_street``
    writes the official shortened street name where there is one (see :func:`street_line`).
    """
    names = [line.strip() for line in name_lines if line and line.strip()][:4]
    return [*names, street_line(address, short=short_street), town_line(address)]


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
