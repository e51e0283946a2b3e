"""Benchmark: ``keukentafel sync --config FILE`` as users run it, on every contract-legal shape.

    .venv/bin/python -m bench.command_bench                       # 80,000 units, every shape
    .venv/bin/python -m bench.command_bench --units 20000 --shapes id-500x160
    .venv/bin/python -m bench.command_bench --modes plain,prefect-server --prefect-shapes all
    .venv/bin/python -m bench.command_bench --shapes id-500x160 --modes plain --dlt
    .venv/bin/python -m bench.command_bench --postgresql postgresql+psycopg://postgres@127.0.0.1/postgres

For each data shape the fake VERA server runs in its own process (generating the data) and the
command runs in a new process, timed by wall clock, against a new SQLite store (with
``--postgresql URL``: a new database on that server, as production stores):

1. fetch only: paging + JSON through the same client and concurrency as the sync, nothing
   mapped or stored: the floor any importer pays (in this process, once per shape, warm server;
   the target's ratio is against this one). Also timed from a new Python as the command is
   (``fetch only, new process``: bench/fetch_process.py), which adds Python's start, the
   imports a fetch needs and the end: the re-sync's ratio to that says what the command adds
   beyond what any new process pays;
2. full sync: ``keukentafel sync`` into an empty store;
3. re-sync with no change: the command again; it must write 0 rows (read from ``sync_runs``).

Modes (``--modes``): ``plain`` runs the command without ``PREFECT_API_URL`` (before the
operations issue landed that meant Prefect's temporary server, ~12 s; after it, no Prefect);
``prefect-server`` starts ``prefect server start`` on loopback in its own process (as production
runs it; stopped between this mode's turns, as its services' loops take CPU) and sets
``PREFECT_API_URL``; ``use-case`` runs :mod:`bench.sync_process`, the same App
and use case in a new process without any Prefect: orchestration overhead = command - use case.
In each turn of ``prefect-server`` the benchmark also times Prefect's own floor on the same
server (:mod:`bench.prefect_floor`: an empty flow run from a new Python, minus the same process
without Prefect): the least overhead any command that runs a flow can have. The summary gives it,
its share of the full sync and the overhead beyond it (what Keukentafel's flow adds).

Each checkout's packages are compiled to bytecode first (:func:`compile_bytecode`), as an
installed program has them, also where ``PYTHONDONTWRITEBYTECODE`` is set.

Peak memory is ``ru_maxrss`` of the command process (``os.wait4``; Linux counts its reaped
children in it too, so with Prefect's temporary server that one is included); its CPU seconds
(user and system, the VERA worker included) come from the same call. With ``--repeat N`` the
summary gives the median run, the fastest (``best``: on a machine whose speed drifts, the least
disturbed run) and the median CPU seconds. Every timed step also records the busy CPU seconds
of the whole machine meanwhile (``/proc/stat``: every process, the fake ERP and a Prefect server
too); the summary gives them as a share of all processors (``*_machine_busy``): near 1, a step's
time is its processor time.

Shapes (``--shapes``, comma-separated or ``all``)::

    code-800       agreements name id and code, ~800 complexes of ~100 (the old benchmark)
    id-500x160     ids only, 500 complexes of ~160
    id-multi-500   ids only, 3 units per agreement (2 parking spaces not listed), 500 complexes
    mixed-1        half by id only, 2 units per agreement, one complex of all units

The fake answers on loopback at once. ``--erp-latency-ms MS`` makes it answer every page MS
milliseconds late, as an ERP across a network does (its round trip and its own work for a page
of at most 100 items, the contract's largest): what a sync against a real ERP is bound by.

``--dlt`` (off by default: it adds minutes per shape) also times dlt's ``rest_api`` pipeline
(:mod:`bench.dlt_bench`, in its own virtualenv ``.bench-venv/dlt``, made on first use; dlt is
never a dependency) right after the command's runs of each shape, on the same fake server: a full
load into an empty duckdb pipeline, then an identical re-run, write disposition ``merge`` on
``id`` (``--dlt-dispositions merge,replace`` adds ``replace``). The summary gains ``dlt full``,
``dlt re-run`` and ``sync / dlt`` (full sync / dlt's full load, merge; target <= 0.25).

Results go to ``bench/results/command-<timestamp>.json`` (committed as a measured record when
they are quoted in the README) and a table is printed. Targets on a 2-core machine: full sync
<= 15 s for every shape; re-sync writes 0 rows in <= 1.1x fetch-only; orchestration overhead
<= 10% of a full sync; peak memory < 400 MB.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, make_url, text

from bench import dlt_bench
from bench.fetch import fetch_only
from bench.sync_bench import corporation, start_fake
from connectors.fakes.vera_server import milliseconds

KEY_ENV = "KEUKENTAFEL_BENCH_VERA_KEY"
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Shape:
    name: str
    complexes: int | None  # None: one per 100 units
    refs: str
    units_per_agreement: int
    about: str

    def server_args(self) -> list[str]:
        args = ["--refs", self.refs, "--units-per-agreement", str(self.units_per_agreement)]
        return args + (["--complexes", str(self.complexes)] if self.complexes else [])


SHAPES = {
    s.name: s
    for s in (
        Shape("code-800", None, "code", 1, "id and code, ~1 complex per 100 units"),
        Shape("id-500x160", 500, "id", 1, "ids only, 500 complexes"),
        Shape("id-multi-500", 500, "id", 3, "ids only, 3 units per agreement, 500 complexes"),
        Shape("mixed-1", 1, "mixed", 2, "half by id only, 2 units per agreement, one complex"),
    )
}
MODES = ("plain", "prefect-server", "use-case", "before")
#: The step of the fetch floor timed from a new Python (bench/fetch_process.py).
NEW_PROCESS_FETCH = "fetch only, new process"
#: The steps of Prefect's own floor (bench/prefect_floor.py): a new Python that runs one empty
#: flow on the server, and the same process without Prefect; the difference is the least
#: orchestration overhead any command that runs a flow can have.
PREFECT_FLOW, PREFECT_NO_FLOW = "prefect floor, empty flow", "prefect floor, no flow"
#: Pairs of those two processes per turn of the prefect-server mode (about a second each).
PREFECT_FLOOR_PAIRS = 3
#: ``--before DIR``: the checkout whose code the ``before`` mode runs (PYTHONPATH), e.g. a
#: ``git worktree add DIR <commit>`` of the code before a change, in the same session.
BEFORE: dict[str, Path] = {}
REPEAT = {"n": 1}
#: ``--erp-latency-ms MS``: the fake ERP answers every page this late (0: at once, on loopback).
LATENCY = {"ms": 0.0}
#: ``--postgresql URL``: the server (an administrative URL) on which each pair of runs gets a
#: database of its own, instead of a new SQLite file.
POSTGRESQL: dict[str, str] = {}


@dataclass
class Run:
    shape: str
    mode: str
    step: str  # fetch only | full sync | re-sync
    seconds: float
    rows_written: int | None = None
    peak_mb: float | None = None
    cpu_s: float | None = None  # user + system CPU of the process and the children it waited for
    # Busy CPU seconds of the whole machine meanwhile (/proc/stat): the command, its second
    # process, the fake ERP, a Prefect server and anything else that ran (None off Linux).
    machine_cpu_s: float | None = None
    use_case_seconds: float | None = None
    turn: int = 0  # with --repeat: the round of turns it ran in (modes take turns)
    ok: bool = True
    note: str = ""


@dataclass
class Record:
    units: int
    started: str
    machine: dict[str, Any]
    runs: list[Run] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PausedServer:
    """A Prefect server that runs only while its mode runs: between its turns its processes are
    stopped (SIGSTOP), as its services' loops take CPU (about 3% of a core idle) the other modes
    would otherwise share."""

    def __init__(self, home: Path) -> None:
        started = time.perf_counter()
        self.process, self.url = start_prefect_server(home)
        print(f"prefect server healthy at {self.url} after {time.perf_counter() - started:.1f} s")
        self._signal(signal.SIGSTOP)

    def _signal(self, which: signal.Signals) -> None:
        os.killpg(self.process.pid, which)  # its own session: the server and any children

    @contextmanager
    def running(self) -> Iterator[str]:
        self._signal(signal.SIGCONT)
        _wait_healthy(self.url, self.process, timeout=30)
        try:
            yield self.url
        finally:
            self._signal(signal.SIGSTOP)

    def close(self) -> None:
        self._signal(signal.SIGCONT)
        self.process.terminate()
        self.process.wait(timeout=30)


def start_prefect_server(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``prefect server start`` on loopback with its own home (SQLite); waits until healthy."""
    port = free_port()
    env = {**os.environ, **_quiet_prefect(home)}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_healthy(url, proc, timeout=120)
    except RuntimeError:
        proc.terminate()
        raise
    return proc, url


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server stopped with exit code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"prefect server did not become healthy within {timeout:.0f} s")


def _quiet_prefect(home: Path) -> dict[str, str]:
    return {
        "PREFECT_HOME": str(home),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }


def write_config(folder: Path, url: str, complexes: list[str]) -> Path:
    data = corporation(url, complexes).model_dump(mode="json", exclude_defaults=True)
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def entry_point(checkout: Path) -> str:
    """The ``keukentafel`` program of a checkout (``module:function``, from its pyproject.toml)."""
    with (checkout / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["scripts"]["keukentafel"])


#: The packages a command imports from its checkout.
PACKAGES = ("keukentafel", "connectors", "flows")


def compile_bytecode(checkout: Path) -> None:
    """Compile a checkout's packages to bytecode, as an installed package has it.

    ``pip install`` compiles what it installs (the Dockerfile's image has it); an editable
    install leaves it to the first run, which cannot write it where ``PYTHONDONTWRITEBYTECODE``
    is set (this CI, many containers). Without it every command compiled the modules it imports
    from source again (about 0.2 s of each process's start, in the sync's second process too),
    which no installed program does. Up-to-date bytecode is kept."""
    for package in PACKAGES:
        folder = checkout / package
        if folder.is_dir() and not compileall.compile_dir(folder, quiet=2):
            raise RuntimeError(f"could not compile {folder}")


def machine_cpu_seconds() -> float | None:
    """CPU seconds the machine's processors have been busy since boot, all of them together
    (``/proc/stat``: user, nice, system, irq, softirq and steal; not idle or waiting for I/O);
    None where there is no ``/proc/stat``."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def busy_since(before: float | None) -> float | None:
    """The machine's busy CPU seconds since ``before`` (a :func:`machine_cpu_seconds`)."""
    after = machine_cpu_seconds()
    return None if before is None or after is None else round(after - before, 2)


def machine_share(run: Run) -> float | None:
    """How busy the machine's processors were during a run: its busy CPU seconds over its wall
    clock times the processors (1.0: every processor busy all the time)."""
    cpus = os.cpu_count() or 1
    if run.machine_cpu_s is None or run.seconds <= 0:
        return None
    return round(run.machine_cpu_s / (run.seconds * cpus), 2)


def run_process(
    argv: list[str], env: dict[str, str], cwd: Path = ROOT
) -> tuple[float, float, str, int, float]:
    """Wall-clock seconds, peak RSS (MB, ``ru_maxrss``), output, exit code and CPU seconds (user
    and system, with the children it waited for: the VERA worker) of a new process."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss / 1024, output, proc.returncode, cpu


@contextmanager
def new_database() -> Iterator[str | None]:
    """A new empty PostgreSQL database on the ``--postgresql`` server for one pair of runs,
    dropped afterwards; None (a SQLite file) without that option."""
    admin = POSTGRESQL.get("url")
    if admin is None:
        yield None
        return
    name = f"kt_cmd_{secrets.token_hex(6)}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin).set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def last_run(db_url: str) -> tuple[str, int]:
    """Outcome and rows written of the store's last sync run."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT outcome, rows_written FROM sync_runs ORDER BY id DESC LIMIT 1")
            ).one()
        return str(row[0]), int(row[1])
    finally:
        engine.dispose()


class Bench:
    """One shape's runs: the fake server is up; each mode gets a new store and a new process."""

    def __init__(self, shape: Shape, config: Path, folder: Path, record: Record) -> None:
        self.shape = shape
        self.config = config
        self.folder = folder
        self.record = record

    def env(self, mode: str, store: Path, prefect_url: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        env.update(_quiet_prefect(self.folder / f"prefect-{mode}"))
        env.update(
            KEUKENTAFEL_DATABASE_URL=f"sqlite:///{store / 'keukentafel.db'}",
            KEUKENTAFEL_DATA_DIR=str(store),
            KEUKENTAFEL_OUTPUT_DIR=str(store / "out"),
            KEUKENTAFEL_CONFIG=str(self.config),
        )
        if prefect_url:
            env["PREFECT_API_URL"] = prefect_url
        if mode == "before":
            env["PYTHONPATH"] = str(BEFORE["dir"])  # its packages before the installed ones
        return env

    def argv(self, mode: str) -> list[str]:
        command = ["sync", "--config", str(self.config), "--no-progress"]
        if mode == "use-case":
            return [sys.executable, "-m", "bench.sync_process", "--config", str(self.config)]
        if mode == "before":  # its own entry point, whatever the installed script names now
            module, _, function = entry_point(BEFORE["dir"]).partition(":")
            return [
                sys.executable,
                "-c",
                f"from {module} import {function}; {function}()",
                *command,
            ]
        return [str(BIN / "keukentafel"), *command]

    def pair(self, mode: str, prefect_url: str | None = None, turn: int = 0) -> None:
        """A full sync and a re-sync in a new store."""
        store = Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=self.folder))
        env = self.env(mode, store, prefect_url)
        with new_database() as url:
            if url is not None:
                env["KEUKENTAFEL_DATABASE_URL"] = url
            self._steps(mode, env, turn)
        shutil.rmtree(store, ignore_errors=True)

    def _steps(self, mode: str, env: dict[str, str], turn: int = 0) -> None:
        for step in ("full sync", "re-sync"):
            # Earlier code runs in its own checkout: a process it starts with ``python -m`` (the
            # VERA worker, before it ran with -P) imports from its working directory first.
            cwd = BEFORE["dir"] if mode == "before" else ROOT
            busy = machine_cpu_seconds()
            seconds, peak, output, code, cpu = run_process(self.argv(mode), env, cwd)
            run = Run(self.shape.name, mode, step, seconds, peak_mb=round(peak, 1), turn=turn)
            run.machine_cpu_s = busy_since(busy)
            run.cpu_s = round(cpu, 2)
            if code != 0:
                run.ok, run.note = False, f"exit {code}: {output.strip()[-300:]}"
            else:
                outcome, run.rows_written = last_run(env["KEUKENTAFEL_DATABASE_URL"])
                run.ok = outcome == "succeeded"
                run.note = "" if run.ok else f"outcome {outcome}"
            if mode == "use-case" and code == 0:
                run.use_case_seconds = json.loads(output.strip().splitlines()[-1])[
                    "use_case_seconds"
                ]
            self.record.runs.append(run)
            print(_line(run), flush=True)

    def prefect_floor(self, prefect_url: str, turn: int = 0) -> None:
        """Prefect's own floor (bench/prefect_floor.py) on the running server, in the turn of the
        prefect-server mode: :data:`PREFECT_FLOOR_PAIRS` pairs of an empty flow run and the same
        process without Prefect, taking turns."""
        env = self.env("prefect-server", self.folder, prefect_url)
        for _ in range(PREFECT_FLOOR_PAIRS):
            for step, extra in ((PREFECT_FLOW, []), (PREFECT_NO_FLOW, ["--no-flow"])):
                argv = [sys.executable, "-m", "bench.prefect_floor", *extra]
                seconds, peak, output, code, cpu = run_process(argv, env, ROOT)
                run = Run(self.shape.name, "-", step, seconds, peak_mb=round(peak, 1), turn=turn)
                run.cpu_s = round(cpu, 2)
                state = _last_json(output).get("state") if code == 0 else None
                if state not in ("Completed", "none"):
                    run.ok, run.note = False, f"exit {code}: {output.strip()[-300:]}"
                self.record.runs.append(run)
                print(_line(run), flush=True)

    def fetch(self, config: Any) -> None:
        busy = machine_cpu_seconds()
        seconds, items = fetch_only(config)
        run = Run(self.shape.name, "-", "fetch only", seconds, note=f"{items} items")
        run.machine_cpu_s = busy_since(busy)
        self.record.runs.append(run)
        print(_line(run), flush=True)

    def fetch_in_new_process(self) -> None:
        """The floor again, from a new Python (bench/fetch_process.py), timed as the command."""
        argv = [sys.executable, "-m", "bench.fetch_process", "--config", str(self.config)]
        busy = machine_cpu_seconds()
        seconds, peak, output, code, cpu = run_process(argv, dict(os.environ), ROOT)
        run = Run(self.shape.name, "-", NEW_PROCESS_FETCH, seconds, peak_mb=round(peak, 1))
        run.machine_cpu_s = busy_since(busy)
        run.cpu_s = round(cpu, 2)
        if code != 0:
            run.ok, run.note = False, f"exit {code}: {output.strip()[-300:]}"
        else:
            run.note = f"{_last_json(output).get('items')} items"
        self.record.runs.append(run)
        print(_line(run), flush=True)


def _last_json(output: str) -> dict[str, Any]:
    """The last line of a process's output that is a JSON object ({} if none is)."""
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            try:
                found = json.loads(line)
            except ValueError:
                continue
            if isinstance(found, dict):
                return found
    return {}


def _line(run: Run) -> str:
    rows = "" if run.rows_written is None else f"rows {run.rows_written:>7}"
    peak = "" if run.peak_mb is None else f"peak {run.peak_mb:6.0f} MB"
    if run.cpu_s is not None:
        peak += f"  cpu {run.cpu_s:6.2f} s"
    flag = "" if run.ok else "FAILED "
    return (
        f"{run.shape:<13} {run.mode:<15} {run.step:<10} {run.seconds:7.2f} s  {rows:<13} "
        f"{peak}  {flag}{run.note}"
    )


def bench_shape(
    shape: Shape,
    units: int,
    modes: list[str],
    record: Record,
    after: Callable[[Shape, str, list[str], Path], None] | None = None,
) -> None:
    key = secrets.token_urlsafe(16)
    os.environ[KEY_ENV] = key
    print(f"\n{shape.name}: {shape.about}; generating {units} units ...", flush=True)
    latency = [f"--latency-ms={LATENCY['ms']}"] if LATENCY["ms"] > 0 else []
    proc, url = start_fake(units, key, *shape.server_args(), *latency)
    folder = Path(tempfile.mkdtemp(prefix=f"kt-cmd-{shape.name}-"))
    try:
        complexes = _complexes(units, shape)
        config_file = write_config(folder, url, complexes)
        config = corporation(url, complexes)
        warm, items = fetch_only(config)
        print(f"warm-up fetch (untimed): {items} items in {warm:.2f} s", flush=True)
        bench = Bench(shape, config_file, folder, record)
        bench.fetch(config)
        bench.fetch_in_new_process()
        server = PausedServer(folder / "prefect-server") if "prefect-server" in modes else None
        try:
            # --repeat: the modes take turns, so that a machine that slows down for a while
            # slows every mode alike; each pair of runs gets a new store; medians are reported.
            for turn in range(REPEAT["n"]):
                for mode in modes:
                    if server is not None and mode == "prefect-server":
                        with server.running() as prefect_url:
                            bench.pair(mode, prefect_url, turn)
                            bench.prefect_floor(prefect_url, turn)
                    else:
                        bench.pair(mode, turn=turn)
        finally:
            if server is not None:
                server.close()
        if after is not None:  # dlt (--dlt), on the same server right after the command
            after(shape, url, complexes, folder)
        bench.fetch(config)  # again: the floor on both sides of the runs
        bench.fetch_in_new_process()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _complexes(units: int, shape: Shape) -> list[str]:
    count = shape.complexes or max(1, round(units / 100))
    return [f"CPX-{n:04d}" for n in range(1, min(count, units) + 1)]


def summary(record: Record) -> list[dict[str, Any]]:
    """Per shape and mode: full sync, re-sync (rows, ratio to the fetch floor), overhead, peak."""
    rows: list[dict[str, Any]] = []
    for shape in dict.fromkeys(r.shape for r in record.runs):
        runs = [r for r in record.runs if r.shape == shape]
        fetches = sorted(r.seconds for r in runs if r.step == "fetch only")
        floor = fetches[len(fetches) // 2] if fetches else float("nan")
        fresh = _middle([r.seconds for r in runs if r.step == NEW_PROCESS_FETCH and r.ok])
        prefect_floor = _prefect_floor(runs)
        base: dict[str, float] = {}
        for step in ("full sync", "re-sync"):
            middle = _median([r for r in runs if r.mode == "use-case" and r.step == step])
            if middle is not None and middle.ok:
                base[step] = middle.seconds
        for mode in dict.fromkeys(r.mode for r in runs if r.mode != "-"):
            full = _median([r for r in runs if r.mode == mode and r.step == "full sync"])
            again = _median([r for r in runs if r.mode == mode and r.step == "re-sync"])
            if full is None or again is None:
                continue
            ours = mode != "before"  # earlier code's command against today's use case: no overhead
            overhead = full.seconds - base["full sync"] if ours and "full sync" in base else None
            again_over = again.seconds - base["re-sync"] if ours and "re-sync" in base else None
            rows.append(
                {
                    "shape": shape,
                    "mode": mode,
                    "fetch_only_s": round(floor, 2),
                    "full_s": round(full.seconds, 2),
                    "full_best_s": _best(runs, mode, "full sync"),
                    "full_cpu_s": full.cpu_s,
                    "resync_s": round(again.seconds, 2),
                    "resync_best_s": _best(runs, mode, "re-sync"),
                    "resync_cpu_s": again.cpu_s,
                    "resync_rows": again.rows_written,
                    "resync_x_fetch": round(again.seconds / floor, 2),
                    "fetch_new_process_s": None if fresh is None else round(fresh, 2),
                    "resync_x_fetch_new_process": None
                    if fresh is None
                    else round(again.seconds / fresh, 2),
                    "overhead_s": None if overhead is None else round(overhead, 2),
                    "overhead_share": None
                    if overhead is None
                    else round(overhead / full.seconds, 2),
                    "resync_overhead_s": None if again_over is None else round(again_over, 2),
                    **(paired_overhead(runs, mode) if ours else {}),
                    **(
                        beyond_prefect_floor(runs, mode, prefect_floor, full.seconds)
                        if mode == "prefect-server" and prefect_floor is not None
                        else {}
                    ),
                    "peak_mb": max(full.peak_mb or 0, again.peak_mb or 0),
                    **_machine_busy(runs, mode),
                    "ok": full.ok and again.ok,
                }
            )
    return rows


def paired_overhead(runs: list[Run], mode: str) -> dict[str, float]:
    """A mode's overhead over the use case alone, turn by turn: the median of its differences
    with the use case's run of the same turn (``turn_overhead_s``), and of those differences as
    a share of the mode's run (``turn_overhead_share``), for the full sync and the re-sync.

    The difference of two medians mixes runs from different minutes; on a machine whose speed
    drifts for minutes at a time (the same use case took 16.6 s and 22.9 s in one benchmark)
    it measured the drift. Runs of the same turn ran next to each other."""
    found: dict[str, float] = {}
    for step, key in (("full sync", "turn_overhead"), ("re-sync", "turn_resync_overhead")):
        base = {r.turn: r.seconds for r in runs if r.mode == "use-case" and r.step == step and r.ok}
        pairs = [
            (r.seconds - base[r.turn], r.seconds)
            for r in runs
            if r.mode == mode and r.step == step and r.ok and r.turn in base
        ]
        if pairs:
            found[f"{key}_s"] = round(statistics.median(d for d, _ in pairs), 2)
            found[f"{key}_share"] = round(statistics.median(d / s for d, s in pairs), 3)
    return found


def _prefect_floor(runs: list[Run]) -> float | None:
    """Prefect's own floor of a shape's runs: the median empty flow run's process minus the
    median process without Prefect (bench/prefect_floor.py); None if either was not timed."""
    flows = _middle([r.seconds for r in runs if r.step == PREFECT_FLOW and r.ok])
    bare = _middle([r.seconds for r in runs if r.step == PREFECT_NO_FLOW and r.ok])
    return None if flows is None or bare is None else flows - bare


def beyond_prefect_floor(
    runs: list[Run], mode: str, floor: float, full_s: float
) -> dict[str, float]:
    """Prefect's floor beside the prefect-server mode's overhead: the floor itself, its share of
    the mode's (median) full sync, and the overhead turn by turn beyond it: what Keukentafel's
    flow adds to what any flow run costs, for the full sync and the re-sync."""
    found = {
        "prefect_floor_s": round(floor, 2),
        "prefect_floor_share": round(floor / full_s, 3),
    }
    overhead = paired_overhead(runs, mode)
    for key in ("turn_overhead", "turn_resync_overhead"):
        if f"{key}_s" in overhead:
            found[f"{key}_beyond_floor_s"] = round(overhead[f"{key}_s"] - floor, 2)
    return found


def _best(runs: list[Run], mode: str, step: str) -> float | None:
    """The fastest run of a mode's step: on a machine whose speed drifts, the least disturbed."""
    times = [r.seconds for r in runs if r.mode == mode and r.step == step and r.ok]
    return round(min(times), 2) if times else None


def _median(runs: list[Run]) -> Run | None:
    """The median run of a mode's step (with --repeat; of two, the slower), carrying the worst of
    the others: not ok if any failed, the most rows any re-sync wrote, the highest peak; its CPU
    seconds are the median of the runs' too."""
    if not runs:
        return None
    ordered = sorted(runs, key=lambda r: r.seconds)
    middle = ordered[len(ordered) // 2]
    rows = [r.rows_written for r in runs if r.rows_written is not None]
    return Run(
        middle.shape,
        middle.mode,
        middle.step,
        middle.seconds,
        rows_written=max(rows) if rows else None,
        peak_mb=max((r.peak_mb or 0.0) for r in runs),
        cpu_s=_middle([r.cpu_s for r in runs if r.cpu_s is not None]),
        use_case_seconds=middle.use_case_seconds,
        ok=all(r.ok for r in runs),
    )


def _machine_busy(runs: list[Run], mode: str) -> dict[str, float | None]:
    """How busy the machine was (:func:`machine_share`, the median of the runs) during the fetch
    floor, the floor from a new Python, and the mode's full syncs and re-syncs."""
    steps = {
        "fetch_machine_busy": ("-", "fetch only"),
        "fetch_new_process_machine_busy": ("-", NEW_PROCESS_FETCH),
        "full_machine_busy": (mode, "full sync"),
        "resync_machine_busy": (mode, "re-sync"),
    }
    found: dict[str, float | None] = {}
    for key, which in steps.items():
        shares = [machine_share(r) for r in runs if (r.mode, r.step) == which and r.ok]
        found[key] = _middle([share for share in shares if share is not None])
    return found


def print_machine_busy(rows: list[dict[str, Any]]) -> None:
    busy = [r for r in rows if r.get("resync_machine_busy") is not None]
    if busy:
        print(
            f"\nhow busy the machine's {os.cpu_count()} processors were (every process: the "
            "command, its second process, the fake ERP, a Prefect server; /proc/stat):"
        )
    for r in busy:
        print(
            f"{r['shape']:<13} {r['mode']:<15} fetch {_share(r.get('fetch_machine_busy'))}  "
            f"fetch, new process {_share(r.get('fetch_new_process_machine_busy'))}  "
            f"full sync {_share(r.get('full_machine_busy'))}  "
            f"re-sync {_share(r.get('resync_machine_busy'))}"
        )


def _share(value: float | None) -> str:
    return "   -" if value is None else f"{value:4.0%}"


def _middle(values: list[float]) -> float | None:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else None


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        "\nshape         mode            fetch   full  re-sync rows  x fetch  "
        "overhead full / re-sync  peak MB   best full / re-sync   CPU full / re-sync"
    )
    for r in rows:
        overhead = "" if r["overhead_s"] is None else f"{r['overhead_s']:6.2f} s"
        if r["overhead_share"] is not None:
            overhead += f" {r['overhead_share']:4.0%}"
        if r.get("resync_overhead_s") is not None:
            overhead += f" / {r['resync_overhead_s']:5.2f} s"
        print(
            f"{r['shape']:<13} {r['mode']:<15} {r['fetch_only_s']:5.2f} {r['full_s']:6.2f} "
            f"{r['resync_s']:7.2f} {r['resync_rows']!s:>4}  {r['resync_x_fetch']:6.2f}  "
            f"{overhead:<24} {r['peak_mb']:6.0f}   {_num(r.get('full_best_s'))} / "
            f"{_num(r.get('resync_best_s'))}     {_num(r.get('full_cpu_s'))} / "
            f"{_num(r.get('resync_cpu_s'))}{'' if r['ok'] else '  FAILED'}"
        )
    fresh = [r for r in rows if r.get("fetch_new_process_s") is not None]
    if fresh:
        print(
            "\nthe fetch floor timed from a new Python as the command is (bench/fetch_process.py):"
        )
    for r in fresh:
        print(
            f"{r['shape']:<13} {r['mode']:<15} fetch {r['fetch_new_process_s']:5.2f} s   "
            f"re-sync {r['resync_s']:5.2f} s = {r['resync_x_fetch_new_process']:4.2f} x"
        )
    turned = [r for r in rows if r.get("turn_overhead_s") is not None and r["mode"] != "use-case"]
    if turned:
        print("\noverhead over the use case, turn by turn (median of same-turn differences):")
    for r in turned:
        again = r.get("turn_resync_overhead_s")
        print(
            f"{r['shape']:<13} {r['mode']:<15} full {r['turn_overhead_s']:6.2f} s "
            f"{r['turn_overhead_share']:4.0%}"
            + (
                ""
                if again is None
                else f"   re-sync {again:6.2f} s {r['turn_resync_overhead_share']:4.0%}"
            )
        )


def print_prefect_floor(rows: list[dict[str, Any]]) -> None:
    floored = [r for r in rows if r.get("prefect_floor_s") is not None]
    if floored:
        print(
            "\nPrefect's own floor (bench/prefect_floor.py: an empty flow run from a new Python, "
            "minus the same process without Prefect) and the overhead beyond it:"
        )
    for r in floored:
        beyond = r.get("turn_overhead_beyond_floor_s")
        again = r.get("turn_resync_overhead_beyond_floor_s")
        print(
            f"{r['shape']:<13} {r['mode']:<15} floor {r['prefect_floor_s']:5.2f} s = "
            f"{r['prefect_floor_share']:4.0%} of the full sync   beyond it: full "
            f"{_num(beyond)} s, re-sync {_num(again)} s"
        )


def _num(value: float | None) -> str:
    return "    -" if value is None else f"{value:6.2f}"


def _load() -> dict[str, Any]:
    with open("/proc/loadavg", encoding="ascii") as f:
        one, five, fifteen = f.read().split()[:3]
    return {"load_1m": float(one), "load_5m": float(five), "load_15m": float(fifteen)}


# --- dlt (--dlt): issue 12's comparison; see bench/dlt_bench.py ------------------------------


def dlt_hook(
    record: Record, dispositions: list[str]
) -> Callable[[Shape, str, list[str], Path], None]:
    """What runs dlt after the command's runs of a shape; makes dlt's virtualenv now, untimed."""
    unknown = set(dispositions) - set(dlt_bench.DISPOSITIONS)
    if unknown:
        raise SystemExit(f"unknown dlt write disposition: {', '.join(sorted(unknown))}")
    python = dlt_bench.ensure_venv()

    def after(shape: Shape, url: str, complexes: list[str], folder: Path) -> None:
        expected = dlt_bench.fake_counts(url, os.environ[KEY_ENV])
        for disposition in dispositions:
            for dlt_run in dlt_bench.run_pipeline(
                url, KEY_ENV, complexes, folder, expected, disposition, python=python
            ):
                entry = Run(
                    shape.name,
                    f"dlt-{disposition}",
                    dlt_run.step,
                    dlt_run.seconds,
                    peak_mb=dlt_run.peak_mb,
                    ok=dlt_run.ok,
                    note=dlt_run.note,
                )
                record.runs.append(entry)
                print(dlt_bench.line(shape.name, dlt_run), flush=True)

    return after


def add_dlt_columns(rows: list[dict[str, Any]], record: Record) -> None:
    """dlt's times next to each summary row of its shape; ``sync / dlt`` = full sync / dlt full
    (merge); a dlt run with a wrong row count gives no number."""
    for row in rows:
        for disposition in dlt_bench.DISPOSITIONS:
            runs = {
                r.step: r
                for r in record.runs
                if r.shape == row["shape"] and r.mode == f"dlt-{disposition}"
            }
            if not runs:
                continue
            suffix = "" if disposition == "merge" else f"_{disposition}"
            full, again = runs.get("dlt full"), runs.get("dlt re-run")
            full_s = round(full.seconds, 2) if full and full.ok else None
            again_s = round(again.seconds, 2) if again and again.ok else None
            row[f"dlt{suffix}_full_s"] = full_s
            row[f"dlt{suffix}_rerun_s"] = again_s
            row[f"dlt{suffix}_peak_mb"] = max((r.peak_mb or 0) for r in runs.values())
            row[f"sync_over_dlt{suffix}"] = round(row["full_s"] / full_s, 2) if full_s else None
            row[f"resync_over_dlt{suffix}"] = (
                round(row["resync_s"] / again_s, 2) if again_s else None
            )


def print_dlt_table(rows: list[dict[str, Any]]) -> None:
    def seconds(value: float | None) -> str:
        return "FAILED" if value is None else f"{value:6.2f}"

    def ratio(value: float | None) -> str:
        return "-" if value is None else f"{value:5.2f}"

    print(
        "\nshape         mode            full  re-sync  dlt full  dlt re-run  "
        "sync / dlt (<= 0.25)  re-sync / dlt re-run"
    )
    for r in rows:
        for suffix in ("", "_replace"):
            if f"dlt{suffix}_full_s" not in r:
                continue
            label = "merge" if not suffix else suffix[1:]
            print(
                f"{r['shape']:<13} {r['mode']:<15} {r['full_s']:5.2f} {r['resync_s']:7.2f}  "
                f"{seconds(r[f'dlt{suffix}_full_s']):>8}  {seconds(r[f'dlt{suffix}_rerun_s']):>10}  "
                f"{ratio(r[f'sync_over_dlt{suffix}']):>10} ({label})    "
                f"{ratio(r[f'resync_over_dlt{suffix}']):>10}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=80_000)
    parser.add_argument("--shapes", default="all", help=f"all, or some of {', '.join(SHAPES)}")
    parser.add_argument("--modes", default="plain,prefect-server,use-case")
    parser.add_argument(
        "--prefect-shapes",
        default="id-500x160",
        help="shapes to run the prefect-server mode on (all: every shape); it is slow",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON file for the results")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per mode (new store each); medians reported"
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="a checkout of earlier code (git worktree add DIR COMMIT): mode 'before' runs it",
    )
    parser.add_argument(
        "--dlt",
        action="store_true",
        help="also time dlt's rest_api pipeline (own virtualenv .bench-venv/dlt) on each shape",
    )
    parser.add_argument("--dlt-dispositions", default="merge", help="merge, replace or both")
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        default=None,
        help="store on this PostgreSQL server (a new database per pair of runs) instead of SQLite, "
        "e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument(
        "--erp-latency-ms",
        type=milliseconds,
        default=0.0,
        metavar="MS",
        help="the fake ERP answers every page MS milliseconds late, as a real one across a "
        "network does (default 0: at once)",
    )
    args = parser.parse_args()
    LATENCY["ms"] = args.erp_latency_ms
    if args.postgresql:
        POSTGRESQL["url"] = args.postgresql
    shapes = list(SHAPES) if args.shapes == "all" else args.shapes.split(",")
    modes = [m for m in args.modes.split(",") if m]
    unknown = [s for s in shapes if s not in SHAPES] + [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown shape or mode: {', '.join(unknown)}")
    with_prefect = shapes if args.prefect_shapes == "all" else args.prefect_shapes.split(",")
    REPEAT["n"] = max(1, args.repeat)
    if "before" in modes:
        if args.before is None:
            parser.error("mode 'before' needs --before DIR")
        BEFORE["dir"] = args.before.resolve()
    elif args.before is not None:
        modes.insert(0, "before")
        BEFORE["dir"] = args.before.resolve()
    for checkout in (ROOT, *BEFORE.values()):  # both sides measured as installed
        compile_bytecode(checkout)
    record = Record(
        args.units,
        datetime.now(UTC).isoformat(timespec="seconds"),
        {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_at_start": _load(),
            "bytecode": "compiled before timing (compile_bytecode)",
        },
    )
    record.machine["store"] = "postgresql" if args.postgresql else "sqlite"
    record.machine["erp_latency_ms"] = LATENCY["ms"]
    dlt_after = dlt_hook(record, args.dlt_dispositions.split(",")) if args.dlt else None
    for name in shapes:
        shape_modes = [m for m in modes if m != "prefect-server" or name in with_prefect]
        bench_shape(SHAPES[name], args.units, shape_modes, record, dlt_after)
    record.machine["load_at_end"] = _load()
    rows = summary(record)
    print_table(rows)
    print_prefect_floor(rows)
    print_machine_busy(rows)
    if args.dlt:
        add_dlt_columns(rows, record)
        print_dlt_table(rows)
    out = args.out or RESULTS / f"command-{record.started[:19].replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    data = {**asdict(record), "summary": rows}
    out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
