"""Benchmark: dlt's ``rest_api`` pipeline over the fake VERA server, as issue 12 compares it.

    .venv/bin/python -m bench.dlt_bench --units 5000                     # dlt alone, one shape
    .venv/bin/python -m bench.command_bench --shapes id-500x160 --modes plain --dlt

Issue 12 asks that a full sync takes at most a quarter of dlt's time when both run in the same
session. dlt is never a dependency of Keukentafel: it runs in its own virtualenv,
``.bench-venv/dlt`` (git-ignored), which this module makes on first use with ``python -m venv``
and ``pip install "dlt[duckdb]"``. The pipeline itself is :mod:`bench.dlt_pipeline` (dlt and the
standard library only), run as a new process with that virtualenv's Python and timed by wall
clock like the ``keukentafel`` command: a full load into an empty pipeline folder, then the same
again (an identical re-run). dlt's telemetry is off (``RUNTIME__DLTHUB_TELEMETRY=false``) and
its data folder is the bench's temporary folder; the only connections are to the fake server.

Each run's row counts are checked against the totals the fake server announces
(``X-Parameters-Aantal`` of ``/eenheden``, ``/relaties`` and ``/overeenkomsten``): a wrong count
is a failed run, not a number.

Mind the memory: with dlt's defaults (duckdb loads the INSERT statements dlt writes, 20 load
threads) the dlt process of an 80,000-unit run peaked at ~16 GB on the 24 GB bench machine
(``command-2026-12-07T053043.json``); its load step is most of its time.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DLT_VENV = ROOT / ".bench-venv" / "dlt"
PIPELINE = ROOT / "bench" / "dlt_pipeline.py"
REQUIREMENT = "dlt[duckdb]"
DISPOSITIONS = ("merge", "replace")
TABLES = {"eenheden": "/eenheden", "relaties": "/relaties", "overeenkomsten": "/overeenkomsten"}
STEPS = ("dlt full", "dlt re-run")


@dataclass
class DltRun:
    step: str  # dlt full | dlt re-run
    disposition: str
    seconds: float
    peak_mb: float
    counts: dict[str, int] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)
    dlt_steps: dict[str, Any] = field(default_factory=dict)  # dlt's own extract/normalize/load
    ok: bool = True
    note: str = ""


def venv_python() -> Path:
    return DLT_VENV / "bin" / "python"


def ensure_venv() -> Path:
    """The Python of ``.bench-venv/dlt`` with dlt installed; made on first use (~30 s)."""
    python = venv_python()
    if python.exists() and _imports_dlt(python):
        return python
    print(f"making {DLT_VENV.relative_to(ROOT)} with {REQUIREMENT} (first use) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(DLT_VENV)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            REQUIREMENT,
        ],
        check=True,
    )
    if not _imports_dlt(python):
        raise RuntimeError(f"{DLT_VENV} has no importable dlt after pip install")
    return python


def _imports_dlt(python: Path) -> bool:
    check = subprocess.run(
        [str(python), "-c", "import dlt, duckdb"],
        env=_env({}),
        capture_output=True,
        check=False,
    )
    return check.returncode == 0


def _env(extra: dict[str, str]) -> dict[str, str]:
    """The process environment for dlt's virtualenv: none of ours that points at our Python."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("PREFECT_")
    }
    env.update(RUNTIME__DLTHUB_TELEMETRY="false", **extra)
    return env


def fake_counts(url: str, key: str) -> dict[str, int]:
    """Items the fake server announces per endpoint (all units, not only those of complexes)."""
    counts: dict[str, int] = {}
    for table, path in TABLES.items():
        request = urllib.request.Request(
            url.rstrip("/") + path,
            headers={"X-API-KEY": key, "X-Parameters-AantalPerPagina": "1"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            counts[table] = int(answer.headers["X-Parameters-Aantal"])
    return counts


def timed_process(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str, int]:
    """Wall-clock seconds, peak RSS (MB, ``ru_maxrss``), output and exit code of a new process."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        output = out.read().decode(errors="replace")
    return seconds, usage.ru_maxrss / 1024, output, os.waitstatus_to_exitcode(status)


def run_pipeline(
    url: str,
    key_env: str,
    complexes: list[str],
    folder: Path,
    expected: dict[str, int],
    disposition: str = "merge",
    cluster_kind: str = "FIN",
    python: Path | None = None,
) -> list[DltRun]:
    """A full load into an empty pipeline folder under ``folder``, then an identical re-run."""
    python = python or ensure_venv()
    work = folder / f"dlt-{disposition}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    codes = work / "complexes.txt"
    codes.write_text("".join(f"{code}\n" for code in complexes), encoding="utf-8")
    argv = [
        str(python),
        str(PIPELINE),
        url,
        key_env,
        str(codes),
        str(work / "pipeline"),
        "--write-disposition",
        disposition,
        "--cluster-kind",
        cluster_kind,
    ]
    env = _env({"DLT_DATA_DIR": str(work / "dlt-data")})
    runs = []
    for step in STEPS:
        seconds, peak, output, code = timed_process(argv, env, work)
        run = DltRun(step, disposition, seconds, round(peak, 1), expected=dict(expected))
        _check(run, output, code)
        runs.append(run)
    shutil.rmtree(work, ignore_errors=True)
    return runs


def _check(run: DltRun, output: str, code: int) -> None:
    """The run's counts from the script's last line, against the expected ones."""
    if code != 0:
        run.ok, run.note = False, f"exit {code}: {output.strip()[-300:]}"
        return
    try:
        result = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        run.ok, run.note = False, f"no result line: {output.strip()[-300:]}"
        return
    run.counts = {k: int(v) for k, v in result["counts"].items()}
    run.dlt_steps = {k: v for k, v in result.items() if k != "counts"}
    wrong = {t: (run.counts.get(t), n) for t, n in run.expected.items() if run.counts.get(t) != n}
    run.ok = not wrong
    run.note = ", ".join(f"{t} {run.counts.get(t)}" for t in TABLES)
    if wrong:
        run.note += "; WRONG COUNT (loaded, expected): " + ", ".join(
            f"{t} {got} != {want}" for t, (got, want) in wrong.items()
        )


def line(shape: str, run: DltRun) -> str:
    flag = "" if run.ok else "FAILED "
    steps = run.dlt_steps
    inside = (
        f"  (extract {steps['extract_s']:.1f} s, normalize {steps['normalize_s']:.1f} s, "
        f"load {steps['load_s']:.1f} s)"
        if {"extract_s", "normalize_s", "load_s"} <= steps.keys()
        else ""
    )
    return (
        f"{shape:<13} {'dlt-' + run.disposition:<15} {run.step:<10} {run.seconds:7.2f} s  "
        f"{'':<13} peak {run.peak_mb:6.0f} MB  {flag}{run.note}{inside}"
    )


def main() -> None:
    from bench.command_bench import KEY_ENV, SHAPES, _complexes
    from bench.sync_bench import start_fake

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=80_000)
    parser.add_argument("--shape", default="id-500x160", choices=list(SHAPES))
    parser.add_argument("--dispositions", default="merge", help="merge, replace or both")
    args = parser.parse_args()
    dispositions = [d for d in args.dispositions.split(",") if d]
    if not set(dispositions) <= set(DISPOSITIONS):
        parser.error(f"dispositions are some of {', '.join(DISPOSITIONS)}")
    python = ensure_venv()
    shape = SHAPES[args.shape]
    key = secrets.token_urlsafe(16)
    os.environ[KEY_ENV] = key
    print(f"{shape.name}: generating {args.units} units ...", flush=True)
    proc, url = start_fake(args.units, key, *shape.server_args())
    folder = Path(tempfile.mkdtemp(prefix="kt-dlt-"))
    try:
        expected = fake_counts(url, key)
        print(f"the fake serves {expected}", flush=True)
        for disposition in dispositions:
            complexes = _complexes(args.units, shape)
            for run in run_pipeline(
                url, KEY_ENV, complexes, folder, expected, disposition, python=python
            ):
                print(line(shape.name, run), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
