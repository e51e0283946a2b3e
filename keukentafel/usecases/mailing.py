"""Use case: one mailing for a project: letters for post, e-mails into the outbox, invitations.

Households come from the register with the team's additions merged in; vacant units get no
letter. Every household gets a letter in the print batch (paper stays the backbone); those with an
e-mail address also get it by e-mail, through the outbox, so the e-mail goes out once however
often the mailing is prepared or dispatched. The mailing key (project, kind, date) makes a second
preparation of the same mailing add nothing to the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent import (
    MIN_HOMES_FOR_PRESUMPTION,
    MailingNotAllowed,
    check_mailing,
    objection_deadline,
)
from keukentafel.domain.invitations import next_sequence
from keukentafel.domain.model import Project
from keukentafel.domain.outbox import OutgoingMessage
from keukentafel.domain.register import content_hash
from keukentafel.letters.batch import write_mailing
from keukentafel.letters.config import LettersConfig
from keukentafel.letters.context import Event, nl_date
from keukentafel.letters.ics import event_uid
from keukentafel.store.repositories import InvitationRepository
from keukentafel.usecases.outbox import enqueue
from keukentafel.usecases.team_contacts import effective_households


@dataclass(slots=True)
class MailingResult:
    mailing_key: str
    letters: int
    pages: int
    registered: int
    emails: int
    enqueued: int
    invitations: int
    print_pdf: str
    manifest: str
    out_dir: str
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (unit code, reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mailing_key": self.mailing_key,
            "letters": self.letters,
            "pages": self.pages,
            "registered": self.registered,
            "emails": self.emails,
            "enqueued": self.enqueued,
            "invitations": self.invitations,
            "print_pdf": self.print_pdf,
            "manifest": self.manifest,
            "out_dir": self.out_dir,
            "skipped": self.skipped,
        }


def mailing_key(project: Project, kind: str, mailing_id: str) -> str:
    """The mailing's identity in the outbox: the same mailing prepared again adds nothing,
    also on another day (a re-run after an outage must not write to everyone twice)."""
    return f"{project.corporation_code}/{project.code}/{kind}/{mailing_id}"


def prepare_mailing(
    sessions: sessionmaker[Session],
    project: Project,
    kind: str,
    letters: LettersConfig,
    out_dir: Path,
    *,
    on: date,
    secret: bytes,
    mailing_id: str,
    shared_event: Event | None = None,
    details: Mapping[str, Any] | None = None,
    units: list[str] | None = None,
) -> MailingResult:
    """Write the mailing for the occupied households of the project (or only the named units)
    and enqueue its e-mails. Consent letters are checked against art. 7:220 first."""
    key = mailing_key(project, kind, mailing_id)
    households = effective_households(
        sessions, project.corporation_code, on, list(project.complex_codes)
    )
    rented = [h for h in households if not h.is_vacant and not h.is_owner_occupied]
    details = dict(details or {})
    check_mailing(kind, project, homes_in_scope=len(rented), recipients=units, details=details)
    if kind == "proposal":  # the 70% presumption of art. 7:220 lid 3 needs 10+ rented homes
        details["presumption_applies"] = len(rented) >= MIN_HOMES_FOR_PRESUMPTION
    if kind == "consent_reached":
        details["notice_date_text"] = nl_date(on)
        details["objection_deadline_text"] = nl_date(objection_deadline(on))
    skipped = [(h.unit.code, "vacant: nobody to write to") for h in households if h.is_vacant]
    occupied = [h for h in households if not h.is_vacant]
    if units is not None:
        wanted = set(units)
        unknown = sorted(wanted - {h.unit.code for h in households})
        if unknown:
            raise MailingNotAllowed(
                f"{kind}: unit(s) not in the project's register: {', '.join(unknown[:10])}"
            )
        occupied = [h for h in occupied if h.unit.code in wanted]
    if kind == "consent_reached":
        skipped += [
            (h.unit.code, "owner-occupier: not in the 70% track")
            for h in occupied
            if h.is_owner_occupied
        ]
        occupied = [h for h in occupied if not h.is_owner_occupied]
    if not occupied:
        raise MailingNotAllowed(f"{kind}: no household to write to")
    sequences: dict[str, int] = {}
    versions: dict[str, tuple[str, int, str]] = {}
    if shared_event is not None:
        fingerprint = content_hash(shared_event)
        uids = {
            h.unit.code: event_uid(project.code, shared_event.event_id, h.unit.code)
            for h in occupied
        }
        with sessions() as session:
            stored = InvitationRepository(session, project.corporation_code).stored(uids.values())
        for unit_code, uid in uids.items():
            sequences[unit_code] = next_sequence(stored.get(uid), fingerprint)
            versions[uid] = (unit_code, sequences[unit_code], fingerprint)
    summary = write_mailing(
        kind,
        occupied,
        letters,
        out_dir,
        on=on,
        project=project,
        events={h.unit.code: shared_event for h in occupied} if shared_event else None,
        details=details,
        secret=secret,
        mailing_key=key,
        sequences=sequences,
    )
    messages = [
        OutgoingMessage(key, unit_code, "email", recipient, subject, body)
        for unit_code, recipient, subject, body in summary.messages
    ]
    enqueued = enqueue(sessions, project.corporation_code, messages)
    if versions:
        with sessions.begin() as session:
            InvitationRepository(session, project.corporation_code).save(
                versions, datetime.now(UTC).replace(tzinfo=None)
            )
    return MailingResult(
        mailing_key=key,
        letters=summary.letters,
        pages=summary.pages,
        registered=summary.registered,
        emails=summary.emails,
        enqueued=enqueued,
        invitations=summary.ics_files,
        print_pdf=str(summary.print_pdf or ""),
        manifest=str(summary.manifest or ""),
        out_dir=str(out_dir),
        skipped=[*skipped, *summary.skipped_email],
    )
