"""Use case: what a resident's own page shows, and the requests sent from it.

The page shows the household's project, what happens in the home and when (the project's page
content in the corporation file; appointments arrive with issue 15), the contact person with
phone number, the letters sent to this tenancy (PDF), and the requests the household sent.
Names are not needed on the page and are not read; the address line says whose page it is.

A request (a question, a visit, a call) becomes an open item for the guide and an e-mail to the
shared mailbox through the outbox, in one transaction; the form's nonce is its ``source_ref``,
so the same form sent twice records one item and one e-mail.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.open_items import OpenItem, OpenItemStatus, resident_request
from keukentafel.domain.outbox import OutgoingMessage
from keukentafel.domain.resident_access import Grant
from keukentafel.store.repositories import OutboxRepository, RegisterRepository
from keukentafel.store.repositories.open_items import OpenItemRepository
from keukentafel.store.repositories.resident_letters import ResidentLetterRepository, SentLetter
from keukentafel.store.repositories.web_guards import WebGuardRepository
from keukentafel.usecases.resident_access import new_public_id

#: Builds the e-mail that tells the shared mailbox about a new open item (None: no mailbox).
NotifyMail = Callable[[OpenItem], OutgoingMessage | None]


@dataclass(frozen=True, slots=True)
class RequestLine:
    kind_label: str
    created_at: datetime
    done: bool


@dataclass(frozen=True, slots=True)
class HouseholdView:
    """What the store says about the household behind a grant (no names)."""

    street_line: str
    postcode_town: str
    letters: Sequence[SentLetter]
    requests: Sequence[RequestLine]


#: A letter's title on the page, by message kind (plain Dutch).
LETTER_TITLES = {
    "announcement": "Aankondiging van het project",
    "info_evening": "Uitnodiging bewonersavond",
    "home_visit": "Afspraak voor een huisbezoek",
    "workshop": "Uitnodiging workshop",
    "milestone_talk": "Uitnodiging gesprek",
    "proposal": "Ons voorstel voor uw woning",
    "reminder": "Herinnering: geef uw antwoord",
    "consent_reached": "Uitslag: 70 procent is akkoord",
    "appointment_confirmation": "Bevestiging van uw afspraak",
    "appointment_change": "Uw afspraak is veranderd",
    "delay_notice": "Het werk loopt vertraging op",
    "newsletter": "Nieuwsbrief",
}


def letter_title(kind: str) -> str:
    return LETTER_TITLES.get(kind, "Brief")


def household_view(sessions: sessionmaker[Session], grant: Grant) -> HouseholdView:
    with sessions() as session:
        unit = RegisterRepository(session, grant.corporation_code).units([grant.unit_code])
        letters = ResidentLetterRepository(session).for_unit(
            grant.corporation_code, grant.unit_code, tenancy=grant.tenancy
        )
        items = OpenItemRepository(session, grant.corporation_code).for_unit(
            grant.project_code, grant.unit_code
        )
    found = unit.get(grant.unit_code)
    street = found.address.street_line if found else ""
    town = f"{found.address.postcode}  {found.address.town.upper()}" if found else ""
    requests = [
        RequestLine(i.kind.label, i.created_at, i.status is OpenItemStatus.DONE)
        for i in items
        if i.channel == "web"
    ]
    return HouseholdView(street, town, letters, requests)


def letter_file(
    sessions: sessionmaker[Session], grant: Grant, letter_id: str, output_root: Path
) -> Path | None:
    """The PDF of one of the household's letters, or None when it is not theirs or is gone."""
    with sessions() as session:
        letters = ResidentLetterRepository(session).for_unit(
            grant.corporation_code, grant.unit_code, tenancy=grant.tenancy
        )
    letter = next((x for x in letters if x.public_id == letter_id), None)
    if letter is None:
        return None
    root = output_root.resolve()
    path = (root / letter.file).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


@dataclass(frozen=True, slots=True)
class RequestSent:
    item: OpenItem
    new: bool  # False: this form was sent before, nothing was added


def send_request(
    sessions: sessionmaker[Session],
    grant: Grant,
    *,
    kind: str,
    text: str,
    form_nonce: str,
    now: datetime,
    notify: NotifyMail | None,
) -> RequestSent:
    """Record a resident's request as an open item and queue the mailbox's e-mail, once per
    form. Raises InvalidRequest (a B1 message for the resident) for a request that cannot go."""
    found_kind, cleaned = resident_request(kind, text)
    nonce_digest = hashlib.sha256(form_nonce.encode()).hexdigest()
    item = OpenItem(
        public_id=new_public_id(),
        corporation_code=grant.corporation_code,
        project_code=grant.project_code,
        unit_code=grant.unit_code,
        kind=found_kind,
        channel="web",
        text=cleaned,
        status=OpenItemStatus.OPEN,
        created_at=now,
    )
    with sessions.begin() as session:
        if not WebGuardRepository(session).claim_nonce(nonce_digest, "request", now):
            return RequestSent(item, new=False)
        added = OpenItemRepository(session, grant.corporation_code).add(
            item, tenancy=grant.tenancy, source_ref=f"web:{nonce_digest}"
        )
        message = notify(item) if (added and notify is not None) else None
        if message is not None:
            OutboxRepository(session, grant.corporation_code).enqueue([message], now)
    return RequestSent(item, new=added)
