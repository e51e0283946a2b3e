"""The Prefect flows end to end in ephemeral mode: fake ERP and fake tenant, real store.

One Prefect test harness for the whole module (entering it costs seconds); the use cases are
tested as plain functions elsewhere. Each test installs its own App, built from settings given
here (never from the caller's environment), as the CLI does.
"""

from __future__ import annotations

import asyncio
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
from keukentafel.bootstrap import App, CorporationRegistry, build, installed
from keukentafel.settings import Settings

pytestmark = pytest.mark.slow  # a Prefect test harness

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def prefect_harness() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=60):
        yield


Corporation = tuple[App, FakeVeraServer, FakeMicrosoft365]


@pytest.fixture
def corporation(tmp_path: Path) -> Iterator[Corporation]:
    """The demo corporation file pointed at a fake ERP and a fake tenant, with a fresh store, in
    an App installed for the flows."""
    key, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    settings = Settings.from_env(
        {
            "KEUKENTAFEL_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "KEUKENTAFEL_OUTPUT_DIR": str(tmp_path / "out"),
            "KEUKENTAFEL_DEMO_VERA_API_KEY": key,
            "KEUKENTAFEL_DEMO_M365_SECRET": secret,
            "KEUKENTAFEL_LINK_SECRET": secrets.token_urlsafe(32),
        }
    )
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
        corporations = CorporationRegistry.from_files([path])
        with build(settings, corporations=corporations) as app, installed(app):
            yield app, vera, tenant


def test_sync_flow_applies_and_reports(corporation: Corporation) -> None:
    from flows.sync_register import sync_register_flow

    first = asyncio.run(sync_register_flow("WSD"))
    assert first.outcome == "succeeded"
    assert first.counts["unit_added"] > 100
    assert first.kept_aside == []
    again = asyncio.run(sync_register_flow("WSD"))
    assert again.rows_written == 0


def test_an_unknown_or_invalid_corporation_fails_the_flow(corporation: Corporation) -> None:
    from flows.sync_register import sync_register_flow
    from keukentafel.config import ConfigError

    with pytest.raises(ConfigError, match="no corporation file for 'NOPE'"):
        asyncio.run(sync_register_flow("NOPE"))


def test_sync_flow_fails_loudly_on_a_broken_erp(corporation: Corporation) -> None:
    from flows.sync_register import sync_register_flow
    from keukentafel.store.repositories import SyncRunRepository
    from keukentafel.usecases.sync_register import SyncFailed

    app, vera, _tenant = corporation
    vera.faults.add(Fault("status", endpoint=RELATIONS, times=None, status=500))
    with pytest.raises(SyncFailed):
        asyncio.run(sync_register_flow("WSD"))
    with app.sessions() as session:
        latest = SyncRunRepository(session, "WSD").latest()
        assert latest is not None and latest.outcome == "failed"


def test_team_pull_and_mailing_flows(corporation: Corporation) -> None:
    from flows.mailing import dispatch_flow, mailing_flow
    from flows.sync_register import sync_register_flow
    from flows.team_contacts import pull_team_contacts_flow

    app, _vera, tenant = corporation
    asyncio.run(sync_register_flow("WSD"))
    m365 = app.corporation("WSD").m365
    assert m365 is not None and m365.contact_list is not None and m365.mailbox is not None
    site, lst = m365.contact_list.site_id, m365.contact_list.list_id
    tenant.state.add_list_item(site, lst, {"VHE": "VHE999999", "Mobiel": "06-12345678"})
    pulled_state = pull_team_contacts_flow("WSD", return_state=True)
    assert pulled_state.name == "Failed"  # a row that fits no household needs a person
    assert pulled_state.message == (
        "team list pull kept 1 row(s) aside: unmatched 1; fix them in the team's list"
    )
    pulled = pulled_state.result(raise_on_failure=False).outcome.value
    assert pulled.counts["m365_list"]["unmatched"] == 1
    assert [(f.source, f.reason) for f in pulled.findings] == [("m365_list", "unmatched")]

    content = ROOT / "config" / "mailings" / "havenkwartier-info_evening.yaml"
    result = mailing_flow("WSD", "HAVEN-SLOOP", "info_evening", content_path=str(content))
    prepared, delivered = result.prepared, result.delivered
    assert prepared is not None
    assert prepared.letters > 0 and prepared.emails == prepared.enqueued > 0
    assert delivered.dispatched and delivered.sent == prepared.emails
    assert Path(prepared.print_pdf).stat().st_size > 10_000
    assert Path(prepared.out_dir).is_relative_to(app.settings.output_dir)
    sent_items = tenant.state.messages(m365.mailbox, "SentItems")
    assert len(sent_items) == prepared.emails

    again = mailing_flow("WSD", "HAVEN-SLOOP", "info_evening", content_path=str(content))
    assert again.prepared is not None and again.prepared.enqueued == 0
    assert again.delivered.sent == 0
    assert dispatch_flow("WSD").sent == 0
    assert len(tenant.state.messages(m365.mailbox, "SentItems")) == prepared.emails


def test_artifacts_carry_counts_and_unit_codes_not_names(corporation: Corporation) -> None:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    from flows.sync_register import sync_register_flow

    _app, vera, _tenant = corporation
    broken = vera.dataset.units[0]
    broken["adres"]["postcode"] = "12AB"
    surnames = {r.get("achternaam") for r in vera.dataset.relations if r.get("achternaam")}
    state = asyncio.run(sync_register_flow("WSD", return_state=True))
    run_id = state.state_details.flow_run_id
    assert run_id is not None
    assert state.name == "Failed" and "kept 1 row(s) aside: invalid_postcode 1" in state.message

    async def read(key: str) -> str:
        # The harness keeps the artifacts of every test in this module: read this run's only.
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=[key]),
                    flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
                )
            )
            assert len(found) == 1
            return str(found[0].data)

    kept = asyncio.run(read("sync-wsd-kept-aside"))
    assert broken["code"] in kept and "invalid_postcode" in kept
    counts = asyncio.run(read("sync-wsd-counts"))
    assert "unit_added" in counts
    assert not any(name in kept or name in counts for name in surnames)


def test_the_consent_tally_flow_publishes_counts_and_unit_codes_only(
    corporation: Corporation,
) -> None:
    import asyncio
    from datetime import datetime, timedelta

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.consent import consent_tally_flow
    from flows.sync_register import sync_register_flow
    from keukentafel.domain.consent import Channel
    from keukentafel.usecases.consent import AnswerInput

    app, vera, _tenant = corporation
    asyncio.run(sync_register_flow("WSD"))
    tally = app.consent_tally("WSD", "DIJK-RENO")
    rented = [u.unit_code for u in tally.units if u.lease_id]
    at = datetime.combine(app.today() - timedelta(days=3), datetime.min.time())
    answers = [
        AnswerInput(unit_code=code, answer="agree", at=at, channel=Channel.PAPER)
        for code in rented[: len(rented) * 3 // 4 + 1]
    ]
    assert len(app.record_consent("WSD", "DIJK-RENO", answers, recorded_by="bea").admitted) > 10
    state = consent_tally_flow("WSD", return_state=True)
    published = state.result()
    assert published.ballots[0]["project"] == "DIJK-RENO"
    assert published.ballots[0]["agreed"] == len(answers) and published.ballots[0]["presumption"]
    run_id = state.state_details.flow_run_id

    async def read() -> list[str]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )
            return [str(artifact.data) for artifact in found]

    artifacts = " ".join(asyncio.run(read()))
    assert rented[0] in artifacts and "DIJK-RENO" in artifacts
    surnames = {r.get("achternaam") for r in vera.dataset.relations if r.get("achternaam")}
    assert not any(name in artifacts for name in surnames)
    assert "REL-" not in artifacts  # no party ids either


def _artifacts(run_id: object) -> dict[str, str]:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read() -> dict[str, str]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )
            return {str(a.key): str(a.data) + str(a.description) for a in found}

    return asyncio.run(read())


def test_a_shrinking_snapshot_ends_refused_not_failed(corporation: Corporation) -> None:
    from flows.sync_register import sync_register_flow

    _app, vera, _tenant = corporation
    assert asyncio.run(sync_register_flow("WSD")).outcome == "succeeded"
    del vera.dataset.units[::2]
    state = asyncio.run(sync_register_flow("WSD", return_state=True))
    assert state.name == "Refused" and state.is_failed()
    assert state.message.startswith("sync refused: refusing to apply: this snapshot would remove")
    artifacts = _artifacts(state.state_details.flow_run_id)
    assert "sync-wsd-problem" in artifacts and "--max-shrink" in artifacts["sync-wsd-problem"]
    applied = asyncio.run(sync_register_flow("WSD", max_shrink=0.9, return_state=True))
    assert applied.is_completed()


def test_a_403_outage_ends_the_dispatch_red_with_its_reason(corporation: Corporation) -> None:
    from flows.mailing import dispatch_flow, mailing_flow
    from flows.sync_register import sync_register_flow

    app, _vera, tenant = corporation
    asyncio.run(sync_register_flow("WSD"))
    mailbox = app.corporation("WSD").m365.mailbox  # type: ignore[union-attr]
    tenant.faults.forbid(f"/users/{mailbox}/sendMail", method="POST", count=None)
    content = ROOT / "config" / "mailings" / "havenkwartier-info_evening.yaml"
    state = mailing_flow(
        "WSD", "HAVEN-SLOOP", "info_evening", content_path=str(content), return_state=True
    )
    assert state.is_failed() and "the mail service refused" in state.message
    assert "403" in state.message and "ErrorAccessDenied" in state.message
    outcome = state.result(raise_on_failure=False).outcome
    prepared = outcome.value.prepared
    mailing_id = prepared.mailing_key.split("/")[-1]
    mailing_keys = _artifacts(state.state_details.flow_run_id)
    mailing_report = f"mailing-wsd-haven-sloop-info-evening-{mailing_id}".lower()
    assert mailing_report in mailing_keys and f"{mailing_report}-refused" in mailing_keys

    dispatched = dispatch_flow("WSD", return_state=True)
    assert dispatched.is_failed() and "the mail service refused" in dispatched.message
    assert set(_artifacts(dispatched.state_details.flow_run_id)) == {
        "dispatch-wsd",
        "dispatch-wsd-refused",
    }  # its own report: the mailing's is never overwritten
    tenant.faults.clear()
    for _ in range(3):  # the rest goes; then nothing is left to do
        dispatch_flow("WSD", return_state=True)
    idle = dispatch_flow("WSD", return_state=True)
    assert idle.is_completed() and _artifacts(idle.state_details.flow_run_id) == {}


def test_commands_on_a_server_are_named_and_tagged_as_scheduled_runs(
    corporation: Corporation,
) -> None:
    import asyncio
    from dataclasses import replace

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    from flows.launch import launch
    from flows.naming import run_name, tags_for

    app, _vera, _tenant = corporation
    settings = replace(app.settings, prefect_api_url=PREFECT_API_URL.value())
    with build(settings, corporations=app.corporations) as on_server, installed(on_server):
        outcome = launch("sync", on_server, "WSD")
    assert outcome.ok and outcome.value.outcome == "succeeded"
    assert "/runs/flow-run/" in outcome.where
    run_id = outcome.where.rsplit("/", 1)[-1]

    async def read() -> tuple[str, list[str], dict[str, object]]:
        async with get_client() as client:
            run = await client.read_flow_run(run_id)
            return run.name, sorted(run.tags), run.parameters

    name, tags, parameters = asyncio.run(read())
    assert name == run_name("sync", "WSD") and name.startswith("sync-wsd-20")
    assert tags == sorted(tags_for("sync", "WSD")) == ["WSD", "register"]
    # Stored as given (flows/decorator.py), as Prefect's own encoding would have stored them.
    assert parameters == {"corporation": "WSD", "show_progress": False, "max_shrink": None}


PRIVACY_CORPORATION = """
corporation: {code: PRV, name: Woonstichting Privé}
source:
  kind: vera
  vera:
    base_url: http://127.0.0.1:1/v4
    auth: {mode: api_key, api_key_env: PRV_VERA_KEY}
projects:
  - {code: P-OLD, name: Renovatie Oud, kind: renovation_occupied, complexes: [OLD, SHARED],
     end_date: 2023-06-30, retention_months: 12}
  - {code: P-NEW, name: Sloop Nieuw, kind: demolition, complexes: [SHARED, NEW]}
"""


def test_the_purge_flow_publishes_counts_and_unit_codes_only(tmp_path: Path) -> None:
    """The purge of a closed project (the sample of tests/privacy_sample.py) as a flow run: its
    artifacts hold counts and unit codes, never a name, and the audit log names the run."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.privacy import purge_personal_data_flow
    from tests import privacy_sample as sample

    path = tmp_path / "prv.yaml"
    path.write_text(PRIVACY_CORPORATION, encoding="utf-8")
    settings = Settings.from_env(
        {
            "KEUKENTAFEL_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "KEUKENTAFEL_OUTPUT_DIR": str(tmp_path / "out"),
            "KEUKENTAFEL_CONFIG": str(path),
        }
    )
    corporations = CorporationRegistry.from_files([path])
    with build(settings, corporations=corporations) as application, installed(application):
        sample.seed(application.sessions, tmp_path / "out")
        state = purge_personal_data_flow("PRV", sample.AFTER, return_state=True)
        report = state.result()
        run_id = state.state_details.flow_run_id

        async def read() -> dict[str, str]:
            async with get_client() as client:
                found = await client.read_artifacts(
                    artifact_filter=ArtifactFilter(
                        flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])
                    )
                )
                return {str(a.key): str(a.data) + str(a.description) for a in found}

        artifacts = asyncio.run(read())
        entries = application.audit_events("PRV")
    assert report.units == sample.PURGED_UNITS
    assert set(artifacts) == {"purge-prv-counts", "purge-prv-units"}
    assert "residents" in artifacts["purge-prv-counts"] and "P-OLD" in artifacts["purge-prv-counts"]
    assert all(code in artifacts["purge-prv-units"] for code in (*sample.PURGED_UNITS, "VHE00004"))
    for value in sample.names_and_contacts():
        assert not any(value in text for text in artifacts.values())
    assert entries[0].event.actor == f"prefect:{run_id}"
