"""Use case: pull the guidance team's own contact list and merge it into the register view.

The team's rows are stored as read (diffed on content hash, so a re-read with no change writes
nothing), apart from the ERP's register. When households are read for letters or planning,
``effective_households`` merges the team's additions in with the pure rules of
keukentafel/domain/team_contacts.py: the ERP decides who rents; the team list adds contact points
and preferences; conflicts are reported, never silently won.

Every pull is recorded as a run of kind ``team_pull`` (labelled with the source's name) with
counts, and its conflicts and unmatched rows are kept with the run for the operator (unit codes
and fields, never names or values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.model import Household
from keukentafel.domain.register import EntityKind, RejectedRow, RejectReason, content_hash
from keukentafel.domain.runs import RunKind, RunOutcome
from keukentafel.domain.team_contacts import MergeResult, TeamContact, merge_team_contacts
from keukentafel.store.repositories import (
    ConnectorState,
    SyncRunRepository,
    TeamContactRepository,
    load_households,
)


@dataclass(slots=True)
class TeamListRead:
    """What one read of a team source delivered."""

    contacts: list[TeamContact]
    rejected: list[RejectedRow]
    removed_keys: list[str] = field(default_factory=list)
    state: str | None = None  # e.g. the new delta link, stored for the next read
    full: bool = True  # a full read: rows not delivered are gone


class TeamContactSource(Protocol):
    name: str  # a label for the operator and the key of its stored state: "m365_list"

    def read(self, state: str | None) -> TeamListRead: ...


@dataclass(slots=True)
class TeamPullReport:
    run_id: int
    counts: dict[str, int]
    merge: MergeResult
    rejected: list[RejectedRow]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def pull_team_contacts(
    sessions: sessionmaker[Session],
    corporation: str,
    source: TeamContactSource,
    *,
    on: date,
    complexes: list[str] | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> TeamPullReport:
    state_key = f"{source.name}:state"
    with sessions.begin() as session:
        run_id = SyncRunRepository(session, corporation).start(
            RunKind.TEAM_PULL, source.name, clock()
        )
        state = ConnectorState(session, corporation).get(state_key)
    try:
        read = source.read(state)
    except Exception as exc:
        with sessions.begin() as session:
            SyncRunRepository(session, corporation).finish(
                run_id, outcome=RunOutcome.FAILED, now=clock(), message=f"{source.name}: {exc}"
            )
        raise

    with sessions.begin() as session:
        now = clock()
        repo = TeamContactRepository(session, corporation)
        written, removed = _store_rows(repo, source.name, read, now)
        if read.state:
            ConnectorState(session, corporation).set(state_key, read.state, now)

        households = load_households(session, corporation, on, complexes)
        merge = merge_team_contacts(households, repo.active())
        findings = [*read.rejected, *_findings(merge)]
        runs = SyncRunRepository(session, corporation)
        runs.add_rejected(run_id, findings)
        counts = {
            "rows_read": len(read.contacts),
            "rows_written": written,
            "rows_removed": removed,
            "matched": len(merge.matches),
            "residents_enriched": len(merge.residents),
            "conflicts": len(merge.conflicts),
            "unmatched": len(merge.unmatched),
            "kept_aside": len(read.rejected),
        }
        runs.finish(
            run_id,
            outcome=RunOutcome.SUCCEEDED,
            now=now,
            counts=counts,
            rows_written=written,
            rejected_count=len(findings),
        )
    return TeamPullReport(run_id, counts, merge, findings)


def _store_rows(
    repo: TeamContactRepository, source: str, read: TeamListRead, now: datetime
) -> tuple[int, int]:
    """Write the rows whose content changed and mark the ones gone (a full read: not delivered
    and not held; a delta read: reported removed). Returns (rows written, rows removed)."""
    stored = repo.stored_hashes(source)
    incoming = {str(c.row): c for c in read.contacts}
    hashes = {key: content_hash(c) for key, c in incoming.items()}
    changed = {key: c for key, c in incoming.items() if stored.get(key) != hashes[key]}
    held = {r.source_id for r in read.rejected if r.source_id}
    gone = (
        (set(stored) - set(incoming) - held) if read.full else set(read.removed_keys) & set(stored)
    )
    written = repo.upsert(source, changed, hashes, now) + repo.mark_removed(source, gone, now)
    return written, len(gone)


def _findings(merge: MergeResult) -> list[RejectedRow]:
    """Conflicts and unmatched rows as operator findings: unit code, field, row; no values."""
    found: list[RejectedRow] = []
    for conflict in merge.conflicts:
        found.append(
            RejectedRow(
                EntityKind.RESIDENT,
                conflict.relation_id,
                conflict.unit_code,
                RejectReason.CONFLICT,
                f"{conflict.team_source} row {conflict.row}: {conflict.field} differs from the ERP; "
                "the ERP value is kept",
            )
        )
    for row in merge.unmatched:
        found.append(
            RejectedRow(
                EntityKind.RESIDENT,
                f"row {row.row}",
                row.unit_code,
                RejectReason.UNMATCHED,
                f"{row.source} row {row.row}: {row.detail}",
            )
        )
    return found


def effective_households(
    sessions: sessionmaker[Session], corporation: str, on: date, complexes: list[str] | None = None
) -> list[Household]:
    """Households from the register with the team's additions merged in (for letters, planning)."""
    with sessions() as session:
        households = load_households(session, corporation, on, complexes)
        contacts = TeamContactRepository(session, corporation).active()
    if not contacts:
        return households
    merged = merge_team_contacts(households, contacts).residents
    return [
        replace(h, members=tuple((merged.get(r.relation_id, r), role) for r, role in h.members))
        for h in households
    ]
