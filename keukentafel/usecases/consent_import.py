"""Use case: a bulk import of scanned consent forms (``keukentafel consent import FILE``).

A form file (CSV or XLSX, read by ``connectors/consent_forms.py``) lists one answer per row: the
unit, optionally the party (none: the household), the answer, optionally the package, the date
and time it was given, the channel (paper unless said otherwise) and the scan's file name, whose
SHA-256 the reader took. Each row is read into an answer or set aside with its reason (a missing
unit, an answer word we do not know, a date that is not one, a formula where a value belongs, a
scan that is not there); the readable rows are then admitted by the consent ledger, which sets
aside an unknown unit, a party not on the lease, an owner's or vacant unit, a date in the
future, a duplicate (so importing the same file twice adds nothing) and an answer after the
deadline. The admitted rows are stored in one transaction; the report says, row by row, what
happened and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent import Channel, Evidence, Refusal, local_moment
from keukentafel.usecases.consent import (
    AnswerInput,
    ConsentBooks,
    ConsentProject,
    record,
)

#: What people write on a form list, per answer and per channel (lower case).
ANSWERS = {
    "agree": "agree",
    "akkoord": "agree",
    "ja": "agree",
    "yes": "agree",
    "decline": "decline",
    "niet akkoord": "decline",
    "nee": "decline",
    "no": "decline",
    "withdraw": "withdraw",
    "intrekken": "withdraw",
    "ingetrokken": "withdraw",
}
CHANNELS = {
    "paper": Channel.PAPER,
    "papier": Channel.PAPER,
    "post": Channel.PAPER,
    "visit": Channel.VISIT,
    "huisbezoek": Channel.VISIT,
    "bezoek": Channel.VISIT,
    "phone": Channel.PHONE,
    "telefoon": Channel.PHONE,
    "email": Channel.EMAIL,
    "e-mail": Channel.EMAIL,
    "mail": Channel.EMAIL,
    "web": Channel.WEB,
    "website": Channel.WEB,
}
_DUTCH_DATE = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})(?:[:.]\d{2})?")
_PARTY_SPLIT = re.compile(r"[,;/]|\s+en\s+")


@dataclass(frozen=True, slots=True)
class FormRow:
    """One row of a form file as read: its row number, the cells of the known columns as text,
    what the reader found wrong (a formula cell, a scan not found), and the scan's evidence."""

    number: int
    values: Mapping[str, str]
    problems: tuple[str, ...] = ()
    evidence: Evidence | None = None


@dataclass(frozen=True, slots=True)
class FormFile:
    """A read form file: its name and digest, its rows, and the columns it ignored."""

    name: str
    sha256: str
    rows: tuple[FormRow, ...]
    ignored_columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportRow:
    """What happened to one row: ``recorded`` (with the entry id) or ``set aside`` (with a code
    and a reason in operator language: unit codes, party ids, dates; never names)."""

    number: int
    unit_code: str
    recorded: bool
    code: str
    reason: str
    entry_id: str = ""


@dataclass(frozen=True, slots=True)
class ImportReport:
    file: str
    sha256: str
    rows: tuple[ImportRow, ...]
    ignored_columns: tuple[str, ...] = ()

    @property
    def recorded(self) -> int:
        return sum(1 for row in self.rows if row.recorded)

    @property
    def set_aside(self) -> tuple[ImportRow, ...]:
        return tuple(row for row in self.rows if not row.recorded)


class RowProblem(ValueError):
    """A row that cannot be read as an answer; ``code`` says which kind of problem."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def _required(values: Mapping[str, str], key: str, code: str) -> str:
    value = values.get(key, "").strip()
    if not value:
        raise RowProblem(code, f"no {key}")
    return value


def read_day(text: str) -> tuple[date, time | None]:
    """``2027-02-10``, ``10-02-2027`` (Dutch order), or either with a time (``…T10:15``)."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return moment.date(), (moment.time() if moment.time() != time(0) else None)
    head, _, rest = text.partition(" ")
    found = _DUTCH_DATE.fullmatch(head)
    if found:
        day, month, year = (int(part) for part in found.groups())
        try:
            return date(year, month, day), (read_time(rest) if rest.strip() else None)
        except ValueError:
            pass
    raise RowProblem("bad_date", f"not a date (YYYY-MM-DD or DD-MM-YYYY): {text!r}")


def read_time(text: str) -> time:
    found = _TIME.fullmatch(text.strip())
    if found:
        hour, minute = int(found.group(1)), int(found.group(2))
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise RowProblem("bad_time", f"not a time (HH:MM): {text!r}")


def answer_of(row: FormRow) -> AnswerInput:
    """The answer a row records; RowProblem when it cannot be read."""
    if row.problems:
        raise RowProblem("unreadable", "; ".join(row.problems))
    values = row.values
    unit = _required(values, "unit", "missing_unit")
    word = _required(values, "answer", "missing_answer").casefold()
    if word not in ANSWERS:
        raise RowProblem(
            "bad_answer", f"answer {word!r} is none of agree, decline, withdraw (or akkoord, nee…)"
        )
    day, moment = read_day(_required(values, "date", "missing_date"))
    if values.get("time", "").strip():
        moment = read_time(values["time"])
    channel_word = values.get("channel", "").strip().casefold() or "paper"
    channel = CHANNELS.get(channel_word)
    if channel is None:
        raise RowProblem("bad_channel", f"channel {channel_word!r} is none of {', '.join(Channel)}")
    parties = tuple(p.strip() for p in _PARTY_SPLIT.split(values.get("party", "")) if p.strip())
    return AnswerInput(
        unit_code=unit,
        answer=ANSWERS[word],
        at=local_moment(day, moment),
        channel=channel,
        parties=parties,
        package=values.get("package", "").strip() or None,
        evidence=row.evidence,
    )


def import_forms(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    forms: FormFile,
    *,
    recorded_by: str,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC).replace(tzinfo=None),
    books: ConsentBooks | None = None,
    actor: str | None = None,
) -> ImportReport:
    """Record the readable rows of a form file in one transaction (with an audit event per
    entry, ``via`` ``import``, by ``actor``); report every row."""
    outcomes: dict[int, ImportRow] = {}
    readable: list[tuple[FormRow, AnswerInput]] = []
    for row in forms.rows:
        try:
            readable.append((row, answer_of(row)))
        except RowProblem as problem:
            unit = row.values.get("unit", "").strip()
            outcomes[row.number] = ImportRow(row.number, unit, False, problem.code, str(problem))
    report = record(
        sessions,
        target,
        [item for _, item in readable],
        recorded_by=recorded_by,
        clock=clock,
        books=books,
        actor=actor,
        via="import",
    )
    for (row, item), outcome in zip(readable, report.outcomes, strict=True):
        outcomes[row.number] = _row_outcome(row.number, item.unit_code, outcome)
    return ImportReport(
        forms.name,
        forms.sha256,
        tuple(outcomes[row.number] for row in forms.rows),
        forms.ignored_columns,
    )


def _row_outcome(number: int, unit_code: str, outcome: object) -> ImportRow:
    if isinstance(outcome, Refusal):
        return ImportRow(number, unit_code, False, outcome.code.value, outcome.reason)
    entry_id = str(getattr(outcome, "id", ""))
    return ImportRow(number, unit_code, True, "recorded", "", entry_id)


def count_by_code(rows: Sequence[ImportRow]) -> dict[str, int]:
    """How many rows each outcome code has (``recorded``, ``duplicate``, ``bad_date``…)."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.code] = counts.get(row.code, 0) + 1
    return counts
