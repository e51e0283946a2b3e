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
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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
    street: Mapped[Text200]
    number: Mapped[int]
    letter: Mapped[str] = mapped_column(String(8), default="")
    addition: Mapped[str] = mapped_column(String(16), default="")
    postcode: Mapped[str] = mapped_column(String(7))
    town: Mapped[Text200]
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
    initials: Mapped[Text200]
    first_name: Mapped[Text200]
    tussenvoegsel: Mapped[Text200]
    surname: Mapped[Text200]
    gender: Mapped[str] = mapped_column(String(4), default="")
    organisation_name: Mapped[Text200]
    contacts: Mapped[list[Any]]  # [{"kind": "email", "value": "...", "preferred": true}]
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
    parties: Mapped[list[Any]]  # [{"relation_id": "...", "role": "tenant"}]
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
