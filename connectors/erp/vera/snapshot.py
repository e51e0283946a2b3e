"""The register snapshot read from VERA: three endpoints in parallel, each page mapped as it arrives.

:func:`read_snapshot` pulls units, relations and agreements concurrently (one thread each) with a
:class:`~connectors.erp.vera.client.VeraClient` and maps each page with the pure functions in
:mod:`connectors.erp.vera.mapping`; JSON is parsed with orjson. The caller (the sync use case)
pauses the cyclic garbage collector around the read: it makes hundreds of thousands of small
objects and no cycles.

A page whose bytes did not change since a successful run is not parsed or mapped at all: with a
page memo (:class:`PageSummaries`; the sync use case loads one from the store and saves it again,
so it survives the process) each page's item ids, content hashes and references are kept by a key
made of the page's bytes and of the mapping code, and such a page's items reach the snapshot as
:class:`~keukentafel.domain.register.digests.Digested` items whose values are mapped only when
needed. Pages with rows kept aside are always mapped. A page of agreements that need the unit
list (several units, or units named by ERP id only) is kept as bytes until the units are read,
then mapped with the unit codes by ERP id (dictionary look-ups: linear in the agreements); its
summary is kept under its key plus a digest of the unit list, so it is mapped again only when its
bytes or the unit list change.
``Snapshot.stats`` counts the pages read and the pages parsed per endpoint.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from connectors.erp.vera.client import (
    AGREEMENTS,
    RELATIONS,
    UNITS,
    VeraClient,
    cluster_params,
    parse_page,
)
from connectors.erp.vera.mapping import (
    agreement_kind,
    lease_id_of,
    map_lease,
    map_relation,
    map_unit,
    names_unknown_units_only,
    needs_unit_lookup,
    relation_id_of,
    unit_id_of,
)
from connectors.http import HeaderCursorPaginator
from keukentafel.domain.model import Lease, Resident, Unit
from keukentafel.domain.register.digests import Digested, DigestMismatch, digest_of
from keukentafel.domain.register.rejects import EntityKind, RejectedRow, map_rows
from keukentafel.domain.register.snapshot import Snapshot, SnapshotStats

Progress = Callable[[str, int, int | None], None]

#: The code that turns a page's bytes into its summary. A memo made by other code is never used:
#: a change to any of these maps every page again. The client, validation, the diff and the shrink
#: guard are not here: they do not change what a page's summary says, so editing them keeps the
#: memo. (This module is, because it holds the page mappers and the summary's format.)
SUMMARY_CODE = (
    "connectors.erp.vera.mapping",
    "connectors.erp.vera.snapshot",
    "connectors.email_addresses",
    "keukentafel.domain.cleaning",
    "keukentafel.domain.model",
    "keukentafel.domain.addressing",
    "keukentafel.domain.register.rejects",
    "keukentafel.domain.register.hashing",
    "keukentafel.domain.register.digests",
)
_SUMMARY_FORMAT = b"vera-page-summary/2"
_ENTITY = {UNITS: EntityKind.UNIT, RELATIONS: EntityKind.RESIDENT, AGREEMENTS: EntityKind.LEASE}


class PageSummaries(Protocol):
    """The page memo as a source sees it (the sync's :class:`~keukentafel.usecases.page_memo.
    PageMemo`): a summary by page key, and a new summary to keep. Thread-safe."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, summary: bytes) -> None: ...

    def summaries(self) -> dict[str, bytes]:
        """Every summary known now (a copy), for a second process that reads pages."""
        ...


@functools.cache
def code_version() -> bytes:
    """A digest of the source files in :data:`SUMMARY_CODE`, read once, on first use."""
    digest = hashlib.blake2b(_SUMMARY_FORMAT, digest_size=16)
    for name in SUMMARY_CODE:
        digest.update(Path(importlib.import_module(name).__file__ or "").read_bytes())
    # e-mail addresses are normalised by this library: another version may normalise otherwise
    digest.update(importlib.metadata.version("email-validator").encode())
    return digest.digest()


def page_key(endpoint: str, options: str, body: bytes) -> str:
    """The memo key of a page: its bytes, the endpoint, the mapping options and the code."""
    digest = hashlib.sha256(code_version())  # SHA-256: twice as fast as BLAKE2 with SHA-NI
    digest.update(f"{endpoint}\0{options}\0".encode())
    digest.update(body)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class _MappedPage:
    """One page of one endpoint, mapped."""

    count: int
    mapped: tuple[Any, ...] = ()
    rejected: tuple[RejectedRow, ...] = ()
    deferred: tuple[Any, ...] = ()  # agreements that need the unit list to be mapped
    other: int = 0  # agreements that are not about living in a unit
    digested: tuple[Digested, ...] = ()  # with a page memo: the items, known by their digests
    pending: tuple[_Pending, ...] = ()  # a page of agreements mapped once the units are known


@dataclass(frozen=True, slots=True)
class _Pending:
    """A page of agreements that need the unit list: kept as bytes, :func:`packed`, until the
    units are read, then mapped (or known from the memo by its key and the unit list's digest).
    Pages of agreements that name their units by ERP id only all wait: about 25 MB at 80,000
    units as they came, a tenth of that packed."""

    endpoint: str
    number: int
    body: bytes  # packed
    key: str | None  # the page's memo key (None without a memo)
    counted: bool = False  # already counted as parsed (its bytes were parsed to see it is one)


MapPage = Callable[[list[Any]], _MappedPage]


#: The memo's word for a page whose agreements need the unit list (its summary depends on it).
_PENDING = b'{"pending":'


def _pending_mark(count: int) -> bytes:
    return _PENDING + str(count).encode() + b"}"


def _summary(page: _MappedPage) -> bytes:
    """What validation needs about a clean page's items (ids, hashes, references), as JSON."""
    items = [[d.key, d.digest, *d.refs] for d in page.digested]
    return orjson.dumps({"n": page.count, "o": page.other, "i": items})


def packed(body: bytes) -> bytes:
    """A known page's body as a :class:`_LazyPage` keeps it: compressed (zlib, fastest level).

    A re-sync holds every page's body until the end, in case a value is needed after all: about
    100 MB at 80,000 units, a tenth of that compressed, for about 0.1 ms per page (zlib lets
    other threads run meanwhile)."""
    return zlib.compress(body, 1)


class _LazyPage:
    """A page known from the memo: parsed and mapped only if one of its values is needed.
    ``body`` is the page's bytes :func:`packed`."""

    def __init__(
        self,
        endpoint: str,
        number: int,
        body: bytes,
        map_page: MapPage,
        parsed: Callable[[str], None],
    ) -> None:
        self._endpoint = endpoint
        self._number = number
        self._body: bytes | None = body
        self._map_page = map_page
        self._parsed = parsed
        self._values: tuple[Any, ...] | None = None
        self._lock = threading.Lock()

    def values(self) -> tuple[Any, ...]:
        with self._lock:
            if self._values is None:
                assert self._body is not None
                self._parsed(self._endpoint)
                body = zlib.decompress(self._body)
                page = self._map_page(parse_page(self._endpoint, body, self._number))
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
    """Shared state of one snapshot read: progress, page counts, a stop flag and the memo."""

    def __init__(
        self, client: VeraClient, progress: Progress | None, memo: PageSummaries | None = None
    ) -> None:
        self.client = client
        self.progress = progress
        self.memo = memo
        self.stats = SnapshotStats()
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def report(self, endpoint: str, seen: int, total: int | None) -> None:
        if self.progress is not None:
            with self._lock:
                self.progress(endpoint, seen, total)

    def count_read(self, endpoint: str) -> None:
        with self._lock:
            self.stats.pages_read[endpoint] = self.stats.pages_read.get(endpoint, 0) + 1

    def count_parsed(self, endpoint: str) -> None:
        with self._lock:
            self.stats.pages_parsed[endpoint] = self.stats.pages_parsed.get(endpoint, 0) + 1

    def read(
        self,
        endpoint: str,
        params: Mapping[str, str] | None,
        options: str,
        map_page: MapPage,
        paginator: HeaderCursorPaginator | None = None,
        *,
        read_ahead: bool = True,
    ) -> Iterator[tuple[_MappedPage, int | None]]:
        """The listing's pages, mapped (or known from the memo); ``read_ahead``: across a
        network, each next page is asked for while this one is mapped (:meth:`VeraClient.walk`);
        pass False where the listing may be left after a page (it is then read on elsewhere)."""
        memo = self.memo
        entity = _ENTITY.get(endpoint)

        def handle(body: bytes, number: int) -> tuple[int, _MappedPage]:
            self.count_read(endpoint)
            if memo is not None and entity is not None:
                return memoised(body, number, entity, memo)
            self.count_parsed(endpoint)
            page = map_page(parse_page(endpoint, body, number))
            if page.deferred:
                page = _MappedPage(
                    page.count,
                    pending=(_Pending(endpoint, number, packed(body), None, counted=True),),
                )
            return page.count, page

        def memoised(
            body: bytes, number: int, entity: EntityKind, memo: PageSummaries
        ) -> tuple[int, _MappedPage]:
            key = page_key(endpoint, options, body)
            summary = memo.get(key)
            if summary is not None and summary.startswith(_PENDING):
                count = int(summary[len(_PENDING) : -1])
                return count, _MappedPage(
                    count, pending=(_Pending(endpoint, number, packed(body), key),)
                )
            if summary is not None:
                lazy = _LazyPage(endpoint, number, packed(body), map_page, self.count_parsed)
                page = _from_summary(endpoint, summary, lazy)
                return page.count, page
            self.count_parsed(endpoint)
            page = map_page(parse_page(endpoint, body, number))
            if page.deferred:  # mapped once the units are known; its summary depends on them
                memo.put(key, _pending_mark(page.count))
                pending = _Pending(endpoint, number, packed(body), key, counted=True)
                return page.count, _MappedPage(page.count, pending=(pending,))
            page, summary = digested_page(entity, page)
            if summary is not None:
                memo.put(key, summary)
            return page.count, page

        walk = self.client.walk(endpoint, params, handle, paginator, read_ahead=read_ahead)
        for page, total in walk:
            if self.stop.is_set():
                return
            yield page, total

    def read_elsewhere(
        self, endpoint: str, options: str, paginator: HeaderCursorPaginator, map_page: MapPage
    ) -> Iterator[tuple[_MappedPage, int | None]]:
        """The rest of a listing, paged and mapped by a second process (see
        :mod:`connectors.erp.vera.worker`); its pages arrive here as this process's would."""
        from connectors.erp.vera.worker import ListingWorker

        memo = self.memo
        assert memo is not None
        with ListingWorker(self.client, endpoint, options, paginator, memo.summaries()) as worker:
            for answer in worker.pages():
                if self.stop.is_set():
                    return
                self.count_read(endpoint)
                with self._lock:
                    elsewhere = self.stats.read_elsewhere
                    elsewhere[endpoint] = elsewhere.get(endpoint, 0) + 1
                if answer.mapped is None:  # known: made from the memo's summary, lazily
                    known = memo.get(answer.key)
                    assert known is not None, "the memo only grows while a source reads"
                    lazy = _LazyPage(  # the second process packed its body
                        endpoint, answer.number, answer.body, map_page, self.count_parsed
                    )
                    yield _from_summary(endpoint, known, lazy), answer.total
                    continue
                self.count_parsed(endpoint)
                if answer.summary is not None:
                    memo.put(answer.key, answer.summary)
                yield answer.mapped, answer.total

    def resolve(self, page: _Pending, units_key: bytes, map_page: MapPage) -> _MappedPage:
        """A page of agreements that needed the unit list, mapped with it; known from the memo
        when neither its bytes nor the unit list changed. A page with a row kept aside is mapped
        on every run (its rejections are seen each time)."""
        memo = self.memo
        key = None
        if memo is not None and page.key is not None:
            key = hashlib.sha256(page.key.encode() + units_key).hexdigest()
            summary = memo.get(key)
            if summary is not None:
                lazy = _LazyPage(page.endpoint, page.number, page.body, map_page, self.count_parsed)
                return _from_summary(page.endpoint, summary, lazy)
        if not page.counted:
            self.count_parsed(page.endpoint)
        mapped = map_page(parse_page(page.endpoint, zlib.decompress(page.body), page.number))
        if memo is None:
            return mapped
        digested = tuple(digest_of(EntityKind.LEASE, value) for value in mapped.mapped)
        result = _MappedPage(mapped.count, (), mapped.rejected, (), mapped.other, digested)
        if key is not None and not mapped.rejected:
            memo.put(key, _summary(result))
        return result


def digested_page(entity: EntityKind, page: _MappedPage) -> tuple[_MappedPage, bytes | None]:
    """A freshly mapped page with its items as digests, and the summary the memo may keep of it
    (None for a page with a row kept aside: only clean pages may be skipped on a later run)."""
    digested = tuple(digest_of(entity, value) for value in page.mapped)
    page = _MappedPage(page.count, (), page.rejected, (), page.other, digested)
    return page, None if page.rejected else _summary(page)


def _map_unit_page(cluster_kind: str) -> MapPage:
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
    """A page of agreements; one with any agreement that needs the unit list (several units, or
    a unit named by ERP id only) is left whole for :func:`_map_with_units` (``deferred``)."""
    if any(needs_unit_lookup(item) for item in items):
        return _MappedPage(len(items), (), (), tuple(items))
    now: list[Any] = []
    other = 0
    for item in items:
        if agreement_kind(item) is None:
            other += 1
        else:
            now.append(item)
    mapped, rejected = map_rows(EntityKind.LEASE, now, map_lease, lease_id_of)
    return _MappedPage(len(items), tuple(mapped), tuple(rejected), (), other)


def _map_with_units(unit_codes: Mapping[str, str]) -> MapPage:
    """Maps a page of agreements with the unit list at hand: each agreement is tied to its unit
    by dictionary look-ups (time linear in the agreements, whatever the number of units). One
    that names only units that were not delivered is about a unit outside the configured
    complexes: out of scope, as is one that is not about living in a unit."""
    known = frozenset(unit_codes.values())

    def lease_with_units(item: Any) -> Lease:
        return map_lease(item, unit_codes=unit_codes, known_codes=known)

    def map_page(items: list[Any]) -> _MappedPage:
        in_scope: list[Any] = []
        other = 0
        for item in items:
            if agreement_kind(item) is None or names_unknown_units_only(item, unit_codes):
                other += 1
            else:
                in_scope.append(item)
        mapped, rejected = map_rows(EntityKind.LEASE, in_scope, lease_with_units, lease_id_of)
        return _MappedPage(len(items), tuple(mapped), tuple(rejected), (), other)

    return map_page


def _units_key(unit_codes: Mapping[str, str]) -> bytes:
    """A digest of the unit list as agreements are mapped with it (ERP id and code per unit)."""
    digest = hashlib.blake2b(digest_size=16)
    for erp_id, code in sorted(unit_codes.items()):
        digest.update(f"{erp_id}\t{code}\n".encode())
    return digest.digest()


@dataclass
class _Collected:
    mapped: list[Any] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
    digested: list[Digested] = field(default_factory=list)
    other: int = 0

    def add(self, part: _MappedPage | _Collected) -> None:
        """One page, or what another reader collected (a run of complexes' units)."""
        self.mapped += part.mapped
        self.rejected += part.rejected
        self.pending += part.pending
        self.digested += part.digested
        self.other += part.other


#: Units filtered per complex are paged by this many threads (each a run of the complexes) when
#: there are at least twice as many complexes: one complex's listing is a page or two, so one
#: thread spent most of its time waiting for answers, one request after the other.
UNIT_READERS = 2


def _read_units(reader: _Reader, complexes: list[str], cluster_kind: str) -> _Collected:
    selections = [cluster_params(code, cluster_kind) for code in complexes] or [{}]
    map_page = _map_unit_page(cluster_kind)
    one_listing = len(selections) == 1
    seen = [0]
    lock = threading.Lock()

    def read(part: list[dict[str, str]]) -> _Collected:
        result = _Collected()
        for params in part:
            for page, total in reader.read(UNITS, params, cluster_kind, map_page):
                result.add(page)
                with lock:
                    seen[0] += page.count
                    reader.report(UNITS, seen[0], total if one_listing else None)
        return result

    readers = UNIT_READERS if len(selections) >= 2 * UNIT_READERS else 1
    size = -(-len(selections) // readers)
    parts = [selections[start : start + size] for start in range(0, len(selections), size)]
    if len(parts) == 1:
        return read(parts[0])
    with ThreadPoolExecutor(len(parts), thread_name_prefix="vera-units") as pool:
        futures = [pool.submit(_guarded, reader, lambda _, part=part: read(part)) for part in parts]
        _raise_first(*futures)
    result = _Collected()  # in the order of the complexes, as one reader would have read them
    for future in futures:
        result.add(future.result())
    return result


def _read_all(
    reader: _Reader, endpoint: str, map_page: MapPage, elsewhere_above: int | None = None
) -> _Collected:
    """Every page of a listing. With ``elsewhere_above``, a listing with more items than that
    still to come after its first page is read on by a second process (another core), which
    maps its pages while this process maps the other endpoints' (the memo is needed for that)."""
    result = _Collected()
    seen = 0
    paginator = reader.client.paginator()
    hand_over = False
    may_hand_over = elsewhere_above is not None and reader.memo is not None
    first = reader.read(endpoint, None, "", map_page, paginator, read_ahead=not may_hand_over)
    for page, total in first:
        result.add(page)
        seen += page.count
        reader.report(endpoint, seen, total)
        if elsewhere_above is not None and reader.memo is not None and not paginator.done:
            hand_over = (paginator.total or 0) - paginator.seen > elsewhere_above
            break
    if hand_over:
        pages = reader.read_elsewhere(endpoint, "", paginator, map_page)
    elif not paginator.done and paginator.pages:  # the first page only: read on here
        pages = reader.read(endpoint, None, "", map_page, paginator)
    else:
        return result
    for page, total in pages:
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
    memo: PageSummaries | None = None,
    second_process_above: int | None = None,
) -> Snapshot:
    """Units of ``complexes`` (all units when empty), all relations and agreements, mapped.

    The three endpoints are paged concurrently; each page is mapped as it arrives. Rows that
    cannot be used are in ``Snapshot.rejected``; agreements that are not about living in a unit
    (maintenance, service, ...) count as out of scope. Raises
    :class:`~connectors.erp.vera.client.SnapshotIncomplete` or
    :class:`~connectors.erp.vera.client.VeraError` when any endpoint fails: then nothing of this
    snapshot may be applied. ``progress(endpoint, items_so_far, total_or_None)`` is called after
    each page, from worker threads but never concurrently.

    ``memo`` (the sync's page memo, from the store) skips parsing and mapping of pages it
    knows; the items then arrive in ``Snapshot.digested`` (all of them, known or mapped, so
    that validation need not hash them again).

    ``second_process_above``: with a memo, relations with more items than this after their first
    page are read on and mapped by a second process (:mod:`connectors.erp.vera.worker`).
    """
    reader = _Reader(client, progress, memo)
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="vera") as pool:
        units_future, agreements_future, relations_future = (
            pool.submit(_guarded, reader, _read_units, complexes, cluster_kind),
            pool.submit(_guarded, reader, _read_all, AGREEMENTS, _map_agreement_page),
            pool.submit(
                _guarded, reader, _read_all, RELATIONS, _map_relation_page, second_process_above
            ),
        )
        # A failure wins; the others stop after their current page. Agreements that need the
        # unit list are mapped as soon as units and agreements are in, while relations (the
        # largest listing, perhaps in a second process) are still being read.
        _raise_first(units_future, agreements_future)
        units, agreements = units_future.result(), agreements_future.result()
        _guarded(reader, _resolve_pending, units, agreements)
        _raise_first(relations_future)
        relations = relations_future.result()
    return _assemble(units, relations, agreements, reader.stats)


def _raise_first(*futures: Future[_Collected]) -> None:
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error


def _resolve_pending(reader: _Reader, units: _Collected, agreements: _Collected) -> _Collected:
    """Map the agreements that name their units by ERP id (or name several units)."""
    if agreements.pending:
        unit_codes = _unit_codes(units)
        map_page, units_key = _map_with_units(unit_codes), _units_key(unit_codes)
        pending, agreements.pending = agreements.pending, []
        for page in pending:
            agreements.add(reader.resolve(page, units_key, map_page))
    return agreements


def _guarded(reader: _Reader, read: Callable[..., _Collected], *args: Any) -> _Collected:
    try:
        return read(reader, *args)
    except BaseException:
        reader.stop.set()  # the others stop after their current page
        raise


def _assemble(
    units: _Collected, relations: _Collected, agreements: _Collected, stats: SnapshotStats
) -> Snapshot:
    """The snapshot of the three endpoints (agreements that needed the unit list are mapped)."""
    leases: list[Lease] = agreements.mapped
    residents: list[Resident] = relations.mapped
    snapshot = Snapshot(
        source="vera",
        units=units.mapped,
        residents=residents,
        leases=leases,
        rejected=units.rejected + relations.rejected + agreements.rejected,
        digested=units.digested + relations.digested + agreements.digested,
        stats=stats,
    )
    snapshot.add_out_of_scope(EntityKind.LEASE, agreements.other)
    return snapshot


def _unit_codes(units: _Collected) -> dict[str, str]:
    """Unit code by ERP id of every unit delivered, those kept aside included (an agreement that
    names one of those is held with its unit, not out of scope)."""
    unit_codes = {unit.vera_id: unit.code for unit in units.mapped if unit.vera_id}
    unit_codes.update((d.refs[0], d.key) for d in units.digested if d.refs[0])
    for row in units.rejected:
        raw = row.raw
        erp_id = raw.get("id") if isinstance(raw, Mapping) else None
        code = row.unit_code or row.source_id
        if isinstance(erp_id, str) and erp_id.strip() and code:
            unit_codes.setdefault(erp_id.strip(), code)
    return unit_codes
