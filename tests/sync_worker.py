"""A separate process that syncs a register or migrates a store (for the two-process tests).

python -m tests.sync_worker sync DATABASE_URL GATE_DIR UNITS [WAIT_SECONDS]
    Sync corporation TST from a source of UNITS generated units that, once it holds the sync lock
    and starts reading, writes ``GATE_DIR/reading-<pid>`` and waits for ``GATE_DIR/go``.
    Prints the outcome; exit code 3 with the message when another sync is running.
python -m tests.sync_worker migrate DATABASE_URL GATE_DIR
    Connect, write ``GATE_DIR/ready-<pid>``, wait for ``GATE_DIR/go``, then migrate the store to
    the newest schema.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from keukentafel.domain.register import Snapshot
from keukentafel.store.db import make_engine, session_factory, upgrade
from keukentafel.usecases.page_memo import PageMemo
from keukentafel.usecases.sync_register import ProgressFn, SyncBusy, sync_register
from tests.builders import CORP, register


def _wait_for(path: Path, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} did not appear")
        time.sleep(0.01)


class GatedSource:
    """A register source that says it is reading, then waits for the test to let it go on."""

    name = "gated"

    def __init__(self, gate: Path, units: int) -> None:
        self.gate = gate
        self.units = units

    def read(self, progress: ProgressFn | None = None, memo: PageMemo | None = None) -> Snapshot:
        (self.gate / f"reading-{os.getpid()}").touch()
        _wait_for(self.gate / "go")
        return register(self.units, source=self.name)


def main() -> None:
    mode, database_url, gate = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    engine = make_engine(database_url)
    if mode == "migrate":
        engine.connect().close()  # connected and imported: only the migration itself is left
        (gate / f"ready-{os.getpid()}").touch()
        _wait_for(gate / "go")
        upgrade(engine)
        print("migrated", flush=True)
        return
    units = int(sys.argv[4])
    wait = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    try:
        result = sync_register(
            session_factory(engine), CORP, GatedSource(gate, units), wait_seconds=wait
        )
    except SyncBusy as exc:
        print(f"busy: {exc}", flush=True)
        raise SystemExit(3) from None
    print(f"run={result.run_id} outcome={result.outcome} events={len(result.events)}", flush=True)


if __name__ == "__main__":
    main()
