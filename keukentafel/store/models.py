"""The relational shape of the register: typed SQLAlchemy 2.0 models on one declarative base.

The schema itself is created by Alembic migrations (``keukentafel/store/migrations``), never by
``create_all``; these models are what the repositories read and write. Every register row carries
the content hash of its domain value, so a sync writes only what changed and a re-sync with no
change writes nothing and leaves ``updated_at`` alone. Rows that disappear from the source are
marked ``removed_at``, never deleted: the history stays for the operator and the audit.

Restricted notes (special-category data) live in their own table, which no export or sync reads.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from keukentafel.domain.audit import AuditKind
from keukentafel.domain.mailing import MailingState
from keukentafel.domain.messages import MessageKind
from keukentafel.domain.outbox import OutboxStatus
from keukentafel.domain.runs import RunKind, RunOutcome

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

IntPK = Annotated[int, mapped_column(primary_key=True, autoincrement=True)]
Code = Annotated[str, mapped_column(String(64))]
Text200 = Annotated[str, mapped_column(String(200), default="")]
# Names and addresses as a source gives them: no length a database would refuse (a very long
# name or street is stored whole, not refused by PostgreSQL halfway through a sync).
FreeText = Annotated[str, mapped_column(Text, default="")]
Hash = Annotated[str, mapped_column(String(32))]


def by_value(enum: type[StrEnum], length: int) -> Enum:
    """A column of a domain enum, stored as its value in a plain VARCHAR (no database enum type
    and no CHECK constraint, so a new member needs no migration). Rows read back as members."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class UnitRow(Base):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("corporation_code", "code"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    code: Mapped[Code]
    vera_id: Mapped[Code]
    complex_code: Mapped[Code] = mapped_column(index=True)
    street: Mapped[FreeText]
    number: Mapped[int]
    letter: Mapped[str] = mapped_column(String(8), default="")
    addition: Mapped[FreeText]
    postcode: Mapped[str] = mapped_column(String(7))  # "" when the source has none
    town: Mapped[FreeText]
    street_short: Mapped[str] = mapped_column(String(64), default="")  # BAG korteNaam
    tenure: Mapped[str] = mapped_column(String(32))
    content_hash: Mapped[Hash]
    updated_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class ResidentRow(Base):
    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("corporation_code", "relation_id"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    relation_id: Mapped[Code]
    is_organisation: Mapped[bool]
    initials: Mapped[FreeText]
    first_name: Mapped[FreeText]
    tussenvoegsel: Mapped[FreeText]
    surname: Mapped[FreeText]
    gender: Mapped[str] = mapped_column(String(4), default="")
    organisation_name: Mapped[FreeText]
    # [{"kind": "email", "value": "...", "preferred": true}], "problem": "..." when not usable
    contacts: Mapped[list[Any]]
    language: Mapped[str] = mapped_column(String(8), default="nl")
    needs: Mapped[list[Any]]  # ["interpreter", ...]
    content_hash: Mapped[Hash]
    updated_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class LeaseRow(Base):
    __tablename__ = "leases"
    __table_args__ = (
        UniqueConstraint("corporation_code", "lease_id"),
        Index("ix_leases_unit", "corporation_code", "unit_code"),
    )

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    lease_id: Mapped[Code]
    unit_code: Mapped[Code]
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    # [{"relation_id": "...", "role": "tenant"}], with "start_date"/"end_date" (ISO) when the
    # role has its own dates
    parties: Mapped[list[Any]]
    content_hash: Mapped[Hash]
    updated_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class RestrictedNoteRow(Base):
    """Special-category notes: never part of a sync, an export or a letter context."""

    __tablename__ = "restricted_notes"

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    relation_id: Mapped[Code] = mapped_column(index=True)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[Text200]
    created_at: Mapped[datetime]


class SyncRunRow(Base):
    """One run that read a source into the store: a register sync or a team-list pull."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_corp_kind", "corporation_code", "kind"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code] = mapped_column(index=True)
    kind: Mapped[RunKind] = mapped_column(by_value(RunKind, 16))
    source: Mapped[str] = mapped_column(String(32))  # the source's name, for the operator
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[RunOutcome] = mapped_column(by_value(RunOutcome, 16))
    counts: Mapped[dict[str, Any]]
    rows_written: Mapped[int] = mapped_column(default=0)
    rejected_count: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")


class ChangeEventRow(Base):
    __tablename__ = "change_events"
    __table_args__ = (Index("ix_change_events_corp_kind", "corporation_code", "kind"),)

    id: Mapped[IntPK]
    sync_run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    corporation_code: Mapped[Code]
    kind: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[Code]
    unit_code: Mapped[Code]
    fields: Mapped[list[Any]]
    created_at: Mapped[datetime]


class RejectedRowRow(Base):
    __tablename__ = "rejected_rows"

    id: Mapped[IntPK]
    sync_run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    corporation_code: Mapped[Code]
    entity: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[Code]
    unit_code: Mapped[Code]
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    raw: Mapped[Any] = mapped_column(JSON, nullable=True)  # the row as received


class OutboxRow(Base):
    """One outgoing message. ``dedupe_key`` makes enqueueing idempotent; see domain/outbox.py."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_outbox_status", "corporation_code", "status"),
    )

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    mailing_key: Mapped[str] = mapped_column(String(120), index=True)
    unit_code: Mapped[Code]
    channel: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(40))
    message_id: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[Text200]
    subject: Mapped[Text200]
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[OutboxStatus] = mapped_column(by_value(OutboxStatus, 16))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sending_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # The service said "later" (429/503): not before this time; how often it said so.
    next_attempt_at: Mapped[datetime | None]
    deferrals: Mapped[int] = mapped_column(default=0)


class TeamContactRow(Base):
    """One row of a guidance team's own contact list (SharePoint list or Excel), as last read.

    Stored as the team keeps it, apart from the ERP's register: the register stays the source of
    truth for who rents, and the team's additions are merged in when households are read.
    """

    __tablename__ = "team_contacts"
    __table_args__ = (UniqueConstraint("corporation_code", "source", "row_key"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    source: Mapped[str] = mapped_column(String(32))
    row_key: Mapped[Code]
    data: Mapped[dict[str, Any]]
    content_hash: Mapped[Hash]
    updated_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class ConnectorStateRow(Base):
    """Small durable connector state: delta links, reply watermarks. Never secrets."""

    __tablename__ = "connector_state"
    __table_args__ = (UniqueConstraint("corporation_code", "key"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    key: Mapped[str] = mapped_column(String(120))
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class SourcePageRow(Base):
    """What validation needs about the items of one source page, by a digest of the page's bytes.

    A sync that meets a page whose bytes (and mapping) are unchanged takes the items' ids,
    content hashes and references from here instead of parsing and mapping the page again (see
    ``keukentafel.domain.register.PageMemo``). ``summary`` holds ids and hashes only, no
    personal data; pages with rows kept aside are never summarised. Written only in the
    transaction of a successful sync, which also drops the pages that run did not see.
    """

    __tablename__ = "source_pages"
    __table_args__ = (UniqueConstraint("corporation_code", "source", "page_key"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    source: Mapped[str] = mapped_column(String(32))
    page_key: Mapped[str] = mapped_column(String(64))
    summary: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime]


class InvitationRow(Base):
    """The last version of each calendar invitation sent: its UID, SEQUENCE and content.

    RFC 5545 clients apply an update only when its SEQUENCE is higher than the one they have, so
    every change of an event raises it; sending the same event again keeps it.
    """

    __tablename__ = "invitations"
    __table_args__ = (UniqueConstraint("corporation_code", "uid"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    uid: Mapped[str] = mapped_column(String(120))
    unit_code: Mapped[Code]
    sequence: Mapped[int]
    content_hash: Mapped[Hash]
    updated_at: Mapped[datetime]


class MailingRow(Base):
    """One mailing of a project: what it said (a digest, and once prepared the content), where it
    is in its life, who started it, whom it reached, and the mailing it corrects.

    The identity is (corporation, project, kind, mailing id); the outbox's rows carry the same
    identity as their mailing key. See keukentafel/domain/mailing.py for the states.
    """

    __tablename__ = "mailings"
    __table_args__ = (UniqueConstraint("corporation_code", "project_code", "kind", "mailing_id"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    project_code: Mapped[Code]
    kind: Mapped[MessageKind] = mapped_column(by_value(MessageKind, 32))
    mailing_id: Mapped[str] = mapped_column(String(60))
    content_digest: Mapped[str] = mapped_column(String(64))
    state: Mapped[MailingState] = mapped_column(by_value(MailingState, 16))
    started_by: Mapped[Text200]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # A correction names the mailing it corrects (its mailing_id; "" for none). What a mailing
    # said (event and details as given, for the next correction's "what changed") and to which
    # units it was written are kept once it is prepared; unit codes only, no personal data.
    follows: Mapped[str] = mapped_column(String(60), default="")
    content: Mapped[Any] = mapped_column(JSON, nullable=True)
    recipients: Mapped[Any] = mapped_column(JSON, nullable=True)


# --- the resident's page and the staff page (keukentafel/web, issue 14) -------------------------


class ResidentAccessRow(Base):
    """One personal link and its short code as issued with a letter (keukentafel/domain/links.py).

    Only digests of the token and the code are kept. A link works only while this row says so:
    not revoked, not expired, and the unit's running agreements (``tenancy``, the lease ids) are
    the ones it was issued for, so the next tenant cannot use the previous tenant's letter.
    """

    __tablename__ = "resident_access"
    __table_args__ = (
        UniqueConstraint("token_digest"),
        UniqueConstraint("code_digest"),
        UniqueConstraint("public_id"),
        Index("ix_resident_access_unit", "corporation_code", "project_code", "unit_code"),
    )

    id: Mapped[IntPK]
    public_id: Mapped[str] = mapped_column(String(32))  # random; what a session refers to
    corporation_code: Mapped[Code]
    project_code: Mapped[Code]
    unit_code: Mapped[Code]
    tenancy: Mapped[str] = mapped_column(String(200))  # the running lease ids, sorted, joined
    purpose: Mapped[str] = mapped_column(String(32))  # the message kind of the letter
    token_digest: Mapped[str] = mapped_column(String(64))
    code_digest: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[date]
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime]
    first_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[Text200]


class FormUseRow(Base):
    """A form's one-time nonce, once used: the same form sent again records nothing."""

    __tablename__ = "web_form_uses"

    nonce_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    used_at: Mapped[datetime] = mapped_column(index=True)


class RateCounterRow(Base):
    """Attempts per key (a hashed client address, a project) per fixed window, for every worker."""

    __tablename__ = "web_rate_counters"
    __table_args__ = (UniqueConstraint("key", "window_start"),)

    id: Mapped[IntPK]
    key: Mapped[str] = mapped_column(String(120))
    window_start: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int]


class ResidentLetterRow(Base):
    """A letter a household was sent, with its archived PDF (relative to the output folder)."""

    __tablename__ = "resident_letters"
    __table_args__ = (
        UniqueConstraint("mailing_key", "unit_code"),
        UniqueConstraint("public_id"),
        Index("ix_resident_letters_unit", "corporation_code", "unit_code"),
    )

    id: Mapped[IntPK]
    public_id: Mapped[str] = mapped_column(String(32))
    corporation_code: Mapped[Code]
    project_code: Mapped[Code]
    unit_code: Mapped[Code]
    tenancy: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    mailing_key: Mapped[str] = mapped_column(String(120))
    letter_date: Mapped[date]
    file: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime]


class OpenItemRow(Base):
    """Something a guide must pick up: a question, a request for a visit or a call, an e-mail
    reply. ``source_ref`` makes recording it idempotent (a form's nonce, a message id)."""

    __tablename__ = "open_items"
    __table_args__ = (
        UniqueConstraint("corporation_code", "source_ref"),
        UniqueConstraint("public_id"),
        Index("ix_open_items_project", "corporation_code", "project_code", "status"),
    )

    id: Mapped[IntPK]
    public_id: Mapped[str] = mapped_column(String(32))
    corporation_code: Mapped[Code]
    project_code: Mapped[Code]
    unit_code: Mapped[Code]
    tenancy: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[Text200]


class AuditRow(Base):
    """One audited act (keukentafel/domain/audit.py): who, when, what, which unit; never names.

    Append-only: only keukentafel/store/repositories/audit.py writes it, by inserting; the
    migration adds a trigger that refuses an UPDATE on both backends.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_corp_unit", "corporation_code", "unit_code"),
        Index("ix_audit_log_corp_kind", "corporation_code", "kind"),
    )

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    at: Mapped[datetime]
    kind: Mapped[AuditKind] = mapped_column(by_value(AuditKind, 40))
    actor: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[Code]
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]]


# --- the consent ledger (art. 7:220 BW; keukentafel/domain/consent, docs/consent.md) -------------


class ConsentEntryRow(Base):
    """One entry of a project's consent ledger: an answer, withdrawal, exclusion, its reversal, a
    correction or a notice sent. Append-only: nothing updates or deletes a row (database triggers
    refuse it, see ``LEDGER_GUARDS``); a correction is a new row pointing at the one it voids.

    ``seq`` is the recorded order. ``parties`` holds keys of ``consent_parties`` rows, never
    relation ids, so the privacy purge can pseudonymise a party without touching the ledger.
    Moments are naive UTC, like every timestamp in the store; ``sent_on`` is a local date.
    """

    __tablename__ = "consent_entries"
    __table_args__ = (
        UniqueConstraint("corporation_code", "project_code", "entry_id"),
        Index("ix_consent_entries_project", "corporation_code", "project_code", "seq"),
    )

    seq: Mapped[IntPK]
    corporation_code: Mapped[Code]
    project_code: Mapped[Code]
    entry_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[Text200]
    at: Mapped[datetime | None]
    sent_on: Mapped[date | None]
    unit_code: Mapped[str] = mapped_column(String(64), default="")
    lease_id: Mapped[str] = mapped_column(String(64), default="")
    parties: Mapped[list[Any]]  # keys of consent_parties rows
    choice: Mapped[str | None] = mapped_column(String(8))
    package: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[Text200]
    target: Mapped[str] = mapped_column(String(64), default="")  # what it corrects or reverses
    evidence_file: Mapped[str | None] = mapped_column(String(255))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))


class ConsentPartyRow(Base):
    """The contract parties named in consent ledgers: a key per relation id.

    The ledger refers to parties by this row's key. The privacy purge forgets a party by
    clearing its ``relation_id`` (``forgotten_at`` says when): the consent results stay, counted
    and dated, but no longer point at a person.
    """

    __tablename__ = "consent_parties"
    __table_args__ = (UniqueConstraint("corporation_code", "relation_id"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    relation_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    forgotten_at: Mapped[datetime | None]


class ConsentLedgerRow(Base):
    """One row per project ledger: its entry count, and the row every writer locks first, so two
    processes admitting answers to one project take turns (each admits against the other's)."""

    __tablename__ = "consent_ledgers"
    __table_args__ = (UniqueConstraint("corporation_code", "project_code"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    project_code: Mapped[Code]
    entries: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]


#: The database's own guard that the consent ledger is append-only, per dialect: statements that
#: make it (in migration 0012) and undo it. Tests that empty every table between tests drop and
#: remake it on SQLite (PostgreSQL empties tables with TRUNCATE, which row triggers do not see).
LEDGER_GUARDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sqlite": (
        (
            "CREATE TRIGGER consent_entries_no_update BEFORE UPDATE ON consent_entries "
            "BEGIN SELECT RAISE(ABORT, 'consent_entries is append-only: UPDATE refused'); END",
            "CREATE TRIGGER consent_entries_no_delete BEFORE DELETE ON consent_entries "
            "BEGIN SELECT RAISE(ABORT, 'consent_entries is append-only: DELETE refused'); END",
        ),
        (
            "DROP TRIGGER IF EXISTS consent_entries_no_update",
            "DROP TRIGGER IF EXISTS consent_entries_no_delete",
        ),
    ),
    "postgresql": (
        (
            "CREATE FUNCTION consent_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'consent_entries is append-only: % refused', TG_OP; END $$",
            "CREATE TRIGGER consent_entries_append_only BEFORE UPDATE OR DELETE ON consent_entries "
            "FOR EACH ROW EXECUTE FUNCTION consent_entries_append_only()",
        ),
        (
            "DROP TRIGGER IF EXISTS consent_entries_append_only ON consent_entries",
            "DROP FUNCTION IF EXISTS consent_entries_append_only()",
        ),
    ),
}


# --- planning and contractor feeds (issue 15) ----------------------------------------------------


class PlanningSessionRow(Base):
    """A small-group session with its capacity; ``booked`` is raised by a conditional update,
    so two bookings can never take the same last place."""

    __tablename__ = "planning_sessions"
    __table_args__ = (UniqueConstraint("corporation_code", "code"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    project_code: Mapped[Code]
    code: Mapped[Code]
    title: Mapped[Text200]
    start: Mapped[datetime]
    end: Mapped[datetime]
    location_name: Mapped[Text200]
    location_address: Mapped[Text200]
    guide: Mapped[Text200]
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]


#: The planned home visits, each holding its guide's time (kept in step with migration 0015).
VISIT_SLOT_WHERE = "kind = 'home_visit' AND status = 'GEP' AND guide <> ''"


class AppointmentRow(Base):
    """One appointment with a household, its VERA status and version, and how far its letter
    and the guide's calendar have caught up with that version."""

    __tablename__ = "appointments"
    __table_args__ = (
        UniqueConstraint("corporation_code", "code"),
        Index("ix_appointments_unit", "corporation_code", "unit_code"),
        Index("ix_appointments_contractor", "corporation_code", "contractor_code"),
        # A guide has one planned home visit per start time: two residents who pick the same
        # free slot on their page race here, and one gets SlotTaken (migration 0015).
        Index(
            "ux_appointments_guide_visit",
            "corporation_code",
            "guide",
            "start",
            unique=True,
            sqlite_where=text(VISIT_SLOT_WHERE),
            postgresql_where=text(VISIT_SLOT_WHERE),
        ),
    )

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    project_code: Mapped[Code]
    code: Mapped[Code]
    unit_code: Mapped[Code]
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(3))
    start: Mapped[datetime | None]
    end: Mapped[datetime | None]
    title: Mapped[Text200]
    location_name: Mapped[Text200]
    location_address: Mapped[Text200]
    guide: Mapped[Text200]
    session_code: Mapped[str] = mapped_column(String(64), default="")
    contractor_code: Mapped[str] = mapped_column(String(64), default="")
    element: Mapped[str] = mapped_column(String(64), default="")
    team: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[int]
    notified_version: Mapped[int] = mapped_column(default=0)
    told_start: Mapped[datetime | None]
    told_end: Mapped[datetime | None]
    delay_reason: Mapped[str] = mapped_column(Text, default="")
    calendar_event_id: Mapped[str] = mapped_column(String(200), default="")
    calendar_version: Mapped[int] = mapped_column(default=0)
    booked_by: Mapped[Text200]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FeedEndpointRow(Base):
    """Per contractor: the last change sequence handed out (allocated under this row's lock, so
    changes commit in sequence order) and whether its webhook endpoint is disabled (410)."""

    __tablename__ = "feed_endpoints"
    __table_args__ = (UniqueConstraint("corporation_code", "contractor_code"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    contractor_code: Mapped[Code]
    last_sequence: Mapped[int] = mapped_column(default=0)
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]


class FeedItemRow(Base):
    """The digest of each record a contractor was last given: a change is recorded only when
    the record's digest moves (or it leaves the feed)."""

    __tablename__ = "feed_items"
    __table_args__ = (UniqueConstraint("corporation_code", "contractor_code", "item_key"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    contractor_code: Mapped[Code]
    item_key: Mapped[str] = mapped_column(String(120))
    digest: Mapped[str] = mapped_column(String(32))
    # A digest of the register rows (and go / no-go) the record was made from: when it is the
    # same, the record is not made again (a refresh of 80,000 units makes only the changed ones).
    source_digest: Mapped[str] = mapped_column(String(32), default="")
    sequence: Mapped[int]
    removed: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class FeedChangeRow(Base):
    """The append-only change log of one contractor's feed, by a monotonic sequence: the pull
    API pages it by sequence (never by offset) and the webhooks carry ranges of it."""

    __tablename__ = "feed_changes"
    __table_args__ = (UniqueConstraint("corporation_code", "contractor_code", "sequence"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    contractor_code: Mapped[Code]
    sequence: Mapped[int]
    item_key: Mapped[str] = mapped_column(String(120))
    item_type: Mapped[str] = mapped_column(String(16))
    deleted: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # the record as canonical JSON
    created_at: Mapped[datetime]


class WebhookOutboxRow(Base):
    """One signed webhook to a contractor: the body and id are fixed when it is queued, so every
    retry sends the same bytes under the same ``webhook-id``."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (
        UniqueConstraint("webhook_id"),
        Index("ix_webhook_outbox_due", "corporation_code", "contractor_code", "status"),
    )

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    contractor_code: Mapped[Code]
    webhook_id: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(64))
    first_sequence: Mapped[int]
    last_sequence: Mapped[int]
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_status: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class FeedInboxRow(Base):
    """A message from a contractor (webhook or file), kept by the sender's id: applied once."""

    __tablename__ = "feed_inbox"
    __table_args__ = (UniqueConstraint("corporation_code", "contractor_code", "message_id"),)

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    contractor_code: Mapped[Code]
    message_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))  # applied | refused
    applied: Mapped[int] = mapped_column(default=0)
    refused: Mapped[list[Any]]  # ["line 2 (VHE00012): reason", ...]: unit codes, never names
    body: Mapped[bytes] = mapped_column(LargeBinary)


class ErpWriteRow(Base):
    """One write to the corporation's ERP (a VERA contact moment or appointment version), queued
    in the transaction that caused it and sent once: its key is the ERP's ``idExtern``."""

    __tablename__ = "erp_writes"
    __table_args__ = (
        UniqueConstraint("corporation_code", "write_key", "version"),
        Index("ix_erp_writes_status", "corporation_code", "status"),
    )

    id: Mapped[IntPK]
    corporation_code: Mapped[Code]
    kind: Mapped[str] = mapped_column(String(16))
    write_key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=0)
    unit_code: Mapped[Code]
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(
        String(16)
    )  # pending | sending | sent | superseded | failed
    attempts: Mapped[int] = mapped_column(default=0)
    remote_id: Mapped[str] = mapped_column(String(120), default="")
    target: Mapped[str] = mapped_column(String(200), default="")  # "vera" or the export file
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
