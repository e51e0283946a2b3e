"""Use case: replies in the shared mailbox become open items for the guide (issue 14 item 6).

Each reply since the stored watermark is matched to its household: by our message id (the
``X-Keukentafel-Message-Id`` header, or the message it answers, as the reading connector found
it) through the outbox row we sent, else by the sender's address among the e-mail addresses the
register has for the residents of the corporation's project units. A matched reply becomes an
open item (``email_reply``) on the household's project; a reply that fits no household is kept
aside as an open item without a project, with the reason, so nothing is lost. The item is keyed
by the Graph message id (``reply:<id>``): a re-run, or a run after a crash before the watermark
moved, adds nothing twice. Consent is never changed here: a reply that says "akkoord" is a
message for the guide, who records the answer with its evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.model import ContactKind, Project
from keukentafel.domain.open_items import OpenItem, OpenItemKind, OpenItemStatus
from keukentafel.store.repositories import ConnectorState
from keukentafel.store.repositories.open_items import OpenItemRepository
from keukentafel.store.repositories.outbox import message_origin
from keukentafel.store.repositories.resident_access import ResidentAccessRepository
from keukentafel.usecases.resident_access import new_public_id
from keukentafel.usecases.team_contacts import effective_households

WATERMARK_KEY = "replies:watermark"
FIRST_LOOK_BACK = timedelta(days=30)
MAX_TEXT = 4000
UNMATCHED = "-"  # the project and unit of a reply kept aside


class IncomingReply(Protocol):
    """What the reading connector gives per reply (connectors/m365/replies.py ``Reply``)."""

    @property
    def graph_id(self) -> str: ...
    @property
    def received(self) -> datetime: ...
    @property
    def sender(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def body_text(self) -> str: ...
    @property
    def our_message_id(self) -> str | None: ...


class ReplySource(Protocol):
    def read_replies(self, since: datetime) -> tuple[Sequence[IncomingReply], datetime]: ...


@dataclass(slots=True)
class RepliesReport:
    read: int = 0
    by_message: int = 0  # matched by our message id
    by_sender: int = 0  # matched by the sender's address in the register
    kept_aside: int = 0  # no household: an open item without a project
    new_items: int = 0  # items recorded this run (the rest were recorded before)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _by_message(session: Session, corporation: str, message_id: str) -> tuple[str, str] | None:
    mailing_key, unit_code = message_origin(session, corporation, message_id)
    parts = mailing_key.split("/")  # <corporation>/<project>/<kind>/<id>
    return (parts[1], unit_code) if len(parts) >= 2 and unit_code else None


def _addresses(
    sessions: sessionmaker[Session], corporation: str, projects: Sequence[Project], on: date
) -> dict[str, tuple[str, str]]:
    """Each resident's e-mail address (lower case) -> (project, unit); an address found in two
    households matches neither."""
    found: dict[str, tuple[str, str] | None] = {}
    for project in projects:
        for household in effective_households(
            sessions, corporation, on, list(project.complex_codes)
        ):
            for resident in household.residents:
                address = (resident.contact(ContactKind.EMAIL) or "").strip().lower()
                if not address:
                    continue
                place = (project.code, household.unit.code)
                found[address] = place if found.get(address, place) == place else None
    return {a: p for a, p in found.items() if p is not None}


def _text(reply: IncomingReply, reason: str) -> str:
    head = f"Onderwerp: {reply.subject.strip()}\n" if reply.subject.strip() else ""
    note = f"[{reason}]\n" if reason else ""
    return (note + head + reply.body_text.strip())[:MAX_TEXT]


# Kept whole: one run reads, matches and records in order, then moves the watermark; split, the
# order that makes it safe to re-run would be spread over several functions.
def pull_replies(
    sessions: sessionmaker[Session],
    corporation: str,
    projects: Sequence[Project],
    source: ReplySource,
    *,
    now: datetime,
    on: date,
) -> RepliesReport:
    """Read the replies since the watermark and record each once as an open item."""
    report = RepliesReport()
    with sessions() as session:
        stored = ConnectorState(session, corporation).get(WATERMARK_KEY)
    since = datetime.fromisoformat(stored) if stored else now.replace(tzinfo=UTC) - FIRST_LOOK_BACK
    replies, watermark = source.read_replies(since)
    addresses = _addresses(sessions, corporation, projects, on) if replies else {}
    known = {p.code for p in projects}
    for reply in replies:
        report.read += 1
        with sessions.begin() as session:
            place = None
            if reply.our_message_id:
                place = _by_message(session, corporation, reply.our_message_id)
                place = place if place is not None and place[0] in known else None
            if place is not None:
                report.by_message += 1
            elif (place := addresses.get(reply.sender.strip().lower())) is not None:
                report.by_sender += 1
            reason = "" if place is not None else "niet gekoppeld aan een woning"
            if place is None:
                report.kept_aside += 1
            project_code, unit_code = place or (UNMATCHED, UNMATCHED)
            tenancy = (
                ResidentAccessRepository(session).current_tenancies(corporation, [unit_code], on)[
                    unit_code
                ]
                if place
                else ""
            )
            item = OpenItem(
                public_id=new_public_id(),
                corporation_code=corporation,
                project_code=project_code,
                unit_code=unit_code,
                kind=OpenItemKind.EMAIL_REPLY,
                channel="email",
                text=_text(reply, reason),
                status=OpenItemStatus.OPEN,
                created_at=_naive(reply.received),
            )
            added = OpenItemRepository(session, corporation).add(
                item, tenancy=tenancy, source_ref=f"reply:{reply.graph_id}"
            )
            report.new_items += int(added)
    with sessions.begin() as session:
        ConnectorState(session, corporation).set(WATERMARK_KEY, watermark.isoformat(), _naive(now))
    return report


__all__ = ["IncomingReply", "RepliesReport", "ReplySource", "pull_replies"]
