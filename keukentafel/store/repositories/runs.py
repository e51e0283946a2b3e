"""Recorded runs (register syncs, team-list pulls) with their change events and rows kept aside.

A run is started before its source is read and finished with its outcome, so even a run that
crashes leaves a trace. A register sync holds the store's run lock of its corporation while it
runs (:func:`run_lock`, on keukentafel/store/locks.py): a second one finds it busy, and a run
recorded as running whose lock is free belongs to a process that is gone
(:func:`close_abandoned_runs` records it as interrupted, at once rather than at the next run).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.register import ChangeEvent, RejectedRow
from keukentafel.domain.runs import RunKind, RunOutcome
from keukentafel.store.locks import StoreLock, engine_of
from keukentafel.store.models import ChangeEventRow, RejectedRowRow, SyncRunRow
from keukentafel.store.repositories._bulk import bulk_insert, chunks, table_of

INTERRUPTED_MESSAGE = "interrupted: the process stopped mid-run"


class RunBusy(Exception):
    """Another process holds the run lock of this corporation and kind: a run of it is going on.

    ``running`` is that run as recorded (None when it has not recorded itself yet)."""

    def __init__(self, corporation: str, kind: RunKind, running: SyncRunRow | None) -> None:
        self.corporation = corporation
        self.kind = kind
        self.run_id = running.id if running is not None else None
        self.started_at = running.started_at if running is not None else None
        since = (
            f" (run {self.run_id}, started {self.started_at:%Y-%m-%d %H:%M} UTC)"
            if running is not None
            else ""
        )
        super().__init__(f"another {kind.replace('_', ' ')} of {corporation} is running{since}")


def _run_lock_name(corporation: str, kind: RunKind) -> str:
    return f"run:{kind}:{corporation}"


@contextmanager
def run_lock(
    sessions: sessionmaker[Session],
    corporation: str,
    kind: RunKind,
    *,
    wait_seconds: float = 0.0,
) -> Iterator[None]:
    """Hold the store's lock for runs of ``kind`` of ``corporation`` for the block.

    Waits up to ``wait_seconds`` for a run that holds it; raises :class:`RunBusy` (naming that
    run) when it stays busy. The lock dies with the process (see keukentafel/store/locks.py)."""
    lock = StoreLock(engine_of(sessions), _run_lock_name(corporation, kind))
    if not lock.acquire(wait_seconds):
        with sessions() as session:
            running = SyncRunRepository(session, corporation).latest(
                kind=kind, outcome=RunOutcome.RUNNING
            )
            if running is not None:
                session.expunge(running)
        raise RunBusy(corporation, kind, running)
    try:
        yield
    finally:
        lock.release()


def close_abandoned_runs(
    sessions: sessionmaker[Session], corporation: str, kind: RunKind, now: datetime
) -> int:
    """Record runs of ``kind`` still marked running as interrupted when no process holds their
    lock (their process is gone); returns how many. Nothing is changed while a run holds it.

    The check takes the lock for a moment, so a run that starts meanwhile cannot be closed by
    mistake (it waits a little for the lock: see ``sync_register``)."""
    lock = StoreLock(engine_of(sessions), _run_lock_name(corporation, kind))
    if not lock.try_acquire():
        return 0
    try:
        with sessions.begin() as session:
            return SyncRunRepository(session, corporation).close_interrupted(kind, now)
    finally:
        lock.release()


class SyncRunRepository:
    """Runs of one corporation with their change events and the rows kept aside."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def start(self, kind: RunKind, source: str, now: datetime, *, note: str = "") -> int:
        """Record a run of ``kind`` reading ``source`` (its name, for the operator) as running.

        ``note`` (how this run differs, e.g. a guard overridden) stays at the start of the run's
        message when it finishes."""
        run = SyncRunRow(
            corporation_code=self.corporation,
            kind=kind,
            source=source,
            started_at=now,
            outcome=RunOutcome.RUNNING,
            counts={},
            message=note,
        )
        self.session.add(run)
        self.session.flush()
        return run.id

    def close_interrupted(self, kind: RunKind, now: datetime) -> int:
        """Runs of ``kind`` still marked running were killed: record them as interrupted.

        Call it only while holding the kind's :func:`run_lock` (or a lock that excludes every
        run of the kind): then no run is really running."""
        closed = self.session.execute(
            update(SyncRunRow)
            .where(
                SyncRunRow.corporation_code == self.corporation,
                SyncRunRow.kind == kind,
                SyncRunRow.outcome == RunOutcome.RUNNING,
            )
            .values(outcome=RunOutcome.INTERRUPTED, finished_at=now, message=INTERRUPTED_MESSAGE)
            .returning(SyncRunRow.id)
        )
        return len(closed.all())

    def finish(
        self,
        run_id: int,
        *,
        outcome: RunOutcome,
        now: datetime,
        counts: Mapping[str, int] | None = None,
        rows_written: int = 0,
        rejected_count: int = 0,
        message: str = "",
    ) -> None:
        note = self.session.scalar(select(SyncRunRow.message).where(SyncRunRow.id == run_id))
        if note:
            message = f"{note}; {message}" if message else note
        self.session.execute(
            update(SyncRunRow)
            .where(SyncRunRow.id == run_id)
            .values(
                outcome=outcome,
                finished_at=now,
                counts=dict(counts or {}),
                rows_written=rows_written,
                rejected_count=rejected_count,
                message=message,
            )
        )

    def add_events(self, run_id: int, events: Iterable[ChangeEvent], now: datetime) -> None:
        columns = (
            "sync_run_id",
            "corporation_code",
            "kind",
            "entity",
            "entity_id",
            "unit_code",
            "fields",
            "created_at",
        )
        corporation = self.corporation
        rows = (
            (
                run_id,
                corporation,
                e.kind.value,  # the bulk path writes driver values: no type processing
                e.entity.value,
                e.entity_id,
                e.unit_code,
                list(e.fields),
                now,
            )
            for e in events
        )
        bulk_insert(self.session, table_of(ChangeEventRow), columns, rows)

    def add_rejected(self, run_id: int, rejected: Sequence[RejectedRow]) -> None:
        rows = [
            {
                "sync_run_id": run_id,
                "corporation_code": self.corporation,
                "entity": r.entity.value,
                "source_id": r.source_id[:64],
                "unit_code": r.unit_code[:64],
                "reason": r.reason.value,
                "detail": r.detail,
                "raw": _jsonable(r.raw),
            }
            for r in rejected
        ]
        for chunk in chunks(rows):
            self.session.execute(insert(RejectedRowRow), list(chunk))

    def latest(
        self, *, kind: RunKind | None = None, outcome: RunOutcome | None = None
    ) -> SyncRunRow | None:
        """The newest run (of ``kind``, with ``outcome``) of the corporation, or None."""
        query = select(SyncRunRow).where(SyncRunRow.corporation_code == self.corporation)
        if kind is not None:
            query = query.where(SyncRunRow.kind == kind)
        if outcome is not None:
            query = query.where(SyncRunRow.outcome == outcome)
        return self.session.scalars(query.order_by(SyncRunRow.id.desc()).limit(1)).first()

    def rejected_of(self, run_id: int) -> list[RejectedRowRow]:
        return list(
            self.session.scalars(
                select(RejectedRowRow)
                .where(RejectedRowRow.sync_run_id == run_id)
                .order_by(RejectedRowRow.id)
            )
        )


def _jsonable(value: Any) -> Any:
    """Raw rows are stored as JSON; anything else (bytes, odd types) as its text form."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)
