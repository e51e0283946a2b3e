"""The ``keukentafel`` program (pyproject.toml): the commands of :mod:`keukentafel.cli.app`, and
an end without the interpreter's teardown.

When a command has finished, Python's own shutdown does four things: it waits for the process's
other (non-daemon) threads, runs the exit handlers (``atexit``: Prefect sends its last events
and log lines there, logging flushes its handlers), flushes the standard streams, and then frees
every object of every module. The last step does nothing the command needs, and it is not small:
0.3 s after a sync of 80,000 units, 0.7 s when Prefect is loaded (measured in README,
"Benchmarks"), on every command and every scheduled run started from the command line.

:func:`end` does the first three steps as Python would and then ends the process with
``os._exit``. The App has closed its store by then (a command's App is closed when the command
ends: keukentafel/cli/app.py), and every file a command writes is written and closed inside the
command. If any other non-daemon thread is still running, the process ends the ordinary way,
so that it is waited for. An exception other than ``SystemExit`` (a bug) also ends the ordinary
way, with its traceback.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from contextlib import suppress
from typing import NoReturn


def main() -> NoReturn:
    """Run the command line's command, then :func:`end` with its exit status."""
    from keukentafel.cli.app import app

    try:
        app()
    except SystemExit as ending:
        end(ending.code)
    end(0)  # a Typer app run standalone ends with SystemExit; this is for safety only


def end(code: str | int | None) -> NoReturn:
    """End the process with ``code`` as ``sys.exit(code)`` would, skipping the teardown."""
    if any(
        thread.is_alive() and not thread.daemon and thread is not threading.main_thread()
        for thread in threading.enumerate()
    ):
        sys.exit(code)  # Python's own shutdown waits for them
    atexit._run_exitfuncs()  # as Python's shutdown runs them: last registered first
    status = exit_status(code)
    if isinstance(code, str):  # as Python prints a SystemExit message
        with suppress(OSError, ValueError):
            print(code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed pipe (`| head`) or stream loses nothing
            stream.flush()
    os._exit(status)


def exit_status(code: str | int | None) -> int:
    """The process's exit status for a ``SystemExit`` code: 0 for None, the number for an
    integer (modulo 256, as the system keeps it), else 1 (its message is printed)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1
