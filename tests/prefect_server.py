"""A real Prefect server (and workers) on 127.0.0.1 for the operations tests.

``prefect server start`` in a subprocess with its own PREFECT_HOME and SQLite database in a
temporary folder, no UI, no telemetry; the scheduler and the automation services run as in
production, with short loops. ``PrefectServer.using()`` points this process's Prefect client at
it; ``PrefectServer.env()`` is the environment for subprocesses (workers, ``keukentafel``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

T = TypeVar("T")
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.5) -> T:
    """Call ``probe`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@dataclass
class Process:
    """A subprocess with its output in a file (read when a test fails)."""

    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 20) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def start(args: list[str], env: Mapping[str, str], log: Path, cwd: Path | None = None) -> Process:
    handle: IO[bytes] = log.open("ab")
    popen = subprocess.Popen(args, env=dict(env), stdout=handle, stderr=subprocess.STDOUT, cwd=cwd)
    handle.close()
    return Process(popen, log)


@dataclass
class PrefectServer:
    home: Path
    port: int
    process: Process | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def env(self, **more: str) -> dict[str, str]:
        """The environment for a subprocess that talks to this server (no KEUKENTAFEL_* of the
        caller, no other Prefect profile)."""
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("KEUKENTAFEL_", "PREFECT_"))
        }
        base.update(
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.api_url,
            PREFECT_PROFILES_PATH=str(self.home / "profiles.toml"),
            DO_NOT_TRACK="1",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_WORKER_QUERY_SECONDS="1",
            PREFECT_WORKER_HEARTBEAT_SECONDS="5",
            PREFECT_RUNNER_POLL_FREQUENCY="1",
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        base.update(self.extra)
        base.update(more)
        return base

    def start(self, timeout: float = 90) -> None:
        env = self.env(
            PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{self.home / 'prefect.db'}",
            PREFECT_UI_ENABLED="false",
            PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
            PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED="false",
            PREFECT_SERVER_SERVICES_FOREMAN_LOOP_SECONDS="5",
            PREFECT_LOGGING_SERVER_LEVEL="WARNING",
        )
        env.pop("PREFECT_API_URL")
        self.process = start(
            [
                str(BIN / "prefect"),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env,
            self.home / "server.log",
        )
        wait_for(self._healthy, timeout=timeout, what=f"the Prefect server on {self.api_url}")

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.popen.poll() is not None:
            raise AssertionError("the Prefect server stopped:\n" + self.process.output()[-3000:])
        try:
            health = f"{self.api_url}/health"  # http on 127.0.0.1, made here
            with urllib.request.urlopen(health, timeout=2) as answer:  # noqa: S310
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    @contextmanager
    def using(self) -> Iterator[None]:
        """This process's Prefect client talks to the server (as PREFECT_API_URL would)."""
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: self.api_url}):
            yield

    def worker(self, log_name: str = "worker.log", **env: str) -> Process:
        """``prefect worker start --pool keukentafel``, as docker-compose runs it."""
        return start(
            [str(BIN / "prefect"), "worker", "start", "--pool", "keukentafel"],
            self.env(**env),
            self.home / log_name,
            cwd=Path(__file__).resolve().parents[1],
        )


@contextmanager
def prefect_server(home: Path, **extra: str) -> Iterator[PrefectServer]:
    home.mkdir(parents=True, exist_ok=True)
    server = PrefectServer(home, free_port(), extra=dict(extra))
    server.start()
    try:
        yield server
    finally:
        server.stop()
