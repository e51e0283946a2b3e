"""The store's locks on both backends: one sync per corporation, a running run left alone.

Two holders in one process exclude each other as two processes do (tests/e2e has the processes).
"""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.runs import RunKind, RunOutcome
from keukentafel.store.locks import StoreLock
from keukentafel.store.models import SyncRunRow
from keukentafel.store.repositories import (
    RunBusy,
    SyncRunRepository,
    close_abandoned_runs,
    run_lock,
)
from keukentafel.usecases.sync_register import SyncBusy, close_abandoned_syncs, sync_register
from tests.builders import CORP, StaticSource, register, run

NOW = datetime(2026, 12, 1, 6, 0)


def _outcomes(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return [str(o) for o in session.scalars(select(SyncRunRow.outcome).order_by(SyncRunRow.id))]


def test_a_lock_has_one_holder_until_it_is_released(engine: Engine) -> None:
    first, second = StoreLock(engine, "test"), StoreLock(engine, "test")
    other = StoreLock(engine, "another")
    assert first.try_acquire()
    assert not second.try_acquire()
    assert other.try_acquire()  # another name is another lock
    assert not second.acquire(0.05, poll_seconds=0.01)
    first.release()
    assert second.try_acquire()
    second.release()
    other.release()
    assert "secret" not in repr(first)


def test_a_sync_while_another_holds_the_lock_ends_at_once_and_records_nothing(
    sessions: sessionmaker[Session],
) -> None:
    run(sessions, register(3))
    with run_lock(sessions, CORP, RunKind.REGISTER_SYNC):
        with sessions.begin() as session:
            running = SyncRunRepository(session, CORP).start(RunKind.REGISTER_SYNC, "other", NOW)
        with pytest.raises(SyncBusy) as caught:
            sync_register(sessions, CORP, StaticSource(register(4)), wait_seconds=0)
    assert f"another register sync of {CORP} is running (run {running}, started" in str(
        caught.value
    )
    assert caught.value.run_id == running
    assert _outcomes(sessions) == ["succeeded", "running"]  # nothing recorded, nothing closed


def test_a_sync_waits_for_the_lock_when_asked(sessions: sessionmaker[Session]) -> None:
    lock = StoreLock(sessions.kw["bind"], f"run:{RunKind.REGISTER_SYNC}:{CORP}")
    assert lock.try_acquire()
    timer = threading.Timer(0.3, lock.release)
    timer.start()
    try:
        result = sync_register(sessions, CORP, StaticSource(register(2)), wait_seconds=10)
    finally:
        timer.join()
    assert result.outcome == RunOutcome.SUCCEEDED


def test_a_running_run_is_left_alone_and_a_dead_one_closed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        SyncRunRepository(session, CORP).start(RunKind.REGISTER_SYNC, "vera", NOW)
    with run_lock(sessions, CORP, RunKind.REGISTER_SYNC):  # its process is alive
        assert close_abandoned_runs(sessions, CORP, RunKind.REGISTER_SYNC, NOW) == 0
        with pytest.raises(RunBusy), run_lock(sessions, CORP, RunKind.REGISTER_SYNC):
            pass
    assert _outcomes(sessions) == ["running"]
    assert close_abandoned_syncs(sessions, CORP, clock=lambda: NOW) == 1  # its process is gone
    assert _outcomes(sessions) == ["interrupted"]
    with sessions() as session:
        latest = SyncRunRepository(session, CORP).latest(kind=RunKind.REGISTER_SYNC)
        assert latest is not None and latest.finished_at == NOW
