"""The Prefect flows end to end in ephemeral mode: fake ERP and fake tenant, real store.

One Prefect test harness for the whole module (entering it costs seconds); the use cases are
tested as plain functions elsewhere.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prefect.testing.utilities import prefect_test_harness

from connectors.erp.vera import RELATIONS
from connectors.fakes.m365 import FakeMicrosoft365
from connectors.fakes.vera_data import generate_dataset
from connectors.fakes.vera_server import FakeVeraServer, Fault

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def corporation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, FakeVeraServer, FakeMicrosoft365]]:
    """The demo corporation file pointed at a fake ERP and a fake tenant, with a fresh store."""
    key, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    monkeypatch.setenv("KEUKENTAFEL_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("KEUKENTAFEL_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("KEUKENTAFEL_DEMO_VERA_API_KEY", key)
    monkeypatch.setenv("KEUKENTAFEL_DEMO_M365_SECRET", secret)
    monkeypatch.setenv("KEUKENTAFEL_LINK_SECRET", secrets.token_urlsafe(32))
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    m365 = data["m365"]
    tenant = FakeMicrosoft365(
        tenant_id=m365["tenant_id"], client_id=m365["client_id"], client_secret=secret
    )
    tenant.state.add_mailbox(m365["mailbox"])
    with FakeVeraServer(generate_dataset(300, seed=2, complexes=5), api_key=key) as vera, tenant:
        data["source"]["vera"]["base_url"] = vera.url
        data["source"]["vera"]["max_retries"] = 1
        m365.update(
            authority_host=tenant.authority_host,
            graph_base_url=tenant.graph_base_url,
            ca_bundle=tenant.ca_bundle_path,
        )
        path = tmp_path / "corporation.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        yield path, vera, tenant


def test_sync_flow_applies_and_reports(
    corporation: tuple[Path, FakeVeraServer, FakeMicrosoft365],
) -> None:
    from flows.sync_register import sync_register_flow

    path, _vera, _tenant = corporation
    first = sync_register_flow(str(path))
    assert first["outcome"] == "succeeded"
    assert first["counts"]["unit_added"] > 100
    assert first["kept_aside"] == []
    again = sync_register_flow(str(path))
    assert again["rows_written"] == 0


def test_sync_flow_fails_loudly_on_a_broken_erp(
    corporation: tuple[Path, FakeVeraServer, FakeMicrosoft365],
) -> None:
    from flows.sync_register import sync_register_flow
    from keukentafel.bootstrap import open_store
    from keukentafel.store.repositories import SyncRunRepository
    from keukentafel.usecases.sync_register import SyncFailed

    path, vera, _tenant = corporation
    vera.faults.add(Fault("status", endpoint=RELATIONS, times=None, status=500))
    with pytest.raises(SyncFailed):
        sync_register_flow(str(path))
    with open_store(os.environ["KEUKENTAFEL_DATABASE_URL"])() as session:
        latest = SyncRunRepository(session, "WSD").latest()
        assert latest is not None and latest.outcome == "failed"


def test_team_pull_and_mailing_flows(
    corporation: tuple[Path, FakeVeraServer, FakeMicrosoft365],
) -> None:
    from flows.mailing import dispatch_flow, mailing_flow
    from flows.sync_register import sync_register_flow
    from flows.team_contacts import pull_team_contacts_flow

    path, _vera, tenant = corporation
    sync_register_flow(str(path))
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    site, lst = config["m365"]["contact_list"]["site_id"], config["m365"]["contact_list"]["list_id"]
    tenant.state.add_list_item(site, lst, {"VHE": "VHE999999", "Mobiel": "06-12345678"})
    pulled = pull_team_contacts_flow(str(path))
    assert pulled["counts"]["m365_list"]["unmatched"] == 1

    content = ROOT / "config" / "mailings" / "havenkwartier-info_evening.yaml"
    result = mailing_flow(str(path), "HAVEN-SLOOP", "info_evening", content_path=str(content))
    prepared, delivered = result["prepared"], result["delivered"]
    assert prepared["letters"] > 0 and prepared["emails"] == prepared["enqueued"] > 0
    assert delivered["sent"] == prepared["emails"]
    assert Path(prepared["print_pdf"]).stat().st_size > 10_000
    sent_items = tenant.state.messages(config["m365"]["mailbox"], "SentItems")
    assert len(sent_items) == prepared["emails"]

    again = mailing_flow(str(path), "HAVEN-SLOOP", "info_evening", content_path=str(content))
    assert again["prepared"]["enqueued"] == 0 and again["delivered"]["sent"] == 0
    assert dispatch_flow(str(path))["sent"] == 0
    assert len(tenant.state.messages(config["m365"]["mailbox"], "SentItems")) == prepared["emails"]


def test_artifacts_carry_counts_and_unit_codes_not_names(
    corporation: tuple[Path, FakeVeraServer, FakeMicrosoft365],
) -> None:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.sync_register import sync_register_flow

    path, vera, _tenant = corporation
    broken = vera.dataset.units[0]
    broken["adres"]["postcode"] = "12AB"
    surnames = {r.get("achternaam") for r in vera.dataset.relations if r.get("achternaam")}
    sync_register_flow(str(path))

    async def read(key: str) -> str:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )
            return str(found[-1].data)

    kept = asyncio.run(read("register-sync-kept-aside"))
    assert broken["code"] in kept and "invalid_postcode" in kept
    counts = asyncio.run(read("register-sync-counts"))
    assert "unit_added" in counts
    assert not any(name in kept or name in counts for name in surnames)
