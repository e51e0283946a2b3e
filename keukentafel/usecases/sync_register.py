"""Use case: bring the stored register in line with one source snapshot, safely.

snapshot → validate → diff against the store → apply in one transaction. Every run is recorded
(when, source, counts per change kind, outcome) before anything else happens, so even a run that
crashes or is refused leaves a trace. A source that fails (a page still failing after retries), or
a snapshot that would shrink the register by more than the configured share, changes nothing and
fails loudly: a broken ERP must never move out half a neighbourhood.

Pages that did not change are not parsed or mapped again: the run loads the source's page
memo (``source_pages``: per page, a digest of its bytes with the ids, content hashes and
references of its items) and makes it available to the source while it reads (see
:class:`~keukentafel.usecases.page_memo.PageMemo`). Validation and the diff work on those digests;
only items that must be written are mapped. The memo is saved in the transaction of a
successful run only, so a failed or refused run leaves it as it was.

One sync per corporation at a time: the run holds the store's run lock of its corporation from
before it is recorded until it is finished (keukentafel/store/locks.py: an advisory lock on
PostgreSQL, a file lock on SQLite, both gone when the process dies). A second sync waits a moment
(``wait_seconds``) and then ends with :class:`SyncBusy`, recording nothing: it read nothing and
changed nothing. Because a running sync holds the lock, a run recorded as ``running`` whose lock
is free was killed: :func:`close_abandoned_syncs` records it as ``interrupted`` at once.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.model import Lease, Resident, Unit
from keukentafel.domain.register import (
    FINDINGS,
    ChangeEvent,
    ChangeKind,
    EntityDiff,
    EntityKind,
    RejectedRow,
    Snapshot,
    UnsafeSnapshot,
    ValidSnapshot,
    check_shrink,
    diff_hashes,
    first_load_counts,
    lease_events,
    lost_current_leases,
    protect_held_units,
    resident_events,
    unit_events,
    validate,
)
from keukentafel.domain.runs import RunKind, RunOutcome
from keukentafel.store.repositories import (
    RegisterRepository,
    RunBusy,
    SourcePageRepository,
    SyncRunRepository,
    close_abandoned_runs,
    run_lock,
)
from keukentafel.usecases.page_memo import PageMemo

ProgressFn = Callable[[str, int, int | None], None]

#: How many of a run's change events its SyncResult lists (see SyncResult.events).
KEPT_EVENTS = 10_000

#: How long a sync waits for another sync of its corporation before it gives up: long enough for
#: a moment's check of the lock (close_abandoned_syncs), far shorter than any real sync.
LOCK_WAIT_SECONDS = 3.0


class RegisterSource(Protocol):
    """Anything that can deliver a full snapshot of a corporation's register."""

    name: str

    def read(self, progress: ProgressFn | None = None, memo: PageMemo | None = None) -> Snapshot:
        """The whole register. ``memo`` (kept by the store) lets a paged source skip parsing and
        mapping pages it has seen unchanged before; a source may ignore it."""
        ...


class SyncFailed(Exception):
    """The source could not deliver a complete snapshot; the register was left as it was."""


class SyncRefused(Exception):
    """The snapshot was unsafe to apply (shrink guard); the register was left as it was."""


class SyncBusy(SyncRefused):
    """Another sync of the corporation is running: this one did not start and recorded nothing.

    ``run_id`` is the running sync's run (None when it had not recorded itself yet)."""

    def __init__(self, busy: RunBusy) -> None:
        super().__init__(
            f"{busy}; this sync did not start and changed nothing. "
            "Let the running sync finish: `keukentafel register` shows its outcome"
        )
        self.run_id = busy.run_id


@dataclass(slots=True)
class SyncResult:
    run_id: int
    outcome: RunOutcome
    counts: dict[str, int]
    rows_written: int
    rejected: list[RejectedRow] = field(default_factory=list)
    out_of_scope: int = 0  # rows outside the projects' complexes: counted, never kept aside
    message: str = ""
    # The run's change events, the first KEPT_EVENTS of them (all are stored in change_events;
    # ``counts`` counts them all). A first load has none: it is counted only.
    events: list[ChangeEvent] = field(default_factory=list)
    out_of_scope_by: dict[str, int] = field(default_factory=dict)  # per entity ("unit", ...)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while hundreds of thousands of small values are made.

    A sync allocates no reference cycles worth collecting, but the collector's repeated full
    passes over the growing heap cost more than the work itself (measured on 263,000 items:
    mapping 8.3 s → 2.9 s, validation 4.0 s → 0.4 s).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def sync_register(
    sessions: sessionmaker[Session],
    corporation_code: str,
    source: RegisterSource,
    *,
    max_shrink: float = 0.10,
    clock: Callable[[], datetime] = _utcnow,
    progress: ProgressFn | None = None,
    wait_seconds: float = LOCK_WAIT_SECONDS,
    note: str = "",
) -> SyncResult:
    """Run one sync. Raises SyncFailed or SyncRefused after recording the run, SyncBusy (without
    recording one) when another sync of the corporation holds its lock; else returns counts.

    ``note`` (e.g. the shrink guard overridden for this run) starts the run record's message."""
    try:
        with (
            run_lock(sessions, corporation_code, RunKind.REGISTER_SYNC, wait_seconds=wait_seconds),
            gc_paused(),  # once for the whole run: each resume rescanned the growing heap
        ):
            return _sync_locked(
                sessions, corporation_code, source, max_shrink, clock, progress, note
            )
    except RunBusy as exc:
        raise SyncBusy(exc) from None


def close_abandoned_syncs(
    sessions: sessionmaker[Session],
    corporation_code: str,
    *,
    clock: Callable[[], datetime] = _utcnow,
) -> int:
    """Record the corporation's syncs that are marked running but hold no lock (their process
    was killed) as interrupted; returns how many. A running sync is left alone."""
    return close_abandoned_runs(sessions, corporation_code, RunKind.REGISTER_SYNC, clock())


def _sync_locked(
    sessions: sessionmaker[Session],
    corporation_code: str,
    source: RegisterSource,
    max_shrink: float,
    clock: Callable[[], datetime],
    progress: ProgressFn | None,
    note: str = "",
) -> SyncResult:
    """One sync while holding the corporation's sync lock (see :func:`sync_register`)."""
    with sessions.begin() as session:
        runs = SyncRunRepository(session, corporation_code)
        runs.close_interrupted(RunKind.REGISTER_SYNC, clock())
        run_id = runs.start(RunKind.REGISTER_SYNC, source.name, clock(), note=note)
        memo = PageMemo(SourcePageRepository(session, corporation_code, source.name).load())
    snapshot, stored = _read(sessions, corporation_code, run_id, source, memo, clock, progress)
    memo.reading_done()
    with gc_paused():
        valid = validate(snapshot)
    del snapshot  # the valid snapshot holds what is still needed: free the rest before writing
    try:
        with gc_paused(), sessions.begin() as session:
            # The memo first, in the same transaction (a refused or failed run rolls it back):
            # then its summaries are freed before the register's rows are written.
            if memo.active:
                pages = SourcePageRepository(session, corporation_code, source.name)
                pages.save(memo.new, memo.stale(), clock())
            memo.release()
            result = _apply(session, corporation_code, run_id, valid, max_shrink, clock(), stored)
    except UnsafeSnapshot as exc:
        _finish(
            sessions,
            corporation_code,
            run_id,
            RunOutcome.REFUSED,
            clock(),
            message=str(exc),
            rejected=valid.rejected,
        )
        raise SyncRefused(str(exc)) from exc
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        _finish(sessions, corporation_code, run_id, RunOutcome.FAILED, clock(), message=message)
        raise
    result.out_of_scope = valid.out_of_scope
    result.out_of_scope_by = {entity.value: n for entity, n in valid.out_of_scope_by.items()}
    return result


#: The run record's counts hold the rows out of scope per entity under these keys.
OUT_OF_SCOPE_KEY = "out_of_scope_{entity}"


def out_of_scope_counts(valid: ValidSnapshot) -> dict[str, int]:
    """The rows out of scope per entity, as the run record keeps them beside the change counts."""
    return {
        OUT_OF_SCOPE_KEY.format(entity=entity.value): valid.out_of_scope_by.get(entity, 0)
        for entity in EntityKind
    }


def _read(
    sessions: sessionmaker[Session],
    corporation_code: str,
    run_id: int,
    source: RegisterSource,
    memo: PageMemo,
    clock: Callable[[], datetime],
    progress: ProgressFn | None,
) -> tuple[Snapshot, dict[EntityKind, dict[str, str]] | None]:
    """The source's snapshot, and the stored hashes read meanwhile (None if that failed).

    The stored hashes are read while the source is paged (a sync is the only writer of its
    corporation's register: it holds the corporation's sync lock). A source that cannot deliver
    records the run as failed and raises SyncFailed."""
    with ThreadPoolExecutor(1, thread_name_prefix="stored-hashes") as pool:
        stored_future = pool.submit(_stored_hashes, sessions, corporation_code)
        try:
            with gc_paused():
                snapshot = source.read(progress, memo)
        except Exception as exc:
            message = f"source {source.name} could not deliver a complete snapshot: {exc}"
            _finish(sessions, corporation_code, run_id, RunOutcome.FAILED, clock(), message=message)
            raise SyncFailed(message) from exc
        try:
            return snapshot, stored_future.result()
        except Exception:  # read them again in the transaction that applies the snapshot
            return snapshot, None


def _apply(
    session: Session,
    corporation: str,
    run_id: int,
    valid: ValidSnapshot,
    max_shrink: float,
    now: datetime,
    stored: dict[EntityKind, dict[str, str]] | None = None,
) -> SyncResult:
    """Diff the valid snapshot against the store, guard the shrink, write and record the run."""
    register = RegisterRepository(session, corporation)
    if stored is None:
        stored = {kind: register.stored_hashes(kind) for kind in EntityKind}
    values = {
        EntityKind.UNIT: valid.units,
        EntityKind.RESIDENT: valid.residents,
        EntityKind.LEASE: valid.leases,
    }
    held, unidentified = _held(valid, stored)
    diffs = {
        kind: diff_hashes(stored[kind], values[kind], held[kind], valid.hashes.get(kind))
        for kind in EntityKind
    }
    units, residents, leases = (
        diffs[EntityKind.UNIT],
        diffs[EntityKind.RESIDENT],
        diffs[EntityKind.LEASE],
    )
    old_units = register.units(units.changed | units.removed)
    old_residents = register.residents(residents.changed | residents.removed)
    old_leases = register.leases(leases.changed | leases.removed)
    protect_held_units(held[EntityKind.UNIT], leases, old_leases, residents)
    check_shrink(
        stored_units=len(stored[EntityKind.UNIT]),
        removed_units=len(units.removed),
        stored_current_leases=register.count_current_leases(),
        lost_leases=lost_current_leases(leases, old_leases),
        max_share=max_shrink,
    )
    # A first load (nothing ever stored, removed rows included) is counted, with no event per
    # row; homes that come back after all were removed are changes, and logged as such.
    first_load = not any(stored.values()) and register.is_empty()
    written = 0
    for kind, diff in diffs.items():
        written += register.upsert(kind, diff.upserts, diff.hashes, now)
        written += register.mark_removed(kind, diff.removed, now)
    message = (
        f"{unidentified} row(s) kept aside could not be identified (no id, no unit code): "
        "nothing was removed in this run"
        if unidentified
        else ""
    )
    if first_load:
        counts = first_load_counts(units, residents, leases)
        return _record_success(
            session, corporation, run_id, valid, (), written, now, message, counts
        )
    # One kind's events at a time, made after the rows are written.
    events = _events(diffs, (old_units, old_residents, old_leases))
    return _record_success(session, corporation, run_id, valid, events, written, now, message)


def _events(
    diffs: dict[EntityKind, EntityDiff],
    old: tuple[Mapping[str, Unit], Mapping[str, Resident], Mapping[str, Lease]],
) -> Iterator[ChangeEvent]:
    """The run's change events, one entity kind's list at a time."""
    yield from unit_events(diffs[EntityKind.UNIT], old[0])
    yield from resident_events(diffs[EntityKind.RESIDENT], old[1])
    yield from lease_events(diffs[EntityKind.LEASE], old[2])


def _held(
    valid: ValidSnapshot, stored: dict[EntityKind, dict[str, str]]
) -> tuple[dict[EntityKind, set[str]], int]:
    """The ids whose stored versions must not be removed, and how many rows kept aside could not
    be identified.

    A row kept aside with neither an id nor a unit code (an empty or formula unit-code cell)
    could be any stored unit, resident or lease: then no stored item is removed in this run
    (a missing row never moves a household out); changes and additions still apply."""
    unidentified = sum(
        1
        for row in valid.rejected
        if row.reason not in FINDINGS and not row.source_id and not row.unit_code
    )
    held = {kind: set(valid.held.get(kind, set())) for kind in EntityKind}
    if unidentified:
        for kind in EntityKind:
            held[kind] |= stored[kind].keys()
    return held, unidentified


def _record_success(
    session: Session,
    corporation: str,
    run_id: int,
    valid: ValidSnapshot,
    events: Iterable[ChangeEvent],
    written: int,
    now: datetime,
    message: str = "",
    first_load: Mapping[ChangeKind, int] | None = None,
) -> SyncResult:
    """Store the events (counting them) and the rows kept aside, and finish the run; a first
    load passes its counts instead of events."""
    runs = SyncRunRepository(session, corporation)
    every: Counter[ChangeKind] = Counter(first_load or {})
    kept: list[ChangeEvent] = []

    def counted() -> Iterator[ChangeEvent]:
        for event in events:
            every[event.kind] += 1
            if len(kept) < KEPT_EVENTS:
                kept.append(event)
            yield event

    runs.add_events(run_id, counted(), now)
    runs.add_rejected(run_id, valid.rejected)
    counts = {kind.value: every.get(kind, 0) for kind in ChangeKind}
    runs.finish(
        run_id,
        outcome=RunOutcome.SUCCEEDED,
        now=now,
        counts={**counts, **out_of_scope_counts(valid)},
        rows_written=written,
        rejected_count=len(valid.rejected),
        message=message,
    )
    return SyncResult(
        run_id,
        RunOutcome.SUCCEEDED,
        counts,
        written,
        list(valid.rejected),
        message=message,
        events=kept,
    )


def _stored_hashes(
    sessions: sessionmaker[Session], corporation: str
) -> dict[EntityKind, dict[str, str]]:
    with sessions() as session:
        register = RegisterRepository(session, corporation)
        return {kind: register.stored_hashes(kind) for kind in EntityKind}


def _finish(
    sessions: sessionmaker[Session],
    corporation: str,
    run_id: int,
    outcome: RunOutcome,
    now: datetime,
    *,
    message: str,
    rejected: list[RejectedRow] | None = None,
) -> None:
    with sessions.begin() as session:
        runs = SyncRunRepository(session, corporation)
        if rejected:
            runs.add_rejected(run_id, rejected)
        runs.finish(
            run_id, outcome=outcome, now=now, message=message, rejected_count=len(rejected or [])
        )
