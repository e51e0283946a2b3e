"""The printed form of everything that holds the environment or a secret shows none of them.

One debug print (``print(source)``, an f-string in a log line, a Prefect parameter) must not be
a leak: ``repr`` and ``str`` of the settings, the App, the register sources, the Graph connection
and transport, the mailing writer, the VERA client and an HTTP request name no secret value.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from connectors.erp.sources import VeraSource
from connectors.erp.vera.client import VeraClient
from connectors.http import HttpRequest
from connectors.m365.adapters import (
    GraphConnection,
    GraphMailTransport,
    SharePointListSource,
    WorkbookSource,
)
from connectors.m365.auth import GraphAuth
from keukentafel.bootstrap import build
from keukentafel.config import load_config
from keukentafel.letters.output import LettersMailingWriter
from keukentafel.settings import Settings
from tests.builders import letters_config
from tests.m365_fixtures import SECRET_ENV

ROOT = Path(__file__).resolve().parents[2]
DB_PASSWORD = "db-pa55-" + secrets.token_hex(8)
SECRETS = {
    "KEUKENTAFEL_DEMO_VERA_API_KEY": "vera-key-" + secrets.token_hex(8),
    SECRET_ENV: "m365-secret-" + secrets.token_hex(8),
    "KEUKENTAFEL_LINK_SECRET": secrets.token_urlsafe(32),
}


def _printed(value: object) -> str:
    return f"{value!r} {value!s} {[value]} { ({'x': value}) }"


def _assert_clean(value: object) -> None:
    printed = _printed(value)
    for secret in [*SECRETS.values(), DB_PASSWORD]:
        assert secret not in printed, type(value).__name__


def test_nothing_that_holds_the_environment_prints_a_secret(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "KEUKENTAFEL_DATABASE_URL": f"postgresql+psycopg://kt:{DB_PASSWORD}@db:5432/kt",
            "KEUKENTAFEL_CONFIG_DIR": str(tmp_path),
            **SECRETS,
        }
    )
    _assert_clean(settings)
    assert "kt:***@db:5432/kt" in repr(settings)
    _assert_clean(build(settings))

    corp = load_config(ROOT / "config" / "demo.yaml")
    source = VeraSource(corp, settings.environ)
    _assert_clean(source)
    assert source.config.source.vera is not None
    with VeraClient(source.config.source.vera, env=settings.environ) as client:
        _assert_clean(client)

    m365 = corp.m365
    assert m365 is not None
    graph = GraphConnection(
        m365.model_copy(update={"client_secret_env": SECRET_ENV}), settings.environ
    )
    _assert_clean(graph)
    _assert_clean(GraphAuth(graph.config, settings.environ))
    _assert_clean(SharePointListSource(graph))
    _assert_clean(WorkbookSource(graph))
    transport = GraphMailTransport(graph)
    _assert_clean(transport)
    _assert_clean(graph)  # with its client made now
    graph.close()

    secret = SECRETS["KEUKENTAFEL_LINK_SECRET"].encode()
    _assert_clean(LettersMailingWriter(letters_config(), tmp_path, secret))


def test_an_http_request_prints_neither_its_form_nor_its_headers() -> None:
    request = HttpRequest(
        "POST",
        "https://login.example.org/token?client_secret=" + SECRETS[SECRET_ENV],
        data={"client_secret": SECRETS[SECRET_ENV]},
        headers={"X-API-KEY": SECRETS["KEUKENTAFEL_DEMO_VERA_API_KEY"]},
        idempotent=True,
    )
    _assert_clean(request)
