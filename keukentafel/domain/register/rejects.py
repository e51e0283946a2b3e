"""Rows kept aside: the kinds of register entity, the reasons a row is not used, and map_rows.

A source maps its raw rows with a pure function per row; a row that cannot be used raises
:class:`RowRejected`, and :func:`map_rows` keeps it aside as a :class:`RejectedRow` with its reason
and an operator-readable detail (never personal data), so the rest of the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar


class EntityKind(StrEnum):
    UNIT = "unit"
    RESIDENT = "resident"
    LEASE = "lease"


class RejectReason(StrEnum):
    """Why a row was kept aside (or, for the :data:`FINDINGS`, what is wrong with a row that was
    used all the same). Each has an operator-readable explanation below."""

    MALFORMED = "malformed"
    MISSING_ID = "missing_id"
    MISSING_UNIT_CODE = "missing_unit_code"
    MISSING_ADDRESS = "missing_address"
    INVALID_POSTCODE = "invalid_postcode"
    INVALID_DATE = "invalid_date"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    DUPLICATE_UNIT_CODE = "duplicate_unit_code"
    NO_PARTIES = "no_parties"
    UNKNOWN_RELATION = "unknown_relation"
    FORMULA = "formula"  # a spreadsheet formula where a value belongs, with no value saved
    # A finding, not a row kept aside: the row was used without a value nobody could read.
    UNKNOWN_VALUE = "unknown_value"
    # Team-list findings: they belong to the team lists, not to the register sync, but the store
    # records every finding of a run as a RejectedRow (see keukentafel/usecases/team_contacts.py).
    CONFLICT = "conflict"  # a team list disagrees with the ERP: the ERP value stays
    UNMATCHED = "unmatched"  # a team list row fits no household in the register


REASON_TEXT: dict[RejectReason, str] = {
    RejectReason.MALFORMED: "the row is not in the expected shape",
    RejectReason.MISSING_ID: "the row has no identifier",
    RejectReason.MISSING_UNIT_CODE: "the unit has no unit code (VHE number)",
    RejectReason.MISSING_ADDRESS: "the unit has no usable street and house number",
    RejectReason.INVALID_POSTCODE: "the postcode is not a valid Dutch postcode",
    RejectReason.INVALID_DATE: "a date cannot be read",
    RejectReason.CONFLICTING_DUPLICATE: "the same identifier arrived twice with different contents",
    RejectReason.DUPLICATE_UNIT_CODE: "two different units carry the same unit code",
    RejectReason.NO_PARTIES: "the lease names no tenant",
    RejectReason.UNKNOWN_RELATION: "the lease names a relation the source did not deliver",
    RejectReason.FORMULA: "a cell holds a formula where a value belongs, and no value was saved",
    RejectReason.UNKNOWN_VALUE: "a value is not one Keukentafel knows; the row was used without it",
    RejectReason.CONFLICT: "the team list disagrees with the ERP; the ERP value is kept",
    RejectReason.UNMATCHED: "the team list row fits no household in the register",
}


#: Reasons that report a row which was used all the same: validation holds nothing for them.
FINDINGS: frozenset[RejectReason] = frozenset({RejectReason.UNKNOWN_VALUE})


class RowRejected(Exception):
    """Raised by a mapping function when one source row cannot be used.

    ``detail`` is English for the operator and must not contain personal data (no names, no
    e-mail addresses): say which field and what is wrong with it.
    """

    def __init__(self, reason: RejectReason, detail: str = "", *, unit_code: str = "") -> None:
        super().__init__(f"{reason.value}: {detail or REASON_TEXT[reason]}")
        self.reason = reason
        self.detail = detail or REASON_TEXT[reason]
        self.unit_code = unit_code


@dataclass(frozen=True, slots=True)
class RejectedRow:
    entity: EntityKind
    source_id: str  # the row's id in the source, "" when it has none
    unit_code: str  # "" when unknown
    reason: RejectReason
    detail: str
    raw: Any = field(default=None, compare=False)  # the row as received, kept for the operator


T = TypeVar("T")


def map_rows(
    entity: EntityKind,
    rows: Iterable[Any],
    mapper: Callable[[Any], T],
    id_of: Callable[[Any], str],
) -> tuple[list[T], list[RejectedRow]]:
    """Apply a pure mapping function to raw rows, keeping every failure aside with its reason."""
    mapped: list[T] = []
    rejected: list[RejectedRow] = []
    for row in rows:
        try:
            mapped.append(mapper(row))
        except RowRejected as exc:
            rejected.append(
                RejectedRow(
                    entity, _safe_id(id_of, row), exc.unit_code, exc.reason, exc.detail, row
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            rejected.append(
                RejectedRow(
                    entity,
                    _safe_id(id_of, row),
                    "",
                    RejectReason.MALFORMED,
                    f"{type(exc).__name__} while reading the row",
                    row,
                )
            )
    return mapped, rejected


def _safe_id(id_of: Callable[[Any], str], row: Any) -> str:
    try:
        return str(id_of(row) or "")
    except Exception:  # a malformed row may not even have an id
        return ""
