"""Use case: one mailing for a project: letters for post, e-mails into the outbox, invitations.

plan → record → invitation sequences → write → enqueue, store invitations, mark prepared.

Households come from the register with the team's additions merged in; the pure
``plan_mailing`` (keukentafel.domain.mailing) picks the recipients and says why the others are
skipped, after the art. 7:220 BW checks, and decides the answer deadline. Every household gets a
letter in the print batch (paper stays the backbone), unless the writer sets it aside before
printing (its address does not fit the envelope window); every party with a usable e-mail
address also gets it by e-mail, through the outbox (one message per recipient), so each e-mail
goes out once however often the mailing is prepared or dispatched. An address that cannot be
used costs that recipient the e-mail, never the mailing. The mailing is recorded under its
identity (project, kind, mailing id) before anything is written; the e-mails, the invitation
versions of the households written to and the ``prepared`` state (with the content and the
units) are committed in one transaction, so the outbox and the record always agree. Writing is
done by a ``MailingWriter`` (the letters package implements it; tests use an in-memory one).

A correction (``corrects``: a prepared mailing of the same kind) goes to the units that mailing
was written to and still lived in, says what changed, and raises the invitations' SEQUENCE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.invitations import event_uid, next_sequence
from keukentafel.domain.mailing import (
    MailingPlan,
    MailingState,
    Skip,
    SkipReason,
    WrittenMailing,
    check_correction,
    content_digest,
    content_record,
    correction_details,
    mailing_key,
    plan_mailing,
    plan_recorded,
)
from keukentafel.domain.messages import Event, MessageKind, message_kind
from keukentafel.domain.model import Household, Project
from keukentafel.domain.register import content_hash
from keukentafel.store.repositories import (
    InvitationRepository,
    MailingRepository,
    OutboxRepository,
)
from keukentafel.usecases.team_contacts import effective_households

__all__ = ["MailingResult", "MailingWriter", "mailing_key", "prepare_mailing"]


class MailingWriter(Protocol):
    """Writes a planned mailing: a letter per recipient for the print batch, and the e-mails and
    invitations that go with them (keukentafel.letters.output.LettersMailingWriter).

    ``mailing_key`` is the outbox's key (our message ids derive from it); ``event`` is the one
    meeting every recipient is invited to, if any; ``sequences`` is the iCalendar SEQUENCE per
    unit code for those invitations."""

    def write(
        self,
        plan: MailingPlan,
        *,
        mailing_key: str,
        event: Event | None,
        sequences: Mapping[str, int],
    ) -> WrittenMailing: ...


@dataclass(slots=True)
class MailingResult:
    mailing_key: str
    state: MailingState
    letters: int
    pages: int
    registered: int
    emails: int
    enqueued: int
    invitations: int
    print_pdf: str
    manifest: str
    out_dir: str
    skipped: list[Skip] = field(default_factory=list)
    follows: str = ""  # the mailing_id this mailing corrects, "" for none

    def as_dict(self) -> dict[str, Any]:
        """Counts and paths for flows and the CLI; skipped as (unit code, reason) pairs."""
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
            "follows": self.follows,
            "skipped": [(s.unit_code, s.text) for s in self.skipped],
        }


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# Kept whole: the steps of one mailing in their order (plan, record, sequences, write, commit),
# each a call; the correction path is two of those calls (see _corrected).
def prepare_mailing(
    sessions: sessionmaker[Session],
    project: Project,
    kind: MessageKind | str,
    writer: MailingWriter,
    *,
    on: date,
    mailing_id: str,
    started_by: str,
    event: Event | None = None,
    details: Mapping[str, Any] | None = None,
    units: Sequence[str] | None = None,
    corrects: str | None = None,
    clock: Callable[[], datetime] = _utcnow,
    on_prepared: Callable[[Session, MailingPlan], None] = lambda _session, _plan: None,
) -> MailingResult:
    """Write the mailing for the project's households (or only the named ``units``) and
    enqueue its e-mails. Raises MailingNotAllowed (nothing written) when the law or the record
    forbids it; UnknownMessageKind for a kind outside the registry. ``on_prepared`` runs in the
    transaction that queues it (the consent use case stores the 70% notices there).

    ``corrects`` names a prepared mailing of the same kind that this one corrects: it goes to
    the households that mailing was written to (those still in the register), its letters and
    e-mails say what changed, and its invitations keep their UID with a higher SEQUENCE."""
    kind = message_kind(kind)
    corporation = project.corporation_code
    key = mailing_key(project, kind, mailing_id)
    digest = content_digest(event, details or {})
    households = effective_households(sessions, corporation, on, list(project.complex_codes))
    extra: dict[str, Any] = {}
    gone: list[Skip] = []
    if corrects:
        units, extra, gone = _corrected(
            sessions, project, kind, households, mailing_id, corrects, digest, event
        )
    plan = plan_mailing(kind, project, households, on, details or {}, units, event=event)
    if extra:
        plan = replace(plan, details={**plan.details, **extra})
    with sessions.begin() as session:
        mailings = MailingRepository(session, corporation)
        mailing = plan_recorded(
            mailings.get(project.code, kind, mailing_id),
            corporation_code=corporation,
            project_code=project.code,
            kind=kind,
            mailing_id=mailing_id,
            digest=digest,
            started_by=started_by,
            now=clock(),
            follows=corrects or "",
        )
        mailings.save(mailing)
    sequences, versions = _invitation_sequences(sessions, plan, event)
    written = writer.write(plan, mailing_key=key, event=event, sequences=sequences)
    set_aside = {
        s.unit_code for s in written.skipped if s.reason is SkipReason.ADDRESS_DOES_NOT_FIT
    }
    reached = written.written_units
    if reached is None:
        reached = tuple(h.unit.code for h in plan.recipients if h.unit.code not in set_aside)
    with sessions.begin() as session:
        now = clock()
        on_prepared(session, plan)
        enqueued = OutboxRepository(session, corporation).enqueue(written.messages, now)
        InvitationRepository(session, corporation).save(
            {uid: version for uid, version in versions.items() if version[0] in reached}, now
        )
        mailing = mailing.prepared(
            now, content=content_record(on, event, details or {}), recipients=reached
        )
        MailingRepository(session, corporation).save(mailing)
    no_email = [Skip(unit, SkipReason.NO_EMAIL) for unit in written.without_email]
    return MailingResult(
        mailing_key=key,
        state=mailing.state,
        letters=written.letters,
        pages=written.pages,
        registered=written.registered,
        emails=len(written.messages),
        enqueued=enqueued,
        invitations=written.invitations,
        print_pdf=str(written.print_pdf),
        manifest=str(written.manifest),
        out_dir=str(written.out_dir),
        skipped=[*plan.skipped, *gone, *written.skipped, *no_email],
        follows=corrects or "",
    )


def _corrected(
    sessions: sessionmaker[Session],
    project: Project,
    kind: MessageKind,
    households: Sequence[Household],
    mailing_id: str,
    corrects: str,
    digest: str,
    event: Event | None,
) -> tuple[list[str], dict[str, Any], list[Skip]]:
    """For a correction of mailing ``corrects``: the units it goes to (those the original was
    written to and that are still occupied in the register), the ``correction`` detail its
    letters print, and the original's units it cannot reach any more (with their reason)."""
    with sessions() as session:
        found = MailingRepository(session, project.corporation_code).get(
            project.code, kind, corrects
        )
    original = check_correction(
        found, mailing_id=mailing_id, corrects=corrects, digest=digest, event=event
    )
    occupied = {h.unit.code for h in households if not h.is_vacant}
    units = [unit for unit in original.recipients if unit in occupied]
    gone = [
        Skip(unit, SkipReason.NOT_IN_REGISTER)
        for unit in original.recipients
        if unit not in occupied
    ]
    return units, correction_details(original, event), gone


def _invitation_sequences(
    sessions: sessionmaker[Session], plan: MailingPlan, event: Event | None
) -> tuple[dict[str, int], dict[str, tuple[str, int, str]]]:
    """The SEQUENCE of each recipient's invitation to ``event`` (kept for the same event, raised
    when it changed), and the versions to store once the mailing is queued."""
    if event is None:
        return {}, {}
    fingerprint = content_hash(event)
    uids = {
        h.unit.code: event_uid(plan.project.code, event.event_id, h.unit.code)
        for h in plan.recipients
    }
    with sessions() as session:
        stored = InvitationRepository(session, plan.project.corporation_code).stored(uids.values())
    sequences = {unit: next_sequence(stored.get(uid), fingerprint) for unit, uid in uids.items()}
    versions = {uid: (unit, sequences[unit], fingerprint) for unit, uid in uids.items()}
    return sequences, versions
