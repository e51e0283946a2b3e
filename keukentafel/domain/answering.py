"""Answering on the resident's page (pure): who confirms, what they may answer, and the words.

A contract party answers for themselves by typing their own name: :func:`match_party` finds the
one running party of the household whose name it is (case, accents, dots and the tussenvoegsel do
not matter; when two parties share a surname the initial decides). The answer is ``agree``,
``decline`` or ``withdraw``; what it is about is the whole proposal or, where the project's legal
profile asks consent per package, one renovation package (:func:`ballot_choices`). The Dutch
labels for a status are B1 words for the resident and the guide.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from keukentafel.domain.consent import WHOLE, ConsentMode, ConsentProfile, PartyAnswer, UnitStatus

#: The answers a resident can give on the page.
ANSWERS = ("agree", "decline", "withdraw")

ANSWER_LABELS = {
    "agree": "Ja, ik ga akkoord",
    "decline": "Nee, ik ga niet akkoord",
    "withdraw": "Ik trek mijn akkoord in",
}

#: A unit's status on one ballot, as the resident and the guide read it.
STATUS_LABELS = {
    UnitStatus.AGREED: "akkoord",
    UnitStatus.DECLINED: "niet akkoord",
    UnitStatus.INCOMPLETE: "nog niet iedereen akkoord",
    UnitStatus.NO_ANSWER: "geen antwoord",
    UnitStatus.EXCLUDED: "telt niet mee",
    UnitStatus.OWNER: "eigenaar-bewoner",
    UnitStatus.VACANT: "leeg",
}

#: One party's answer on one ballot.
PARTY_LABELS = {
    PartyAnswer.NONE: "nog geen antwoord",
    PartyAnswer.AGREE: "akkoord",
    PartyAnswer.DECLINE: "niet akkoord",
    PartyAnswer.WITHDRAWN: "akkoord ingetrokken",
}


class AnswerError(ValueError):
    """An answer that cannot go in; the message is B1 Dutch for the resident."""


@dataclass(frozen=True, slots=True)
class PartyName:
    """A running contract party of the household and the name the register has for them."""

    party_id: str
    surname: str
    tussenvoegsel: str = ""
    initials: str = ""
    first_name: str = ""


@dataclass(frozen=True, slots=True)
class BallotChoice:
    code: str  # "whole" or a renovation package code
    title: str


def _words(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return [w for w in re.split(r"[^a-z0-9]+", plain) if w]


def _first_letter(party: PartyName) -> str:
    source = _words(party.first_name) or _words(party.initials)
    return source[0][0] if source else ""


def _surname_in(typed: list[str], surname: list[str]) -> bool:
    size = len(surname)
    return size > 0 and any(typed[i : i + size] == surname for i in range(len(typed) - size + 1))


def match_party(typed: str, parties: Sequence[PartyName]) -> PartyName:
    """The one party whose name was typed; AnswerError when none or several match."""
    words = _words(typed)
    if not words:
        raise AnswerError("Typ uw naam om uw antwoord te bevestigen.")
    found = [p for p in parties if _surname_in(words, _words(p.surname))]
    if len(found) > 1:
        found = [p for p in found if _first_letter(p) and words[0][0] == _first_letter(p)]
    if len(found) != 1:
        raise AnswerError(
            "Wij herkennen deze naam niet. Typ uw voorletter en achternaam, "
            "zoals op uw huurcontract."
        )
    return found[0]


def ballot_choices(profile: ConsentProfile) -> tuple[BallotChoice, ...]:
    """What can be answered: the whole proposal, and each renovation package when consent is
    asked per package (an answer on the whole proposal then covers every package)."""
    whole = BallotChoice(WHOLE, "Het hele voorstel")
    if profile.mode is ConsentMode.WHOLE:
        return (whole,)
    return (whole, *(BallotChoice(p.code, p.title) for p in profile.renovation_packages))


def checked_answer(answer: str, ballot: str, profile: ConsentProfile) -> tuple[str, str | None]:
    """The answer word and the package (None: the whole proposal); AnswerError when not valid."""
    if answer not in ANSWERS:
        raise AnswerError("Kies eerst uw antwoord.")
    codes = {c.code for c in ballot_choices(profile)}
    if ballot not in codes:
        raise AnswerError("Kies waar uw antwoord over gaat.")
    return answer, (None if ballot == WHOLE else ballot)


def ballot_title(profile: ConsentProfile, ballot: str) -> str:
    if ballot == WHOLE:
        return "Het hele voorstel"
    found = profile.package(ballot)
    return found.title if found is not None else ballot


__all__ = [
    "ANSWERS",
    "ANSWER_LABELS",
    "PARTY_LABELS",
    "STATUS_LABELS",
    "AnswerError",
    "BallotChoice",
    "PartyName",
    "ballot_choices",
    "ballot_title",
    "checked_answer",
    "match_party",
]
