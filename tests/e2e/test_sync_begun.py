"""A sync begun before its run (issue 12: Prefect's start): on a Prefect server, ``keukentafel
sync`` lets the VERA source start reading relations in a second process while Prefect starts
(flows/launch.py, use case ``begin_sync``). The run then takes what was read: the same register,
each page requested once, nothing written again on a re-sync; a summary that went from the store
meanwhile is mapped after all; a begun read whose run never comes is stopped.

These go through the App, the real VERA source and client, and the fake VERA server over HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.orm import Session

from connectors.erp.vera.client import RELATIONS, VeraClient
from connectors.erp.vera.snapshot import read_snapshot
from connectors.erp.vera.worker import ListingWorker
from connectors.fakes.vera_data import VeraDataset, generate_dataset
from connectors.fakes.vera_server import FakeVeraServer
from flows.launch import _begin
from keukentafel.bootstrap import App, CorporationRegistry, build
from keukentafel.config import VeraConfig
from keukentafel.domain.register import EntityKind
from keukentafel.settings import Settings
from keukentafel.store.repositories import RegisterRepository
from keukentafel.usecases.page_memo import PageMemo
from tests.store.test_sync_shapes import _workers

FIXTURES = Path(__file__).parent / "fixtures"
KEY_ENV = "KEUKENTAFEL_TEST_VERA_KEY"
PAGE_SIZE = 25


@pytest.fixture(scope="module")
def dataset() -> VeraDataset:
    return generate_dataset(300, seed=5, complexes=2, refs="id")


@pytest.fixture
def fake(dataset: VeraDataset) -> Iterator[FakeVeraServer]:
    with FakeVeraServer(dataset, api_key="k") as server:
        yield server


def _app(folder: Path, url: str, **environ: str) -> App:
    data = yaml.safe_load((FIXTURES.parents[2] / "config" / "demo.yaml").read_text())
    vera = data["source"]["vera"]
    vera.update(base_url=url, page_size=PAGE_SIZE, second_process_above=10)
    vera["auth"]["api_key_env"] = KEY_ENV
    folder.mkdir(parents=True, exist_ok=True)
    corporation_file = folder / "wsd.yaml"
    corporation_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    settings = Settings.from_env(
        {"KEUKENTAFEL_DATABASE_URL": f"sqlite:///{folder / 'store.db'}", KEY_ENV: "k", **environ}
    )
    return build(settings, corporations=CorporationRegistry.from_files([corporation_file]))


def _register(app: App) -> dict[EntityKind, dict[str, str]]:
    with app.sessions() as session:
        register = RegisterRepository(session, "WSD")
        return {kind: register.stored_hashes(kind) for kind in EntityKind}


def _summaries(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM source_pages")).scalar_one())


def _relation_requests(fake: FakeVeraServer) -> int:
    return sum(1 for r in fake.requests_log if r.path == "/relaties")


def _wait_for(fake: FakeVeraServer, requests: int) -> None:
    deadline = time.monotonic() + 30
    while _relation_requests(fake) < requests:
        assert time.monotonic() < deadline, f"{_relation_requests(fake)} of {requests} pages"
        time.sleep(0.02)


def test_a_sync_begun_before_its_run_stores_the_same_register(
    tmp_path: Path, fake: FakeVeraServer, dataset: VeraDataset
) -> None:
    pages = -(-len(dataset.relations) // PAGE_SIZE)
    with _app(tmp_path / "plain", fake.url) as app:
        plain = app.run_sync("WSD")
        expected = _register(app)
    assert plain.rows_written > 0 and all(expected.values())
    fake.requests_log.clear()

    with _app(tmp_path / "begun", fake.url) as app:
        app.begin_sync("WSD")
        # the second process reads the whole listing before the run takes anything from it:
        # what it read waits in its memory, not on a full pipe
        _wait_for(fake, pages)
        first = app.run_sync("WSD")
        assert first.rows_written == plain.rows_written
        assert _register(app) == expected
        assert _relation_requests(fake) == pages  # each page once, by the second process

        app.begin_sync("WSD")
        again = app.run_sync("WSD")
        assert again.rows_written == 0
        assert _relation_requests(fake) == 2 * pages
    assert _workers() == []


def test_the_begun_process_hands_over_every_page_from_the_first(
    fake: FakeVeraServer, dataset: VeraDataset
) -> None:
    """Started before the read, the second process reads the listing from its first page; the
    read takes every page from it, mapped there, or known from the memo on the next read."""
    pages = -(-len(dataset.relations) // PAGE_SIZE)
    config = VeraConfig.model_validate(
        {"base_url": fake.url, "auth": {"api_key_env": "KEY"}, "page_size": PAGE_SIZE}
    )
    memo = PageMemo()
    for run in ("first", "again"):
        with VeraClient(config, env={"KEY": "k"}) as client:
            summaries = memo.summaries()
            worker = ListingWorker.on(client, RELATIONS, "", client.paginator(), summaries)
            with worker.start():
                snapshot = read_snapshot(client, [], memo=memo, begun=worker)
        stats = snapshot.stats
        assert stats.read_elsewhere == {"/relaties": pages}, run
        assert len(snapshot.residents) + len(
            [d for d in snapshot.digested if d.entity is EntityKind.RESIDENT]
        ) >= len(dataset.relations) - len(snapshot.rejected)
        if run == "first":
            assert stats.pages_parsed["/relaties"] == pages
            memo = PageMemo(memo.summaries())  # as the store keeps it for the next run
        else:
            assert "/relaties" not in stats.pages_parsed  # every page known from the memo
    assert _workers() == []


def test_a_summary_gone_from_the_store_after_the_begin_is_mapped_after_all(
    tmp_path: Path, fake: FakeVeraServer
) -> None:
    """The second process knows the memo as it was at the begin; the run's memo is loaded later.
    A page whose summary another run dropped in between is mapped from its bytes."""
    with _app(tmp_path, fake.url) as app:
        app.run_sync("WSD")
        expected = _register(app)
        with app.sessions() as session:
            summaries = _summaries(session)
        app.begin_sync("WSD")
        with app.sessions.begin() as session:
            session.execute(text("DELETE FROM source_pages"))
        # the second process sends those pages as known; the run's memo no longer has them
        again = app.run_sync("WSD")
        assert again.outcome.value == "succeeded" and again.rows_written == 0
        assert _register(app) == expected
        with app.sessions() as session:  # mapped here after all, and summarised again
            assert _summaries(session) == summaries
    assert _workers() == []


def test_a_begun_read_whose_run_never_comes_is_stopped_with_the_app(
    tmp_path: Path, fake: FakeVeraServer
) -> None:
    app = _app(tmp_path, fake.url)
    app.begin_sync("WSD")
    _wait_for(fake, 1)
    assert len(_workers()) == 1
    app.close()
    assert _workers() == []
    with app.sessions() as session:  # nothing of it reached the store
        assert session.execute(text("SELECT count(*) FROM sync_runs")).scalar_one() == 0


def test_a_sync_that_cannot_begin_says_why_in_one_line_and_goes_on(
    tmp_path: Path, fake: FakeVeraServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Beginning is a head start: when it fails, the command says so and goes on to the run
    (flows/launch.py), which meets the same problem and reports it as its own."""
    with _app(tmp_path, fake.url) as app, caplog.at_level(logging.WARNING, "flows.launch"):
        _begin("sync", app, "NOPE")
    assert [r.getMessage() for r in caplog.records] == [
        "sync for NOPE did not begin before Prefect's start "
        "(no corporation file for 'NOPE' (configured: WSD))"
    ]
    assert _workers() == []
