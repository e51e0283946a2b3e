"""Reading ahead (``VeraClient.walk(read_ahead=True)``): across a network the next page is asked
for while this one is handled, against the fake VERA server on 127.0.0.1 with the real client.

Each page of a listing can only be asked for with the cursor of the page before, so across a
network a listing took its requests' time plus the handling of every page; read ahead, it takes
about the longer of the two. The answers, the number of requests and the failures stay what
they were one page after the other. The fake answers late where a test needs a network (a
fault that delays every page); answering at once, it is read one page after the other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from connectors.erp.vera.client import (
    READ_AHEAD_AFTER_SECONDS,
    RELATIONS,
    UNITS,
    SnapshotIncomplete,
    VeraClient,
)
from connectors.erp.vera.snapshot import read_snapshot
from connectors.fakes.vera_data import VeraDataset, generate_dataset
from connectors.fakes.vera_server import FakeVeraServer, Fault
from keukentafel.config import VeraConfig

API_KEY = "s3cret-api-key"
ENV = {"VERA_API_KEY": API_KEY}


def config(url: str, **overrides: Any) -> VeraConfig:
    return VeraConfig.model_validate(
        {
            "base_url": url,
            "auth": {"mode": "api_key", "api_key_env": "VERA_API_KEY"},
            "timeout_seconds": 5.0,
            "max_retries": 3,
            **overrides,
        }
    )


@pytest.fixture
def dataset() -> VeraDataset:
    return generate_dataset(300, seed=7, complexes=4)


@pytest.fixture
def server(dataset: VeraDataset) -> Iterator[FakeVeraServer]:
    with FakeVeraServer(dataset, api_key=API_KEY) as fake:
        yield fake


def ids(client: VeraClient, path: str, read_ahead: bool) -> list[list[str]]:
    return [[i["id"] for i in page] for page in client.pages(path, {}, read_ahead=read_ahead)]


def across_a_network(server: FakeVeraServer, seconds: float = 0.02) -> None:
    """Every page answered ``seconds`` late, as an ERP across a network answers."""
    assert seconds >= READ_AHEAD_AFTER_SECONDS
    server.faults.add(Fault("timeout", times=None, delay=seconds))


def test_the_same_pages_with_the_same_requests(server: FakeVeraServer) -> None:
    across_a_network(server)
    with VeraClient(config(server.url), env=ENV) as client:
        plain = {path: ids(client, path, False) for path in (UNITS, RELATIONS)}
        asked = dict(server.requests)
        server.reset_counts()
        ahead = {path: ids(client, path, True) for path in (UNITS, RELATIONS)}
        assert client._ahead is not None  # it did read ahead
    assert ahead == plain
    assert dict(server.requests) == asked  # the total ends each listing: nothing asked in vain
    assert asked[UNITS] == 3


def test_an_erp_that_answers_at_once_is_read_one_page_after_the_other(
    server: FakeVeraServer,
) -> None:
    """On loopback the hand-over to a thread cost more than it saved: no page is read ahead."""
    with VeraClient(config(server.url), env=ENV) as client:
        pages = ids(client, RELATIONS, True)
        assert client._ahead is None
    assert sum(len(page) for page in pages) == len(server.dataset.relations)


def test_the_next_request_runs_while_this_page_is_handled(server: FakeVeraServer) -> None:
    """Six pages, each answered 0.1 s late and handled in 0.1 s: 1.2 s one after the other,
    about 0.7 s read ahead."""
    server.faults.add(Fault("timeout", endpoint=UNITS, times=None, delay=0.1))

    def handle(body: bytes, number: int) -> tuple[int, int]:
        time.sleep(0.1)  # mapping a page (it lets the request's thread run, as parsing does)
        return len(orjson.loads(body)), number

    timed: dict[bool, float] = {}
    with VeraClient(config(server.url, page_size=50), env=ENV) as client:
        # one page after the other first: the client then knows its answers are slow
        for read_ahead in (False, True):
            started = time.perf_counter()
            numbers = [n for n, _ in client.walk(UNITS, {}, handle, read_ahead=read_ahead)]
            timed[read_ahead] = time.perf_counter() - started
            assert numbers == [1, 2, 3, 4, 5, 6]
    assert timed[False] >= 1.2
    assert timed[True] < 0.95, timed


def test_a_slow_answer_now_and_then_does_not_make_a_client_read_ahead(
    server: FakeVeraServer,
) -> None:
    """On a busy machine an answer on loopback now and then waits for the interpreter: the
    median of the recent answers decides, not one answer. Pages of 20, so that the median is
    taken over 16 answers: with four, two answers that a busy test machine happened to delay
    (CI runs two test workers) were enough to tip it."""
    server.faults.add(Fault("timeout", endpoint=RELATIONS, page=2, delay=0.05))
    with VeraClient(config(server.url, page_size=20), env=ENV) as client:
        assert len(ids(client, RELATIONS, True)) >= 16  # one slow answer of sixteen or more
        assert client._ahead is None
        across_a_network(server)  # from now on every answer is late
        ids(client, RELATIONS, True)
        assert client._ahead is not None


def test_a_page_that_fails_ahead_fails_where_it_is_read(server: FakeVeraServer) -> None:
    across_a_network(server)
    server.faults.add(Fault("status", endpoint=UNITS, page=3, times=None))
    with VeraClient(config(server.url), env=ENV, backoff_base=0.001) as client:
        read: list[int] = []

        def read_all() -> None:
            for page in client.pages(UNITS, {}, read_ahead=True):
                read.append(len(page))

        with pytest.raises(SnapshotIncomplete, match="HTTP 500") as caught:
            read_all()
    assert read == [100, 100]  # the two good pages reached the reader first
    assert caught.value.endpoint == UNITS
    assert server.requests[UNITS] == 2 + 4  # as one page after the other: 1 + max_retries


def test_a_walk_left_early_asks_at_most_one_page_in_vain(server: FakeVeraServer) -> None:
    server.faults.add(Fault("timeout", endpoint=RELATIONS, times=None, delay=0.2))
    client = VeraClient(config(server.url), env=ENV)
    walk = client.pages(RELATIONS, {}, read_ahead=True)
    first = next(walk)
    walk.close()  # the reader stops after one page (a failure elsewhere, say)
    client.close()  # waits for the page asked for ahead, if it is still on its way
    assert len(first) == 100
    assert server.requests[RELATIONS] <= 2
    assert not [t for t in threading.enumerate() if t.name.startswith("vera-read-ahead")]


def test_a_snapshot_read_ahead_is_the_snapshot(dataset: VeraDataset) -> None:
    """read_snapshot reads ahead; with pages answered late it gets what it got before."""
    with FakeVeraServer(dataset, api_key=API_KEY) as fake:
        with VeraClient(config(fake.url), env=ENV) as client:
            quick = read_snapshot(client, ["CPX-0001", "CPX-0002"])
        across_a_network(fake)
        with VeraClient(config(fake.url), env=ENV) as client:
            late = read_snapshot(client, ["CPX-0001", "CPX-0002"])
            assert client._ahead is not None
    assert [u.code for u in late.units] == [u.code for u in quick.units]
    assert [r.relation_id for r in late.residents] == [r.relation_id for r in quick.residents]
    assert [lease.lease_id for lease in late.leases] == [lease.lease_id for lease in quick.leases]
    assert late.rejected == quick.rejected
