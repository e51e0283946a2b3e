"""Use case: deliver the queued contact moments and appointments to the corporation's ERP.

Writes are queued in the transactions that cause them (a booking, a letter, a visit done, a
contractor's change), so none is lost; here each is sent once. A write is marked ``sending``
(committed) before the ERP is called and ``sent`` with the ERP's id after; a write found
``sending`` after a crash is in doubt and is first looked up by its key (``idExtern``) before it
is ever sent again. An appointment version older than one already queued is ``superseded``:
only the newest needs to reach the ERP. Where the ERP has no write API the same rows go to an
export file (the adapter decides; the use case does not know which).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.store.repositories.feeds import ErpWrites, QueuedWrite

MAX_ATTEMPTS = 8
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ErpRefused(Exception):
    """The ERP refused the write (a 4xx): it certainly did not take it."""


class ErpWriter(Protocol):
    """Where writes go: VERA's ``/contactmomenten`` and ``/afspraken``, or an export file."""

    @property
    def target(self) -> str: ...

    def write(self, kind: str, key: str, payload: dict[str, Any], remote_id: str) -> str:
        """Write (create, or replace ``remote_id``); returns the ERP's id for it. Raises
        ErpRefused when it was certainly not taken; anything else leaves it in doubt."""
        ...

    def find(self, kind: str, key: str) -> str | None:
        """The ERP's id of an earlier write with this key, or None."""
        ...


@dataclass(slots=True)
class ErpReport:
    target: str = ""
    sent: int = 0
    reconciled: int = 0  # in doubt after a crash, found in the ERP: not sent again
    superseded: int = 0
    retrying: int = 0
    failed: list[str] = field(default_factory=list)  # unit codes


def deliver_erp_writes(
    sessions: sessionmaker[Session],
    corporation: str,
    writer: ErpWriter,
    *,
    clock: Clock = _utcnow,
) -> ErpReport:
    report = ErpReport(target=writer.target)
    with sessions() as session:
        due = ErpWrites(session, corporation).due()
    for write in due:
        _deliver_one(sessions, corporation, writer, write, report, clock)
    return report


def _deliver_one(
    sessions: sessionmaker[Session],
    corporation: str,
    writer: ErpWriter,
    write: QueuedWrite,
    report: ErpReport,
    clock: Clock,
) -> None:
    with sessions() as session:
        writes = ErpWrites(session, corporation)
        newer = write.version > 0 and writes.newer_queued(write.key, write.version)
        remote_id = write.remote_id or writes.remote_id_of(write.key)
    if newer:
        _set(sessions, corporation, write.id, "superseded", clock)
        report.superseded += 1
        return
    if write.status == "sending" and not remote_id:
        try:
            found = writer.find(write.kind, write.key)
        except Exception:  # cannot tell now: try again next run, never guess
            report.retrying += 1
            return
        if found and write.version == 0:  # a contact moment that went in: done
            _set(
                sessions,
                corporation,
                write.id,
                "sent",
                clock,
                remote_id=found,
                target=writer.target,
            )
            report.reconciled += 1
            return
        remote_id = found or ""  # an appointment: replace it with this version
    _set(sessions, corporation, write.id, "sending", clock, attempt=True)
    try:
        remote_id = writer.write(write.kind, write.key, write.payload, remote_id)
    except ErpRefused as exc:
        _refused(sessions, corporation, write, str(exc), report, clock)
        return
    except Exception as exc:  # in doubt: stays 'sending', looked up on the next run
        with sessions.begin() as session:
            ErpWrites(session, corporation).set_status(
                write.id, "sending", clock(), error=f"in doubt: {type(exc).__name__}: {exc}"
            )
        report.retrying += 1
        return
    _set(sessions, corporation, write.id, "sent", clock, remote_id=remote_id, target=writer.target)
    report.sent += 1


def _refused(
    sessions: sessionmaker[Session],
    corporation: str,
    write: QueuedWrite,
    error: str,
    report: ErpReport,
    clock: Clock,
) -> None:
    with sessions.begin() as session:
        writes = ErpWrites(session, corporation)
        failed = writes.attempts_of(write.id) >= MAX_ATTEMPTS
        writes.set_status(write.id, "failed" if failed else "pending", clock(), error=error)
    if failed:
        report.failed.append(write.unit_code)
    else:
        report.retrying += 1


def _set(
    sessions: sessionmaker[Session],
    corporation: str,
    row_id: int,
    status: str,
    clock: Clock,
    **values: Any,
) -> None:
    with sessions.begin() as session:
        ErpWrites(session, corporation).set_status(row_id, status, clock(), **values)


def erp_counts(sessions: sessionmaker[Session], corporation: str) -> dict[str, int]:
    with sessions() as session:
        return ErpWrites(session, corporation).counts()
