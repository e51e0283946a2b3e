"""The second process of a VERA sync, started before it is needed.

A large relations listing is read by a second process (connectors/erp/vera/worker.py). A new
Python spends its first 0.6-0.8 s (on the 2-core benchmark machine) importing what it needs
(the HTTP client, the configuration models, the mapping) before it can read a page. Started when
the sync meets its first page of relations, that time is on the sync's critical path: in a re-sync
of an unchanged ERP the second process *is* the critical path.

:func:`warm_up` starts one such process ahead, when the ``keukentafel sync`` command starts
(keukentafel/bootstrap_warm.py): it imports on the second core while the first core starts the
command (imports, the corporation file, the store; with Prefect also Prefect's import and the
flow run's start) and then waits for its job on its stdin. The sync's
:class:`~connectors.erp.vera.worker.ListingWorker` :func:`take` s it instead of starting a new
one. A process that is not taken (a spreadsheet source, a small register, a sync that failed
before it read) is killed when this process ends; one whose parent died first reads the end of
its stdin and ends.

This module imports the standard library only: the program imports it before anything else.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from pathlib import Path

#: The child's program: the folder this process imported ``connectors`` from first on its path,
#: then :func:`connectors.erp.vera.worker.main` under the module's own name (what it pickles
#: names ``connectors.erp.vera.worker``, which the parent can import). With ``-P`` the child does
#: not put its working directory first, as ``python -m`` would: a ``connectors`` folder there
#: (another checkout, another version) is never what it runs; it runs the code its parent runs.
_CHILD = (
    "import sys; sys.path.insert(0, {root!r}); from connectors.erp.vera.worker import main; main()"
)

#: The process started ahead and not taken yet (one per process at most).
_spare: list[subprocess.Popen[bytes]] = []


def cpus() -> int:
    """Cores this process may run on (a second process only helps with a second core)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def start() -> subprocess.Popen[bytes]:
    """A new second process: it imports what it needs, then waits for its job on stdin."""
    return subprocess.Popen(
        [sys.executable, "-P", "-c", _CHILD.format(root=str(Path(__file__).resolve().parents[2]))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )


def warm_up() -> bool:
    """Start one second process ahead, unless one is waiting already or this process has one
    core only; whether one is waiting now."""
    if not _spare and cpus() > 1:
        _spare.append(start())
        atexit.unregister(discard)  # registered once however often it is called
        atexit.register(discard)
    return bool(_spare)


def waiting() -> int | None:
    """The process id of the process started ahead while it waits to be taken, else None."""
    return _spare[0].pid if _spare and _spare[0].poll() is None else None


def take() -> subprocess.Popen[bytes] | None:
    """The process started ahead, if it is still waiting for its job (each is taken once)."""
    while _spare:
        process = _spare.pop()
        if process.poll() is None:
            return process
        _close(process)  # it ended (it could not start): the caller starts a new one
    return None


def discard() -> None:
    """Kill the process started ahead if nobody took it (at this process's end)."""
    for process in _spare:
        if process.poll() is None:
            process.kill()
        _close(process)
    _spare.clear()


def _close(process: subprocess.Popen[bytes]) -> None:
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    process.wait()
