"""The consent ledger's entry types (pure): append-only facts about answers, exclusions, notices.

Nothing in the ledger is ever updated or deleted. A wrong entry is voided by a ``Correction``
that points at it (a correction of a correction restores the original); an exclusion that ends is
closed by an ``ExclusionReversal`` from a date on. Every entry has an id, the moment it was
recorded (an aware datetime), who recorded it and optional evidence (a scan's file name and its
SHA-256 digest). Entries that happen in time carry the moment they took effect (``at``, aware);
their calendar day is the Europe/Amsterdam date of that moment, and several answers on one day
are ordered by time.

``content()`` is what makes two entries "the same": everything except id, recording moment and
recorder, so importing the same scanned forms twice adds nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from keukentafel.domain.model import AMSTERDAM

#: The objection period after the 70% notice (art. 7:220 lid 3 BW: 8 weeks): the last day is the
#: notice date + 56 days, inclusive.
OBJECTION_DAYS = 56
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SUFFIX = re.compile(r"[A-Za-z0-9]{1,8}")


def amsterdam() -> ZoneInfo:
    """Europe/Amsterdam (:data:`keukentafel.domain.model.AMSTERDAM`, the one definition)."""
    return AMSTERDAM


def local_day(moment: datetime) -> date:
    """The Europe/Amsterdam calendar date of an aware moment."""
    return moment.astimezone(amsterdam()).date()


def local_moment(day: date, at: time | None = None) -> datetime:
    """An aware moment from a local date and optional wall-clock time (midnight without one)."""
    return datetime.combine(day, at or time(0), tzinfo=amsterdam())


def objection_deadline(notice_date: date) -> date:
    """The last day a tenant who did not agree can ask the court: notice date + 56 days (8 weeks),
    inclusive. The one rule for this date: the notice letter prints it, the tally shows it per
    unit, and the ledger refuses an answer after it. The notice must state it correctly (Hof
    Amsterdam 19-01-2006, LJN AV8247), so it is computed from the notice date, never typed in."""
    return date.fromordinal(notice_date.toordinal() + OBJECTION_DAYS)


class Channel(StrEnum):
    PAPER = "paper"
    VISIT = "visit"
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"


class Choice(StrEnum):
    AGREE = "agree"
    DECLINE = "decline"


@dataclass(frozen=True, slots=True)
class Evidence:
    """A scan or file that proves the entry: its name and SHA-256 digest (lower-case hex)."""

    file_name: str
    sha256: str

    def __post_init__(self) -> None:
        if not self.file_name.strip():
            raise ValueError("file: must not be empty")
        if not _SHA256.fullmatch(self.sha256):
            raise ValueError("sha256: must be 64 lower-case hexadecimal characters")

    def without_name(self) -> Evidence:
        """The evidence as the ledger keeps it: the digest, and a file name that says nothing
        about the person (staff name scans after the resident, and the append-only ledger could
        not forget the name at the purge): ``scan`` with the original extension."""
        suffix = self.file_name.rsplit(".", 1)[1] if "." in self.file_name else ""
        name = f"scan.{suffix.lower()}" if _SUFFIX.fullmatch(suffix) else "scan"
        return Evidence(name, self.sha256)


def _aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{name}: must be an aware datetime (with a time zone)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """What every ledger entry has."""

    id: str
    recorded_at: datetime
    recorded_by: str
    evidence: Evidence | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("id: must not be empty")
        _aware("recorded_at", self.recorded_at)

    @property
    def recorded_day(self) -> date:
        return local_day(self.recorded_at)

    def content(self) -> tuple[object, ...]:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class TimedEntry(Entry):
    """An entry that takes effect at a moment: ``day`` is its local date (``ordinal`` its day
    number, for the replay), ``utc`` orders entries within a day."""

    at: datetime
    day: date = field(init=False, compare=False, repr=False)
    ordinal: int = field(init=False, compare=False, repr=False)
    utc: float = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        Entry.__post_init__(self)
        _aware("at", self.at)
        day = local_day(self.at)
        object.__setattr__(self, "day", day)
        object.__setattr__(self, "ordinal", day.toordinal())
        object.__setattr__(self, "utc", self.at.timestamp())


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer(TimedEntry):
    """One or more contract parties agree or decline, for a package or the whole proposal.

    ``parties`` empty means the household: every party whose role runs that day (filled in on
    admission). ``lease_id`` empty means the tenancy that runs on the unit that day (idem).
    ``package`` ``None`` is the whole proposal; in a per-package vote it answers every package.
    """

    unit_code: str
    choice: Choice
    channel: Channel
    parties: tuple[str, ...] = ()
    package: str | None = None
    lease_id: str = ""

    def content(self) -> tuple[object, ...]:
        return (
            "answer",
            self.unit_code,
            self.lease_id,
            tuple(sorted(self.parties)),
            self.choice,
            self.package,
            self.at,
            self.channel,
            self.evidence,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Withdrawal(TimedEntry):
    """Parties withdraw their agreement (for a package or all): it counts as not agreed."""

    unit_code: str
    channel: Channel
    parties: tuple[str, ...] = ()
    package: str | None = None
    lease_id: str = ""

    def content(self) -> tuple[object, ...]:
        return (
            "withdrawal",
            self.unit_code,
            self.lease_id,
            tuple(sorted(self.parties)),
            self.package,
            self.at,
            self.channel,
            self.evidence,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Exclusion(TimedEntry):
    """Staff take a unit out of the denominator from ``at`` on, with a reason and who decided."""

    unit_code: str
    reason: str
    decided_by: str

    def content(self) -> tuple[object, ...]:
        return ("exclusion", self.unit_code, self.reason, self.decided_by, self.at, self.evidence)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExclusionReversal(TimedEntry):
    """An exclusion ends from ``at`` on: the unit counts again (it was right until then)."""

    exclusion_id: str
    reason: str
    decided_by: str
    unit_code: str = ""  # filled in on admission from the exclusion

    def content(self) -> tuple[object, ...]:
        return ("reversal", self.exclusion_id, self.reason, self.decided_by, self.at)


@dataclass(frozen=True, slots=True, kw_only=True)
class Correction(Entry):
    """Voids the entry it points at, from the start: it was recorded wrongly.

    Record the right fact as a new entry next to it. Correcting a correction restores the
    entry the first one voided.
    """

    corrects: str
    reason: str

    def content(self) -> tuple[object, ...]:
        return ("correction", self.corrects, self.reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeSent(Entry):
    """The 70% notice went to a tenancy on a local date; the latest one sent counts."""

    unit_code: str
    sent_on: date
    channel: Channel
    lease_id: str = ""

    def content(self) -> tuple[object, ...]:
        return ("notice", self.unit_code, self.lease_id, self.sent_on, self.channel, self.evidence)


LedgerEntry = Answer | Withdrawal | Exclusion | ExclusionReversal | Correction | NoticeSent


class RefusalCode(StrEnum):
    UNKNOWN_UNIT = "unknown_unit"
    OWNERS_TRACK = "owners_track"
    VACANT = "vacant"
    UNKNOWN_LEASE = "unknown_lease"
    LEASE_NOT_RUNNING = "lease_not_running"
    PARTY_NOT_ON_LEASE = "party_not_on_lease"
    UNKNOWN_PACKAGE = "unknown_package"
    NOT_VOTED = "not_voted"
    WHOLE_PROPOSAL_ONLY = "whole_proposal_only"
    FUTURE_DATE = "future_date"
    DUPLICATE = "duplicate"
    DUPLICATE_ID = "duplicate_id"
    AFTER_DEADLINE = "after_deadline"
    NOTHING_TO_WITHDRAW = "nothing_to_withdraw"
    REASON_REQUIRED = "reason_required"
    DECIDED_BY_REQUIRED = "decided_by_required"
    ALREADY_EXCLUDED = "already_excluded"
    NOT_EXCLUDED = "not_excluded"
    UNKNOWN_ENTRY = "unknown_entry"
    ALREADY_CORRECTED = "already_corrected"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an entry was not taken (or, found later, is not counted): for the operator's report.

    The reason names unit codes, lease and party ids, never names of people.
    """

    entry_id: str
    code: RefusalCode
    reason: str
