"""The VERA REST client: authentication, paging and retries over one keep-alive session.

This module owns talking to a corporation's ERP through VERA: authentication (``X-API-KEY`` or
OAuth2 client credentials, the token renewed shortly before it expires and once on a 401), header
cursor paging, timeouts, bounded retries that honour ``Retry-After``, and the cluster filter on
``/eenheden``. Retrying, ``Retry-After`` and paging come from the shared :mod:`connectors.http`
toolkit; reading a whole register snapshot is :mod:`connectors.erp.vera.snapshot`.

Paging (VERA headers): each response is a bare JSON array of at most 100 items with
``X-Parameters-Cursor`` (send it back as ``?cursor=`` for the next page), ``X-Parameters-Aantal``
(total count), ``X-Parameters-AantalPerPagina`` and ``X-Parameters-Pagina``. We stop on a missing
cursor, an empty page, or when the items seen reach the total, and refuse a cursor we already
sent (a loop). A server that sends no cursor at all but a total is paged with ``?pagina=N``.

Failures: 429/500/502/503/504, connection errors and timeouts are retried here, and only here
(callers such as Prefect tasks must not retry again). Every VERA request may be sent twice: the
listings are reads, and the OAuth2 token request changes nothing. A page that still fails, or a
body that is not a JSON array, raises :class:`SnapshotIncomplete`: the sync must then change
nothing. Other 4xx answers raise :class:`VeraRequestError`. No message carries a secret or
personal data.

Credentials go to the configured origin only: the session follows a redirect within the origin
and refuses one to another host, scheme or port (:class:`~connectors.http.SameOriginSession`),
so neither the ``X-API-KEY`` nor the client secret in a token request's body can be sent
elsewhere; the base URL and the token URL must be https (plain http on loopback only). A refused
redirect is a :class:`VeraRequestError` that names the two hosts and the key to check.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter

from connectors.http import (
    HeaderCursorPaginator,
    HttpRequest,
    PagingLoop,
    RedirectRefused,
    RequestFailed,
    RetryPolicy,
    origin_text,
    pooled_read_session,
    redact_url,
    require_https,
    secret_from_env,
    send_with_retries,
)
from keukentafel.config import VeraConfig

UNITS = "/eenheden"
RELATIONS = "/relaties"
AGREEMENTS = "/overeenkomsten"

RETRIABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF_SECONDS = 30.0

Progress = Callable[[str, int, int | None], None]
T = TypeVar("T")


class VeraError(Exception):
    """A VERA request failed in a way retrying cannot fix (auth, a bad request, no resource)."""


class VeraRequestError(VeraError):
    def __init__(self, endpoint: str, status: int, message: str) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status

    def __reduce__(self) -> tuple[Any, ...]:  # crosses from the second process (worker.py)
        return (type(self), (self.endpoint, self.status, str(self)))


class SnapshotIncomplete(Exception):
    """A page could not be read completely; a snapshot built so far must not be applied."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(f"VERA {endpoint}: snapshot incomplete: {reason}")
        self.endpoint = endpoint
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:  # crosses from the second process (worker.py)
        return (type(self), (self.endpoint, self.reason))


# --- auth --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    value: str = field(repr=False)
    refresh_at: float  # monotonic time after which we fetch a new one


# --- the client --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]
    total: int | None
    number: int


class VeraClient:
    """A VERA API client over one keep-alive ``requests.Session`` (thread-safe for reading).

    ``env`` supplies the secrets named in the config (``api_key_env``, ``client_secret_env``);
    ``backoff_base`` is the first retry delay in seconds (tests use a tiny one). ``sleep`` waits
    between retries and ``clock`` (monotonic seconds) times the OAuth2 token: tests inject both.
    """

    def __init__(
        self,
        config: VeraConfig,
        *,
        env: Mapping[str, str],
        session: requests.Session | None = None,
        backoff_base: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.base_url = require_https(config.base_url, "source.vera.base_url").rstrip("/")
        if config.auth.token_url:
            require_https(config.auth.token_url, "source.vera.auth.token_url")
        self._clock = clock
        self._policy = RetryPolicy(
            max_retries=config.max_retries,
            statuses=RETRIABLE_STATUS,
            backoff_base=backoff_base,
            max_backoff=MAX_BACKOFF_SECONDS,
            max_retry_after=config.max_retry_after_seconds,
            sleep=sleep,
        )
        auth = config.auth
        self._api_key: str | None = None
        self._client_secret: str | None = None
        if auth.mode == "api_key":
            assert auth.api_key_env is not None  # guaranteed by VeraAuthConfig
            self._api_key = secret_from_env(env, auth.api_key_env, "VERA api key")
        elif auth.mode == "oauth2":
            assert auth.client_secret_env is not None
            self._client_secret = secret_from_env(
                env, auth.client_secret_env, "VERA OAuth2 client secret"
            )
        self._own_session = session is None
        # Ours never follows a redirect to another origin (connectors/http.py, decision 6); a
        # session handed in is sent requests that follow no redirect at all.
        # Our own session pages through listings on urllib3's pool directly (PooledReadSession).
        self.session = session or pooled_read_session()
        # Proxy, CA bundle and client certificate settings from the environment, per origin:
        # requests reads them (and ~/.netrc) on every request, which cost a quarter of the
        # client's time per page; our own session reads them once per origin instead.
        self._environment: dict[str, dict[str, Any]] = {}
        self._environment_lock = threading.Lock()
        if self._own_session:
            self.session.trust_env = False  # see _settings_for
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": "application/json"})
        self._token: _Token | None = None
        self._token_lock = threading.Lock()
        self._ahead: ThreadPoolExecutor | None = None
        self._ahead_lock = threading.Lock()
        self._answers: deque[float] = deque(maxlen=READ_AHEAD_SAMPLE)  # seconds, newest last
        self._answers_lock = threading.Lock()
        self.token_fetches = 0
        self.retries = 0

    # --- lifecycle ---

    def close(self) -> None:
        if self._ahead is not None:  # a page asked for in vain may still be on its way
            self._ahead.shutdown(wait=True, cancel_futures=True)
        if self._own_session:
            self.session.close()

    def __enter__(self) -> VeraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- auth ---

    def secrets(self) -> dict[str, str]:
        """The secret this client was given, by its environment variable's name: what a second
        process needs to build the same client (connectors/erp/vera/worker.py)."""
        auth = self.config.auth
        if auth.api_key_env and self._api_key is not None:
            return {auth.api_key_env: self._api_key}
        if auth.client_secret_env and self._client_secret is not None:
            return {auth.client_secret_env: self._client_secret}
        return {}

    def _auth_headers(self) -> dict[str, str]:
        mode = self.config.auth.mode
        if mode == "api_key" and self._api_key is not None:
            return {"X-API-KEY": self._api_key}
        if mode == "oauth2":
            return {"Authorization": f"Bearer {self._bearer()}"}
        return {}

    def _bearer(self, *, renew: bool = False, stale: str | None = None) -> str:
        with self._token_lock:
            token = self._token
            if token is not None and stale is not None and token.value != stale:
                return token.value  # another thread already renewed it
            if token is None or renew or self._clock() >= token.refresh_at:
                self._token = token = self._fetch_token()
            return token.value

    def _fetch_token(self) -> _Token:
        auth = self.config.auth
        assert auth.token_url is not None and auth.client_id is not None
        form = {
            "grant_type": "client_credentials",
            "client_id": auth.client_id,
            "client_secret": self._client_secret or "",
            "scope": " ".join(auth.scopes),
        }
        response = self._send("token", "POST", auth.token_url, data=form)
        if 300 <= response.status_code < 400:
            raise self._redirected("token", response, "source.vera.auth.token_url")
        if response.status_code != 200:
            raise VeraRequestError(
                "token",
                response.status_code,
                f"VERA OAuth2 token request to {redact_url(auth.token_url)} was refused "
                f"(HTTP {response.status_code}); check client_id and the secret in "
                f"${auth.client_secret_env}",
            )
        try:
            answer = response.json()
            value = str(answer["access_token"])
            expires_in = float(answer.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError) as exc:
            raise VeraError("VERA OAuth2 token answer is not a valid token response") from exc
        self.token_fetches += 1
        # Renew shortly before expiry: 10% of the lifetime, at most a minute.
        margin = min(60.0, expires_in * 0.1)
        return _Token(value, self._clock() + max(0.0, expires_in - margin))

    # --- requests with retries ---

    def _settings_for(self, url: str) -> dict[str, Any]:
        """``proxies``, ``verify`` and ``cert`` for a URL as requests would take them from the
        environment, looked up once per origin (only for our own session; a session handed in
        keeps its own ``trust_env`` behaviour)."""
        if not self._own_session:
            return {}
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._environment_lock:
            settings = self._environment.get(origin)
            if settings is None:
                with requests.Session() as probe:  # trust_env on: reads the environment
                    merged = probe.merge_environment_settings(origin + "/", {}, None, None, None)
                settings = {k: merged[k] for k in ("proxies", "verify", "cert")}
                self._environment[origin] = settings
        return settings

    def _timeout(self) -> tuple[float, float]:
        timeout = self.config.timeout_seconds
        return (min(10.0, timeout), timeout)

    def _send(
        self,
        endpoint: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        auth: bool = False,
    ) -> requests.Response:
        """One request with the shared retry policy; a 401 renews an OAuth2 token once.

        Returns the final response for any status that is not retriable; raises
        :class:`SnapshotIncomplete` when the retries run out.
        """
        request = HttpRequest(
            method,
            url,
            params=params,
            headers=headers,
            data=data,
            timeout=self._timeout(),
            auth_headers=self._auth_headers if auth else None,
            idempotent=True,  # reads, and a token request: sending one twice changes nothing
            options=self._settings_for(url),
        )
        renew = self._renew_token if auth and self.config.auth.mode == "oauth2" else None
        try:
            return send_with_retries(
                self.session, request, self._policy, renew, on_retry=self._count_retry
            )
        except RequestFailed as exc:
            if isinstance(exc.error, RedirectRefused):
                key = (
                    "source.vera.auth.token_url" if endpoint == "token" else "source.vera.base_url"
                )
                raise VeraRequestError(
                    endpoint, exc.error.status, f"VERA {endpoint}: {exc.error}; check {key}"
                ) from None
            reason = exc.reason
            if isinstance(exc.error, requests.Timeout):
                reason = f"timed out after {self.config.timeout_seconds:g} s"
            raise SnapshotIncomplete(
                endpoint, f"{reason}, still failing after {exc.attempts} attempt(s)"
            ) from None

    def _renew_token(self, sent: Mapping[str, str]) -> bool:
        """The token may have been revoked or expired early: renew it, unless another thread
        already did since this request was sent."""
        stale = sent.get("Authorization", "").removeprefix("Bearer ")
        self._bearer(renew=True, stale=stale)
        return True

    def _count_retry(self, attempt: int, wait: float, reason: str) -> None:
        self.retries += 1

    def _get_page(
        self, path: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> requests.Response:
        url = self.base_url + path
        response = self._send(path, "GET", url, params=params, headers=headers, auth=True)
        status = response.status_code
        if 300 <= status < 400:
            raise self._redirected(path, response, "source.vera.base_url")
        if status >= 400:
            raise VeraRequestError(path, status, self._fatal_message(path, url, status))
        return response

    @staticmethod
    def _redirected(endpoint: str, response: requests.Response, key: str) -> VeraRequestError:
        """A redirect that was not followed (a session handed in follows none)."""
        target = origin_text(urljoin(response.url, response.headers.get("Location", "")))
        response.close()
        return VeraRequestError(
            endpoint,
            response.status_code,
            f"VERA {endpoint}: HTTP {response.status_code} redirect to {target} not followed: "
            f"credentials are sent to the configured host only; check {key}",
        )

    def _fatal_message(self, path: str, url: str, status: int) -> str:
        auth = self.config.auth
        where = f"VERA GET {redact_url(url)}"
        if status == 401:
            if auth.mode == "api_key":
                hint = f"the API key in ${auth.api_key_env} was refused"
            elif auth.mode == "oauth2":
                hint = "the OAuth2 token was refused even after renewing it"
            else:
                hint = "the server asks for credentials; configure source.vera.auth"
            return f"{where}: HTTP 401 Unauthorized: {hint}"
        if status == 403:
            scopes = " ".join(auth.scopes) if auth.mode == "oauth2" else "(api key)"
            return f"{where}: HTTP 403 Forbidden: the credentials may not read {path} ({scopes})"
        if status == 404:
            return f"{where}: HTTP 404 Not Found: check source.vera.base_url"
        return f"{where}: HTTP {status}: the request was refused"

    # --- paging ---

    def walk(
        self,
        path: str,
        params: Mapping[str, str] | None,
        handle: Callable[[bytes, int], tuple[int, T]],
        paginator: HeaderCursorPaginator | None = None,
        *,
        read_ahead: bool = False,
    ) -> Iterator[tuple[T, int | None]]:
        """Page through a listing, turning each raw body into a result with ``handle``.

        ``handle(body, page_number)`` returns the page's item count and its result; it raises
        :class:`SnapshotIncomplete` for a body it cannot read. Yields ``(result, total)``.
        ``paginator`` continues a listing where another walk left it (after its last yield,
        the paginator has advanced past that page), e.g. in a second process.

        With ``read_ahead``, while the client's answers take :data:`READ_AHEAD_AFTER_SECONDS`
        or longer (their median: :meth:`_answers_are_slow`), the next page is asked for (on a
        thread of the client's) while ``handle`` reads this one: a listing is paged one page
        after the other, so across a network each page otherwise waited for the handling of the
        one before. (An ERP that answers at once, as
        the fake on loopback does, is read one page after the other: there the hand-over to a
        thread cost more than it saved.) The next page's query comes from this page's headers
        alone (:meth:`HeaderCursorPaginator.peek`); an answer asked for ahead is used only for
        exactly the query the paginator then makes, and its failure is raised as that
        request's own. A walk that is left before its end leaves at most one page asked for in
        vain (a read; pass ``read_ahead`` only where the whole listing will be read).
        """
        if paginator is None:
            paginator = self.paginator()
        base_params = dict(params or {})
        ahead: _ReadAhead | None = None
        try:
            while not paginator.done:
                query = {**base_params, **paginator.params()}
                headers = paginator.request_headers()
                response = ahead.take(query) if ahead is not None else None
                if response is None:
                    asked = time.perf_counter()
                    response = self._get_page(path, query, headers)
                    if self._answers_are_slow(time.perf_counter() - asked) and read_ahead:
                        ahead = ahead or _ReadAhead(self, path)
                if ahead is not None:
                    following = paginator.peek(response.headers)
                    if following is not None:
                        ahead.ask({**base_params, **following}, headers)
                count, result = handle(response.content, paginator.pages + 1)
                try:
                    paginator.advance(count, response.headers)
                except PagingLoop as exc:
                    raise SnapshotIncomplete(path, str(exc)) from None
                yield result, paginator.total
        finally:
            if ahead is not None:
                ahead.drop()

    def _answers_are_slow(self, seconds: float) -> bool:
        """Note how long an answer took; whether the client's recent answers (the median of
        the last :data:`READ_AHEAD_SAMPLE`, at least three) took :data:`READ_AHEAD_AFTER_SECONDS`
        or longer. A median, because on a busy machine an answer on loopback now and then waits
        that long for the interpreter; across a network most of them take that long."""
        with self._answers_lock:
            self._answers.append(seconds)
            if len(self._answers) < 3:
                return False
            ordered = sorted(self._answers)
        return ordered[len(ordered) // 2] >= READ_AHEAD_AFTER_SECONDS

    def _reader_ahead(self) -> ThreadPoolExecutor:
        """The threads that ask for pages ahead (:meth:`walk`), made on first use."""
        with self._ahead_lock:
            if self._ahead is None:
                self._ahead = ThreadPoolExecutor(
                    READ_AHEAD_THREADS, thread_name_prefix="vera-read-ahead"
                )
            return self._ahead

    def paginator(self) -> HeaderCursorPaginator:
        """A new listing's paging state (page size from the configuration)."""
        return HeaderCursorPaginator(page_size=self.config.page_size)

    def iter_pages(
        self, path: str, params: Mapping[str, str] | None = None, *, read_ahead: bool = False
    ) -> Iterator[Page]:
        """Every page of a listing with its total count (see :class:`HeaderCursorPaginator`);
        ``read_ahead`` as in :meth:`walk`."""

        def parse(body: bytes, number: int) -> tuple[int, list[Any]]:
            items = parse_page(path, body, number)
            return len(items), items

        walk = self.walk(path, params, parse, read_ahead=read_ahead)
        for number, (items, total) in enumerate(walk, start=1):
            yield Page(items, total, number)

    def pages(
        self, path: str, params: dict[str, str], *, read_ahead: bool = False
    ) -> Iterator[list[Any]]:
        """Each page's JSON array as-is."""
        for page in self.iter_pages(path, params, read_ahead=read_ahead):
            yield page.items

    def ping(self) -> bool:
        response = self._send("/ping", "GET", self.base_url + "/ping", auth=True)
        return response.status_code == 200


#: Threads of a client that ask for pages ahead (:meth:`VeraClient.walk`): one per listing
#: read at a time (a sync reads units in two runs of complexes, agreements and relations).
READ_AHEAD_THREADS = 4
#: A walk reads ahead while the client's recent answers took this long (their median): an ERP
#: across a network (at 20 ms a page a full sync of 80,000 units took 2.8 s less). Answers on
#: loopback take 1-3 ms; reading ahead there made a sync slower (README, "Benchmarks", tenth
#: round).
READ_AHEAD_AFTER_SECONDS = 0.010
#: The recent answers whose median says whether to read ahead.
READ_AHEAD_SAMPLE = 16


class _ReadAhead:
    """The one page of a walk that is asked for before the walk needs it."""

    def __init__(self, client: VeraClient, path: str) -> None:
        self._client = client
        self._path = path
        self._query: dict[str, str] | None = None
        self._answer: Future[requests.Response] | None = None

    def ask(self, query: dict[str, str], headers: Mapping[str, str]) -> None:
        self.drop()
        self._query = query
        pool = self._client._reader_ahead()
        self._answer = pool.submit(self._client._get_page, self._path, query, headers)

    def take(self, query: Mapping[str, str]) -> requests.Response | None:
        """The answer asked for ahead, if it was asked for ``query`` (its failure raised as the
        request's own); else None, and it is dropped."""
        if self._answer is None or self._query != query:
            self.drop()
            return None
        answer, self._answer, self._query = self._answer, None, None
        return answer.result()

    def drop(self) -> None:
        """Forget the page asked for ahead: not sent yet, it never is; on its way, its answer
        is closed when it comes (and a failure ignored: nobody needs that page)."""
        answer, self._answer, self._query = self._answer, None, None
        if answer is not None and not answer.cancel():
            answer.add_done_callback(_close_unused)


def _close_unused(answer: Future[requests.Response]) -> None:
    if answer.cancelled() or answer.exception() is not None:
        return
    answer.result().close()


def parse_page(endpoint: str, body: bytes, number: int) -> list[Any]:
    """A page body as the JSON array it must be, else :class:`SnapshotIncomplete`."""
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:  # what orjson refuses but JSON parsers commonly accept (NaN, huge integers)
            items = json.loads(body)
        except ValueError:
            raise SnapshotIncomplete(
                endpoint, f"page {number} is not valid JSON (truncated?)"
            ) from None
    if not isinstance(items, list):
        raise SnapshotIncomplete(
            endpoint, f"page {number} is a JSON {type(items).__name__}, not an array"
        )
    return items


def cluster_params(complex_code: str, cluster_kind: str) -> dict[str, str]:
    """The ``params`` query object for /eenheden that selects the units of one cluster.

    VHE.yaml declares ``params`` (style form, explode) over ``Eenheden-Eenheid``, whose
    ``clusters`` is an array of ``{code, soort: {code}}``; nested keys are written dotted.
    """
    params = {"clusters.code": complex_code}
    if cluster_kind:
        params["clusters.soort.code"] = cluster_kind
    return params
