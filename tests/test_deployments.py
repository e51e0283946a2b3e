"""Deployment definitions: schedules in Amsterdam time, one run at a time, compose file complete."""

from __future__ import annotations

from pathlib import Path

import yaml

from flows.deployments import deployments

ROOT = Path(__file__).resolve().parents[1]


def test_each_corporation_gets_its_scheduled_flows() -> None:
    found = {d.name: d for d in deployments(ROOT / "config")}  # type: ignore[attr-defined]
    assert set(found) == {"sync-register-wsd", "pull-team-contacts-wsd", "dispatch-outbox-wsd"}
    sync = found["sync-register-wsd"]
    schedule = sync.schedules[0].schedule
    assert schedule.cron == "0 6 * * *" and schedule.timezone == "Europe/Amsterdam"
    assert sync.concurrency_limit == 1
    assert sync.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    assert sync.parameters == {"config_path": str(ROOT / "config" / "demo.yaml")}


def test_compose_runs_server_database_and_worker_without_telemetry_or_secrets() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert set(services) == {"postgres", "prefect-server", "worker"}
    assert services["prefect-server"]["environment"]["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert services["worker"]["environment"]["PREFECT_API_URL"].startswith("http://prefect-server")
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD" in text  # from the environment, never literal
