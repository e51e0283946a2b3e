"""The spreadsheet source's pure half: an ERP export's rows to the register's Snapshot.

Many corporations can only hand over their register as an export from their ERP (Tobias, Empire,
Viewpoint, XBIS). :mod:`connectors.erp.spreadsheet.read` turns the file into rows of text keyed by
our field names; ``snapshot_from_rows`` (here, no I/O) groups them by unit code and builds the same
domain ``Snapshot`` as the VERA connector, so the same sync use case runs on it.

The shape of an export: one row per resident per unit. A vacant unit is one row with no resident
columns filled; co-tenants are extra rows for the same unit. Unit columns may be repeated on every
row of a unit or filled on the first row only; empty cells never contradict filled ones.

Rows that cannot be used are kept aside as ``RejectedRow`` with a reason and a detail naming the
row number and the column (never a value from a resident column, never a name). A unit with any
unusable row, or whose rows disagree, is kept aside *as a whole*: its unit is left out of the
snapshot and a ``RejectedRow`` (entity UNIT, ``source_id`` = unit code) is recorded per problem,
so ``validate`` holds the stored unit; the leases that could still be read for it are emitted, so
``validate`` holds those too. Guessing which half of a broken unit is right could move a household
out; keeping the stored version cannot.

Words (tenure, role, channel, language) are read through :mod:`keukentafel.domain.vocabulary`,
which also states this source's policy for a word it does not know: an unknown tenure or role
keeps the unit aside; an unknown channel or language keeps the row, uses the default (no preferred
contact point; Dutch) and records a finding (``UNKNOWN_VALUE``, which holds nothing).

Text is cleaned as it is read (:func:`~keukentafel.domain.cleaning.clean_text`: no control or
bidirectional characters, line breaks become spaces). E-mail addresses are checked with
email-validator (:func:`connectors.email_addresses.check_email`): one that cannot be used stays on
its contact point with the reason, and the resident is used all the same. A unit without a
postcode is kept (its address is written without one and flagged for the post); an invalid
postcode keeps the unit aside. ``street_short`` (the official short street name, at most 24
characters) and the role's dates (``role_start``, ``role_end``) are read when mapped.

Identifiers: ``relation_id`` comes from its column, else it is derived from the unit code and the
name (a digest, so no name leaks into an id), so a re-import keeps the same ids; ``lease_id`` comes
from its column, else it is ``<unit code>/<start date>``. A lease whose end date is past is
ENDED; one whose end date is today or later is TERMINATED (notice given, still living there, as
VERA's OPG); 31-12-9999 means no end date. A party with the owner role makes it a PURCHASE.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from connectors.email_addresses import check_email
from keukentafel.domain.addressing import InvalidPostcode, normalise_postcode, split_house_number
from keukentafel.domain.cleaning import clean_text
from keukentafel.domain.model import (
    Address,
    AgreementKind,
    ContactKind,
    ContactPoint,
    Lease,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    PersonName,
    Resident,
    Tenure,
    Unit,
    amsterdam_date,
)
from keukentafel.domain.register.rejects import EntityKind, RejectedRow, RejectReason
from keukentafel.domain.register.snapshot import Snapshot
from keukentafel.domain.vocabulary import (
    CHANNEL_CONTACT_KIND,
    Privately,
    channel_word,
    language_code,
    role_word,
    tenure_word,
    word_key,
)

SOURCE = "spreadsheet"

#: Key of the row number (as text) in every row ``read_rows`` yields.
ROW_NUMBER = "_row"
#: Key present only when the reader found the row itself broken (e.g. more cells than headers).
ROW_ERROR = "_error"
#: Key present only when a mapped cell holds a formula without a saved value (the fields, comma
#: separated); ``ROW_ERROR`` then says which column. The row is kept aside for that reason.
ROW_FORMULA = "_formula"

_OPEN_END_YEAR = 9999
_RESIDENT_FIELDS = (
    "relation_id",
    "initials",
    "first_name",
    "tussenvoegsel",
    "surname",
    "organisation_name",
    "email",
    "mobile",
    "phone",
)
_NAME_FIELDS = ("initials", "first_name", "tussenvoegsel", "surname", "organisation_name")
_ADDRESS_FIELDS = ("street", "house_number", "town")  # a postcode may be missing, not wrong
_MAX_STREET_SHORT = 24  # BAG korteNaam, NEN 5825
_DEFAULT_LANGUAGE = "nl"


# --- small pure parsers --------------------------------------------------------------------------


def tenure_from_text(text: str, *, has_owner: bool, has_residents: bool) -> Tenure:
    """The unit's tenure from the export's free text and who the rows say lives there.

    Vocabulary (any case, '-' as a space): huur, sociale huur, vrije sector (a corporation's
    own free-sector home is still its rental: its tenants count in the 70%), verhuurd →
    corporation rental; particuliere huur → private rental; koop, eigenaar, verkocht → owner-
    occupied; leeg, leegstand → vacant. Plain "particulier" (privately owned) is owner-occupied
    when a row names an owner, else private rental. Empty text: an owner row → owner-occupied,
    resident rows → corporation rental, none → vacant. A corporation rental without residents is
    vacant. Raises ValueError for words it does not know.
    """
    kind: Tenure | Privately | None
    if not word_key(text):
        kind = Tenure.OWNER_OCCUPIED if has_owner else Tenure.CORPORATION_RENTAL
    else:
        kind = tenure_word(text)
        if kind is None:
            raise ValueError(f"unknown tenure {text.strip()[:30]!r}")
    if kind is Privately.OWNED:
        return Tenure.OWNER_OCCUPIED if has_owner else Tenure.PRIVATE_RENTAL
    if kind is Tenure.CORPORATION_RENTAL and not has_residents:
        return Tenure.VACANT
    return kind


def role_from_text(text: str) -> PartyRole | None:
    """huurder/HUU → tenant, medehuurder/MDH → co-tenant, eigenaar/koper → owner; '' → None.
    Raises ValueError for words it does not know."""
    if not word_key(text):
        return None
    role = role_word(text)
    if role is None:
        raise ValueError(f"unknown role {text.strip()[:30]!r}")
    return role


_EMAIL_SPLIT = re.compile(r"[;,]")
_PHONE_SPLIT = re.compile(r"[;,]")


def _phone(text: str) -> str:
    """A number as exported; nine bare digits lost their leading 0 in a numeric cell."""
    value = " ".join(text.split())
    if value.isdigit() and len(value) == 9:
        return "0" + value
    return value


def _parse_date(text: str, date_format: str) -> date | None:
    if not text:
        return None
    parsed = _date_cached(text, date_format)
    if parsed is None:
        raise ValueError("not a date")
    return parsed


@functools.lru_cache(maxsize=65536)
def _date_cached(text: str, date_format: str) -> date | None:
    """Exports repeat the same dates thousands of times; strptime is slow."""
    try:
        return datetime.strptime(text, date_format).date()
    except ValueError:
        pass
    try:  # XLSX date cells arrive as ISO; some exports add a time
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


@functools.lru_cache(maxsize=65536)
def _postcode(text: str) -> str:
    return normalise_postcode(text)


@functools.lru_cache(maxsize=65536)
def _split_cached(text: str) -> tuple[int, str, str]:
    return split_house_number(text)


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).hexdigest()


def derived_relation_id(unit_code: str, row: Mapping[str, str]) -> str:
    """A stable relation id for a row without one: unit code + name, as a digest.

    Only the parts of a name that rarely change in an export are used (tussenvoegsel, surname,
    the first initial, or the organisation name), so adding a first name later keeps the id.
    """
    initial = (row.get("initials", "") or row.get("first_name", "")).strip()[:1]
    parts = [row.get(f, "") for f in ("tussenvoegsel", "surname", "organisation_name")]
    key = [" ".join(p.split()).casefold() for p in (*parts, initial)]
    return "sheet-" + _digest(unit_code, *key)


def derived_lease_id(unit_code: str, start: date | None) -> str:
    """``<unit code>/<start date ISO>`` (``/-`` without a start date)."""
    return f"{unit_code}/{start.isoformat() if start else '-'}"


# --- the snapshot ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Problem:
    reason: RejectReason
    detail: str


class _Labels:
    """How a column is named in details: the export's header and our field name."""

    def __init__(self, columns: Mapping[str, str] | None) -> None:
        self._columns = dict(columns or {})

    def __call__(self, name: str) -> str:
        header = self._columns.get(name)
        return f"{header!r} ({name})" if header else name


@dataclass(slots=True)
class UnitResult:
    """What the rows of one unit became: the unit (None when it is kept aside), its residents
    and leases, and the rows kept aside or findings about it."""

    unit: Unit | None
    residents: list[Resident] = field(default_factory=list)
    leases: list[Lease] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)

    def add_to(self, snapshot: Snapshot) -> None:
        snapshot.rejected.extend(self.rejected)
        if self.unit is not None:
            snapshot.units.append(self.unit)
            snapshot.residents.extend(self.residents)
        # A unit kept aside still delivers the leases we could read: validate() holds them.
        snapshot.leases.extend(self.leases)


# Kept whole: two passes (group rows by unit code, then map each unit) that share the scope
# filter and the kept-aside rules; split, each half would need the other's state.
def snapshot_from_rows(
    rows: Iterable[Mapping[str, str]],
    complexes: list[str] | None,
    *,
    date_format: str,
    today: date | None = None,
    columns: Mapping[str, str] | None = None,
) -> Snapshot:
    """Map an export's rows (as ``read_rows`` yields them) to a Snapshot (source "spreadsheet").

    ``complexes``: when given and the rows have a ``complex_code`` field, units of other
    complexes are left out and counted in ``out_of_scope``. ``today`` decides whether an end date
    is in the past (ENDED) or still to come (TERMINATED); default: today in Amsterdam.
    ``columns`` (the config's mapping) only makes details name the export's headers.
    """
    today = today or amsterdam_date(datetime.now(UTC))
    label = _Labels(columns)
    snapshot = Snapshot(source=SOURCE)
    scope = set(complexes) if complexes is not None else None
    groups: dict[str, list[tuple[int, Mapping[str, str]]]] = {}
    filtering = False  # only when the export has a complex column at all
    for index, raw in enumerate(rows, start=1):
        number = _row_number(raw, index)
        filtering = filtering or (scope is not None and "complex_code" in raw)
        row = _clean(raw)
        code = row.get("unit_code", "")
        if not code:
            complex_code = _complex_of(row)
            if filtering and complex_code and complex_code not in (scope or ()):
                snapshot.add_out_of_scope(
                    EntityKind.RESIDENT if _has_resident(row) else EntityKind.UNIT
                )
                continue
            formula = ROW_FORMULA in row  # a formula where the unit code belongs
            snapshot.rejected.append(
                RejectedRow(
                    EntityKind.UNIT,
                    "",
                    "",
                    RejectReason.FORMULA if formula else RejectReason.MISSING_UNIT_CODE,
                    f"row {number}: "
                    + (row[ROW_ERROR] if formula else f"column {label('unit_code')} is empty"),
                    dict(raw),
                )
            )
            continue
        groups.setdefault(code, []).append((number, row))

    for code, unit_rows in groups.items():
        if (
            filtering
            and scope is not None
            and not any(_complex_of(r) in scope for _, r in unit_rows)
        ):
            snapshot.add_out_of_scope(EntityKind.UNIT)
            snapshot.add_out_of_scope(
                EntityKind.RESIDENT, sum(1 for _, r in unit_rows if _has_resident(r))
            )
            continue
        result = _map_unit(code, unit_rows, date_format=date_format, today=today, label=label)
        result.add_to(snapshot)
    return snapshot


def _row_number(row: Mapping[str, str], index: int) -> int:
    text = row.get(ROW_NUMBER, "")
    return int(text) if isinstance(text, str) and text.isdigit() else index


def _complex_of(row: Mapping[str, str]) -> str:
    return row.get("complex_code", "")


def _clean(row: Mapping[str, str]) -> dict[str, str]:
    """The row's filled cells with whitespace collapsed and control and bidirectional characters
    removed; a cell that is not text marks the row."""
    clean: dict[str, str] = {}
    for name, value in row.items():
        if isinstance(value, str):
            value = " ".join(value.split()) if value.isprintable() else clean_text(value)
            if value:
                clean[name] = value
        elif value is not None and ROW_ERROR not in clean:
            clean[ROW_ERROR] = f"column {name} holds a {type(value).__name__}, not text"
    if ROW_ERROR in row and isinstance(row[ROW_ERROR], str):
        clean[ROW_ERROR] = row[ROW_ERROR]
    return clean


def _text(row: Mapping[str, str], name: str) -> str:
    """A cell of a row that went through ``_clean``; "" when empty."""
    return row.get(name, "")


def _has_resident(row: Mapping[str, str]) -> bool:
    return any(name in row for name in _RESIDENT_FIELDS)


# --- one unit: collect the unit fields its rows agree on, then build it ----------------------------


@dataclass(slots=True)
class _UnitFields:
    """What a unit's rows say about the unit: the values its rows agree on, and its residents.

    ``seen`` holds, per field, the row number, value and comparison key of the first row that
    filled it; a later row with another key is a problem (unit columns may repeat on every row
    of a unit, but filled cells must agree).
    """

    code: str
    label: _Labels
    seen: dict[str, tuple[int, Any, Any]] = field(default_factory=dict)
    resident_rows: list[tuple[int, Mapping[str, str]]] = field(default_factory=list)
    roles: dict[int, PartyRole | None] = field(default_factory=dict)
    problems: list[_Problem] = field(default_factory=list)
    findings: list[RejectedRow] = field(default_factory=list)  # about the unit, used all the same

    def agree(self, number: int, name: str, value: Any, key: Any = None) -> None:
        if value in ("", None):
            return
        key = value if key is None else key
        first = self.seen.get(name)
        if first is None:
            self.seen[name] = (number, value, key)
        elif first[2] != key:
            self.problem(
                RejectReason.CONFLICTING_DUPLICATE,
                f"rows {first[0]} and {number} give unit {self.code} different values in "
                f"column {self.label(name)}",
            )

    def value(self, name: str, default: Any = "") -> Any:
        found = self.seen.get(name)
        return default if found is None else found[1]

    def problem(self, reason: RejectReason, detail: str) -> None:
        self.problems.append(_Problem(reason, detail))

    @property
    def has_owner(self) -> bool:
        return any(role is PartyRole.OWNER_OCCUPIER for role in self.roles.values())


def _collect_unit_fields(
    code: str, unit_rows: list[tuple[int, Mapping[str, str]]], label: _Labels
) -> _UnitFields:
    """Every row of the unit read for the unit's own columns and its residents' roles."""
    fields = _UnitFields(code, label)
    for number, row in unit_rows:
        try:
            if ROW_ERROR in row:
                reason = RejectReason.FORMULA if ROW_FORMULA in row else RejectReason.MALFORMED
                fields.problem(reason, f"row {number}: {row[ROW_ERROR]}")
                continue
            _collect_row(fields, number, row)
        except (TypeError, ValueError, AttributeError) as exc:
            fields.problem(RejectReason.MALFORMED, f"row {number}: {exc}")
    return fields


def _collect_row(fields: _UnitFields, number: int, row: Mapping[str, str]) -> None:
    label = fields.label
    fields.agree(number, "complex_code", _complex_of(row))
    for name in ("street", "town", "street_short"):
        value = _text(row, name)
        fields.agree(number, name, value, value.casefold())
    postcode = _text(row, "postcode")
    if postcode:
        try:
            fields.agree(number, "postcode", _postcode(postcode))
        except InvalidPostcode:
            fields.problem(
                RejectReason.INVALID_POSTCODE,
                f"row {number}, column {label('postcode')}: not a Dutch postcode",
            )
    number_text = _text(row, "house_number")
    if number_text:
        try:
            house, letter, addition = _split_cached(number_text)
        except ValueError:
            fields.problem(
                RejectReason.MISSING_ADDRESS,
                f"row {number}, column {label('house_number')}: does not start with a house number",
            )
        else:
            letter = _text(row, "house_letter").upper() or letter
            addition = _text(row, "house_number_addition").lstrip("-/ ") or addition
            key = (house, letter, addition.casefold())
            fields.agree(number, "house_number", (house, letter, addition), key)
    tenure_text = _text(row, "tenure")
    fields.agree(number, "tenure", tenure_text, tenure_word(tenure_text) or word_key(tenure_text))
    if _has_resident(row):
        fields.resident_rows.append((number, row))
        try:
            fields.roles[number] = role_from_text(_text(row, "role"))
        except ValueError as exc:
            fields.problem(RejectReason.MALFORMED, f"row {number}, column {label('role')}: {exc}")


def _unit_tenure(fields: _UnitFields) -> Tenure:
    try:
        return tenure_from_text(
            fields.value("tenure"),
            has_owner=fields.has_owner,
            has_residents=bool(fields.resident_rows),
        )
    except ValueError as exc:
        first_row = fields.seen["tenure"][0]
        fields.problem(
            RejectReason.MALFORMED, f"row {first_row}, column {fields.label('tenure')}: {exc}"
        )
        return Tenure.VACANT


def _build_unit(fields: _UnitFields, tenure: Tenure, first_row: int) -> Unit | None:
    """The unit, when its rows had no problem and give a whole address."""
    if fields.problems:
        return None
    missing = [name for name in _ADDRESS_FIELDS if name not in fields.seen]
    if missing:
        columns = ", ".join(fields.label(name) for name in missing)
        fields.problem(
            RejectReason.MISSING_ADDRESS,
            f"row {first_row}: unit {fields.code} has no value in column(s) {columns}",
        )
        return None
    number, letter, addition = fields.value("house_number")
    return Unit(
        code=fields.code,
        vera_id=fields.code,
        complex_code=fields.value("complex_code"),
        address=Address(
            street=fields.value("street"),
            number=number,
            postcode=fields.value("postcode"),  # "" when no row gives one: kept, flagged
            town=fields.value("town"),
            letter=letter,
            addition=addition,
            street_short=_street_short(fields),
        ),
        tenure=tenure,
    )


def _street_short(fields: _UnitFields) -> str:
    """The official short street name, when given and no longer than BAG allows; a longer one
    is not the official one: it is left out with a finding (the unit is used all the same)."""
    value: str = fields.value("street_short")
    if len(value) <= _MAX_STREET_SHORT:
        return value
    fields.findings.append(
        RejectedRow(
            EntityKind.UNIT,
            fields.code,
            fields.code,
            RejectReason.UNKNOWN_VALUE,
            f"row {fields.seen['street_short'][0]}, column {fields.label('street_short')}: "
            f"longer than {_MAX_STREET_SHORT} characters, so not the official short street name; "
            "the unit is stored without it",
        )
    )
    return ""


def _map_unit(
    code: str,
    unit_rows: list[tuple[int, Mapping[str, str]]],
    *,
    date_format: str,
    today: date,
    label: _Labels,
) -> UnitResult:
    fields = _collect_unit_fields(code, unit_rows, label)
    tenure = _unit_tenure(fields)
    household = _Household(code, fields.problems, label, date_format)
    for number, row in fields.resident_rows:
        household.add(number, row, fields.roles.get(number))
    leases = household.leases(owner_occupied=tenure is Tenure.OWNER_OCCUPIED, today=today)
    unit = _build_unit(fields, tenure, unit_rows[0][0])
    if unit is None:
        raw = [dict(row) for _, row in unit_rows]
        rejected = [
            RejectedRow(EntityKind.UNIT, code, code, p.reason, p.detail, raw)
            for p in fields.problems
        ]
        return UnitResult(None, [], leases, rejected)
    findings = fields.findings + household.findings
    return UnitResult(unit, list(household.residents.values()), leases, findings)


# --- one unit: its household -----------------------------------------------------------------------


@dataclass(slots=True)
class _LeaseDraft:
    lease_id: str
    start: date | None
    end: date | None
    first_row: int
    # relation id, role (None: from the row's position), the role's first and last day
    parties: list[tuple[str, PartyRole | None, date | None, date | None]] = field(
        default_factory=list
    )


@dataclass(slots=True)
class _Household:
    """The residents and leases of one unit, built row by row; problems go to the unit's list.

    ``findings`` are notes about rows that were used all the same (an unknown language): they
    are recorded only when the unit is delivered.
    """

    code: str
    problems: list[_Problem]
    label: _Labels
    date_format: str
    residents: dict[str, Resident] = field(default_factory=dict)
    drafts: dict[str, _LeaseDraft] = field(default_factory=dict)
    findings: list[RejectedRow] = field(default_factory=list)

    def add(self, number: int, row: Mapping[str, str], role: PartyRole | None) -> None:
        dates = self._dates(number, row, ("lease_start", "lease_end", "role_start", "role_end"))
        if dates is None:
            return
        resident = self._resident(number, row)
        if resident is None:
            return
        if self.residents.get(resident.relation_id, resident) != resident:
            self._problem(
                RejectReason.CONFLICTING_DUPLICATE,
                f"row {number}: relation {resident.relation_id} appears twice in unit "
                f"{self.code} with different details",
            )
            return
        self.residents[resident.relation_id] = resident
        start, end, role_start, role_end = dates
        lease_id = _text(row, "lease_id") or derived_lease_id(self.code, start)
        draft = self.drafts.get(lease_id)
        if draft is None:
            draft = self.drafts[lease_id] = _LeaseDraft(lease_id, start, end, number)
        else:
            for name, value, stored in (
                ("lease_start", start, draft.start),
                ("lease_end", end, draft.end),
            ):
                if value != stored:
                    self._problem(
                        RejectReason.CONFLICTING_DUPLICATE,
                        f"rows {draft.first_row} and {number} give lease {lease_id} different "
                        f"values in column {self.label(name)}",
                    )
        if all(party[0] != resident.relation_id for party in draft.parties):
            draft.parties.append((resident.relation_id, role, role_start, role_end))

    def leases(self, *, owner_occupied: bool, today: date) -> list[Lease]:
        return [
            _lease(self.code, draft, owner_occupied=owner_occupied, today=today)
            for draft in self.drafts.values()
        ]

    def _problem(self, reason: RejectReason, detail: str) -> None:
        self.problems.append(_Problem(reason, detail))

    def _dates(
        self, number: int, row: Mapping[str, str], names: tuple[str, ...]
    ) -> list[date | None] | None:
        """The dates of the named columns (an end of 31-12-9999, how many ERPs write "no end
        date", is None), or None (with a problem) when one cannot be read."""
        dates: list[date | None] = []
        for name in names:
            try:
                found = _parse_date(_text(row, name), self.date_format)
            except ValueError:
                self._problem(
                    RejectReason.INVALID_DATE,
                    f"row {number}, column {self.label(name)}: not a date "
                    f"(expected {self.date_format} or YYYY-MM-DD)",
                )
                continue
            if found is not None and name.endswith("_end") and found.year >= _OPEN_END_YEAR:
                found = None
            dates.append(found)
        return dates if len(dates) == len(names) else None

    def _resident(self, number: int, row: Mapping[str, str]) -> Resident | None:
        names = {name: row.get(name, "") for name in _NAME_FIELDS}
        relation_id = _text(row, "relation_id")
        if not relation_id and not any(names.values()):
            self._problem(
                RejectReason.MALFORMED,
                f"row {number}: contact details without a name or column "
                f"{self.label('relation_id')}",
            )
            return None
        relation_id = relation_id or derived_relation_id(self.code, names)
        person = any(names[n] for n in ("initials", "first_name", "tussenvoegsel", "surname"))
        name: PersonName | None = None
        if person or not names["organisation_name"]:
            name = PersonName(
                surname=names["surname"],
                initials=names["initials"],
                first_name=names["first_name"],
                tussenvoegsel=names["tussenvoegsel"].lower(),
            )
        return Resident(
            relation_id=relation_id,
            name=name,
            organisation_name=names["organisation_name"],
            contacts=_contacts(row, self._preferred(number, relation_id, row)),
            language=self._language(number, relation_id, row),
        )

    def _preferred(
        self, number: int, relation_id: str, row: Mapping[str, str]
    ) -> ContactKind | None:
        text = _text(row, "preferred_channel")
        if not text:
            return None
        channel = channel_word(text)
        if channel is None:
            self._finding(
                number,
                relation_id,
                "preferred_channel",
                "not a known channel; no contact point is marked preferred",
            )
            return None
        return CHANNEL_CONTACT_KIND.get(channel)  # a letter or a visit: no contact point

    def _language(self, number: int, relation_id: str, row: Mapping[str, str]) -> str:
        text = _text(row, "language")
        if not text:
            return _DEFAULT_LANGUAGE
        code = language_code(text)
        if code is None:
            self._finding(
                number,
                relation_id,
                "language",
                f"not a known language; the resident is stored with {_DEFAULT_LANGUAGE}",
            )
            return _DEFAULT_LANGUAGE
        return code

    def _finding(self, number: int, relation_id: str, column: str, what: str) -> None:
        self.findings.append(
            RejectedRow(
                EntityKind.RESIDENT,
                relation_id,
                self.code,
                RejectReason.UNKNOWN_VALUE,
                f"row {number}, column {self.label(column)}: {what}",
            )
        )


def _contacts(row: Mapping[str, str], preferred: ContactKind | None) -> tuple[ContactPoint, ...]:
    """E-mail addresses, mobile and phone numbers of a row (several per cell allowed); the first
    usable one of the preferred kind is marked preferred. An e-mail address that cannot be used
    is kept with its problem."""
    contacts: list[ContactPoint] = []
    for kind, name_of_field in (
        (ContactKind.EMAIL, "email"),
        (ContactKind.MOBILE, "mobile"),
        (ContactKind.PHONE, "phone"),
    ):
        text = _text(row, name_of_field)
        values = _emails(text) if kind is ContactKind.EMAIL else _PHONE_SPLIT.split(text)
        for value in values if text else ():
            problem = ""
            if kind is ContactKind.EMAIL:
                value = value.strip()
                if value:
                    value, problem = check_email(value)
            else:
                value = _phone(value)
            if not value:
                continue
            is_preferred = (
                kind is preferred
                and not problem
                and not any(c.kind is kind and c.usable for c in contacts)
            )
            contacts.append(ContactPoint(kind, value, is_preferred, problem))
    return tuple(contacts)


def _emails(text: str) -> list[str]:
    """The addresses in an e-mail cell: separated by ``;`` or ``,``, or by spaces when every part
    holds an ``@`` ("a@x.nl b@y.nl"). A cell such as "{{ user }}@x.nl" stays whole (and is then
    kept aside on its contact point), so no fragment of it passes for an address."""
    values: list[str] = []
    for part in _EMAIL_SPLIT.split(text):
        words = part.split()
        values += words if len(words) > 1 and all("@" in w for w in words) else [part]
    return values


def _lease(code: str, draft: _LeaseDraft, *, owner_occupied: bool, today: date) -> Lease:
    parties: list[LeaseParty] = []
    for position, (relation_id, role, role_start, role_end) in enumerate(draft.parties):
        if role is None:
            if owner_occupied:
                role = PartyRole.OWNER_OCCUPIER
            else:
                role = PartyRole.TENANT if position == 0 else PartyRole.CO_TENANT
        parties.append(LeaseParty(relation_id, role, role_start, role_end))
    purchase = any(p.role is PartyRole.OWNER_OCCUPIER for p in parties)
    if draft.end is None:
        status = LeaseStatus.RUNNING
    elif draft.end < today:
        status = LeaseStatus.ENDED
    else:
        status = LeaseStatus.TERMINATED  # notice given, the end date still to come
    return Lease(
        lease_id=draft.lease_id,
        unit_code=code,
        kind=AgreementKind.PURCHASE if purchase else AgreementKind.RENTAL,
        status=status,
        start_date=draft.start,
        end_date=draft.end,
        parties=tuple(parties),
    )
