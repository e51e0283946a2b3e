"""A fake VERA server: real HTTP on 127.0.0.1 that speaks the VERA paging and auth contract.

This module owns :class:`FakeVeraServer`, used by the tests, the demo and the benchmark. It
serves a :class:`~connectors.fakes.vera_data.VeraDataset` at ``/eenheden`` (filterable by
cluster), ``/relaties`` and ``/overeenkomsten`` as bare JSON arrays of at most 100 items, with
the headers ``X-Parameters-Cursor`` / ``-Aantal`` / ``-AantalPerPagina`` / ``-Pagina``; it also
answers ``/ping`` and an OAuth2 client-credentials token endpoint (``POST /oauth/token``).

The cluster filter follows the contract's ``params`` query object (style form, explode) over
``Eenheden-Eenheid``: its ``clusters`` array of ``{code, soort: {code}}`` is written with dotted
keys, ``?clusters.code=CPX-0001&clusters.soort.code=FIN`` (``clusters.code`` may repeat).

Faults can be switched on while it runs (``server.faults.add(Fault(...))``): an HTTP error status,
a timeout, 429 with ``Retry-After``, malformed rows, a truncated page and a cursor loop, each on
the Nth request to an endpoint or on a given page, once, a few times or always. Requests are
counted per path in ``server.requests``.

Run it standalone: ``python -m connectors.fakes.vera_server --units 80000 --port 8081``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import json
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from connectors.fakes.vera_data import Item, VeraDataset, generate_dataset

ENDPOINTS = ("/eenheden", "/relaties", "/overeenkomsten")
MAX_PAGE_SIZE = 100
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path, not a secret

FaultKind = Literal["status", "timeout", "retry_after", "malformed", "truncated", "cursor_loop"]

DEFAULT_MALFORMED_ROWS: tuple[Any, ...] = ("not an object", 42, None, [1, 2])


@dataclass
class Fault:
    """One switchable fault.

    It fires on requests to ``endpoint`` (any list endpoint when None) that match ``page``
    (1-based page of the listing) and/or ``request_number`` (the Nth request to that endpoint,
    counted from server start or the last ``reset_counts``); it fires ``times`` times, or always
    when ``times`` is None.

    - ``status``: answer with HTTP ``status`` (500 by default) and a Foutbericht body;
    - ``timeout``: sleep ``delay`` seconds before answering (set it above the client timeout);
    - ``retry_after``: answer 429 with ``Retry-After: retry_after``;
    - ``malformed``: replace the first items of the page with ``rows``;
    - ``truncated``: send only the first half of the JSON body (valid HTTP, invalid JSON);
    - ``cursor_loop``: return the cursor of the current page as the next cursor.
    """

    kind: FaultKind
    endpoint: str | None = None
    page: int | None = None
    request_number: int | None = None
    times: int | None = 1
    status: int = 500
    delay: float = 2.0
    retry_after: str = "0"
    rows: tuple[Any, ...] = DEFAULT_MALFORMED_ROWS
    fired: int = 0

    def matches(self, endpoint: str, page: int, request_number: int) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.endpoint is not None and self.endpoint.rstrip("/") != endpoint:
            return False
        if self.page is not None and self.page != page:
            return False
        return self.request_number is None or self.request_number == request_number


@dataclass
class Faults:
    """The faults switched on; safe to change from the test thread while the server runs."""

    active: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.active.append(fault)
        return fault

    def set(self, *faults: Fault) -> None:
        """Replace all faults by these (none: switch faults off)."""
        with self._lock:
            self.active = list(faults)

    def clear(self) -> None:
        self.set()

    def take(self, endpoint: str, page: int, request_number: int) -> list[Fault]:
        """The faults that fire for this request; each one counts as fired."""
        with self._lock:
            hits = [f for f in self.active if f.matches(endpoint, page, request_number)]
            for fault in hits:
                fault.fired += 1
            return hits


class _ClusterIndex:
    """Units by (cluster code, cluster soort), rebuilt when the unit list visibly changes."""

    def __init__(self) -> None:
        self._key: tuple[int, int, int, int] | None = None
        self._index: dict[tuple[str, str], list[int]] = {}
        self._lock = threading.Lock()

    def lookup(self, dataset: VeraDataset, codes: list[str], kind: str) -> list[Item]:
        units = dataset.units
        key = (
            dataset.version,
            len(units),
            id(units[0]) if units else 0,
            id(units[-1]) if units else 0,
        )
        with self._lock:
            if key != self._key:
                self._index = self._build(units)
                self._key = key
            if len(codes) == 1 and kind:
                positions = self._index.get((codes[0], kind), [])
            else:
                wanted = set(codes)
                found = {
                    pos
                    for (code, soort), where in self._index.items()
                    if code in wanted and (not kind or soort == kind)
                    for pos in where
                }
                positions = sorted(found)
        return [units[pos] for pos in positions if pos < len(units)]

    @staticmethod
    def _build(units: list[Item]) -> dict[tuple[str, str], list[int]]:
        index: dict[tuple[str, str], list[int]] = {}
        for pos, unit in enumerate(units):
            clusters = unit.get("clusters") if isinstance(unit, dict) else None
            for cluster in clusters if isinstance(clusters, list) else ():
                if not isinstance(cluster, dict):
                    continue
                soort = cluster.get("soort")
                kind = str(soort.get("code", "")) if isinstance(soort, dict) else ""
                index.setdefault((str(cluster.get("code", "")), kind), []).append(pos)
        return index


def _encode_cursor(endpoint: str, offset: int, filter_key: str) -> str:
    raw = f"{endpoint}|{offset}|{filter_key}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(token: str) -> tuple[str, int, str]:
    padded = token + "=" * (-len(token) % 4)
    endpoint, offset, filter_key = base64.urlsafe_b64decode(padded).decode().split("|", 2)
    return endpoint, int(offset), filter_key


class FakeVeraServer:
    """The fake VERA API on 127.0.0.1. Use as a context manager or call ``start``/``stop``.

    Auth: with ``api_key`` set, requests must carry ``X-API-KEY``; with ``client_id`` and
    ``client_secret`` set, bearer tokens from ``POST /oauth/token`` are accepted too (tokens live
    ``token_ttl`` seconds; ``revoke_tokens()`` makes the next request fail with 401). With
    neither, no auth is asked. ``cursors=False`` plays an ERP that pages by number only.

    ``cache_pages=True`` keeps each page's serialised body per dataset version, as an ERP with
    a response cache would; use it only while nobody edits the dataset in place (the standalone
    server and the benchmark), or call ``dataset.touch()`` after each edit.
    """

    def __init__(
        self,
        dataset: VeraDataset,
        *,
        api_key: str | None = "test-key",
        client_id: str | None = None,
        client_secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token_ttl: float = 3600.0,
        cursors: bool = True,
        cache_pages: bool = False,
    ) -> None:
        self.dataset = dataset
        self.cache_pages = cache_pages
        self._pages: dict[tuple[Any, ...], bytes] = {}
        self.api_key = api_key
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.cursors = cursors  # False: an ERP that only pages by number (?pagina=N)
        self.faults = Faults()
        self.requests: Counter[str] = Counter()
        self.tokens_issued = 0
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self._index = _ClusterIndex()
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> FakeVeraServer:
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(self._address, handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeVeraServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake VERA server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    # --- state helpers for tests ---

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def _count(self, path: str) -> int:
        with self._lock:
            self.requests[path] += 1
            return self.requests[path]

    def _issue_token(self) -> tuple[str, float]:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl
            self.tokens_issued += 1
        return token, self.token_ttl

    def _token_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    def serialise(self, page: list[Item], where: tuple[Any, ...], *, cached: bool) -> bytes:
        """A page as its JSON body; kept per dataset version with ``cache_pages``."""
        if not (self.cache_pages and cached):
            return json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode()
        key = (self.dataset.version, *where)
        body = self._pages.get(key)
        if body is None:
            body = json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode()
            with self._lock:
                if len(self._pages) > 100_000:  # a bound, not a policy: start over
                    self._pages.clear()
                self._pages[key] = body
        return body

    def listing(self, endpoint: str, query: dict[str, list[str]]) -> tuple[list[Item], str]:
        """The items a list request selects, and a key that identifies the filter."""
        items = self.dataset.items(endpoint)
        if endpoint != "/eenheden":
            return items, ""
        codes = [c for c in query.get("clusters.code", []) if c]
        kind = (query.get("clusters.soort.code") or [""])[0]
        if not codes:
            if kind:  # every unit in a cluster of this kind
                return [u for u in items if _has_cluster_kind(u, kind)], f"*:{kind}"
            return items, ""
        return self._index.lookup(self.dataset, codes, kind), f"{','.join(codes)}:{kind}"


def _has_cluster_kind(unit: Any, kind: str) -> bool:
    if not isinstance(unit, dict):
        return False
    for cluster in unit.get("clusters") or ():
        if isinstance(cluster, dict) and (cluster.get("soort") or {}).get("code") == kind:
            return True
    return False


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVeraServer
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server_version = "FakeVERA/4.3"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read counters
        return

    # --- plumbing ---

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            self.close_connection = True

    def _error(
        self, status: int, code: str, text: str, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps({"code": code, "omschrijving": text}).encode()
        self._send(status, body, headers)

    def _authorised(self) -> bool:
        fake = self.fake
        if fake.api_key is None and fake.client_id is None:
            return True
        key = self.headers.get("X-API-KEY")
        if (
            fake.api_key is not None
            and key is not None
            and secrets.compare_digest(key, fake.api_key)
        ):
            return True
        auth = self.headers.get("Authorization", "")
        if fake.client_id is not None and auth.startswith("Bearer "):
            return fake._token_valid(auth.removeprefix("Bearer ").strip())
        return False

    # --- routes ---

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        if path == "/ping":
            self.fake._count(path)
            self._send(200, b"")
            return
        if path not in ENDPOINTS:
            self._error(404, "404", "onbekende resource")
            return
        number = self.fake._count(path)
        if not self._authorised():
            self._error(401, "401", "niet geautoriseerd")
            return
        self._list(path, query, number)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if path != TOKEN_PATH:
            self._error(405, "405", "alleen lezen")
            return
        self.fake._count(path)
        self._token(parse_qs(body))

    def _token(self, form: dict[str, list[str]]) -> None:
        fake = self.fake
        client_id = (form.get("client_id") or [""])[0]
        client_secret = (form.get("client_secret") or [""])[0]
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            with contextlib.suppress(ValueError):
                client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if (form.get("grant_type") or [""])[0] != "client_credentials":
            body = json.dumps({"error": "unsupported_grant_type"}).encode()
            self._send(400, body)
            return
        if (
            fake.client_id is None
            or fake.client_secret is None
            or client_id != fake.client_id
            or not secrets.compare_digest(client_secret, fake.client_secret)
        ):
            self._send(401, json.dumps({"error": "invalid_client"}).encode())
            return
        token, ttl = fake._issue_token()
        scope = (form.get("scope") or [""])[0]
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": scope}
        self._send(200, json.dumps(answer).encode(), {"Cache-Control": "no-store"})

    def _list(self, endpoint: str, query: dict[str, list[str]], number: int) -> None:
        fake = self.fake
        try:
            size = int(self.headers.get("X-Parameters-AantalPerPagina") or MAX_PAGE_SIZE)
        except ValueError:
            self._error(400, "400", "X-Parameters-AantalPerPagina is geen getal")
            return
        size = max(1, min(size, MAX_PAGE_SIZE))
        items, filter_key = fake.listing(endpoint, query)
        cursor = (query.get("cursor") or [""])[0]
        if cursor:
            try:
                cursor_endpoint, offset, cursor_filter = _decode_cursor(cursor)
            except (ValueError, UnicodeDecodeError):
                self._error(400, "400", "ongeldige cursor")
                return
            if cursor_endpoint != endpoint or cursor_filter != filter_key:
                self._error(400, "400", "cursor hoort niet bij deze vraag")
                return
        else:
            page_text = (query.get("pagina") or [self.headers.get("X-Parameters-Pagina") or "1"])[0]
            try:
                offset = (max(1, int(page_text)) - 1) * size
            except ValueError:
                self._error(400, "400", "pagina is geen getal")
                return
        page_number = offset // size + 1
        total = len(items)
        page = list(items[offset : offset + size])
        next_offset = offset + len(page)
        headers = {
            "X-Parameters-Aantal": str(total),
            "X-Parameters-AantalPerPagina": str(size),
            "X-Parameters-Pagina": str(page_number),
        }
        truncated = malformed = False
        for fault in fake.faults.take(endpoint, page_number, number):
            if fault.kind == "status":
                self._error(fault.status, str(fault.status), "storing (nagebootst)")
                return
            if fault.kind == "retry_after":
                self._error(429, "429", "te veel verzoeken", {"Retry-After": fault.retry_after})
                return
            if fault.kind == "timeout":
                time.sleep(fault.delay)
            elif fault.kind == "malformed":
                malformed = True
                rows = list(fault.rows)
                page[: len(rows)] = rows
            elif fault.kind == "truncated":
                truncated = True
            elif fault.kind == "cursor_loop":
                headers["X-Parameters-Cursor"] = cursor or _encode_cursor(
                    endpoint, offset, filter_key
                )
        if fake.cursors and "X-Parameters-Cursor" not in headers and page and next_offset < total:
            headers["X-Parameters-Cursor"] = _encode_cursor(endpoint, next_offset, filter_key)
        body = fake.serialise(page, (endpoint, filter_key, offset, size), cached=not malformed)
        if truncated:
            body = body[: max(1, len(body) // 2)]
        self._send(200, body, headers)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - exercised by hand / bench
    parser = argparse.ArgumentParser(description="Run the fake VERA server standalone.")
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--complexes", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--api-key", default=None, help="require this X-API-KEY (default: none)")
    parser.add_argument("--client-id", default=None)
    parser.add_argument("--client-secret", default=None)
    args = parser.parse_args(argv)
    dataset = generate_dataset(args.units, seed=args.seed, complexes=args.complexes)
    # The dataset lives as long as the process: keep the cyclic GC from rescanning it on every
    # collection (with 80,000 units that cost more than serving the pages).
    gc.freeze()
    server = FakeVeraServer(
        dataset,
        api_key=args.api_key,
        client_id=args.client_id,
        client_secret=args.client_secret,
        host=args.host,
        port=args.port,
        cache_pages=True,  # nobody edits the dataset of a standalone server
    ).start()
    print(server.url, flush=True)
    print(
        f"{len(dataset.units)} units, {len(dataset.relations)} relations, "
        f"{len(dataset.leases)} agreements; Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
