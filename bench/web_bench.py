"""Benchmark: the resident's own page (``GET /woning``) with 50 concurrent users.

    .venv/bin/python -m bench.web_bench                         # SQLite and PostgreSQL
    .venv/bin/python -m bench.web_bench --backends sqlite --seconds 10
    .venv/bin/python -m bench.web_bench --think 0               # closed loop, no reading time

Set-up (untimed): a register of 100 households (one project with a consent profile), a real
proposal mailing (PDF letters, links and codes on record, as in production), and one answer on the
web for every other household, so the page shows letters, a status and the parties' answers.

Then three processes: this one; the web application under uvicorn (``keukentafel web``'s
factory, ``--workers`` processes, default 1) in a subprocess; and the load generator in another subprocess. The load
generator runs ``--users`` threads, each its own resident: it opens its letter's link once (a
session cookie), then asks for its page again and again for ``--seconds``, waiting ``--think``
seconds between pages (a person reading; 0 for a closed loop): ``--arrivals random`` (the
default) draws each pause from an exponential distribution with that mean and starts each user
at a random moment, as independent residents arrive; ``--arrivals lockstep`` starts all at once
and waits exactly ``--think``, so all 50 requests arrive together every second (the worst case). Every page is checked (status 200
and the household's address on it). Reported: requests, throughput, p50/p95/p99/max latency.

Target: p99 under 100 ms with 50 concurrent users, on SQLite and on PostgreSQL.
PostgreSQL: ``--database-url`` or ``TEST_DATABASE_URL`` or postgres@127.0.0.1:5432 (a new
database is made and dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from bench.feeds_bench import Source, snapshot
from keukentafel.bootstrap import App, CorporationRegistry, build, mailing_content
from keukentafel.domain.links import issue_link
from keukentafel.settings import Settings
from keukentafel.usecases.sync_register import sync_register

CORP = "WEBB"
PROJECT = "WEB-P"
LINK_BASE = "http://127.0.0.1/antwoord"
LINK_SECRET = "wB9kQ2xL7mR4tZ8nV1cJ6hF3sD0gY5pA-uE_iTbench"
SESSION_SECRET = b"web-bench-session-secret-0123456789"
HOUSEHOLDS = 20  # 50 users share them (a household opens its page on several phones)
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _corporation(folder: Path) -> Path:
    data: dict[str, Any] = {
        "corporation": {"code": CORP, "name": "Woonstichting Bench"},
        "source": {
            "kind": "vera",
            "vera": {
                "base_url": "http://127.0.0.1:9/v4",
                "auth": {"mode": "api_key", "api_key_env": "BENCH_VERA"},
            },
        },
        "projects": [
            {
                "code": PROJECT,
                "name": "Renovatie Dijkstraat",
                "kind": "renovation_occupied",
                "complexes": ["CPX-0001"],
                "consent": {
                    "threshold": 0.70,
                    "denominator": "all_tenants",
                    "legal_basis": "art. 7:220 lid 3 BW: 70% of all tenants",
                    "min_homes": 10,
                    "consent": "whole",
                },
            }
        ],
        "letters": {
            "branding": {
                "name": "Woonstichting Bench",
                "return_address": "Woonstichting Bench, Postbus 1, 1000 AA  AMSTERDAM",
            },
            "contact": {"name": "Bea Begeleider", "phone": "020-1234567", "email": "t@example.org"},
            "link_base_url": LINK_BASE,
            "link_secret_env": "BENCH_LINK_SECRET",
        },
        "web": {
            "base_url": "http://127.0.0.1",
            "projects": {
                PROJECT: {
                    "summary": "Wij maken uw woning beter en zuiniger.",
                    "works": [{"title": "Isolatie", "text": "Dak en gevel.", "when": "mei 2027"}],
                    "translations": {"en": "We will improve your home."},
                }
            },
        },
    }
    path = folder / "webb.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _app(folder: Path, url: str) -> App:
    config = _corporation(folder)
    settings = Settings(
        database_url=url,
        data_dir=folder / "data",
        output_dir=folder / "out",
        config_path=config,
        environ=MappingProxyType({"BENCH_LINK_SECRET": LINK_SECRET, "BENCH_VERA": "x"}),
    )
    return build(settings, corporations=CorporationRegistry.from_files([config]))


def prepare(folder: Path, url: str) -> list[str]:
    """The store with households, a real mailing and answers; the links, one per household."""
    with _app(folder, url) as app:
        today = app.today()  # the service's day (Amsterdam), not the machine's
        sync_register(app.sessions, CORP, Source(snapshot(HOUSEHOLDS)), max_shrink=1.0)
        content = mailing_content("proposal", today, None, sample=True)
        app.prepare_mailing(CORP, PROJECT, "proposal", on=today, content=content, started_by="b")
        for n in range(1, HOUSEHOLDS + 1, 2):
            app.record_consent_answer(
                CORP, PROJECT, f"VHE{n:06d}", "agree", recorded_by="web:resident", parties=[f"R{n}"]
            )
    return [
        issue_link(
            LINK_BASE,
            f"{PROJECT}:VHE{n:06d}",
            "proposal",
            on=today,
            valid_days=60,
            secret=LINK_SECRET.encode(),
            parties=[f"R{n}"],
        )
        .url.split("://", 1)[1]
        .split("/", 1)[1]
        for n in range(1, HOUSEHOLDS + 1)
    ]


def server_env(folder: Path, url: str) -> dict[str, str]:
    """The environment ``keukentafel web`` would be started with for this store."""
    return {
        **os.environ,
        "KEUKENTAFEL_DATABASE_URL": url,
        "KEUKENTAFEL_CONFIG_DIR": str(folder),
        "KEUKENTAFEL_DATA_DIR": str(folder / "data"),
        "KEUKENTAFEL_OUTPUT_DIR": str(folder / "out"),
        "KEUKENTAFEL_WEB_SESSION_SECRET": SESSION_SECRET.decode(),
        "BENCH_LINK_SECRET": LINK_SECRET,
        "BENCH_VERA": "x",
    }


def load(
    base: str, paths: list[str], users: int, seconds: float, think: float, arrivals: str = "random"
) -> dict[str, Any]:
    """``arrivals``: ``random`` (each user reads for a random time, exponential with mean
    ``think``, and starts at a random moment of the first ``think`` seconds: independent people)
    or ``lockstep`` (every user starts at once and waits exactly ``think``: 50 requests arrive in
    the same millisecond every second, the worst case)."""
    import random

    import httpx

    pause = (lambda: random.expovariate(1 / think)) if arrivals == "random" else (lambda: think)

    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(users)

    def user(index: int) -> None:
        path = paths[index % len(paths)]
        mine: list[float] = []
        with httpx.Client(base_url=base, timeout=30, follow_redirects=True) as client:
            opened = client.get("/" + path)  # the link: a session, then /woning
            if opened.status_code != 200 or "Dijkstraat" not in opened.text:
                with lock:
                    failures.append(f"link {opened.status_code} {opened.url}")
                return
            start_gate.wait()
            if arrivals == "random" and think:
                time.sleep(random.uniform(0, think))
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                answer = client.get("/woning")
                took = time.perf_counter() - began
                if answer.status_code != 200 or "Uw antwoord" not in answer.text:
                    with lock:
                        failures.append(f"page {answer.status_code}")
                    continue
                mine.append(took)
                if think:
                    time.sleep(pause())
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

    return {
        "requests": len(ordered),
        "failures": len(failures),
        "rps": round(len(ordered) / wall, 1),
        "p50_ms": round(pct(0.50), 1),
        "p95_ms": round(pct(0.95), 1),
        "p99_ms": round(pct(0.99), 1),
        "max_ms": round(ordered[-1] * 1000, 1) if ordered else 0.0,
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1) if ordered else 0.0,
    }


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError("the web server stopped during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the web server did not start")


def run_backend(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"webbench-{name}-") as tmp:
        folder = Path(tmp)
        began = time.perf_counter()
        paths = prepare(folder, url)
        setup = time.perf_counter() - began
        port = _port()
        server = subprocess.Popen(  # the production factory under uvicorn
            [
                sys.executable,
                "-m",
                "uvicorn",
                "keukentafel.cli.web:application",
                "--factory",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=server_env(folder, url),
        )
        try:
            _wait(port, server)
            (folder / "paths.json").write_text(json.dumps(paths), encoding="utf-8")
            command = [
                sys.executable,
                "-m",
                "bench.web_bench",
                "load",
                f"http://127.0.0.1:{port}",
                str(folder / "paths.json"),
                str(args.users),
                str(args.seconds),
                str(args.think),
                args.arrivals,
            ]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        finally:
            server.terminate()
            server.wait(10)
        result["setup_s"] = round(setup, 1)
        return result


def _postgres(base: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"kt_webbench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "load":
        paths = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
        found = load(argv[1], paths, int(argv[3]), float(argv[4]), float(argv[5]), argv[6])
        print(json.dumps(found))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between a user's pages")
    parser.add_argument(
        "--arrivals",
        choices=("random", "lockstep"),
        default="random",
        help="random: independent readers (exponential think time); lockstep: all at once",
    )
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    args = parser.parse_args(argv)
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as db:
                result = run_backend("sqlite", f"sqlite:///{db}/web.db", args)
        else:
            url, drop = _postgres(args.database_url)
            try:
                result = run_backend("postgresql", url, args)
            finally:
                drop()
        verdict = "meets" if result["p99_ms"] < 100 and not result["failures"] else "MISSES"
        print(
            f"{backend}: {args.users} users ({args.arrivals}), think {args.think} s, "
            f"{args.seconds} s, "
            f"{args.workers} worker(s): "
            f"{result['requests']} pages ({result['rps']}/s), p50 {result['p50_ms']} ms, "
            f"p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms, "
            f"failures {result['failures']}; set-up {result['setup_s']} s -> {verdict} the "
            "target p99 < 100 ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
