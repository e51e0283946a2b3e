"""Recorded runs (register syncs, team-list pulls) with their change events and rows kept aside.

A run is started before its source is read and finished with its outcome, so even a run that
crashes leaves a trace; the next run of the same kind closes it as interrupted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from keukentafel.domain.register import ChangeEvent, RejectedRow
from keukentafel.domain.runs import RunKind, RunOutcome
from keukentafel.store.models import ChangeEventRow, RejectedRowRow, SyncRunRow
from keukentafel.store.repositories._bulk import bulk_insert, chunks, table_of

INTERRUPTED_MESSAGE = "interrupted: the process stopped mid-run"


class SyncRunRepository:
    """Runs of one corporation with their change events and the rows kept aside."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def start(self, kind: RunKind, source: str, now: datetime) -> int:
        """Record a run of ``kind`` reading ``source`` (its name, for the operator) as running."""
        run = SyncRunRow(
            corporation_code=self.corporation,
            kind=kind,
            source=source,
            started_at=now,
            outcome=RunOutcome.RUNNING,
            counts={},
        )
        self.session.add(run)
        self.session.flush()
        return run.id

    def close_interrupted(self, kind: RunKind, now: datetime) -> int:
        """Runs of ``kind`` still marked running were killed: record them as interrupted.

        Called when a new run of the same kind starts (one runs at a time per corporation)."""
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

    def add_events(self, run_id: int, events: Sequence[ChangeEvent], now: datetime) -> None:
        if not events:
            return
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
