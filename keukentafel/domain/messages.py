"""The message kinds Keukentafel writes to residents, and one policy per kind (pure).

This module owns the registry: every kind of letter or e-mail there is, and what each one does.
Code that needs to know something about a kind asks its policy (``policy_of(kind).attach_ics``)
instead of keeping its own list of kind names; the templates' ``meta.yaml`` files restate three
of these booleans for template authors and ``keukentafel letters check`` verifies they agree.

It also owns :class:`Event`, the meeting or appointment a message invites to, which the mailing
rules, the letters and the store's invitation versions all share.

A policy says:

- ``consent``: part of the art. 7:220 BW consent track (proposal, reminder, the 70% notice); never
  sent for a demolition project (see ``keukentafel.domain.consent``);
- ``targeted``: goes only to units named for the mailing, never to the whole project by default;
  ``audience`` tells the operator which units to name;
- ``owner_occupiers``: whether owner-occupiers get it (the 70% notice is for tenants only);
- ``event`` / ``appointment``: invites to a meeting, or confirms or changes an appointment;
- ``summary_languages``: the languages a translated summary is written in (en, tr, ar);
- ``asks_response``: carries a signed personal link and QR code for the answer;
- ``registered_mail``: the print batch marks it for registered mail (proof of delivery);
- ``attach_ics``: an iCalendar invitation goes with it when it has an event;
- ``initial_sequence``: the iCalendar SEQUENCE of its invitation when no earlier version is
  stored (a changed appointment is already the second version of one);
- ``inserts``: what the mail house puts into the envelope with a tenant's letter (the
  proposal's consent form comes back in a return envelope); owner-occupiers get no form, so
  none (see :meth:`KindPolicy.inserts_for`). The print manifest lists them per letter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from keukentafel.domain.model import AMSTERDAM


class MessageKind(StrEnum):
    ANNOUNCEMENT = "announcement"
    INFO_EVENING = "info_evening"
    HOME_VISIT = "home_visit"
    WORKSHOP = "workshop"
    MILESTONE_TALK = "milestone_talk"
    PROPOSAL = "proposal"
    REMINDER = "reminder"
    CONSENT_REACHED = "consent_reached"
    APPOINTMENT_CONFIRMATION = "appointment_confirmation"
    APPOINTMENT_CHANGE = "appointment_change"
    DELAY_NOTICE = "delay_notice"
    NEWSLETTER = "newsletter"


class UnknownMessageKind(ValueError):
    """A kind name that is not in the registry (a typo on the command line, a stray folder)."""


_TRANSLATED = frozenset({"en", "tr", "ar"})


@dataclass(frozen=True, slots=True)
class KindPolicy:
    """What one message kind is and does (see the module docstring for each field)."""

    kind: MessageKind
    consent: bool = False
    targeted: bool = False
    audience: str = ""  # who a targeted kind's named units are, in operator language
    owner_occupiers: bool = True
    event: bool = False
    appointment: bool = False
    summary_languages: frozenset[str] = field(default_factory=frozenset)
    asks_response: bool = False
    registered_mail: bool = False
    attach_ics: bool = False
    initial_sequence: int = 0
    inserts: tuple[str, ...] = ()

    def inserts_for(self, *, owner_occupier: bool) -> tuple[str, ...]:
        """What goes into one household's envelope with the letter (see the module docstring)."""
        return () if owner_occupier else self.inserts

    @property
    def has_slot(self) -> bool:
        """Whether the message is about a moment in time (a meeting or an appointment)."""
        return self.event or self.appointment

    def meta(self) -> dict[str, bool]:
        """The three booleans a template folder's ``meta.yaml`` restates, by their key there."""
        return {
            "asks_response": self.asks_response,
            "registered_mail": self.registered_mail,
            "attach_ics": self.attach_ics,
        }


def _policies(*policies: KindPolicy) -> Mapping[MessageKind, KindPolicy]:
    found = {policy.kind: policy for policy in policies}
    missing = set(MessageKind) - set(found)
    if missing or len(found) != len(policies):  # pragma: no cover - a registry typo
        raise AssertionError(f"message-kind registry is incomplete or repeats a kind: {missing}")
    return MappingProxyType({kind: found[kind] for kind in MessageKind})


K = MessageKind

#: The registry, in the order the kinds are documented (templates/README.md).
POLICIES: Mapping[MessageKind, KindPolicy] = _policies(
    KindPolicy(K.ANNOUNCEMENT, summary_languages=_TRANSLATED),
    KindPolicy(K.INFO_EVENING, event=True, summary_languages=_TRANSLATED, attach_ics=True),
    KindPolicy(
        K.HOME_VISIT,
        event=True,
        summary_languages=_TRANSLATED,
        asks_response=True,
        attach_ics=True,
    ),
    KindPolicy(
        K.WORKSHOP, event=True, summary_languages=_TRANSLATED, asks_response=True, attach_ics=True
    ),
    KindPolicy(
        K.MILESTONE_TALK,
        event=True,
        summary_languages=_TRANSLATED,
        asks_response=True,
        attach_ics=True,
    ),
    KindPolicy(K.PROPOSAL, consent=True, asks_response=True, inserts=("antwoordenvelop",)),
    KindPolicy(
        K.REMINDER,
        consent=True,
        targeted=True,
        audience="those who did not answer",
        asks_response=True,
    ),
    KindPolicy(
        K.CONSENT_REACHED,
        consent=True,
        targeted=True,
        audience="the tenants who did not agree",
        owner_occupiers=False,
        registered_mail=True,
    ),
    KindPolicy(K.APPOINTMENT_CONFIRMATION, appointment=True, attach_ics=True),
    KindPolicy(K.APPOINTMENT_CHANGE, appointment=True, attach_ics=True, initial_sequence=1),
    KindPolicy(K.DELAY_NOTICE, attach_ics=True),  # the moved work days replace the old event
    KindPolicy(K.NEWSLETTER),
)

#: Every language any kind has a translated summary in.
SUMMARY_LANGUAGES: frozenset[str] = frozenset().union(
    *(policy.summary_languages for policy in POLICIES.values())
)


def message_kind(name: str) -> MessageKind:
    """The kind with this name; an unknown name is an error that lists the known ones."""
    try:
        return MessageKind(name)
    except ValueError:
        known = ", ".join(MessageKind)
        raise UnknownMessageKind(f"unknown message kind {name!r} (known: {known})") from None


def policy_of(kind: str) -> KindPolicy:
    """The policy of a kind, by the kind or its name; an unknown name is an error."""
    return POLICIES[message_kind(kind)]


def find_policy(kind: str) -> KindPolicy | None:
    """The policy of a kind, or None for a name outside the registry (template fixtures)."""
    try:
        return POLICIES[MessageKind(kind)]
    except ValueError:
        return None


# --- the event a message invites to ---------------------------------------------------------


def to_amsterdam(moment: datetime) -> datetime:
    """An aware moment in Amsterdam time; a naive moment is taken to be Amsterdam time already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=AMSTERDAM)
    return moment.astimezone(AMSTERDAM)


@dataclass(frozen=True, slots=True)
class Event:
    """A meeting or appointment a message invites to. Times are Amsterdam wall-clock times."""

    event_id: str  # stable within the project: "bewonersavond-1", "visit-0012-1"
    title: str
    start: datetime
    end: datetime
    location_name: str
    location_address: str
    online_url: str = ""

    def __post_init__(self) -> None:
        if to_amsterdam(self.end) <= to_amsterdam(self.start):
            raise ValueError(f"event {self.event_id}: end is not after start")
