"""Residents' personal data across the table groups: what the access export reads and the purge
erases, in one module so that a privacy review reads one file.

Reads take every row, removed or not: a row the sync marked removed still holds the data. The
erasures work per table group and return what they removed per unit code (or per relation id for
the tables keyed by resident), counting only rows that still held something, so erasing twice
erases nothing more. They work in the caller's transaction. Each has a step in
keukentafel/usecases/privacy.py (``PURGE_STEPS``), and ``PURGE_COVERAGE`` there names, for every
table of the store, the step that handles it or why it holds no personal data (a test walks the
schema). The newer table groups are here too: the consent ledger's parties (pseudonymised; the
append-only entries stay), the resident's page (links and codes, letters, open items), the
planning (appointments) and the contractor feeds (change log payloads, webhook bodies, inbound
messages) and the writes back to the ERP.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import case, delete, func, null, or_, select, update
from sqlalchemy.orm import Session

from keukentafel.domain.model import Lease, Resident, Unit
from keukentafel.domain.outbox import OutboxStatus
from keukentafel.domain.register import EntityKind
from keukentafel.domain.team_contacts import TeamContact
from keukentafel.store.models import (
    AppointmentRow,
    ChangeEventRow,
    ConsentPartyRow,
    ErpWriteRow,
    FeedChangeRow,
    FeedInboxRow,
    InvitationRow,
    LeaseRow,
    OpenItemRow,
    OutboxRow,
    RejectedRowRow,
    ResidentAccessRow,
    ResidentLetterRow,
    ResidentRow,
    SourcePageRow,
    TeamContactRow,
    UnitRow,
    WebhookOutboxRow,
)
from keukentafel.store.repositories._bulk import chunks
from keukentafel.store.repositories.register import (
    lease_from_row,
    resident_from_row,
    unit_from_row,
)
from keukentafel.store.repositories.team_contacts import team_contact_from_values

#: What an erased message keeps as its last error: the reason, not the old text.
PURGED = "personal data removed by the purge"


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as the outbox holds it, for the access export."""

    mailing_key: str
    channel: str
    recipient: str
    subject: str
    body: bytes
    status: str
    created_at: datetime
    sent_at: datetime | None


class PersonalData:
    """One corporation's residents' personal data, over the caller's session."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    # --- reads -----------------------------------------------------------------------------

    def unit(self, code: str) -> Unit | None:
        row = self.session.scalars(
            select(UnitRow).where(
                UnitRow.corporation_code == self.corporation, UnitRow.code == code
            )
        ).first()
        return unit_from_row(row) if row is not None else None

    def units_in(self, complexes: Iterable[str]) -> dict[str, Unit]:
        """Every stored unit in these complexes, removed or not, by code."""
        wanted = sorted(set(complexes))
        found: dict[str, Unit] = {}
        for chunk in chunks(wanted, 900):
            rows = self.session.scalars(
                select(UnitRow).where(
                    UnitRow.corporation_code == self.corporation, UnitRow.complex_code.in_(chunk)
                )
            )
            found.update((row.code, unit_from_row(row)) for row in rows)
        return found

    def all_units(self) -> dict[str, Unit]:
        rows = self.session.scalars(
            select(UnitRow).where(UnitRow.corporation_code == self.corporation)
        )
        return {row.code: unit_from_row(row) for row in rows}

    def leases_of(self, unit_codes: Iterable[str], *, removed: bool = True) -> list[Lease]:
        """Every stored lease of these units (without the removed ones when ``removed`` is
        False), oldest first."""
        leases: list[Lease] = []
        for chunk in chunks(sorted(set(unit_codes)), 900):
            query = select(LeaseRow).where(
                LeaseRow.corporation_code == self.corporation, LeaseRow.unit_code.in_(chunk)
            )
            rows = self.session.scalars(
                query if removed else query.where(LeaseRow.removed_at.is_(None))
            )
            leases.extend(lease_from_row(row) for row in rows)
        return sorted(leases, key=lambda x: (x.start_date is not None, x.start_date, x.lease_id))

    def units_by_party(self) -> dict[str, set[str]]:
        """For every relation on any stored lease, the units of those leases."""
        found: dict[str, set[str]] = {}
        rows = self.session.execute(
            select(LeaseRow.unit_code, LeaseRow.parties).where(
                LeaseRow.corporation_code == self.corporation
            )
        )
        for unit_code, parties in rows:
            for party in parties:
                found.setdefault(party["relation_id"], set()).add(unit_code)
        return found

    def residents(self, relation_ids: Iterable[str]) -> dict[str, Resident]:
        """The stored residents with these relation ids, removed or not."""
        found: dict[str, Resident] = {}
        for chunk in chunks(sorted(set(relation_ids)), 900):
            rows = self.session.scalars(
                select(ResidentRow).where(
                    ResidentRow.corporation_code == self.corporation,
                    ResidentRow.relation_id.in_(chunk),
                )
            )
            found.update((row.relation_id, resident_from_row(row)) for row in rows)
        return found

    def messages_of(self, unit_code: str) -> list[StoredMessage]:
        """Every message the outbox holds for the unit, oldest first."""
        rows = self.session.scalars(
            select(OutboxRow)
            .where(OutboxRow.corporation_code == self.corporation, OutboxRow.unit_code == unit_code)
            .order_by(OutboxRow.created_at, OutboxRow.id)
        )
        return [
            StoredMessage(
                r.mailing_key,
                r.channel,
                r.recipient,
                r.subject,
                r.body,
                r.status.value,
                r.created_at,
                r.sent_at,
            )
            for r in rows
        ]

    def team_rows(self) -> list[tuple[int, TeamContact]]:
        """Every stored row of the team's lists, removed or not, with its row id."""
        rows = self.session.execute(
            select(TeamContactRow.id, TeamContactRow.data)
            .where(TeamContactRow.corporation_code == self.corporation)
            .order_by(TeamContactRow.id)
        )
        return [(row_id, team_contact_from_values(data)) for row_id, data in rows]

    # --- erasures (the purge) --------------------------------------------------------------

    def erase_residents(self, relation_ids: Iterable[str]) -> Counter[str]:
        """Delete the residents (names, contact points, language, needs); per relation id."""
        return self._delete(ResidentRow, ResidentRow.relation_id, relation_ids)

    def erase_leases(self, unit_codes: Iterable[str]) -> Counter[str]:
        """Delete the units' leases (who rented, with roles and dates); per unit code."""
        return self._delete(LeaseRow, LeaseRow.unit_code, unit_codes, LeaseRow.unit_code)

    def close_units(self, unit_codes: Iterable[str], now: datetime) -> Counter[str]:
        """Mark the units removed from the register (the unit row holds no resident data and
        stays for the history; a later sync of its complex brings it back)."""
        closed: Counter[str] = Counter()
        for chunk in chunks(sorted(set(unit_codes)), 900):
            rows = self.session.execute(
                update(UnitRow)
                .where(
                    UnitRow.corporation_code == self.corporation,
                    UnitRow.code.in_(chunk),
                    UnitRow.removed_at.is_(None),
                )
                .values(removed_at=now)
                .returning(UnitRow.code)
            )
            closed.update(code for (code,) in rows)
        return closed

    def erase_team_rows(self, row_ids: Mapping[int, str]) -> Counter[str]:
        """Delete team-list rows (``row_ids``: row id -> unit code); per unit code."""
        erased: Counter[str] = Counter()
        for chunk in chunks(sorted(row_ids), 900):
            rows = self.session.execute(
                delete(TeamContactRow)
                .where(
                    TeamContactRow.corporation_code == self.corporation,
                    TeamContactRow.id.in_(chunk),
                )
                .returning(TeamContactRow.id)
            )
            erased.update(row_ids[row_id] for (row_id,) in rows)
        return erased

    def erase_messages(self, unit_codes: Iterable[str]) -> Counter[str]:
        """Empty the recipient, body and last error of the units' outbox messages (subject,
        channel, status and dates stay: counts). A message not yet sent fails for good, so it
        can never go out empty."""
        erased: Counter[str] = Counter()
        unsent = (OutboxStatus.PENDING, OutboxStatus.SENDING)
        for chunk in chunks(sorted(set(unit_codes)), 900):
            where = (
                OutboxRow.corporation_code == self.corporation,
                OutboxRow.unit_code.in_(chunk),
                or_(OutboxRow.recipient != "", func.length(OutboxRow.body) > 0),
            )
            self.session.execute(
                update(OutboxRow)
                .where(*where, OutboxRow.status.in_(unsent))
                .values(status=OutboxStatus.FAILED)
            )
            rows = self.session.execute(
                update(OutboxRow)
                .where(*where)
                .values(recipient="", body=b"", last_error=PURGED)
                .returning(OutboxRow.unit_code)
            )
            erased.update(code for (code,) in rows)
        return erased

    def erase_invitations(self, unit_codes: Iterable[str]) -> Counter[str]:
        """Delete the units' invitation versions (UID, SEQUENCE); per unit code."""
        return self._delete(
            InvitationRow, InvitationRow.unit_code, unit_codes, InvitationRow.unit_code
        )

    def pseudonymise_history(
        self, relation_ids: Iterable[str], pseudonym: Callable[[str, str], str]
    ) -> Counter[str]:
        """Replace the relation id of the residents' change events by their pseudonym
        (``pseudonym(unit code, relation id)``); the events' kinds and field names stay."""
        changed: Counter[str] = Counter()
        for chunk in chunks(sorted(set(relation_ids)), 900):
            rows = self.session.execute(
                select(ChangeEventRow.id, ChangeEventRow.unit_code, ChangeEventRow.entity_id).where(
                    ChangeEventRow.corporation_code == self.corporation,
                    ChangeEventRow.entity == EntityKind.RESIDENT.value,
                    ChangeEventRow.entity_id.in_(chunk),
                )
            ).all()
            for row_id, unit_code, relation_id in rows:
                self.session.execute(
                    update(ChangeEventRow)
                    .where(ChangeEventRow.id == row_id)
                    .values(entity_id=pseudonym(unit_code, relation_id))
                )
                changed[unit_code] += 1
        return changed

    def erase_kept_aside(
        self, unit_codes: Iterable[str], relation_ids: Iterable[str]
    ) -> Counter[str]:
        """Empty the raw content and detail of rows kept aside for these units or residents
        (the reason code stays); per unit code ("" for a resident row without one)."""
        erased: Counter[str] = Counter()
        units, relations = sorted(set(unit_codes)), sorted(set(relation_ids))
        holding = or_(RejectedRowRow.raw.is_not(None), RejectedRowRow.detail != "")
        for column, values in (
            (RejectedRowRow.unit_code, units),
            (RejectedRowRow.source_id, relations),
        ):
            for chunk in chunks(values, 900):
                rows = self.session.execute(
                    update(RejectedRowRow)
                    .where(
                        RejectedRowRow.corporation_code == self.corporation,
                        column.in_(chunk),
                        holding,
                    )
                    .values(raw=null(), detail="")
                    .returning(RejectedRowRow.unit_code)
                )
                erased.update(code for (code,) in rows)
        return erased

    def forget_page_memo(self) -> int:
        """Drop the corporation's page memo (relation ids and content hashes of source pages):
        a cache, rebuilt by the next sync. Returns how many pages it held."""
        rows = self.session.execute(
            delete(SourcePageRow)
            .where(SourcePageRow.corporation_code == self.corporation)
            .returning(SourcePageRow.id)
        )
        return len(rows.all())

    # --- the newer table groups --------------------------------------------------------------

    def forget_consent_parties(self, relation_ids: Iterable[str], now: datetime) -> Counter[str]:
        """Pseudonymise the residents in the consent ledgers: their party key no longer leads
        to the relation id (the append-only entries, with their answers, dates and unit codes,
        stay and keep counting). Per relation id."""
        forgotten: Counter[str] = Counter()
        for chunk in chunks(sorted(set(relation_ids)), 900):
            rows = self.session.execute(
                select(ConsentPartyRow.id, ConsentPartyRow.relation_id).where(
                    ConsentPartyRow.corporation_code == self.corporation,
                    ConsentPartyRow.relation_id.in_(chunk),
                )
            ).all()
            for key, relation_id in rows:
                self.session.execute(
                    update(ConsentPartyRow)
                    .where(ConsentPartyRow.id == key)
                    .values(relation_id=None, forgotten_at=now)
                )
                forgotten[str(relation_id)] += 1
        return forgotten

    def erase_resident_pages(self, unit_codes: Iterable[str]) -> dict[str, Counter[str]]:
        """Delete the units' personal links and codes, their letters' records (the files go
        with the mailing folders) and their open items (questions and requests in the
        residents' own words); per kind, per unit code."""
        return {
            "resident_links": self._delete(
                ResidentAccessRow, ResidentAccessRow.unit_code, unit_codes
            ),
            "resident_letter_records": self._delete(
                ResidentLetterRow, ResidentLetterRow.unit_code, unit_codes
            ),
            "open_items": self._delete(OpenItemRow, OpenItemRow.unit_code, unit_codes),
        }

    def appointment_codes(self, unit_codes: Iterable[str]) -> dict[str, str]:
        """The codes of the units' appointments, with their unit code."""
        found: dict[str, str] = {}
        for chunk in chunks(sorted(set(unit_codes)), 900):
            rows = self.session.execute(
                select(AppointmentRow.code, AppointmentRow.unit_code).where(
                    AppointmentRow.corporation_code == self.corporation,
                    AppointmentRow.unit_code.in_(chunk),
                )
            )
            found.update((code, unit) for code, unit in rows)
        return found

    def erase_appointments(self, unit_codes: Iterable[str]) -> Counter[str]:
        """Delete the units' appointments (slots, addresses, delay reasons); per unit code."""
        return self._delete(AppointmentRow, AppointmentRow.unit_code, unit_codes)

    def erase_feed_changes(self, keys: Mapping[str, str]) -> Counter[str]:
        """Empty the contractors' change-log payloads of these records (``keys``: item key ->
        unit code): each becomes a removal of its key, so a contractor paging the log later
        reads that the record is gone, and sequences stay without a gap. Per unit code."""
        erased: Counter[str] = Counter()
        for chunk in chunks(sorted(keys), 900):
            rows = self.session.execute(
                update(FeedChangeRow)
                .where(
                    FeedChangeRow.corporation_code == self.corporation,
                    FeedChangeRow.item_key.in_(chunk),
                    FeedChangeRow.deleted.is_(False),
                )
                .values(payload=b"null", deleted=True)
                .returning(FeedChangeRow.item_key)
            )
            erased.update(keys[key] for (key,) in rows)
        return erased

    def erase_webhook_bodies(self, keys: Mapping[str, str]) -> Counter[str]:
        """In every queued or sent webhook body, the changes of these records become removals
        (``data`` null, ``deleted`` true); the other records' changes stay as they were. A
        webhook still to be sent then carries no purged data. Per unit code."""
        erased: Counter[str] = Counter()
        rows = self.session.execute(
            select(WebhookOutboxRow.id, WebhookOutboxRow.body).where(
                WebhookOutboxRow.corporation_code == self.corporation
            )
        ).all()
        for row_id, body in rows:
            try:
                message = orjson.loads(body)
                changes = message["data"]["changes"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue
            touched = [c for c in changes if c.get("key") in keys and c.get("data") is not None]
            if not touched:
                continue
            for change in touched:
                change["data"], change["deleted"] = None, True
                erased[keys[change["key"]]] += 1
            self.session.execute(
                update(WebhookOutboxRow)
                .where(WebhookOutboxRow.id == row_id)
                .values(body=orjson.dumps(message, option=orjson.OPT_SORT_KEYS))
            )
        return erased

    def erase_inbound_messages(self, unit_codes: Iterable[str]) -> Counter[str]:
        """Empty the bodies of contractors' messages that name one of these units (their
        outcome and counts stay); per unit code named."""
        codes = sorted(set(unit_codes))
        if not codes:
            return Counter()
        naming = re.compile(
            rb"(?<![A-Za-z0-9])(" + b"|".join(re.escape(c.encode()) for c in codes) + rb")(?![0-9])"
        )
        erased: Counter[str] = Counter()
        rows = self.session.execute(
            select(FeedInboxRow.id, FeedInboxRow.body).where(
                FeedInboxRow.corporation_code == self.corporation,
                func.length(FeedInboxRow.body) > 0,
            )
        ).all()
        for row_id, body in rows:
            named = {m.decode() for m in naming.findall(bytes(body))}
            if not named:
                continue
            self.session.execute(
                update(FeedInboxRow).where(FeedInboxRow.id == row_id).values(body=b"")
            )
            erased.update(named)
        return erased

    def erase_erp_payloads(self, unit_codes: Iterable[str]) -> Counter[str]:
        """Empty the payloads of the units' writes to the ERP (contact moments, appointments);
        one not yet sent fails for good, so it never goes out empty. Per unit code."""
        erased: Counter[str] = Counter()
        for chunk in chunks(sorted(set(unit_codes)), 900):
            rows = self.session.execute(
                select(ErpWriteRow.id, ErpWriteRow.unit_code, ErpWriteRow.payload).where(
                    ErpWriteRow.corporation_code == self.corporation,
                    ErpWriteRow.unit_code.in_(chunk),
                )
            ).all()
            for row_id, unit_code, payload in rows:
                if not payload:
                    continue
                self.session.execute(
                    update(ErpWriteRow)
                    .where(ErpWriteRow.id == row_id)
                    .values(
                        payload={},
                        status=case(
                            (ErpWriteRow.status.in_(("pending", "sending")), "failed"),
                            else_=ErpWriteRow.status,
                        ),
                        last_error=PURGED,
                    )
                )
                erased[unit_code] += 1
        return erased

    # ---

    def _delete(
        self, table: Any, key: Any, values: Iterable[str], counted: Any | None = None
    ) -> Counter[str]:
        erased: Counter[str] = Counter()
        counted = key if counted is None else counted
        for chunk in chunks(sorted(set(values)), 900):
            rows = self.session.execute(
                delete(table)
                .where(table.corporation_code == self.corporation, key.in_(chunk))
                .returning(counted)
            )
            erased.update(value for (value,) in rows)
        return erased
