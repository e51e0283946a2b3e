"""Alerts and the reviewed mailing on a real Prefect server on 127.0.0.1.

The alerts are applied with `keukentafel alerts apply`; a failed run, a stale outbox and a sync
that did not complete (with a short window) each reach a local webhook receiver through the
server's own automation services. The `mailing-review` flow plans, pauses for approval, and is
resumed with input through the client API; then it sends through the outbox, once.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml
from prefect import flow
from prefect.client.schemas.objects import State
from prefect.states import Failed
from typer.testing import CliRunner

from connectors.fakes.m365 import FakeMicrosoft365
from connectors.fakes.vera_data import generate_dataset
from connectors.fakes.vera_server import FakeVeraServer
from keukentafel.bootstrap import App, CorporationRegistry, build, installed
from keukentafel.settings import Settings
from tests.prefect_server import PrefectServer, prefect_server, wait_for

pytestmark = pytest.mark.slow  # a Prefect server in a subprocess

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "config" / "mailings" / "havenkwartier-info_evening.yaml"


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps every JSON body it is sent."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [f"{m.get('title', '')}\n{m.get('text', '')}" for m in self.received]

    def find(self, needle: str) -> str | None:
        return next((t for t in self.texts() if needle in t), None)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    with prefect_server(tmp_path_factory.mktemp("prefect")) as found, found.using():
        yield found


Corporation = tuple[App, FakeVeraServer, FakeMicrosoft365, Path]


@pytest.fixture(scope="module")
def corporation(
    server: PrefectServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Corporation]:
    """The demo corporation against a fake ERP and tenant, its register synced, installed."""
    from flows.sync_register import sync_register_flow

    tmp = tmp_path_factory.mktemp("corporation")
    key, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    settings = Settings.from_env(
        {
            "KEUKENTAFEL_DATABASE_URL": f"sqlite:///{tmp / 'store.db'}",
            "KEUKENTAFEL_OUTPUT_DIR": str(tmp / "out"),
            "KEUKENTAFEL_CONFIG_DIR": str(tmp / "corporations"),
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
    with FakeVeraServer(generate_dataset(120, seed=3, complexes=5), api_key=key) as vera, tenant:
        data["source"]["vera"]["base_url"] = vera.url
        m365.update(
            authority_host=tenant.authority_host,
            graph_base_url=tenant.graph_base_url,
            ca_bundle=tenant.ca_bundle_path,
        )
        (tmp / "corporations").mkdir()
        path = tmp / "corporations" / "wsd.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        corporations = CorporationRegistry.from_files([path])
        with build(settings, corporations=corporations) as app, installed(app):
            asyncio.run(sync_register_flow("WSD"))
            yield app, vera, tenant, tmp


@flow(name="refusing-flow")
def _refusing_flow() -> State[Any]:
    return Failed(name="Refused", message="register sync refused: 3 rows kept aside")


def _read_automations() -> dict[str, Any]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {a.name: a for a in client.read_automations()}


def test_alerts_reach_the_webhook_without_personal_data(
    corporation: Corporation, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.alerts import apply_alerts, report_stale_outbox
    from flows.deployments import plan, register
    from flows.sync_register import sync_register_flow
    from keukentafel.cli.app import app as cli
    from keukentafel.config import ConfigError
    from keukentafel.domain.outbox import OutgoingMessage
    from keukentafel.store.repositories import OutboxRepository

    app, _vera, _tenant, _tmp = corporation
    receiver = Receiver()
    register(plan(app.settings, app.corporations))  # the sync deployment the 26 h alert watches

    monkeypatch.setenv("KEUKENTAFEL_ALERT_WEBHOOK_URL", receiver.url)
    result = CliRunner().invoke(cli, ["alerts", "apply"])
    assert result.exit_code == 0, result.output
    assert receiver.url not in result.output  # the webhook URL is a secret
    automations = _read_automations()
    assert {
        "keukentafel-run-failed",
        "keukentafel-outbox-stale",
        "keukentafel-sync-not-completed-wsd",
    } <= set(automations)
    stale_sync = automations["keukentafel-sync-not-completed-wsd"].trigger
    assert stale_sync.posture == "Proactive" and stale_sync.within == timedelta(hours=26)
    assert stale_sync.expect == {"prefect.flow-run.Completed"}

    # 1. a failed run
    state = asyncio.run(sync_register_flow("NOPE", return_state=True))
    assert state.is_failed()
    with pytest.raises(ConfigError):
        state.result()
    failed = wait_for(
        lambda: receiver.find("sync-register Failed"), timeout=60, what="the run-failed alert"
    )
    assert "ended Failed" in failed and str(state.state_details.flow_run_id) in failed

    # a refused run (a failed state named Refused) is a failure too
    refused = _refusing_flow(return_state=True)
    assert refused.is_failed() and refused.name == "Refused"
    wait_for(
        lambda: receiver.find("refusing-flow Refused"), timeout=60, what="the refused-run alert"
    )

    # 2. an outbox with a message waiting for two hours
    address = "bewoner.geheim@example.nl"
    with app.sessions.begin() as session:
        OutboxRepository(session, "WSD").enqueue(
            [
                OutgoingMessage(
                    "WSD/HAVEN-SLOOP/info_evening/old", "VHE-STALE", "email", address, "Uw", b"x"
                )
            ],
            datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2),
        )
    assert report_stale_outbox("WSD") == {"waiting": 1, "oldest_minutes": 120}
    stale = wait_for(
        lambda: receiver.find("outbox of WSD is waiting"), timeout=60, what="the outbox alert"
    )
    assert "1 message(s) of WSD" in stale and "120 minutes" in stale

    # 3. a sync that has not completed within its window (26 h in production, 15 s here)
    apply_alerts(receiver.url, sync_within=timedelta(seconds=15))
    late = wait_for(
        lambda: receiver.find("sync-register-wsd has not completed"),
        timeout=75,
        what="the sync-not-completed alert",
    )
    assert "register may be out of date" in late

    # nothing personal in any notification: no address, no name from the register
    surnames = {r.get("achternaam") for r in _vera.dataset.relations if r.get("achternaam")}
    for text in receiver.texts():
        assert address not in text and not any(name in text for name in surnames)


def _paused_run(flow_name: str) -> UUID | None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))
    return next((r.id for r in runs if r.state and r.state.is_paused()), None)


def _artifacts(run_id: UUID) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    return {a.key: a.data for a in found}


def _in_thread(target: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    """Run ``target`` in a thread with this context (the Prefect settings point at the server)."""
    out: list[Any] = []
    context = contextvars.copy_context()
    thread = threading.Thread(target=lambda: out.append(context.run(target, *args)), daemon=True)
    thread.start()
    return thread, out


def test_a_mailing_from_the_ui_waits_for_approval_then_sends_once(
    corporation: Corporation,
) -> None:
    from prefect.flow_runs import resume_flow_run

    from flows.mailing_review import mailing_review_flow

    app, vera, tenant, _tmp = corporation
    mailbox = app.corporation("WSD").m365.mailbox  # type: ignore[union-attr]
    before = app.outbox_counts("WSD")
    thread, out = _in_thread(
        mailing_review_flow, "WSD", "HAVEN-SLOOP", "info_evening", str(CONTENT)
    )
    run_id = wait_for(lambda: _paused_run("mailing-review"), timeout=60, what="a paused review")

    # planned, nothing written or queued yet
    artifacts = _artifacts(run_id)
    counts = {
        row["what"]: row["count"]
        for row in json.loads(artifacts["mailing-wsd-haven-sloop-info-evening-plan"])
    }
    assert counts["letters (post)"] > 0 and counts["e-mails"] > 0
    link = artifacts["mailing-wsd-haven-sloop-info-evening-sample"]  # [text](file:///...)
    sample = Path(link[link.index("(file://") + len("(file://") : -1])
    assert sample.read_bytes().startswith(b"%PDF") and sample.is_relative_to(
        app.settings.output_dir
    )
    surnames = {r.get("achternaam") for r in vera.dataset.relations if r.get("achternaam")}
    shown = json.dumps(artifacts)
    assert not any(name in shown for name in surnames)
    assert app.outbox_counts("WSD") == before
    assert tenant.state.messages(mailbox, "SentItems") == []

    resume_flow_run(run_id, run_input={"approve": True, "reviewer": "ops-test"})
    thread.join(120)
    assert not thread.is_alive()
    outcome = out[0]
    prepared, delivered = outcome.prepared, outcome.delivered
    assert prepared.letters == counts["letters (post)"]
    assert delivered.sent == prepared.emails == counts["e-mails"]
    assert len(tenant.state.messages(mailbox, "SentItems")) == prepared.emails
    assert Path(prepared.print_pdf).stat().st_size > 10_000


def test_a_mailing_not_approved_sends_nothing(corporation: Corporation) -> None:
    from prefect.client.orchestration import get_client
    from prefect.flow_runs import resume_flow_run

    from flows.mailing_review import mailing_review_flow

    app, _vera, _tenant, tmp = corporation
    content = yaml.safe_load(CONTENT.read_text(encoding="utf-8"))
    content["mailing_id"] = "not-approved-1"
    path = tmp / "not-approved.yaml"
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    before = app.outbox_counts("WSD")

    def run() -> Any:
        return mailing_review_flow(
            "WSD", "HAVEN-SLOOP", "info_evening", str(path), return_state=True
        )

    thread, out = _in_thread(run)
    run_id = wait_for(lambda: _paused_run("mailing-review"), timeout=60, what="a paused review")
    resume_flow_run(run_id, run_input={"approve": False})
    thread.join(60)
    assert out[0].is_cancelled()
    with get_client(sync_client=True) as client:
        assert "not approved" in (client.read_flow_run(run_id).state.message or "")  # type: ignore[union-attr]
    assert app.outbox_counts("WSD") == before
