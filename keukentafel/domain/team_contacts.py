"""The guidance team's own contact list and how it is merged into the register (pure).

Guidance teams keep lists in SharePoint or Excel with what the ERP lacks: a mobile number, who
prefers a call, at what hours, who needs an interpreter. This module owns:

- ``TeamContact``: one usable row of such a list, already parsed (no free-text notes: a team list
  never carries health or care details into Keukentafel);
- ``team_contact_from_row``: the pure mapping of one raw row (a SharePoint item's ``fields`` or an
  Excel row as a dict) through a column mapping, raising ``RowRejected`` for unusable rows;
- ``merge_team_contacts``: the merge rules.

The merge rules:

1. A row is matched to a unit by unit code, else by address (postcode + house number +
   letter/addition, normalised; letter and addition are compared as one string because sources
   disagree on which is which).
2. The ERP stays the source of truth for *who* rents: the team list never adds or removes a
   resident. A row for a vacant unit, or whose name hint names nobody in the household, is
   reported as unmatched.
3. The team list *adds* contact points the ERP lacks and preferences (channel, hours, language,
   practical needs).
4. Where the ERP has a value and the team list has a different one, the ERP value is kept and the
   difference reported as a ``Conflict`` (unit code, field, source): never silently won.
5. Unmatched rows are reported with their row number and a reason, never with names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from keukentafel.domain import addressing
from keukentafel.domain.addressing import InvalidPostcode, normalise_postcode
from keukentafel.domain.model import (
    Address,
    ContactKind,
    ContactPoint,
    Household,
    PracticalNeed,
    Resident,
)
from keukentafel.domain.register import RejectReason, RowRejected


class PreferredChannel(StrEnum):
    EMAIL = "email"
    MOBILE = "mobile"  # text message or app on a mobile number
    PHONE = "phone"  # a call
    LETTER = "letter"
    VISIT = "visit"


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


# --- parsing helpers (pure) -----------------------------------------------------------------

_TRUE = frozenset({"ja", "j", "yes", "y", "true", "waar", "1", "x", "v", "✓"})
_FALSE = frozenset({"", "nee", "n", "no", "false", "onwaar", "0", "-"})

_CHANNELS: dict[str, PreferredChannel] = {
    "email": PreferredChannel.EMAIL,
    "e-mail": PreferredChannel.EMAIL,
    "mail": PreferredChannel.EMAIL,
    "mobile": PreferredChannel.MOBILE,
    "mobiel": PreferredChannel.MOBILE,
    "sms": PreferredChannel.MOBILE,
    "whatsapp": PreferredChannel.MOBILE,
    "app": PreferredChannel.MOBILE,
    "appen": PreferredChannel.MOBILE,
    "phone": PreferredChannel.PHONE,
    "telefoon": PreferredChannel.PHONE,
    "tel": PreferredChannel.PHONE,
    "bellen": PreferredChannel.PHONE,
    "letter": PreferredChannel.LETTER,
    "brief": PreferredChannel.LETTER,
    "post": PreferredChannel.LETTER,
    "visit": PreferredChannel.VISIT,
    "bezoek": PreferredChannel.VISIT,
    "huisbezoek": PreferredChannel.VISIT,
    "langskomen": PreferredChannel.VISIT,
}

_NEEDS: dict[str, PracticalNeed] = {
    **{need.value: need for need in PracticalNeed},
    "tolk": PracticalNeed.INTERPRETER,
    "tolk nodig": PracticalNeed.INTERPRETER,
    "extra tijd": PracticalNeed.EXTRA_TIME,
    "eerst begeleider bellen": PracticalNeed.CALL_GUIDE_FIRST,
    "eerst bewonersbegeleider bellen": PracticalNeed.CALL_GUIDE_FIRST,
    "met twee personen": PracticalNeed.VISIT_WITH_TWO,
    "met z'n tweeën": PracticalNeed.VISIT_WITH_TWO,
    "met zn tweeen": PracticalNeed.VISIT_WITH_TWO,
    "leest geen brieven": PracticalNeed.NO_LETTERS_ONLY,
    "geen brieven": PracticalNeed.NO_LETTERS_ONLY,
}

_NEED_COLUMNS: dict[str, PracticalNeed] = {
    "interpreter": PracticalNeed.INTERPRETER,
    "extra_time": PracticalNeed.EXTRA_TIME,
    "call_guide_first": PracticalNeed.CALL_GUIDE_FIRST,
    "visit_with_two": PracticalNeed.VISIT_WITH_TWO,
    "no_letters_only": PracticalNeed.NO_LETTERS_ONLY,
}

_LANGUAGES: dict[str, str] = {
    "nederlands": "nl",
    "engels": "en",
    "english": "en",
    "turks": "tr",
    "arabisch": "ar",
    "pools": "pl",
    "tigrinya": "ti",
    "oekraiens": "uk",
    "duits": "de",
    "frans": "fr",
    "spaans": "es",
    "portugees": "pt",
    "russisch": "ru",
    "somalisch": "so",
    "farsi": "fa",
    "perzisch": "fa",
    "dari": "fa",
    "bulgaars": "bg",
    "roemeens": "ro",
    "chinees": "zh",
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_HOURS_TEXT = 60  # "ma-vr na 16:00": a short schedule, not a place for notes


def _fold(text: str) -> str:
    """Lower case without accents and with single spaces: 'Oekraïens ' -> 'oekraiens'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


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
    return str(value).strip()


def parse_bool(value: Any, field_name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = _fold(cell_text(value))
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RowRejected(RejectReason.MALFORMED, f"{field_name} is not yes or no")


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


# --- mapping one raw row --------------------------------------------------------------------


def unknown_fields(columns: Mapping[str, str]) -> list[str]:
    """Field names in a column mapping that Keukentafel does not know (for config checks)."""
    return sorted(set(columns) - TEAM_CONTACT_FIELDS)


def team_contact_from_row(
    values: Mapping[str, Any], columns: Mapping[str, str], *, row: int, source: str
) -> TeamContact:
    """Map one raw row through ``columns`` (our field -> their column) into a ``TeamContact``.

    Raises ``RowRejected`` with a detail that names the field, never its value: an unusable
    row is kept aside whole rather than half-read (e.g. an unknown need, which might be a health
    detail typed in the wrong column, is not silently dropped).
    """

    def get(name: str) -> Any:
        column = columns.get(name)
        return values.get(column) if column else None

    def text(name: str) -> str:
        return cell_text(get(name))

    unit_code = text("unit_code")
    postcode = ""
    number: int | None = None
    letter = addition = ""
    if text("postcode") or text("house_number"):
        try:
            postcode = normalise_postcode(text("postcode"))
        except InvalidPostcode:
            raise RowRejected(RejectReason.INVALID_POSTCODE, unit_code=unit_code) from None
        try:
            number, letter, addition = split_house_number(text("house_number"))
        except ValueError:
            raise RowRejected(
                RejectReason.MISSING_ADDRESS, "house_number cannot be read", unit_code=unit_code
            ) from None
        letter = text("house_letter").upper() or letter
        addition = text("house_number_addition").upper() or addition
    if not unit_code and number is None:
        raise RowRejected(
            RejectReason.MISSING_UNIT_CODE, "the row has neither a unit code nor an address"
        )

    email = text("email")
    if email and not _EMAIL.match(email):
        raise RowRejected(
            RejectReason.MALFORMED, "email is not an e-mail address", unit_code=unit_code
        )
    phones: dict[str, str] = {}
    for name in ("mobile", "phone"):
        raw = text(name)
        if raw:
            try:
                phones[name] = normalise_phone(raw)
            except ValueError:
                raise RowRejected(
                    RejectReason.MALFORMED, f"{name} is not a phone number", unit_code=unit_code
                ) from None

    channel: PreferredChannel | None = None
    if text("preferred_channel"):
        channel = _CHANNELS.get(_fold(text("preferred_channel")))
        if channel is None:
            raise RowRejected(
                RejectReason.MALFORMED,
                "preferred_channel is not a known channel",
                unit_code=unit_code,
            )

    hours = text("preferred_hours")
    if len(hours) > _MAX_HOURS_TEXT:
        raise RowRejected(
            RejectReason.MALFORMED,
            f"preferred_hours is longer than {_MAX_HOURS_TEXT} characters",
            unit_code=unit_code,
        )

    language = ""
    if text("language"):
        folded = _fold(text("language"))
        language = _LANGUAGES.get(folded, folded if re.fullmatch(r"[a-z]{2}", folded) else "")
        if not language:
            raise RowRejected(
                RejectReason.MALFORMED, "language is not a known language", unit_code=unit_code
            )

    needs: set[PracticalNeed] = set()
    raw_needs = get("needs")
    labels = (
        [cell_text(v) for v in raw_needs]
        if isinstance(raw_needs, list | tuple)
        else re.split(r"[;,\n]", cell_text(raw_needs))
    )
    for label in labels:
        if not _fold(label):
            continue
        need = _NEEDS.get(_fold(label))
        if need is None:
            raise RowRejected(
                RejectReason.MALFORMED, "needs holds an unknown need", unit_code=unit_code
            )
        needs.add(need)
    for name, need in _NEED_COLUMNS.items():
        if columns.get(name) and parse_bool(get(name), name):
            needs.add(need)

    return TeamContact(
        row=row,
        source=source,
        unit_code=unit_code,
        postcode=postcode,
        number=number,
        letter=letter,
        addition=addition,
        relation_hint=text("relation_hint"),
        email=email.lower(),
        mobile=phones.get("mobile", ""),
        phone=phones.get("phone", ""),
        preferred_channel=channel,
        preferred_hours=hours,
        language=language,
        needs=frozenset(needs),
    )


# --- the merge ------------------------------------------------------------------------------


class MatchKind(StrEnum):
    UNIT_CODE = "unit_code"
    ADDRESS = "address"


class UnmatchedReason(StrEnum):
    UNKNOWN_UNIT = "unknown_unit"  # no unit with this code or address in the register
    AMBIGUOUS_ADDRESS = "ambiguous_address"  # the address fits more than one unit
    VACANT_UNIT = "vacant_unit"  # nobody rents the unit: the team list never adds a tenant
    NAME_NOT_IN_HOUSEHOLD = "name_not_in_household"  # the name hint names nobody living there
    DUPLICATE_ROW = "duplicate_row"  # an earlier row already spoke for this resident


UNMATCHED_TEXT: dict[UnmatchedReason, str] = {
    UnmatchedReason.UNKNOWN_UNIT: "no unit in the register has this unit code or address",
    UnmatchedReason.AMBIGUOUS_ADDRESS: "the address fits more than one unit; add the unit code",
    UnmatchedReason.VACANT_UNIT: "the unit has no current tenant in the ERP",
    UnmatchedReason.NAME_NOT_IN_HOUSEHOLD: (
        "the name in the row is not a resident of this unit in the ERP (moved out?)"
    ),
    UnmatchedReason.DUPLICATE_ROW: "an earlier row already gives details for this resident",
}


class Source(StrEnum):
    ERP = "erp"
    TEAM_LIST = "team_list"


@dataclass(frozen=True, slots=True)
class Match:
    row: int
    source: str
    unit_code: str
    relation_id: str
    kind: MatchKind


@dataclass(frozen=True, slots=True)
class Conflict:
    """The team list disagrees with a value the ERP has. Values are not carried (privacy)."""

    unit_code: str
    relation_id: str
    field: str  # "email", "mobile", "phone", "language", "preferred_channel", "address"
    row: int
    team_source: str  # which team list ("sharepoint_list" / "excel")
    kept: Source = Source.ERP  # whose value stays in the register: always the ERP


@dataclass(frozen=True, slots=True)
class UnmatchedRow:
    row: int
    source: str
    reason: UnmatchedReason
    unit_code: str = ""  # the unit it fell on, when it found one

    @property
    def detail(self) -> str:
        return UNMATCHED_TEXT[self.reason]


@dataclass(frozen=True, slots=True)
class ContactPreference:
    """What the team list says about how and when to reach one resident."""

    relation_id: str
    unit_code: str
    channel: PreferredChannel | None = None
    hours: str = ""


@dataclass(slots=True)
class MergeResult:
    residents: dict[str, Resident] = field(default_factory=dict)  # by relation id, merged
    preferences: dict[str, ContactPreference] = field(default_factory=dict)  # by relation id
    matches: list[Match] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    unmatched: list[UnmatchedRow] = field(default_factory=list)

    @property
    def changed_relation_ids(self) -> list[str]:
        """Residents to which the team list added something (the ones to write back)."""
        return sorted(self.residents)


# The contact kinds a preferred channel can use, best first: a call can go to a mobile number.
_CHANNEL_KINDS: dict[PreferredChannel, tuple[ContactKind, ...]] = {
    PreferredChannel.EMAIL: (ContactKind.EMAIL,),
    PreferredChannel.MOBILE: (ContactKind.MOBILE,),
    PreferredChannel.PHONE: (ContactKind.PHONE, ContactKind.MOBILE),
}
_NAME_PARTICLES = frozenset(
    {"van", "de", "der", "den", "het", "ten", "ter", "te", "in", "t", "fam"}
)


def _name_tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[^a-z]+", _fold(text)) if len(t) > 1 and t not in _NAME_PARTICLES}


def _hint_fits(hint: str, resident: Resident) -> bool:
    """Whether a name hint ('Fam. de Vries', 'J. Yilmaz', 'Fatma') names this resident."""
    wanted = _name_tokens(hint)
    if not wanted:
        return True  # no hint: the row is about the household's main tenant
    if resident.name is not None:
        own = _name_tokens(resident.name.surname) | _name_tokens(resident.name.first_name)
    else:
        own = _name_tokens(resident.organisation_name)
    return bool(own & wanted)


def _unit_address_key(address: Address) -> tuple[str, int, str] | None:
    try:
        return address_key(address.postcode, address.number, address.letter, address.addition)
    except InvalidPostcode:
        return None


def merge_team_contacts(
    households: Iterable[Household], team_contacts: Iterable[TeamContact]
) -> MergeResult:
    """Merge the team's rows into the register's households by the rules in the module docstring.

    ``households`` are the register's households of today (vacant units as households without
    members). Only residents to which a row added something appear in ``result.residents``.
    Sources are applied in the order they first appear in ``team_contacts``, rows in row order
    within a source; the first row per resident wins, later ones are reported as duplicates.
    """
    by_code: dict[str, Household] = {}
    by_address: dict[tuple[str, int, str], list[Household]] = {}
    for household in households:
        by_code[unit_code_key(household.unit.code)] = household
        key = _unit_address_key(household.unit.address)
        if key is not None:
            by_address.setdefault(key, []).append(household)

    rows = list(team_contacts)
    source_order: dict[str, int] = {}
    for contact in rows:
        source_order.setdefault(contact.source, len(source_order))
    result = MergeResult()
    spoken_for: set[str] = set()
    for contact in sorted(rows, key=lambda c: (source_order[c.source], c.row)):
        found, kind, unmatched = _find_household(contact, by_code, by_address)
        if found is None:
            result.unmatched.append(UnmatchedRow(contact.row, contact.source, unmatched))
            continue
        household = found
        unit_code = household.unit.code
        if household.is_vacant:
            result.unmatched.append(
                UnmatchedRow(contact.row, contact.source, UnmatchedReason.VACANT_UNIT, unit_code)
            )
            continue
        candidates = [r for r in household.residents if _hint_fits(contact.relation_hint, r)]
        if not candidates:
            result.unmatched.append(
                UnmatchedRow(
                    contact.row, contact.source, UnmatchedReason.NAME_NOT_IN_HOUSEHOLD, unit_code
                )
            )
            continue
        resident = candidates[0]  # the main tenant first, as the household orders them
        if resident.relation_id in spoken_for:
            result.unmatched.append(
                UnmatchedRow(contact.row, contact.source, UnmatchedReason.DUPLICATE_ROW, unit_code)
            )
            continue
        spoken_for.add(resident.relation_id)
        result.matches.append(
            Match(contact.row, contact.source, unit_code, resident.relation_id, kind)
        )
        if kind is MatchKind.UNIT_CODE and contact.has_address:
            key = address_key(
                contact.postcode, contact.number or 0, contact.letter, contact.addition
            )
            if key != _unit_address_key(household.unit.address):
                result.conflicts.append(
                    Conflict(
                        unit_code, resident.relation_id, "address", contact.row, contact.source
                    )
                )
        merged, preference, conflicts = _merge_one(resident, unit_code, contact)
        result.conflicts.extend(conflicts)
        if merged != resident:
            result.residents[resident.relation_id] = merged
        if preference is not None:
            result.preferences[resident.relation_id] = preference
    return result


def _find_household(
    contact: TeamContact,
    by_code: Mapping[str, Household],
    by_address: Mapping[tuple[str, int, str], list[Household]],
) -> tuple[Household | None, MatchKind, UnmatchedReason]:
    if contact.unit_code:
        household = by_code.get(unit_code_key(contact.unit_code))
        if household is not None:
            return household, MatchKind.UNIT_CODE, UnmatchedReason.UNKNOWN_UNIT
    if contact.has_address:
        key = address_key(contact.postcode, contact.number or 0, contact.letter, contact.addition)
        found = by_address.get(key, [])
        if len(found) == 1:
            return found[0], MatchKind.ADDRESS, UnmatchedReason.UNKNOWN_UNIT
        if len(found) > 1:
            return None, MatchKind.ADDRESS, UnmatchedReason.AMBIGUOUS_ADDRESS
    return None, MatchKind.UNIT_CODE, UnmatchedReason.UNKNOWN_UNIT


def _merge_one(
    resident: Resident, unit_code: str, contact: TeamContact
) -> tuple[Resident, ContactPreference | None, list[Conflict]]:
    conflicts: list[Conflict] = []

    def conflict(field_name: str) -> None:
        conflicts.append(
            Conflict(unit_code, resident.relation_id, field_name, contact.row, contact.source)
        )

    contacts = list(resident.contacts)
    erp_phones = {phone_key(c.value) for c in resident.contacts if c.kind is not ContactKind.EMAIL}
    for kind, value in (
        (ContactKind.EMAIL, contact.email),
        (ContactKind.MOBILE, contact.mobile),
        (ContactKind.PHONE, contact.phone),
    ):
        if not value:
            continue
        erp_values = [c.value for c in resident.contacts if c.kind is kind]
        if kind is ContactKind.EMAIL:
            known = value.lower() in {v.strip().lower() for v in erp_values}
        else:
            # the same number under another kind (a mobile the ERP files as TEL) is no news
            known = phone_key(value) in erp_phones
        if known:
            continue
        if erp_values:
            conflict(kind.value)
            continue
        contacts.append(ContactPoint(kind, value))

    channel = contact.preferred_channel
    channel_kinds = _CHANNEL_KINDS.get(channel, ()) if channel else ()
    if channel_kinds:
        erp_preferred = next((c for c in resident.contacts if c.preferred), None)
        if erp_preferred is not None and erp_preferred.kind not in channel_kinds:
            conflict("preferred_channel")
        elif erp_preferred is None:
            candidates = [
                (channel_kinds.index(point.kind), index)
                for index, point in enumerate(contacts)
                if point.kind in channel_kinds
            ]
            if candidates:
                _, index = min(candidates)
                contacts[index] = replace(contacts[index], preferred=True)

    language = resident.language
    if contact.language and contact.language != resident.language:
        # "nl" is the register's default, so it does not count as a value the ERP has
        if resident.language and resident.language != "nl":
            conflict("language")
        else:
            language = contact.language

    merged = replace(
        resident,
        contacts=tuple(contacts),
        language=language,
        needs=resident.needs | contact.needs,
    )
    preference = None
    if channel is not None or contact.preferred_hours:
        preference = ContactPreference(
            resident.relation_id, unit_code, channel, contact.preferred_hours
        )
    return merged, preference, conflicts
