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
a correction (a moved event) is a new mailing that points back at the one it corrects
(``follows``), as a reminder points at its proposal.

A prepared mailing keeps what it said (``content``: the letter date, the event and the details
as given) and the units it was written to (``recipients``), so a correction can go to exactly
those households and say what changed: :func:`check_correction` decides whether a correction
may go, and :func:`correction_details` what its letters say besides the new content.
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
    "Change",
    "Mailing",
    "MailingNotAllowed",
    "MailingPlan",
    "MailingState",
    "Skip",
    "SkipReason",
    "WrittenMailing",
    "check_correction",
    "content_digest",
    "content_record",
    "correction_details",
    "event_changes",
    "event_of",
    "mailing_key",
    "plan_mailing",
    "plan_recorded",
]


class SkipReason(StrEnum):
    """Why a household of the project gets no letter (or, for NO_EMAIL and EMAIL_NOT_USABLE, no
    e-mail: its letter goes by post)."""

    VACANT = "vacant"
    NOT_NAMED = "not_named"
    OWNER_OCCUPIER = "owner_occupier"
    NO_EMAIL = "no_email"
    EMAIL_NOT_USABLE = "email_not_usable"
    ADDRESS_DOES_NOT_FIT = "address_does_not_fit"
    NOT_IN_REGISTER = "not_in_register"

    @property
    def text(self) -> str:
        """The reason in operator language (unit codes go next to it, never names)."""
        return _SKIP_TEXT[self]


_SKIP_TEXT = {
    SkipReason.VACANT: "vacant: nobody to write to",
    SkipReason.NOT_NAMED: "not one of the units named for this mailing",
    SkipReason.OWNER_OCCUPIER: "owner-occupier: not in the 70% track",
    SkipReason.NO_EMAIL: "no e-mail address",
    SkipReason.EMAIL_NOT_USABLE: "an e-mail address cannot be used; the letter goes by post",
    SkipReason.ADDRESS_DOES_NOT_FIT: "letter set aside before printing: no letter, no e-mail",
    SkipReason.NOT_IN_REGISTER: "no longer in the register (or vacant): no correction sent",
}


@dataclass(frozen=True, slots=True)
class Skip:
    """A household (by unit code) that gets no letter or no e-mail, and why; ``detail`` says
    more in operator language (which party, what does not fit), never a name or an address."""

    unit_code: str
    reason: SkipReason
    detail: str = ""

    @property
    def text(self) -> str:
        return f"{self.reason.text} ({self.detail})" if self.detail else self.reason.text


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


def content_record(on: date, event: Event | None, details: Mapping[str, Any]) -> dict[str, Any]:
    """What a prepared mailing said, as plain JSON values: the letter date, the event and the
    details as given (kept on the record for a later correction)."""
    content = {"on": on, "event": asdict(event) if event is not None else None}
    plain: dict[str, Any] = json.loads(
        json.dumps({**content, "details": dict(details)}, default=_plain, ensure_ascii=False)
    )
    return plain


def event_of(content: Mapping[str, Any] | None) -> Event | None:
    """The event a recorded content holds, or None."""
    found = (content or {}).get("event")
    if not found:
        return None
    values = dict(found)
    values["start"] = datetime.fromisoformat(values["start"])
    values["end"] = datetime.fromisoformat(values["end"])
    return Event(**values)


class Change(StrEnum):
    """What a correction changes about an event, in the order a letter names them."""

    DATE = "date"
    TIME = "time"
    PLACE = "place"
    TITLE = "title"


def event_changes(before: Event, after: Event) -> tuple[Change, ...]:
    """Which of date, time, place and title differ (Amsterdam wall-clock times)."""
    old_start, new_start = to_amsterdam(before.start), to_amsterdam(after.start)
    old_end, new_end = to_amsterdam(before.end), to_amsterdam(after.end)
    found = []
    if old_start.date() != new_start.date():
        found.append(Change.DATE)
    if (old_start.time(), old_end.time()) != (new_start.time(), new_end.time()):
        found.append(Change.TIME)
    where = ("location_name", "location_address", "online_url")
    if any(getattr(before, key) != getattr(after, key) for key in where):
        found.append(Change.PLACE)
    if before.title != after.title:
        found.append(Change.TITLE)
    return tuple(found)


def check_correction(
    original: Mailing | None, *, mailing_id: str, corrects: str, digest: str, event: Event | None
) -> Mailing:
    """The prepared mailing ``corrects`` names, when a correction of it with this content may
    go; else MailingNotAllowed with what to do instead."""
    if original is None:
        raise MailingNotAllowed(f"there is no mailing {corrects} of this kind to correct")
    if mailing_id == corrects:
        raise MailingNotAllowed(f"a correction needs a mailing_id of its own, not {corrects}")
    if original.state is not MailingState.PREPARED:
        raise MailingNotAllowed(
            f"mailing {original.key} is {original.state}: nothing of it went out. Change its "
            "content and send it under its own mailing_id instead of correcting it"
        )
    if original.content_digest == digest:
        raise MailingNotAllowed(f"this content is what mailing {original.key} said: no change")
    before = event_of(original.content)
    if before is not None and event is None:
        raise MailingNotAllowed(
            f"mailing {original.key} invited to {before.event_id}; its correction must give "
            "the event as it is now"
        )
    if before is not None and event is not None and before.event_id != event.event_id:
        raise MailingNotAllowed(
            f"a correction keeps the event_id of mailing {original.key} ({before.event_id}): "
            "the residents' calendars know the invitation by it"
        )
    return original


def correction_details(original: Mailing, event: Event | None) -> dict[str, Any]:
    """What a correction's letters say besides the new content (the ``correction`` detail):
    the mailing it corrects and its letter date, the event as it was, and what changed."""
    before = event_of(original.content)
    changes = event_changes(before, event) if before is not None and event is not None else ()
    on = (original.content or {}).get("on")
    return {
        "correction": {
            "corrects": original.mailing_id,
            "original_date": date.fromisoformat(on) if on else original.updated_at.date(),
            "previous_event": before,
            "changes": changes,
        }
    }


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
    """One mailing as recorded: identity, content digest, state, and who started it; once
    prepared, its ``content`` and ``recipients``; for a correction, the mailing_id it
    ``follows``."""

    corporation_code: str
    project_code: str
    kind: MessageKind
    mailing_id: str
    content_digest: str
    state: MailingState
    started_by: str  # "cli:<user>", "prefect:<flow-run-id>"
    created_at: datetime
    updated_at: datetime
    follows: str = ""  # the mailing_id of the mailing this one corrects
    content: Mapping[str, Any] | None = None  # see content_record; kept once prepared
    recipients: tuple[str, ...] = ()  # unit codes written to; kept once prepared

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

    def prepared(
        self, now: datetime, *, content: Mapping[str, Any], recipients: Sequence[str]
    ) -> Mailing:
        """This mailing prepared: what it said and to which units it was written."""
        moved = self.moved_to(MailingState.PREPARED, now)
        return replace(moved, content=dict(content), recipients=tuple(recipients))


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
    follows: str = "",
) -> Mailing:
    """The record of a mailing being planned, new or found under the same identity.

    Found planned or approved with other content: planned again with the new content (nothing
    has gone out; a review, where a flow has one, starts over). Found prepared: only the same
    content may be prepared again (that adds nothing). Found cancelled: never. ``follows`` is
    the mailing_id a correction corrects."""
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
            follows=follows,
        )
    if existing.follows != follows:
        raise MailingNotAllowed(
            f"mailing {existing.key} was planned "
            + (f"as a correction of {existing.follows}" if existing.follows else "as no correction")
            + "; give this one a new mailing_id"
        )
    if existing.state is MailingState.CANCELLED:
        raise MailingNotAllowed(f"mailing {existing.key} was cancelled; give it a new mailing_id")
    if existing.content_digest == digest:
        return existing
    if existing.state is MailingState.PREPARED:
        raise MailingNotAllowed(
            f"mailing {existing.key} was prepared with other content on "
            f"{existing.updated_at:%Y-%m-%d} and its e-mails are queued; nothing was sent now. "
            f"To send the change, give the corrected content file a new mailing_id and the line "
            f"'corrects: {existing.mailing_id}': everyone who had it gets an update that says "
            "what changed (the same calendar invitation, its SEQUENCE raised)"
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
    """What writing a mailing produced (the MailingWriter port's answer; no personal data).

    ``skipped`` are the writer's own decisions: letters set aside before printing (their
    address block does not fit the window) and recipients whose address cannot be used.
    ``written_units`` are the units that got the letter; None from a writer that does not say
    (then every recipient of the plan but those set aside)."""

    letters: int
    pages: int
    registered: int
    invitations: int
    messages: tuple[OutgoingMessage, ...]  # the e-mails, for the outbox
    without_email: tuple[str, ...]  # unit codes that get the letter only
    print_pdf: Path
    manifest: Path
    out_dir: Path
    skipped: tuple[Skip, ...] = ()
    written_units: tuple[str, ...] | None = None
