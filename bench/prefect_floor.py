"""Prefect's own floor: one flow run that does nothing, from a new Python, timed as the command is.

    .venv/bin/python -m bench.prefect_floor            # a flow run on PREFECT_API_URL's server
    .venv/bin/python -m bench.prefect_floor --no-flow  # the same process without Prefect

The orchestration overhead that :mod:`bench.command_bench` reports (the command on a Prefect
server minus the same use case without Prefect, turn by turn) holds two parts: what Prefect costs
any flow run started from a command, and what Keukentafel's flow adds to that. This module times
the first part. It starts as ``keukentafel`` does (a new Python, with the flow decorator the
flows use: flows/decorator.py), imports Prefect, runs an asynchronous flow that takes a
corporation's code and returns at once (the sync flow is asynchronous: flows/sync_register.py),
and ends as the command ends (keukentafel/cli/program.py). With ``--no-flow`` it imports and
runs nothing of Prefect and ends the same way: the difference of the two is Prefect's import,
the flow run's creation, its state changes and its end (Prefect's settings as the command sets
them: keukentafel/settings.py, ``quiet_prefect_defaults``). Nothing Keukentafel does can make a
flow run cheaper than that, so it is also the least orchestration overhead the command can
have. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time

from keukentafel.cli.program import end
from keukentafel.settings import quiet_prefect_defaults


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--no-flow", action="store_true", help="start and end without Prefect: the baseline"
    )
    args = parser.parse_args()
    quiet_prefect_defaults(verbose=False)  # Prefect's settings as the command sets them
    started = time.perf_counter()
    state = "none" if args.no_flow else run_empty_flow()
    print(json.dumps({"state": state, "seconds": round(time.perf_counter() - started, 3)}))
    end(0)  # as the command ends


def run_empty_flow() -> str:
    """Import Prefect and run one asynchronous flow that does nothing; its final state's name."""
    import asyncio

    from flows.decorator import flow

    @flow(name="bench-empty", log_prints=False)
    async def empty(corporation: str) -> str:
        return corporation

    state = asyncio.run(empty("BENCH", return_state=True))
    return str(state.name)


if __name__ == "__main__":
    main()
