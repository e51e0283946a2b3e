"""The VERA REST client and the register snapshot reader.

This module owns talking to a corporation's ERP through VERA: authentication (``X-API-KEY`` or
OAuth2 client credentials), header cursor paging, timeouts, bounded retries that honour
``Retry-After``, the cluster filter on ``/eenheden``, and :func:`read_snapshot`, which pulls
units, relations and agreements concurrently and maps them with the pure functions in
:mod:`connectors.erp.vera_mapping`.

Paging (VERA headers): each response is a bare JSON array of at most 100 items with
``X-Parameters-Cursor`` (send it back as ``?cursor=`` for the next page), ``X-Parameters-Aantal``
(total count), ``X-Parameters-AantalPerPagina`` and ``X-Parameters-Pagina``. We stop on a missing
cursor, an empty page, or when the items seen reach the total, and refuse a cursor we already
sent (a loop). A server that sends no cursor at all but a total is paged with ``?pagina=N``.

Failures: 429/500/502/503/504, connection errors and timeouts are retried here, and only here
(callers such as Prefect tasks must not retry again). A page that still fails, or a body that is
not a JSON array, raises :class:`SnapshotIncomplete`: the sync must then change nothing. Other
4xx answers raise :class:`VeraRequestError`. No message carries a secret or personal data.

Speed: the three endpoints are read in parallel threads, each page mapped as it arrives, with
the cyclic GC paused during the read; JSON is parsed with orjson. A page whose bytes did not
change since a successful run is not parsed or mapped at all: with a
:class:`~keukentafel.domain.register.PageMemo` (the sync use case loads one from the store and
saves it again; it survives the process) each page's item ids, content hashes and references are
kept by a digest of the page's bytes and of the mapping code, and such a page's items reach the
snapshot as :class:`~keukentafel.domain.register.Digested` items whose values are mapped only
when needed. Pages with rows kept aside or agreements that need the unit list are always mapped.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import requests
from requests.adapters import HTTPAdapter

from connectors.erp.vera_mapping import (
    agreement_kind,
    lease_id_of,
    map_lease,
    map_relation,
    map_unit,
    needs_unit_lookup,
    relation_id_of,
    unit_id_of,
)
from keukentafel.config import ConfigError, VeraConfig
from keukentafel.domain import addressing, model, register
from keukentafel.domain.model import Lease, Resident, Unit
from keukentafel.domain.register import (
    Digested,
    DigestMismatch,
    EntityKind,
    PageMemo,
    RejectedRow,
    Snapshot,
    digest_of,
    map_rows,
)

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


class SnapshotIncomplete(Exception):
    """A page could not be read completely; a snapshot built so far must not be applied."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(f"VERA {endpoint}: snapshot incomplete: {reason}")
        self.endpoint = endpoint
        self.reason = reason


class CursorLoop(Exception):
    """The server handed back a cursor we already followed."""


# --- paging state (pure, tested without a network) ---------------------------------------


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
    """Where we are in one VERA listing.

    Call :meth:`advance` with each page's item count and response headers; read ``done`` and
    :meth:`params` for the next request. Mirrors dlt's ``HeaderCursorPaginator`` with the stops
    VERA needs (empty page, total count) and meltano's loop guard.

    VERA also allows page-number paging (``?pagina=N``). A server that sends no cursor at all
    on its first page while its total says there is more is paged by number instead, so an ERP
    without cursors is not silently read as its first page only.
    """

    cursor_header: str = "X-Parameters-Cursor"
    total_header: str = "X-Parameters-Aantal"
    cursor: str | None = None
    seen: int = 0
    total: int | None = None
    pages: int = 0
    done: bool = False
    by_page_number: bool = False
    _sent: set[str] = field(default_factory=set, repr=False)

    def params(self) -> dict[str, str]:
        if self.by_page_number:
            return {"pagina": str(self.pages + 1)}
        return {"cursor": self.cursor} if self.cursor else {}

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
            raise CursorLoop(f"the server repeated a cursor after page {self.pages}")
        self.cursor = next_cursor

    def _finish(self) -> None:
        self.done = True
        self.cursor = None
        self.by_page_number = False


# --- redaction ---------------------------------------------------------------------------

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


# --- auth --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
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
    ``backoff_base`` is the first retry delay in seconds (tests use a tiny one).
    """

    def __init__(
        self,
        config: VeraConfig,
        *,
        env: Mapping[str, str] = os.environ,
        session: requests.Session | None = None,
        backoff_base: float = 0.5,
    ) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self.backoff_base = backoff_base
        auth = config.auth
        self._api_key: str | None = None
        self._client_secret: str | None = None
        if auth.mode == "api_key":
            assert auth.api_key_env is not None  # guaranteed by VeraAuthConfig
            self._api_key = _secret(env, auth.api_key_env, "VERA api key")
        elif auth.mode == "oauth2":
            assert auth.client_secret_env is not None
            self._client_secret = _secret(env, auth.client_secret_env, "VERA OAuth2 client secret")
        self._own_session = session is None
        self.session = session or requests.Session()
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
        self.token_fetches = 0
        self.retries = 0

    # --- lifecycle ---

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> VeraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- auth ---

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
            if token is None or renew or time.monotonic() >= token.refresh_at:
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
        return _Token(value, time.monotonic() + max(0.0, expires_in - margin))

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

    def _retry_delay(self, attempt: int, response: requests.Response | None) -> float:
        if response is not None:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                return min(retry_after, self.config.max_retry_after_seconds)
        return float(min(self.backoff_base * (2**attempt), MAX_BACKOFF_SECONDS))

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
        """One request with bounded retries on 429/5xx/connection errors; 401 renews a token once.

        Returns the final response for any status that is not retriable; raises
        :class:`SnapshotIncomplete` when the retries run out.
        """
        renewed = False
        attempt = 0
        while True:
            request_headers = dict(headers or {})
            if auth:
                request_headers.update(self._auth_headers())
            response: requests.Response | None = None
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    headers=request_headers,
                    data=data,
                    timeout=self._timeout(),
                    **self._settings_for(url),
                )
            except requests.Timeout:
                reason = f"timed out after {self.config.timeout_seconds:g} s"
            except requests.ConnectionError as exc:
                reason = f"connection failed ({type(exc).__name__})"
            else:
                status = response.status_code
                if status == 401 and auth and self.config.auth.mode == "oauth2" and not renewed:
                    renewed = True  # the token may have been revoked or expired early
                    stale = request_headers.get("Authorization", "").removeprefix("Bearer ")
                    self._bearer(renew=True, stale=stale)
                    continue
                if status not in RETRIABLE_STATUS:
                    return response
                reason = f"HTTP {status}"
            if attempt >= self.config.max_retries:
                raise SnapshotIncomplete(
                    endpoint, f"{reason}, still failing after {attempt + 1} attempt(s)"
                )
            delay = self._retry_delay(attempt, response)
            if response is not None:
                response.close()
            attempt += 1
            self.retries += 1
            time.sleep(delay)

    def _get_page(self, path: str, params: Mapping[str, str]) -> requests.Response:
        url = self.base_url + path
        headers = {"X-Parameters-AantalPerPagina": str(self.config.page_size)}
        response = self._send(path, "GET", url, params=params, headers=headers, auth=True)
        status = response.status_code
        if status >= 400:
            raise VeraRequestError(path, status, self._fatal_message(path, url, status))
        return response

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
    ) -> Iterator[tuple[T, int | None]]:
        """Page through a listing, turning each raw body into a result with ``handle``.

        ``handle(body, page_number)`` returns the page's item count and its result; it raises
        :class:`SnapshotIncomplete` for a body it cannot read. Yields ``(result, total)``.
        """
        paginator = HeaderCursorPaginator()
        base_params = dict(params or {})
        while not paginator.done:
            response = self._get_page(path, {**base_params, **paginator.params()})
            count, result = handle(response.content, paginator.pages + 1)
            try:
                paginator.advance(count, response.headers)
            except CursorLoop as exc:
                raise SnapshotIncomplete(path, str(exc)) from None
            yield result, paginator.total

    def iter_pages(self, path: str, params: Mapping[str, str] | None = None) -> Iterator[Page]:
        """Every page of a listing with its total count (see :class:`HeaderCursorPaginator`)."""

        def parse(body: bytes, number: int) -> tuple[int, list[Any]]:
            items = parse_page(path, body, number)
            return len(items), items

        for number, (items, total) in enumerate(self.walk(path, params, parse), start=1):
            yield Page(items, total, number)

    def pages(self, path: str, params: dict[str, str]) -> Iterator[list[Any]]:
        """Each page's JSON array as-is."""
        for page in self.iter_pages(path, params):
            yield page.items

    def ping(self) -> bool:
        response = self._send("/ping", "GET", self.base_url + "/ping", auth=True)
        return response.status_code == 200


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


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a (decimal) number of seconds or an HTTP date; None if unusable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _secret(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "")
    if not value:
        raise ConfigError(f"{what}: environment variable {name} is not set")
    return value


# --- the snapshot ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _MappedPage:
    """One page of one endpoint, mapped."""

    count: int
    mapped: tuple[Any, ...]
    rejected: tuple[RejectedRow, ...]
    deferred: tuple[Any, ...] = ()  # agreements that need the unit list to be mapped
    other: int = 0  # agreements that are not about living in a unit
    digested: tuple[Digested, ...] = ()  # with a page memo: the items, known by their digests


def _code_version() -> bytes:
    """A digest of the code that turns page bytes into digests: a page memo made by other code
    is never used (a changed mapping maps every page again)."""
    digest = hashlib.blake2b(b"vera-page-summary/1", digest_size=16)
    for module in (model, addressing, register):
        digest.update(Path(module.__file__ or "").read_bytes())
    for path in (Path(__file__), Path(__file__).with_name("vera_mapping.py")):
        digest.update(path.read_bytes())
    return digest.digest()


_CODE_VERSION = _code_version()
_ENTITY = {UNITS: EntityKind.UNIT, RELATIONS: EntityKind.RESIDENT, AGREEMENTS: EntityKind.LEASE}


def page_key(endpoint: str, options: str, body: bytes) -> str:
    """The memo key of a page: its bytes, the endpoint, the mapping options and the code."""
    digest = hashlib.sha256(_CODE_VERSION)  # SHA-256: twice as fast as BLAKE2 with SHA-NI
    digest.update(f"{endpoint}\0{options}\0".encode())
    digest.update(body)
    return digest.hexdigest()


def _summary(page: _MappedPage) -> bytes:
    """What validation needs about a clean page's items (ids, hashes, references), as JSON."""
    items = [[d.key, d.digest, *d.refs] for d in page.digested]
    return orjson.dumps({"n": page.count, "o": page.other, "i": items})


class _LazyPage:
    """A page known from the memo: parsed and mapped only if one of its values is needed."""

    def __init__(
        self, endpoint: str, number: int, body: bytes, map_page: Callable[[list[Any]], _MappedPage]
    ) -> None:
        self._endpoint = endpoint
        self._number = number
        self._body: bytes | None = body
        self._map_page = map_page
        self._values: tuple[Any, ...] | None = None
        self._lock = threading.Lock()

    def values(self) -> tuple[Any, ...]:
        with self._lock:
            if self._values is None:
                assert self._body is not None
                page = self._map_page(parse_page(self._endpoint, self._body, self._number))
                if page.rejected or page.deferred:
                    raise DigestMismatch(
                        f"VERA {self._endpoint} page {self._number} no longer maps cleanly"
                    )
                self._values, self._body = page.mapped, None
            return self._values


def _from_summary(endpoint: str, summary: bytes, lazy: _LazyPage) -> _MappedPage:
    data = orjson.loads(summary)
    entity = _ENTITY[endpoint]
    new = Digested
    digested = tuple(
        [
            new(entity, item[0], item[1], tuple(item[2:]), None, lazy, index)
            for index, item in enumerate(data["i"])
        ]
    )
    return _MappedPage(int(data["n"]), (), (), (), int(data["o"]), digested)


class _Reader:
    """Shared state of one snapshot read: progress, a stop flag and the optional page memo."""

    def __init__(self, client: VeraClient, progress: Progress | None, memo: PageMemo | None = None):
        self.client = client
        self.progress = progress
        self.memo = memo
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def report(self, endpoint: str, seen: int, total: int | None) -> None:
        if self.progress is not None:
            with self._lock:
                self.progress(endpoint, seen, total)

    def read(
        self,
        endpoint: str,
        params: Mapping[str, str] | None,
        options: str,
        map_page: Callable[[list[Any]], _MappedPage],
    ) -> Iterator[tuple[_MappedPage, int | None]]:
        memo = self.memo
        entity = _ENTITY.get(endpoint)

        def handle(body: bytes, number: int) -> tuple[int, _MappedPage]:
            if memo is not None and entity is not None:
                return memoised(body, number, entity, memo)
            page = map_page(parse_page(endpoint, body, number))
            return page.count, page

        def memoised(
            body: bytes, number: int, entity: EntityKind, memo: PageMemo
        ) -> tuple[int, _MappedPage]:
            key = page_key(endpoint, options, body)
            summary = memo.get(key)
            if summary is not None:
                page = _from_summary(endpoint, summary, _LazyPage(endpoint, number, body, map_page))
                return page.count, page
            page = map_page(parse_page(endpoint, body, number))
            digested = tuple(digest_of(entity, value) for value in page.mapped)
            page = _MappedPage(page.count, (), page.rejected, page.deferred, page.other, digested)
            if not page.rejected and not page.deferred:  # only clean pages may be skipped
                memo.put(key, _summary(page))
            return page.count, page

        for page, total in self.client.walk(endpoint, params, handle):
            if self.stop.is_set():
                return
            yield page, total


def _map_unit_page(cluster_kind: str) -> Callable[[list[Any]], _MappedPage]:
    def mapper(item: Any) -> Unit:
        return map_unit(item, cluster_kind=cluster_kind)

    def map_page(items: list[Any]) -> _MappedPage:
        mapped, rejected = map_rows(EntityKind.UNIT, items, mapper, unit_id_of)
        return _MappedPage(len(items), tuple(mapped), tuple(rejected))

    return map_page


def _map_relation_page(items: list[Any]) -> _MappedPage:
    mapped, rejected = map_rows(EntityKind.RESIDENT, items, map_relation, relation_id_of)
    return _MappedPage(len(items), tuple(mapped), tuple(rejected))


def _map_agreement_page(items: list[Any]) -> _MappedPage:
    now: list[Any] = []
    deferred: list[Any] = []
    other = 0
    for item in items:
        if agreement_kind(item) is None:
            other += 1
        elif needs_unit_lookup(item):
            deferred.append(item)
        else:
            now.append(item)
    mapped, rejected = map_rows(EntityKind.LEASE, now, map_lease, lease_id_of)
    return _MappedPage(len(items), tuple(mapped), tuple(rejected), tuple(deferred), other)


@dataclass
class _Collected:
    mapped: list[Any] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    deferred: list[Any] = field(default_factory=list)
    digested: list[Digested] = field(default_factory=list)
    other: int = 0

    def add(self, page: _MappedPage) -> None:
        self.mapped += page.mapped
        self.rejected += page.rejected
        self.deferred += page.deferred
        self.digested += page.digested
        self.other += page.other


def _read_units(reader: _Reader, complexes: list[str], cluster_kind: str) -> _Collected:
    result = _Collected()
    selections = [cluster_params(code, cluster_kind) for code in complexes] or [{}]
    map_page = _map_unit_page(cluster_kind)
    seen = 0
    for params in selections:
        for page, total in reader.read(UNITS, params, cluster_kind, map_page):
            result.add(page)
            seen += page.count
            reader.report(UNITS, seen, total if len(selections) == 1 else None)
    return result


def _read_all(
    reader: _Reader, endpoint: str, map_page: Callable[[list[Any]], _MappedPage]
) -> _Collected:
    result = _Collected()
    seen = 0
    for page, total in reader.read(endpoint, None, "", map_page):
        result.add(page)
        seen += page.count
        reader.report(endpoint, seen, total)
    return result


def read_snapshot(
    client: VeraClient,
    complexes: list[str],
    *,
    cluster_kind: str = "FIN",
    progress: Progress | None = None,
    memo: PageMemo | None = None,
) -> Snapshot:
    """Units of ``complexes`` (all units when empty), all relations and agreements, mapped.

    The three endpoints are paged concurrently; each page is mapped as it arrives. Rows that
    cannot be used are in ``Snapshot.rejected``; agreements that are not about living in a unit
    (maintenance, service, ...) count as out of scope. Raises :class:`SnapshotIncomplete` or
    :class:`VeraError` when any endpoint fails: then nothing of this snapshot may be applied.
    ``progress(endpoint, items_so_far, total_or_None)`` is called after each page, from worker
    threads but never concurrently.

    ``memo`` (the sync's page memo, from the store) skips parsing and mapping of pages it
    knows; the items then arrive in ``Snapshot.digested`` (all of them, known or mapped, so
    that validation need not hash them again).
    """
    reader = _Reader(client, progress, memo)
    with _gc_paused():
        return _read(reader, complexes, cluster_kind)


class _GcPause:
    """Pause the cyclic garbage collector while snapshots build up their objects.

    Hundreds of thousands of new, acyclic objects make CPython run full collections over and
    over (measured: a quarter of the read time for 80,000 units). Reference counting still
    frees everything; the collector is switched back on when the last reader finishes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._readers = 0
        self._was_enabled = True

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._readers == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._readers += 1
        try:
            yield
        finally:
            with self._lock:
                self._readers -= 1
                if self._readers == 0 and self._was_enabled:
                    gc.enable()


_gc_paused = _GcPause()


def _read(reader: _Reader, complexes: list[str], cluster_kind: str) -> Snapshot:
    def guarded(fn: Callable[..., _Collected], *args: Any) -> _Collected:
        try:
            return fn(reader, *args)
        except BaseException:
            reader.stop.set()  # the others stop after their current page
            raise

    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="vera") as pool:
        futures = (
            pool.submit(guarded, _read_units, complexes, cluster_kind),
            pool.submit(guarded, _read_all, RELATIONS, _map_relation_page),
            pool.submit(guarded, _read_all, AGREEMENTS, _map_agreement_page),
        )
        for future in futures:  # a failure wins; the others stop after their current page
            error = future.exception()
            if error is not None:
                raise error
        units, relations, agreements = (future.result() for future in futures)

    leases: list[Lease] = agreements.mapped
    rejected = units.rejected + relations.rejected + agreements.rejected
    if agreements.deferred:
        unit_codes = {unit.vera_id: unit.code for unit in units.mapped if unit.vera_id}
        unit_codes.update((d.refs[0], d.key) for d in units.digested if d.refs[0])

        def lease_with_units(item: Any) -> Lease:
            return map_lease(item, unit_codes=unit_codes)

        mapped, bad = map_rows(EntityKind.LEASE, agreements.deferred, lease_with_units, lease_id_of)
        leases += mapped
        rejected += bad
    residents: list[Resident] = relations.mapped
    return Snapshot(
        source="vera",
        units=units.mapped,
        residents=residents,
        leases=leases,
        rejected=rejected,
        out_of_scope=agreements.other,
        digested=units.digested + relations.digested + agreements.digested,
    )
