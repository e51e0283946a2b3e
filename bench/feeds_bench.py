"""Benchmark: a contractor's feed for 80,000 units, 5% changed since the last delivery.

    .venv/bin/python -m bench.feeds_bench                      # 80,000 units, SQLite and PostgreSQL
    .venv/bin/python -m bench.feeds_bench --units 20000 --backends sqlite

Set-up (untimed): a register of ``--units`` units (one household each, in complexes of 100) is
synced into a fresh store; the contractor's feed is refreshed and every webhook delivered once,
so the contractor is up to date. Then 5% of the households change (a new surname) and the
register is synced again (untimed).

Timed, as the flow does it: the feed computed for every unit (register read, go / no-go, the
records and their digests), the changes logged under new sequences with their webhooks queued,
and the webhooks signed and POSTed to a local receiver (the fake contractor, which verifies every
signature) in another process. Target on a 2-core machine: under 10 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from keukentafel.bootstrap import open_store
from keukentafel.config.feeds import ContractorConfig
from keukentafel.domain.model import (
    Address,
    AgreementKind,
    ContactKind,
    ContactPoint,
    Lease,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    PersonName,
    Project,
    ProjectKind,
    Resident,
    Tenure,
    Unit,
    amsterdam_date,
)
from keukentafel.domain.planning.webhooks import secret_text
from keukentafel.domain.register import Snapshot
from keukentafel.feeds.sender import WebhookSender
from keukentafel.usecases.feeds import (
    ContractorFeed,
    TallyGate,
    deliver_webhooks,
    no_tally,
    refresh_feed,
)
from keukentafel.usecases.sync_register import sync_register

CORP = "BENCH"
SECRET = secret_text(b"b" * 32)


class Source:
    name = "bench"

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def read(self, progress: Any = None, memo: Any = None) -> Snapshot:
        return self.snapshot


def snapshot(units: int, changed: int = 0) -> Snapshot:
    """``units`` households; the first ``changed`` of them with another surname."""
    found_units, residents, leases = [], [], []
    for n in range(1, units + 1):
        code = f"VHE{n:06d}"
        found_units.append(
            Unit(
                code,
                f"E{n}",
                f"CPX-{(n - 1) // 100 + 1:04d}",
                Address("Dijkstraat", n, "1234 AB", "Dijkwijk"),
                Tenure.CORPORATION_RENTAL,
            )
        )
        surname = f"Verhuisd{n}" if n <= changed else f"Jansen{n}"
        residents.append(
            Resident(
                f"R{n}",
                PersonName(surname, "J."),
                contacts=(ContactPoint(ContactKind.MOBILE, f"06-{n:08d}", True),),
            )
        )
        leases.append(
            Lease(
                f"L{n}",
                code,
                AgreementKind.RENTAL,
                LeaseStatus.RUNNING,
                date(2015, 1, 1),
                None,
                (LeaseParty(f"R{n}", PartyRole.TENANT),),
            )
        )
    return Snapshot(source="bench", units=found_units, residents=residents, leases=leases)


def start_receiver() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "connectors.fakes.contractor", "--port", "0", "--secret", SECRET],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("http"):
            return proc, line.strip()
    raise RuntimeError("the fake contractor did not start")


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


def run(db_url: str, units: int, hook_url: str) -> dict[str, float | int]:
    sessions = open_store(db_url)
    complexes = tuple(f"CPX-{n:04d}" for n in range(1, (units - 1) // 100 + 2))
    project = Project("ALL", "All", CORP, ProjectKind.RENOVATION_OCCUPIED, complexes)
    feed = ContractorFeed("BOUW", (project,), batch_size=100, webhooks=True)
    config = ContractorConfig.model_validate(
        {
            "code": "BOUW",
            "name": "Bouw",
            "projects": ["ALL"],
            "webhook": {"url": hook_url, "secret_envs": ["BENCH_WHSEC"]},
        }
    )
    sender = WebhookSender([config], {"BENCH_WHSEC": SECRET})
    gate = TallyGate(no_tally)
    on = amsterdam_date(datetime.now(UTC))  # the service's day, not the machine's
    sync_register(sessions, CORP, Source(snapshot(units)), max_shrink=1.0)
    refresh_feed(sessions, CORP, feed, gate, on=on)
    deliver_webhooks(sessions, CORP, ["BOUW"], sender)  # the contractor is up to date
    changed = units // 20
    sync_register(sessions, CORP, Source(snapshot(units, changed)), max_shrink=1.0)

    started = time.perf_counter()
    report = refresh_feed(sessions, CORP, feed, gate, on=on)
    refreshed = time.perf_counter()
    delivery = deliver_webhooks(sessions, CORP, ["BOUW"], sender)
    finished = time.perf_counter()
    sender.close()
    assert report.changed == changed, report
    assert delivery.delivered.get("BOUW") == report.webhooks_queued
    return {
        "changed": report.changed,
        "webhooks": report.webhooks_queued,
        "compute+log": refreshed - started,
        "deliver": finished - refreshed,
        "total": finished - started,
    }


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
    proc, hook_url = start_receiver()
    rows = []
    try:
        for backend in args.backends.split(","):
            drop = None
            if backend == "sqlite":
                db_url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='kt-bench-')) / 'bench.db'}"
            else:
                try:
                    db_url, drop = pg_database(args.pg_url)
                except Exception as exc:  # no PostgreSQL here: say so, keep the SQLite numbers
                    print(f"postgresql skipped: {type(exc).__name__}")
                    continue
            try:
                print(f"{backend}: setting up {args.units} units (untimed) ...", flush=True)
                result = run(db_url, args.units, hook_url)
                rows.append((backend, result))
                print(f"{backend}: {result}", flush=True)
            finally:
                if drop:
                    drop()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print("\nbackend     units   changed  webhooks  compute+log  deliver   total")
    for backend, r in rows:
        print(
            f"{backend:<11} {args.units:>6} {r['changed']:>8} {r['webhooks']:>9} "
            f"{r['compute+log']:>11.2f} {r['deliver']:>8.2f} {r['total']:>7.2f}"
        )


if __name__ == "__main__":
    main()
