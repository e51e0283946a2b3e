"""Tables of real-looking VERA items through the pure mapping functions."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from connectors.erp.vera.mapping import (
    agreement_kind,
    language_of,
    lease_id_of,
    map_lease,
    map_relation,
    map_unit,
    needs_unit_lookup,
    normalise_initials,
    relation_id_of,
    unit_id_of,
)
from keukentafel.domain.model import (
    Address,
    AgreementKind,
    ContactKind,
    ContactPoint,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    PersonName,
    Tenure,
)
from keukentafel.domain.register import EntityKind, RejectReason, RowRejected, map_rows

UNIT: dict[str, Any] = {
    "id": "EH-0000042",
    "code": "VHE000042",
    "idExtern": "TOB-42",
    "soort": {"code": "WOO", "naam": "Woonruimte"},
    "status": {"code": "VEH", "naam": "Verhuurd"},
    "adres": {
        "soort": {"code": "EEN"},
        "straatnaam": "Lindenlaan",
        "huisnummer": "12",
        "postcode": "1234ab",
        "woonplaats": {"code": "3003", "naam": "Deventer"},
    },
    "clusters": [
        {"code": "WIJK-07", "soort": {"code": "WIJ"}},
        {"code": "CPX-0003", "soort": {"code": "FIN", "naam": "Financieel"}},
    ],
}


def unit_with(changes: dict[str, Any], address: dict[str, Any] | None = None) -> dict[str, Any]:
    item = copy.deepcopy(UNIT)
    for key, value in changes.items():
        if value is _DROP:
            item.pop(key, None)
        else:
            item[key] = value
    for key, value in (address or {}).items():
        if value is _DROP:
            item["adres"].pop(key, None)
        else:
            item["adres"][key] = value
    return item


_DROP = object()


def test_a_complete_unit_maps_to_its_domain_value() -> None:
    unit = map_unit(UNIT)
    assert unit.code == "VHE000042"
    assert unit.vera_id == "EH-0000042"
    assert unit.complex_code == "CPX-0003"  # the FIN cluster, not the district
    assert unit.address == Address("Lindenlaan", 12, "1234 AB", "Deventer")
    assert unit.tenure is Tenure.CORPORATION_RENTAL


@pytest.mark.parametrize(
    ("address", "number", "letter", "addition", "house_number"),
    [
        # NEN 5825 as BAG's adresregel5: letter and addition joined, after "-" when that
        # starts with a digit, after a space otherwise
        ({"huisletter": "A"}, 12, "A", "", "12 A"),
        ({"huisnummerToevoeging": "2"}, 12, "", "2", "12-2"),
        ({"huisnummerToevoeging": "-3"}, 12, "", "3", "12-3"),
        ({"huisletter": "b", "huisnummerToevoeging": "1"}, 12, "b", "1", "12 b1"),
        ({"huisnummerToevoeging": "bis"}, 12, "", "bis", "12 bis"),
        ({"huisnummer": "12A"}, 12, "A", "", "12 A"),  # letter in the number field
        ({"huisnummer": "12-2"}, 12, "", "2", "12-2"),
        ({"huisnummer": "12 hs"}, 12, "", "hs", "12 hs"),
        ({"huisnummer": 7}, 7, "", "", "7"),  # a number where the contract says string
        ({"huisletter": "huis"}, 12, "", "huis", "12 huis"),  # not a BAG letter: an addition
        ({"huisnummerToevoeging": "3-hoog"}, 12, "", "3-hoog", "12-3-hoog"),
        ({"huisletter": None, "huisnummerToevoeging": None}, 12, "", "", "12"),
    ],
)
def test_house_numbers_letters_and_additions(
    address: dict[str, Any], number: int, letter: str, addition: str, house_number: str
) -> None:
    unit = map_unit(unit_with({}, address))
    assert (unit.address.number, unit.address.letter, unit.address.addition) == (
        number,
        letter,
        addition,
    )
    assert unit.address.house_number == house_number


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"code": _DROP}, "TOB-42"),  # idExtern when there is no code
        ({"code": None}, "TOB-42"),
        ({"code": "  VHE000042 "}, "VHE000042"),
    ],
)
def test_unit_code_falls_back_to_id_extern(changes: dict[str, Any], code: str) -> None:
    assert map_unit(unit_with(changes)).code == code


@pytest.mark.parametrize(
    ("changes", "address", "reason", "unit_code"),
    [
        ({"code": _DROP, "idExtern": _DROP}, None, RejectReason.MISSING_UNIT_CODE, ""),
        ({"code": None, "idExtern": ""}, None, RejectReason.MISSING_UNIT_CODE, ""),
        ({"adres": _DROP}, None, RejectReason.MISSING_ADDRESS, "VHE000042"),
        ({"adres": None}, None, RejectReason.MISSING_ADDRESS, "VHE000042"),
        ({}, {"straatnaam": _DROP}, RejectReason.MISSING_ADDRESS, "VHE000042"),
        ({}, {"huisnummer": None}, RejectReason.MISSING_ADDRESS, "VHE000042"),
        ({}, {"huisnummer": "zonder"}, RejectReason.MISSING_ADDRESS, "VHE000042"),
        ({}, {"woonplaats": _DROP}, RejectReason.MISSING_ADDRESS, "VHE000042"),
        ({}, {"postcode": "123 AB"}, RejectReason.INVALID_POSTCODE, "VHE000042"),
        ({}, {"postcode": "0123 AB"}, RejectReason.INVALID_POSTCODE, "VHE000042"),
        ({}, {"postcode": "1234 SS"}, RejectReason.INVALID_POSTCODE, "VHE000042"),
        ({}, {"postcode": "12AB"}, RejectReason.INVALID_POSTCODE, "VHE000042"),
        ({"adres": "Lindenlaan 12"}, None, RejectReason.MALFORMED, "VHE000042"),
        ({"clusters": "CPX-0003"}, None, RejectReason.MALFORMED, "VHE000042"),
        ({}, {"straatnaam": {"naam": "Lindenlaan"}}, RejectReason.MALFORMED, "VHE000042"),
    ],
)
def test_unusable_units_are_rejected_with_a_reason_and_their_code(
    changes: dict[str, Any],
    address: dict[str, Any] | None,
    reason: RejectReason,
    unit_code: str,
) -> None:
    with pytest.raises(RowRejected) as caught:
        map_unit(unit_with(changes, address))
    assert caught.value.reason is reason
    assert caught.value.unit_code == unit_code


def test_a_bad_postcode_detail_does_not_repeat_the_value() -> None:
    with pytest.raises(RowRejected) as caught:
        map_unit(unit_with({}, {"postcode": "9999 QQQ"}))
    assert "9999" not in caught.value.detail


@pytest.mark.parametrize(
    ("changes", "tenure"),
    [
        ({"status": {"code": "LEE", "naam": "Leegstand"}}, Tenure.VACANT),
        (
            {"status": {"code": "UIT"}, "uitExploitatieReden": {"code": "VAH"}},
            Tenure.OWNER_OCCUPIED,
        ),
        (
            {"status": {"code": "UIT"}, "uitExploitatieReden": {"code": "VAO"}},
            Tenure.OWNER_OCCUPIED,
        ),
        ({"status": {"code": "VEK"}}, Tenure.OWNER_OCCUPIED),  # deprecated "sold" status
        (
            {"status": {"code": "UIT"}, "uitExploitatieReden": {"code": "VAB"}},
            Tenure.PRIVATE_RENTAL,
        ),
        ({"status": {"code": "ADM"}}, Tenure.PRIVATE_RENTAL),
        ({"inExploitatieReden": {"code": "ADM"}}, Tenure.PRIVATE_RENTAL),
        (
            {"status": {"code": "UIT"}, "uitExploitatieReden": {"code": "REN"}},
            Tenure.CORPORATION_RENTAL,
        ),
        ({"status": _DROP}, Tenure.CORPORATION_RENTAL),
        ({"status": "lee"}, Tenure.VACANT),  # a bare code instead of a Referentiedata object
    ],
)
def test_tenure_from_status_and_ownership(changes: dict[str, Any], tenure: Tenure) -> None:
    assert map_unit(unit_with(changes)).tenure is tenure


def test_a_unit_without_a_cluster_of_the_kind_has_no_complex() -> None:
    assert map_unit(unit_with({"clusters": _DROP})).complex_code == ""
    assert map_unit(UNIT, cluster_kind="WIJ").complex_code == "WIJK-07"


# --- relations ---------------------------------------------------------------------------

PERSON: dict[str, Any] = {
    "id": "REL-0000007",
    "soort": {"code": "NAT"},
    "voorletters": "J.P.",
    "voornaam": "Johannes Petrus",
    "roepnaam": "Jan",
    "tussenvoegsels": "Van der",
    "achternaam": "Meer",
    "geslacht": {"code": "M"},
    "contactgegevens": [
        {"soort": {"code": "TEL"}, "waarde": "0570-123456"},
        {"soort": {"code": "EMA"}, "waarde": "jan.werk@example.com", "voorkeur": {"code": "TWE"}},
        {"soort": {"code": "EMA"}, "waarde": "jan@example.com", "voorkeur": {"code": "EER"}},
        {"soort": {"code": "MOB"}, "waarde": "06-12345678"},
        {"soort": {"code": "FAX"}, "waarde": "0570-654321"},
        {"soort": {"code": "TEL"}, "waarde": "0570-000000", "status": {"code": "ONG"}},
    ],
}


def relation_with(**changes: Any) -> dict[str, Any]:
    item = copy.deepcopy(PERSON)
    for key, value in changes.items():
        if value is _DROP:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def test_a_person_with_tussenvoegsel_and_several_contacts() -> None:
    resident = map_relation(PERSON)
    assert resident.relation_id == "REL-0000007"
    assert resident.name == PersonName("Meer", "J.P.", "Jan", "van der", "M")
    assert resident.organisation_name == ""
    assert resident.language == "nl"
    assert resident.contacts == (
        ContactPoint(ContactKind.EMAIL, "jan@example.com", True),
        ContactPoint(ContactKind.EMAIL, "jan.werk@example.com", False),
        ContactPoint(ContactKind.MOBILE, "06-12345678", False),
        ContactPoint(ContactKind.PHONE, "0570-123456", False),
    )  # the fax and the number marked invalid are left out
    assert resident.contact(ContactKind.EMAIL) == "jan@example.com"
    assert resident.contact(ContactKind.PHONE) == "0570-123456"


def test_contact_order_does_not_depend_on_the_erp_order() -> None:
    shuffled = relation_with(contactgegevens=list(reversed(PERSON["contactgegevens"])))
    assert map_relation(shuffled) == map_relation(PERSON)


def test_the_preferred_channel_comes_first() -> None:
    resident = map_relation(relation_with(communicatievoorkeur={"code": "MOB"}))
    assert resident.contacts[0] == ContactPoint(ContactKind.MOBILE, "06-12345678", False)
    assert resident.contact(ContactKind.EMAIL) == "jan@example.com"


@pytest.mark.parametrize(
    ("contacts", "expected"),
    [
        ([], ()),
        (None, ()),
        (
            [
                {"soort": {"code": "MOB"}, "waarde": "06-11111111", "voorkeur": {"code": "TWE"}},
                {"soort": {"code": "MOB"}, "waarde": "06-22222222", "voorkeur": {"code": "EER"}},
            ],
            (
                ContactPoint(ContactKind.MOBILE, "06-22222222", True),
                ContactPoint(ContactKind.MOBILE, "06-11111111", False),
            ),
        ),
        (  # the same address twice: once, and preferred
            [
                {"soort": {"code": "EMA"}, "waarde": "a@example.org"},
                {
                    "soort": {"code": "EMA"},
                    "waarde": " a@example.org ",
                    "voorkeur": {"code": "EER"},
                },
            ],
            (ContactPoint(ContactKind.EMAIL, "a@example.org", True),),
        ),
        (  # fields missing anywhere
            [{"soort": None, "waarde": "x"}, {"waarde": "06-1"}, {"soort": {"code": "TEL"}}, {}],
            (),
        ),
    ],
)
def test_contact_tables(contacts: Any, expected: tuple[ContactPoint, ...]) -> None:
    assert map_relation(relation_with(contactgegevens=contacts)).contacts == expected


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"voorletters": _DROP, "initialen": "JP"}, PersonName("Meer", "J.P.", "Jan", "van der", "M")),
        ({"roepnaam": _DROP}, PersonName("Meer", "J.P.", "Johannes Petrus", "van der", "M")),
        ({"tussenvoegsels": _DROP}, PersonName("Meer", "J.P.", "Jan", "", "M")),
        ({"tussenvoegsels": "in 't"}, PersonName("Meer", "J.P.", "Jan", "in 't", "M")),
        ({"geslacht": {"code": "V"}}, PersonName("Meer", "J.P.", "Jan", "van der", "V")),
        ({"geslacht": {"code": "Q"}}, PersonName("Meer", "J.P.", "Jan", "van der", "")),
        ({"achternaam": None, "aanschrijfnaam": "Meer-Jansen"}, PersonName("Meer-Jansen", "J.P.", "Jan", "van der", "M")),
        ({"soort": _DROP}, PersonName("Meer", "J.P.", "Jan", "van der", "M")),
        (
            {k: _DROP for k in ("voorletters", "voornaam", "roepnaam", "tussenvoegsels", "geslacht")},
            PersonName("Meer"),
        ),
    ],
)  # fmt: skip
def test_person_name_tables(changes: dict[str, Any], name: PersonName) -> None:
    resident = map_relation(relation_with(**changes))
    assert resident.name == name
    assert not resident.is_organisation


@pytest.mark.parametrize(
    "item",
    [
        {
            "id": "REL-9",
            "soort": {"code": "REC"},
            "naam": "Stichting Begeleid Thuis",
            "kvkNummer": "1",
        },
        {"id": "REL-9", "soort": {"code": "GRO"}, "naam": "Stichting Begeleid Thuis"},
        {"id": "REL-9", "naam": "Stichting Begeleid Thuis"},  # no soort: a name only
    ],
)
def test_an_organisation_instead_of_a_person(item: dict[str, Any]) -> None:
    resident = map_relation(item)
    assert resident.is_organisation
    assert resident.name is None
    assert resident.organisation_name == "Stichting Begeleid Thuis"


@pytest.mark.parametrize(
    ("code", "language"),
    [("TUR", "tr"), ("ara", "ar"), ("POL", "pl"), ("ENG", "en"), ("NLD", "nl"), ("DUI", "de"),
     ("", "nl"), ("EN", "en"), ("XYZ", "xyz")],
)  # fmt: skip
def test_preferred_language(code: str, language: str) -> None:
    assert language_of(code) == language
    item = relation_with(voorkeurstaal={"code": code} if code else None)
    assert map_relation(item).language == language


@pytest.mark.parametrize(
    ("text", "initials"),
    [("JP", "J.P."), ("J P", "J.P."), ("j.p", "J.P."), ("J. P.", "J.P."), ("Th.", "Th."), ("", "")],
)
def test_initials_are_normalised(text: str, initials: str) -> None:
    assert normalise_initials(text) == initials


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"soort": {"code": "NAT"}, "achternaam": "Meer"}, RejectReason.MISSING_ID),
        ({"id": None, "idExtern": ""}, RejectReason.MISSING_ID),
        ("REL-1", RejectReason.MALFORMED),
        ({"id": "REL-1", "contactgegevens": "jan@example.com"}, RejectReason.MALFORMED),
        ({"id": "REL-1", "contactgegevens": ["jan@example.com"]}, RejectReason.MALFORMED),
        ({"id": "REL-1", "achternaam": ["Meer"]}, RejectReason.MALFORMED),
    ],
)
def test_unusable_relations(item: Any, reason: RejectReason) -> None:
    with pytest.raises(RowRejected) as caught:
        map_relation(item)
    assert caught.value.reason is reason
    assert "example.com" not in str(caught.value)  # no personal data in the message


def test_relation_id_falls_back_to_id_extern() -> None:
    assert map_relation(relation_with(id=_DROP, idExtern="X-7")).relation_id == "X-7"


# --- leases ------------------------------------------------------------------------------

LEASE: dict[str, Any] = {
    "id": "OVK-0000100",
    "soort": {"code": "HUU", "naam": "Huurovereenkomst"},
    "status": {"code": "LOP"},
    "begindatum": "2011-04-01",
    "eenheden": [{"id": "EH-0000042", "code": "VHE000042"}],
    "relaties": [
        {"id": "REL-0000008", "rollen": [{"soort": {"code": "MDH"}}]},
        {"id": "REL-0000007", "rollen": [{"soort": {"code": "HUU"}}, {"soort": {"code": "BET"}}]},
    ],
}


def lease_with(**changes: Any) -> dict[str, Any]:
    item = copy.deepcopy(LEASE)
    for key, value in changes.items():
        if value is _DROP:
            item.pop(key, None)
        else:
            item[key] = value
    return item


def test_a_rental_with_a_co_tenant() -> None:
    lease = map_lease(LEASE)
    assert lease.lease_id == "OVK-0000100"
    assert lease.unit_code == "VHE000042"
    assert lease.kind is AgreementKind.RENTAL
    assert lease.status is LeaseStatus.RUNNING
    assert (lease.start_date, lease.end_date) == (date(2011, 4, 1), None)
    assert lease.parties == (
        LeaseParty("REL-0000007", PartyRole.TENANT),
        LeaseParty("REL-0000008", PartyRole.CO_TENANT),
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("LOP", LeaseStatus.RUNNING),
        ("VOP", LeaseStatus.RUNNING),
        ("OPG", LeaseStatus.TERMINATED),
        ("BEE", LeaseStatus.ENDED),
        ("ONT", LeaseStatus.ENDED),
        ("VER", LeaseStatus.ENDED),
        ("GEA", LeaseStatus.ENDED),
        (None, LeaseStatus.RUNNING),
    ],
)
def test_lease_status_table(status: str | None, expected: LeaseStatus) -> None:
    item = lease_with(status={"code": status} if status else _DROP, einddatum="2024-01-31")
    lease = map_lease(item)
    assert lease.status is expected
    assert lease.end_date == date(2024, 1, 31)


def test_an_ended_lease_is_not_current() -> None:
    lease = map_lease(lease_with(status={"code": "BEE"}, einddatum="2019-12-31"))
    assert lease.status is LeaseStatus.ENDED
    assert not lease.is_current(date(2026, 1, 1))


@pytest.mark.parametrize(
    ("parties", "expected"),
    [
        (  # buyers of a KOO are owner-occupiers; the notary is no party
            [
                {"id": "REL-1", "rollen": [{"soort": {"code": "KOP"}}]},
                {"id": "REL-2", "rollen": [{"soort": {"code": "KOP"}}]},
                {"id": "REL-3", "rollen": [{"soort": {"code": "NOT"}}]},
            ],
            (LeaseParty("REL-1", PartyRole.OWNER_OCCUPIER), LeaseParty("REL-2", PartyRole.OWNER_OCCUPIER)),
        ),
        (  # no roles at all: the party is the one the agreement is with
            [{"id": "REL-1"}],
            (LeaseParty("REL-1", PartyRole.OWNER_OCCUPIER),),
        ),
    ],
)  # fmt: skip
def test_purchase_agreements_make_owner_occupiers(
    parties: list[dict[str, Any]], expected: tuple[LeaseParty, ...]
) -> None:
    lease = map_lease(lease_with(soort={"code": "KOO"}, relaties=parties))
    assert lease.kind is AgreementKind.PURCHASE
    assert lease.parties == expected


def test_a_roleless_party_beside_a_tenant_is_left_out() -> None:
    parties = [{"id": "REL-1", "rollen": [{"soort": {"code": "HUU"}}]}, {"id": "REL-2"}]
    assert map_lease(lease_with(relaties=parties)).parties == (
        LeaseParty("REL-1", PartyRole.TENANT),
    )


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (lease_with(id=_DROP), RejectReason.MISSING_ID),
        (lease_with(eenheden=_DROP), RejectReason.MISSING_UNIT_CODE),
        (lease_with(eenheden=[{"id": "EH-1"}]), RejectReason.MISSING_UNIT_CODE),
        (lease_with(relaties=_DROP), RejectReason.NO_PARTIES),
        (lease_with(relaties=[{"id": "REL-1", "rollen": [{"soort": {"code": "BET"}}]}]), RejectReason.NO_PARTIES),
        (lease_with(relaties=[{"rollen": [{"soort": {"code": "HUU"}}]}]), RejectReason.NO_PARTIES),
        (lease_with(begindatum="01-04-2011"), RejectReason.INVALID_DATE),
        (lease_with(einddatum="2024-02-30"), RejectReason.INVALID_DATE),
        (lease_with(einddatum="morgen"), RejectReason.INVALID_DATE),
        (lease_with(soort={"code": "OND"}), RejectReason.MALFORMED),
        (lease_with(relaties={"id": "REL-1"}), RejectReason.MALFORMED),
        ([LEASE], RejectReason.MALFORMED),
    ],
)  # fmt: skip
def test_unusable_leases(item: Any, reason: RejectReason) -> None:
    with pytest.raises(RowRejected) as caught:
        map_lease(item)
    assert caught.value.reason is reason


def test_an_invalid_date_names_the_unit() -> None:
    with pytest.raises(RowRejected) as caught:
        map_lease(lease_with(begindatum="2011-13-01"))
    assert caught.value.unit_code == "VHE000042"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("begindatum", "2011-04-01T00:00:00Z", date(2011, 4, 1)),  # date-time where a date belongs
        ("begindatum", None, None),
        ("begindatum", "", None),
    ],
)
def test_lease_dates(field: str, value: Any, expected: date | None) -> None:
    assert map_lease(lease_with(**{field: value})).start_date == expected


def test_the_unit_of_a_lease_by_id_extern_or_by_erp_id() -> None:
    by_extern = lease_with(eenheden=[{"id": "EH-1", "idExtern": "TOB-42"}])
    assert map_lease(by_extern).unit_code == "TOB-42"
    by_id = lease_with(eenheden=[{"id": "EH-0000042"}])
    assert needs_unit_lookup(by_id)
    assert map_lease(by_id, unit_codes={"EH-0000042": "VHE000042"}).unit_code == "VHE000042"


def test_a_lease_of_a_home_and_a_parking_space_is_about_the_known_unit() -> None:
    item = lease_with(eenheden=[{"id": "EH-P1", "code": "PP-001"}, {"id": "EH-0000042"}])
    assert needs_unit_lookup(item)
    assert map_lease(item, unit_codes={"EH-0000042": "VHE000042"}).unit_code == "VHE000042"
    assert map_lease(item).unit_code == "PP-001"


@pytest.mark.parametrize(
    ("item", "kind"),
    [
        ({"soort": {"code": "HUU"}}, AgreementKind.RENTAL),
        ({"soort": {"code": "KOO"}}, AgreementKind.PURCHASE),
        ({}, AgreementKind.RENTAL),
        ({"soort": {"code": "SER"}}, None),
        ({"soort": {"code": "OND"}}, None),
        ("rubbish", AgreementKind.RENTAL),  # left for mapping to keep aside as malformed
    ],
)
def test_agreement_kind_filter(item: Any, kind: AgreementKind | None) -> None:
    assert agreement_kind(item) is kind


def test_map_rows_keeps_every_bad_row_aside_and_maps_the_rest() -> None:
    rows = [
        UNIT,
        unit_with({"code": "VHE000043", "id": "EH-43"}, {"postcode": "12"}),
        "garbage",
        None,
    ]
    units, rejected = map_rows(EntityKind.UNIT, rows, map_unit, unit_id_of)
    assert [u.code for u in units] == ["VHE000042"]
    assert [(r.reason, r.source_id, r.unit_code) for r in rejected] == [
        (RejectReason.INVALID_POSTCODE, "VHE000043", "VHE000043"),
        (RejectReason.MALFORMED, "", ""),
        (RejectReason.MALFORMED, "", ""),
    ]


@pytest.mark.parametrize("id_of", [unit_id_of, relation_id_of, lease_id_of])
@pytest.mark.parametrize("item", ["x", None, 3, [], {"id": {"nested": 1}}])
def test_id_readers_never_raise(id_of: Any, item: Any) -> None:
    assert id_of(item) == ""


# --- issue 9: hostile but contract-legal items ----------------------------------------------


def test_a_unit_without_a_postcode_is_kept_and_flagged_for_the_post() -> None:
    unit = map_unit(unit_with({}, {"postcode": _DROP}))
    assert unit.address == Address("Lindenlaan", 12, "", "Deventer")
    assert not unit.address.postally_complete
    assert map_unit(unit_with({}, {"postcode": None})).address.postcode == ""
    assert map_unit(unit_with({}, {"postcode": "  "})).address.postcode == ""


def test_roles_carry_their_dates() -> None:
    parties = [
        {"id": "REL-7", "rollen": [{"soort": {"code": "HUU"}, "begindatum": "2011-04-01"}]},
        {
            "id": "REL-8",
            "rollen": [
                {"soort": {"code": "MDH"}, "begindatum": "2012-01-01", "einddatum": "2020-06-30"}
            ],
        },
    ]
    lease = map_lease(lease_with(relaties=parties))
    assert lease.parties == (
        LeaseParty("REL-7", PartyRole.TENANT, date(2011, 4, 1), None),
        LeaseParty("REL-8", PartyRole.CO_TENANT, date(2012, 1, 1), date(2020, 6, 30)),
    )
    assert [p.relation_id for p in lease.parties_on(date(2026, 1, 1))] == ["REL-7"]


def test_several_roles_of_one_kind_span_their_days() -> None:
    parties = [
        {
            "id": "REL-7",
            "rollen": [
                {"soort": {"code": "HUU"}, "begindatum": "2011-04-01", "einddatum": "2015-12-31"},
                {"soort": {"code": "HUU"}, "begindatum": "2016-01-01"},
                {"soort": {"code": "BET"}, "einddatum": "2012-01-01"},  # a payer: no party
            ],
        }
    ]
    (party,) = map_lease(lease_with(relaties=parties)).parties
    assert party == LeaseParty("REL-7", PartyRole.TENANT, date(2011, 4, 1), None)


def test_a_role_date_that_cannot_be_read_keeps_the_lease_aside_with_its_unit() -> None:
    parties = [{"id": "REL-7", "rollen": [{"soort": {"code": "HUU"}, "einddatum": "31-12-2020"}]}]
    with pytest.raises(RowRejected) as caught:
        map_lease(lease_with(relaties=parties))
    assert caught.value.reason is RejectReason.INVALID_DATE
    assert caught.value.unit_code == "VHE000042"
    assert "rollen[].einddatum" in caught.value.detail


def test_every_failure_after_the_unit_is_known_names_the_unit() -> None:
    """So that validation can tell a lease of a unit elsewhere (out of scope) from a real one."""
    for item in (
        lease_with(relaties={"id": "REL-1"}),
        lease_with(relaties=[{"id": "REL-1", "rollen": [{"soort": {"code": "BET"}}]}]),
        lease_with(status=["LOP"]),
    ):
        with pytest.raises(RowRejected) as caught:
            map_lease(item)
        assert caught.value.unit_code == "VHE000042", item


@pytest.mark.parametrize(
    ("waarde", "value", "usable"),
    [
        ("Jan@Example.COM", "Jan@example.com", True),
        ("jan@bücher.example", "jan@xn--bcher-kva.example", True),  # IDNA
        ("ayşe@example.com", "ayşe@example.com", True),  # needs SMTPUTF8 to be sent
        ("jan\r\n@example.com", "jan @example.com", False),  # CR LF: not an address any more
        ("geen", "geen", False),
        ("jan@piet@example.com", "jan@piet@example.com", False),
        ("jan@example.invalid", "jan@example.invalid", False),
        ("<script>@example.com", "<script>@example.com", False),
    ],
)
def test_e_mail_addresses_are_checked_where_they_come_in(
    waarde: str, value: str, usable: bool
) -> None:
    contacts = [
        {"soort": {"code": "EMA"}, "waarde": waarde, "voorkeur": {"code": "EER"}},
        {"soort": {"code": "MOB"}, "waarde": "06-12345678"},
    ]
    resident = map_relation(relation_with(contactgegevens=contacts))
    email = resident.contacts[0]
    assert (email.kind, email.value, email.usable) == (ContactKind.EMAIL, value, usable)
    assert resident.contact(ContactKind.EMAIL) == (value if usable else None)
    assert resident.contact(ContactKind.MOBILE) == "06-12345678"  # the resident stays whole
    if not usable:
        assert email.problem.startswith("e-mail address not usable: ")
        assert "example" not in email.problem and "jan" not in email.problem  # no values
        assert resident.contact_problems == (email,)
        assert resident.preferred_contact == resident.contacts[1]


def test_names_and_addresses_lose_control_and_bidirectional_characters() -> None:
    resident = map_relation(
        relation_with(achternaam="Mee\u202er\x00", voornaam="Jan\r\nPiet", roepnaam=_DROP)
    )
    assert resident.name is not None
    assert (resident.name.surname, resident.name.first_name) == ("Meer", "Jan Piet")
    unit = map_unit(unit_with({}, {"straatnaam": "Linden\x1b[2Jlaan\r\n", "huisletter": "\u2066B"}))
    assert (unit.address.street, unit.address.letter) == ("Linden[2Jlaan", "B")


def test_an_agreement_naming_only_units_that_were_not_delivered_is_out_of_scope() -> None:
    from connectors.erp.vera.mapping import names_unknown_units_only

    known = {"EH-0000042": "VHE000042"}
    assert names_unknown_units_only(lease_with(eenheden=[{"id": "EH-9"}]), known)
    assert names_unknown_units_only(lease_with(eenheden=[{"id": "EH-9"}, {"id": "EH-8"}]), known)
    assert not names_unknown_units_only(lease_with(eenheden=[{"id": "EH-0000042"}]), known)
    assert not names_unknown_units_only(lease_with(eenheden=[{"id": "EH-9", "code": "X"}]), known)
    assert not names_unknown_units_only(lease_with(eenheden=_DROP), known)  # names no unit
    assert not names_unknown_units_only(lease_with(eenheden=[{"naam": "?"}]), known)


def test_an_undated_role_beside_a_dated_one_runs_as_long_as_the_agreement() -> None:
    parties = [
        {
            "id": "REL-7",
            "rollen": [
                {"soort": {"code": "HUU"}, "einddatum": "2015-12-31"},
                {"soort": {"code": "HUU"}},
            ],
        }
    ]
    assert map_lease(lease_with(relaties=parties)).parties == (
        LeaseParty("REL-7", PartyRole.TENANT),
    )
