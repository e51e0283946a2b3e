"""The shared HTTP toolkit without a network: retry rules, Retry-After, redaction, secrets, paging.

Requests go through a real ``requests.Session`` whose transport adapter plays a script of answers
and transport errors (the adapter is the library's own extension point, nothing of ours is
replaced); waits are recorded by an injected ``sleep``, so nothing here waits for real.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from email.utils import formatdate
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.models import PreparedRequest, Response

from connectors.http import (
    HeaderCursorPaginator,
    HttpRequest,
    MissingSecret,
    NextLinkPaginator,
    PagingLoop,
    RequestFailed,
    RetryPolicy,
    parse_retry_after,
    redact_url,
    secret_from_env,
    send_with_retries,
)
from keukentafel.config import ConfigError

URL = "https://erp.example.org/eenheden"

Step = int | tuple[int, Mapping[str, str]] | Exception


class _Script(BaseAdapter):
    """A transport that answers from a script: a status, (status, headers) or an exception."""

    def __init__(self, steps: list[Step]) -> None:
        super().__init__()
        self._steps: Iterator[Step] = iter(steps)
        self.sent: list[PreparedRequest] = []

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        self.sent.append(request)
        step = next(self._steps)
        if isinstance(step, Exception):
            raise step
        status, headers = step if isinstance(step, tuple) else (step, {})
        response = Response()
        response.status_code = status
        response.headers.update(headers)
        response._content = b"{}"
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def scripted(*steps: Step) -> tuple[requests.Session, _Script]:
    session = requests.Session()
    script = _Script(list(steps))
    session.mount("https://", script)
    return session, script


class Waits(list[float]):
    """An injected ``sleep`` that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def policy(waits: Waits, **overrides: Any) -> RetryPolicy:
    settings: dict[str, Any] = {
        "max_retries": 3,
        "backoff_base": 0.5,
        "jitter": False,
        "sleep": waits,
        "clock": lambda: 1_000_000.0,
        **overrides,
    }
    return RetryPolicy(**settings)


# --- which failures are retried --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "idempotent", "status", "retried"),
    [
        ("GET", False, 500, True),
        ("GET", False, 503, True),
        ("GET", False, 404, False),
        ("POST", False, 429, True),  # throttled: the request was not executed
        ("POST", False, 503, False),  # a gateway may answer 503 after the work was done
        ("POST", False, 500, False),  # it may have been executed: never twice
        ("POST", False, 502, False),
        ("PATCH", False, 504, False),
        ("POST", True, 500, True),  # an OAuth2 token request changes nothing
    ],
)
def test_which_statuses_are_retried_per_method(
    method: str, idempotent: bool, status: int, retried: bool
) -> None:
    request = HttpRequest(method, URL, idempotent=idempotent)
    assert RetryPolicy().retries_status(request, status) is retried


@pytest.mark.parametrize(
    ("method", "idempotent", "error", "retried"),
    [
        ("GET", False, requests.ConnectionError(), True),
        ("GET", False, requests.ReadTimeout(), True),
        ("GET", False, requests.exceptions.InvalidURL(), False),  # retrying cannot fix it
        ("POST", False, requests.ConnectionError(), False),  # sendMail may have gone out
        ("POST", True, requests.ConnectTimeout(), True),
        ("PUT", False, requests.ReadTimeout(), False),
    ],
)
def test_which_transport_errors_are_retried_per_method(
    method: str, idempotent: bool, error: Exception, retried: bool
) -> None:
    request = HttpRequest(method, URL, idempotent=idempotent)
    assert RetryPolicy().retries_error(request, error) is retried


def test_backoff_doubles_up_to_its_cap_and_jitter_stays_within_half() -> None:
    fixed = RetryPolicy(backoff_base=1.0, max_backoff=5.0, jitter=False)
    assert [fixed.backoff(n) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    jittered = RetryPolicy(backoff_base=1.0, max_backoff=5.0)
    assert all(2.0 <= jittered.backoff(2) <= 4.0 for _ in range(50))


def test_delay_prefers_a_capped_retry_after_and_falls_back_to_the_backoff() -> None:
    rules = RetryPolicy(backoff_base=0.5, jitter=False, max_retry_after=60.0)
    assert rules.delay(0, "2.5") == 2.5
    assert rules.delay(0, "3600") == 60.0
    assert rules.delay(2, "nan") == 2.0  # unusable: the back-off
    assert rules.delay(1, None) == 1.0


def test_an_http_date_retry_after_is_measured_against_the_injected_clock() -> None:
    now = 1_700_000_000.0
    rules = RetryPolicy(clock=lambda: now, max_retry_after=600.0)
    assert rules.delay(0, formatdate(now + 90, usegmt=True)) == pytest.approx(90.0)


# --- send_with_retries -----------------------------------------------------------------------


def test_a_get_is_retried_until_it_succeeds_with_the_backoff_between() -> None:
    session, script = scripted(503, 500, 200)
    waits, told = Waits(), []
    response = send_with_retries(
        session,
        HttpRequest("GET", URL),
        policy(waits),
        on_retry=lambda n, wait, reason: told.append((n, wait, reason)),
    )
    assert response.status_code == 200
    assert waits == [0.5, 1.0]
    assert told == [(1, 0.5, "HTTP 503"), (2, 1.0, "HTTP 500")]
    assert len(script.sent) == 3


def test_a_throttled_post_waits_as_told_and_is_sent_again() -> None:
    session, script = scripted((429, {"Retry-After": "1.5"}), 202)
    waits = Waits()
    response = send_with_retries(
        session, HttpRequest("POST", URL, json={"message": {}}), policy(waits)
    )
    assert response.status_code == 202 and waits == [1.5]
    assert [r.body for r in script.sent] == [b'{"message": {}}'] * 2


def test_a_post_that_failed_with_500_is_returned_not_sent_again() -> None:
    session, script = scripted(500)
    waits = Waits()
    response = send_with_retries(session, HttpRequest("POST", URL), policy(waits))
    assert response.status_code == 500 and waits == [] and len(script.sent) == 1


def test_a_post_whose_connection_broke_is_not_sent_again() -> None:
    session, script = scripted(requests.ConnectionError("reset by peer"))
    waits = Waits()
    with pytest.raises(RequestFailed) as caught:
        send_with_retries(session, HttpRequest("POST", URL), policy(waits))
    assert caught.value.attempts == 1 and caught.value.response is None
    assert caught.value.reason == "connection failed (ConnectionError)"
    assert waits == [] and len(script.sent) == 1


def test_an_idempotent_post_is_retried_after_a_timeout() -> None:
    session, _ = scripted(requests.ConnectTimeout(), 200)
    waits = Waits()
    request = HttpRequest("POST", URL, data={"grant_type": "client_credentials"}, idempotent=True)
    assert send_with_retries(session, request, policy(waits)).status_code == 200
    assert waits == [0.5]


def test_running_out_of_retries_names_the_last_failure_and_the_attempts() -> None:
    session, _ = scripted(*[requests.ReadTimeout()] * 4)
    with pytest.raises(RequestFailed, match=r"timed out, still failing after 4 attempt\(s\)"):
        send_with_retries(session, HttpRequest("GET", URL), policy(Waits()))

    session, _ = scripted(503, 503, 503, (503, {"Retry-After": "7"}))
    with pytest.raises(RequestFailed) as caught:
        send_with_retries(session, HttpRequest("GET", URL), policy(Waits()))
    assert caught.value.response is not None and caught.value.response.status_code == 503
    assert (caught.value.attempts, caught.value.retries) == (4, 3)
    assert URL not in str(caught.value)


def test_retry_after_is_capped_by_the_policy() -> None:
    session, _ = scripted((429, {"Retry-After": "86400"}), 200)
    waits = Waits()
    send_with_retries(session, HttpRequest("GET", URL), policy(waits, max_retry_after=120.0))
    assert waits == [120.0]


def test_a_401_renews_credentials_once_without_counting_as_a_retry() -> None:
    tokens = iter(["old", "new", "newer"])
    current = {"token": next(tokens)}
    renewals: list[str] = []

    def on_401(sent: Mapping[str, str]) -> bool:
        renewals.append(sent["Authorization"])
        current["token"] = next(tokens)
        return True

    session, script = scripted(401, 200)
    request = HttpRequest(
        "GET", URL, auth_headers=lambda: {"Authorization": f"Bearer {current['token']}"}
    )
    assert send_with_retries(session, request, policy(Waits(), max_retries=0), on_401).ok
    assert renewals == ["Bearer old"]
    assert [r.headers["Authorization"] for r in script.sent] == ["Bearer old", "Bearer new"]

    session, _ = scripted(401, 401)  # refused again: the 401 is the answer
    assert send_with_retries(session, request, policy(Waits()), on_401).status_code == 401
    assert len(renewals) == 2


# --- Retry-After -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        ("0.25", 0.25),
        ("1.5", 1.5),
        (" 2 ", 2.0),
        ("-4", 0.0),
        ("nan", None),
        ("NaN", None),
        ("inf", None),
        ("-Infinity", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_in_seconds(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = time.time()
    seconds = parse_retry_after(formatdate(now + 30, usegmt=True), now=now)
    assert seconds is not None and 29 <= seconds <= 30
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0
    unzoned = formatdate(now + 60, usegmt=True).replace("GMT", "-0000")
    assert parse_retry_after(unzoned, now=now) == pytest.approx(60, abs=1)


# --- redaction and secrets -------------------------------------------------------------------


def test_redaction_hides_credentials_and_secret_parameters() -> None:
    url = "https://user:pw@vera.example.org/eenheden?cursor=abc&api_key=XYZ&access_token=T0K"
    redacted = redact_url(url)
    assert "XYZ" not in redacted and "T0K" not in redacted and "pw" not in redacted
    assert "cursor=abc" in redacted and "vera.example.org/eenheden" in redacted


def test_a_secret_comes_from_the_named_variable() -> None:
    assert secret_from_env({"VERA_KEY": "s3cret"}, "VERA_KEY", "VERA api key") == "s3cret"


@pytest.mark.parametrize("env", [{}, {"VERA_KEY": ""}])
def test_a_missing_secret_is_a_config_error_naming_only_the_variable(
    env: dict[str, str],
) -> None:
    with pytest.raises(MissingSecret) as caught:
        secret_from_env({**env, "OTHER": "not-this-one"}, "VERA_KEY", "VERA api key")
    assert isinstance(caught.value, ConfigError)
    assert str(caught.value) == "VERA api key: environment variable VERA_KEY is not set"


# --- the header cursor paginator -------------------------------------------------------------


def headers(cursor: str | None = None, total: int | None = None) -> dict[str, str]:
    result = {}
    if cursor is not None:
        result["X-Parameters-Cursor"] = cursor
    if total is not None:
        result["X-Parameters-Aantal"] = str(total)
    return result


def test_paginator_follows_cursors_until_there_is_none() -> None:
    pages = HeaderCursorPaginator(page_size=100)
    assert pages.params() == {}
    assert pages.request_headers() == {"X-Parameters-AantalPerPagina": "100"}
    pages.advance(100, headers("c1", 250))
    assert (pages.done, pages.params(), pages.total) == (False, {"cursor": "c1"}, 250)
    pages.advance(100, headers("c2", 250))
    pages.advance(40, headers(None, 250))
    assert pages.done
    assert (pages.seen, pages.pages) == (240, 3)


def test_paginator_stops_on_an_empty_page_even_with_a_cursor() -> None:
    pages = HeaderCursorPaginator()
    pages.advance(100, headers("c1"))
    pages.advance(0, headers("c2"))
    assert pages.done
    assert pages.params() == {}


def test_paginator_stops_when_the_total_is_reached() -> None:
    pages = HeaderCursorPaginator()
    pages.advance(100, headers("c1", 200))
    pages.advance(100, headers("c2", 200))  # a cursor, but nothing more to get
    assert pages.done


def test_paginator_without_a_total_goes_on_while_there_is_a_cursor() -> None:
    pages = HeaderCursorPaginator()
    pages.advance(100, headers("c1", None))
    assert not pages.done
    pages.advance(100, {"X-Parameters-Cursor": "c2", "X-Parameters-Aantal": "veel"})
    assert not pages.done and pages.total is None


def test_paginator_stops_without_a_cursor_on_the_first_page() -> None:
    pages = HeaderCursorPaginator()
    pages.advance(7, headers(None, None))
    assert pages.done and pages.seen == 7


def test_paginator_pages_by_number_when_the_server_sends_no_cursors() -> None:
    pages = HeaderCursorPaginator()
    pages.advance(100, headers(None, 250))
    assert (pages.done, pages.params()) == (False, {"pagina": "2"})
    pages.advance(100, headers(None, 250))
    assert pages.params() == {"pagina": "3"}
    pages.advance(50, headers(None, 250))
    assert pages.done and pages.seen == 250 and pages.params() == {}


@pytest.mark.parametrize("repeat", ["c1", "c2"])
def test_paginator_refuses_a_repeated_cursor(repeat: str) -> None:
    pages = HeaderCursorPaginator()
    pages.advance(100, headers("c1", 1000))
    pages.advance(100, headers("c2", 1000))
    with pytest.raises(PagingLoop, match="repeated a cursor after page 3"):
        pages.advance(100, headers(repeat, 1000))


def test_peek_tells_the_next_pages_query_from_the_headers_alone_and_changes_nothing() -> None:
    """What a reader asks for ahead (VeraClient.walk): the next query before the page's count is
    known, taken as a full page; None where the listing would end or loop."""
    pages = HeaderCursorPaginator(page_size=100)
    pages.advance(100, headers("c1", 250))
    before = (pages.pages, pages.seen, pages.cursor, set(pages._sent))
    assert pages.peek(headers("c2", 250)) == {"cursor": "c2"}
    assert (pages.pages, pages.seen, pages.cursor, set(pages._sent)) == before
    assert pages.peek(headers("c1", 250)) is None  # a cursor already sent: a loop
    pages.advance(100, headers("c2", 250))
    assert pages.peek(headers("c3", 250)) is None  # a full page would reach the total
    assert pages.peek(headers(None, None)) is None  # no cursor: the last page
    assert pages.params() == {"cursor": "c2"}  # as it was
    by_number = HeaderCursorPaginator()
    assert by_number.peek(headers(None, 250)) == {"pagina": "2"}  # first page, no cursor
    assert by_number.pages == 0 and not by_number.by_page_number


def test_peek_takes_a_full_page_as_the_server_says_without_a_page_size() -> None:
    pages = HeaderCursorPaginator()  # no page size asked: the server's own counts
    answer = {**headers("c1", 150), "X-Parameters-AantalPerPagina": "100"}
    assert pages.peek(answer) == {"cursor": "c1"}  # 100 of 150: more to come
    answer["X-Parameters-AantalPerPagina"] = "200"
    assert pages.peek(answer) is None  # a page of 200 would hold all 150


# --- the next-link paginator -----------------------------------------------------------------


def test_next_links_are_followed_until_a_page_has_none() -> None:
    pages = NextLinkPaginator()
    pages.advance({"value": [1], "@odata.nextLink": "https://g/v1.0/x?$skiptoken=1"})
    assert (pages.done, pages.next_url) == (False, "https://g/v1.0/x?$skiptoken=1")
    pages.advance({"value": [2]})
    assert pages.done and pages.next_url is None and pages.delta_link is None
    assert pages.pages == 2


def test_a_delta_round_ends_at_its_delta_link() -> None:
    pages = NextLinkPaginator()
    pages.advance({"value": [], "@odata.nextLink": "https://g/d?token=1"})
    pages.advance({"value": [], "@odata.deltaLink": "https://g/d?token=2"})
    assert pages.done and pages.delta_link == "https://g/d?token=2"


def test_a_next_link_that_comes_back_is_a_loop() -> None:
    pages = NextLinkPaginator()
    pages.advance({"@odata.nextLink": "https://g/a"})
    pages.advance({"@odata.nextLink": "https://g/b"})
    with pytest.raises(PagingLoop, match="came back twice"):
        pages.advance({"@odata.nextLink": "https://g/a"})
