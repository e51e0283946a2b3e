"""Reply matching against the fake Microsoft 365 tenant (the real Graph protocol on 127.0.0.1):
a reply that quotes our message header, one from an address the register has, and one from a
stranger become open items once each (a re-run adds nothing), on the right household; nothing
in the consent ledger changes; the CLI prints counts only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from connectors.fakes.m365 import FakeMicrosoft365
from connectors.m365.mail import OUR_HEADER
from keukentafel.bootstrap import App
from keukentafel.store.models import ConsentEntryRow, OpenItemRow, OutboxRow
from tests import builders
from tests import web_builders as wb
from tests.m365_fixtures import CLIENT_SECRET, MAILBOX, SECRET_ENV

pytestmark = pytest.mark.slow
TODAY = builders.local_today()


@pytest.fixture
def app(fake_m365: FakeMicrosoft365, tmp_path: Path) -> Iterator[App]:
    m365 = {
        "tenant_id": fake_m365.tenant_id,
        "client_id": fake_m365.client_id,
        "authority_host": fake_m365.authority_host,
        "graph_base_url": fake_m365.graph_base_url,
        "ca_bundle": fake_m365.ca_bundle_path,
        "client_secret_env": SECRET_ENV,
        "mailbox": MAILBOX,
    }
    with wb.make_app(
        tmp_path, f"sqlite:///{tmp_path / 'kt.db'}", m365=m365, secrets={SECRET_ENV: CLIENT_SECRET}
    ) as application:
        builders.run(application.sessions, builders.register(3))
        wb.send_proposal(application, TODAY)
        yield application


def _items(app: App) -> list[tuple[str, str, str, str]]:
    with app.sessions() as s:
        rows = s.scalars(select(OpenItemRow).order_by(OpenItemRow.id)).all()
        return [(r.project_code, r.unit_code, r.kind, r.text) for r in rows]


def test_replies_become_open_items_once_and_never_change_consent(
    app: App, fake_m365: FakeMicrosoft365
) -> None:
    with app.sessions() as s:
        sent = s.scalars(
            select(OutboxRow.message_id).where(OutboxRow.unit_code == "VHE00001")
        ).first()
    assert sent, "the proposal queued an e-mail for VHE00001"
    at = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    state = fake_m365.state
    state.deliver_reply(
        MAILBOX,
        sender="iemand.anders@example.net",
        subject="RE: Ons voorstel",
        body="Akkoord!",
        headers={OUR_HEADER: sent},
        received=at,
    )
    state.deliver_reply(
        MAILBOX, sender="R2@Example.org", subject="Vraag", body="Wanneer komt u?", received=at
    )
    state.deliver_reply(MAILBOX, sender="x@example.com", subject="Hoi", body="?", received=at)
    first = app.pull_replies("TST")
    assert (first.read, first.by_message, first.by_sender, first.kept_aside) == (3, 1, 1, 1)
    assert first.new_items == 3
    assert sorted(_items(app)) == [
        ("-", "-", "email_reply", "[niet gekoppeld aan een woning]\nOnderwerp: Hoi\n?"),
        ("P", "VHE00001", "email_reply", "Onderwerp: RE: Ons voorstel\nAkkoord!"),
        ("P", "VHE00002", "email_reply", "Onderwerp: Vraag\nWanneer komt u?"),
    ]
    again = app.pull_replies("TST")  # the watermark is inclusive: the same replies come again
    assert again.new_items == 0 and len(_items(app)) == 3
    with app.sessions() as s:
        assert s.scalars(select(ConsentEntryRow)).all() == []  # "Akkoord!" is no consent answer


def test_the_cli_pulls_replies_and_prints_counts_only(
    app: App, fake_m365: FakeMicrosoft365, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keukentafel.cli.app import app as cli

    monkeypatch.setenv("KEUKENTAFEL_DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)
    monkeypatch.setenv("KT_TEST_LINK_SECRET", wb.LINK_SECRET)

    fake_m365.state.deliver_reply(
        MAILBOX, sender="r3@example.org", subject="Vraag", body="Geheim 123", received=None
    )
    from prefect.testing.utilities import prefect_test_harness

    config = app.settings.config_path
    with prefect_test_harness(server_startup_timeout=120):
        result = CliRunner().invoke(cli, ["replies", "pull", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "by sender: 1" in result.output and "new open items: 1" in result.output
    assert "r3@example.org" not in result.output and "Geheim" not in result.output
