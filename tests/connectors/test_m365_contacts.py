"""The team's contact sources (SharePoint list, Excel file) through the fake Graph, then merged."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pytest
from openpyxl import Workbook
from openpyxl.worksheet.table import Table

from connectors.fakes.m365 import FakeMicrosoft365
from connectors.m365.auth import GraphAuth
from connectors.m365.contacts import (
    ContactSourceError,
    read_contact_list,
    read_contact_list_changes,
    read_contact_list_items,
    read_contact_workbook,
)
from connectors.m365.graph import GraphClient
from keukentafel.config.m365 import ContactListConfig, ContactWorkbookConfig, M365Config
from keukentafel.domain.model import (
    Address,
    ContactKind,
    Household,
    PartyRole,
    PersonName,
    PracticalNeed,
    Resident,
    Tenure,
    Unit,
)
from keukentafel.domain.register import EntityKind, RejectReason
from keukentafel.domain.team_contacts import (
    MatchKind,
    PreferredChannel,
    UnmatchedReason,
    merge_team_contacts,
)

TENANT = "00000000-0000-0000-0000-00000000f003"
CLIENT = "11111111-1111-1111-1111-11111111f003"
SECRET = "fake-secret-for-tests"
SITE = "corporatie.sharepoint.com,site-1,web-1"
LIST = "7d0c0000-0000-0000-0000-000000000001"

LIST_COLUMNS = {
    "unit_code": "VHE",
    "relation_hint": "Title",
    "mobile": "Mobiel",
    "preferred_channel": "Voorkeur",
    "preferred_hours": "Bereikbaar",
    "language": "Taal",
    "interpreter": "Tolk",
}
BOOK_COLUMNS = {
    "postcode": "Postcode",
    "house_number": "Huisnummer",
    "email": "E-mail",
    "mobile": "06-nummer",
    "needs": "Bijzonderheden",
}


@pytest.fixture
def fake() -> Iterator[FakeMicrosoft365]:
    with FakeMicrosoft365(
        tenant_id=TENANT, client_id=CLIENT, client_secret=SECRET, page_size=2
    ) as server:
        yield server


def make_config(fake: FakeMicrosoft365, **sections: Any) -> M365Config:
    return M365Config(
        tenant_id=TENANT,
        client_id=CLIENT,
        client_secret_env="KT_TEST_M365_SECRET",
        authority_host=fake.authority_host,
        graph_base_url=fake.graph_base_url,
        ca_bundle=fake.ca_bundle_path,
        max_retries=3,
        **sections,
    )


def make_client(config: M365Config) -> GraphClient:
    return GraphClient(
        GraphAuth(config, env={"KT_TEST_M365_SECRET": SECRET}), config, backoff_base=0.01
    )


@pytest.fixture
def list_config(fake: FakeMicrosoft365) -> M365Config:
    return make_config(
        fake, contact_list=ContactListConfig(site_id=SITE, list_id=LIST, columns=LIST_COLUMNS)
    )


def seed_list(fake: FakeMicrosoft365) -> dict[str, str]:
    rows: list[dict[str, Any]] = [
        {"VHE": "VHE-1", "Title": "Jansen", "Mobiel": "06-12345678", "Voorkeur": "Bellen"},
        {"VHE": "VHE-2", "Title": "Yilmaz", "Taal": "Turks", "Tolk": True},
        {"VHE": "VHE-3", "Mobiel": "12"},  # not a phone number: kept aside
        {"VHE": "VHE-4", "Bereikbaar": "na 16:00"},
        {"VHE": "", "Title": ""},  # an empty row: skipped, not rejected
    ]
    fake.state.add_list(SITE, LIST)
    return {row["VHE"] or "empty": fake.state.add_list_item(SITE, LIST, row) for row in rows}


# --- SharePoint list ------------------------------------------------------------------------


def test_list_full_read_then_changes_then_resync(
    fake: FakeMicrosoft365, list_config: M365Config
) -> None:
    ids = seed_list(fake)
    client = make_client(list_config)

    contacts, rejected, link = read_contact_list(client, list_config, None)

    assert [c.unit_code for c in contacts] == ["VHE-1", "VHE-2", "VHE-4"]
    assert contacts[0].mobile == "+31612345678"
    assert contacts[0].preferred_channel is PreferredChannel.PHONE
    assert contacts[0].row == int(ids["VHE-1"])
    assert contacts[1].language == "tr"
    assert contacts[1].needs == {PracticalNeed.INTERPRETER}
    assert [(r.entity, r.source_id, r.unit_code, r.reason) for r in rejected] == [
        (EntityKind.RESIDENT, ids["VHE-3"], "VHE-3", RejectReason.MALFORMED)
    ]
    assert "12" not in rejected[0].detail
    assert fake.count("GET", "/items/delta") == 3  # 5 items, pages of 2
    assert link

    # the team edits one row, deletes one and adds one
    fake.state.update_list_item(SITE, LIST, ids["VHE-4"], {"Mobiel": "+31 6 8765 4321"})
    fake.state.delete_list_item(SITE, LIST, ids["VHE-2"])
    new_id = fake.state.add_list_item(SITE, LIST, {"VHE": "VHE-5", "Voorkeur": "brief"})
    changes = read_contact_list_changes(client, list_config, link)
    assert changes.full is False
    assert [(c.unit_code, c.mobile) for c in changes.contacts] == [
        ("VHE-4", "+31687654321"),
        ("VHE-5", ""),
    ]
    assert changes.removed_ids == [ids["VHE-2"]]
    assert changes.rejected == []
    assert new_id != ids["VHE-2"]

    # nothing changed: an empty round with a new link
    quiet = read_contact_list_changes(client, list_config, changes.delta_link)
    assert (quiet.contacts, quiet.removed_ids, quiet.full) == ([], [], False)

    # the stored link has expired: 410, and the client starts over with a full read
    fake.state.expire_delta_tokens(SITE, LIST)
    resync = read_contact_list_changes(client, list_config, quiet.delta_link)
    assert resync.full is True
    assert [c.unit_code for c in resync.contacts] == ["VHE-1", "VHE-4", "VHE-5"]
    assert any(r.path.endswith("/items/delta") and r.status == 410 for r in fake.requests_log)


def test_list_read_by_plain_paging(fake: FakeMicrosoft365, list_config: M365Config) -> None:
    seed_list(fake)
    contacts, rejected = read_contact_list_items(make_client(list_config), list_config, page_size=2)
    assert [c.unit_code for c in contacts] == ["VHE-1", "VHE-2", "VHE-4"]
    assert len(rejected) == 1
    assert fake.count("GET", f"/lists/{LIST}/items") == 3


def test_unknown_column_field_is_a_configuration_error(fake: FakeMicrosoft365) -> None:
    config = make_config(
        fake,
        contact_list=ContactListConfig(
            site_id=SITE, list_id=LIST, columns={"unit_code": "VHE", "health": "Notities"}
        ),
    )
    with pytest.raises(ContactSourceError, match="health"):
        read_contact_list(make_client(config), config, None)


# --- Excel ----------------------------------------------------------------------------------


def workbook_bytes(*, as_table: bool = False) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Contacten"
    sheet.append(["Contactlijst project Noord"])  # a title above the header
    sheet.append([])
    sheet.append(["Postcode", "Huisnummer", "E-mail", "06-nummer", "Bijzonderheden", "Extra"])
    sheet.append(["1234AB", "2a", "f.yilmaz@example.nl", "0612345678", "tolk", "x"])  # row 4
    sheet.append([None, None, None, None, None, None])  # row 5: empty
    sheet.append(["1234 AB", 3, None, None, "dementie", None])  # row 6: not a practical need
    sheet.append(["1234 AB", "9", "nieuw@example.nl", None, None, None])  # row 7: unknown unit
    if as_table:
        other = book.create_sheet("Overzicht")
        other.append(["Postcode", "Huisnummer", "E-mail", "06-nummer", "Bijzonderheden"])
        other.append(["1234 AB", "1", "piet@example.nl", None, "extra tijd"])
        other.add_table(Table(displayName="Bewoners", ref="A1:E2"))
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_workbook_in_a_site_library(fake: FakeMicrosoft365) -> None:
    site = fake.state.add_site(SITE)
    fake.state.put_file(site.drive_id, "Bewoners/contactlijst.xlsx", workbook_bytes())
    config = make_config(
        fake,
        contact_workbook=ContactWorkbookConfig(
            site_id=SITE, item_path="Bewoners/contactlijst.xlsx", columns=BOOK_COLUMNS
        ),
    )
    contacts, rejected = read_contact_workbook(make_client(config), config)

    assert [(c.row, c.postcode, c.number, c.letter, c.email, c.mobile) for c in contacts] == [
        (4, "1234 AB", 2, "A", "f.yilmaz@example.nl", "+31612345678"),
        (7, "1234 AB", 9, "", "nieuw@example.nl", ""),
    ]
    assert contacts[0].needs == {PracticalNeed.INTERPRETER}
    assert [(r.source_id, r.reason) for r in rejected] == [("6", RejectReason.MALFORMED)]
    assert "dementie" not in rejected[0].detail
    assert fake.count("GET", "/_download/") == 1  # the 302 was followed without our token


def test_workbook_table_in_a_drive(fake: FakeMicrosoft365) -> None:
    drive_id = "b!drive-of-the-team"
    fake.state.put_file(drive_id, "contactlijst.xlsx", workbook_bytes(as_table=True))
    config = make_config(
        fake,
        contact_workbook=ContactWorkbookConfig(
            drive_id=drive_id, item_path="contactlijst.xlsx", sheet="Bewoners", columns=BOOK_COLUMNS
        ),
    )
    contacts, rejected = read_contact_workbook(make_client(config), config)
    assert [(c.row, c.number, c.email, c.needs) for c in contacts] == [
        (2, 1, "piet@example.nl", frozenset({PracticalNeed.EXTRA_TIME}))
    ]
    assert rejected == []


def test_workbook_missing_column_is_reported(fake: FakeMicrosoft365) -> None:
    site = fake.state.add_site(SITE)
    fake.state.put_file(site.drive_id, "lijst.xlsx", workbook_bytes())
    columns = {**BOOK_COLUMNS, "language": "Taal"}
    config = make_config(
        fake,
        contact_workbook=ContactWorkbookConfig(
            site_id=SITE, item_path="lijst.xlsx", columns=columns
        ),
    )
    with pytest.raises(ContactSourceError, match="Taal"):
        read_contact_workbook(make_client(config), config)


# --- from the list into the register -------------------------------------------------------


def test_list_rows_merge_into_the_register(fake: FakeMicrosoft365, list_config: M365Config) -> None:
    seed_list(fake)
    contacts, _, _ = read_contact_list(make_client(list_config), list_config, None)

    def unit(code: str, number: int) -> Unit:
        address = Address("Kerkstraat", number, "1234 AB", "Utrecht")
        return Unit(code, code, "C1", address, Tenure.CORPORATION_RENTAL)

    jansen = Resident("R1", PersonName("Jansen"))
    yilmaz = Resident("R2", PersonName("Yilmaz"), language="ar")
    households = [
        Household(unit("VHE-1", 1), ((jansen, PartyRole.TENANT),)),
        Household(unit("VHE-2", 2), ((yilmaz, PartyRole.TENANT),)),
        Household(unit("VHE-4", 4)),
    ]
    result = merge_team_contacts(households, contacts)

    assert result.residents["R1"].contact(ContactKind.MOBILE) == "+31612345678"
    assert result.residents["R2"].needs == {PracticalNeed.INTERPRETER}
    assert result.residents["R2"].language == "ar"  # the ERP's language stays
    assert [(c.unit_code, c.field, c.team_source) for c in result.conflicts] == [
        ("VHE-2", "language", "sharepoint_list")
    ]
    assert [m.kind for m in result.matches] == [MatchKind.UNIT_CODE, MatchKind.UNIT_CODE]
    assert [u.reason for u in result.unmatched] == [UnmatchedReason.VACANT_UNIT]
