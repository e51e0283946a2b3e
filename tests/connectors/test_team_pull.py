"""Pulling the team's SharePoint list into the store, merged on read: real msal, fake tenant."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from connectors.fakes.m365 import FakeMicrosoft365
from connectors.m365.adapters import GraphConnection, SharePointListSource
from keukentafel.domain.model import ContactKind, PracticalNeed
from keukentafel.domain.register import RejectReason
from keukentafel.usecases.team_contacts import effective_households, pull_team_contacts
from tests import builders
from tests.builders import CORP, run
from tests.m365_fixtures import LIST_ID, SITE_ID, make_m365_config

COLUMNS = {
    "unit_code": "VHE",
    "relation_hint": "Naam",
    "mobile": "Mobiel",
    "email": "Email",
    "preferred_channel": "Voorkeur",
    "interpreter": "Tolk",
}
ON = date(2026, 11, 28)


def source(fake: FakeMicrosoft365, env: dict[str, str]) -> SharePointListSource:
    config = make_m365_config(
        fake, contact_list={"site_id": SITE_ID, "list_id": LIST_ID, "columns": COLUMNS}
    )
    return SharePointListSource(GraphConnection(config, env))


def test_pull_stores_rows_merges_on_read_and_reports_conflicts(
    sessions: sessionmaker[Session], fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    run(sessions, builders.register(5))
    state = fake_m365.state
    state.add_list_item(
        SITE_ID,
        LIST_ID,
        {"VHE": "VHE00001", "Mobiel": "06-11112222", "Voorkeur": "bellen", "Tolk": "ja"},
    )
    state.add_list_item(
        SITE_ID, LIST_ID, {"VHE": "VHE00002", "Email": "ander@example.org"}
    )  # ERP has r2@
    state.add_list_item(
        SITE_ID, LIST_ID, {"VHE": "VHE09999", "Mobiel": "06-33334444"}
    )  # unknown unit

    first = pull_team_contacts(sessions, CORP, source(fake_m365, m365_env), on=ON)
    assert first.counts["rows_read"] == 3 and first.counts["rows_written"] == 3
    # VHE00001: the ERP marks e-mail as preferred, the team says "bellen": reported, ERP kept.
    assert first.counts["conflicts"] == 2 and first.counts["unmatched"] == 1
    reasons = {(r.unit_code, r.reason) for r in first.rejected}
    assert ("VHE00002", RejectReason.CONFLICT) in reasons
    assert any("preferred_channel" in r.detail for r in first.rejected if r.unit_code == "VHE00001")
    assert any(r.reason is RejectReason.UNMATCHED for r in first.rejected)
    assert all("ander@example.org" not in r.detail for r in first.rejected)

    households = {h.unit.code: h for h in effective_households(sessions, CORP, ON)}
    tenant = households["VHE00001"].residents[0]
    assert tenant.contact(ContactKind.MOBILE) == "+31611112222"
    assert PracticalNeed.INTERPRETER in tenant.needs
    assert (
        households["VHE00002"].residents[0].contact(ContactKind.EMAIL) == "r2@example.org"
    )  # ERP wins

    second = pull_team_contacts(sessions, CORP, source(fake_m365, m365_env), on=ON)  # by delta link
    assert second.counts["rows_written"] == 0

    state.delete_list_item(SITE_ID, LIST_ID, "1")
    third = pull_team_contacts(sessions, CORP, source(fake_m365, m365_env), on=ON)
    assert third.counts["rows_removed"] == 1
    households = {h.unit.code: h for h in effective_households(sessions, CORP, ON)}
    assert households["VHE00001"].residents[0].contact(ContactKind.MOBILE) is None


def test_rejected_team_rows_keep_no_unmapped_columns(
    sessions: sessionmaker[Session], fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    from sqlalchemy import select

    from keukentafel.store.models import RejectedRowRow

    run(sessions, builders.register(2))
    # No unit code and no address: unusable. The team's free-text note must not be stored.
    fake_m365.state.add_list_item(SITE_ID, LIST_ID, {"Mobiel": "06-1", "Notitie": "heeft dementie"})
    report = pull_team_contacts(sessions, CORP, source(fake_m365, m365_env), on=ON)
    assert report.counts["kept_aside"] == 1
    with sessions() as s:
        raws = [r.raw for r in s.scalars(select(RejectedRowRow))]
    assert raws and all("dementie" not in str(raw) for raw in raws)
