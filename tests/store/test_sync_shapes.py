"""The same register, however VERA says it (issue 12): every contract-legal shape of the unit
references (id and code, id only, half and half; several units per agreement), with complexes
filtered one by one or not at all, syncs into the same stored register, and a re-sync of an
unchanged ERP writes nothing in every shape."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from connectors.erp.vera.client import VeraClient
from connectors.erp.vera.snapshot import read_snapshot
from connectors.fakes.vera_data import UnitRefs, generate_dataset
from connectors.fakes.vera_server import FakeVeraServer
from keukentafel.config import VeraConfig
from keukentafel.domain.register import EntityKind, Snapshot, SnapshotStats
from keukentafel.store.repositories import RegisterRepository
from keukentafel.usecases.page_memo import PageMemo
from keukentafel.usecases.sync_register import ProgressFn, SyncResult, sync_register

UNITS, COMPLEXES, SEED = 240, 4, 11


@dataclass
class ShapeSource:
    """The fake VERA server read with a new client per run, units of ``complexes`` (all: [])."""

    url: str
    complexes: list[str]
    name: str = "vera"
    stats: SnapshotStats | None = None

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
            snapshot = read_snapshot(client, self.complexes, progress=progress, memo=memo)
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
    return sync_register(sessions, corp, source)  # type: ignore[arg-type]


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
