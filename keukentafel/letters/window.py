"""The address block in the envelope window: composed to fit, and measured before anything prints.

Address lines never wrap and the window hides what sticks out, so every line is measured with
the letter font's own advance widths (DejaVu Sans, read with fontTools; kerning only narrows a
line, so the measure errs on the safe side) against the window the envelope profile gives.
The block is shortened the way PostNL and NEN 5825 allow, in this order:

- names: "Mevrouw J. de Vries", else "Mevr. J. de Vries", else "J. de Vries"; a couple (a man
  and a woman with one surname) on one line: "De heer en mevrouw Yılmaz", "Dhr. en mevr.
  Yılmaz", "Fam. Yılmaz";
- more people than the window has name lines for: the first ones, then "en 2 medebewoners"
  (the salutation in the letter still names everyone);
- the street: the official shortened street name (BAG ``korteNaam``, at most 24 characters,
  ``Address.street_short``) where the source has one;
- at most six lines in all (PostNL: 3 to 6), and no more than the window is high.

A block that still does not fit has a ``problem`` (in operator language, without the address):
the mailing sets that letter aside with its reason before anything is printed. A block without a
postcode is ``incomplete``: the town alone ends it (as the Kadaster BAG API writes it), and the
print manifest flags it for the post.

The geometry here is the letter layout's (``templates/_base/letter.html`` reads it from the
``envelope`` keys of the context), so the measure and the PDF agree; a test checks them against
the text positions of rendered PDFs.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from keukentafel.config.letters import EnvelopeProfile
from keukentafel.domain.addressing import InvalidPostcode, postnl_address_lines
from keukentafel.domain.model import Address, Household, PersonName

log = logging.getLogger(__name__)

PT_PER_MM = 72 / 25.4
FONT_FAMILY = "DejaVu Sans"
ADDRESS_PT = 11.0  # PostNL: 10-12 pt sans-serif
LINE_HEIGHT = 1.15
INSET_MM = 4.0  # left and right inside the window
RETURN_PT = 7.0
RETURN_LINE_HEIGHT = 1.2
RETURN_TOP_MM = 2.0  # above the return address
RETURN_BELOW_MM = 2.2  # below it: padding 0.5, rule 0.2, margin 1.5
BOTTOM_MM = 1.0  # kept free at the window's lower edge
SAFETY = 1.03  # widths are measured 3% wider than the font says
MAX_LINES = 6  # PostNL: an address block has 3 to 6 lines

_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",  # Debian, Ubuntu (fonts-dejavu-core)
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",  # Fedora
    "/usr/share/fonts/TTF/DejaVuSans.ttf",  # Arch
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
)
_UNSEEN = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_line(text: str) -> str:
    """One line as it may print: control and bidirectional characters out, white space (a CR LF
    inside a name included) collapsed to single spaces."""
    return " ".join(_UNSEEN.sub(" ", text).split())


# --- measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FontWidths:
    """Advance widths of one font, in font units, by code point."""

    units_per_em: int
    advances: dict[int, int]
    fallback: int  # for a character the font lacks (another font draws it): one em

    def width_mm(self, text: str, size_pt: float) -> float:
        units = sum(self.advances.get(ord(char), self.fallback) for char in text)
        return units / self.units_per_em * size_pt / PT_PER_MM * SAFETY


def _font_file() -> Path | None:
    for name in _FONT_FILES:
        if Path(name).is_file():
            return Path(name)
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    found = subprocess.run(
        [fc_match, "--format=%{file}", FONT_FAMILY], capture_output=True, text=True, check=False
    ).stdout.strip()
    return Path(found) if found.endswith(("DejaVuSans.ttf",)) and Path(found).is_file() else None


@lru_cache(maxsize=1)
def letter_font() -> FontWidths:
    """The letter font's widths, read once per process (about 60 ms)."""
    path = _font_file()
    if path is None:
        # Without the font WeasyPrint falls back to another sans-serif; measure as if every
        # character were 0.7 em (wider than DejaVu's widest letters), so nothing is clipped.
        log.warning("%s not found: address lines are measured roughly", FONT_FAMILY)
        return FontWidths(1000, {}, 700)
    from fontTools.ttLib import TTFont

    font = TTFont(str(path), lazy=True)
    cmap = font.getBestCmap()
    metrics = font["hmtx"].metrics
    upem = int(font["head"].unitsPerEm)
    advances = {code: int(metrics[glyph][0]) for code, glyph in cmap.items()}
    return FontWidths(upem, advances, upem)


# --- the window --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """What an envelope window holds: the width of a line, and how many address lines."""

    width_mm: float
    lines: int

    def fits(self, line: str) -> bool:
        return letter_font().width_mm(line, ADDRESS_PT) <= self.width_mm


def line_height_mm(size_pt: float = ADDRESS_PT, factor: float = LINE_HEIGHT) -> float:
    return size_pt * factor / PT_PER_MM


def window_of(profile: EnvelopeProfile) -> Window:
    """The window of an envelope profile, below its one-line return address."""
    used = RETURN_TOP_MM + line_height_mm(RETURN_PT, RETURN_LINE_HEIGHT) + RETURN_BELOW_MM
    room = profile.height - used - BOTTOM_MM
    lines = max(0, min(MAX_LINES, int(room // line_height_mm())))
    return Window(width_mm=profile.width - 2 * INSET_MM, lines=lines)


def return_address_problem(profile: EnvelopeProfile, return_address: str) -> str:
    """Why the return address does not fit on its one line in the window; "" when it does."""
    width = letter_font().width_mm(clean_line(return_address), RETURN_PT)
    available = profile.width - 2 * INSET_MM
    if width <= available:
        return ""
    return (
        f"the return address is {width:.0f} mm wide at {RETURN_PT:g} pt; envelope window "
        f"{profile.name} holds {available:.0f} mm: shorten letters.branding.return_address"
    )


def layout_geometry() -> dict[str, float]:
    """The numbers the letter layout places the block with (the context's ``envelope`` keys)."""
    return {
        "inset_mm": INSET_MM,
        "address_pt": ADDRESS_PT,
        "line_height": LINE_HEIGHT,
        "return_pt": RETURN_PT,
        "return_line_height": RETURN_LINE_HEIGHT,
        "return_top_mm": RETURN_TOP_MM,
    }


# --- names ---------------------------------------------------------------------------------------


def _name_part(name: PersonName) -> tuple[str, str]:
    """(initials or first name, surname with its prefix as in the middle of a name)."""
    given = clean_line(name.initials) or clean_line(name.first_name)
    surname = clean_line(name.surname)
    prefix = clean_line(name.tussenvoegsel).lower()
    if not given:
        leading = f"{prefix} {surname}".strip()
        return "", leading[:1].upper() + leading[1:]
    return given, f"{prefix} {surname}".strip()


def person_forms(name: PersonName) -> list[str]:
    """The ways to write one person on an address line, widest first."""
    given, surname = _name_part(name)
    person = f"{given} {surname}".strip()
    gender = name.gender.strip().upper()
    titles = {"V": ("Mevrouw", "Mevr."), "M": ("De heer", "Dhr.")}.get(gender)
    if titles is None:
        return [person]
    return [f"{titles[0]} {person}", f"{titles[1]} {person}", person]


def couple_forms(name: PersonName) -> list[str]:
    """A man and a woman with one surname, on one line, widest first."""
    prefix = clean_line(name.tussenvoegsel)
    surname = f"{prefix[:1].upper()}{prefix[1:].lower()} {clean_line(name.surname)}".strip()
    return [f"De heer en mevrouw {surname}", f"Dhr. en mevr. {surname}", f"Fam. {surname}"]


def _family(name: PersonName) -> tuple[str, str]:
    return (clean_line(name.tussenvoegsel).lower(), clean_line(name.surname).lower())


def _people(household: Household) -> list[PersonName]:
    return [
        r.name for r in household.residents if r.name is not None and clean_line(r.name.surname)
    ]


def _organisations(household: Household) -> list[str]:
    return [
        clean_line(r.organisation_name)
        for r in household.residents
        if r.is_organisation and clean_line(r.organisation_name)
    ]


def name_choices(household: Household, room: int) -> list[list[str]]:
    """The addressee lines as choices (each a list of forms, widest first), at most ``room``."""
    people = _people(household)
    if (
        len(people) == 2
        and _family(people[0]) == _family(people[1])
        and {p.gender.strip().upper() for p in people} == {"M", "V"}
    ):
        return [couple_forms(people[0])]
    if people:
        if len(people) <= room:
            return [person_forms(p) for p in people]
        shown = max(1, room - 1)
        rest = len(people) - shown
        more = f"en {rest} medebewoner{'s' if rest > 1 else ''}"
        return [*(person_forms(p) for p in people[:shown]), [more]]
    organisations = _organisations(household)
    if organisations:
        return [organisations[:1]]
    return [["De bewoner(s) van"]]


# --- the block ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddressBlock:
    """The lines of one household's address block, and whether (and why not) they fit."""

    lines: tuple[str, ...]
    problem: str = ""  # why the block does not fit the window; "" when it does
    incomplete: bool = False  # no postcode: the town alone ends it; flagged for the post

    @property
    def fits(self) -> bool:
        return not self.problem


def _first_fitting(forms: Sequence[str], fits: Callable[[str], bool]) -> str | None:
    return next((form for form in forms if fits(form)), None)


def _cleaned(address: Address) -> Address:
    return replace(
        address,
        street=clean_line(address.street),
        town=clean_line(address.town),
        postcode=clean_line(address.postcode),
        letter=clean_line(address.letter),
        addition=clean_line(address.addition),
        street_short=clean_line(address.street_short),
    )


def _address_lines(address: Address, fits: Callable[[str], bool]) -> tuple[list[str], str]:
    """(street line, town line) and a problem; the short street name where the full one is
    too wide and the source has one."""
    street, town = postnl_address_lines([], address)
    if not fits(street) and address.street_short:
        street, _ = postnl_address_lines([], replace(address, street=address.street_short))
    if not fits(street):
        hint = (
            "even with the official short street name"
            if address.street_short
            else "and the register has no official short street name (BAG korteNaam) for it"
        )
        return [street, town], f"the street line is wider than the envelope window {hint}"
    if not fits(town):
        return [street, town], "the postcode and town line is wider than the envelope window"
    return [street, town], ""


def address_block(household: Household, profile: EnvelopeProfile) -> AddressBlock:
    """The household's address block for this envelope window (see the module docstring)."""
    window = window_of(profile)
    address = _cleaned(household.unit.address)
    incomplete = not address.postcode
    try:
        street_and_town, problem = _address_lines(address, window.fits)
    except InvalidPostcode:
        raw = (clean_line(address.street), clean_line(address.town))
        return AddressBlock(raw, "the postcode is not a Dutch postcode", incomplete)
    names: list[str] = []
    for forms in name_choices(household, window.lines - 2):
        chosen = _first_fitting(forms, window.fits)
        if chosen is None:
            problem = problem or "a name line is wider than the envelope window, also shortened"
            chosen = forms[-1]
        names.append(chosen)
    lines = (*names, *street_and_town)
    if window.lines < 3:
        problem = problem or f"envelope window {profile.name} holds fewer than 3 address lines"
    return AddressBlock(tuple(lines), problem, incomplete)
