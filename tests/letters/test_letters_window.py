"""Addresses in the envelope window, proved from the PDF's text positions: the longest Dutch
street names and names are shortened as PostNL and NEN 5825 allow, every printed line lies inside
the window, and a block that still does not fit is set aside before anything is printed."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import pdfplumber
import pytest

from keukentafel.config.letters import EnvelopeProfile
from keukentafel.domain.model import (
    Address,
    Household,
    PartyRole,
    PersonName,
    Resident,
    Tenure,
    Unit,
)
from keukentafel.letters.context import salutation
from keukentafel.letters.pdf import render_chunk
from keukentafel.letters.preview import compose_sample
from keukentafel.letters.samples import SAMPLE_DATE, sample_letters_config
from keukentafel.letters.window import (
    ADDRESS_PT,
    SAFETY,
    address_block,
    clean_line,
    letter_font,
    return_address_problem,
    window_of,
)

PT_TO_MM = 25.4 / 72
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SECRET = b"window-secret-0123456789abcdef"
PROFILES = [
    EnvelopeProfile(name="DL-links", x=20, y=50, width=90, height=35),
    EnvelopeProfile(name="C5-rechts", x=110, y=45, width=85, height=40),
    EnvelopeProfile(name="laag", x=22, y=48, width=86, height=30),
]


def _unit(
    n: int, street: str, number: int, letter: str = "", addition: str = "", **kw: str
) -> Unit:
    address = Address(
        street=street,
        number=number,
        postcode=kw.get("postcode", "1234 AB"),
        town=kw.get("town", "Ons Dorp"),
        letter=letter,
        addition=addition,
        street_short=kw.get("short", ""),
    )
    return Unit(f"W{n:03d}", f"E{n}", "CPX-1", address, Tenure.CORPORATION_RENTAL)


def _person(
    n: int, surname: str, initials: str = "A.", gender: str = "V", prefix: str = ""
) -> Resident:
    name = PersonName(surname=surname, initials=initials, tussenvoegsel=prefix, gender=gender)
    return Resident(relation_id=f"R{n}", name=name)


def _home(n: int, unit: Unit, *people: Resident) -> Household:
    roles = [PartyRole.TENANT] + [PartyRole.CO_TENANT] * (len(people) - 1)
    return Household(unit, tuple(zip(people, roles, strict=True)))


NISPEN = "Burgemeester van Nispen tot Sevenaerstraat"


def hard_households() -> list[Household]:
    """The longest Dutch street names and names we know, and CR LF and bidi controls inside."""
    return [
        _home(
            1,
            _unit(1, NISPEN, 112, "A", "3", short="Burg v Nispen t Sevenaer"),
            _person(1, "Bakker"),
        ),
        _home(
            2,
            _unit(2, "Laan van Nieuw Oost-Indië", 1001, "B", "bis", town="Hardinxveld-Giessendam"),
            _person(2, "Lier-Brouwer-Baldewsingh", "J.H.M.", "M", "van"),
            _person(3, "Lier-Brouwer-Baldewsingh", "C.W.", "V", "van"),
        ),
        _home(
            3,
            _unit(3, "Kerkstraat", 8, addition="3-hoog"),
            *(
                _person(10 + i, s, "A.B.", "MV"[i % 2])
                for i, s in enumerate(
                    (
                        "Oudshoorn-Vermeulen",
                        "El Amrani-Bouzidi",
                        "Yılmaz-Öztürk",
                        "Nguyễn Thị Minh",
                        "Papadopoulou-Konstantinidou",
                    )
                )
            ),
        ),
        _home(
            4,
            _unit(4, "Dorps\r\nstraat\u202e", 12, "A", town="'s-Hertogenbosch"),
            _person(20, "de\r\nVries\u202e-Haddad", "J.\nP.", "V"),
        ),
        _home(5, _unit(5, "Molenweg", 4, "B", "2"), _person(21, "حداد", "ن.", "V")),
        _home(
            6,
            _unit(6, "Wethouder Van Eschstraat", 7, postcode="", town="Groningen"),
            _person(22, "Jansen", "P.", "M"),
        ),
    ]


def too_wide() -> list[Household]:
    """Blocks no shortening makes fit: they must be set aside, never printed clipped."""
    return [
        _home(7, _unit(7, NISPEN, 112, "A", "3"), _person(30, "Bakker")),  # no short name
        _home(
            8,
            _unit(8, "Dorpsstraat", 1),
            _person(31, "Wolfeschlegelsteinhausenbergerdorff-Vanderbiltsen", "A.B.C.D.E.", "M"),
        ),
    ]


def _lines_in(
    pdf_page: pdfplumber.page.Page, profile: EnvelopeProfile
) -> tuple[list[str], list[str]]:
    """(lines whose every character lies inside the window, characters that cross its edge)."""
    rows: dict[int, list[dict[str, float | str]]] = {}
    crossing = []
    for char in pdf_page.chars:
        x0, x1 = char["x0"] * PT_TO_MM, char["x1"] * PT_TO_MM
        top, bottom = char["top"] * PT_TO_MM, char["bottom"] * PT_TO_MM
        inside_x = profile.x <= x0 and x1 <= profile.x + profile.width
        inside_y = profile.y <= top and bottom <= profile.y + profile.height
        overlaps = (
            x0 < profile.x + profile.width
            and x1 > profile.x
            and top < profile.y + profile.height
            and bottom > profile.y
        )
        if overlaps and not (inside_x and inside_y):
            crossing.append(str(char["text"]))
        if inside_x and inside_y:
            rows.setdefault(round(char["top"] * 2), []).append(char)
    lines = []
    for _, row in sorted(rows.items()):
        row.sort(key=lambda c: float(c["x0"]))
        text, last_x1 = "", None
        for char in row:
            if last_x1 is not None and float(char["x0"]) - last_x1 > 1.0:
                text += " "
            text += str(char["text"])
            last_x1 = float(char["x1"])
        lines.append(text)
    return lines, crossing


@pytest.mark.slow
@pytest.mark.parametrize("profile", PROFILES, ids=[p.name for p in PROFILES])
def test_every_printed_address_line_lies_inside_the_window(profile: EnvelopeProfile) -> None:
    config = sample_letters_config().model_copy(update={"envelope": profile})
    households = hard_households()
    blocks = [address_block(h, profile) for h in households]
    assert all(block.fits for block in blocks), [b.problem for b in blocks if not b.fits]
    composed = [
        compose_sample("announcement", h, on=SAMPLE_DATE, config=config, secret=SECRET, now=NOW)
        for h in households
    ]
    chunk = render_chunk([c.letter.html for c in composed])  # without summaries: page 1 each
    with pdfplumber.open(io.BytesIO(chunk.pdf)) as pdf:
        first_pages = []
        page = 0
        for count in chunk.pages:
            first_pages.append(pdf.pages[page])
            page += count
        for household, block, pdf_page in zip(households, blocks, first_pages, strict=True):
            lines, crossing = _lines_in(pdf_page, profile)
            assert crossing == [], f"{household.unit.code}: {''.join(crossing)}"
            expected = list(block.lines)  # PostNL's two spaces before the town included
            # the return address first, then exactly the block (Arabic reads right to left)
            assert lines[0].startswith("Woonstichting Voorbeeld")
            printed = lines[1:]
            if household.unit.code == "W005":  # laid out right to left: same characters
                assert printed[0].startswith("Mevrouw ")
                assert sorted(printed[0].replace(" ", "")) == sorted(expected[0].replace(" ", ""))
                printed[0] = expected[0]
            assert printed == expected, household.unit.code
    assert min(len(b.lines) for b in blocks) >= 3 and max(len(b.lines) for b in blocks) <= 6


def test_how_the_blocks_are_shortened() -> None:
    profile = PROFILES[0]
    one, couple, five, hostile, arabic, no_postcode = (
        address_block(h, profile).lines for h in hard_households()
    )
    number = hard_households()[0].unit.address.house_number  # as domain.addressing writes it
    assert one == ("Mevrouw A. Bakker", f"Burg v Nispen t Sevenaer {number}", "1234 AB  ONS DORP")
    assert couple == (  # "De heer en mevrouw ..." and "Dhr. en mevr. ..." are too wide here
        "Fam. Van Lier-Brouwer-Baldewsingh",
        "Laan van Nieuw Oost-Indië 1001 Bbis",  # NEN 5825: letter and addition joined
        "1234 AB  HARDINXVELD-GIESSENDAM",
    )
    yilmaz = _home(
        9,
        _unit(9, "Dorpsstraat", 2),
        _person(40, "Yılmaz", gender="M"),
        _person(41, "Yılmaz", "E.", "V"),
    )
    assert address_block(yilmaz, profile).lines[0] == "De heer en mevrouw Yılmaz"
    # five co-tenants: the window holds four name lines; the salutation still names all five
    assert five[:4] == (
        "De heer A.B. Oudshoorn-Vermeulen",
        "Mevrouw A.B. El Amrani-Bouzidi",
        "De heer A.B. Yılmaz-Öztürk",
        "en 2 medebewoners",
    )
    assert "Papadopoulou-Konstantinidou" in salutation(hard_households()[2])
    assert hostile == (
        "Mevrouw J. P. de Vries -Haddad",
        f"Dorps straat {hard_households()[3].unit.address.house_number}",
        "1234 AB  'S-HERTOGENBOSCH",
    )
    assert arabic[0] == "Mevrouw ن. حداد"
    assert no_postcode[-1] == "GRONINGEN"  # the town alone, as BAG writes it
    assert address_block(hard_households()[5], profile).incomplete
    assert not address_block(hard_households()[0], profile).incomplete
    # a smaller window holds fewer lines: then fewer names and "en 3 medebewoners"
    small = address_block(hard_households()[2], PROFILES[2])
    assert window_of(PROFILES[2]).lines == 4 and small.lines[1] == "en 4 medebewoners"


def test_blocks_that_do_not_fit_are_set_aside_with_their_reason() -> None:
    long_street, long_name = (address_block(h, PROFILES[0]) for h in too_wide())
    assert not long_street.fits and "no official short street name" in long_street.problem
    assert not long_name.fits and "name line" in long_name.problem
    for block in (long_street, long_name):  # reasons for the operator: no names, no streets
        assert "Nispen" not in block.problem and "Wolfe" not in block.problem


@pytest.mark.slow
def test_a_mailing_sets_aside_what_does_not_fit_before_anything_is_printed(
    tmp_path: object,
) -> None:
    from pathlib import Path

    from keukentafel.letters.preview import write_sample_mailing

    out = Path(str(tmp_path))
    households = [*hard_households()[:2], *too_wide()]
    summary = write_sample_mailing(
        "newsletter",
        households,
        sample_letters_config(),
        out,
        on=SAMPLE_DATE,
        secret=SECRET,
        workers=1,
    )
    assert summary.letters == 2 and [u for u, _ in summary.set_aside] == ["W007", "W008"]
    manifest = summary.manifest.read_text(encoding="utf-8-sig")
    assert "W007" not in manifest and "W008" not in manifest
    assert sorted(p.name for p in (out / "archief").iterdir()) == ["0001-W001.pdf", "0002-W002.pdf"]


def test_the_measure_is_never_narrower_than_the_pdf() -> None:
    texts = [
        "Burg v Nispen t Sevenaer 112A-3",
        "De heer en mevrouw Van Lier-Brouwer-Baldewsingh",
        "1234 AB  'S-HERTOGENBOSCH",
        "Mevrouw A.B. Yılmaz-Öztürk",
        "WWWWWWWWWW iiiiiiii",
    ]
    html = (
        "<html><body style='margin:0'>"
        + "".join(
            f"<p style='font: {ADDRESS_PT}pt \"DejaVu Sans\"; white-space: pre; margin: 0'>{t}</p>"
            for t in texts
        )
        + "</body></html>"
    )
    chunk = render_chunk([html])
    with pdfplumber.open(io.BytesIO(chunk.pdf)) as pdf:
        words = pdf.pages[0].extract_text_lines()
    for text, line in zip(texts, words, strict=True):
        printed = (line["x1"] - line["x0"]) * PT_TO_MM
        measured = letter_font().width_mm(text, ADDRESS_PT)
        assert printed <= measured <= printed * SAFETY * 1.05, text


def test_the_return_address_must_fit_its_line() -> None:
    profile = PROFILES[2]
    assert (
        return_address_problem(profile, "Woonstichting Voorbeeld, Postbus 12, 1000 AA  AMSTERDAM")
        == ""
    )
    long = "Stichting Woonbelang Hardinxveld-Giessendam en Omstreken, Postbus 12345, 1000 AA  AMSTERDAM"
    assert "shorten letters.branding.return_address" in return_address_problem(profile, long)


def test_lines_lose_control_and_direction_characters() -> None:
    assert clean_line("de\r\nVries\u202e\u2066 x\x00") == "de Vries x"
    shorter = replace(hard_households()[0].unit.address, street_short="")
    assert shorter.street_short == ""
