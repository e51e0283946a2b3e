"""The merge of the guidance team's contact rows into the register's households (pure).

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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from keukentafel.domain.addressing import InvalidPostcode
from keukentafel.domain.model import Address, ContactKind, ContactPoint, Household, Resident
from keukentafel.domain.team_contacts.row import (
    TeamContact,
    address_key,
    phone_key,
    unit_code_key,
)
from keukentafel.domain.vocabulary import PreferredChannel, word_key


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
    tokens = re.split(r"[^a-z]+", word_key(text))
    return {t for t in tokens if len(t) > 1 and t not in _NAME_PARTICLES}


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
    by_code, by_address = _index(households)
    rows = list(team_contacts)
    source_order: dict[str, int] = {}
    for contact in rows:
        source_order.setdefault(contact.source, len(source_order))
    result = MergeResult()
    spoken_for: set[str] = set()
    for contact in sorted(rows, key=lambda c: (source_order[c.source], c.row)):
        household, kind, unmatched = _find_household(contact, by_code, by_address)
        if household is None:
            result.unmatched.append(UnmatchedRow(contact.row, contact.source, unmatched))
            continue
        resident, unmatched = _resident_for(contact, household, spoken_for)
        if resident is None:
            unit_code = household.unit.code
            result.unmatched.append(UnmatchedRow(contact.row, contact.source, unmatched, unit_code))
            continue
        spoken_for.add(resident.relation_id)
        _merge_row(result, contact, household, resident, kind)
    return result


_ByAddress = dict[tuple[str, int, str], list[Household]]


def _index(households: Iterable[Household]) -> tuple[dict[str, Household], _ByAddress]:
    by_code: dict[str, Household] = {}
    by_address: _ByAddress = {}
    for household in households:
        by_code[unit_code_key(household.unit.code)] = household
        key = _unit_address_key(household.unit.address)
        if key is not None:
            by_address.setdefault(key, []).append(household)
    return by_code, by_address


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


def _resident_for(
    contact: TeamContact, household: Household, spoken_for: set[str]
) -> tuple[Resident | None, UnmatchedReason]:
    """The household member a row is about (rule 2), or why there is none."""
    if household.is_vacant:
        return None, UnmatchedReason.VACANT_UNIT
    candidates = [r for r in household.residents if _hint_fits(contact.relation_hint, r)]
    if not candidates:
        return None, UnmatchedReason.NAME_NOT_IN_HOUSEHOLD
    resident = candidates[0]  # the main tenant first, as the household orders them
    if resident.relation_id in spoken_for:
        return None, UnmatchedReason.DUPLICATE_ROW
    return resident, UnmatchedReason.UNKNOWN_UNIT


def _merge_row(
    result: MergeResult,
    contact: TeamContact,
    household: Household,
    resident: Resident,
    kind: MatchKind,
) -> None:
    """Rules 3 and 4 for one matched row: what it adds, and where it disagrees with the ERP."""
    unit_code = household.unit.code
    result.matches.append(Match(contact.row, contact.source, unit_code, resident.relation_id, kind))
    if kind is MatchKind.UNIT_CODE and contact.has_address:
        key = address_key(contact.postcode, contact.number or 0, contact.letter, contact.addition)
        if key != _unit_address_key(household.unit.address):
            result.conflicts.append(
                Conflict(unit_code, resident.relation_id, "address", contact.row, contact.source)
            )
    merged, preference, conflicts = _merge_one(resident, unit_code, contact)
    result.conflicts.extend(conflicts)
    if merged != resident:
        result.residents[resident.relation_id] = merged
    if preference is not None:
        result.preferences[resident.relation_id] = preference


def _merge_one(
    resident: Resident, unit_code: str, contact: TeamContact
) -> tuple[Resident, ContactPreference | None, list[Conflict]]:
    """One resident with one row's additions: contact points, the preferred one, the language
    and practical needs; and the fields where the row disagrees with the ERP."""
    conflicts: list[Conflict] = []

    def conflict(field_name: str) -> None:
        conflicts.append(
            Conflict(unit_code, resident.relation_id, field_name, contact.row, contact.source)
        )

    contacts = _added_contact_points(resident, contact, conflict)
    _mark_preferred(resident, contacts, contact.preferred_channel, conflict)
    merged = replace(
        resident,
        contacts=tuple(contacts),
        language=_merged_language(resident, contact, conflict),
        needs=resident.needs | contact.needs,
    )
    preference = None
    if contact.preferred_channel is not None or contact.preferred_hours:
        preference = ContactPreference(
            resident.relation_id, unit_code, contact.preferred_channel, contact.preferred_hours
        )
    return merged, preference, conflicts


def _added_contact_points(
    resident: Resident, contact: TeamContact, conflict: Callable[[str], None]
) -> list[ContactPoint]:
    """The ERP's contact points plus the row's new ones; a kind the ERP fills otherwise is a
    conflict (the ERP's value stays)."""
    contacts = list(resident.contacts)
    # An ERP value that cannot be used (an e-mail address with a problem) is no value to keep:
    # the team's own address is added beside it.
    usable = resident.usable_contacts
    erp_phones = {phone_key(c.value) for c in usable if c.kind is not ContactKind.EMAIL}
    for kind, value in (
        (ContactKind.EMAIL, contact.email),
        (ContactKind.MOBILE, contact.mobile),
        (ContactKind.PHONE, contact.phone),
    ):
        if not value:
            continue
        erp_values = [c.value for c in usable if c.kind is kind]
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
    return contacts


def _mark_preferred(
    resident: Resident,
    contacts: list[ContactPoint],
    channel: PreferredChannel | None,
    conflict: Callable[[str], None],
) -> None:
    """Mark the best contact point of the row's channel preferred, unless the ERP prefers
    another kind (a conflict) or already prefers one of this channel."""
    channel_kinds = _CHANNEL_KINDS.get(channel, ()) if channel else ()
    if not channel_kinds:
        return
    erp_preferred = next((c for c in resident.usable_contacts if c.preferred), None)
    if erp_preferred is not None:
        if erp_preferred.kind not in channel_kinds:
            conflict("preferred_channel")
        return
    candidates = [
        (channel_kinds.index(point.kind), index)
        for index, point in enumerate(contacts)
        if point.kind in channel_kinds
    ]
    if candidates:
        _, index = min(candidates)
        contacts[index] = replace(contacts[index], preferred=True)


def _merged_language(
    resident: Resident, contact: TeamContact, conflict: Callable[[str], None]
) -> str:
    if not contact.language or contact.language == resident.language:
        return resident.language
    # "nl" is the register's default, so it does not count as a value the ERP has
    if resident.language and resident.language != "nl":
        conflict("language")
        return resident.language
    return contact.language
