"""Use case: a contract party answers the proposal on the resident's own page.

:func:`answer_page` is the "Uw antwoord" section: the household's status per ballot, each running
party's answer (by role, never by name), whether answering is still possible and until when.
:func:`give_answer` records one party's answer: the form's one-time nonce is claimed first (a
replayed form records nothing), the typed name picks the party among the household's running
contract parties (each confirms for themselves: a household with co-tenants is agreed only when
all have), and the answer goes through the consent use case (``usecases.consent.record``) into
the ledger with channel ``web``. After the last day (8 weeks after the 70% notice) or when the
tenancy has ended, nothing is recorded and the page says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.answering import (
    PARTY_LABELS,
    STATUS_LABELS,
    AnswerError,
    BallotChoice,
    PartyName,
    ballot_choices,
    ballot_title,
    checked_answer,
    match_party,
)
from keukentafel.domain.consent import Channel, Refusal
from keukentafel.domain.model import PartyRole
from keukentafel.domain.resident_access import Grant
from keukentafel.store.repositories import RegisterRepository
from keukentafel.usecases.consent import (
    AnswerInput,
    ConsentBooks,
    ConsentProject,
    UnitNotInProject,
    household_status,
    record,
)
from keukentafel.usecases.resident_access import claim_form

#: Who the ledger says recorded a web answer (the party id is in the entry itself).
WEB_RECORDER = "web:resident"

_ROLES = {PartyRole.TENANT: "Huurder", PartyRole.CO_TENANT: "Medehuurder"}


@dataclass(frozen=True, slots=True)
class PartyLine:
    role: str  # "Huurder", "Medehuurder 2"
    answers: tuple[tuple[str, str], ...]  # (ballot title, answer label)


@dataclass(frozen=True, slots=True)
class AnswerPage:
    statuses: tuple[tuple[str, str], ...]  # (ballot title, status label)
    parties: tuple[PartyLine, ...]
    choices: tuple[BallotChoice, ...]
    may_answer: bool
    last_day: date | None
    closed_reason: str  # B1: why answering is no longer possible ("" when it is)


class Outcome(StrEnum):
    RECORDED = "recorded"
    REPLAYED = "replayed"  # the form was sent before: nothing recorded
    CLOSED = "closed"  # after the deadline or without a running tenancy
    INVALID = "invalid"  # a name not recognised, no choice made, refused by the ledger


@dataclass(frozen=True, slots=True)
class GivenAnswer:
    outcome: Outcome
    message: str  # B1 Dutch for the resident
    entry_id: str = ""


def _closed_reason(last_day: date | None, lease_id: str | None) -> str:
    if lease_id is None:
        return "U heeft geen lopend huurcontract voor deze woning. Daarom kunt u niet antwoorden."
    if last_day is not None:
        return (
            f"De termijn om te antwoorden is voorbij. De laatste dag was {last_day:%d-%m-%Y}. "
            "Daarna kunnen wij geen antwoord meer aannemen of veranderen. "
            "Heeft u vragen? Bel uw contactpersoon."
        )
    return ""


def answer_page(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    grant: Grant,
    today: date,
    *,
    books: ConsentBooks,
) -> AnswerPage | None:
    """The household's answer section; None when the unit is not in the project's scope."""
    try:
        status = household_status(sessions, target, grant.unit_code, today, books=books)
    except UnitNotInProject:
        return None
    profile = target.profile
    lines: list[PartyLine] = []
    co_tenants = 0
    for party in status.parties:
        role = _ROLES.get(party.role, "Huurder")
        if party.role is PartyRole.CO_TENANT:
            co_tenants += 1
            role = f"{role} {co_tenants}" if co_tenants > 1 else role
        answers = tuple(
            (ballot_title(profile, ballot), PARTY_LABELS[answer])
            for ballot, answer in party.answers.items()
        )
        lines.append(PartyLine(role, answers))
    return AnswerPage(
        statuses=tuple(
            (ballot_title(profile, ballot), STATUS_LABELS[value])
            for ballot, value in status.statuses.items()
        ),
        parties=tuple(lines),
        choices=ballot_choices(profile),
        may_answer=status.may_answer,
        last_day=status.last_day,
        closed_reason="" if status.may_answer else _closed_reason(status.last_day, status.lease_id),
    )


def _party_names(
    sessions: sessionmaker[Session], corporation: str, party_ids: list[str]
) -> list[PartyName]:
    with sessions() as session:
        found = RegisterRepository(session, corporation).residents(party_ids)
    names = []
    for party_id in party_ids:
        resident = found.get(party_id)
        if resident is None or resident.name is None:
            continue
        n = resident.name
        names.append(PartyName(party_id, n.surname, n.tussenvoegsel, n.initials, n.first_name))
    return names


_REFUSED = (
    "Wij konden uw antwoord niet verwerken. Misschien heeft u dit antwoord al gegeven. "
    "Bel uw contactpersoon als u hulp wilt."
)


# Kept whole: the steps of one answer in the order that makes it safe (claim the form, check the
# deadline, find the party, record), each a few lines.
def give_answer(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    grant: Grant,
    *,
    typed_name: str,
    answer: str,
    ballot: str,
    nonce_digest: str,
    now: datetime,
    today: date,
    books: ConsentBooks,
) -> GivenAnswer:
    """Record one party's answer from the page (see the module docstring)."""
    if not claim_form(sessions, nonce_digest, "answer", now):
        return GivenAnswer(Outcome.REPLAYED, "Dit formulier is al verstuurd.")
    try:
        status = household_status(sessions, target, grant.unit_code, today, books=books)
    except UnitNotInProject:
        return GivenAnswer(Outcome.CLOSED, "Voor deze woning kunt u niet antwoorden.")
    if not status.may_answer:
        return GivenAnswer(Outcome.CLOSED, _closed_reason(status.last_day, status.lease_id))
    try:
        word, package = checked_answer(answer, ballot, target.profile)
        names = _party_names(sessions, grant.corporation_code, [p.party_id for p in status.parties])
        party = match_party(typed_name, names)
    except AnswerError as error:
        return GivenAnswer(Outcome.INVALID, str(error))
    item = AnswerInput(
        unit_code=grant.unit_code,
        answer=word,
        at=now if now.tzinfo else now.replace(tzinfo=UTC),
        channel=Channel.WEB,
        parties=(party.party_id,),
        package=package,
    )
    report = record(
        sessions,
        target,
        [item],
        recorded_by=WEB_RECORDER,
        clock=lambda: now,
        books=books,
        actor=f"{WEB_RECORDER}:{grant.public_id}",  # the session's grant, never a name
        via="web",
    )
    outcome = report.outcomes[0]
    if isinstance(outcome, Refusal):
        return GivenAnswer(Outcome.INVALID, _REFUSED)
    return GivenAnswer(Outcome.RECORDED, "Uw antwoord is opgeslagen.", outcome.id)


__all__ = [
    "WEB_RECORDER",
    "AnswerPage",
    "GivenAnswer",
    "Outcome",
    "PartyLine",
    "answer_page",
    "give_answer",
]
