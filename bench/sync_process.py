"""The sync use case alone in a new process: what ``keukentafel sync`` does, minus Prefect.

    .venv/bin/python -m bench.sync_process --config FILE

Builds the App from the environment and the corporation file exactly as the command does and
calls ``App.run_sync``; prints one JSON line (seconds of the use case, rows written, kept aside).
:mod:`bench.command_bench` runs it beside the command: the difference between the two is the
command's orchestration (Prefect) overhead, process start, imports and the process's end
(keukentafel/cli/program.py) being paid by both.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from keukentafel.bootstrap import CorporationRegistry, build
from keukentafel.cli.program import end
from keukentafel.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    corporations = CorporationRegistry.from_files([args.config])
    code = corporations.single().code
    with build(Settings.from_env(), corporations=corporations) as app:
        started = time.perf_counter()
        result = app.run_sync(code)
        seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "use_case_seconds": round(seconds, 3),
                "rows_written": result.rows_written,
                "kept_aside": len(result.rejected),
                "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
                "peak_mb": round(usage.ru_maxrss / 1024, 1),
            }
        )
    )
    end(0)  # as the command ends


if __name__ == "__main__":
    main()
