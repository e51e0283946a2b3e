"""The append-only consent ledger of one project and the admission of new entries (pure).

``Ledger(scope, stored)`` takes the entries already stored (trusted, in recorded order) and
checks each new one against the current state before it is appended. A new entry is either
admitted (returned complete: the running tenancy and, for a household answer, the parties whose
role runs are filled in) or refused with a code and a reason an operator can read, never raised:

- unknown unit; an owner-occupied or privately rented unit (owners' track); no running lease
  that day (vacant); a party not on the lease or whose role does not run that day;
- a date in the future (after the day it is recorded);
- a duplicate: the same content as an entry already in the ledger (also voided ones), so
  importing the same file twice adds nothing;
- an answer or withdrawal after the tenancy's last day (latest notice + 56 days, inclusive);
- a package that is unknown, maintenance (not voted on), or named where only the whole proposal
  is voted on; a withdrawal with no agreement to withdraw;
- an exclusion without a reason or without who decided, or of a unit already excluded; a
  reversal of an exclusion not in force; a correction of an unknown or already voided entry.

The rules that depend on the order of events in time (deadline, withdrawal, exclusions) are
decided by replaying the unit with the new entry in it (state.py), so admission and the tally
can never disagree. Nothing here updates or deletes an entry: the store appends what ``admit``
returns, and ``entries`` only grows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from keukentafel.domain.consent.entries import (
    Correction,
    Exclusion,
    ExclusionReversal,
    LedgerEntry,
    NoticeSent,
    Refusal,
    RefusalCode,
    TimedEntry,
)
from keukentafel.domain.consent.scope import ProjectScope
from keukentafel.domain.consent.state import (
    ConsentState,
    Refused,
    ballots_for,
    fold,
    notice_lease,
    parties_for,
    refold_units,
    replay_unit,
    tenancy_for,
    voided_ids,
)
from keukentafel.domain.consent.tally import ProjectTally, tally_of


@dataclass(frozen=True, slots=True)
class AdmitReport:
    """The outcome of admitting a batch (e.g. one imported file), row by row, in input order."""

    admitted: tuple[LedgerEntry, ...]
    refused: tuple[Refusal, ...]


class Ledger:
    """One project's ledger in memory: the stored entries plus those admitted since."""

    def __init__(self, scope: ProjectScope, entries: Iterable[LedgerEntry] = ()) -> None:
        self.scope = scope
        self._entries: list[LedgerEntry] = []
        self._by_id: dict[str, LedgerEntry] = {}
        self._contents: set[tuple[object, ...]] = set()
        self._by_unit: dict[str, list[TimedEntry]] = {}
        self._void: set[str] | None = None
        self._notices: dict[str, tuple[int, ...]] | None = None
        self._state: ConsentState | None = None
        self._dirty: set[str] = set()  # units whose entries changed since the state was made
        # The last tally (its day, the state it was made of): a page view asks for the same
        # tally again and again until an entry comes in; made anew only when the state changed.
        self._tallied: tuple[date, ConsentState, ProjectTally] | None = None
        for entry in entries:
            self._append(entry)

    @property
    def entries(self) -> tuple[LedgerEntry, ...]:
        return tuple(self._entries)

    def entry(self, entry_id: str) -> LedgerEntry | None:
        return self._by_id.get(entry_id)

    def state(self) -> ConsentState:
        """The compact state of everything in the ledger.

        Made by one fold, then kept: an admitted entry replays only its own unit again (a
        correction, which may touch any unit through a chain of corrections, folds anew).
        """
        if self._state is None:
            self._state = fold(self.scope, self._entries)
        elif self._dirty:
            void = self._voided()
            changed = {
                code: [e for e in self._by_unit.get(code, []) if e.id not in void]
                for code in self._dirty
                if self.scope.unit(code) is not None
            }
            self._state = refold_units(self._state, changed, self._notice_days())
        self._dirty.clear()
        return self._state

    def tally(self, as_of: date, *, known_at: datetime | None = None) -> ProjectTally:
        if known_at is None:
            state = self.state()
            if self._tallied is not None:
                day, made_of, made = self._tallied
                if day == as_of and made_of is state:
                    return made
            made = tally_of(state, as_of)
            self._tallied = (as_of, state, made)
            return made
        return tally_of(fold(self.scope, self._entries, known_at), as_of)

    def check(self, entry: LedgerEntry) -> LedgerEntry | Refusal:
        """The entry as it would be stored (completed), or why it is refused. Appends nothing."""
        if entry.id in self._by_id:
            return Refusal(entry.id, RefusalCode.DUPLICATE_ID, f"entry id {entry.id} is taken")
        try:
            complete = self._complete(entry)
        except Refused as refused:
            return Refusal(entry.id, refused.code, refused.reason)
        if complete.content() in self._contents:
            return Refusal(
                entry.id, RefusalCode.DUPLICATE, "the same entry is already in the ledger"
            )
        if isinstance(complete, TimedEntry):
            refusal = self._dry_run(complete)
            if refusal is not None:
                return refusal
        return complete

    def admit(self, entry: LedgerEntry) -> LedgerEntry | Refusal:
        """Check the entry and append it when admitted; returns what was appended, or why not."""
        result = self.check(entry)
        if not isinstance(result, Refusal):
            self._append(result)
        return result

    def extend(self, stored: Iterable[LedgerEntry]) -> int:
        """Append entries stored since this ledger was loaded (by another process, or another
        App's request), trusted as ``Ledger(scope, stored)`` trusts them; ids already here are
        skipped. Returns how many were appended."""
        added = 0
        for entry in stored:
            if entry.id not in self._by_id:
                self._append(entry)
                added += 1
        return added

    def admit_all(self, entries: Iterable[LedgerEntry]) -> AdmitReport:
        """Admit a batch in order; a later row sees the earlier ones (duplicates in one file)."""
        admitted: list[LedgerEntry] = []
        refused: list[Refusal] = []
        for entry in entries:
            result = self.admit(entry)
            if isinstance(result, Refusal):
                refused.append(result)
            else:
                admitted.append(result)
        return AdmitReport(tuple(admitted), tuple(refused))

    # --- internals -------------------------------------------------------------------------

    def _append(self, entry: LedgerEntry) -> None:
        self._entries.append(entry)
        self._by_id[entry.id] = entry
        self._contents.add(entry.content())
        if isinstance(entry, TimedEntry):
            unit_code = self._unit_code(entry)
            self._by_unit.setdefault(unit_code, []).append(entry)
            self._dirty.add(unit_code)
        elif isinstance(entry, NoticeSent):
            self._notices = None
            self._dirty.add(entry.unit_code)  # its deadline decides the unit's later answers
        else:
            self._void = self._notices = self._state = None

    def _unit_code(self, entry: TimedEntry) -> str:
        if isinstance(entry, ExclusionReversal) and not entry.unit_code:
            target = self._by_id.get(entry.exclusion_id)
            return target.unit_code if isinstance(target, Exclusion) else ""
        return str(getattr(entry, "unit_code", ""))

    def _voided(self) -> set[str]:
        if self._void is None:
            self._void = voided_ids(self._entries)
        return self._void

    def _notice_days(self) -> dict[str, tuple[int, ...]]:
        """Notice days per lease of the live notices (kept until a notice or correction)."""
        if self._notices is None:
            void = self._voided()
            days: dict[str, list[int]] = {}
            for entry in self._entries:
                if isinstance(entry, NoticeSent) and entry.id not in void:
                    try:
                        lease_id = notice_lease(self.scope, entry)
                    except Refused:
                        continue  # the fold reports it; it sets no deadline
                    days.setdefault(lease_id, []).append(entry.sent_on.toordinal())
            self._notices = {lease: tuple(sorted(d)) for lease, d in days.items()}
        return self._notices

    def _complete(self, entry: LedgerEntry) -> LedgerEntry:
        """Static checks, and the tenancy and parties filled in; raises ``Refused``."""
        if isinstance(entry, Correction):
            return self._correction(entry)
        if isinstance(entry, NoticeSent):
            _not_future(entry.sent_on, entry)
            return replace(entry, lease_id=notice_lease(self.scope, entry))
        if isinstance(entry, ExclusionReversal):
            return self._reversal(entry)
        self._unit(entry.unit_code)
        _not_future(entry.day, entry)
        if isinstance(entry, Exclusion):
            return entry  # reason, who decided and overlap are decided by the dry run
        ballots_for(self.scope.profile, entry.package)
        tenancy = tenancy_for(self.scope, entry.unit_code, entry.lease_id, entry.day)
        parties = parties_for(tenancy, entry.parties, entry.day)
        return replace(entry, lease_id=tenancy.lease_id, parties=tuple(p.party_id for p in parties))

    def _unit(self, unit_code: str) -> None:
        unit = self.scope.unit(unit_code)
        if unit is None:
            raise Refused(
                RefusalCode.UNKNOWN_UNIT,
                f"unit {unit_code} is not in project {self.scope.project_code}",
            )
        if unit.owners_track:
            raise Refused(
                RefusalCode.OWNERS_TRACK,
                f"unit {unit_code} is {unit.tenure.value}: owners are a separate track and "
                f"never count",
            )

    def _correction(self, entry: Correction) -> Correction:
        if not entry.reason.strip():
            raise Refused(RefusalCode.REASON_REQUIRED, "a correction needs a reason")
        if entry.corrects not in self._by_id:
            raise Refused(RefusalCode.UNKNOWN_ENTRY, f"there is no entry {entry.corrects}")
        if entry.corrects in self._voided():
            raise Refused(
                RefusalCode.ALREADY_CORRECTED, f"entry {entry.corrects} is already voided"
            )
        return entry

    def _reversal(self, entry: ExclusionReversal) -> ExclusionReversal:
        target = self._by_id.get(entry.exclusion_id)
        if not isinstance(target, Exclusion) or target.id in self._voided():
            raise Refused(
                RefusalCode.UNKNOWN_ENTRY, f"there is no exclusion {entry.exclusion_id} in force"
            )
        if not entry.reason.strip():
            raise Refused(RefusalCode.REASON_REQUIRED, "ending an exclusion needs a reason")
        if not entry.decided_by.strip():
            raise Refused(RefusalCode.DECIDED_BY_REQUIRED, "ending an exclusion needs who decided")
        _not_future(entry.day, entry)
        return replace(entry, unit_code=target.unit_code)

    def _dry_run(self, entry: TimedEntry) -> Refusal | None:
        """Replay the entry's unit with it added; a refusal if the replay would not count it."""
        unit_code = self._unit_code(entry)
        unit = self.scope.unit(unit_code)
        if unit is None:
            return None
        void = self._voided()
        entries = [e for e in self._by_unit.get(unit_code, []) if e.id not in void]
        entries.append(entry)
        timeline = replay_unit(self.scope, unit, self._notice_days(), entries)
        for _, refusal in timeline.ignored:
            if refusal.entry_id == entry.id:
                return refusal
        return None


def _not_future(day: date, entry: LedgerEntry) -> None:
    if day > entry.recorded_day:
        raise Refused(
            RefusalCode.FUTURE_DATE,
            f"dated {day}, after the day it is recorded ({entry.recorded_day})",
        )
