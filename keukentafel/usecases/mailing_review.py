"""Use case: what a mailing would do, before anyone approves it (nothing is written or sent).

The same households and the same pure ``plan_mailing`` as ``prepare_mailing``
(keukentafel/usecases/mailing.py): who gets a letter, who could also get an e-mail (a party with
a usable e-mail address), and every household skipped with its reason, by unit code. The review
says counts and unit codes only; the sample letter is rendered by the entry point's App for one
recipient. A correction goes, as when it is sent, to the units the mailing it corrects was
written to and that are still occupied; the others are listed as skipped. The 70% notice and the
reminders take their units from the consent tally and are not reviewed here (`keukentafel
consent notice`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent import MailingNotAllowed
from keukentafel.domain.mailing import (
    MailingPlan,
    Skip,
    SkipReason,
    content_digest,
    mailing_key,
    plan_mailing,
)
from keukentafel.domain.messages import Event, MessageKind, message_kind
from keukentafel.domain.model import ContactKind, Household, Project
from keukentafel.usecases.mailing import _corrected
from keukentafel.usecases.team_contacts import effective_households

FROM_THE_TALLY = (MessageKind.CONSENT_REACHED, MessageKind.REMINDER)


@dataclass(slots=True)
class MailingReview:
    """A planned mailing in numbers: letters (one per household written to), households that
    also get an e-mail, e-mails (one per party with an address), and the skipped households."""

    mailing_key: str
    kind: str
    on: date
    letters: int
    households_by_email: int
    emails: int
    skipped: list[Skip] = field(default_factory=list)
    sample_unit: str = ""  # the recipient whose letter is the sample
    plan: MailingPlan | None = field(default=None, repr=False)  # for the sample letter only

    def counts(self) -> dict[str, int]:
        return {
            "letters (post)": self.letters,
            "households also by e-mail": self.households_by_email,
            "e-mails": self.emails,
            "households skipped": len({s.unit_code for s in self.skipped}),
        }

    def skipped_rows(self) -> list[dict[str, str]]:
        return [{"unit_code": s.unit_code, "reason": s.text} for s in self.skipped]


def _addresses(household: Household) -> set[str]:
    found = (resident.contact(ContactKind.EMAIL) for resident in household.residents)
    return {address.casefold() for address in found if address}


def review_mailing(
    sessions: sessionmaker[Session],
    project: Project,
    kind: MessageKind | str,
    *,
    on: date,
    mailing_id: str,
    event: Event | None = None,
    details: Mapping[str, Any] | None = None,
    units: Sequence[str] | None = None,
    corrects: str | None = None,
) -> MailingReview:
    """The plan of one mailing, counted. Raises MailingNotAllowed as ``prepare_mailing`` would."""
    kind = message_kind(kind)
    if kind in FROM_THE_TALLY:
        raise MailingNotAllowed(
            f"{kind} takes its units from the consent tally: see `keukentafel consent tally`, "
            "then send it with `keukentafel consent notice` (or `mailing send`)"
        )
    households = effective_households(
        sessions, project.corporation_code, on, list(project.complex_codes)
    )
    extra: dict[str, Any] = {}
    gone: list[Skip] = []
    if corrects:
        digest = content_digest(event, details or {})
        units, extra, gone = _corrected(
            sessions, project, kind, households, mailing_id, corrects, digest, event
        )
    plan = plan_mailing(kind, project, households, on, details or {}, units, event=event)
    if extra:
        plan = replace(plan, details={**plan.details, **extra})
    skipped = [*plan.skipped, *gone]
    by_email = 0
    emails = 0
    for household in plan.recipients:
        addresses = _addresses(household)
        if addresses:
            by_email += 1
            emails += len(addresses)
        else:
            skipped.append(Skip(household.unit.code, SkipReason.NO_EMAIL))
    return MailingReview(
        mailing_key=mailing_key(project, kind, mailing_id),
        kind=str(kind),
        on=on,
        letters=len(plan.recipients),
        households_by_email=by_email,
        emails=emails,
        skipped=skipped,
        sample_unit=plan.recipients[0].unit.code,
        plan=plan,
    )
