"""A fake VERA server: real HTTP on 127.0.0.1 that speaks the VERA paging and auth contract.

This module owns :class:`FakeVeraServer`, used by the tests, the demo and the benchmark. It
serves a :class:`~connectors.fakes.vera_data.VeraDataset` at ``/eenheden`` (filterable by
cluster), ``/relaties`` and ``/overeenkomsten`` as bare JSON arrays of at most 100 items, with
the headers ``X-Parameters-Cursor`` / ``-Aantal`` / ``-AantalPerPagina`` / ``-Pagina``; it also
answers ``/ping`` and an OAuth2 client-credentials token endpoint (``POST /oauth/token``). The
server itself (threads, request counts, fault rules) is :class:`~connectors.fakes._server.FakeServer`.

It also takes writes back from Keukentafel (issue 15): ``POST /contactmomenten`` (BRG),
``POST /afspraken`` and ``PUT /afspraken/{id}`` (OHD), and lists them with ``?idExtern=``. A
write is idempotent by its key (``idExtern``, or the ``X-Stuurgegevens-Referentienummer``
header): a repeated POST answers with the entity made the first time. ``drop_after_write = N``
makes the next N writes execute and then drop the connection (an answer lost on the way back).

The cluster filter follows the contract's ``params`` query object (style form, explode) over
``Eenheden-Eenheid``: its ``clusters`` array of ``{code, soort: {code}}`` is written with dotted
keys, ``?clusters.code=CPX-0001&clusters.soort.code=FIN`` (``clusters.code`` may repeat).

Faults can be switched on while it runs (``server.faults.add(Fault(...))``): an HTTP error status,
a timeout, 429 with ``Retry-After``, malformed rows, a truncated page and a cursor loop, each on
the Nth request to an endpoint or on a given page, once, a few times or always. The base's own
:class:`~connectors.fakes._server.Fault` works too (a dropped connection, say). Requests are
counted per path in ``server.requests``.

Run it standalone: ``python -m connectors.fakes.vera_server --units 80000 --port 8081``; the
data's shape is chosen with ``--complexes N``, ``--refs code|id|mixed`` and
``--units-per-agreement N`` (see :func:`~connectors.fakes.vera_data.reshape`).
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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from connectors.fakes._server import Answer, Call, FakeServer, Request
from connectors.fakes._server import Fault as BaseFault
from connectors.fakes.vera_data import UNIT_REFS, Item, VeraDataset, generate_dataset

ENDPOINTS = ("/eenheden", "/relaties", "/overeenkomsten")
WRITE_ENDPOINTS = ("/contactmomenten", "/afspraken")
MAX_PAGE_SIZE = 100
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path, not a secret

FaultKind = Literal["status", "timeout", "retry_after", "malformed", "truncated", "cursor_loop"]

DEFAULT_MALFORMED_ROWS: tuple[Any, ...] = ("not an object", 42, None, [1, 2])


@dataclass(frozen=True)
class PageCall(Call):
    """A list request, as faults see it: ``page`` is the 1-based page of the listing."""

    page: int = 1


@dataclass(kw_only=True, init=False)
class Fault(BaseFault):
    """One switchable fault, in VERA's terms.

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
    page: int | None = None
    rows: tuple[Any, ...] = DEFAULT_MALFORMED_ROWS

    def __init__(
        self,
        kind: FaultKind,
        endpoint: str | None = None,
        page: int | None = None,
        request_number: int | None = None,
        times: int | None = 1,
        status: int = 500,
        delay: float = 2.0,
        retry_after: str = "0",
        rows: tuple[Any, ...] = DEFAULT_MALFORMED_ROWS,
    ) -> None:
        super().__init__(
            path=endpoint,
            request_number=request_number,
            times=times,
            status={"status": status, "retry_after": 429}.get(kind),
            retry_after=retry_after if kind == "retry_after" else None,
            delay=delay if kind == "timeout" else 0.0,
            truncate=kind == "truncated",
        )
        self.kind = kind
        self.page = page
        self.rows = rows

    @property
    def endpoint(self) -> str | None:
        return self.path

    def accepts(self, call: Call) -> bool:
        if not isinstance(call, PageCall):  # only list requests have faults in VERA terms
            return False
        return self.page is None or self.page == call.page


class _ClusterIndex:
    """Units by (cluster code, cluster soort), rebuilt when the unit list visibly changes."""

    def __init__(self) -> None:
        self._key: tuple[int, int, int, int] | None = None
        self._index: dict[tuple[str, str], list[int]] = {}
        self._selections: dict[tuple[tuple[str, ...], str], list[Item]] = {}
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
                self._selections = {}
                self._key = key
            selection = (tuple(codes), kind)
            cached = self._selections.get(selection)
            if cached is not None:  # every page of a listing asks again: one complex of 80,000
                return cached  # units cost more to select than to serve
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
            result = [units[pos] for pos in positions if pos < len(units)]
            self._selections[selection] = result
            return result

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


def _has_cluster_kind(unit: Any, kind: str) -> bool:
    if not isinstance(unit, dict):
        return False
    for cluster in unit.get("clusters") or ():
        if isinstance(cluster, dict) and (cluster.get("soort") or {}).get("code") == kind:
            return True
    return False


@dataclass
class _Page:
    """One page of a listing, as the request selected it (before faults)."""

    endpoint: str
    filter_key: str
    cursor: str  # the cursor the request carried ("" for the first page or paging by number)
    offset: int
    size: int
    items: list[Item]  # the whole listing

    @property
    def number(self) -> int:
        return self.offset // self.size + 1


class FakeVeraServer(FakeServer):
    """The fake VERA API on 127.0.0.1. Use as a context manager or call ``start``/``stop``.

    Auth: with ``api_key`` set, requests must carry ``X-API-KEY``; with ``client_id`` and
    ``client_secret`` set, bearer tokens from ``POST /oauth/token`` are accepted too (tokens live
    ``token_ttl`` seconds; ``revoke_tokens()`` makes the next request fail with 401). With
    neither, no auth is asked. ``cursors=False`` plays an ERP that pages by number only.

    ``cache_pages=True`` keeps each page's serialised body per dataset version, as an ERP with
    a response cache would; use it only while nobody edits the dataset in place (the standalone
    server and the benchmark), or call ``dataset.touch()`` after each edit.
    """

    server_version = "FakeVERA/4.3"
    thread_name = "fake-vera"

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
        keep_log: bool = True,
    ) -> None:
        super().__init__(host=host, port=port, keep_log=keep_log)
        self.dataset = dataset
        self.cache_pages = cache_pages
        self._pages: dict[tuple[Any, ...], bytes] = {}
        self.api_key = api_key
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.cursors = cursors  # False: an ERP that only pages by number (?pagina=N)
        self.tokens_issued = 0
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self._index = _ClusterIndex()
        self.router.add("GET", "/ping/?", self._ping)
        self.router.add("POST", TOKEN_PATH, self._token)
        for endpoint in ENDPOINTS:
            self.router.add("GET", endpoint + "/?", self._list)
        # the write API (contact moments and appointments back from Keukentafel)
        self.written: dict[str, dict[str, dict[str, Any]]] = {path: {} for path in WRITE_ENDPOINTS}
        self.drop_after_write = 0
        for path in WRITE_ENDPOINTS:
            self.router.add("POST", path + "/?", self._create)
            self.router.add("GET", path + "/?", self._written_list)
        self.router.add("PUT", r"/afspraken/([^/]+)", self._replace)

    @property
    def token_url(self) -> str:
        return self.url + TOKEN_PATH

    # --- state helpers for tests ---

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

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

    # --- the protocol ---

    def error(self, status: int, message: str) -> Answer:
        """A VERA Foutbericht."""
        return Answer(status, json.dumps({"code": str(status), "omschrijving": message}).encode())

    def fault_error(self, fault: BaseFault, call: Call) -> Answer:
        if fault.status == 429:
            return self.error(429, "te veel verzoeken")
        if fault.status is None:
            return super().fault_error(fault, call)
        return self.error(fault.status, "storing (nagebootst)")

    def handle(self, request: Request) -> Answer:
        """Routes; faults in VERA's terms apply to the list endpoints only (:meth:`_list`), plain
        :class:`~connectors.fakes._server.Fault` rules (a redirect) to the token endpoint too."""
        if request.path == TOKEN_PATH:
            return self.faulted(request.call(), lambda fired: self._token(request))
        routed = self.router.resolve(request.method, request.path)
        if routed is not None:
            return routed.handler(request, *routed.groups)
        if request.method == "GET":
            return self.error(404, "onbekende resource")
        return self.error(405, "alleen lezen")

    def _authorised(self, request: Request) -> bool:
        if self.api_key is None and self.client_id is None:
            return True
        key = request.headers.get("x-api-key")
        if (
            self.api_key is not None
            and key is not None
            and secrets.compare_digest(key, self.api_key)
        ):
            return True
        auth = request.header("Authorization")
        if self.client_id is not None and auth.startswith("Bearer "):
            return self._token_valid(auth.removeprefix("Bearer ").strip())
        return False

    def _ping(self, request: Request) -> Answer:
        return Answer(200, b"")

    def _token(self, request: Request) -> Answer:
        form = request.form()
        client_id = (form.get("client_id") or [""])[0]
        client_secret = (form.get("client_secret") or [""])[0]
        auth = request.header("Authorization")
        if auth.startswith("Basic "):
            with contextlib.suppress(ValueError):
                client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if (form.get("grant_type") or [""])[0] != "client_credentials":
            return Answer(400, {"error": "unsupported_grant_type"})
        if (
            self.client_id is None
            or self.client_secret is None
            or client_id != self.client_id
            or not secrets.compare_digest(client_secret, self.client_secret)
        ):
            return Answer(401, {"error": "invalid_client"})
        token, ttl = self._issue_token()
        scope = (form.get("scope") or [""])[0]
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": scope}
        return Answer(200, answer, {"Cache-Control": "no-store"})

    # --- the write API ---

    def _key_of(self, request: Request, body: dict[str, Any]) -> str:
        return str(body.get("idExtern") or request.header("X-Stuurgegevens-Referentienummer"))

    def _stored(self, answer: Answer) -> Answer:
        """The answer of an executed write; dropped on the way back when asked to."""
        with self._lock:
            if self.drop_after_write > 0:
                self.drop_after_write -= 1
                return Answer(0, drop=True)
        return answer

    def _create(self, request: Request) -> Answer:
        if not self._authorised(request):
            return self.error(401, "niet geautoriseerd")
        try:
            body = request.json()
        except ValueError:
            return self.error(400, "geen geldige JSON")
        if not isinstance(body, dict):
            return self.error(400, "verwacht een object")
        path = "/" + request.path.strip("/")
        key = self._key_of(request, body)
        with self._lock:
            store = self.written[path]
            existing = next((e for e in store.values() if key and e.get("idExtern") == key), None)
            if existing is not None:  # the same write again: nothing new
                return Answer(200, dict(existing))
            entity = {**body, "id": f"{path.strip('/')[:3].upper()}-{len(store) + 1:06d}"}
            if key:
                entity["idExtern"] = key
            store[entity["id"]] = entity
        return self._stored(
            Answer(201, dict(entity), {"Location": f"{self.url}{path}/{entity['id']}"})
        )

    def _replace(self, request: Request, entity_id: str) -> Answer:
        if not self._authorised(request):
            return self.error(401, "niet geautoriseerd")
        try:
            body = request.json()
        except ValueError:
            return self.error(400, "geen geldige JSON")
        with self._lock:
            store = self.written["/afspraken"]
            if entity_id not in store or not isinstance(body, dict):
                return self.error(404, "afspraak niet gevonden")
            store[entity_id] = {**body, "id": entity_id}
            entity = dict(store[entity_id])
        return self._stored(Answer(200, entity))

    def _written_list(self, request: Request) -> Answer:
        if not self._authorised(request):
            return self.error(401, "niet geautoriseerd")
        path = "/" + request.path.strip("/")
        key = request.param("idExtern")
        with self._lock:
            items = [dict(e) for e in self.written[path].values()]
        if key:
            items = [e for e in items if e.get("idExtern") == key]
        return Answer(200, items[:MAX_PAGE_SIZE], {"X-Parameters-Aantal": str(len(items))})

    def _list(self, request: Request) -> Answer:
        """A page of a listing: auth, then the page the request asks for, then faults."""
        if not self._authorised(request):
            return self.error(401, "niet geautoriseerd")
        page = self._select_page(request)
        if isinstance(page, Answer):
            return page
        call = PageCall(request.method, page.endpoint, request.query, request.number, page.number)
        return self.faulted(call, lambda fired: self._page_answer(page, fired))

    def _select_page(self, request: Request) -> _Page | Answer:
        """The page a list request selects (by cursor or by number), or a 400 answer."""
        endpoint = request.path.rstrip("/")
        try:
            size = int(request.header("X-Parameters-AantalPerPagina") or MAX_PAGE_SIZE)
        except ValueError:
            return self.error(400, "X-Parameters-AantalPerPagina is geen getal")
        size = max(1, min(size, MAX_PAGE_SIZE))
        items, filter_key = self.listing(endpoint, request.params)
        cursor = request.param("cursor")
        if cursor:
            try:
                cursor_endpoint, offset, cursor_filter = _decode_cursor(cursor)
            except (ValueError, UnicodeDecodeError):
                return self.error(400, "ongeldige cursor")
            if cursor_endpoint != endpoint or cursor_filter != filter_key:
                return self.error(400, "cursor hoort niet bij deze vraag")
        else:
            by_header = request.header("X-Parameters-Pagina") or "1"
            page_text = (request.params.get("pagina") or [by_header])[0]
            try:
                offset = (max(1, int(page_text)) - 1) * size
            except ValueError:
                return self.error(400, "pagina is geen getal")
        return _Page(endpoint, filter_key, cursor, offset, size, items)

    def _page_answer(self, page: _Page, fired: Sequence[BaseFault]) -> Answer:
        """The page with its paging headers; malformed rows and cursor loops applied."""
        rows = list(page.items[page.offset : page.offset + page.size])
        headers = {
            "X-Parameters-Aantal": str(len(page.items)),
            "X-Parameters-AantalPerPagina": str(page.size),
            "X-Parameters-Pagina": str(page.number),
        }
        malformed = False
        for fault in fired:
            if isinstance(fault, Fault) and fault.kind == "malformed":
                malformed = True
                rows[: len(fault.rows)] = list(fault.rows)
            elif isinstance(fault, Fault) and fault.kind == "cursor_loop":
                headers["X-Parameters-Cursor"] = page.cursor or _encode_cursor(
                    page.endpoint, page.offset, page.filter_key
                )
        next_offset = page.offset + len(rows)
        if (
            self.cursors
            and "X-Parameters-Cursor" not in headers
            and rows
            and next_offset < len(page.items)
        ):
            headers["X-Parameters-Cursor"] = _encode_cursor(
                page.endpoint, next_offset, page.filter_key
            )
        where = (page.endpoint, page.filter_key, page.offset, page.size)
        return Answer(200, self.serialise(rows, where, cached=not malformed), headers)


def milliseconds(text: str) -> float:
    """A command-line number of milliseconds: zero or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of milliseconds: {text!r}") from None
    if not value >= 0:  # also NaN
        raise argparse.ArgumentTypeError(f"milliseconds must be 0 or more, not {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Run the fake VERA server standalone.")
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--complexes", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--refs",
        choices=UNIT_REFS,
        default="code",
        help="how agreements name their units: id and code, ERP id only, or half and half",
    )
    parser.add_argument(
        "--units-per-agreement",
        type=int,
        default=1,
        help="units each agreement names (the extra ones are parking spaces not listed)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--api-key", default=None, help="require this X-API-KEY (default: none)")
    parser.add_argument("--client-id", default=None)
    parser.add_argument("--client-secret", default=None)
    parser.add_argument(
        "--latency-ms",
        type=milliseconds,
        default=0.0,
        help="answer every page this many milliseconds late, as an ERP across a network does "
        "(its round trip and its own work per page); default: at once",
    )
    return parser


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - exercised by hand / bench
    args = _parser().parse_args(argv)
    dataset = generate_dataset(
        args.units,
        seed=args.seed,
        complexes=args.complexes,
        refs=args.refs,
        units_per_agreement=args.units_per_agreement,
    )
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
        keep_log=False,  # it may serve for days: count, but keep no log
    ).start()
    if args.latency_ms > 0:  # a slow answer on every page, however many requests run at once
        server.faults.add(Fault("timeout", times=None, delay=args.latency_ms / 1000))
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
