"""Operations from the command line without a Prefect server: failures that shout, a retry after
the cause is fixed, the shrink guard overridden for one run, errors in at most three lines, and
``keukentafel doctor``. Fake ERP and fake tenant on loopback, a real store."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from connectors.erp.vera import RELATIONS
from connectors.fakes.m365 import FakeMicrosoft365
from connectors.fakes.vera_data import generate_dataset
from connectors.fakes.vera_server import FakeVeraServer, Fault
from keukentafel.cli.app import app

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Site:
    config: Path
    vera: FakeVeraServer
    tenant: FakeMicrosoft365
    mailbox: str
    env: dict[str, str]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """The demo corporation file pointed at a fake ERP and a fake tenant; the environment a
    command sees (no Prefect server configured)."""
    key, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    env = {
        "KEUKENTAFEL_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "KEUKENTAFEL_OUTPUT_DIR": str(tmp_path / "out"),
        "KEUKENTAFEL_DEMO_VERA_API_KEY": key,
        "KEUKENTAFEL_DEMO_M365_SECRET": secret,
        "KEUKENTAFEL_LINK_SECRET": secrets.token_urlsafe(32),
        "KEUKENTAFEL_DEMO_BOUWBV_WHSEC": "whsec_" + secrets.token_urlsafe(32),
        "KEUKENTAFEL_DEMO_BOUWBV_TOKEN": secrets.token_urlsafe(24),
        "KEUKENTAFEL_DEMO_BOUWBV_INBOUND": "whsec_" + secrets.token_urlsafe(32),
    }
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    m365 = data["m365"]
    tenant = FakeMicrosoft365(
        tenant_id=m365["tenant_id"], client_id=m365["client_id"], client_secret=secret
    )
    tenant.state.add_mailbox(m365["mailbox"])
    with FakeVeraServer(generate_dataset(200, seed=3, complexes=5), api_key=key) as vera, tenant:
        data["source"]["vera"].update(base_url=vera.url, max_retries=0)
        m365.update(
            authority_host=tenant.authority_host,
            graph_base_url=tenant.graph_base_url,
            ca_bundle=tenant.ca_bundle_path,
        )
        path = tmp_path / "corporation.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        yield Site(path, vera, tenant, m365["mailbox"], env)


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, " ".join(result.output.split())


def test_a_403_outage_ends_red_and_retry_sends_each_once_after_the_fix(site: Site) -> None:
    from keukentafel.domain.outbox import MAX_ATTEMPTS

    config = ["--config", str(site.config)]
    code, _ = _cli("sync", "--no-progress", *config)
    assert code == 0
    sendmail = f"/users/{site.mailbox}/sendMail"
    site.tenant.faults.forbid(sendmail, method="POST", count=None)
    content = ROOT / "config" / "mailings" / "havenkwartier-info_evening.yaml"
    send = ["mailing", "send", "info_evening", "--project", "HAVEN-SLOOP"]
    code, out = _cli(*send, "--content", str(content), *config)
    assert code == 1, out
    assert "failed: mailing WSD/HAVEN-SLOOP/info_evening/" in out
    assert "the mail service refused" in out and "403" in out and "ErrorAccessDenied" in out
    assert "look: keukentafel mailing retry --mailing " in out and str(site.config) in out
    for _attempt in range(2, MAX_ATTEMPTS + 1):
        code, out = _cli("mailing", "dispatch", *config)
        assert code == 1 and "the mail service refused" in out
    assert "failed for good" in out and "outbox failed" in out
    assert site.tenant.state.messages(site.mailbox, "SentItems") == []

    site.tenant.faults.clear()  # the permission was granted
    code, out = _cli("mailing", "retry", *config)
    assert code == 0 and "failed message(s) back in the outbox" in out
    requeued = int(out.split(" failed message(s)")[0].split()[-1])
    assert requeued > 0
    code, out = _cli("mailing", "dispatch", *config)
    assert code == 0, out
    sent = site.tenant.state.messages(site.mailbox, "SentItems")
    assert len(sent) == requeued
    code, out = _cli("mailing", "dispatch", *config)
    assert code == 0 and len(site.tenant.state.messages(site.mailbox, "SentItems")) == requeued
    assert _cli("mailing", "retry", *config)[1] == "No failed messages to retry."


def test_the_shrink_guard_refuses_and_max_shrink_overrides_it_for_one_run(site: Site) -> None:
    config = ["--config", str(site.config)]
    assert _cli("sync", "--no-progress", *config)[0] == 0
    units = site.vera.dataset.units
    del units[::4]  # a quarter of every complex gone from the ERP
    code, out = _cli("sync", "--no-progress", *config)
    assert code == 1
    assert "refused: sync refused: refusing to apply" in out and "--max-shrink" in out
    assert f"look: keukentafel register --kept-aside --config {site.config}" in out
    code, out = _cli("register", "--kept-aside", *config)
    assert code == 0 and ": refused at" in out
    code, out = _cli("sync", "--no-progress", "--max-shrink", "0.5", *config)
    assert code == 0, out
    code, out = _cli("register", "--kept-aside", *config)
    assert ": succeeded at" in out
    assert "shrink guard overridden for this run: max_shrink 0.5 (configured 0.1)" in out
    code, out = _cli("sync", "--no-progress", *config)
    assert code == 0 and "overridden" not in _cli("register", "--kept-aside", *config)[1]


def test_a_refused_sync_reports_the_rows_it_kept_aside(site: Site) -> None:
    """The report of a refused sync (what a flow publishes as artifacts) lists the rows that run
    kept aside, by unit code and reason, read from the run's record."""
    from flows import jobs
    from keukentafel.bootstrap import CorporationRegistry, build
    from keukentafel.settings import Settings

    with build(
        Settings.from_env(), corporations=CorporationRegistry.from_files([site.config])
    ) as built:
        assert jobs.sync(built, "WSD").ok
        units = site.vera.dataset.units
        broken = units[1]
        broken["adres"]["postcode"] = "12AB"
        del units[2::4]  # a quarter gone: the shrink guard refuses
        outcome = jobs.sync(built, "WSD")
    assert outcome.state == jobs.REFUSED
    tables = {a.key: a.table for a in outcome.artifacts if a.table is not None}
    assert tables["sync-wsd-kept-aside"] == [
        {"entity": "unit", "unit_code": broken["code"], "reason": "invalid_postcode"}
    ]


def test_rows_kept_aside_fail_the_run_and_stay_visible(site: Site) -> None:
    config = ["--config", str(site.config)]
    broken = site.vera.dataset.units[0]
    broken["adres"]["postcode"] = "12AB"
    code, out = _cli("sync", "--no-progress", *config)
    assert code == 1
    assert "failed: sync applied" in out and "kept 1 row(s) aside: invalid_postcode 1" in out
    code, out = _cli("register", "--kept-aside", *config)
    assert code == 0 and broken["code"] in out and "invalid_postcode" in out


def test_an_erp_outage_fails_the_sync_and_points_at_doctor(site: Site) -> None:
    site.vera.faults.add(Fault("status", endpoint="/eenheden", status=503, times=None))
    code, out = _cli("sync", "--no-progress", "--config", str(site.config))
    assert code == 1
    assert "failed: sync failed:" in out and "HTTP 503" in out
    assert f"look: keukentafel doctor --config {site.config}" in out


def test_a_mistaken_config_or_a_missing_secret_is_said_in_at_most_three_lines(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = site.config.read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text.replace("kind: demolition", "kind: knock_down").replace(
            "max_shrink: 0.1", "max_shrink: 7"
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["sync", "--config", str(bad)])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and 1 <= len(lines) <= 3, result.output
    assert "Traceback" not in result.output and "projects.1.kind" in " ".join(lines)

    monkeypatch.delenv("KEUKENTAFEL_DEMO_VERA_API_KEY")
    result = CliRunner().invoke(app, ["sync", "--config", str(site.config)])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and 1 <= len(lines) <= 3, result.output
    assert "KEUKENTAFEL_DEMO_VERA_API_KEY (source.vera.auth.api_key_env)" in " ".join(
        result.output.split()
    )
    assert site.vera.requests_log == []  # said before the ERP was asked anything


def test_commands_run_without_prefect_when_no_server_is_configured(site: Site) -> None:
    script = (
        "import sys\n"
        "from keukentafel.cli.app import app\n"
        "try:\n"
        f"    app(['sync', '--no-progress', '--config', {str(site.config)!r}])\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "print('exit', code, 'prefect loaded:', 'prefect' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, **site.env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "exit 0 prefect loaded: False" in done.stdout, done.stdout + done.stderr


def _lines(output: str) -> dict[str, str]:
    """Doctor's output: check name -> its line."""
    found = {}
    for line in output.splitlines():
        mark, _, rest = line.partition(" ")
        if mark in ("ok", "FAIL"):
            name = rest.strip().split(":", 1)[0]
            found[name] = line
    return found


def test_doctor_checks_each_part_and_fails_on_what_is_wrong(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    team_list = yaml.safe_load(site.config.read_text(encoding="utf-8"))["m365"]["contact_list"]
    site.tenant.state.add_list_item(team_list["site_id"], team_list["list_id"], {"VHE": "X1"})
    result = CliRunner().invoke(app, ["doctor", "--config", str(site.config)])
    lines = _lines(result.output)
    assert set(lines) == {
        "corporation file",
        "secrets",
        "ERP",
        "Microsoft 365",
        "store",
        "Prefect API",
    }, result.output
    assert lines["store"].startswith("FAIL") and "keukentafel register" in lines["store"]
    assert result.exit_code == 1  # a fresh store is not migrated yet
    assert all(line.startswith("ok") for name, line in lines.items() if name != "store"), (
        result.output
    )
    assert (
        "token obtained" in lines["Microsoft 365"]
        and "Sent Items readable" in lines["Microsoft 365"]
    )
    assert "/eenheden, /relaties and /overeenkomsten readable" in lines["ERP"]
    assert "commands run without Prefect" in lines["Prefect API"]

    assert _cli("register", "--config", str(site.config))[0] == 0  # migrates the store
    result = CliRunner().invoke(app, ["doctor", "--config", str(site.config)])
    assert result.exit_code == 0, result.output
    assert _lines(result.output)["store"].startswith("ok")

    site.tenant.faults.forbid("/users/", method="GET", count=None)  # Mail.Read not granted
    site.vera.faults.add(Fault("status", endpoint=RELATIONS, times=None, status=403))
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens there
    monkeypatch.delenv("KEUKENTAFEL_LINK_SECRET")
    result = CliRunner().invoke(app, ["doctor", "--config", str(site.config)])
    lines = _lines(result.output)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert lines["secrets"].startswith("FAIL") and "KEUKENTAFEL_LINK_SECRET" in lines["secrets"]
    assert lines["ERP"].startswith("FAIL") and "403" in lines["ERP"]
    assert lines["Microsoft 365"].startswith("FAIL") and "403" in lines["Microsoft 365"]
    assert lines["Prefect API"].startswith("FAIL")
    assert lines["corporation file"].startswith("ok") and lines["store"].startswith("ok")
    secret_values = [v for k, v in site.env.items() if not k.endswith(("_URL", "_DIR"))]
    assert len(secret_values) == 6
    assert not any(secret in result.output for secret in secret_values)

    bad = tmp_path / "bad.yaml"
    bad.write_text(site.config.read_text().replace("kind: demolition", "kind: x"), "utf-8")
    result = CliRunner().invoke(app, ["doctor", "--config", str(bad)])
    lines = _lines(result.output)
    assert result.exit_code == 1 and lines["corporation file"].startswith("FAIL")
    assert "projects.1.kind" in lines["corporation file"]
