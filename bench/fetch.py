"""The fetch floor: paging through every endpoint of the ERP as the sync does, nothing more.

The same client, asking for each next page while it parses this one as the sync does
(``read_ahead``), the same threads (units in runs of complexes, agreements, relations) and, for
a large relations listing, the same second process (:mod:`bench.fetch_worker`); JSON parsed,
nothing mapped or stored. What any importer of this ERP pays. It imports only what a fetch
needs (the VERA client and the configuration), so that :mod:`bench.fetch_process` can time it
from a new Python as the command benchmark times the command.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from connectors.erp.sources import cpus
from connectors.erp.vera import VeraClient, cluster_params
from connectors.erp.vera.snapshot import UNIT_READERS
from keukentafel.config import CorporationFile


def fetch_only(config: CorporationFile) -> tuple[float, int]:
    """Seconds to page through every endpoint (parsing JSON, nothing else) and the item count.

    The cyclic garbage collector is paused, as the sync pauses it: the floor is the fastest
    fetch we know how to do, so that a ratio against it is not flattered by a slow floor.
    Paused here rather than with ``sync_register.gc_paused``: importing the use case brings the
    store and SQLAlchemy, which a fetch does not need and bench/fetch_process.py would then time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _fetch_only(config)
    finally:
        if enabled:
            gc.enable()


def _fetch_only(config: CorporationFile) -> tuple[float, int]:
    vera = config.source.vera
    assert vera is not None
    started = time.perf_counter()
    with VeraClient(vera, env=os.environ) as client:

        def units(part: list[str]) -> int:
            return sum(
                len(page)
                for code in part
                for page in client.pages(
                    "/eenheden", cluster_params(code, vera.cluster_kind), read_ahead=True
                )
            )

        def endpoint(path: str) -> int:
            return sum(len(page) for page in client.pages(path, {}, read_ahead=True))

        def relations() -> int:
            if vera.second_process_above is None or cpus() < 2:
                return endpoint("/relaties")
            # as the sync reads a large relations listing: in a second process
            answer = subprocess.run(
                [sys.executable, "-m", "bench.fetch_worker"],
                input=vera.model_dump_json().encode(),
                capture_output=True,
                check=True,
                cwd=Path(__file__).resolve().parent.parent,
            )
            return int(answer.stdout)

        complexes = config.complexes()
        readers = UNIT_READERS if len(complexes) >= 2 * UNIT_READERS else 1  # as the sync
        size = -(-len(complexes) // readers) if complexes else 1
        parts = [complexes[start : start + size] for start in range(0, len(complexes), size)]
        with ThreadPoolExecutor(2 + len(parts)) as pool:
            futures = [
                *(pool.submit(units, part) for part in parts),
                pool.submit(relations),
                pool.submit(endpoint, "/overeenkomsten"),
            ]
            items = sum(f.result() for f in futures)
    return time.perf_counter() - started, items
