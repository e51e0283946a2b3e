"""Pure domain rules: addressing, households, validation, hashing, the shrink guard."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import date

import pytest

from keukentafel.domain.addressing import (
    InvalidPostcode,
    normalise_postcode,
    postnl_address_lines,
    street_line,
)
from keukentafel.domain.model import (
    Address,
    AgreementKind,
    Lease,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    PracticalNeed,
    Tenure,
    household_of,
)
from keukentafel.domain.register import (
    EntityKind,
    RejectReason,
    RowRejected,
    Snapshot,
    UnsafeSnapshot,
    check_shrink,
    content_hash,
    map_rows,
    validate,
)
from tests import builders


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234AB", "1234 AB"),
        (" 1234 ab ", "1234 AB"),
        ("9999zz", "9999 ZZ"),
        ("1011  CD", "1011 CD"),
    ],
)
def test_postcode_normalised(raw: str, expected: str) -> None:
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "0123 AB", "1234 A", "12345 AB", "1234 SS", "ABCD 12", "1234-AB"]
)
def test_postcode_rejected(raw: str) -> None:
    with pytest.raises(InvalidPostcode):
        normalise_postcode(raw)


@pytest.mark.parametrize(
    ("address", "street_line"),
    [
        (Address("Dorpsstraat", 12, "1234 AB", "Ons Dorp"), "Dorpsstraat 12"),
        # NEN 5825:2002 as the Kadaster BAG API writes adresregel5
        (Address("Dorpsstraat", 12, "1234 AB", "Ons Dorp", letter="A"), "Dorpsstraat 12 A"),
        (Address("Dorpsstraat", 12, "1234 AB", "Ons Dorp", addition="2"), "Dorpsstraat 12-2"),
        (Address("Dorpsstraat", 14, "1234 AB", "Ons Dorp", addition="bis"), "Dorpsstraat 14 bis"),
        (Address("Molenweg", 4, "1234 AB", "Ons Dorp", letter="B", addition="2"), "Molenweg 4 B2"),
        (Address("Kerkstraat", 8, "", "Ons Dorp", addition="3-hoog"), "Kerkstraat 8-3-hoog"),
        (Address("Defensieweg", 16, "", "Pesse", letter="D", addition="K"), "Defensieweg 16 DK"),
        (Address("Bornsesteeg", 1, "", "Wageningen", addition="5A3"), "Bornsesteeg 1-5A3"),
        (
            Address("Dorpsstraat", 12, "1234 AB", "Ons Dorp", letter="A", addition="3"),
            "Dorpsstraat 12 A3",
        ),
    ],
)
def test_street_line(address: Address, street_line: str) -> None:
    assert address.street_line == street_line


def test_postnl_block() -> None:
    address = Address("Laan van Nieuw Oost-Indië", 7, "2593bm", "'s-Gravenhage", letter="B")
    lines = postnl_address_lines(["Mevrouw J. de Vries", "", "De heer K. Bakker"], address)
    assert lines == [
        "Mevrouw J. de Vries",
        "De heer K. Bakker",
        "Laan van Nieuw Oost-Indië 7 B",
        "2593 BM  'S-GRAVENHAGE",
    ]
    assert len(postnl_address_lines(["a", "b", "c", "d", "e"], address)) == 6


def test_a_unit_without_a_postcode_ends_its_block_with_the_town_as_bag_does() -> None:
    address = Address("Zorgvlietstraat", 4, "", "'s-Gravenhage", letter="T")
    assert postnl_address_lines(["De bewoner(s) van"], address) == [
        "De bewoner(s) van",
        "Zorgvlietstraat 4 T",
        "'S-GRAVENHAGE",
    ]
    assert not address.postally_complete
    assert replace(address, postcode="2585 AB").postally_complete


def test_the_short_street_name_is_used_only_when_asked_for_and_known() -> None:
    long = Address(
        "Burgemeester van Nispen tot Sevenaerstraat",
        112,
        "1251 KD",
        "Laren",
        letter="A",
        addition="3",
        street_short="Burg v N t Sevenaerstr",
    )
    assert street_line(long) == "Burgemeester van Nispen tot Sevenaerstraat 112 A3"
    assert street_line(long, short=True) == "Burg v N t Sevenaerstr 112 A3"
    assert postnl_address_lines(["X"], long, short_street=True)[1] == street_line(long, short=True)
    plain = replace(long, street_short="")
    assert street_line(plain, short=True) == street_line(plain)


def test_a_co_tenant_whose_role_ended_is_no_member_of_the_household() -> None:
    unit = builders.unit(1)
    residents = {r.relation_id: r for r in (builders.resident(1), builders.resident(2))}
    lease = Lease(
        "L1",
        unit.code,
        AgreementKind.RENTAL,
        LeaseStatus.RUNNING,
        date(2010, 1, 1),
        None,
        (
            LeaseParty("R1", PartyRole.TENANT),
            LeaseParty("R2", PartyRole.CO_TENANT, date(2012, 5, 1), date(2025, 12, 31)),
        ),
    )

    def members(on: date) -> list[str]:
        return [r.relation_id for r in household_of(unit, [lease], residents, on).residents]

    assert members(date(2025, 12, 31)) == ["R1", "R2"]  # the last day of the role still counts
    assert members(date(2026, 1, 1)) == ["R1"]
    assert members(date(2012, 4, 30)) == ["R1"]  # nor before the role began
    assert lease.parties_on(date(2026, 1, 1)) == (lease.parties[0],)


def test_the_register_calendar_is_amsterdam() -> None:
    from datetime import datetime

    from keukentafel.domain.model import amsterdam_date

    # 23:30 UTC on New Year's Eve is already New Year's Day in Amsterdam (UTC+1)
    assert amsterdam_date(datetime(2025, 12, 31, 23, 30)) == date(2026, 1, 1)
    assert amsterdam_date(datetime(2026, 6, 30, 21, 59)) == date(2026, 6, 30)  # UTC+2
    assert amsterdam_date(datetime(2026, 6, 30, 22, 0)) == date(2026, 7, 1)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Jansen", "Jansen"),
        ("  de Vries ", "de Vries"),
        ("Bakker\r\nDorpsstraat 1", "Bakker Dorpsstraat 1"),
        ("Jan\tJansen", "Jan Jansen"),
        ("Ja\x00n\x1b[31m", "Jan[31m"),  # NUL and ESC removed
        ("\u202eneslaJ\u202c", "neslaJ"),  # a right-to-left override removed
        ("\u2067محمد\u2069 El Amrani", "محمد El Amrani"),  # isolates removed, Arabic kept
        ("Öztürk\u00a0Çelik", "Öztürk Çelik"),  # a no-break space is a space
        ("ZWNJ\u200ckept", "ZWNJ\u200ckept"),  # joiners some scripts need stay
        ("a\u2028b\x85c", "a b c"),
    ],
)
def test_text_from_a_source_is_cleaned(raw: str, clean: str) -> None:
    from keukentafel.domain.cleaning import clean_text

    assert clean_text(raw) == clean


def test_household_orders_tenant_first_and_skips_ended() -> None:
    unit = builders.unit(1)
    residents = {
        r.relation_id: r for r in (builders.resident(1), builders.resident(2), builders.resident(3))
    }
    old = Lease(
        "L0",
        unit.code,
        AgreementKind.RENTAL,
        LeaseStatus.ENDED,
        None,
        None,
        (LeaseParty("R3", PartyRole.TENANT),),
    )
    current = Lease(
        "L1",
        unit.code,
        AgreementKind.RENTAL,
        LeaseStatus.RUNNING,
        date(2020, 1, 1),
        None,
        (LeaseParty("R2", PartyRole.CO_TENANT), LeaseParty("R1", PartyRole.TENANT)),
    )
    household = household_of(unit, [old, current], residents, date(2026, 1, 1))
    assert [(r.relation_id, role) for r, role in household.members] == [
        ("R1", PartyRole.TENANT),
        ("R2", PartyRole.CO_TENANT),
    ]
    assert not household.is_vacant
    assert household_of(unit, [old], residents, date(2026, 1, 1)).is_vacant
    future = replace(current, start_date=date(2027, 1, 1))
    assert household_of(unit, [future], residents, date(2026, 1, 1)).is_vacant


def test_map_rows_keeps_failures_aside() -> None:
    def mapper(row: dict[str, str]) -> str:
        if not row.get("code"):
            raise RowRejected(RejectReason.MISSING_UNIT_CODE, "field code is empty")
        return row["code"]

    rows: list[object] = [{"id": "1", "code": "A"}, {"id": "2"}, "not a dict"]
    mapped, rejected = map_rows(EntityKind.UNIT, rows, mapper, lambda r: r["id"])  # type: ignore[index,arg-type]
    assert mapped == ["A"]
    assert [(r.source_id, r.reason) for r in rejected] == [
        ("2", RejectReason.MISSING_UNIT_CODE),
        ("", RejectReason.MALFORMED),
    ]
    assert rejected[1].raw == "not a dict"


def test_validate_drops_leases_of_other_complexes_and_flags_unknown_relations() -> None:
    snap = builders.register(3)
    snap.leases.append(replace(builders.lease(7), unit_code="ELDERS-1"))  # unit outside scope
    snap.leases.append(builders.lease(3, relation=404))  # names an unknown relation
    snap.leases[2] = snap.leases.pop()  # replace L3 by the broken version
    valid = validate(snap)
    assert "L7" not in valid.leases
    assert [(r.source_id, r.reason) for r in valid.rejected] == [
        ("L3", RejectReason.UNKNOWN_RELATION)
    ]
    assert "L3" in valid.held[EntityKind.LEASE]
    assert "R3" not in valid.residents  # no in-scope lease needs it any more
    assert valid.out_of_scope == 2


def test_same_row_twice_is_one_row() -> None:
    snap = builders.register(2)
    snap.units.append(builders.unit(1))
    valid = validate(snap)
    assert len(valid.units) == 2 and not valid.rejected


def test_two_codes_for_one_erp_id_are_kept_aside() -> None:
    snap = builders.register(2)
    snap.units.append(replace(builders.unit(1), code="VHE-OTHER"))
    valid = validate(snap)
    assert {r.reason for r in valid.rejected} == {RejectReason.DUPLICATE_UNIT_CODE}
    assert "VHE00001" not in valid.units and "VHE-OTHER" not in valid.units


def test_content_hash_ignores_set_order_across_processes() -> None:
    resident = replace(
        builders.resident(1),
        needs=frozenset(
            {PracticalNeed.INTERPRETER, PracticalNeed.EXTRA_TIME, PracticalNeed.VISIT_WITH_TWO}
        ),
    )
    code = (
        "from tests import builders; from dataclasses import replace;"
        "from keukentafel.domain.model import PracticalNeed as P;"
        "from keukentafel.domain.register import content_hash;"
        "r=replace(builders.resident(1), needs=frozenset({P.VISIT_WITH_TWO, P.INTERPRETER, P.EXTRA_TIME}));"
        "print(content_hash(r))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "7", "PATH": ""},
    )
    assert other.stdout.strip() == content_hash(resident)
    assert content_hash(builders.unit(1)) != content_hash(
        replace(builders.unit(1), tenure=Tenure.VACANT)
    )


def test_content_hashes_stored_by_earlier_versions_stay_valid() -> None:
    """Pinned digests: a change here would rewrite every stored row on the next sync."""
    two_needs = replace(
        builders.resident(1),
        needs=frozenset({PracticalNeed.VISIT_WITH_TWO, PracticalNeed.INTERPRETER}),
    )
    assert [
        content_hash(value)
        for value in (builders.unit(1), builders.resident(1), builders.lease(1), two_needs)
    ] == [
        "a4cb6ff0220175044bd6a311",
        "acd57c55972649400a8b6b68",
        "ce396b91d28c7b63abeb4f30",
        "e6f491636e557b88f66014da",
    ]


def test_only_values_with_the_new_fields_hash_differently() -> None:
    """Role dates, a short street name and a contact-point problem change a value's hash (the
    first sync after deploy rewrites those rows once); without them the hash is the old one."""
    lease = builders.lease(1)
    dated = replace(lease, parties=(LeaseParty("R1", PartyRole.TENANT, date(2015, 1, 1), None),))
    ended = replace(lease, parties=(LeaseParty("R1", PartyRole.TENANT, None, date(2015, 1, 1)),))
    assert content_hash(lease) == "ce396b91d28c7b63abeb4f30"
    assert len({content_hash(lease), content_hash(dated), content_hash(ended)}) == 3
    unit = builders.unit(1)
    short = replace(unit, address=replace(unit.address, street_short="Dorpsstr"))
    assert content_hash(short) != content_hash(unit) == "a4cb6ff0220175044bd6a311"


def test_shrink_guard() -> None:
    check_shrink(
        stored_units=0, removed_units=0, stored_current_leases=0, lost_leases=0, max_share=0.1
    )
    check_shrink(
        stored_units=100, removed_units=10, stored_current_leases=90, lost_leases=9, max_share=0.1
    )
    with pytest.raises(UnsafeSnapshot, match="11 of 100 units"):
        check_shrink(
            stored_units=100,
            removed_units=11,
            stored_current_leases=90,
            lost_leases=0,
            max_share=0.1,
        )
    with pytest.raises(UnsafeSnapshot, match="households"):
        check_shrink(
            stored_units=100,
            removed_units=0,
            stored_current_leases=90,
            lost_leases=50,
            max_share=0.1,
        )


def test_empty_snapshot_validates_to_nothing() -> None:
    valid = validate(Snapshot(source="x"))
    assert not valid.units and not valid.rejected


def test_content_hash_is_the_hash_of_the_repr_for_every_kind_of_value() -> None:
    """The fast form of the repr must match repr() exactly, or stored hashes would all change."""
    from keukentafel.domain.model import ContactKind, ContactPoint, PersonName, Resident
    from keukentafel.domain.register.hashing import _fast_repr

    organisation = Resident("R9", None, "Stichting Één", (), "ar")
    one_need = replace(builders.resident(2), needs=frozenset({PracticalNeed.INTERPRETER}))
    two_contacts = replace(
        builders.resident(3),
        contacts=(
            ContactPoint(ContactKind.MOBILE, "06-1", True),
            ContactPoint(ContactKind.PHONE, "010-'2\\"),
        ),
        name=PersonName("Ça'va", "J.", "Jan", "van der", "M"),
    )
    lease = replace(
        builders.lease(4, LeaseStatus.ENDED),
        parties=(LeaseParty("R1", PartyRole.TENANT), LeaseParty("R2", PartyRole.CO_TENANT)),
    )
    no_parties = replace(builders.lease(5), parties=(), start_date=None)
    unit = replace(
        builders.unit(6, tenure=Tenure.VACANT),
        address=Address("Straat", 7, "1234 AB", "Dorp", "A", "bis"),
    )
    # The later fields (role dates, street_short, a contact-point problem): the reference is the
    # values' own repr, which leaves them out while they hold their defaults.
    role_dates = replace(
        lease,
        parties=(
            LeaseParty("R1", PartyRole.TENANT, date(2015, 1, 1)),
            LeaseParty("R2", PartyRole.CO_TENANT, None, date(2025, 6, 30)),
        ),
    )
    short_street = replace(
        builders.unit(7), address=Address("Straat", 7, "", "Dorp", street_short="Str")
    )
    problem = replace(
        builders.resident(4),
        contacts=(ContactPoint(ContactKind.EMAIL, "a@b", True, "it has no @-sign"),),
    )
    values = [
        builders.unit(1),
        unit,
        builders.resident(1),
        organisation,
        one_need,
        two_contacts,
        builders.lease(1),
        lease,
        no_parties,
        role_dates,
        short_street,
        problem,
    ]
    for value in values:
        assert _fast_repr(value) == repr(value)
    assert repr(builders.lease(1).parties[0]) == (
        "LeaseParty(relation_id='R1', role=<PartyRole.TENANT: 'tenant'>)"
    )
    assert "start_date=datetime.date(2015, 1, 1), end_date=None" in repr(role_dates)


def test_validate_treats_digested_items_like_values() -> None:
    from keukentafel.domain.register import digest_of

    snap = builders.register(4)
    snap.leases.append(builders.lease(3, relation=404))  # conflicting duplicate of L3
    snap.units.append(replace(builders.unit(2), code="VHE-OTHER"))  # one ERP id, two codes
    plain = validate(snap)
    digested = Snapshot(source="x", rejected=list(snap.rejected))
    for kind, values in (
        (EntityKind.UNIT, snap.units),
        (EntityKind.RESIDENT, snap.residents),
        (EntityKind.LEASE, snap.leases),
    ):
        for value in values:
            item = digest_of(kind, value)
            item.item = None  # known by its digest only: the value is made from its "page"
            item.page = _Page([value])
            digested.digested.append(item)
    known = validate(digested)
    assert known.hashes == plain.hashes
    assert known.held == plain.held and known.out_of_scope == plain.out_of_scope
    assert sorted(map(repr, known.rejected)) == sorted(map(repr, plain.rejected))
    assert dict(known.leases) == dict(plain.leases)


class _Page:
    def __init__(self, values: list[object]) -> None:
        self._values = values

    def values(self) -> list[object]:
        return self._values


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("12", (12, "", "")),
        ("12A", (12, "A", "")),
        ("12 a", (12, "A", "")),
        ("12-2", (12, "", "2")),
        ("12A-3", (12, "A", "3")),
        ("12 A 3", (12, "A", "3")),
        ("12 bis", (12, "", "bis")),
        ("12-A", (12, "", "A")),
        (" 7  /  hs ", (7, "", "hs")),
    ],
)
def test_one_house_number_parser_for_every_source(text: str, parts: tuple[int, str, str]) -> None:
    from keukentafel.domain.addressing import split_house_number

    assert split_house_number(text) == parts


@pytest.mark.parametrize("text", ["", "A12", "0", "-3"])
def test_house_number_without_a_number_is_refused(text: str) -> None:
    from keukentafel.domain.addressing import split_house_number

    with pytest.raises(ValueError, match="no house number"):
        split_house_number(text)
