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
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.model import Project
from keukentafel.domain.outbox import OutgoingMessage
from keukentafel.letters.batch import write_mailing
from keukentafel.letters.config import LettersConfig
from keukentafel.letters.context import Event
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


def mailing_key(project: Project, kind: str, on: date) -> str:
    return f"{project.corporation_code}/{project.code}/{kind}/{on.isoformat()}"


def prepare_mailing(
    sessions: sessionmaker[Session],
    project: Project,
    kind: str,
    letters: LettersConfig,
    out_dir: Path,
    *,
    on: date,
    secret: bytes,
    shared_event: Event | None = None,
    details: Mapping[str, Any] | None = None,
) -> MailingResult:
    """Write the mailing for every occupied household of the project and enqueue its e-mails."""
    key = mailing_key(project, kind, on)
    households = effective_households(
        sessions, project.corporation_code, on, list(project.complex_codes)
    )
    skipped = [(h.unit.code, "vacant: nobody to write to") for h in households if h.is_vacant]
    occupied = [h for h in households if not h.is_vacant]
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
    )
    messages = [
        OutgoingMessage(key, unit_code, "email", recipient, subject, body)
        for unit_code, recipient, subject, body in summary.messages
    ]
    enqueued = enqueue(sessions, project.corporation_code, messages)
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
