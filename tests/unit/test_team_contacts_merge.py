"""Table tests of the team contact list: row mapping and the merge rules against the register."""

from __future__ import annotations

from typing import Any

import pytest

from keukentafel.domain.model import (
    Address,
    ContactKind,
    ContactPoint,
    Household,
    PartyRole,
    PersonName,
    PracticalNeed,
    Resident,
    Tenure,
    Unit,
)
from keukentafel.domain.register import RejectReason, RowRejected
from keukentafel.domain.team_contacts import (
    Conflict,
    MatchKind,
    PreferredChannel,
    TeamContact,
    UnmatchedReason,
    merge_team_contacts,
    normalise_phone,
    split_house_number,
    team_contact_from_row,
    unknown_fields,
)

# --- the register -----------------------------------------------------------------------------


def _unit(code: str, number: int, letter: str = "", addition: str = "") -> Unit:
    return Unit(
        code=code,
        vera_id=f"id-{code}",
        complex_code="C1",
        address=Address("Kerkstraat", number, "1234 AB", "Utrecht", letter, addition),
        tenure=Tenure.CORPORATION_RENTAL,
    )


JANSEN = Resident(
    "R1",
    PersonName("Jansen", "P.", "Piet"),
    contacts=(ContactPoint(ContactKind.EMAIL, "piet@example.nl"),),
)
JANSEN_CO = Resident("R1b", PersonName("Bakker", "A.", "Anna"))
YILMAZ = Resident(
    "R2",
    PersonName("Yilmaz", "F.", "Fatma"),
    contacts=(ContactPoint(ContactKind.PHONE, "030-1234567", preferred=True),),
    language="tr",
)
DE_VRIES = Resident("R3", PersonName("Vries", "K.", tussenvoegsel="de"))

HOUSEHOLDS = [
    Household(_unit("VHE-1", 1), ((JANSEN, PartyRole.TENANT), (JANSEN_CO, PartyRole.CO_TENANT))),
    Household(_unit("VHE-2", 2, "A"), ((YILMAZ, PartyRole.TENANT),)),
    Household(_unit("VHE-3", 3, addition="2"), ((DE_VRIES, PartyRole.TENANT),)),
    Household(_unit("VHE-4", 4)),  # vacant
    # two units the ERP gives the same address (a data error the team cannot resolve)
    Household(_unit("VHE-5", 5), ((Resident("R5", PersonName("Smit")), PartyRole.TENANT),)),
    Household(_unit("VHE-5X", 5), ((Resident("R6", PersonName("Smid")), PartyRole.TENANT),)),
]


def tc(row: int = 2, **values: Any) -> TeamContact:
    return TeamContact(row=row, source="excel", **values)


# --- matching ------------------------------------------------------------------------------

MATCH_CASES = [
    # (description, team row, expected relation id or unmatched reason, match kind)
    ("by unit code", tc(unit_code="VHE-2"), "R2", MatchKind.UNIT_CODE),
    ("unit code with case and spaces", tc(unit_code=" vhe-2 "), "R2", MatchKind.UNIT_CODE),
    ("by address", tc(postcode="1234 AB", number=1), "R1", MatchKind.ADDRESS),
    (
        "letter written as addition",
        tc(postcode="1234 AB", number=2, addition="A"),
        "R2",
        MatchKind.ADDRESS,
    ),
    (
        "addition written as letter",
        tc(postcode="1234 AB", number=3, letter="2"),
        "R3",
        MatchKind.ADDRESS,
    ),
    (
        "unknown code falls back to the address",
        tc(unit_code="OLD-9", postcode="1234 AB", number=3, addition="2"),
        "R3",
        MatchKind.ADDRESS,
    ),
    ("unknown code, no address", tc(unit_code="VHE-99"), UnmatchedReason.UNKNOWN_UNIT, None),
    (
        "address without letter",
        tc(postcode="1234 AB", number=2),
        UnmatchedReason.UNKNOWN_UNIT,
        None,
    ),
    ("vacant unit", tc(unit_code="VHE-4"), UnmatchedReason.VACANT_UNIT, None),
    (
        "ambiguous address",
        tc(postcode="1234 AB", number=5),
        UnmatchedReason.AMBIGUOUS_ADDRESS,
        None,
    ),
    ("name hint picks co-tenant", tc(unit_code="VHE-1", relation_hint="A. Bakker"), "R1b", None),
    ("name hint with particles", tc(unit_code="VHE-3", relation_hint="Fam. de Vries"), "R3", None),
    ("name hint by first name", tc(unit_code="VHE-1", relation_hint="Piet"), "R1", None),
    (
        "name of a former tenant",
        tc(unit_code="VHE-2", relation_hint="Mevr. Visser"),
        UnmatchedReason.NAME_NOT_IN_HOUSEHOLD,
        None,
    ),
]


@pytest.mark.parametrize(
    ("row", "expected", "kind"),
    [case[1:] for case in MATCH_CASES],
    ids=[case[0] for case in MATCH_CASES],
)
def test_matching(
    row: TeamContact, expected: str | UnmatchedReason, kind: MatchKind | None
) -> None:
    result = merge_team_contacts(HOUSEHOLDS, [row])
    if isinstance(expected, UnmatchedReason):
        assert result.matches == []
        assert [(u.row, u.reason) for u in result.unmatched] == [(row.row, expected)]
        assert result.residents == {}
    else:
        assert result.unmatched == []
        assert [m.relation_id for m in result.matches] == [expected]
        if kind is not None:
            assert result.matches[0].kind is kind


def test_team_list_never_adds_or_removes_a_resident() -> None:
    rows = [tc(2, unit_code="VHE-4", mobile="+31611111111"), tc(3, unit_code="VHE-1")]
    result = merge_team_contacts(HOUSEHOLDS, rows)
    # nothing for the vacant unit, and the rows that add nothing change nobody
    assert result.residents == {}
    assert set(result.residents) <= {r.relation_id for h in HOUSEHOLDS for r in h.residents}


# --- what is added, what is a conflict ------------------------------------------------------

MERGE_CASES = [
    # (description, row, relation id, contacts after merge, conflicts as (field, unit))
    (
        "adds a mobile the ERP lacks",
        tc(unit_code="VHE-1", mobile="+31612345678"),
        "R1",
        {("email", "piet@example.nl", False), ("mobile", "+31612345678", False)},
        [],
    ),
    (
        "same e-mail in other case is no news",
        tc(unit_code="VHE-1", email="piet@example.nl"),
        None,
        None,
        [],
    ),
    (
        "different e-mail is a conflict, ERP kept",
        tc(unit_code="VHE-1", email="other@example.nl"),
        None,
        None,
        [("email", "VHE-1")],
    ),
    (
        "ERP phone written differently is no news",
        tc(unit_code="VHE-2", phone="+31301234567"),
        None,
        None,
        [],
    ),
    (
        "different phone is a conflict",
        tc(unit_code="VHE-2", phone="+31309999999"),
        None,
        None,
        [("phone", "VHE-2")],
    ),
    (
        "mobile added next to an ERP landline",
        tc(unit_code="VHE-2", mobile="+31612345678"),
        "R2",
        {("phone", "030-1234567", True), ("mobile", "+31612345678", False)},
        [],
    ),
    (
        "preferred channel marks the added e-mail",
        tc(unit_code="VHE-3", email="k@example.nl", preferred_channel=PreferredChannel.EMAIL),
        "R3",
        {("email", "k@example.nl", True)},
        [],
    ),
    (
        "a call can go to the added mobile",
        tc(unit_code="VHE-3", mobile="+31612345678", preferred_channel=PreferredChannel.PHONE),
        "R3",
        {("mobile", "+31612345678", True)},
        [],
    ),
    (
        "preferred channel against the ERP's preference",
        tc(unit_code="VHE-2", mobile="+31612345678", preferred_channel=PreferredChannel.MOBILE),
        "R2",
        {("phone", "030-1234567", True), ("mobile", "+31612345678", False)},
        [("preferred_channel", "VHE-2")],
    ),
    (
        "address differs from the unit's",
        tc(unit_code="VHE-1", postcode="1234 AB", number=9, mobile="+31612345678"),
        "R1",
        {("email", "piet@example.nl", False), ("mobile", "+31612345678", False)},
        [("address", "VHE-1")],
    ),
]


@pytest.mark.parametrize(
    ("row", "changed", "contacts", "conflicts"),
    [case[1:] for case in MERGE_CASES],
    ids=[case[0] for case in MERGE_CASES],
)
def test_merge_values(
    row: TeamContact,
    changed: str | None,
    contacts: set[tuple[str, str, bool]] | None,
    conflicts: list[tuple[str, str]],
) -> None:
    result = merge_team_contacts(HOUSEHOLDS, [row])
    assert [(c.field, c.unit_code) for c in result.conflicts] == conflicts
    assert all(c.kept.value == "erp" and c.row == row.row for c in result.conflicts)
    if changed is None:
        assert result.residents == {}
    else:
        assert list(result.residents) == [changed]
        merged = result.residents[changed]
        assert {(c.kind.value, c.value, c.preferred) for c in merged.contacts} == contacts


LANGUAGE_CASES = [
    # (ERP language, team language, language after merge, conflict?)
    ("nl", "tr", "tr", False),  # "nl" is the default: the team adds the language
    ("tr", "tr", "tr", False),
    ("tr", "ar", "tr", True),
    ("tr", "", "tr", False),
]


@pytest.mark.parametrize(("erp", "team", "after", "conflict"), LANGUAGE_CASES)
def test_language(erp: str, team: str, after: str, conflict: bool) -> None:
    resident = Resident("R9", PersonName("Kaya"), language=erp)
    households = [Household(_unit("VHE-9", 9), ((resident, PartyRole.TENANT),))]
    result = merge_team_contacts(households, [tc(unit_code="VHE-9", language=team)])
    merged = result.residents.get("R9", resident)
    assert merged.language == after
    assert [c.field for c in result.conflicts] == (["language"] if conflict else [])


def test_needs_are_added_and_preferences_kept_apart() -> None:
    row = tc(
        unit_code="VHE-3",
        needs=frozenset({PracticalNeed.INTERPRETER}),
        preferred_channel=PreferredChannel.VISIT,
        preferred_hours="na 16:00",
    )
    result = merge_team_contacts(HOUSEHOLDS, [row])
    assert result.residents["R3"].needs == {PracticalNeed.INTERPRETER}
    preference = result.preferences["R3"]
    assert (preference.channel, preference.hours, preference.unit_code) == (
        PreferredChannel.VISIT,
        "na 16:00",
        "VHE-3",
    )
    # a visit is no contact point: nothing is marked preferred
    assert all(not c.preferred for c in result.residents["R3"].contacts)


def test_duplicate_rows_first_wins_and_second_is_reported() -> None:
    rows = [
        tc(7, unit_code="VHE-3", mobile="+31611111111"),
        tc(4, unit_code="VHE-3", mobile="+31622222222"),
    ]
    result = merge_team_contacts(HOUSEHOLDS, rows)
    assert result.residents["R3"].contact(ContactKind.MOBILE) == "+31622222222"
    assert [(u.row, u.reason, u.unit_code) for u in result.unmatched] == [
        (7, UnmatchedReason.DUPLICATE_ROW, "VHE-3")
    ]


def test_first_source_wins_over_a_later_one() -> None:
    rows = [
        TeamContact(row=9, source="sharepoint_list", unit_code="VHE-3", mobile="+31611111111"),
        TeamContact(row=2, source="excel", unit_code="VHE-3", mobile="+31622222222"),
    ]
    result = merge_team_contacts(HOUSEHOLDS, rows)
    assert result.residents["R3"].contact(ContactKind.MOBILE) == "+31611111111"
    assert [(u.source, u.row, u.reason) for u in result.unmatched] == [
        ("excel", 2, UnmatchedReason.DUPLICATE_ROW)
    ]


def test_reports_carry_no_personal_data() -> None:
    rows = [
        tc(2, unit_code="VHE-1", email="other@example.nl", relation_hint="Piet Jansen"),
        tc(3, unit_code="VHE-2", relation_hint="Mevr. Visser"),
    ]
    result = merge_team_contacts(HOUSEHOLDS, rows)
    text = repr(result.conflicts) + repr(result.unmatched) + result.unmatched[0].detail
    for personal in ("other@example.nl", "Jansen", "Visser", "Piet"):
        assert personal not in text
    assert result.conflicts == [Conflict("VHE-1", "R1", "email", 2, "excel")]


# --- mapping raw rows -----------------------------------------------------------------------

COLUMNS = {
    "unit_code": "VHE",
    "postcode": "Postcode",
    "house_number": "Huisnr",
    "relation_hint": "Naam",
    "email": "E-mail",
    "mobile": "Mobiel",
    "phone": "Telefoon",
    "preferred_channel": "Voorkeur",
    "preferred_hours": "Tijden",
    "language": "Taal",
    "needs": "Bijzonderheden",
    "interpreter": "Tolk",
}


def test_row_mapping_full() -> None:
    raw = {
        "VHE": "VHE-2",
        "Postcode": "1234ab",
        "Huisnr": "2a",
        "Naam": "Yilmaz",
        "E-mail": "F.Yilmaz@Example.nl",
        "Mobiel": "06-12345678",
        "Telefoon": 301234567.0,  # Excel turned it into a number and dropped the 0
        "Voorkeur": "Bellen",
        "Tijden": "ochtend",
        "Taal": "Turks",
        "Bijzonderheden": "extra tijd; met twee personen",
        "Tolk": "ja",
    }
    with pytest.raises(RowRejected):
        team_contact_from_row(raw, COLUMNS, row=2, source="excel")
    raw["Telefoon"] = "0301234567"
    contact = team_contact_from_row(raw, COLUMNS, row=2, source="excel")
    assert contact == TeamContact(
        row=2,
        source="excel",
        unit_code="VHE-2",
        postcode="1234 AB",
        number=2,
        letter="A",
        relation_hint="Yilmaz",
        email="f.yilmaz@example.nl",
        mobile="+31612345678",
        phone="+31301234567",
        preferred_channel=PreferredChannel.PHONE,
        preferred_hours="ochtend",
        language="tr",
        needs=frozenset(
            {PracticalNeed.EXTRA_TIME, PracticalNeed.VISIT_WITH_TWO, PracticalNeed.INTERPRETER}
        ),
    )


REJECT_CASES = [
    ({}, RejectReason.MISSING_UNIT_CODE, "neither"),
    ({"Postcode": "12345", "Huisnr": "1"}, RejectReason.INVALID_POSTCODE, ""),
    ({"Postcode": "1234 AB", "Huisnr": "een"}, RejectReason.MISSING_ADDRESS, "house_number"),
    ({"VHE": "V1", "E-mail": "geen mail"}, RejectReason.MALFORMED, "email"),
    ({"VHE": "V1", "Mobiel": "12"}, RejectReason.MALFORMED, "mobile"),
    ({"VHE": "V1", "Voorkeur": "duif"}, RejectReason.MALFORMED, "preferred_channel"),
    ({"VHE": "V1", "Taal": "Klingon"}, RejectReason.MALFORMED, "language"),
    # a health detail typed into the needs column is not silently stored or dropped
    ({"VHE": "V1", "Bijzonderheden": "dementie"}, RejectReason.MALFORMED, "need"),
    ({"VHE": "V1", "Tolk": "misschien"}, RejectReason.MALFORMED, "interpreter"),
    ({"VHE": "V1", "Tijden": "x" * 61}, RejectReason.MALFORMED, "preferred_hours"),
]


@pytest.mark.parametrize(
    ("raw", "channel", "language"),
    [
        # words the spreadsheet source knew and the team lists once rejected: one vocabulary now
        ({"Voorkeur": "GSM", "Taal": "Italiaans"}, PreferredChannel.MOBILE, "it"),
        ({"Voorkeur": "e-mail", "Taal": "Oekraïens"}, PreferredChannel.EMAIL, "uk"),
        ({"Voorkeur": "Huisbezoek", "Taal": "DARI"}, PreferredChannel.VISIT, "fa"),
    ],
)
def test_team_lists_read_the_shared_vocabulary(
    raw: dict[str, Any], channel: PreferredChannel, language: str
) -> None:
    contact = team_contact_from_row({"VHE": "V1", **raw}, COLUMNS, row=3, source="excel")
    assert (contact.preferred_channel, contact.language) == (channel, language)


@pytest.mark.parametrize(("raw", "reason", "detail"), REJECT_CASES)
def test_row_rejects(raw: dict[str, Any], reason: RejectReason, detail: str) -> None:
    with pytest.raises(RowRejected) as caught:
        team_contact_from_row(raw, COLUMNS, row=5, source="sharepoint_list")
    assert caught.value.reason is reason
    assert detail in caught.value.detail
    for value in raw.values():  # the detail names the field, never the value
        if len(str(value)) > 4:
            assert str(value) not in caught.value.detail


def test_sharepoint_value_shapes() -> None:
    raw = {
        "VHE": "V1",
        "Huisnr": 12.0,
        "Postcode": "1234 AB",
        "Bijzonderheden": ["tolk", "interpreter"],  # multi-choice
        "Tolk": False,  # yes/no column
    }
    contact = team_contact_from_row(raw, COLUMNS, row=14, source="sharepoint_list")
    assert (contact.number, contact.needs) == (12, frozenset({PracticalNeed.INTERPRETER}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", (12, "", "")),
        ("12A", (12, "A", "")),
        ("12 a", (12, "A", "")),
        ("12-2", (12, "", "2")),
        ("12 A 3", (12, "A", "3")),
        ("12 bis", (12, "", "BIS")),
        ("12-hs", (12, "", "HS")),
    ],
)
def test_split_house_number(text: str, expected: tuple[int, str, str]) -> None:
    assert split_house_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("06-12345678", "+31612345678"),
        ("+31 (0)6 1234 5678", "+31612345678"),
        ("0031 6 12345678", "+31612345678"),
        ("+32 470 12 34 56", "+32470123456"),
    ],
)
def test_normalise_phone(text: str, expected: str) -> None:
    assert normalise_phone(text) == expected


def test_unknown_fields_in_mapping() -> None:
    assert unknown_fields({"unit_code": "VHE", "health": "Notitie"}) == ["health"]


# --- issue 9: hostile rows and unusable ERP addresses -----------------------------------------


def test_a_team_row_is_cleaned_and_its_e_mail_checked_like_the_erp() -> None:
    from connectors.email_addresses import check_email

    raw = {"VHE": "VHE-2", "Naam": "Yıl\u202emaz\r\n", "E-mail": "Fatma@Bücher.example"}
    contact = team_contact_from_row(raw, COLUMNS, row=4, source="excel", email_check=check_email)
    assert (contact.relation_hint, contact.email) == ("Yılmaz", "Fatma@xn--bcher-kva.example")
    with pytest.raises(RowRejected) as caught:
        team_contact_from_row(
            {"VHE": "V1", "E-mail": "f@example.invalid"},
            COLUMNS,
            row=5,
            source="excel",
            email_check=check_email,
        )
    assert caught.value.detail == (
        "email: e-mail address not usable: its domain is a reserved name that cannot receive e-mail"
    )


def test_an_erp_address_that_cannot_be_used_does_not_block_the_teams_address() -> None:
    broken = Resident(
        "R9",
        PersonName("Kaya", "A."),
        contacts=(ContactPoint(ContactKind.EMAIL, "geen", True, "it has no @-sign"),),
    )
    household = Household(_unit("VHE-9", 9), ((broken, PartyRole.TENANT),))
    result = merge_team_contacts(
        [household],
        [
            tc(
                unit_code="VHE-9",
                email="a.kaya@example.nl",
                preferred_channel=PreferredChannel.EMAIL,
            )
        ],
    )
    assert not result.conflicts
    merged = result.residents["R9"]
    assert merged.contact(ContactKind.EMAIL) == "a.kaya@example.nl"
    assert merged.contact_problems == broken.contacts  # the ERP's problem stays visible
