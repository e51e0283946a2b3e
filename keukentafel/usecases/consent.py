"""Use case: the consent track of a project on the live register (art. 7:220 BW, docs/consent.md).

The scope (units with tenure, rental leases with their parties and role dates) comes from the
stored register; the answers from the append-only ledger in the store. Everything is decided by
the pure domain (keukentafel.domain.consent): admission, the tally on any date, who gets the 70%
notice and who a reminder. Nothing is typed twice: the notice and the reminders take their units
from the tally and hand them to the mailing use case (``usecases.mailing.prepare_mailing``),
and every notice sent is stored in the ledger with its date (its last day follows from it).

Fast enough for a web page: ``ConsentBooks`` keeps each project's ledger loaded between calls
(one per App). A call reads two numbers from the store (the last register sync and the last
ledger entry): when neither moved, the kept ledger answers; new entries (another process's) are
appended to it; a new register sync loads the scope again. Writers lock the project's ledger row
first, catch up with what others stored, admit, append and commit in one transaction; a failed
transaction drops the kept ledger, so memory never holds what the store does not.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.audit import AuditEvent, AuditKind, actor_of
from keukentafel.domain.consent import (
    WHOLE,
    Answer,
    BallotTally,
    Channel,
    Choice,
    ConsentProfile,
    ConsentUnit,
    Correction,
    Evidence,
    Exclusion,
    ExclusionReversal,
    Ledger,
    LedgerEntry,
    MailingNotAllowed,
    NoticeSent,
    Package,
    PartyAnswers,
    ProjectScope,
    ProjectTally,
    Refusal,
    ScopeError,
    Tenancy,
    UnitStatus,
    Withdrawal,
    evaluation_dict,
    local_day,
    notice_recipients,
    reminder_recipients,
    tenancy_from_lease,
)
from keukentafel.domain.consent.entries import amsterdam
from keukentafel.domain.consent.report import ConsentReport, person_name
from keukentafel.domain.mailing import MailingPlan
from keukentafel.domain.messages import Event, MessageKind
from keukentafel.domain.model import LeaseStatus, PartyRole, Project, Tenure
from keukentafel.domain.runs import RunKind, RunOutcome
from keukentafel.store.repositories import (
    ConsentRepository,
    RegisterRepository,
    SyncRunRepository,
)
from keukentafel.store.repositories.audit import AuditLog
from keukentafel.usecases.mailing import MailingResult, MailingWriter, mailing_key, prepare_mailing

__all__ = [
    "ANSWER_WORDS",
    "WHOLE",
    "AnswerInput",
    "ConsentAudit",
    "ConsentBooks",
    "ConsentProject",
    "CorrectionInput",
    "EntryInput",
    "ExclusionInput",
    "HouseholdStatus",
    "RecordReport",
    "ReversalInput",
    "UnitNotInProject",
    "consent_report",
    "consent_tally",
    "evaluate_project",
    "household_status",
    "record",
    "send_notice",
    "send_reminder",
    "today",
]

#: The words an answer is given with (``withdraw`` withdraws an agreement).
ANSWER_WORDS = ("agree", "decline", "withdraw")


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    """The store's clocks give naive UTC; the ledger wants aware moments."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


class UnitNotInProject(LookupError):
    """The unit asked for is not one of the project's units in the register."""


@dataclass(frozen=True, slots=True)
class ConsentProject:
    """A project with its consent profile (``projects[].consent`` in the corporation file)."""

    project: Project
    profile: ConsentProfile

    @property
    def key(self) -> tuple[str, str]:
        return (self.project.corporation_code, self.project.code)


# --- what staff (or a resident's web page) record ----------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerInput:
    """An answer (``agree``, ``decline``) or a withdrawal (``withdraw``) of an agreement.

    ``parties`` empty is the household: every party whose role runs that day. ``package`` None
    is the whole proposal. ``at`` is when it was given (a naive moment is Amsterdam time)."""

    unit_code: str
    answer: str
    at: datetime
    channel: Channel
    parties: tuple[str, ...] = ()
    package: str | None = None
    evidence: Evidence | None = None

    def __post_init__(self) -> None:
        if self.answer not in ANSWER_WORDS:
            raise ValueError(
                f"answer: must be one of {' | '.join(ANSWER_WORDS)}, got {self.answer!r}"
            )

    def entry(self, entry_id: str, recorded_at: datetime, recorded_by: str) -> LedgerEntry:
        common = _common(entry_id, recorded_at, recorded_by, self.evidence)
        fields: dict[str, Any] = {
            "at": _local(self.at),
            "unit_code": self.unit_code,
            "channel": self.channel,
            "parties": self.parties,
            "package": self.package,
        }
        if self.answer == "withdraw":
            return Withdrawal(**common, **fields)
        return Answer(**common, **fields, choice=Choice(self.answer))


@dataclass(frozen=True, slots=True, kw_only=True)
class ExclusionInput:
    """Take a unit out of the denominator from ``at`` on, with the reason and who decided."""

    unit_code: str
    at: datetime
    reason: str
    decided_by: str
    evidence: Evidence | None = None

    def entry(self, entry_id: str, recorded_at: datetime, recorded_by: str) -> LedgerEntry:
        return Exclusion(
            **_common(entry_id, recorded_at, recorded_by, self.evidence),
            at=_local(self.at),
            unit_code=self.unit_code,
            reason=self.reason,
            decided_by=self.decided_by,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReversalInput:
    """End an exclusion from ``at`` on: the unit counts again."""

    exclusion_id: str
    at: datetime
    reason: str
    decided_by: str

    def entry(self, entry_id: str, recorded_at: datetime, recorded_by: str) -> LedgerEntry:
        return ExclusionReversal(
            **_common(entry_id, recorded_at, recorded_by, None),
            at=_local(self.at),
            exclusion_id=self.exclusion_id,
            reason=self.reason,
            decided_by=self.decided_by,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectionInput:
    """Void an entry that was recorded wrongly (record the right one next to it)."""

    corrects: str
    reason: str

    def entry(self, entry_id: str, recorded_at: datetime, recorded_by: str) -> LedgerEntry:
        return Correction(
            **_common(entry_id, recorded_at, recorded_by, None),
            corrects=self.corrects,
            reason=self.reason,
        )


EntryInput = AnswerInput | ExclusionInput | ReversalInput | CorrectionInput
_PREFIX = {AnswerInput: "A", ExclusionInput: "X", ReversalInput: "R", CorrectionInput: "C"}


def _common(
    entry_id: str, recorded_at: datetime, recorded_by: str, evidence: Evidence | None
) -> dict[str, Any]:
    return {
        "id": entry_id,
        "recorded_at": recorded_at,
        "recorded_by": recorded_by,
        # the digest proves which document; the ledger never keeps its (personal) file name
        "evidence": evidence.without_name() if evidence else None,
    }


def _local(moment: datetime) -> datetime:
    return moment.replace(tzinfo=amsterdam()) if moment.tzinfo is None else moment


def new_entry_id(item: EntryInput) -> str:
    """A fresh entry id: the kind's letter and 12 random hex digits (``A-3f9c01d2e4b7``)."""
    return f"{_PREFIX[type(item)]}-{secrets.token_hex(6)}"


@dataclass(frozen=True, slots=True)
class RecordReport:
    """Per input, in order: the entry as stored, or why it was refused (nothing stored)."""

    outcomes: tuple[LedgerEntry | Refusal, ...]

    @property
    def admitted(self) -> tuple[LedgerEntry, ...]:
        return tuple(o for o in self.outcomes if not isinstance(o, Refusal))

    @property
    def refused(self) -> tuple[Refusal, ...]:
        return tuple(o for o in self.outcomes if isinstance(o, Refusal))


# --- the kept ledgers --------------------------------------------------------------------------


@dataclass(slots=True)
class _Book:
    lock: threading.RLock = field(default_factory=threading.RLock)
    ledger: Ledger | None = None
    register_version: int | None = None
    seq: int = 0  # the last stored entry the ledger holds
    problems: tuple[str, ...] = ()  # register leases the scope could not take, and why


class ConsentBooks:
    """Each project's ledger, loaded once and kept up to date with the store (one per App)."""

    def __init__(self) -> None:
        self._books: dict[tuple[str, str], _Book] = {}
        self._lock = threading.Lock()

    def book(self, target: ConsentProject) -> _Book:
        with self._lock:
            return self._books.setdefault(target.key, _Book())

    def forget(self, target: ConsentProject) -> None:
        """Drop a project's kept ledger (after a failed write): the next call loads it again."""
        with self._lock:
            self._books.pop(target.key, None)


def load_scope(session: Session, target: ConsentProject) -> tuple[ProjectScope, tuple[str, ...]]:
    """The project's consent scope from the register: its complexes' units with their tenure
    and their rental leases (with role dates where the register has them), and the leases it
    could not take with the reason (unit codes and lease ids only). A unit lived in by its owner
    (a party with the owner-occupier role, as the mailing sees it) is the owners' track whatever
    tenure the unit itself has."""
    project = target.project
    register = RegisterRepository(session, project.corporation_code)
    complexes = set(project.complex_codes)
    units = sorted(
        (u for u in register.units().values() if u.complex_code in complexes),
        key=lambda u: u.code,
    )
    codes = {u.code for u in units}
    tenancies: list[Tenancy] = []
    problems: list[str] = []
    owned: set[str] = set()
    for lease in sorted(register.leases().values(), key=lambda lease: lease.lease_id):
        if lease.unit_code not in codes:
            continue
        if lease.status is not LeaseStatus.ENDED and any(
            p.role is PartyRole.OWNER_OCCUPIER for p in lease.parties
        ):
            owned.add(lease.unit_code)
        try:
            tenancy = tenancy_from_lease(lease)
        except ScopeError as error:
            problems.append(f"lease {lease.lease_id} of unit {lease.unit_code}: {error}")
            continue
        if tenancy is not None:
            tenancies.append(tenancy)
    scope = ProjectScope(
        project.code,
        project.kind,
        target.profile,
        tuple(
            ConsentUnit(u.code, Tenure.OWNER_OCCUPIED if u.code in owned else u.tenure)
            for u in units
        ),
        tuple(tenancies),
    )
    for first, second in scope.overlaps():
        problems.append(f"leases {first} and {second} of one unit overlap; {second} counts")
    return scope, tuple(problems)


def _register_version(session: Session, corporation_code: str) -> int | None:
    """The last successful register sync: a new one may change the scope."""
    run = SyncRunRepository(session, corporation_code).latest(
        kind=RunKind.REGISTER_SYNC, outcome=RunOutcome.SUCCEEDED
    )
    return run.id if run is not None else None


def _fresh(session: Session, target: ConsentProject, book: _Book) -> Ledger:
    """The book's ledger brought up to the store (the caller holds ``book.lock``)."""
    ledgers = ConsentRepository(session, target.project.corporation_code)
    version = _register_version(session, target.project.corporation_code)
    if book.ledger is None or book.register_version != version:
        scope, book.problems = load_scope(session, target)
        entries, book.seq = ledgers.entries(target.project.code)
        book.ledger, book.register_version = Ledger(scope, entries), version
    elif ledgers.last_seq(target.project.code) > book.seq:
        entries, book.seq = ledgers.entries(target.project.code, after=book.seq)
        book.ledger.extend(entries)
    return book.ledger


def _tally(
    sessions: sessionmaker[Session], target: ConsentProject, as_of: date, books: ConsentBooks
) -> ProjectTally:
    book = books.book(target)
    with book.lock, sessions() as session:
        return _fresh(session, target, book).tally(as_of)


# --- reading -------------------------------------------------------------------------------


def consent_tally(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    as_of: date,
    *,
    books: ConsentBooks | None = None,
) -> ProjectTally:
    """The project's tally at the end of the local day ``as_of``, per ballot and per unit."""
    return _tally(sessions, target, as_of, books or ConsentBooks())


def scope_problems(
    sessions: sessionmaker[Session], target: ConsentProject, *, books: ConsentBooks | None = None
) -> tuple[str, ...]:
    """Register leases the consent scope could not take, with why (lease ids, unit codes)."""
    books = books or ConsentBooks()
    book = books.book(target)
    with book.lock, sessions() as session:
        _fresh(session, target, book)
        return book.problems


@dataclass(frozen=True, slots=True)
class HouseholdStatus:
    """One household's consent on a day, for its page (party ids, never names).

    ``statuses`` per ballot (``whole`` or a renovation package code, titles in ``packages``);
    ``status`` the same for all, else None (mixed). ``notice_date``/``last_day``: the latest 70%
    notice sent to this tenancy and the last day to go to court (8 weeks, inclusive).
    ``may_answer``: a running tenancy whose last day (if any) has not passed."""

    project_code: str
    unit_code: str
    as_of: date
    tenure: Tenure
    lease_id: str | None
    status: UnitStatus | None
    statuses: Mapping[str, UnitStatus]
    parties: tuple[PartyAnswers, ...]
    packages: tuple[Package, ...]
    excluded_since: date | None
    notice_date: date | None
    last_day: date | None
    presumption_applies: Mapping[str, bool]
    may_answer: bool


def household_status(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    unit_code: str,
    as_of: date,
    *,
    books: ConsentBooks | None = None,
) -> HouseholdStatus:
    """The household of ``unit_code`` on ``as_of``; UnitNotInProject for another unit."""
    tally = _tally(sessions, target, as_of, books or ConsentBooks())
    try:
        line = tally.unit(unit_code)
    except KeyError:
        raise UnitNotInProject(
            f"unit {unit_code} is not in project {target.project.code}'s register"
        ) from None
    return HouseholdStatus(
        project_code=target.project.code,
        unit_code=unit_code,
        as_of=as_of,
        tenure=line.tenure,
        lease_id=line.lease_id,
        status=line.status,
        statuses=line.statuses,
        parties=line.parties,
        packages=target.profile.renovation_packages,
        excluded_since=line.exclusion.day if line.exclusion else None,
        notice_date=line.notice_date,
        last_day=line.last_day,
        presumption_applies={b.ballot: b.presumption_applies for b in tally.ballots},
        may_answer=line.lease_id is not None and (line.last_day is None or as_of <= line.last_day),
    )


def evaluate_project(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    as_of: date,
    *,
    books: ConsentBooks | None = None,
    people: bool = True,
) -> dict[str, object]:
    """The project as the what-if evaluator prints a case file (``consent evaluate``): the same
    JSON for the same data. Refusals are those found on evaluation (the register changed); the
    admission refusals were reported when the entries were recorded."""
    return evaluation_dict(_tally(sessions, target, as_of, books or ConsentBooks()), people=people)


# --- recording ---------------------------------------------------------------------------------


def record(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    inputs: Sequence[EntryInput],
    *,
    recorded_by: str,
    clock: Callable[[], datetime] = _utcnow,
    books: ConsentBooks | None = None,
    actor: str | None = None,
    via: str = "record",
) -> RecordReport:
    """Admit and store answers, withdrawals, exclusions, reversals and corrections, in one
    transaction with their audit events (``actor``: who, as the audit log names them; default
    from ``recorded_by``; ``via``: the way in, e.g. ``cli``, ``import``, ``web``); a refused one
    is returned with its reason and stores nothing. A later input sees the earlier ones (a
    duplicate within one batch is refused)."""
    if not recorded_by.strip():
        raise ValueError("recorded_by: say who records this")
    now = _aware(clock())
    drafts = [item.entry(new_entry_id(item), now, recorded_by) for item in inputs]
    audit = ConsentAudit(actor or actor_of(recorded_by), via)
    return append_entries(
        sessions, target, drafts, now=now, books=books or ConsentBooks(), audit=audit
    )


def append_entries(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    drafts: Sequence[LedgerEntry],
    *,
    now: datetime,
    books: ConsentBooks,
    audit: ConsentAudit | None = None,
) -> RecordReport:
    """Admit complete entries (ids and recording moment given) and append the admitted ones,
    each with its audit event (default actor: the entry's ``recorded_by``)."""
    book = books.book(target)
    with book.lock:
        try:
            with sessions.begin() as session:
                return RecordReport(_admit_locked(session, target, book, drafts, now, audit))
        except BaseException:
            books.forget(target)
            raise


def _admit_locked(
    session: Session,
    target: ConsentProject,
    book: _Book,
    drafts: Sequence[LedgerEntry],
    now: datetime,
    audit: ConsentAudit | None = None,
) -> tuple[LedgerEntry | Refusal, ...]:
    """Lock the ledger row, catch up, admit, append and audit: inside the caller's
    transaction."""
    ledgers = ConsentRepository(session, target.project.corporation_code)
    ledgers.lock(target.project.code, _naive(now))
    ledger = _fresh(session, target, book)
    outcomes = tuple(ledger.admit(draft) for draft in drafts)
    admitted = [o for o in outcomes if not isinstance(o, Refusal)]
    if admitted:
        ledgers.append(target.project.code, admitted, _naive(now))
        book.seq = ledgers.last_seq(target.project.code)  # ours are in the ledger already
        _record_audit(session, target, ledger, admitted, audit, now)
    return outcomes


# --- the audit log: every change of consent, in the transaction of its ledger entry -------------


@dataclass(frozen=True, slots=True)
class ConsentAudit:
    """Who records entries as the audit log names them (an identifier, never a name) and the
    way they came in (``cli``, ``import``, ``web``, ``notice``, ``record``)."""

    actor: str
    via: str = "record"


_ENTRY_KINDS: dict[type, str] = {
    Answer: "answer",
    Withdrawal: "withdrawal",
    Exclusion: "exclusion",
    ExclusionReversal: "exclusion_reversal",
    Correction: "correction",
    NoticeSent: "notice",
}


def _unit_of(entry: LedgerEntry, ledger: Ledger) -> str:
    """The unit an entry is about; a correction's is that of the entry it corrects."""
    if isinstance(entry, Correction):
        corrected = ledger.entry(entry.corrects)
        return "" if corrected is None else _unit_of(corrected, ledger)
    return str(getattr(entry, "unit_code", ""))


def consent_audit_event(
    target: ConsentProject,
    entry: LedgerEntry,
    ledger: Ledger,
    audit: ConsentAudit | None,
    now: datetime,
) -> AuditEvent:
    """The audit event of one ledger entry: unit code, kind, channel, package and answer;
    counts and identifiers only (no party ids, no reasons, no names)."""
    detail: dict[str, str | int] = {
        "project": target.project.code,
        "entry_kind": _ENTRY_KINDS[type(entry)],
        "via": audit.via if audit else "record",
    }
    for name in ("channel", "package", "choice"):
        value = getattr(entry, name, None)
        if value is not None:
            detail[name] = str(value.value if hasattr(value, "value") else value)
    if hasattr(entry, "parties"):
        detail["parties"] = len(entry.parties)
    return AuditEvent(
        AuditKind.CONSENT_CHANGED,
        target.project.corporation_code,
        audit.actor if audit else actor_of(entry.recorded_by),
        at=now,
        unit_code=_unit_of(entry, ledger),
        subject=f"entry:{entry.id}",
        detail=detail,
    )


def _record_audit(
    session: Session,
    target: ConsentProject,
    ledger: Ledger,
    admitted: Sequence[LedgerEntry],
    audit: ConsentAudit | None,
    now: datetime,
) -> None:
    AuditLog(session).record_all(
        consent_audit_event(target, entry, ledger, audit, now) for entry in admitted
    )


# --- the 70% notice and the reminders ------------------------------------------------------------


def share_text(ballot: BallotTally) -> str:
    """The share that agreed as a letter says it: whole percent, rounded down (never more than
    it is: 69.99% is not "70%")."""
    if not ballot.denominator:
        return "0%"
    return f"{ballot.agreed * 100 // ballot.denominator}%"


def notice_entry_id(key: str, unit_code: str) -> str:
    """The id of the notice a mailing sent to a unit: the same when the mailing runs again."""
    return "N-" + hashlib.sha256(f"{key}\n{unit_code}".encode()).hexdigest()[:20]


def send_notice(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    writer: MailingWriter,
    *,
    on: date,
    mailing_id: str,
    started_by: str,
    event: Event | None = None,
    details: Mapping[str, Any] | None = None,
    package: str | None = None,
    clock: Callable[[], datetime] = _utcnow,
    books: ConsentBooks | None = None,
) -> MailingResult:
    """The 70% notice (``consent_reached``) to the tenants who did not agree, dated ``on``.

    Refused (MailingNotAllowed, nothing written) unless the presumption applies on ``on``; the
    recipients come from the tally, ``share_text`` too. In the transaction that queues the
    mailing, the tally is taken again (a withdrawal while the letters were written refuses it
    still) and a notice entry is stored per unit that gets the letter: its notice date is ``on``,
    its last day ``on`` + 56 days. Run again, the same mailing adds no notice."""
    books = books or ConsentBooks()
    key = mailing_key(target.project, MessageKind.CONSENT_REACHED, mailing_id)
    tally, units = _notice_units(sessions, target, books, key=key, on=on, package=package)
    ballot = tally.ballot(package)
    hook = partial(
        _record_notices,
        target=target,
        key=key,
        on=on,
        package=package,
        recorded_by=started_by,
        books=books,
        clock=clock,
    )
    try:
        return prepare_mailing(
            sessions,
            target.project,
            MessageKind.CONSENT_REACHED,
            writer,
            on=on,
            mailing_id=mailing_id,
            started_by=started_by,
            event=event,
            details={**(details or {}), "share_text": share_text(ballot)},
            units=units,
            clock=clock,
            on_prepared=hook,
        )
    except BaseException:
        books.forget(target)
        raise


def _notice_units(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    books: ConsentBooks,
    *,
    key: str,
    on: date,
    package: str | None,
) -> tuple[ProjectTally, list[str]]:
    """The tally on ``on`` and the units the notice goes to; MailingNotAllowed unless the
    presumption applies, or when this mailing already went out on another day (its notices
    and their last days stand: a new notice is a new mailing)."""
    book = books.book(target)
    with book.lock, sessions() as session:
        ledger = _fresh(session, target, book)
        tally = ledger.tally(on)
        units = [r.unit_code for r in notice_recipients(tally, package)]
        for unit_code in units:
            sent = ledger.entry(notice_entry_id(key, unit_code))
            if isinstance(sent, NoticeSent) and sent.sent_on != on:
                raise MailingNotAllowed(
                    f"consent_reached: mailing {key} went out on {sent.sent_on}; that notice "
                    "and its last day stand. A new notice is a new mailing_id"
                )
    return tally, units


def _record_notices(
    session: Session,
    plan: MailingPlan,
    *,
    target: ConsentProject,
    key: str,
    on: date,
    package: str | None,
    recorded_by: str,
    books: ConsentBooks,
    clock: Callable[[], datetime],
) -> None:
    """In the mailing's last transaction: refuse if the presumption was lost by now, else store
    a notice per recipient (one already stored by an earlier run of this mailing is kept)."""
    book = books.book(target)
    now = _aware(clock())
    with book.lock:
        ledgers = ConsentRepository(session, target.project.corporation_code)
        ledgers.lock(target.project.code, _naive(now))
        ledger = _fresh(session, target, book)
        notice_recipients(ledger.tally(on), package)  # MailingNotAllowed rolls the queue back
        admitted: list[LedgerEntry] = []
        for household in plan.recipients:
            entry_id = notice_entry_id(key, household.unit.code)
            if ledger.entry(entry_id) is not None:
                continue
            notice = NoticeSent(
                id=entry_id,
                recorded_at=now,
                recorded_by=recorded_by,
                unit_code=household.unit.code,
                sent_on=on,
                channel=Channel.PAPER,
            )
            result = ledger.admit(notice)
            if isinstance(result, Refusal):
                raise MailingNotAllowed(f"consent_reached: {result.reason}")
            admitted.append(result)
        if admitted:
            ledgers.append(target.project.code, admitted, _naive(now))
            book.seq = ledgers.last_seq(target.project.code)
            audit = ConsentAudit(actor_of(recorded_by), "notice")
            _record_audit(session, target, ledger, admitted, audit, now)


def send_reminder(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    writer: MailingWriter,
    *,
    on: date,
    mailing_id: str,
    started_by: str,
    event: Event | None = None,
    details: Mapping[str, Any] | None = None,
    package: str | None = None,
    clock: Callable[[], datetime] = _utcnow,
    books: ConsentBooks | None = None,
) -> MailingResult:
    """A reminder to the households without any answer on ``on`` (for ``package``, or for
    every ballot); nobody who answered gets one. Refused when everyone answered."""
    tally = _tally(sessions, target, on, books or ConsentBooks())
    units = [r.unit_code for r in reminder_recipients(tally, package)]
    if not units:
        raise MailingNotAllowed(
            f"reminder: every household of project {target.project.code} in scope answered "
            f"by {on}; nobody to remind"
        )
    return prepare_mailing(
        sessions,
        target.project,
        MessageKind.REMINDER,
        writer,
        on=on,
        mailing_id=mailing_id,
        started_by=started_by,
        event=event,
        details=details,
        units=units,
        clock=clock,
    )


# --- the report for the corporation --------------------------------------------------------------


def consent_report(
    sessions: sessionmaker[Session],
    target: ConsentProject,
    as_of: date,
    *,
    books: ConsentBooks | None = None,
) -> ConsentReport:
    """The tally on ``as_of`` with what the corporation's copy adds: each party's name and each
    unit's address (only the XLSX shows names; see keukentafel/reports/consent.py)."""
    books = books or ConsentBooks()
    tally = _tally(sessions, target, as_of, books)
    party_ids = {p.party_id for unit in tally.units for p in unit.parties}
    with sessions() as session:
        register = RegisterRepository(session, target.project.corporation_code)
        residents = register.residents(party_ids)
        units = register.units([u.unit_code for u in tally.units])
    return ConsentReport(
        project=target.project,
        tally=tally,
        names={rid: person_name(r) for rid, r in residents.items()},
        addresses={code: u.address.street_line for code, u in units.items()},
        problems=scope_problems(sessions, target, books=books),
    )


def today(clock: Callable[[], datetime] = _utcnow) -> date:
    """Today in Europe/Amsterdam by the clock."""
    return local_day(_aware(clock()))
