"""The fetch floor from a new Python: what the fetch alone costs when it starts as a command does.

    .venv/bin/python -m bench.fetch_process --config FILE

Reads the corporation file and pages through every endpoint as :func:`bench.fetch.fetch_only`
does (the same client, threads and second process; JSON parsed, nothing mapped or stored), then
prints one JSON line with the item count. :mod:`bench.command_bench` times the whole process, as
it times ``keukentafel sync``: Python's start, the imports a fetch needs, the fetch and the end.
A command that did nothing but fetch would take this long; the re-sync's ratio to it says what
the command adds that it could still cut.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.fetch import fetch_only
from keukentafel.cli.program import end
from keukentafel.config import load_config


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    seconds, items = fetch_only(load_config(args.config))
    print(json.dumps({"items": items, "fetch_seconds": round(seconds, 3)}))
    end(0)  # as the command ends


if __name__ == "__main__":
    main()
