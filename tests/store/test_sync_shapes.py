"""The same register, however VERA says it (issue 12): every contract-legal shape of the unit
references (id and code, id only, half and half; several units per agreement), with complexes
filtered one by one or not at all, syncs into the same stored register, and a re-sync of an
unchanged ERP writes nothing in every shape."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from connectors.erp.vera.client import VeraClient
from connectors.erp.vera.snapshot import read_snapshot
from connectors.fakes.vera_data import UnitRefs, generate_dataset
from connectors.fakes.vera_server import FakeVeraServer
from connectors.fakes.vera_server import Fault as VeraFault
from keukentafel.config import VeraConfig
from keukentafel.domain.register import EntityKind, Snapshot, SnapshotStats
from keukentafel.store.repositories import RegisterRepository
from keukentafel.usecases.page_memo import PageMemo
from keukentafel.usecases.sync_register import (
    ProgressFn,
    SyncFailed,
    SyncResult,
    sync_register,
)

UNITS, COMPLEXES, SEED = 240, 4, 11


@dataclass
class ShapeSource:
    """The fake VERA server read with a new client per run, units of ``complexes`` (all: [])."""

    url: str
    complexes: list[str]
    name: str = "vera"
    stats: SnapshotStats | None = None
    second_process_above: int | None = None  # relations read on by a second process

    def read(self, progress: ProgressFn | None = None, memo: PageMemo | None = None) -> Snapshot:
        config = VeraConfig.model_validate(
            {
                "base_url": self.url,
                "auth": {"mode": "api_key", "api_key_env": "VERA_KEY"},
                "timeout_seconds": 5,
                "max_retries": 1,
                "page_size": 25,  # several pages per complex: paging and the memo are exercised
            }
        )
        with VeraClient(config, env={"VERA_KEY": "k"}, backoff_base=0.001) as client:
            snapshot = read_snapshot(
                client,
                self.complexes,
                progress=progress,
                memo=memo,
                second_process_above=self.second_process_above,
            )
        self.stats = snapshot.stats
        return snapshot

    @property
    def parsed(self) -> dict[str, int]:
        assert self.stats is not None
        return dict(self.stats.pages_parsed)


@dataclass(frozen=True)
class Stored:
    hashes: dict[EntityKind, dict[str, str]]
    out_of_scope: int
    kept_aside: list[tuple[str, str]]


def _serve(refs: UnitRefs, units_per_agreement: int) -> Iterator[FakeVeraServer]:
    data = generate_dataset(
        UNITS, seed=SEED, complexes=COMPLEXES, refs=refs, units_per_agreement=units_per_agreement
    )
    with FakeVeraServer(data, api_key="k") as fake:
        yield fake


def _sync(sessions: sessionmaker[Session], corp: str, source: ShapeSource) -> SyncResult:
    return sync_register(sessions, corp, source)


def _stored(sessions: sessionmaker[Session], corp: str, result: SyncResult) -> Stored:
    with sessions() as session:
        register = RegisterRepository(session, corp)
        hashes = {kind: register.stored_hashes(kind) for kind in EntityKind}
    kept = sorted((r.source_id, r.reason.value) for r in result.rejected)
    return Stored(hashes, result.out_of_scope, kept)


FILTERS = {
    "none": [],
    "every complex": [f"CPX-{n:04d}" for n in range(1, COMPLEXES + 1)],
    "two complexes": ["CPX-0003", "CPX-0001"],
}
SHAPES: list[tuple[UnitRefs, int]] = [("id", 1), ("mixed", 1), ("code", 3), ("id", 3), ("mixed", 2)]


@pytest.mark.parametrize("selection", list(FILTERS))
def test_every_shape_syncs_into_the_same_register(
    sessions: sessionmaker[Session], selection: str
) -> None:
    complexes = FILTERS[selection]
    for fake in _serve("code", 1):
        reference = _sync(sessions, "REF", ShapeSource(fake.url, complexes))
        expected = _stored(sessions, "REF", reference)
    assert all(expected.hashes[kind] for kind in EntityKind)  # a register, not an empty one
    if selection == "two complexes":
        assert expected.out_of_scope > 0  # agreements of the other complexes are counted
    for number, (refs, units_per_agreement) in enumerate(SHAPES):
        corp = f"S{number}"
        for fake in _serve(refs, units_per_agreement):
            source = ShapeSource(fake.url, complexes)
            first = _sync(sessions, corp, source)
            assert _stored(sessions, corp, first) == expected, (refs, units_per_agreement)
            again = _sync(sessions, corp, source)
            assert again.rows_written == 0 and sum(again.counts.values()) == 0
            assert _stored(sessions, corp, again) == expected, (refs, units_per_agreement)


def test_the_shapes_change_only_the_references() -> None:
    plain = generate_dataset(60, seed=3, complexes=2)
    by_id = generate_dataset(60, seed=3, complexes=2, refs="id", units_per_agreement=2)
    assert by_id.units == plain.units and by_id.relations == plain.relations
    for lease, before in zip(by_id.leases, plain.leases, strict=True):
        parking, home = lease["eenheden"]
        assert home == {"id": before["eenheden"][0]["id"]} and "code" not in parking
        assert {k: v for k, v in lease.items() if k != "eenheden"} == {
            k: v for k, v in before.items() if k != "eenheden"
        }
    mixed = generate_dataset(60, seed=3, complexes=2, refs="mixed")
    coded = ["code" in lease["eenheden"][0] for lease in mixed.leases]
    assert coded[:4] == [True, False, True, False]


def test_an_ids_only_re_sync_maps_nothing_and_still_sees_changes(
    sessions: sessionmaker[Session],
) -> None:
    data = generate_dataset(UNITS, seed=SEED, complexes=COMPLEXES, refs="id", units_per_agreement=2)
    with FakeVeraServer(data, api_key="k") as fake:
        source = ShapeSource(fake.url, FILTERS["two complexes"])
        first = _sync(sessions, "IDS", source)
        assert first.rows_written > 0 and source.parsed.get("/overeenkomsten", 0) > 0
        again = _sync(sessions, "IDS", source)
        assert again.rows_written == 0 and source.parsed == {}  # nothing parsed or mapped

        # an agreement of ours changes: its page (only) is mapped again
        stored = _stored(sessions, "IDS", again).hashes[EntityKind.LEASE]
        lease = next(item for item in data.leases if item["id"] in stored)
        lease["einddatum"], lease["status"] = "2027-03-31", {"code": "OPG"}
        data.touch()
        changed = _sync(sessions, "IDS", source)
        assert changed.rows_written == 1 and changed.counts["lease_changed"] == 1
        assert source.parsed == {"/overeenkomsten": 1}

        # a unit changes its code: every agreement is tied to its unit again
        unit = data.units[0]
        unit["code"] = "VHE-NIEUW"
        data.touch()
        moved = _sync(sessions, "IDS", source)
        assert source.parsed["/overeenkomsten"] > 1
        leases = _stored(sessions, "IDS", moved).hashes[EntityKind.LEASE]
        assert len(leases) == len(stored)
        with sessions() as session:
            tied = RegisterRepository(session, "IDS").leases(leases)
        assert any(item.unit_code == "VHE-NIEUW" for item in tied.values())


def _workers() -> list[int]:
    """This process's children that are VERA listing workers (connectors/erp/vera/worker.py)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"connectors.erp.vera.worker" in command:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize("refs", ["code", "id"])
def test_relations_read_by_a_second_process_sync_into_the_same_register(
    sessions: sessionmaker[Session], refs: UnitRefs
) -> None:
    """A large relations listing is read on by a second process after its first page
    (``source.vera.second_process_above``): the same register, the same memo, the same re-sync."""
    for fake in _serve(refs, 1):
        expected = _stored(sessions, "REF", _sync(sessions, "REF", ShapeSource(fake.url, [])))
    data = generate_dataset(UNITS, seed=SEED, complexes=COMPLEXES, refs=refs)
    with FakeVeraServer(data, api_key="k") as fake:
        source = ShapeSource(fake.url, [], second_process_above=10)
        first = _sync(sessions, "TWO", source)
        assert _stored(sessions, "TWO", first) == expected
        assert source.stats is not None and source.stats.pages_read["/relaties"] > 2
        # all but the first page were read by the second process
        assert source.stats.read_elsewhere == {
            "/relaties": source.stats.pages_read["/relaties"] - 1
        }
        relation_pages = [r for r in fake.requests_log if r.path == "/relaties"]
        assert len(relation_pages) == source.stats.pages_read["/relaties"]  # each page once

        again = _sync(sessions, "TWO", source)
        assert again.rows_written == 0 and source.parsed == {}  # known pages: nothing mapped
        assert source.stats.read_elsewhere["/relaties"] > 1

        # one relation changes: its page (only) is mapped again, in the second process
        stored = _stored(sessions, "TWO", again).hashes[EntityKind.RESIDENT]
        relation = next(r for r in reversed(data.relations) if r["id"] in stored)
        relation["achternaam"] = "Veldhuis-Bos"
        data.touch()
        changed = _sync(sessions, "TWO", source)
        assert changed.rows_written == 1 and source.parsed == {"/relaties": 1}
    assert _workers() == []


@pytest.mark.parametrize("refs", ["code", "id"])
def test_across_a_network_the_sync_reads_ahead_into_the_same_register(
    sessions: sessionmaker[Session], refs: UnitRefs
) -> None:
    """Every page answered 15 ms late: the sync reads each listing's next page while it maps
    this one (VeraClient.walk read_ahead), its second process too, and stores the same
    register, asking for each page once; the re-sync writes nothing."""
    for fake in _serve(refs, 1):
        expected = _stored(sessions, "REF", _sync(sessions, "REF", ShapeSource(fake.url, [])))
    ahead_seen: set[str] = set()

    def progress(endpoint: str, seen: int, total: int | None) -> None:
        if any(t.name.startswith("vera-read-ahead") for t in threading.enumerate()):
            ahead_seen.add(endpoint)

    for fake in _serve(refs, 1):
        fake.faults.add(VeraFault("timeout", times=None, delay=0.015))
        source = ShapeSource(fake.url, ["CPX-0001", "CPX-0002", "CPX-0003", "CPX-0004"])
        source.second_process_above = 10
        first = sync_register(sessions, "NET", source, progress=progress)
        assert _stored(sessions, "NET", first) == expected
        assert ahead_seen  # this process read ahead
        assert source.stats is not None and source.stats.read_elsewhere["/relaties"] > 1
        for path, pages in source.stats.pages_read.items():
            assert len([r for r in fake.requests_log if r.path == path]) == pages, path
        again = _sync(sessions, "NET", source)
        assert again.rows_written == 0
    assert _workers() == []


def test_a_page_the_second_process_cannot_read_fails_the_sync_and_changes_nothing(
    sessions: sessionmaker[Session],
) -> None:
    data = generate_dataset(UNITS, seed=SEED, complexes=COMPLEXES)
    with FakeVeraServer(data, api_key="k") as fake:
        source = ShapeSource(fake.url, [], second_process_above=10)
        before = _stored(sessions, "BAD", _sync(sessions, "BAD", source)).hashes
        fake.faults.add(VeraFault("truncated", "/relaties", page=4, times=None))
        data.touch()
        with pytest.raises(SyncFailed, match="/relaties: snapshot incomplete: page 4"):
            _sync(sessions, "BAD", source)
        fake.faults.clear()
        fake.faults.add(VeraFault("status", "/relaties", page=5, status=403, times=None))
        with pytest.raises(SyncFailed, match="HTTP 403"):
            _sync(sessions, "BAD", source)
    with sessions() as session:
        register = RegisterRepository(session, "BAD")
        assert {kind: register.stored_hashes(kind) for kind in EntityKind} == before
    assert _workers() == []


def test_rows_the_second_process_cannot_use_are_kept_aside_with_their_reason(
    sessions: sessionmaker[Session],
) -> None:
    """A relation row the second process cannot map is kept aside with its reason exactly as in
    one process (with the lease that names it), on every run (its page is never summarised);
    the rest is stored."""
    data = generate_dataset(UNITS, seed=SEED, complexes=COMPLEXES)
    kept: dict[str, list[tuple[str, str, str]]] = {}
    with FakeVeraServer(data, api_key="k") as fake:
        fake.faults.add(VeraFault("malformed", "/relaties", page=6, rows=("garbage",), times=None))
        for corp, above in (("ONE", None), ("TWO", 10)):
            source = ShapeSource(fake.url, [], second_process_above=above)
            first = _sync(sessions, corp, source)
            again = _sync(sessions, corp, source)
            assert first.rows_written > 0 and again.rows_written == 0
            assert source.parsed == {"/relaties": 1}  # the page with the row kept aside
            for result in (first, again):
                rows = sorted(
                    (r.entity.value, r.reason.value, r.source_id) for r in result.rejected
                )
                assert kept.setdefault(corp, rows) == rows
        assert source.stats is not None and source.stats.read_elsewhere["/relaties"] > 5
    assert ("resident", "malformed", "") in kept["TWO"]
    assert kept["TWO"] == kept["ONE"]
    assert _stored(sessions, "TWO", first).hashes == _stored(sessions, "ONE", first).hashes


NOISY_CHILD = """
import os, sys

def _noise(event, args):
    if event == "socket.connect" and "connectors.erp.vera.worker" in sys.modules:
        os.write(1, b"noise written to descriptor 1 by a library\\n")

sys.addaudithook(_noise)
"""


def test_output_of_the_second_process_on_its_stdout_does_not_corrupt_its_answers(
    sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answers come back on the child's stdout pipe; a library (or C code) in the child that
    writes to descriptor 1 must not break them: here every connection the child opens writes to
    it (an audit hook from a ``sitecustomize`` on the child's ``PYTHONPATH``)."""
    (tmp_path / "sitecustomize.py").write_text(NOISY_CHILD, encoding="utf-8")
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), path])))
    for fake in _serve("id", 1):
        expected = _stored(sessions, "ONE", _sync(sessions, "ONE", ShapeSource(fake.url, [])))
        source = ShapeSource(fake.url, [], second_process_above=10)
        result = _sync(sessions, "TWO", source)
        assert source.stats is not None and source.stats.read_elsewhere["/relaties"] > 2
        assert _stored(sessions, "TWO", result) == expected
    assert _workers() == []


def test_a_known_page_read_by_the_second_process_gives_its_values_when_the_store_differs(
    sessions: sessionmaker[Session],
) -> None:
    """A page the memo knows comes back from the second process as its packed bytes; when the
    store no longer holds what that page says (here a stored hash altered behind the sync's
    back), the sync makes the page's values from those bytes and writes the row again."""
    from sqlalchemy import text

    for fake in _serve("id", 1):
        source = ShapeSource(fake.url, [], second_process_above=10)
        first = _sync(sessions, "TWO", source)
        expected = _stored(sessions, "TWO", first).hashes
        stored = expected[EntityKind.RESIDENT]  # one on the last page: read by the second process
        resident = next(r["id"] for r in reversed(fake.dataset.relations) if r["id"] in stored)
        with sessions.begin() as session:
            session.execute(
                text("UPDATE residents SET content_hash = 'x' WHERE relation_id = :id"),
                {"id": resident},
            )
        again = _sync(sessions, "TWO", source)
        assert again.rows_written == 1
        assert source.parsed == {"/relaties": 1}  # the one page, made from its packed bytes
        assert source.stats is not None and source.stats.read_elsewhere["/relaties"] > 2
        assert _stored(sessions, "TWO", again).hashes == expected


def test_the_second_process_runs_the_code_of_its_parent_whatever_its_working_directory(
    sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m`` puts the working directory first on the path: a ``connectors`` folder there
    (another checkout, another version) must not be what the second process runs."""
    decoy = tmp_path / "connectors"
    decoy.mkdir()
    (decoy / "__init__.py").write_text('raise ImportError("the decoy package ran")\n', "utf-8")
    monkeypatch.chdir(tmp_path)
    for fake in _serve("id", 1):
        source = ShapeSource(fake.url, [], second_process_above=10)
        result = _sync(sessions, "TWO", source)
        assert result.rows_written > 0
        assert source.stats is not None and source.stats.read_elsewhere["/relaties"] > 2
    assert _workers() == []
