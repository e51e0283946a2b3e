"""The ``keukentafel`` program ends without the interpreter's teardown (keukentafel/cli/program.py)
and loses nothing by it: its exit status, its output, the exit handlers' work (Prefect's last
log lines and events reach the server), the store, and threads still running are waited for.

These run the installed program (``.venv/bin/keukentafel``) in a new process, as users do."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from connectors.fakes.vera_data import generate_dataset
from connectors.fakes.vera_server import FakeVeraServer
from keukentafel.cli.program import exit_status
from tests.prefect_server import BIN, PrefectServer, prefect_server

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = str(BIN / "keukentafel")


def test_exit_status_is_what_python_would_give() -> None:
    assert [exit_status(c) for c in (None, 0, 1, 2, 256 + 3, "a message")] == [0, 0, 1, 2, 3, 1]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_the_end_runs_exit_handlers_flushes_output_and_says_the_message() -> None:
    done = _python(
        "import atexit, sys\n"
        "from keukentafel.cli.program import end\n"
        "atexit.register(lambda: print('handler ran'))\n"
        "sys.stdout.write('unflushed output ')\n"
        "end('the message')\n"
    )
    assert done.returncode == 1
    assert done.stdout == "unflushed output handler ran\n"
    assert done.stderr == "the message\n"


def test_the_end_waits_for_a_thread_still_running() -> None:
    done = _python(
        "import threading, time\n"
        "from keukentafel.cli.program import end\n"
        "def late():\n"
        "    time.sleep(0.5)\n"
        "    print('the thread finished', flush=True)\n"
        "threading.Thread(target=late).start()\n"
        "end(3)\n"
    )
    assert done.returncode == 3
    assert done.stdout == "the thread finished\n"


@pytest.fixture
def erp(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A corporation file on a fake ERP (the sync alone), and the environment for the program."""
    key = secrets.token_urlsafe(16)
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data.pop("m365"), data.pop("feeds", None)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEUKENTAFEL_", "PREFECT_"))}
    env.update(
        KEUKENTAFEL_DATABASE_URL=f"sqlite:///{tmp_path / 'store.db'}",
        KEUKENTAFEL_OUTPUT_DIR=str(tmp_path / "out"),
        KEUKENTAFEL_DEMO_VERA_API_KEY=key,
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        DO_NOT_TRACK="1",
        COLUMNS="120",
    )
    with FakeVeraServer(generate_dataset(40, seed=3, complexes=4), api_key=key) as vera:
        data["source"]["vera"]["base_url"] = vera.url
        data["source"]["vera"]["max_retries"] = 0
        path = tmp_path / "wsd.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        yield path, env


def _sync(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROGRAM, "sync", "--no-progress", "--config", str(config)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _units(env: dict[str, str]) -> int:
    path = env["KEUKENTAFEL_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:  # a new connection: what the program committed
        return int(conn.execute("SELECT count(*) FROM units").fetchone()[0])


def test_the_program_keeps_its_exit_status_output_and_store(
    erp: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    config, env = erp
    done = _sync(config, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Sync run 1: succeeded" in done.stdout  # and its last line, whole:
    assert done.stdout.endswith("not stored): 18 resident(s), 15 lease(s)\n")
    assert _units(env) == 27  # the units in the projects' complexes

    wrong = {**env, "KEUKENTAFEL_DEMO_VERA_API_KEY": "not-the-key"}
    failed = _sync(config, wrong)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "keukentafel doctor" in failed.stdout + failed.stderr  # where to look, printed whole

    bad = tmp_path / "bad.yaml"
    bad.write_text("corporation: {code: X}\n", encoding="utf-8")
    refused = _sync(bad, env)
    assert refused.returncode == 2 and "bad.yaml" in refused.stdout + refused.stderr
    assert _units(env) == 27  # the failed and the refused run changed nothing


@pytest.mark.slow
def test_on_a_prefect_server_the_last_logs_and_artifacts_arrive(
    erp: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """Prefect sends a run's last log lines from its exit handlers: they reach the server."""
    config, env = erp
    with prefect_server(tmp_path / "prefect") as server:
        done = _sync(config, server.env(**_keukentafel(env)))
        assert done.returncode == 0, done.stdout + done.stderr
        state, logs, artifacts = _what_the_server_has(server)
    assert state == "COMPLETED"
    assert any("Finished in state Completed" in line for line in logs), logs
    assert "sync-wsd-counts" in artifacts


def _keukentafel(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith("KEUKENTAFEL_") or k == "COLUMNS"}


def _what_the_server_has(server: PrefectServer) -> tuple[str, list[str], set[str]]:
    """The state, log lines and artifact keys of the server's one flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )

    async def read() -> tuple[str, list[str], set[str]]:
        async with get_client() as client:
            (run,) = await client.read_flow_runs()
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id]))
            )
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
            )
        assert run.state is not None
        return run.state.type.value, [log.message for log in logs], {a.key or "" for a in artifacts}

    with server.using():
        return asyncio.run(read())
