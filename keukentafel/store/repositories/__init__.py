"""Repositories over a session, one module per group of tables.

Repositories take a session and never commit: the use case owns the transaction. They read and
write domain values; SQL stays in here, so use cases need nothing from SQLAlchemy beyond the
session factory.

- register: units, residents, leases (bulk upserts, see _bulk), ``load_households``;
- runs: sync runs of every kind, their change events and rows kept aside;
- source_pages: the page memo of paged sources;
- team_contacts: the guidance team's own contact lists;
- invitations: the last SEQUENCE per calendar invitation;
- connector_state: delta links and watermarks;
- outbox: messages queued once, claimed, marked sent or failed;
- mailings: every mailing with its content digest and state;
- consent: the append-only consent ledgers (append and read only), their parties and locks.
"""

from __future__ import annotations

from keukentafel.store.repositories.connector_state import ConnectorState
from keukentafel.store.repositories.consent import ConsentRepository
from keukentafel.store.repositories.invitations import InvitationRepository
from keukentafel.store.repositories.mailings import MailingRepository
from keukentafel.store.repositories.outbox import OutboxRepository
from keukentafel.store.repositories.register import (
    RegisterRepository,
    lease_from_row,
    lease_values,
    load_households,
    resident_from_row,
    resident_values,
    unit_from_row,
    unit_values,
)
from keukentafel.store.repositories.runs import (
    RunBusy,
    SyncRunRepository,
    close_abandoned_runs,
    run_lock,
)
from keukentafel.store.repositories.source_pages import SourcePageRepository
from keukentafel.store.repositories.team_contacts import (
    TeamContactRepository,
    team_contact_from_values,
    team_contact_values,
)

__all__ = [
    "ConnectorState",
    "ConsentRepository",
    "InvitationRepository",
    "MailingRepository",
    "OutboxRepository",
    "RegisterRepository",
    "RunBusy",
    "SourcePageRepository",
    "SyncRunRepository",
    "TeamContactRepository",
    "close_abandoned_runs",
    "lease_from_row",
    "lease_values",
    "load_households",
    "resident_from_row",
    "resident_values",
    "run_lock",
    "team_contact_from_values",
    "team_contact_values",
    "unit_from_row",
    "unit_values",
]
