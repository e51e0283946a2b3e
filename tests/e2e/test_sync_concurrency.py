"""Two processes at once: one sync per corporation, one migration at a time (SQLite, PostgreSQL).

Real processes (``python -m tests.sync_worker``) on the real store. A sync's source waits at a
gate the test opens, so the second process starts while the first one holds the sync lock. A
killed sync is seen as interrupted as soon as its lock is gone, not at the next sync.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from keukentafel.domain.runs import RunOutcome
from keukentafel.store.db import make_engine, session_factory
from keukentafel.store.models import ChangeEventRow, SyncRunRow
from keukentafel.usecases.register_summary import register_summary
from tests.builders import CORP, RENOVATION, register, run

pytestmark = pytest.mark.slow  # processes started and killed

ROOT = Path(__file__).resolve().parents[2]


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _worker(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sync_worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_reader(gate: Path, proc: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not any(gate.glob(f"reading-{proc.pid}")):
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "the first sync never started reading"
        time.sleep(0.01)


def _runs(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(SyncRunRow.id, SyncRunRow.outcome).order_by(SyncRunRow.id))
        return [(row.id, str(row.outcome)) for row in rows]


def _events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ChangeEventRow)).scalar_one())


def test_a_second_sync_ends_at_once_and_nothing_is_recorded_twice(
    engine: Engine, tmp_path: Path
) -> None:
    sessions = session_factory(engine)
    run(sessions, register(10))  # the register as it stands
    before = _events(engine)
    gate = tmp_path / "gate"
    gate.mkdir()
    first = _worker("sync", _url(engine), str(gate), "12")  # two new units: events
    _wait_for_reader(gate, first)
    second = _worker("sync", _url(engine), str(gate), "12")
    try:
        second_out, _ = second.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # it did not end at once: let both go on, then judge
        (gate / "go").touch()
        second_out, _ = second.communicate(timeout=60)
    (gate / "go").touch()
    first_out, _ = first.communicate(timeout=60)

    assert first.returncode == 0, first_out
    assert second.returncode == 3, second_out
    running_id = _runs(engine)[-1][0]
    assert f"another register sync of {CORP} is running (run {running_id}" in second_out
    assert "did not start and changed nothing" in second_out
    # One initial run, one run of the first process; none recorded twice, none interrupted.
    assert [outcome for _, outcome in _runs(engine)] == ["succeeded", "succeeded"]
    added = _events(engine) - before
    assert added > 0 and f"events={added}" in first_out


def test_a_second_sync_may_wait_for_the_first(engine: Engine, tmp_path: Path) -> None:
    sessions = session_factory(engine)
    run(sessions, register(10))
    gate = tmp_path / "gate"
    gate.mkdir()
    first = _worker("sync", _url(engine), str(gate), "12")
    _wait_for_reader(gate, first)
    second = _worker("sync", _url(engine), str(gate), "12", "60")  # waits up to a minute
    time.sleep(0.5)
    assert second.poll() is None  # waiting for the lock, not reading
    assert len(list(gate.glob("reading-*"))) == 1
    (gate / "go").touch()
    first_out, _ = first.communicate(timeout=60)
    second_out, _ = second.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0, (first_out, second_out)
    assert "events=0" in second_out  # it ran after the first: nothing left to change
    assert [outcome for _, outcome in _runs(engine)] == ["succeeded"] * 3


def test_a_killed_sync_shows_interrupted_as_soon_as_its_lock_is_gone(
    engine: Engine, tmp_path: Path
) -> None:
    sessions = session_factory(engine)
    run(sessions, register(10))
    gate = tmp_path / "gate"
    gate.mkdir()
    worker = _worker("sync", _url(engine), str(gate), "12")
    _wait_for_reader(gate, worker)
    summary = register_summary(sessions, CORP, [RENOVATION], date(2026, 12, 1))
    assert summary.last_run is not None
    assert summary.last_run["outcome"] == RunOutcome.RUNNING  # it is: it holds its lock

    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    deadline = time.monotonic() + 10  # the database server notices the closed session
    outcome = summary.last_run["outcome"]
    while outcome != RunOutcome.INTERRUPTED and time.monotonic() < deadline:
        summary = register_summary(sessions, CORP, [RENOVATION], date(2026, 12, 1))
        assert summary.last_run is not None
        outcome = summary.last_run["outcome"]
        time.sleep(0.05)
    assert outcome == RunOutcome.INTERRUPTED
    assert [outcome for _, outcome in _runs(engine)] == ["succeeded", "interrupted"]
    assert run(sessions, register(12)).outcome == RunOutcome.SUCCEEDED  # the lock is free


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of its own (never migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh' / 'keukentafel.db'}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL store tests skipped")
    url = make_url(base)
    name = f"kt_race_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_processes_migrating_a_fresh_store_both_succeed(fresh_url: str, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    workers = [_worker("migrate", fresh_url, str(gate)) for _ in range(3)]
    deadline = time.monotonic() + 60
    while len(list(gate.glob("ready-*"))) < len(workers):  # all connected, waiting at the gate
        assert all(w.poll() is None for w in workers), [w.communicate()[0] for w in workers]
        assert time.monotonic() < deadline
        time.sleep(0.01)
    (gate / "go").touch()
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], outputs
    engine = make_engine(fresh_url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            assert len(list(versions)) == 1
    finally:
        engine.dispose()
