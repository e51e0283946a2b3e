"""Benchmark: full register sync of a large corporation, then a re-sync with no change.

    make bench                       # 80,000 units, SQLite and (when reachable) PostgreSQL
    .venv/bin/python -m bench.sync_bench --units 20000 --backends sqlite

The fake VERA server runs in its own process (as a real ERP would), generating realistic data.
For each backend it measures:

1. full sync into an empty store (fetch, map, validate, diff, write);
2. fetch only: paging through every endpoint with the same client and concurrency as the sync,
   parsing JSON, no mapping and no database: the floor any importer pays (measured right before
   the re-sync, so both see the same load on a shared machine);
3. re-sync with no change, in a new VeraSource as the nightly run would have (the page memo comes
   from the store, not from this process): must write 0 rows.

One untimed fetch first warms the fake server (it keeps serialised pages per dataset version).

Targets on a 2-core machine: full sync <= 20 s; re-sync writes 0 rows and takes at most 1.1x the
fetch-only time.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.fetch import fetch_only
from connectors.erp.sources import VeraSource
from keukentafel.bootstrap import open_store
from keukentafel.config import CorporationFile
from keukentafel.usecases.sync_register import sync_register

KEY_ENV = "KEUKENTAFEL_BENCH_VERA_KEY"


def start_fake(units: int, key: str, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """The fake VERA server in its own process (``extra``: its data-shape options); its URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connectors.fakes.vera_server",
            "--units",
            str(units),
            "--port",
            "0",
            f"--api-key={key}",  # one argument, also when the key starts with "-"
            *extra,
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("http"):
            return proc, line.strip().split()[0]
    raise RuntimeError("the fake VERA server did not start")


def corporation(url: str, complexes: list[str]) -> CorporationFile:
    return CorporationFile.model_validate(
        {
            "corporation": {"code": "BENCH", "name": "Benchmark"},
            "source": {
                "kind": "vera",
                "vera": {
                    "base_url": url,
                    "auth": {"mode": "api_key", "api_key_env": KEY_ENV},
                    "timeout_seconds": 60,
                },
            },
            "projects": [
                {"code": "ALL", "name": "All", "kind": "major_maintenance", "complexes": complexes}
            ],
            "sync": {"max_shrink": 0.1},
        }
    )


def pg_database(base: str) -> tuple[str, Any]:
    url = make_url(base)
    name = f"kt_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=80_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "KEUKENTAFEL_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()

    key = secrets.token_urlsafe(16)
    os.environ[KEY_ENV] = key
    print(f"generating {args.units} units in the fake VERA server (own process) ...", flush=True)
    proc, url = start_fake(args.units, key)
    try:
        complexes = [f"CPX-{n:04d}" for n in range(1, max(1, round(args.units / 100)) + 1)]
        config = corporation(url, complexes)
        warm_seconds, items = fetch_only(config)
        print(f"warm-up fetch (untimed): {items} items in {warm_seconds:.2f} s", flush=True)
        rows: list[tuple[str, str, float, int, str]] = []
        fetches: list[float] = []
        for backend in args.backends.split(","):
            drop = None
            if backend == "sqlite":
                folder = tempfile.mkdtemp(prefix="kt-bench-")
                db_url = f"sqlite:///{Path(folder) / 'bench.db'}"
            else:
                try:
                    db_url, drop = pg_database(args.pg_url)
                except (
                    Exception
                ) as exc:  # no PostgreSQL here: say so, do not fail the SQLite numbers
                    print(f"postgresql skipped: {type(exc).__name__}")
                    continue
            try:
                sessions = open_store(db_url)
                for label in ("full sync", "re-sync"):
                    if label == "re-sync":
                        fetch_seconds, items = fetch_only(config)
                        fetches.append(fetch_seconds)
                        rows.append((backend, "fetch only", fetch_seconds, 0, ""))
                        print(
                            f"{backend:<10} fetch only {fetch_seconds:6.2f} s  ({items} items)",
                            flush=True,
                        )
                    started = time.perf_counter()
                    result = sync_register(sessions, "BENCH", VeraSource(config, os.environ))
                    seconds = time.perf_counter() - started
                    ratio = f"{seconds / fetch_seconds:.2f}x fetch" if label == "re-sync" else ""
                    rows.append((backend, label, seconds, result.rows_written, ratio))
                    print(
                        f"{backend:<10} {label:<9} {seconds:6.2f} s  rows written {result.rows_written:>7}  {ratio}",
                        flush=True,
                    )
            finally:
                if drop:
                    drop()
        print("\nbackend     step        seconds  rows written")
        for backend, label, seconds, written, ratio in rows:
            print(f"{backend:<11} {label:<10} {seconds:8.2f}  {written:>12}  {ratio}")
        if fetches:
            print(
                f"fetch only (floor)    {sorted(fetches)[len(fetches) // 2]:8.2f}  ({items} items, median)"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
