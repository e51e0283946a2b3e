"""docker-compose.yml against the code: the variables it sets are ones the code reads, what the
services need is given, the Prefect server is behind a password, every service is health-checked,
and the outputs are on a volume the host can read."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.alerts import ALERT_WEBHOOK_ENV
from keukentafel.settings import Settings
from keukentafel.web.app import SESSION_SECRET_ENV

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# Secrets the code looks up by name (not settings: never in Settings' fields)
SECRET_NAMES = {SESSION_SECRET_ENV, ALERT_WEBHOOK_ENV}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"])


def _fields(settings: Settings) -> dict[str, object]:
    return {f.name: getattr(settings, f.name) for f in fields(Settings) if f.name != "environ"}


def _read_by_settings(name: str) -> bool:
    """Settings.from_env changes when ``name`` is set: the code reads it (behaviour, not text)."""
    return _fields(Settings.from_env({name: "/sentinel/value"})) != _fields(Settings.from_env({}))


def test_every_keukentafel_variable_it_sets_is_read_by_the_code(services: dict[str, Any]) -> None:
    names = {
        name
        for service in services.values()
        for name in (service.get("environment") or {})
        if name.startswith("KEUKENTAFEL_")
    }
    assert names  # the worker and the web pages are configured here
    unknown = sorted(n for n in names if n not in SECRET_NAMES and not _read_by_settings(n))
    assert unknown == []
    source = (ROOT / "keukentafel" / "settings.py").read_text(encoding="utf-8")
    assert all(n in source for n in names - SECRET_NAMES)


def test_the_check_itself_catches_a_misspelt_variable() -> None:
    assert not _read_by_settings("KEUKENTAFEL_OUTPUT_DIRECTORY")
    assert _read_by_settings("KEUKENTAFEL_OUTPUT_DIR")


def test_what_the_worker_and_web_need_is_given(services: dict[str, Any]) -> None:
    for name in ("worker", "web"):
        env = services[name]["environment"]
        assert env["KEUKENTAFEL_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["KEUKENTAFEL_CONFIG_DIR"] == "/app/config/corporations"
        assert env["PREFECT_API_URL"] == "http://prefect-server:4200/api"
        # the same password the server asks, from the environment, never literal
        assert env["PREFECT_API_AUTH_STRING"].startswith("${PREFECT_AUTH_STRING:?")
    server = services["prefect-server"]["environment"]
    assert server["PREFECT_SERVER_API_AUTH_STRING"].startswith("${PREFECT_AUTH_STRING:?")
    assert server["PREFECT_UI_API_URL"].startswith("${PREFECT_UI_API_URL")
    assert server["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert services["web"]["environment"]["KEUKENTAFEL_WEB_SESSION_SECRET"].startswith(
        f"${{{SESSION_SECRET_ENV}:?"
    )
    worker = services["worker"]
    command = " ".join(worker["command"])
    assert command.index("keukentafel deploy") < command.index(
        "prefect worker start --pool keukentafel"
    )


def test_every_service_is_health_checked(services: dict[str, Any]) -> None:
    assert set(services) == {"postgres", "prefect-server", "worker", "web"}
    assert all(service.get("healthcheck", {}).get("test") for service in services.values())


def _targets(service: dict[str, Any]) -> list[str]:
    """Where each volume is mounted (``source:target[:ro]``, the source may hold ``${A:-b}``)."""
    return [v.removesuffix(":ro").rpartition(":")[2] for v in service["volumes"]]


def test_outputs_and_content_files_are_on_volumes(services: dict[str, Any]) -> None:
    for name in ("worker", "web"):
        output = services[name]["environment"]["KEUKENTAFEL_OUTPUT_DIR"]
        assert output in _targets(services[name])  # the print PDFs land on the host
    assert "/app/config/mailings" in _targets(services["worker"])


def test_secrets_are_never_literal() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    for name in ("POSTGRES_PASSWORD", "PREFECT_SERVER_ENCRYPTION_KEY", "PREFECT_AUTH_STRING"):
        assert re.search(rf"\$\{{{name}:\?", text), name
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    missing = sorted(n for n in required if f"{n}=" not in readme)
    assert missing == []  # the README's .env example names every variable compose requires
