"""The fake server base: routes, the request log, every kind of fault and TLS, through requests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests

from connectors.fakes._server import Answer, FakeServer, Fault, Request
from connectors.fakes.m365 import FakeMicrosoft365
from connectors.fakes.vera_data import generate_dataset
from connectors.fakes.vera_server import FakeVeraServer


class Echo(FakeServer):
    """The smallest fake: ``GET /items/{id}`` and ``POST /items``, as a new fake would start."""

    def __init__(self, *, tls: bool = False, keep_log: bool = True) -> None:
        super().__init__(tls=tls, keep_log=keep_log)
        self.received: list[bytes] = []
        self.router.add("GET", r"/items/([^/]+)", self._item)
        self.router.add("POST", r"/items", self._post)
        self.router.add("GET", r"/boom", self._boom)

    def _item(self, request: Request, item_id: str) -> Answer:
        return Answer(200, {"id": item_id, "q": request.param("q")})

    def _post(self, request: Request) -> Answer:
        self.received.append(request.body)
        return Answer(201, {"stored": len(self.received)}, {"Location": "/items/1"})

    def _boom(self, request: Request) -> Answer:
        raise RuntimeError("a bug in the fake")


@pytest.fixture
def echo() -> Iterator[Echo]:
    with Echo() as fake:
        yield fake


def test_routes_answer_and_unknown_paths_are_404_or_405(echo: Echo) -> None:
    answer = requests.get(f"{echo.url}/items/7", params={"q": "x"}, timeout=5)
    assert answer.status_code == 200 and answer.json() == {"id": "7", "q": "x"}
    posted = requests.post(f"{echo.url}/items", data=b"payload", timeout=5)
    assert posted.status_code == 201 and posted.headers["Location"] == "/items/1"
    assert echo.received == [b"payload"]
    assert requests.get(f"{echo.url}/nothing", timeout=5).status_code == 404
    assert requests.delete(f"{echo.url}/items/7", timeout=5).status_code == 405
    crashed = requests.get(f"{echo.url}/boom", timeout=5)
    assert crashed.status_code == 500 and "a bug in the fake" in crashed.text


def test_requests_are_counted_and_logged(echo: Echo) -> None:
    for _ in range(3):
        requests.get(f"{echo.url}/items/1", timeout=5)
    requests.post(f"{echo.url}/items", headers={"Authorization": "Bearer x"}, timeout=5)
    assert echo.requests["/items/1"] == 3 and echo.requests["/items"] == 1
    assert echo.count("GET", "/items/") == 3 and echo.count("post") == 1
    assert [(r.method, r.path, r.status, r.authorized) for r in echo.requests_log[-2:]] == [
        ("GET", "/items/1", 200, False),
        ("POST", "/items", 201, True),
    ]
    echo.reset_counts()
    assert not echo.requests and not echo.requests_log


def test_without_a_log_requests_are_still_counted() -> None:
    with Echo(keep_log=False) as fake:
        requests.get(f"{fake.url}/items/1", timeout=5)
        assert fake.requests["/items/1"] == 1 and fake.requests_log == []


def test_a_status_fault_fires_times_then_the_route_answers(echo: Echo) -> None:
    echo.faults.add(Fault(path="/items/1", status=503, retry_after="2.5", times=2))
    statuses = [requests.get(f"{echo.url}/items/1", timeout=5) for _ in range(3)]
    assert [s.status_code for s in statuses] == [503, 503, 200]
    assert statuses[0].headers["Retry-After"] == "2.5" and "Retry-After" not in statuses[2].headers
    assert requests.get(f"{echo.url}/items/2", timeout=5).status_code == 200  # other path


def test_faults_match_method_prefix_query_and_request_number(echo: Echo) -> None:
    echo.faults.add(Fault(method="POST", path_prefix="/ITEMS", status=429, times=None))
    echo.faults.add(Fault(query_contains="q=a/b", status=400, times=None))  # decoded query
    echo.faults.add(Fault(path="/items/3", request_number=2, status=500))
    assert requests.post(f"{echo.url}/items", timeout=5).status_code == 429
    assert requests.get(f"{echo.url}/items/1", params={"q": "a/b"}, timeout=5).status_code == 400
    assert requests.get(f"{echo.url}/items/1", params={"q": "c"}, timeout=5).status_code == 200
    third = [requests.get(f"{echo.url}/items/3", timeout=5).status_code for _ in range(3)]
    assert third == [200, 500, 200]


def test_the_first_answering_fault_wins_the_next_waits(echo: Echo) -> None:
    first = echo.faults.add(Fault(status=502))
    second = echo.faults.add(Fault(status=504))
    statuses = [requests.get(f"{echo.url}/items/1", timeout=5).status_code for _ in range(3)]
    assert statuses == [502, 504, 200]
    assert (first.fired, second.fired) == (1, 1)


def test_a_fault_without_status_changes_the_normal_answer(echo: Echo) -> None:
    echo.faults.add(Fault(headers={"X-Extra": "yes"}, body=b"<html>not json</html>"))
    changed = requests.get(f"{echo.url}/items/1", timeout=5)
    assert changed.status_code == 200 and changed.headers["X-Extra"] == "yes"
    assert changed.content == b"<html>not json</html>"
    full = requests.get(f"{echo.url}/items/1", timeout=5).content
    echo.faults.add(Fault(truncate=True))
    half = requests.get(f"{echo.url}/items/1", timeout=5)
    assert half.status_code == 200 and half.content == full[: len(full) // 2]
    with pytest.raises(ValueError):  # noqa: PT011 - requests raises a JSONDecodeError subclass
        half.json()


def test_a_delay_outlasts_the_client_timeout(echo: Echo) -> None:
    echo.faults.add(Fault(path="/items/1", delay=0.5))
    with pytest.raises(requests.Timeout):
        requests.get(f"{echo.url}/items/1", timeout=0.2)
    assert requests.get(f"{echo.url}/items/1", timeout=5).status_code == 200


def test_a_dropped_connection_gets_no_answer(echo: Echo) -> None:
    echo.faults.add(Fault(method="POST", drop=True))
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{echo.url}/items", data=b"lost", timeout=5)
    assert echo.requests_log[-1].status == 0
    assert requests.post(f"{echo.url}/items", data=b"kept", timeout=5).status_code == 201
    assert echo.received == [b"kept"]  # a dropped request never reached the route


def test_tls_with_a_test_ca_that_clients_can_trust() -> None:
    with Echo(tls=True) as fake:
        assert fake.url.startswith("https://127.0.0.1:")
        bundle = fake.ca_bundle_path
        answer = requests.get(f"{fake.url}/items/1", verify=bundle, timeout=5)
        assert answer.status_code == 200 and fake.ca_pem.startswith(b"-----BEGIN CERTIFICATE")
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{fake.url}/items/1", verify=True, timeout=5)
    assert not os.path.exists(bundle)  # stop() removes the CA file
    with Echo() as plain, pytest.raises(RuntimeError, match="plain http"):
        _ = plain.ca_bundle_path


def test_a_stopped_server_frees_its_port_and_starts_again() -> None:
    fake = Echo()
    with fake:
        url = fake.url
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/items/1", timeout=2)
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.url
    with fake:
        assert requests.get(f"{fake.url}/items/1", timeout=5).status_code == 200


# -- the base's faults on the real fakes ---------------------------------------------------------


def test_vera_takes_the_base_fault_a_dropped_page() -> None:
    with FakeVeraServer(generate_dataset(150, seed=1), api_key=None) as vera:
        vera.faults.add(Fault(path="/relaties", drop=True))
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{vera.url}/relaties", timeout=5)
        again = requests.get(f"{vera.url}/relaties", timeout=5)
        assert again.status_code == 200 and len(again.json()) == 100


def test_graph_takes_the_base_fault_in_its_own_error_shape(fake_m365: FakeMicrosoft365) -> None:
    fake_m365.state.add_site("site-1")
    token = _token(fake_m365)
    fake_m365.faults.add(Fault(path_prefix="/sites/", status=502, retry_after="1"))
    url = f"{fake_m365.graph_base_url}/sites/site-1"
    headers = {"Authorization": f"Bearer {token}"}
    failed = requests.get(url, headers=headers, verify=fake_m365.ca_bundle_path, timeout=5)
    assert failed.status_code == 502 and failed.headers["Retry-After"] == "1"
    assert failed.json()["error"]["code"] == "BadGateway"
    assert "request-id" in failed.headers
    ok = requests.get(url, headers=headers, verify=fake_m365.ca_bundle_path, timeout=5)
    assert ok.json()["id"] == "site-1"


def _token(fake: FakeMicrosoft365) -> str:
    answer = requests.post(
        f"{fake.authority_host}/{fake.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "scope": f"{fake.authority_host}/.default",
        },
        verify=fake.ca_bundle_path,
        timeout=5,
    )
    return str(answer.json()["access_token"])
