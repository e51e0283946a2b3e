"""One row of a guidance team's contact list, parsed (pure): ``team_contact_from_row``.

Guidance teams keep lists in SharePoint or Excel with what the ERP lacks: a mobile number, who
prefers a call, at what hours, who needs an interpreter. A row (a SharePoint item's ``fields`` or
an Excel row as a dict) is read through a column mapping (``columns: {our_field: their_column}``)
by one small parser per field, so each rejection rule is visible and testable alone. A row that
cannot be used raises ``RowRejected`` with a detail that names the field, never its value: it is
kept aside whole rather than half-read (an unknown need might be a health detail typed in the
wrong column, so it is not silently dropped). Words are read through
:mod:`keukentafel.domain.vocabulary`, whose policy for team lists is: an unknown word keeps the
row aside. No free-text notes are read: a team list never carries health or care details into
Keukentafel.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from keukentafel.domain import addressing
from keukentafel.domain.addressing import InvalidPostcode, normalise_postcode
from keukentafel.domain.cleaning import clean_text
from keukentafel.domain.model import PracticalNeed
from keukentafel.domain.register.rejects import RejectReason, RowRejected
from keukentafel.domain.vocabulary import (
    PreferredChannel,
    channel_word,
    language_code,
    need_word,
    word_key,
    yes_no,
)

#: Field names a team-list column mapping may use (``columns: {our_field: their_column}``).
TEAM_CONTACT_FIELDS = frozenset(
    {
        "unit_code",
        "postcode",
        "house_number",  # "12", "12A", "12-2", "12 A 3": split here
        "house_letter",
        "house_number_addition",
        "relation_hint",  # a name to tell which household member the row is about
        "email",
        "mobile",
        "phone",
        "preferred_channel",
        "preferred_hours",
        "language",
        "needs",  # a list ("tolk; extra tijd") or a multi-choice column
        # one yes/no column per practical need, when the team keeps them as check boxes
        "interpreter",
        "extra_time",
        "call_guide_first",
        "visit_with_two",
        "no_letters_only",
    }
)

_NEED_COLUMNS: dict[str, PracticalNeed] = {
    "interpreter": PracticalNeed.INTERPRETER,
    "extra_time": PracticalNeed.EXTRA_TIME,
    "call_guide_first": PracticalNeed.CALL_GUIDE_FIRST,
    "visit_with_two": PracticalNeed.VISIT_WITH_TWO,
    "no_letters_only": PracticalNeed.NO_LETTERS_ONLY,
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: Checks one e-mail address: (the value to keep, a problem or ""). The connectors pass
#: email-validator's check (connectors/email_addresses.py); the domain has none of its own.
EmailCheck = Callable[[str], tuple[str, str]]


def _plain_email_check(text: str) -> tuple[str, str]:
    """The shape check used when no checker is given (pure tests of the row parser)."""
    if _EMAIL.match(text):
        return text.lower(), ""
    return text, "it is not an e-mail address"


_MAX_HOURS_TEXT = 60  # "ma-vr na 16:00": a short schedule, not a place for notes


@dataclass(frozen=True, slots=True)
class TeamContact:
    """One usable row of a team's contact list. Values are normalised; "" means not given."""

    row: int  # the row number in the sheet, or the SharePoint list item id
    source: str  # "sharepoint_list" or "excel": which team source the row came from
    unit_code: str = ""
    postcode: str = ""  # normalised "1234 AB"
    number: int | None = None
    letter: str = ""
    addition: str = ""
    relation_hint: str = ""
    email: str = ""
    mobile: str = ""  # normalised, e.g. "+31612345678"
    phone: str = ""
    preferred_channel: PreferredChannel | None = None
    preferred_hours: str = ""
    language: str = ""  # ISO 639-1, "" when the list does not say
    needs: frozenset[PracticalNeed] = frozenset()

    @property
    def has_address(self) -> bool:
        return bool(self.postcode) and self.number is not None


# --- value helpers (pure) --------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell or SharePoint field value as text: numbers without '.0', lists joined with '; '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "; ".join(cell_text(v) for v in value if cell_text(v))
    if isinstance(value, dict):  # a SharePoint lookup or person field
        for key in ("LookupValue", "Value", "Label", "Email"):
            if key in value:
                return cell_text(value[key])
        return ""
    return clean_text(str(value))  # no control or bidirectional characters, no line breaks


def parse_bool(value: Any, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    answer = yes_no(cell_text(value))
    if answer is None:
        raise RowRejected(RejectReason.MALFORMED, f"{field_name} is not yes or no")
    return answer


def split_house_number(text: str) -> tuple[int, str, str]:
    """As keukentafel.domain.addressing.split_house_number, with the addition in capitals so
    that team lists and the register compare alike: '12 bis' -> (12, '', 'BIS')."""
    number, letter, addition = addressing.split_house_number(text)
    return number, letter, addition.upper()


def normalise_phone(text: str) -> str:
    """A Dutch or international phone number as +<country><number>; raises ValueError.

    '06-12345678', '+31 6 1234 5678', '0031612345678' -> '+31612345678'.
    """
    digits = re.sub(r"[^\d+]", "", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("+31") and digits[3:4] == "0":
        digits = "+31" + digits[4:]  # "+31 (0)6 ..." written out
    if digits.startswith("0"):
        digits = "+31" + digits[1:]
    if not digits.startswith("+") or "+" in digits[1:] or not 10 <= len(digits) <= 16:
        raise ValueError("not a phone number")
    return digits


def phone_key(text: str) -> str:
    """The comparable form of a phone number; the raw digits when it cannot be normalised."""
    try:
        return normalise_phone(text)
    except ValueError:
        return re.sub(r"\D", "", text)


def address_key(
    postcode: str, number: int, letter: str = "", addition: str = ""
) -> tuple[str, int, str]:
    """Postcode, number and the letter and addition as one upper-case alphanumeric string."""
    suffix = re.sub(r"[^0-9A-Z]", "", f"{letter}{addition}".upper())
    return normalise_postcode(postcode), number, suffix


def unit_code_key(code: str) -> str:
    return "".join(code.split()).upper()


def unknown_fields(columns: Mapping[str, str]) -> list[str]:
    """Field names in a column mapping that Keukentafel does not know (for config checks)."""
    return sorted(set(columns) - TEAM_CONTACT_FIELDS)


# --- one row, one parser per field -----------------------------------------------------------


class _Cells:
    """A raw row read through the column mapping; ``unit_code`` goes into every rejection."""

    def __init__(self, values: Mapping[str, Any], columns: Mapping[str, str]) -> None:
        self.values = values
        self.columns = columns
        self.unit_code = self.text("unit_code")

    def get(self, name: str) -> Any:
        column = self.columns.get(name)
        return self.values.get(column) if column else None

    def text(self, name: str) -> str:
        return cell_text(self.get(name))

    def reject(self, reason: RejectReason, detail: str = "") -> RowRejected:
        return RowRejected(reason, detail, unit_code=self.unit_code)


@dataclass(frozen=True, slots=True)
class _Address:
    postcode: str = ""
    number: int | None = None
    letter: str = ""
    addition: str = ""


def _address(cells: _Cells) -> _Address:
    """Postcode and house number, when given; a row needs them or a unit code."""
    address = _Address()
    if cells.text("postcode") or cells.text("house_number"):
        try:
            postcode = normalise_postcode(cells.text("postcode"))
        except InvalidPostcode:
            raise cells.reject(RejectReason.INVALID_POSTCODE) from None
        try:
            number, letter, addition = split_house_number(cells.text("house_number"))
        except ValueError:
            raise cells.reject(
                RejectReason.MISSING_ADDRESS, "house_number cannot be read"
            ) from None
        letter = cells.text("house_letter").upper() or letter
        addition = cells.text("house_number_addition").upper() or addition
        address = _Address(postcode, number, letter, addition)
    if not cells.unit_code and address.number is None:
        raise RowRejected(
            RejectReason.MISSING_UNIT_CODE, "the row has neither a unit code nor an address"
        )
    return address


def _email(cells: _Cells, check: EmailCheck) -> str:
    email = cells.text("email")
    if not email:
        return ""
    value, problem = check(email)
    if problem:  # the problem names no part of the address
        raise cells.reject(RejectReason.MALFORMED, f"email: {problem}")
    return value


def _phones(cells: _Cells) -> dict[str, str]:
    """The ``mobile`` and ``phone`` numbers given, normalised."""
    phones: dict[str, str] = {}
    for name in ("mobile", "phone"):
        raw = cells.text(name)
        if raw:
            try:
                phones[name] = normalise_phone(raw)
            except ValueError:
                raise cells.reject(
                    RejectReason.MALFORMED, f"{name} is not a phone number"
                ) from None
    return phones


def _channel(cells: _Cells) -> PreferredChannel | None:
    text = cells.text("preferred_channel")
    if not text:
        return None
    channel = channel_word(text)
    if channel is None:
        raise cells.reject(RejectReason.MALFORMED, "preferred_channel is not a known channel")
    return channel


def _hours(cells: _Cells) -> str:
    hours = cells.text("preferred_hours")
    if len(hours) > _MAX_HOURS_TEXT:
        raise cells.reject(
            RejectReason.MALFORMED,
            f"preferred_hours is longer than {_MAX_HOURS_TEXT} characters",
        )
    return hours


def _language(cells: _Cells) -> str:
    text = cells.text("language")
    if not text:
        return ""
    code = language_code(text)
    if code is None:
        raise cells.reject(RejectReason.MALFORMED, "language is not a known language")
    return code


def _needs(cells: _Cells) -> frozenset[PracticalNeed]:
    """Needs from a list column (or a multi-choice field) and from yes/no columns per need."""
    needs: set[PracticalNeed] = set()
    raw = cells.get("needs")
    labels = (
        [cell_text(v) for v in raw]
        if isinstance(raw, list | tuple)
        else re.split(r"[;,\n]", cell_text(raw))
    )
    for label in labels:
        if not word_key(label):
            continue
        need = need_word(label)
        if need is None:
            raise cells.reject(RejectReason.MALFORMED, "needs holds an unknown need")
        needs.add(need)
    for name, need in _NEED_COLUMNS.items():
        if cells.columns.get(name) and parse_bool(cells.get(name), name):
            needs.add(need)
    return frozenset(needs)


def team_contact_from_row(
    values: Mapping[str, Any],
    columns: Mapping[str, str],
    *,
    row: int,
    source: str,
    email_check: EmailCheck | None = None,
) -> TeamContact:
    """Map one raw row through ``columns`` (our field -> their column) into a ``TeamContact``.

    Raises ``RowRejected`` with a detail that names the field, never its value: an unusable
    row is kept aside whole rather than half-read (e.g. an unknown need, which might be a health
    detail typed in the wrong column, is not silently dropped). Fields are checked in the order
    below, so a row with several problems is reported with the first. Text is cleaned of
    control and bidirectional characters; ``email_check`` (the connectors pass email-validator's)
    decides whether an e-mail address can be used and how it is kept.
    """
    cells = _Cells(values, columns)
    address = _address(cells)
    email = _email(cells, email_check or _plain_email_check)
    phones = _phones(cells)
    channel = _channel(cells)
    hours = _hours(cells)
    language = _language(cells)
    needs = _needs(cells)
    return TeamContact(
        row=row,
        source=source,
        unit_code=cells.unit_code,
        postcode=address.postcode,
        number=address.number,
        letter=address.letter,
        addition=address.addition,
        relation_hint=cells.text("relation_hint"),
        email=email,
        mobile=phones.get("mobile", ""),
        phone=phones.get("phone", ""),
        preferred_channel=channel,
        preferred_hours=hours,
        language=language,
        needs=needs,
    )
