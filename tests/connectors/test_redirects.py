"""Credentials never follow a redirect to another host, and never travel over plain http.

A fake VERA server, the fake Microsoft 365 tenant and MSAL's token requests answer with a
redirect to a second fake on another port of 127.0.0.1 (another origin), which records whatever
reaches it. Nothing may: not the ``X-API-KEY``, not the OAuth2 client secret in a token request's
body, not a ``sendMail`` body. A redirect within the origin is still followed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.erp.vera.client import UNITS, VeraClient, VeraRequestError
from connectors.fakes._server import Answer, FakeServer, Fault, Request
from connectors.fakes.m365 import FakeMicrosoft365
from connectors.fakes.vera_data import generate_dataset
from connectors.fakes.vera_server import TOKEN_PATH, FakeVeraServer
from connectors.http import origin
from connectors.m365.auth import GraphAuth, M365AuthError
from connectors.m365.graph import GraphClient, GraphError
from keukentafel.config import ConfigError, VeraConfig
from keukentafel.config.m365 import M365Config
from keukentafel.config.vera import VeraAuthConfig
from tests.m365_fixtures import CLIENT_SECRET, MAILBOX, SECRET_ENV

API_KEY = "s3cret-api-key-for-redirect-tests"
VERA_SECRET = "s3cret-client-for-redirect-tests"
ENV = {"VERA_API_KEY": API_KEY, "VERA_CLIENT_SECRET": VERA_SECRET}


class OtherHost(FakeServer):
    """Another origin: records every request that reaches it (headers and body)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Request] = []

    def handle(self, request: Request) -> Answer:
        self.seen.append(request)
        return Answer(200, [] if request.method == "GET" else {"access_token": "x"})

    def leaked(self, *secrets: str) -> bool:
        return any(
            secret in f"{r.headers}{r.body.decode(errors='replace')}"
            for r in self.seen
            for secret in secrets
        )


@pytest.fixture
def other() -> Iterator[OtherHost]:
    with OtherHost() as server:
        yield server


@pytest.fixture
def vera() -> Iterator[FakeVeraServer]:
    dataset = generate_dataset(30, seed=3, complexes=1)
    with FakeVeraServer(
        dataset, api_key=API_KEY, client_id="keukentafel", client_secret=VERA_SECRET
    ) as server:
        yield server


def _vera_client(vera: FakeVeraServer, mode: str = "api_key") -> VeraClient:
    auth: dict[str, object] = {"mode": "api_key", "api_key_env": "VERA_API_KEY"}
    if mode == "oauth2":
        auth = {
            "mode": "oauth2",
            "token_url": vera.token_url,
            "client_id": "keukentafel",
            "client_secret_env": "VERA_CLIENT_SECRET",
        }
    config = VeraConfig.model_validate(
        {"base_url": vera.url, "auth": auth, "timeout_seconds": 2.0, "max_retries": 1}
    )
    return VeraClient(config, env=ENV, backoff_base=0.001, sleep=lambda _: None)


# --- VERA --------------------------------------------------------------------------------------


def test_a_302_from_vera_to_another_host_does_not_take_the_api_key(
    vera: FakeVeraServer, other: OtherHost
) -> None:
    vera.faults.add(Fault(path=UNITS, status=302, redirect_to=f"{other.url}{UNITS}", times=None))
    with _vera_client(vera) as client, pytest.raises(VeraRequestError) as caught:
        list(client.iter_pages(UNITS))
    assert other.seen == []
    assert not other.leaked(API_KEY)
    message = str(caught.value)
    assert "redirect" in message and other.url in message and "source.vera.base_url" in message
    assert API_KEY not in message


def test_a_307_from_the_token_endpoint_does_not_take_the_client_secret(
    vera: FakeVeraServer, other: OtherHost
) -> None:
    vera.faults.add(
        Fault(path=TOKEN_PATH, status=307, redirect_to=f"{other.url}/token", times=None)
    )
    with _vera_client(vera, "oauth2") as client, pytest.raises(VeraRequestError) as caught:
        list(client.iter_pages(UNITS))
    assert other.seen == []
    assert not other.leaked(VERA_SECRET)
    assert "source.vera.auth.token_url" in str(caught.value)
    assert VERA_SECRET not in str(caught.value)


def test_a_redirect_within_the_origin_is_followed(vera: FakeVeraServer) -> None:
    vera.faults.add(Fault(path=UNITS, status=307, redirect_to=f"{vera.url}{UNITS}/"))
    with _vera_client(vera) as client:
        pages = list(client.iter_pages(UNITS))
    assert sum(len(page.items) for page in pages) == len(vera.dataset.units)
    assert vera.count("GET", UNITS) == len(pages) + 1  # the redirect, then the pages


def test_vera_urls_must_be_https_except_on_loopback() -> None:
    auth = {"mode": "api_key", "api_key_env": "VERA_API_KEY"}
    with pytest.raises(ValueError, match="https://") as caught:
        VeraConfig.model_validate({"base_url": "http://vera.example.org", "auth": auth})
    assert "base_url" in str(caught.value)
    oauth = {
        "mode": "oauth2",
        "token_url": "http://login.example.org/token",
        "client_id": "kt",
        "client_secret_env": "VERA_CLIENT_SECRET",
    }
    with pytest.raises(ValueError, match="https://") as caught:
        VeraConfig.model_validate({"base_url": "https://vera.example.org", "auth": oauth})
    assert "token_url" in str(caught.value)
    for url in (
        "https://vera.example.org",
        "http://127.0.0.1:8080",
        "http://[::1]:1",
        "http://localhost",
    ):
        VeraConfig.model_validate({"base_url": url, "auth": auth})
    # The client checks again (a config made without validation), naming the key.
    sneaky = VeraConfig.model_construct(
        base_url="http://vera.example.org", auth=VeraAuthConfig(mode="none")
    )
    with pytest.raises(ConfigError, match=r"^source\.vera\.base_url: must be an https://"):
        VeraClient(sneaky, env={})


# --- Microsoft 365 -----------------------------------------------------------------------------


def test_a_307_on_sendmail_to_another_host_sends_neither_token_nor_message(
    fake_m365: FakeMicrosoft365, graph_client: GraphClient, other: OtherHost
) -> None:
    fake_m365.faults.add(
        Fault(
            method="POST",
            path_prefix=f"/users/{MAILBOX}/sendMail",
            status=307,
            redirect_to=f"{other.url}/sendMail",
        )
    )
    body = {"message": {"subject": "Uw woning", "toRecipients": []}, "saveToSentItems": True}
    with pytest.raises(GraphError) as caught:
        graph_client.post(f"/users/{MAILBOX}/sendMail", json=body)
    assert (caught.value.status, caught.value.code) == (307, "redirectRefused")
    assert other.seen == []


def test_msal_token_requests_do_not_follow_a_redirect_to_another_host(
    fake_m365: FakeMicrosoft365, m365_config: M365Config, m365_env: dict[str, str], other: OtherHost
) -> None:
    fake_m365.authority_faults.add(
        Fault(
            method="POST",
            path_prefix=f"/{fake_m365.tenant_id}/oauth2/v2.0/token",
            status=307,
            redirect_to=f"{other.url}/token",
            times=None,
        )
    )
    with pytest.raises(M365AuthError) as caught:
        GraphAuth(m365_config, m365_env).token()
    assert other.seen == []
    assert not other.leaked(CLIENT_SECRET)
    assert "redirect" in str(caught.value) and CLIENT_SECRET not in str(caught.value)
    assert m365_env[SECRET_ENV] == CLIENT_SECRET


def test_graph_urls_must_be_https(fake_m365: FakeMicrosoft365) -> None:
    with pytest.raises(ValueError, match="https") as caught:
        M365Config(
            tenant_id="t",
            client_id="c",
            client_secret_env=SECRET_ENV,
            graph_base_url="http://graph.example.org/v1.0",
        )
    assert "graph_base_url" in str(caught.value)


@pytest.mark.parametrize(
    ("source", "target", "same"),
    [
        ("https://vera.example.org/api/eenheden", "https://vera.example.org:443/api/", True),
        ("https://vera.example.org/api", "http://vera.example.org/api", False),  # a downgrade
        ("https://vera.example.org/api", "https://evil.example.org/api", False),
        ("http://127.0.0.1:8080/a", "http://127.0.0.1:8081/a", False),
        ("https://Vera.Example.org/a", "https://vera.example.org/b?x=1", True),
    ],
)
def test_an_origin_is_scheme_host_and_port(source: str, target: str, same: bool) -> None:
    assert (origin(source) == origin(target)) is same
