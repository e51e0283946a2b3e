"""Context builders: salutations, address names, Dutch dates, language fallback, the full dict."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from keukentafel.domain.model import (
    Address,
    Household,
    PartyRole,
    PersonName,
    Resident,
    Tenure,
    Unit,
)
from keukentafel.letters.context import (
    Event,
    address_lines,
    build_context,
    dutch_details,
    event_context,
    name_lines,
    nl_date,
    nl_datetime,
    nl_time,
    nl_weekday_date,
    salutation,
)
from keukentafel.letters.samples import sample_letters_config, sample_project


def _unit(number: int = 12, letter: str = "A", addition: str = "") -> Unit:
    address = Address("Dorpsstraat", number, "1234 AB", "Ons Dorp", letter, addition)
    return Unit("0012", "V-12", "CPX", address, Tenure.CORPORATION_RENTAL)


def _household(*names: PersonName | str, unit: Unit | None = None) -> Household:
    members = []
    for index, name in enumerate(names):
        if isinstance(name, str):
            resident = Resident(f"R{index}", None, organisation_name=name)
        else:
            resident = Resident(f"R{index}", name)
        members.append((resident, PartyRole.TENANT if index == 0 else PartyRole.CO_TENANT))
    return Household(unit or _unit(), tuple(members))


DE_VRIES = PersonName(surname="Vries", tussenvoegsel="de", initials="J.", gender="V")
BAKKER = PersonName(surname="Bakker", initials="P.", gender="M")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ((DE_VRIES,), "Beste mevrouw De Vries"),
        ((BAKKER,), "Beste meneer Bakker"),
        (
            (
                PersonName(surname="Yılmaz", initials="A.", gender="M"),
                PersonName(surname="Yılmaz", initials="E.", gender="V"),
            ),
            "Beste heer en mevrouw Yılmaz",
        ),
        ((DE_VRIES, BAKKER), "Beste mevrouw De Vries en meneer Bakker"),
        (
            (
                PersonName(surname="Berg", tussenvoegsel="van den", gender="V"),
                PersonName(surname="Berg", tussenvoegsel="van den", gender="M"),
            ),
            "Beste heer en mevrouw Van den Berg",
        ),
        (
            (
                PersonName(surname="Jansen", initials="A.", gender="V"),
                PersonName(surname="Jansen", initials="B.", gender="V"),
            ),
            "Beste mevrouw A. Jansen en mevrouw B. Jansen",
        ),
        (
            (PersonName(surname="Jansen", tussenvoegsel="van der", first_name="Sam"),),
            "Beste Sam van der Jansen",
        ),
        (
            (PersonName(surname="Jansen", tussenvoegsel="van der", initials="S."),),
            "Beste S. van der Jansen",
        ),
        ((PersonName(surname="Smit"),), "Beste heer of mevrouw Smit"),
        (("Stichting Thuis",), "Beste medewerker van Stichting Thuis"),
        # the address block's own street line (keukentafel.domain.addressing), never another
        ((), "Beste bewoner(s) van {street_line}"),
        ((PersonName(surname="  "),), "Beste bewoner(s) van {street_line}"),
    ],
)
def test_salutation(names: tuple[PersonName | str, ...], expected: str) -> None:
    household = _household(*names)
    assert salutation(household) == expected.format(street_line=household.unit.address.street_line)


def test_salutation_never_has_a_hole_or_organisation_formality() -> None:
    text = salutation(_household("Ö'Brien & Zn."))
    assert text == "Beste medewerker van Ö'Brien & Zn."
    assert "Geachte" not in text


def test_vacant_fallback_names_letter_and_addition() -> None:
    assert (
        salutation(_household(unit=_unit(14, "", "2"))) == "Beste bewoner(s) van Dorpsstraat 14-2"
    )
    household = _household(unit=_unit(12, "A", ""))
    assert salutation(household).endswith(address_lines(household)[-2])  # as the block says


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ((DE_VRIES,), ["Mevrouw J. de Vries"]),
        ((BAKKER,), ["De heer P. Bakker"]),
        (
            (
                PersonName(surname="Yılmaz", initials="A.", gender="M"),
                PersonName(surname="Yılmaz", initials="E.", gender="V"),
            ),
            ["De heer en mevrouw Yılmaz"],
        ),
        ((DE_VRIES, BAKKER), ["Mevrouw J. de Vries", "De heer P. Bakker"]),
        ((PersonName(surname="Vries", tussenvoegsel="de", gender="V"),), ["Mevrouw De Vries"]),
        (("Stichting Thuis",), ["Stichting Thuis"]),
        ((), ["De bewoner(s) van"]),
    ],
)
def test_name_lines(names: tuple[PersonName | str, ...], expected: list[str]) -> None:
    assert name_lines(_household(*names)) == expected


def test_address_block_is_postnl_shaped() -> None:
    lines = address_lines(_household(DE_VRIES, BAKKER))
    assert lines == [
        "Mevrouw J. de Vries",
        "De heer P. Bakker",
        "Dorpsstraat 12 A",
        "1234 AB  ONS DORP",
    ]
    assert 3 <= len(lines) <= 6


def test_dutch_dates_and_times_without_locale() -> None:
    assert nl_date(date(2026, 3, 3)) == "3 maart 2026"
    assert nl_weekday_date(date(2026, 3, 3)) == "dinsdag 3 maart 2026"
    assert nl_time(time(9, 5)) == "9.05 uur"
    assert nl_datetime(datetime(2026, 3, 3, 19, 30)) == "dinsdag 3 maart 2026 om 19.30 uur"
    # An aware UTC moment is shown in Amsterdam time (summer time: UTC+2).
    utc = datetime(2026, 7, 1, 17, 30, tzinfo=ZoneInfo("UTC"))
    assert nl_datetime(utc) == "woensdag 1 juli 2026 om 19.30 uur"


def test_event_context_texts() -> None:
    event = Event(
        "avond-1",
        "Bewonersavond",
        datetime(2026, 3, 3, 19, 30),
        datetime(2026, 3, 3, 21, 0),
        "Buurthuis",
        "Lindelaan 4",
    )
    ctx = event_context(event)
    assert ctx["start_text"] == "dinsdag 3 maart 2026 om 19.30 uur"
    assert ctx["date_text"] == "dinsdag 3 maart 2026"
    assert (ctx["time_text"], ctx["end_time_text"]) == ("19.30 uur", "21.00 uur")
    assert ctx["online_url"] == ""


def test_event_must_end_after_start() -> None:
    with pytest.raises(ValueError, match="end is not after start"):
        Event("x", "t", datetime(2026, 3, 3, 20), datetime(2026, 3, 3, 19), "a", "b")


def _with_language(language: str) -> Household:
    resident = Resident("R1", DE_VRIES, language=language)
    return Household(_unit(), ((resident, PartyRole.TENANT),))


def test_language_falls_back_to_dutch_without_a_summary() -> None:
    config, project = sample_letters_config(), sample_project()
    on = date(2026, 11, 28)
    turkish = build_context(
        "announcement", _with_language("tr"), letters_config=config, project=project, on=on
    )
    polish = build_context(
        "announcement", _with_language("pl"), letters_config=config, project=project, on=on
    )
    no_summaries = build_context(
        "proposal", _with_language("tr"), letters_config=config, project=project, on=on
    )
    assert turkish["household"]["language"] == "tr"
    assert polish["household"]["language"] == "nl"
    assert no_summaries["household"]["language"] == "nl"


def test_build_context_has_every_contract_key() -> None:
    ctx = build_context(
        "home_visit",
        _household(DE_VRIES),
        letters_config=sample_letters_config(),
        project=sample_project(),
        on=date(2026, 11, 28),
        response_link="https://example.nl/r/v1.a.b",
        qr_svg="<svg></svg>",
    )
    assert set(ctx) >= {
        "corporation",
        "project",
        "contact",
        "household",
        "letter",
        "response",
        "event",
        "details",
        "envelope",
        "layout",
    }
    assert set(ctx["corporation"]) >= {"name", "logo_url", "colour", "return_address", "website"}
    assert set(ctx["contact"]) == {"name", "role", "phone", "email"}
    assert set(ctx["household"]) == {
        "unit_code",
        "salutation",
        "address_lines",
        "street_line",
        "language",
        "is_owner_occupier",
    }
    assert ctx["letter"] == {
        "date_text": "28 november 2026",
        "reference": "CYE-EN7M",  # the short one (domain.references), never the internal code
        "registered": False,
    }
    # Without a plan the deadline is computed as a mailing would (two weeks on); the QR is marked safe markup.
    assert ctx["response"]["deadline_text"] == "zaterdag 12 december 2026"
    assert hasattr(ctx["response"]["qr_svg"], "__html__")
    assert ctx["event"] is None and ctx["details"] == {}
    assert ctx["envelope"] == {
        "x_mm": 20.0,
        "y_mm": 50.0,
        "width_mm": 90.0,
        "height_mm": 35.0,
        # the geometry the address block is measured with (keukentafel.letters.window)
        "inset_mm": 4.0,
        "address_pt": 11.0,
        "line_height": 1.15,
        "return_pt": 7.0,
        "return_line_height": 1.2,
        "return_top_mm": 2.0,
    }
    assert ctx["layout"] == "_base/letter.html"
    # the street line of the address block, as a sentence prints it
    assert ctx["household"]["street_line"] == ctx["household"]["address_lines"][-2]


def test_no_response_without_a_link() -> None:
    ctx = build_context(
        "announcement",
        _household(DE_VRIES),
        letters_config=sample_letters_config(),
        project=sample_project(),
        on=date(2026, 11, 28),
    )
    assert ctx["response"] is None


def test_dates_in_the_details_are_written_out_in_dutch() -> None:
    details = {"notice_date": date(2026, 11, 28), "objection_deadline": date(2027, 1, 23)}
    found = dutch_details({**details, "share_text": "74%", "at": datetime(2027, 1, 1, 9, 0)})
    assert found["notice_date_text"] == "28 november 2026"
    assert found["objection_deadline_text"] == "23 januari 2027"
    assert found["share_text"] == "74%" and "at_text" not in found  # moments are not days
    assert found["notice_date"] == details["notice_date"]
