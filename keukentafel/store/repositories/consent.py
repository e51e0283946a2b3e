"""The consent ledgers: append and read, never update or delete (art. 7:220 BW, docs/consent.md).

A project's ledger is the rows of ``consent_entries`` in ``seq`` order. This repository has no
method that changes or removes a ledger row, and the database refuses it too (triggers made by
migration 0012, ``models.LEDGER_GUARDS``); tests/store/test_consent_store.py checks both and scans
the code for any statement that would.

- ``lock`` is the first statement of every transaction that appends: it takes the project's row
  in ``consent_ledgers``, so writers of one project take turns and each admits new entries
  against everything the others stored (read it with ``entries(after=...)`` once locked).
- Parties are stored as keys of ``consent_parties`` rows, so a party can be forgotten
  (``forget_parties``, for the privacy purge) while the ledger stays as it was written: the
  entry then names ``forgotten-<key>`` instead of a relation id.
- Moments are stored as naive UTC and read back as aware UTC; the domain takes their local
  (Europe/Amsterdam) day itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from keukentafel.domain.consent import (
    Answer,
    Channel,
    Choice,
    Correction,
    Evidence,
    Exclusion,
    ExclusionReversal,
    LedgerEntry,
    NoticeSent,
    Withdrawal,
)
from keukentafel.store.models import ConsentEntryRow, ConsentLedgerRow, ConsentPartyRow
from keukentafel.store.repositories._bulk import chunks

#: The party id an entry shows for a party the privacy purge forgot.
FORGOTTEN = "forgotten-"


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def entry_values(entry: LedgerEntry, party_keys: dict[str, int]) -> dict[str, Any]:
    """The row of one entry (``party_keys`` maps its relation ids to ``consent_parties`` keys)."""
    values: dict[str, Any] = {
        "entry_id": entry.id,
        "recorded_at": _naive_utc(entry.recorded_at),
        "recorded_by": entry.recorded_by[:200],
        "evidence_file": entry.evidence.file_name if entry.evidence else None,
        "evidence_sha256": entry.evidence.sha256 if entry.evidence else None,
        "at": None,
        "sent_on": None,
        "unit_code": "",
        "lease_id": "",
        "parties": [],
        "choice": None,
        "package": None,
        "channel": None,
        "reason": "",
        "decided_by": "",
        "target": "",
    }
    match entry:
        case Answer() | Withdrawal():
            values |= {
                "type": "answer" if isinstance(entry, Answer) else "withdrawal",
                "at": _naive_utc(entry.at),
                "unit_code": entry.unit_code,
                "lease_id": entry.lease_id,
                "parties": [party_keys[p] for p in entry.parties],
                "choice": entry.choice.value if isinstance(entry, Answer) else None,
                "package": entry.package,
                "channel": entry.channel.value,
            }
        case Exclusion():
            values |= {
                "type": "exclusion",
                "at": _naive_utc(entry.at),
                "unit_code": entry.unit_code,
            }
            values |= {"reason": entry.reason, "decided_by": entry.decided_by[:200]}
        case ExclusionReversal():
            values |= {"type": "reversal", "at": _naive_utc(entry.at), "unit_code": entry.unit_code}
            values |= {"reason": entry.reason, "decided_by": entry.decided_by[:200]}
            values["target"] = entry.exclusion_id
        case Correction():
            values |= {"type": "correction", "target": entry.corrects, "reason": entry.reason}
        case NoticeSent():
            values |= {"type": "notice", "unit_code": entry.unit_code, "lease_id": entry.lease_id}
            values |= {"sent_on": entry.sent_on, "channel": entry.channel.value}
    return values


# Kept whole: one case per entry type, each reading exactly the columns entry_values writes.
def entry_from_row(row: ConsentEntryRow, parties: dict[int, str]) -> LedgerEntry:
    """The domain entry of a stored row (``parties`` maps keys back to relation ids)."""
    common: dict[str, Any] = {
        "id": row.entry_id,
        "recorded_at": _aware(row.recorded_at),
        "recorded_by": row.recorded_by,
        "evidence": (
            Evidence(row.evidence_file, row.evidence_sha256)
            if row.evidence_file and row.evidence_sha256
            else None
        ),
    }
    party_ids = tuple(parties.get(key, f"{FORGOTTEN}{key}") for key in row.parties)
    at = _aware(row.at) if row.at is not None else None
    match row.type:
        case "answer":
            assert at is not None and row.choice and row.channel
            return Answer(
                **common,
                at=at,
                unit_code=row.unit_code,
                lease_id=row.lease_id,
                parties=party_ids,
                choice=Choice(row.choice),
                package=row.package,
                channel=Channel(row.channel),
            )
        case "withdrawal":
            assert at is not None and row.channel
            return Withdrawal(
                **common,
                at=at,
                unit_code=row.unit_code,
                lease_id=row.lease_id,
                parties=party_ids,
                package=row.package,
                channel=Channel(row.channel),
            )
        case "exclusion":
            assert at is not None
            return Exclusion(
                **common,
                at=at,
                unit_code=row.unit_code,
                reason=row.reason,
                decided_by=row.decided_by,
            )
        case "reversal":
            assert at is not None
            return ExclusionReversal(
                **common,
                at=at,
                exclusion_id=row.target,
                reason=row.reason,
                decided_by=row.decided_by,
                unit_code=row.unit_code,
            )
        case "correction":
            return Correction(**common, corrects=row.target, reason=row.reason)
        case "notice":
            assert row.sent_on is not None and row.channel
            return NoticeSent(
                **common,
                unit_code=row.unit_code,
                lease_id=row.lease_id,
                sent_on=row.sent_on,
                channel=Channel(row.channel),
            )
    raise ValueError(f"consent entry {row.entry_id}: unknown type {row.type!r}")


class ConsentRepository:
    """The consent ledgers of one corporation: append and read only."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def _insert(self, model: Any) -> Any:
        dialect = self.session.get_bind().dialect.name
        return (postgresql if dialect == "postgresql" else sqlite).insert(model)

    # -- writing: the lock, then appends -------------------------------------------------------

    def lock(self, project_code: str, now: datetime) -> None:
        """Take the project's ledger row for this transaction (made on first use).

        Call it first in a transaction that appends; entries other writers stored before it
        returned are readable after it (``entries(project_code, after=...)``)."""
        self.session.execute(
            self._insert(ConsentLedgerRow)
            .values(
                corporation_code=self.corporation,
                project_code=project_code,
                entries=0,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["corporation_code", "project_code"])
        )
        # An UPDATE holds the row (PostgreSQL) or the database's write lock (SQLite) to commit.
        self.session.execute(
            update(ConsentLedgerRow)
            .where(
                ConsentLedgerRow.corporation_code == self.corporation,
                ConsentLedgerRow.project_code == project_code,
            )
            .values(updated_at=now)
        )

    def append(self, project_code: str, entries: Sequence[LedgerEntry], now: datetime) -> int:
        """Append admitted entries (as ``Ledger.admit`` returned them), in order, to the ledger.

        The caller holds the lock (``lock``) in the same transaction. Returns the count."""
        if not entries:
            return 0
        keys = self._party_keys({p for e in entries for p in getattr(e, "parties", ())}, now)
        rows = [
            {
                "corporation_code": self.corporation,
                "project_code": project_code,
                **entry_values(entry, keys),
            }
            for entry in entries
        ]
        for chunk in chunks(rows, 500):
            self.session.execute(self._insert(ConsentEntryRow), list(chunk))
        self.session.execute(
            update(ConsentLedgerRow)
            .where(
                ConsentLedgerRow.corporation_code == self.corporation,
                ConsentLedgerRow.project_code == project_code,
            )
            .values(entries=ConsentLedgerRow.entries + len(rows), updated_at=now)
        )
        return len(rows)

    def _party_keys(self, relation_ids: set[str], now: datetime) -> dict[str, int]:
        """The key of each relation id, made for those not seen before."""
        if not relation_ids:
            return {}
        found = self._keys_of(relation_ids)
        missing = sorted(relation_ids - set(found))
        if missing:
            self.session.execute(
                self._insert(ConsentPartyRow)
                .values(
                    [
                        {"corporation_code": self.corporation, "relation_id": r, "created_at": now}
                        for r in missing
                    ]
                )
                .on_conflict_do_nothing(index_elements=["corporation_code", "relation_id"])
            )
            found |= self._keys_of(set(missing))
        return found

    def _keys_of(self, relation_ids: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in chunks(sorted(relation_ids), 900):
            for key, relation_id in self.session.execute(
                select(ConsentPartyRow.id, ConsentPartyRow.relation_id).where(
                    ConsentPartyRow.corporation_code == self.corporation,
                    ConsentPartyRow.relation_id.in_(chunk),
                )
            ):
                if relation_id is not None:
                    found[relation_id] = key
        return found

    # -- reading -------------------------------------------------------------------------------

    def last_seq(self, project_code: str) -> int:
        """The ``seq`` of the project's newest entry (0 when it has none): one index look-up."""
        return (
            self.session.scalar(
                select(func.max(ConsentEntryRow.seq)).where(
                    ConsentEntryRow.corporation_code == self.corporation,
                    ConsentEntryRow.project_code == project_code,
                )
            )
            or 0
        )

    def entries(self, project_code: str, *, after: int = 0) -> tuple[list[LedgerEntry], int]:
        """The project's entries with ``seq`` above ``after``, in recorded order, and the last
        ``seq`` read (``after`` when there are none)."""
        rows = list(
            self.session.scalars(
                select(ConsentEntryRow)
                .where(
                    ConsentEntryRow.corporation_code == self.corporation,
                    ConsentEntryRow.project_code == project_code,
                    ConsentEntryRow.seq > after,
                )
                .order_by(ConsentEntryRow.seq)
            )
        )
        parties = self._relations({key for row in rows for key in row.parties})
        last = rows[-1].seq if rows else after
        return [entry_from_row(row, parties) for row in rows], last

    def _relations(self, keys: Iterable[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for chunk in chunks(sorted(set(keys)), 900):
            for key, relation_id in self.session.execute(
                select(ConsentPartyRow.id, ConsentPartyRow.relation_id).where(
                    ConsentPartyRow.id.in_(chunk)
                )
            ):
                if relation_id is not None:
                    found[key] = relation_id
        return found

    def projects(self) -> list[str]:
        """The codes of the projects that have a ledger."""
        return list(
            self.session.scalars(
                select(ConsentLedgerRow.project_code)
                .where(ConsentLedgerRow.corporation_code == self.corporation)
                .order_by(ConsentLedgerRow.project_code)
            )
        )

    # -- privacy --------------------------------------------------------------------------------

    def forget_parties(self, relation_ids: Iterable[str], now: datetime) -> int:
        """Pseudonymise parties in every consent ledger of the corporation (the privacy purge).

        The ledger rows are not touched (they cannot be): the party's key no longer leads to its
        relation id, so entries read back name ``forgotten-<key>``. Returns how many parties
        were forgotten."""
        forgotten = 0
        for chunk in chunks(sorted(set(relation_ids)), 900):
            result = self.session.execute(
                update(ConsentPartyRow)
                .where(
                    ConsentPartyRow.corporation_code == self.corporation,
                    ConsentPartyRow.relation_id.in_(chunk),
                )
                .values(relation_id=None, forgotten_at=now)
            )
            forgotten += int(getattr(result, "rowcount", 0) or 0)
        return forgotten
