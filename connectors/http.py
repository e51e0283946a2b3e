"""One HTTP toolkit for the connectors: retries, ``Retry-After``, redaction, secrets and paging.

VERA, Microsoft Graph and the feeds still to come talk HTTP through this module, so that retrying,
paging and the handling of secrets are written once and behave alike. It owns:

- :class:`RetryPolicy` and :func:`send_with_retries`: bounded retries of one request, in this
  layer only (callers such as Prefect tasks must not retry again);
- :func:`parse_retry_after`, :func:`redact_url` and :func:`secret_from_env`;
- the paging state objects :class:`HeaderCursorPaginator` (VERA's ``X-Parameters-*`` headers) and
  :class:`NextLinkPaginator` (Graph's ``@odata.nextLink``), pure and tested without a network;
  both refuse a cursor or link they already followed (:class:`PagingLoop`).

Decisions where the VERA and Graph clients used to differ (one behaviour for both now):

1. **Connection errors and timeouts** are retried only for a request that may be sent twice:
   the safe methods (GET, HEAD, OPTIONS) and a request marked ``idempotent`` (VERA's OAuth2 token
   request, which changes nothing). Never for a POST with effects (Graph ``sendMail``, a draft, an
   upload chunk): it may have been executed before the connection broke, and sending it again
   could mail a resident twice; the outbox reconciles such a message through Sent Items instead.
   (VERA retried every method, which in practice meant GETs and its token POST; Graph GET only.)
2. **Statuses.** 429 means the server did not execute the request (throttled), so it is retried
   for every method (a throttled POST included). 503 and a policy's other retriable statuses
   (VERA: 500, 502, 504) are retried only where connection errors are: a 503 may come from a
   gateway that gave up while the service did the work (Graph's ``sendMail`` answered 503 and
   the message went out), so a POST with effects answered 503 is not sent again here; the
   outbox looks in Sent Items instead.
3. **Retry-After** is seconds (decimals allowed, ``"1.5"``) or an HTTP date. NaN, infinity and
   unreadable values are ignored (the back-off is used instead); a negative value or a date in
   the past means "now". The wait is capped by the policy's ``max_retry_after``, which both clients
   take from their configuration (``source.vera.max_retry_after_seconds``, default 120 s;
   ``m365.max_retry_after_seconds``, default 300 s). (Graph had a hard-coded 300 s cap and handled
   NaN; VERA took its cap from config and did not handle NaN.)
4. **Back-off** without ``Retry-After``: ``backoff_base * 2**attempt``, at most ``max_backoff``,
   with jitter (between half and all of it) so that VERA's three parallel readers do not all come
   back at the same moment.
5. A **401** is handed to ``on_401`` once per request (to renew a token); sending it again does not
   count as a retry.
6. **Redirects stay on their origin.** Credentials (VERA's ``X-API-KEY``, a bearer token, the
   OAuth2 client secret in a token request's body) and personal data (a ``sendMail`` body) go to
   the configured host only. requests would follow a 302 or 307 to any host, resending custom
   headers such as ``X-API-KEY`` and, for a 307, the whole body; it strips only
   ``Authorization``. Every session of ours is a :class:`SameOriginSession`: it follows a
   redirect only to the same scheme, host and port (a trailing-slash or path redirect behind a
   load balancer still works) and raises :class:`RedirectRefused` for any other, before anything
   is sent there (an ``https`` → ``http`` downgrade is another origin too). Same-origin rather
   than no redirects at all, because a redirect within the origin reaches the party that already
   holds the credentials. MSAL gets such a session as its ``http_client``
   (:func:`same_origin_session`). A session handed in from outside follows no redirect at all.
7. **https only**, except on loopback (127.0.0.1, ::1, localhost: the fakes and a local
   tunnel): :func:`require_https` is the one check, used by the configuration of VERA, its token
   endpoint and Microsoft 365, and by the clients again; its error names the configuration key.

Nothing here reads the environment or the clock at import time; ``sleep`` and ``clock`` are
injectable so tests never wait for real. No message carries a URL's secrets or a secret value.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.models import REDIRECT_STATI
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers, requote_uri
from urllib3 import exceptions as urllib3_exceptions
from urllib3.util import Retry, Timeout

from keukentafel.config import ConfigError
from keukentafel.config.base import insecure_url_problem

#: Methods that change nothing on the server: safe to send again after a broken connection.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Statuses that say the request was not executed (throttled): any method may retry. Not 503:
#: a gateway may answer it after the service did the work (decision 2).
UNEXECUTED_STATUSES = frozenset({429})
#: Transport failures worth another attempt; others (a malformed URL, too many redirects) are not.
_TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)

On401 = Callable[[Mapping[str, str]], bool]
OnRetry = Callable[[int, float, str], None]


# --- one request -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as :func:`send_with_retries` sends it (and sends it again).

    ``auth_headers`` is called before every attempt, so a token renewed by ``on_401`` (or by
    another thread) is used on the next one. ``options`` are passed to ``Session.request`` as they
    are (``verify``, ``proxies``, ``cert``, ``allow_redirects``). ``idempotent`` marks a request
    whose method is not safe but which may be sent twice all the same (an OAuth2 token request).
    """

    method: str
    url: str = field(repr=False)  # a next link or query may carry a token
    params: Mapping[str, Any] | None = field(default=None, repr=False)
    headers: Mapping[str, str] | None = field(default=None, repr=False)
    data: Any = field(default=None, repr=False)  # a token request's form holds the secret
    json: Any = field(default=None, repr=False)  # a message holds personal data
    timeout: float | tuple[float, float] | None = None
    auth_headers: Callable[[], Mapping[str, str]] | None = field(default=None, repr=False)
    idempotent: bool = False
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def resendable(self) -> bool:
        """Whether sending this request twice is harmless (see decision 1 above)."""
        return self.idempotent or self.method.upper() in SAFE_METHODS


class RequestFailed(Exception):
    """A request did not get a usable answer: its retries ran out, or it may not be sent again.

    ``response`` is the last answer (a retriable status) or None; ``error`` the last transport
    error or None. The message names neither the URL nor anything sent.
    """

    def __init__(
        self,
        attempts: int,
        *,
        response: requests.Response | None = None,
        error: requests.RequestException | None = None,
    ) -> None:
        self.attempts = attempts
        self.response = response
        self.error = error
        super().__init__(f"{self.reason}, still failing after {attempts} attempt(s)")

    @property
    def retries(self) -> int:
        return self.attempts - 1

    @property
    def reason(self) -> str:
        if self.response is not None:
            return f"HTTP {self.response.status_code}"
        return describe_error(self.error)


def describe_error(error: BaseException | None) -> str:
    """A transport error in a few words, without its message (which may hold a URL)."""
    if isinstance(error, RedirectRefused):  # its message names origins only
        return str(error)
    if isinstance(error, requests.Timeout):  # before ConnectionError: ConnectTimeout is both
        return "timed out"
    if isinstance(error, requests.ConnectionError):
        return f"connection failed ({type(error).__name__})"
    return f"request failed ({type(error).__name__})"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to wait before sending a request again (decisions 1 to 4 above).

    ``statuses`` are the retriable answers (a POST is retried only on those that are also in
    :data:`UNEXECUTED_STATUSES`); ``max_retries`` bounds the attempts after the first one.
    ``sleep`` waits, ``clock`` is the wall clock an HTTP-date ``Retry-After`` is measured against.
    """

    max_retries: int = 5
    statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    backoff_base: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 120.0
    jitter: bool = True
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time

    def retries_status(self, request: HttpRequest, status: int) -> bool:
        """Whether an answer with ``status`` may be retried for this request."""
        if status not in self.statuses:
            return False
        return request.resendable or status in UNEXECUTED_STATUSES

    def retries_error(self, request: HttpRequest, error: BaseException) -> bool:
        """Whether a transport error may be retried for this request."""
        return request.resendable and isinstance(error, _TRANSIENT_ERRORS)

    def backoff(self, attempt: int) -> float:
        """The wait before retry number ``attempt + 1`` when the server named none."""
        delay = min(self.max_backoff, self.backoff_base * 2.0 ** min(attempt, 64))
        if self.jitter:
            delay *= 0.5 + random.random() / 2
        return float(delay)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """The server's ``Retry-After`` (capped) when usable, else the back-off."""
        seconds = parse_retry_after(retry_after, now=self.clock())
        if seconds is None:
            return self.backoff(attempt)
        return min(seconds, self.max_retry_after)


def send_with_retries(
    session: requests.Session,
    request: HttpRequest,
    policy: RetryPolicy,
    on_401: On401 | None = None,
    *,
    on_retry: OnRetry | None = None,
) -> requests.Response:
    """Send ``request`` with the policy's bounded retries; return the first final answer.

    A final answer is any status the policy does not retry for this request (2xx, 404, ...), or
    a 401 that ``on_401`` did not fix. ``on_401(sent_headers)`` is called for the first 401 only;
    it returns True when it renewed the credentials (the request is then sent again, not counted
    as a retry). ``on_retry(retry_number, wait_seconds, reason)`` is told of every retry before
    the wait. Raises :class:`RequestFailed` when the retries run out or a transport error may not
    be retried.
    """
    renewed = False
    attempt = 0
    options = _session_options(session, request)
    while True:
        headers = dict(request.headers or {})
        if request.auth_headers is not None:
            headers.update(request.auth_headers())
        try:
            response = session.request(
                request.method,
                request.url,
                params=request.params,
                headers=headers,
                data=request.data,
                json=request.json,
                timeout=request.timeout,
                **options,
            )
        except requests.RequestException as exc:
            if attempt >= policy.max_retries or not policy.retries_error(request, exc):
                raise RequestFailed(attempt + 1, error=exc) from None
            wait, reason = policy.delay(attempt), describe_error(exc)
        else:
            status = response.status_code
            if status == 401 and on_401 is not None and not renewed:
                renewed = True
                if on_401(headers):
                    response.close()
                    continue
            if not policy.retries_status(request, status):
                return response
            if attempt >= policy.max_retries:
                raise RequestFailed(attempt + 1, response=response)
            wait = policy.delay(attempt, response.headers.get("Retry-After"))
            reason = f"HTTP {status}"
            response.close()
        attempt += 1
        if on_retry is not None:
            on_retry(attempt, wait, reason)
        policy.sleep(wait)


def _session_options(session: requests.Session, request: HttpRequest) -> dict[str, Any]:
    """The request's options; a session that is not ours follows no redirect (decision 6)."""
    options = dict(request.options)
    if not isinstance(session, SameOriginSession):
        options["allow_redirects"] = False
    return options


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait, or None when absent or unusable.

    Seconds may have decimals (``"1.5"``); an HTTP date is measured against ``now`` (the wall
    clock, ``time.time()`` by default). NaN and infinity are unusable; a negative value or a date
    in the past gives 0.0. No cap here: the :class:`RetryPolicy` caps.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # "-0000": an HTTP date is always GMT
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


# --- redirects and https ---------------------------------------------------------------------


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of a URL (the port a scheme implies when none is written)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # not a number: no origin anything could share
        port = -1
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def origin_text(url: str) -> str:
    """``scheme://host:port`` of a URL, for messages: never a path or a query."""
    scheme, host, port = origin(url)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port not in (None, 80, 443) else "")


class RedirectRefused(requests.RequestException):
    """The server answered with a redirect to another origin; nothing was sent there.

    The message names the two origins (scheme, host, port), never a path, a query or a header.
    ``response`` is the redirect answer.
    """

    def __init__(self, response: requests.Response, target: str) -> None:
        self.status = response.status_code
        self.source = origin_text(response.url or "")
        self.target = origin_text(target)
        super().__init__(
            f"HTTP {self.status} redirect from {self.source} to {self.target} refused: "
            "credentials and data are sent to the configured host only",
            response=response,
        )


class SameOriginSession(requests.Session):
    """A ``requests.Session`` that follows redirects only within one origin (decision 6).

    A redirect to another scheme, host or port is not followed: with ``allow_redirects`` (the
    default) the call raises :class:`RedirectRefused`; with ``allow_redirects=False`` the 3xx
    answer is returned as usual, for a caller that fetches the target itself without
    credentials (Graph's pre-authenticated download URLs).
    """

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        if origin(urljoin(resp.url, target)) != origin(resp.url):
            return None  # not followed; send() says why
        return target

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = super().send(request, **kwargs)
        if kwargs.get("allow_redirects", True) and response.is_redirect:
            # A redirect that was not followed: get_redirect_target refused another origin.
            target = urljoin(response.url, response.headers.get("location", ""))
            response.close()
            raise RedirectRefused(response, target)
        return response


def same_origin_session() -> SameOriginSession:
    """A new session that keeps credentials on their origin (VERA, Graph, MSAL's token calls)."""
    return SameOriginSession()


class PooledReadSession(SameOriginSession):
    """A :class:`SameOriginSession` whose plain GETs skip requests' per-request machinery.

    Paging a large register is thousands of small GETs; requests spends about 1.3 ms of CPU on
    each (preparing, merging settings, hooks, building the response) on top of urllib3, which was
    a third of a full sync's fetch on a 2-core machine. A GET with no body, no auth object, no
    cookies and no hooks, on a session that reads nothing from the environment (``trust_env``
    off: the caller passes ``verify``, ``cert`` and ``proxies`` itself), is sent here straight
    through the connection pool that requests' own adapter makes for those TLS settings, with the
    same timeouts and the same error types (:class:`requests.ConnectionError`,
    :class:`requests.ConnectTimeout`, :class:`requests.ReadTimeout`, ...), so retries
    (:func:`send_with_retries`) behave alike. Everything else goes through requests as before,
    and so does a GET whose answer the lean path does not handle: a redirect (followed within the
    origin from its target on; another origin is refused with :class:`RedirectRefused`, nothing
    sent there), a proxy, or a session holding cookies (a cookie set by the server is kept in the
    session's jar, so the requests after it carry it, through requests).
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self._pools: dict[tuple[str, str, str], Any] = {}
        self._pools_lock = threading.Lock()  # VERA's readers share one session

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if args or not self._lean(method, kwargs):
            return super().request(method, url, *args, **kwargs)
        params = kwargs.get("params")
        if params:
            url += ("&" if urlsplit(url).query else "?") + urlencode(list(dict(params).items()))
        answer, target = self._lean_get(url, kwargs)
        if answer is None:  # a redirect within the origin: requests follows it (and any next)
            rest = {k: v for k, v in kwargs.items() if k != "params"}
            return super().request(method, target, **rest)
        return answer

    def _lean(self, method: str, kwargs: Mapping[str, Any]) -> bool:
        """Whether a request may take the lean path (see the class documentation)."""
        if method.upper() != "GET" or self.trust_env or self.auth or self.cookies:
            return False
        if any(self.hooks.values()) or not kwargs.get("allow_redirects", True):
            return False
        if any(kwargs.get(k) for k in ("data", "json", "files", "auth", "cookies", "hooks")):
            return False
        if kwargs.get("stream"):
            return False
        return not any((kwargs.get("proxies") or {}).values())

    def _pool(self, url: str, verify: Any, cert: Any) -> Any:
        """The connection pool requests' adapter uses for this origin and these TLS settings."""
        scheme, host, port = origin(url)
        key = (f"{scheme}://{host}:{port}", repr(verify), repr(cert))
        pool = self._pools.get(key)
        if pool is not None:
            return pool
        with self._pools_lock:  # one pool per origin and settings, however many threads ask
            pool = self._pools.get(key)
            if pool is None:
                adapter = self.get_adapter(url)
                assert isinstance(adapter, HTTPAdapter)
                probe = requests.Request("GET", url).prepare()
                pool = adapter.get_connection_with_tls_context(probe, verify, proxies={}, cert=cert)
                adapter.cert_verify(pool, url, verify, cert)  # type: ignore[no-untyped-call]
                self._pools[key] = pool
        return pool

    def _lean_get(
        self, url: str, kwargs: Mapping[str, Any]
    ) -> tuple[requests.Response | None, str]:
        url = requote_uri(url)
        verify = kwargs.get("verify")
        pool = self._pool(url, True if verify is None else verify, kwargs.get("cert"))
        headers = CaseInsensitiveDict(self.headers)
        for name, value in (kwargs.get("headers") or {}).items():
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = value
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        raw = _urlopen(pool, target, headers, kwargs.get("timeout"))
        response = requests.Response()
        response.status_code = raw.status
        response.reason = raw.reason or ""
        response.headers = CaseInsensitiveDict(raw.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.url = url
        response._content = raw.data
        response._content_consumed = True  # type: ignore[attr-defined]
        if "set-cookie" in response.headers:  # kept, and sent back (through requests) from now on
            sent = requests.Request("GET", url).prepare()
            extract_cookies_to_jar(self.cookies, sent, raw)  # type: ignore[no-untyped-call]
        if raw.status in REDIRECT_STATI and "location" in response.headers:
            target = urljoin(url, response.headers["location"])
            if origin(target) != origin(url):
                raise RedirectRefused(response, target)
            return None, target  # within the origin: requests follows it from here
        return response, url


def _urlopen(pool: Any, target: str, headers: Mapping[str, Any], timeout: Any) -> Any:
    """One GET on a urllib3 pool as requests' adapter sends it (no retries, no redirects), with
    urllib3's errors raised as the requests errors the adapter would raise."""
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    try:
        return pool.urlopen(
            method="GET",
            url=target,
            body=None,
            headers=headers,
            redirect=False,
            assert_same_host=False,
            preload_content=True,
            decode_content=True,
            retries=Retry(0, read=False),
            timeout=Timeout(connect=connect, read=read),
            chunked=False,
        )
    except urllib3_exceptions.MaxRetryError as exc:
        reason = exc.reason
        if isinstance(reason, urllib3_exceptions.SSLError):
            raise requests.exceptions.SSLError(exc) from None
        if isinstance(reason, urllib3_exceptions.ConnectTimeoutError) and not isinstance(
            reason, urllib3_exceptions.NewConnectionError
        ):
            raise requests.ConnectTimeout(exc) from None
        raise requests.ConnectionError(exc) from None
    except urllib3_exceptions.ReadTimeoutError as exc:
        raise requests.ReadTimeout(exc) from None
    except urllib3_exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from None
    except urllib3_exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from None
    except (urllib3_exceptions.ProtocolError, OSError) as exc:
        raise requests.ConnectionError(exc) from None


def pooled_read_session() -> PooledReadSession:
    """A new :class:`PooledReadSession` (VERA's paging)."""
    return PooledReadSession()


def require_https(url: str, key: str) -> str:
    """``url`` when it is ``https://`` (or ``http://`` on loopback), else a ``ConfigError`` naming
    the configuration ``key`` (``source.vera.base_url``), never the URL's path or query."""
    problem = insecure_url_problem(url)
    if problem:
        raise ConfigError(f"{key}: {problem}")
    return url


# --- secrets ---------------------------------------------------------------------------------

_SECRET_PARAM = re.compile(r"(key|token|secret|password|passwd|auth|signature)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL with credentials and secret-looking query values replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = urlencode(
        [
            (name, "***" if _SECRET_PARAM.search(name) else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class MissingSecret(ConfigError):
    """A secret named in the configuration is not in the environment."""


def secret_from_env(env: Mapping[str, str], name: str, what: str) -> str:
    """The secret in environment variable ``name``; ``what`` says what it is for the message.

    Raises :class:`MissingSecret` (a ``ConfigError``) naming the variable, never a value.
    """
    value = env.get(name, "")
    if not value:
        raise MissingSecret(f"{what}: environment variable {name} is not set")
    return value


# --- paging ----------------------------------------------------------------------------------


class PagingLoop(Exception):
    """The server handed back a cursor or link we already followed: paging would never end."""


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


@dataclass
class HeaderCursorPaginator:
    """Where we are in one listing paged by response headers (VERA's ``X-Parameters-*``).

    Each response is one page; ``X-Parameters-Cursor`` is sent back as ``?cursor=`` for the next
    one, ``X-Parameters-Aantal`` is the total count. Send :meth:`request_headers` (the page size,
    ``X-Parameters-AantalPerPagina``) and :meth:`params` with each request; call :meth:`advance`
    with each page's item count and response headers; stop when ``done``.

    Stops on a missing cursor, an empty page, or when the items seen reach the total; raises
    :class:`PagingLoop` for a cursor already sent (meltano's loop guard). VERA also allows page
    numbers (``?pagina=N``): a server that sends no cursor at all on its first page while its
    total says there is more is paged by number instead, so an ERP without cursors is not
    silently read as its first page only. Mirrors dlt's ``HeaderCursorPaginator``.
    """

    cursor_header: str = "X-Parameters-Cursor"
    total_header: str = "X-Parameters-Aantal"
    page_size_header: str = "X-Parameters-AantalPerPagina"
    cursor_param: str = "cursor"
    page_param: str = "pagina"
    page_size: int | None = None
    cursor: str | None = None
    seen: int = 0
    total: int | None = None
    pages: int = 0
    done: bool = False
    by_page_number: bool = False
    _sent: set[str] = field(default_factory=set, repr=False)

    def request_headers(self) -> dict[str, str]:
        return {self.page_size_header: str(self.page_size)} if self.page_size else {}

    def params(self) -> dict[str, str]:
        if self.by_page_number:
            return {self.page_param: str(self.pages + 1)}
        return {self.cursor_param: self.cursor} if self.cursor else {}

    def advance(self, item_count: int, headers: Mapping[str, str]) -> None:
        if self.cursor:
            self._sent.add(self.cursor)
        self.pages += 1
        self.seen += item_count
        total = _header_int(headers, self.total_header)
        if total is not None:
            self.total = total
        next_cursor = (headers.get(self.cursor_header) or "").strip() or None
        more = self.total is None or self.seen < self.total
        if item_count == 0 or not more:
            self._finish()
            return
        if next_cursor is None:
            if self.pages == 1 and self.total is not None:
                self.by_page_number = True  # no cursors on this server: page by number
            if not self.by_page_number:
                self._finish()
            return
        if next_cursor in self._sent:
            raise PagingLoop(f"the server repeated a cursor after page {self.pages}")
        self.cursor = next_cursor

    def peek(self, headers: Mapping[str, str]) -> dict[str, str] | None:
        """The query (:meth:`params`) of the page after the one that came with ``headers``, if
        the listing goes on after it; None if it would end there (or loop). This paginator is
        not changed: a reader asks for that page while it reads this one, before it knows the
        page's item count. The count is taken as a full page (the page size asked for, else the
        one the server says), so a listing whose total says it ends here is not read further."""
        ahead = replace(self, _sent=set(self._sent))
        likely = self.page_size or _header_int(headers, self.page_size_header) or 1
        try:
            ahead.advance(likely, headers)
        except PagingLoop:
            return None
        return None if ahead.done else ahead.params()

    def _finish(self) -> None:
        self.done = True
        self.cursor = None
        self.by_page_number = False


@dataclass
class NextLinkPaginator:
    """Where we are in one OData listing (Microsoft Graph): follow ``@odata.nextLink``.

    Call :meth:`advance` with each page's JSON body; request ``next_url`` (absolute, with its own
    query) while not ``done``. A delta round ends at the page with ``@odata.deltaLink``, which is
    kept in ``delta_link``; a plain listing ends at the page without a next link. A next link that
    comes back a second time raises :class:`PagingLoop`.
    """

    next_key: str = "@odata.nextLink"
    delta_key: str = "@odata.deltaLink"
    next_url: str | None = None
    delta_link: str | None = None
    pages: int = 0
    done: bool = False
    _seen: set[str] = field(default_factory=set, repr=False)

    def advance(self, page: Mapping[str, Any]) -> None:
        self.pages += 1
        delta_link = page.get(self.delta_key)
        next_link = page.get(self.next_key)
        if delta_link or not next_link:
            self.delta_link = str(delta_link) if delta_link else None
            self.done, self.next_url = True, None
            return
        link = str(next_link)
        if link in self._seen:
            raise PagingLoop(f"the same {self.next_key} came back twice")
        self._seen.add(link)
        self.next_url = link
