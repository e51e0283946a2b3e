"""What comes back from a contractor (pure): changed work days, delays and completion.

A contractor sends the same message by a signed webhook or as a file (CSV): a type and a list
of appointments in VERA ``Afspraak`` names::

    {"type": "afspraken.vertraagd", "timestamp": "2027-05-02T08:00:00Z",
     "data": {"reden": "De keukens worden later geleverd.",
              "afspraken": [{"code": "AFS-3f2a…", "begindatum": "2027-05-26",
                             "einddatum": "2027-05-28"},
                            {"eenheid": {"code": "VHE00012"}, "onderwerp": "keuken",
                             "begindatum": "2027-05-27", "einddatum": "2027-05-29"}]}}

Types: ``afspraken.gewijzigd`` (the work days moved), ``afspraken.vertraagd`` (a delay: the
letter says why), ``afspraken.afgerond`` (done; dates not needed). An appointment is named by
our ``code``, or by the unit and the element (``onderwerp``). Dates are calendar dates (a VERA
date-time is read as its Amsterdam date). A line that cannot be used is kept aside with its
reason; the other lines are applied.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from keukentafel.domain.model import amsterdam_date


class ChangeKind(StrEnum):
    CHANGED = "afspraken.gewijzigd"
    DELAYED = "afspraken.vertraagd"
    DONE = "afspraken.afgerond"


MAX_REASON = 300


@dataclass(frozen=True, slots=True)
class ContractorChange:
    """One appointment in a contractor's message."""

    line: int  # 1-based position in the message (or the file's data row)
    kind: ChangeKind
    code: str = ""  # our appointment code, when the contractor names it
    unit_code: str = ""
    element: str = ""
    first_day: date | None = None
    last_day: date | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LineRefused:
    line: int
    unit_code: str
    reason: str  # operator language; never a name


@dataclass(slots=True)
class InboundMessage:
    kind: ChangeKind | None
    changes: list[ContractorChange] = field(default_factory=list)
    refused: list[LineRefused] = field(default_factory=list)


class MessageRefused(ValueError):
    """The whole message is unusable (not JSON, an unknown type, no appointments)."""


def parse_message(payload: Any) -> InboundMessage:
    """A contractor's JSON message; MessageRefused when nothing in it can be used."""
    if not isinstance(payload, Mapping):
        raise MessageRefused("the message is not a JSON object")
    try:
        kind = ChangeKind(str(payload.get("type", "")))
    except ValueError:
        known = ", ".join(ChangeKind)
        raise MessageRefused(f"unknown type {payload.get('type')!r} (known: {known})") from None
    data = payload.get("data")
    items = data.get("afspraken") if isinstance(data, Mapping) else None
    if not isinstance(items, list) or not items:
        raise MessageRefused("data.afspraken is missing or empty")
    reason = _reason(data.get("reden")) if isinstance(data, Mapping) else ""
    message = InboundMessage(kind)
    if kind is ChangeKind.DELAYED and not reason:
        raise MessageRefused("a delay needs data.reden: the letter tells residents why")
    for number, item in enumerate(items, start=1):
        _add_line(message, kind, number, item, reason)
    return message


def _add_line(
    message: InboundMessage, kind: ChangeKind, number: int, item: Any, reason: str
) -> None:
    if not isinstance(item, Mapping):
        message.refused.append(LineRefused(number, "", "not an object"))
        return
    unit = item.get("eenheid")
    unit_code = str(unit.get("code", "")) if isinstance(unit, Mapping) else str(unit or "")
    code = str(item.get("code") or item.get("id") or "").strip()
    element = str(item.get("onderwerp") or "").strip()
    if not code and not (unit_code and element):
        message.refused.append(
            LineRefused(
                number, unit_code, "names no appointment: give code, or eenheid and onderwerp"
            )
        )
        return
    try:
        first, last = _day(item.get("begindatum")), _day(item.get("einddatum"))
    except ValueError as exc:
        message.refused.append(LineRefused(number, unit_code, str(exc)))
        return
    if kind is not ChangeKind.DONE:
        if first is None or last is None:
            message.refused.append(
                LineRefused(number, unit_code, "begindatum and einddatum needed")
            )
            return
        if last < first:
            message.refused.append(LineRefused(number, unit_code, "einddatum is before begindatum"))
            return
    message.changes.append(
        ContractorChange(number, kind, code, unit_code.strip(), element, first, last, reason)
    )


def _reason(value: Any) -> str:
    text = " ".join(str(value or "").split())
    return text[:MAX_REASON]


def _day(value: Any) -> date | None:
    """A calendar date from "2027-05-12" or a VERA date-time (its Amsterdam date)."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        if "T" not in text:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text[:30]!r} is not a date (YYYY-MM-DD)") from None
    return amsterdam_date(moment)


# --- the same, as a file ------------------------------------------------------------------------

FILE_COLUMNS = ("type", "code", "eenheid", "onderwerp", "begindatum", "einddatum", "reden")


def parse_csv(data: bytes) -> InboundMessage:
    """A contractor's CSV (``;`` or ``,``, UTF-8 with or without BOM) with the columns of
    :data:`FILE_COLUMNS` (``code`` or ``eenheid`` + ``onderwerp``). One type per file: a file
    with several types is refused whole, so its letters cannot mix."""
    text = data.decode("utf-8-sig", errors="replace")
    dialect = ";" if text.split("\n", 1)[0].count(";") >= text.split("\n", 1)[0].count(",") else ","
    rows = list(csv.DictReader(io.StringIO(text), delimiter=dialect))
    if not rows:
        raise MessageRefused("the file has no rows")
    missing = {"type", "begindatum", "einddatum"} - set(rows[0])
    if missing:
        raise MessageRefused(f"the file lacks column(s): {', '.join(sorted(missing))}")
    kinds = {(row.get("type") or "").strip() for row in rows}
    if len(kinds) != 1:
        raise MessageRefused("one type per file, please: found " + ", ".join(sorted(kinds)))
    reasons = {_reason(row.get("reden")) for row in rows} - {""}
    if len(reasons) > 1:
        raise MessageRefused("one reason (reden) per file, please: the letter gives one")
    payload = {
        "type": kinds.pop(),
        "data": {
            "reden": reasons.pop() if reasons else "",
            "afspraken": [_row_item(row) for row in rows],
        },
    }
    return parse_message(payload)


def _row_item(row: Mapping[str, str | None]) -> dict[str, Any]:
    return {
        "code": (row.get("code") or "").strip(),
        "eenheid": {"code": (row.get("eenheid") or "").strip()},
        "onderwerp": (row.get("onderwerp") or "").strip(),
        "begindatum": (row.get("begindatum") or "").strip(),
        "einddatum": (row.get("einddatum") or "").strip(),
    }


def refusals_text(refused: Sequence[LineRefused]) -> list[str]:
    return [f"line {r.line} ({r.unit_code or '-'}): {r.reason}" for r in refused]
