"""A mailing: who gets it and who is skipped (with a reason), and its life as a record (pure).

``plan_mailing`` is the decision half of a mailing. From the project's households it picks the
recipients: vacant units are skipped, a targeted kind goes only to the units named for it, and
the 70% notice never goes to owner-occupiers. The art. 7:220 BW rules
(keukentafel.domain.consent) are checked first, and the details the law computes are added as
values: whether the 70% presumption can apply, and the notice date and the last day to object
as *dates* (how a date reads in Dutch is the letters' business).

A mailing is recorded as a :class:`Mailing` under its identity (corporation, project, kind,
mailing id), with a digest of the content it was prepared with and a :class:`MailingState`:

    planned ──▶ prepared            (today's one-step `mailing send`)
    planned ──▶ approved ──▶ prepared   (a review before it goes, issue 11)
    planned / approved ──▶ cancelled

``planned``: recipients decided, nothing written or enqueued yet; the content may still change.
``approved``: someone reviewed the plan and let it go. ``prepared``: the print batch is written
and, in the same transaction as this state, the e-mails are in the outbox and the invitation
versions stored: from here the content is fixed, and delivery is the outbox's (counted by the
mailing key). Preparing a prepared mailing again with the same content changes nothing; with
other content it is refused, because the e-mails already queued would disagree with the files:
a correction (a moved event) is a new mailing that points back at the one it corrects, as a
reminder points at its proposal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from keukentafel.domain.consent import (
    MIN_HOMES_FOR_PRESUMPTION,
    MailingNotAllowed,
    check_mailing,
    objection_deadline,
)
from keukentafel.domain.deadlines import DeadlineProblem, as_date, response_deadline
from keukentafel.domain.messages import POLICIES, Event, MessageKind, to_amsterdam
from keukentafel.domain.model import Household, Project
from keukentafel.domain.outbox import OutgoingMessage

__all__ = [
    "Mailing",
    "MailingNotAllowed",
    "MailingPlan",
    "MailingState",
    "Skip",
    "SkipReason",
    "WrittenMailing",
    "content_digest",
    "mailing_key",
    "plan_mailing",
    "plan_recorded",
]


class SkipReason(StrEnum):
    """Why a household of the project gets no letter (or, for NO_EMAIL, no e-mail)."""

    VACANT = "vacant"
    NOT_NAMED = "not_named"
    OWNER_OCCUPIER = "owner_occupier"
    NO_EMAIL = "no_email"

    @property
    def text(self) -> str:
        """The reason in operator language (unit codes go next to it, never names)."""
        return _SKIP_TEXT[self]


_SKIP_TEXT = {
    SkipReason.VACANT: "vacant: nobody to write to",
    SkipReason.NOT_NAMED: "not one of the units named for this mailing",
    SkipReason.OWNER_OCCUPIER: "owner-occupier: not in the 70% track",
    SkipReason.NO_EMAIL: "no e-mail address",
}


@dataclass(frozen=True, slots=True)
class Skip:
    unit_code: str
    reason: SkipReason


@dataclass(frozen=True, slots=True)
class MailingPlan:
    """Who gets one mailing, who does not and why, and the details its letters print.

    ``details`` are the content's details with the computed ones added: ``presumption_applies``
    for a proposal; ``notice_date`` and ``objection_deadline`` (dates) for the 70% notice."""

    kind: MessageKind
    project: Project
    on: date
    recipients: tuple[Household, ...]
    skipped: tuple[Skip, ...]
    details: Mapping[str, Any]


def computed_details(
    kind: MessageKind,
    rented_homes: int,
    on: date,
    *,
    details: Mapping[str, Any] | None = None,
    event: Event | None = None,
) -> dict[str, Any]:
    """The details the law and our rules decide, never typed by hand: the 70% presumption and
    the 8 weeks (keukentafel.domain.consent), and the answer deadline of a kind that asks an
    answer (keukentafel.domain.deadlines: from ``details.response_deadline`` when given, else
    computed before the event; never a Sunday or a public holiday)."""
    found: dict[str, Any] = {}
    if kind is MessageKind.PROPOSAL:  # the 70% presumption of art. 7:220 lid 3 needs 10+ homes
        found["presumption_applies"] = rented_homes >= MIN_HOMES_FOR_PRESUMPTION
    if kind is MessageKind.CONSENT_REACHED:
        found.update(notice_date=on, objection_deadline=objection_deadline(on))
    if POLICIES[kind].asks_response:
        event_day = to_amsterdam(event.start).date() if event is not None else None
        try:
            given = as_date((details or {}).get("response_deadline"))
            found["response_deadline"] = response_deadline(on, event_day=event_day, given=given)
        except DeadlineProblem as exc:
            raise MailingNotAllowed(f"{kind}: {exc}") from None
    return found


def plan_mailing(
    kind: MessageKind,
    project: Project,
    households: Sequence[Household],
    on: date,
    details: Mapping[str, Any],
    units: Sequence[str] | None = None,
    *,
    event: Event | None = None,
) -> MailingPlan:
    """Recipients and skips of one mailing to the project's ``households`` on day ``on``.

    ``units``, when given, limits the mailing to those unit codes (a targeted kind needs them);
    ``event`` is the meeting the letters invite to (its day bounds the answer deadline).
    Raises MailingNotAllowed when the mailing would state the law wrongly, names a unit outside
    the project's register, reaches nobody, or has no fair answer deadline."""
    rented = [h for h in households if not h.is_vacant and not h.is_owner_occupied]
    given = dict(details)
    named = list(units) if units is not None else None
    check_mailing(kind, project, homes_in_scope=len(rented), recipients=named, details=given)
    skipped = [Skip(h.unit.code, SkipReason.VACANT) for h in households if h.is_vacant]
    occupied = [h for h in households if not h.is_vacant]
    if units is not None:
        occupied = _only_named(kind, households, occupied, set(units), skipped)
    if not POLICIES[kind].owner_occupiers:
        occupied = _without_owner_occupiers(occupied, skipped)
    if not occupied:
        raise MailingNotAllowed(f"{kind}: no household to write to")
    return MailingPlan(
        kind=kind,
        project=project,
        on=on,
        recipients=tuple(occupied),
        skipped=tuple(skipped),
        details={
            **given,
            **computed_details(kind, len(rented), on, details=given, event=event),
        },
    )


def _without_owner_occupiers(occupied: list[Household], skipped: list[Skip]) -> list[Household]:
    """Tenants only: owner-occupiers are skipped (added to ``skipped``) for kinds of the 70% track."""
    skipped += [
        Skip(h.unit.code, SkipReason.OWNER_OCCUPIER) for h in occupied if h.is_owner_occupied
    ]
    return [h for h in occupied if not h.is_owner_occupied]


def _only_named(
    kind: MessageKind,
    households: Sequence[Household],
    occupied: list[Household],
    wanted: set[str],
    skipped: list[Skip],
) -> list[Household]:
    """The occupied households among the ``wanted`` unit codes; the others are skipped (added to
    ``skipped``). A unit code outside the project's register refuses the whole mailing."""
    unknown = sorted(wanted - {h.unit.code for h in households})
    if unknown:
        raise MailingNotAllowed(
            f"{kind}: unit(s) not in the project's register: {', '.join(unknown[:10])}"
        )
    skipped += [
        Skip(h.unit.code, SkipReason.NOT_NAMED) for h in occupied if h.unit.code not in wanted
    ]
    return [h for h in occupied if h.unit.code in wanted]


def mailing_key(project: Project, kind: str, mailing_id: str) -> str:
    """The mailing's identity in the outbox: the same mailing prepared again adds nothing,
    also on another day (a re-run after an outage must not write to everyone twice)."""
    return f"{project.corporation_code}/{project.code}/{kind}/{mailing_id}"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not content: {type(value).__name__}")


def content_digest(event: Event | None, details: Mapping[str, Any]) -> str:
    """A digest of what a mailing says (its event and the details as given), the same in every
    process: two preparations with this digest say the same thing."""
    content = {"event": asdict(event) if event is not None else None, "details": dict(details)}
    text = json.dumps(content, sort_keys=True, default=_plain, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# --- the mailing as a record ---------------------------------------------------------------------


class MailingState(StrEnum):
    PLANNED = "planned"
    APPROVED = "approved"
    PREPARED = "prepared"
    CANCELLED = "cancelled"


#: The moves a mailing may make (a state not listed as a key moves nowhere).
TRANSITIONS: Mapping[MailingState, frozenset[MailingState]] = {
    MailingState.PLANNED: frozenset(
        {MailingState.APPROVED, MailingState.PREPARED, MailingState.CANCELLED}
    ),
    MailingState.APPROVED: frozenset({MailingState.PREPARED, MailingState.CANCELLED}),
}


@dataclass(frozen=True, slots=True)
class Mailing:
    """One mailing as recorded: identity, content digest, state, and who started it."""

    corporation_code: str
    project_code: str
    kind: MessageKind
    mailing_id: str
    content_digest: str
    state: MailingState
    started_by: str  # "cli:<user>", "prefect:<flow-run-id>"
    created_at: datetime
    updated_at: datetime

    @property
    def key(self) -> str:
        """The outbox's mailing key (see :func:`mailing_key`)."""
        return f"{self.corporation_code}/{self.project_code}/{self.kind}/{self.mailing_id}"

    def moved_to(self, state: MailingState, now: datetime) -> Mailing:
        """This mailing in ``state``; a move the life cycle does not allow is an error."""
        if state is self.state:
            return self
        if state not in TRANSITIONS.get(self.state, frozenset()):
            raise MailingNotAllowed(f"mailing {self.key} is {self.state}: it cannot become {state}")
        return replace(self, state=state, updated_at=now)


def plan_recorded(
    existing: Mailing | None,
    *,
    corporation_code: str,
    project_code: str,
    kind: MessageKind,
    mailing_id: str,
    digest: str,
    started_by: str,
    now: datetime,
) -> Mailing:
    """The record of a mailing being planned, new or found under the same identity.

    Found planned or approved with other content: planned again with the new content (nothing
    has gone out; a review, where a flow has one, starts over). Found prepared: only the same
    content may be prepared again (that adds nothing). Found cancelled: never."""
    if existing is None:
        return Mailing(
            corporation_code,
            project_code,
            kind,
            mailing_id,
            digest,
            MailingState.PLANNED,
            started_by,
            now,
            now,
        )
    if existing.state is MailingState.CANCELLED:
        raise MailingNotAllowed(f"mailing {existing.key} was cancelled; give it a new mailing_id")
    if existing.content_digest == digest:
        return existing
    if existing.state is MailingState.PREPARED:
        raise MailingNotAllowed(
            f"mailing {existing.key} was prepared with other content on "
            f"{existing.updated_at:%Y-%m-%d} and its e-mails are queued. To send a correction, "
            "give the corrected content a new mailing_id: everyone gets it again, with the "
            "invitation's SEQUENCE raised so calendars update"
        )
    return replace(
        existing,
        content_digest=digest,
        state=MailingState.PLANNED,
        started_by=started_by,
        updated_at=now,
    )


@dataclass(frozen=True, slots=True)
class WrittenMailing:
    """What writing a mailing produced (the MailingWriter port's answer; no personal data)."""

    letters: int
    pages: int
    registered: int
    invitations: int
    messages: tuple[OutgoingMessage, ...]  # the e-mails, for the outbox
    without_email: tuple[str, ...]  # unit codes that get the letter only
    print_pdf: Path
    manifest: Path
    out_dir: Path
