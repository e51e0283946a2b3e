"""The access export of one household (pure): everything held on its residents, in sections.

A resident may ask what the corporation holds on them (AVG art. 15); the answer is one export of
their household: the register (the home, the leases, the residents with their roles, dates and
contact points), the guidance team's rows about them, the messages and letters sent, the
mailings they were in, and, as their tables come, consent answers and appointments. Each part is
an :class:`ExportSection` with a key (the JSON's), a plain Dutch heading and intro for the PDF
that goes to the resident, and items; an item is an ordered list of fields (key, Dutch label,
value). A field without a label is in the JSON only (a message body as stored, for example).

:class:`ArchivedLetter` is one letter found in a mailing's output folder, and
:func:`readable_text` takes the text a person reads out of a stored e-mail.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path

#: A field's value: text, a number, a yes/no, nothing, or a list of texts.
Value = str | int | bool | tuple[str, ...] | None

NOTHING_HELD = "Hierover hebben wij geen gegevens van u."


@dataclass(frozen=True, slots=True)
class ExportField:
    key: str
    label: str | None  # the Dutch label in the PDF; None: in the JSON only
    value: Value


@dataclass(frozen=True, slots=True)
class ExportItem:
    """One thing held (a lease, a resident, a message): its fields in order."""

    title: str
    fields: tuple[ExportField, ...]

    def as_json(self) -> dict[str, object]:
        return {
            f.key: list(f.value) if isinstance(f.value, tuple) else f.value for f in self.fields
        }

    def shown(self) -> list[tuple[str, str]]:
        """The labelled fields as (label, text) for the PDF; empty values left out."""
        return [
            (f.label, show(f.value))
            for f in self.fields
            if f.label is not None and f.value not in (None, "", ())
        ]


@dataclass(frozen=True, slots=True)
class ExportSection:
    key: str  # the JSON key: unit, leases, residents, team_list, messages, letters, mailings, ...
    title: str  # the Dutch heading
    intro: str  # one plain Dutch sentence: what this is and where it comes from
    items: tuple[ExportItem, ...]


@dataclass(frozen=True, slots=True)
class AccessExport:
    """The whole export of one household, as made at one moment."""

    corporation_code: str
    corporation_name: str
    unit_code: str
    made_at: datetime  # naive UTC
    sections: tuple[ExportSection, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "corporation": self.corporation_code,
            "unit": self.unit_code,
            "made_at": self.made_at.isoformat(timespec="seconds") + "Z",
            "sections": {s.key: [item.as_json() for item in s.items] for s in self.sections},
        }

    def section(self, key: str) -> ExportSection:
        return next(s for s in self.sections if s.key == key)


@dataclass(frozen=True, slots=True)
class ArchivedLetter:
    """One household's part of a mailing, found in the mailing's output folder."""

    mailing: str  # the folder's name: <project>-<kind>-<letter date>
    project_code: str
    kind: str
    on: date  # the letter date
    pdf: Path | None  # the letter (archief/)
    eml: Path | None = None  # the e-mail (email/)
    ics: Path | None = None  # the invitation (agenda/)


def show(value: Value) -> str:
    """A value as the PDF shows it."""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, tuple):
        return "\n".join(value)
    return "" if value is None else str(value)


def iso(moment: date | datetime | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.isoformat(timespec="seconds")
    return moment.isoformat()


def readable_text(body: bytes) -> str:
    """The plain-text part of a stored e-mail (RFC 5322 bytes), or "" when it has none."""
    if not body:
        return ""
    message = email.message_from_bytes(body, policy=email.policy.default)
    if not isinstance(message, EmailMessage):  # pragma: no cover - the default policy makes one
        return ""
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    content = part.get_content()
    return content.strip() if isinstance(content, str) else ""


@dataclass(frozen=True, slots=True)
class ExportFiles:
    """Where an export was written."""

    folder: Path
    json: Path
    pdf: Path
    letters: int  # letters copied into it
