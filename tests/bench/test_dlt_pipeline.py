"""The dlt comparison of the sync benchmark (issue 12): dlt's pipeline loads what the fake serves.

Skipped unless ``.bench-venv/dlt`` exists (``bench.dlt_bench`` makes it on first use): CI never
installs dlt, and dlt is never a dependency of Keukentafel.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from bench import dlt_bench
from connectors.fakes.vera_data import VeraDataset, generate_dataset
from connectors.fakes.vera_server import FakeVeraServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not dlt_bench.venv_python().exists(),
        reason="no .bench-venv/dlt (run bench.dlt_bench once to make it)",
    ),
]

KEY_ENV = "KEUKENTAFEL_TEST_DLT_VERA_KEY"
KEY = "dlt-test-key"


@pytest.fixture(scope="module")
def dataset() -> VeraDataset:
    return generate_dataset(300, seed=12, complexes=3)


@pytest.fixture
def server(dataset: VeraDataset, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVeraServer]:
    monkeypatch.setenv(KEY_ENV, KEY)
    with FakeVeraServer(dataset, api_key=KEY) as fake:
        yield fake


def test_dlt_loads_every_unit_relation_and_agreement_twice(
    server: FakeVeraServer, dataset: VeraDataset, tmp_path: Path
) -> None:
    expected = dlt_bench.fake_counts(server.url, KEY)
    assert expected == {
        "eenheden": len(dataset.units),
        "relaties": len(dataset.relations),
        "overeenkomsten": len(dataset.leases),
    }
    server.reset_counts()

    runs = dlt_bench.run_pipeline(
        server.url, KEY_ENV, dataset.complexes(), tmp_path, expected, "merge"
    )

    assert [r.step for r in runs] == ["dlt full", "dlt re-run"]
    for run in runs:
        assert run.ok, run.note
        assert run.counts == expected
    # /eenheden is read per complex, as the sync reads it (connectors.erp.vera.cluster_params)
    asked = [parse_qs(r.query) for r in server.requests_log if r.path.rstrip("/") == "/eenheden"]
    first_pages = [q for q in asked if "cursor" not in q]
    assert sorted(q["clusters.code"][0] for q in first_pages) == sorted(dataset.complexes() * 2)
    assert all(q["clusters.soort.code"] == ["FIN"] for q in asked)
    assert all(r.status == 200 for r in server.requests_log)


def test_a_wrong_count_is_a_failed_run(
    server: FakeVeraServer, dataset: VeraDataset, tmp_path: Path
) -> None:
    expected = dlt_bench.fake_counts(server.url, KEY)

    runs = dlt_bench.run_pipeline(
        server.url, KEY_ENV, dataset.complexes()[:2], tmp_path, expected, "replace"
    )

    assert runs and not any(r.ok for r in runs)
    assert all(r.counts["eenheden"] < expected["eenheden"] for r in runs)
    assert all("WRONG COUNT" in r.note for r in runs)
