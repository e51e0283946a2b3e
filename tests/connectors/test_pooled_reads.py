"""The lean GET path of :class:`~connectors.http.PooledReadSession` answers as requests does.

VERA's paging goes through it (thousands of GETs per sync). Each test sends the same request
through the pooled session and through a plain ``requests.Session`` to a fake server on 127.0.0.1
and compares what comes back, or checks that a failure has the type requests would raise (the
retry layer decides on those types).
"""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Iterator

import pytest
import requests

from connectors.fakes._server import Answer, FakeServer, Fault, Request
from connectors.http import PooledReadSession, RedirectRefused


class Echo(FakeServer):
    """Answers every request with what it received; ``/gzip`` answers gzip-compressed,
    ``/cookie`` sets a cookie, ``/moved`` redirects within the origin to ``/here``."""

    def dispatch(self, request: Request) -> Answer:  # faults first (FakeServer.handle)
        seen = {
            "method": request.method,
            "path": request.raw_path + (f"?{request.query}" if request.query else ""),
            "x-page": request.header("x-page"),
            "cookie": request.header("cookie"),
            "accept-encoding": request.header("accept-encoding"),
        }
        if request.path == "/gzip":
            body = gzip.compress(json.dumps(seen).encode())
            return Answer(200, body, headers={"Content-Encoding": "gzip"})
        if request.path == "/cookie":
            return Answer(200, seen, headers={"Set-Cookie": "lb=node-2; Path=/"})
        if request.path == "/moved":
            return Answer(302, None, headers={"Location": "/here"})
        return Answer(200, seen, headers={"X-Parameters-Aantal": "7"})


@pytest.fixture
def echo() -> Iterator[Echo]:
    with Echo() as server:
        yield server


def both(url: str, **kwargs: object) -> tuple[requests.Response, requests.Response, int]:
    """The answer through the pooled session, through plain requests, and the pooled session's
    number of pools (1 when the lean path was taken)."""
    with PooledReadSession() as pooled, requests.Session() as plain:
        plain.trust_env = False
        lean = pooled.get(url, **kwargs)  # type: ignore[arg-type]
        full = plain.get(url, **kwargs)  # type: ignore[arg-type]
        return lean, full, len(pooled._pools)


def test_a_get_with_params_and_headers_answers_as_requests_does(echo: Echo) -> None:
    lean, full, pools = both(
        echo.url + "/eenheden",
        params={"clusters.code": "CPX 1/ä", "cursor": "a&b"},
        headers={"X-Page": "100"},
        timeout=(2.0, 5.0),
    )
    assert pools == 1  # the lean path answered
    assert lean.status_code == full.status_code == 200
    assert lean.json() == full.json()
    assert lean.json()["path"] == "/eenheden?clusters.code=CPX+1%2F%C3%A4&cursor=a%26b"
    assert lean.url == full.url
    assert lean.headers["x-parameters-aantal"] == full.headers["X-Parameters-Aantal"] == "7"
    assert lean.encoding == full.encoding
    assert lean.ok and lean.reason == "OK"


def test_a_compressed_answer_is_decoded(echo: Echo) -> None:
    lean, full, pools = both(echo.url + "/gzip")
    assert pools == 1
    assert lean.content == full.content
    assert "gzip" in lean.json()["accept-encoding"]


def test_an_error_status_and_its_retry_after_come_back_as_they_are(echo: Echo) -> None:
    echo.faults.add(Fault(path="/relaties", status=503, retry_after="2", times=2))
    lean, full, _ = both(echo.url + "/relaties")
    assert lean.status_code == full.status_code == 503
    assert lean.headers["Retry-After"] == full.headers["Retry-After"] == "2"
    assert lean.content == full.content


def test_a_cookie_set_by_the_server_is_sent_back_on_the_next_request(echo: Echo) -> None:
    with PooledReadSession() as session:
        first = session.get(echo.url + "/cookie")
        assert first.status_code == 200
        assert session.cookies.get("lb") == "node-2"
        again = session.get(echo.url + "/eenheden")
        assert again.json()["cookie"] == "lb=node-2"


def test_a_redirect_within_the_origin_is_followed(echo: Echo) -> None:
    with PooledReadSession() as session:
        answer = session.get(echo.url + "/moved")
    assert answer.status_code == 200
    assert answer.json()["path"] == "/here"


def test_a_redirect_to_another_origin_is_refused(echo: Echo) -> None:
    with Echo() as elsewhere:
        echo.faults.add(Fault(path="/eenheden", redirect_to=elsewhere.url + "/x"))
        with PooledReadSession() as session, pytest.raises(RedirectRefused):
            session.get(echo.url + "/eenheden")
        assert elsewhere.requests_log == []


def test_a_slow_answer_is_a_read_timeout(echo: Echo) -> None:
    echo.faults.add(Fault(path="/slow", delay=1.0))
    with PooledReadSession() as session, pytest.raises(requests.ReadTimeout):
        session.get(echo.url + "/slow", timeout=(2.0, 0.2))


def test_a_dropped_connection_is_a_connection_error(echo: Echo) -> None:
    echo.faults.add(Fault(path="/dropped", drop=True))
    with PooledReadSession() as session, pytest.raises(requests.ConnectionError):
        session.get(echo.url + "/dropped", timeout=2.0)


def test_a_closed_port_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with PooledReadSession() as session, pytest.raises(requests.ConnectionError):
        session.get(f"http://127.0.0.1:{port}/eenheden", timeout=2.0)


def test_tls_is_verified_against_the_given_bundle() -> None:
    with Echo(tls=True) as server:
        with PooledReadSession() as session:
            answer = session.get(server.url + "/eenheden", verify=server.ca_bundle_path)
            assert answer.json()["path"] == "/eenheden"
        with PooledReadSession() as session, pytest.raises(requests.exceptions.SSLError):
            session.get(server.url + "/eenheden", verify=True)  # the system's CAs: unknown


def test_anything_but_a_plain_get_goes_through_requests(echo: Echo) -> None:
    with PooledReadSession() as session:
        posted = session.post(echo.url + "/token", data={"grant_type": "x"})
        proxied = session.get(echo.url + "/p", proxies={"http": ""})
        assert posted.json()["method"] == "POST"
        assert proxied.status_code == 200
        assert len(session._pools) == 1  # only the GET without a proxy took the lean path
