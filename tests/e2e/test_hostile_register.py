"""Issue 9, the register side: an awkward but contract-legal ERP and an export with hostile names
go through the real sync (App, sources, store); no household is silently skipped or wrong.

Every unit of the configured complex is either in the register, correct, or kept aside with a
specific reason; rows of other complexes are counted, never listed; names and addresses arrive
without control or bidirectional characters; co-tenants whose role ended are no members; e-mail
addresses that cannot be used stay on their contact point and are never offered for a message.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml

from connectors.fakes.vera_data import VeraDataset, generate_dataset
from connectors.fakes.vera_server import FakeVeraServer
from keukentafel.bootstrap import App, CorporationRegistry, build
from keukentafel.cli.register_files import to_json
from keukentafel.domain.cleaning import BIDI_CONTROLS
from keukentafel.domain.model import ContactKind, Household
from keukentafel.letters.context import address_lines, salutation
from keukentafel.settings import Settings

ON = date(2026, 11, 28)
FIXTURES = Path(__file__).parent / "fixtures"
KEY_ENV = "KEUKENTAFEL_TEST_VERA_KEY"


def _clean(text: str) -> bool:
    return not any(unicodedata.category(c) == "Cc" or c in BIDI_CONTROLS for c in text)


def _texts(household: Household) -> list[str]:
    """Every text of a household that reaches a letter, an e-mail header or an export."""
    a = household.unit.address
    texts = [a.street, a.town, a.letter, a.addition, *address_lines(household)]
    texts.append(salutation(household))
    for resident in household.residents:
        if resident.name is not None:
            n = resident.name
            texts += [n.surname, n.initials, n.first_name, n.tussenvoegsel]
        texts += [resident.organisation_name, *(c.value for c in resident.contacts)]
    return texts


def _app(tmp_path: Path, corporation_file: Path, environ: dict[str, str]) -> App:
    settings = Settings.from_env(
        {"KEUKENTAFEL_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", **environ}
    )
    return build(settings, corporations=CorporationRegistry.from_files([corporation_file]))


# --- VERA ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def awkward() -> VeraDataset:
    return generate_dataset(400, seed=3, complexes=3, awkward=True)


@pytest.fixture(scope="module")
def vera_app(tmp_path_factory: pytest.TempPathFactory, awkward: VeraDataset) -> Iterator[App]:
    folder = tmp_path_factory.mktemp("vera")
    with FakeVeraServer(awkward, api_key="k") as fake:
        data = yaml.safe_load((FIXTURES.parents[2] / "config" / "demo.yaml").read_text())
        data["source"]["vera"]["base_url"] = fake.url
        data["source"]["vera"]["auth"]["api_key_env"] = KEY_ENV
        data["projects"] = [
            {
                "code": "P1",
                "name": "Renovatie",
                "kind": "renovation_occupied",
                "complexes": [awkward.complexes()[0]],
            }
        ]
        data.pop("feeds", None)  # the demo's contractor works on the demo's own projects
        path = folder / "corp.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        with _app(folder, path, {KEY_ENV: "k"}) as app:
            first = app.run_sync("WSD")
            again = app.run_sync("WSD")
            assert again.rows_written == 0, "hostile data must hash the same on every run"
            assert first.rows_written > 0
            yield app


def test_vera_every_unit_of_the_complex_is_in_the_register_or_kept_aside_with_a_reason(
    vera_app: App, awkward: VeraDataset
) -> None:
    ours = {u["code"] for u in awkward.units if u["clusters"][0]["code"] == awkward.complexes()[0]}
    export = vera_app.export_register("WSD", ON)
    stored = {u.code for u in export.units}
    kept = {(k.entity, k.unit_code): k.reason for k in export.kept_aside}
    assert stored | {code for _, code in kept} == ours
    assert kept == {
        ("unit", code): "invalid_postcode" for code in awkward.notes["invalid_postcode"]
    }
    assert stored.isdisjoint(awkward.notes["invalid_postcode"])
    # the agreements of other complexes (named by ERP id only) are counted, never listed
    assert export.out_of_scope["lease"] >= len(awkward.notes["elsewhere_by_erp_id"])
    data = json.loads(to_json(export))
    assert all(row["reason"] != "missing_unit_code" for row in data["kept_aside"])
    # every running agreement of ours is stored (or held with its unit kept aside)
    households = {h.unit.code: h for h in vera_app.households("WSD", ON)}
    for lease in awkward.leases:
        unit = next(u for u in awkward.units if u["id"] == lease["eenheden"][0].get("id", "")
                    or u["code"] == lease["eenheden"][0].get("code"))  # fmt: skip
        if unit["code"] not in ours or lease["status"]["code"] != "LOP":
            continue
        assert unit["code"] in households or unit["code"] in awkward.notes["invalid_postcode"]


def test_vera_roles_that_do_not_run_make_no_member(vera_app: App, awkward: VeraDataset) -> None:
    households = {h.unit.code: h for h in vera_app.households("WSD", ON)}
    for case in ("ended_co_tenant", "future_co_tenant"):
        for code, relation_id in zip(
            awkward.notes[case], awkward.notes[f"{case}_relation"], strict=True
        ):
            members = [r.relation_id for r in households[code].residents]
            assert len(members) == 1 and relation_id not in members, (case, code)
            assert " en " not in salutation(households[code])
    export = {u.code: u for u in vera_app.export_register("WSD", ON).units}
    ended = awkward.notes["ended_co_tenant"][0]
    party = next(
        p
        for p in export[ended].parties
        if p.relation_id in awkward.notes["ended_co_tenant_relation"]
    )
    assert (party.end_date, party.in_household) == (date(2024, 6, 30), False)


def test_vera_addresses_as_bag_writes_them(vera_app: App, awkward: VeraDataset) -> None:
    households = {h.unit.code: h for h in vera_app.households("WSD", ON)}

    def street(case: str) -> str:
        return households[awkward.notes[case][0]].unit.address.street_line

    assert street("letter").endswith(" 12 A")
    assert street("addition_word").endswith(" 14 bis")
    assert street("letter_and_addition").endswith(" 4 B2")
    assert street("addition_floor").endswith(" 8-3-hoog")
    assert street("long_street") == "Burgemeester van Nispen tot Sevenaerstraat 112 A3"
    crlf = households[awkward.notes["crlf_in_address"][0]]
    assert (crlf.unit.address.street, crlf.unit.address.town) == ("Kerk straat", "Den Helder")
    for code in awkward.notes["no_postcode"]:
        household = households[code]
        assert not household.unit.address.postally_complete
        assert address_lines(household)[-1] == household.unit.address.town.upper()
        assert salutation(household).startswith("Beste ")


def test_vera_hostile_names_are_stored_clean_and_whole(vera_app: App, awkward: VeraDataset) -> None:
    households = vera_app.households("WSD", ON)
    for household in households:
        for text in _texts(household):
            assert _clean(text), (household.unit.code, text)
    residents = {r.relation_id: r for h in households for r in h.residents}

    def surname(case: str) -> str:
        name = residents[awkward.notes[case][0]].name
        assert name is not None
        return name.surname

    assert surname("script_tag") == "<script>alert('x')</script>"  # data; letters escape it
    assert surname("template_syntax") == "{{ config.SECRET }}"
    assert surname("apostrophe") == "O'Brien"
    assert surname("turkish") == "Öztürk-Çağlayan"
    assert surname("arabic") == "العلي"
    assert surname("crlf_in_name") == "Jansen Bakker"
    assert surname("control_characters") == "Visser[2J"
    assert surname("bidi_override") == "neslaJ"
    assert len(surname("very_long_name")) > 100
    organisation = residents[awkward.notes["ampersand_organisation"][0]]
    assert organisation.organisation_name == 'Stichting Wonen & Zorg "Thuis"'


def test_vera_e_mail_addresses_that_cannot_be_used_stay_on_their_point(
    vera_app: App, awkward: VeraDataset
) -> None:
    households = vera_app.households("WSD", ON)
    residents = {r.relation_id: r for h in households for r in h.residents}
    usable = [residents[rid].contact(ContactKind.EMAIL) for rid in awkward.notes["usable_email"]]
    assert usable == ["ayşe.öztürk@example.com", "jan@xn--bcher-kva.example"]
    export = vera_app.export_register("WSD", ON)
    problems = {c.relation_id: c for u in export.units for c in u.contact_problems}
    for rid in awkward.notes["unusable_email"]:
        resident = residents[rid]
        assert resident.contact(ContactKind.EMAIL) is None
        assert resident.contact(ContactKind.MOBILE) == "06-12312312"  # the rest stays
        assert problems[rid].problem.startswith("e-mail address not usable: ")
        assert problems[rid].kind is ContactKind.EMAIL


# --- the spreadsheet export --------------------------------------------------------------------


@pytest.fixture(scope="module")
def sheet_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    folder = tmp_path_factory.mktemp("sheet")
    data = yaml.safe_load((FIXTURES / "hostile-export.yaml").read_text(encoding="utf-8"))
    data["source"]["spreadsheet"]["path"] = str(FIXTURES / "hostile-export.csv")
    path = folder / "corp.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with _app(folder, path, {}) as app:
        app.run_sync("HST")
        assert app.run_sync("HST").rows_written == 0
        yield app


def test_spreadsheet_hostile_names_every_row_in_the_register_or_kept_aside(sheet_app: App) -> None:
    export = sheet_app.export_register("HST", ON)
    by_code = {u.code: u for u in export.units}
    assert sorted(by_code) == [f"2000{n}" for n in range(1, 8)] + ["20009"]
    assert [(k.unit_code, k.reason) for k in export.kept_aside] == [("20008", "invalid_postcode")]
    # complex C900 (a unit with its resident, and a resident row without a unit code): counted,
    # never listed, although one of its rows has a date that cannot be read
    assert export.out_of_scope == {"unit": 1, "resident": 2}
    households = {h.unit.code: h for h in sheet_app.households("HST", ON)}
    for household in households.values():
        for text in _texts(household):
            assert _clean(text), (household.unit.code, text)

    assert [r.relation_id for r in households["20001"].residents] == ["R-1"]  # R-2 left in 2024
    ended = next(p for p in by_code["20001"].parties if p.relation_id == "R-2")
    assert (ended.end_date, ended.in_household) == (date(2024, 6, 30), False)
    long = households["20002"].unit.address
    assert (long.street_line, long.street_short) == (
        "Burgemeester van Nispen tot Sevenaerstraat 112 A3",
        "Burg v N t Sevenaerstr",
    )
    no_postcode = by_code["20003"]
    assert not no_postcode.postally_complete
    assert no_postcode.address_lines[-2:] == ("Kerkstraat 14 bis", "ZWOLLE")
    assert by_code["20004"].address_lines[-2] == "Molenweg 4 B2"
    assert by_code["20005"].address_lines[-2] == "Kerkstraat 8-3-hoog"
    crlf = households["20006"]
    assert (crlf.unit.address.street, crlf.unit.address.town) == ("Kerk straat", "Den Helder")
    names = {r.relation_id: r.name for h in households.values() for r in h.residents}
    assert names["R-1"] is not None and names["R-1"].surname == "<script>alert('x')</script>"
    assert names["R-8"] is not None and names["R-8"].surname == "Jansen Bakker"
    assert names["R-11"] is not None and names["R-11"].surname == "neslaJ Vis[2Jser"

    residents = {r.relation_id: r for h in households.values() for r in h.residents}
    assert residents["R-5"].contact(ContactKind.EMAIL) == "ayşe.öztürk@example.com"
    assert residents["R-7"].contact(ContactKind.EMAIL) == "info@xn--bcher-kva.example"
    for rid in ("R-6", "R-11"):  # "geen e-mail", "{{ user }}@example.com"
        assert residents[rid].contact(ContactKind.EMAIL) is None
        assert residents[rid].contact_problems
    problems = {c.relation_id for u in export.units for c in u.contact_problems}
    assert problems == {"R-6", "R-11"}


def test_spreadsheet_co_tenant_household_salutations_name_only_running_parties(
    sheet_app: App,
) -> None:
    households = {h.unit.code: h for h in sheet_app.households("HST", ON)}
    assert "Bakker" not in salutation(households["20001"])
    couple = households["20004"]  # two running parties: both named, in full
    assert len(couple.residents) == 2
    assert "Öztürk-Çağlayan" in salutation(couple) and "العلي" in salutation(couple)
