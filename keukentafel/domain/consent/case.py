"""A self-contained consent case (the legal team's what-if), evaluated by the live domain code.

``evaluate(case, as_of)`` takes a plain mapping as loaded from YAML or JSON (profile, units with
tenure, leases with parties and dates, exclusions, notices, answers, corrections; format in
docs/consent.md), builds the same ``ProjectScope`` and admits the same ledger entries the live
register would, and returns a JSON-able dict: the tally per ballot, every unit's status and
deadline, who the notice and reminders would go to, and every entry refused with its reason.

Input that cannot be read as a case (a missing key, a bad date, an unknown tenure) raises
``CaseError`` listing every problem with its path (``answers[3].party``). Input that is readable
but not acceptable (an unknown unit, an exclusion without a reason, an answer after the
deadline) is not an error: it is reported under ``refused``, as the live import would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TypeVar

from keukentafel.domain.consent.entries import (
    Answer,
    Channel,
    Choice,
    Correction,
    Evidence,
    Exclusion,
    ExclusionReversal,
    LedgerEntry,
    NoticeSent,
    Refusal,
    Withdrawal,
    amsterdam,
    local_moment,
)
from keukentafel.domain.consent.ledger import Ledger
from keukentafel.domain.consent.profile import (
    ConsentMode,
    NoConsentTrack,
    ProfileError,
    parse_profile,
)
from keukentafel.domain.consent.rules import MailingNotAllowed
from keukentafel.domain.consent.scope import (
    ConsentUnit,
    ContractParty,
    ProjectScope,
    ScopeError,
    Tenancy,
)
from keukentafel.domain.consent.tally import (
    ProjectTally,
    notice_recipients,
    reminder_recipients,
    tally_as_dict,
)
from keukentafel.domain.model import PartyRole, ProjectKind, Tenure

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")

SECTIONS = (
    "project",
    "profile",
    "units",
    "leases",
    "exclusions",
    "exclusion_reversals",
    "notices",
    "answers",
    "corrections",
)
#: Answer words in a case file; "withdraw" records a withdrawal of an agreement.
ANSWER_WORDS = ("agree", "decline", "withdraw")
DEFAULT_RECORDER = "case file"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CaseError(ValueError):
    """The case cannot be read; ``problems`` lists each one as ``path: what is wrong``."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("invalid consent case:\n  " + "\n  ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Case:
    """A read case: the project's scope and its ledger entries in the order they are admitted."""

    scope: ProjectScope
    entries: tuple[LedgerEntry, ...]


class _Reader:
    """Reads values at a path, collecting problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def mapping(self, value: object, path: str, keys: Sequence[str]) -> Mapping[str, object]:
        if not isinstance(value, Mapping):
            self.fail(path, "must be a mapping")
            return {}
        for key in value:
            if key not in keys:
                self.fail(f"{path}.{key}", f"unknown key; expected one of {', '.join(keys)}")
        return value

    def items(self, case: Mapping[str, object], key: str) -> list[object]:
        value = case.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, "must be a list")
            return []
        return value

    def text(
        self, data: Mapping[str, object], key: str, path: str, default: str | None = None
    ) -> str:
        value = data.get(key, default)
        if value is None:
            self.fail(f"{path}.{key}", "required")
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # a unit or party code YAML read as a number
        if not isinstance(value, str):
            self.fail(f"{path}.{key}", f"must be text, got {value!r}")
            return ""
        return value

    def day(
        self, data: Mapping[str, object], key: str, path: str, *, required: bool
    ) -> date | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(f"{path}.{key}", "required (a date, YYYY-MM-DD)")
            return None
        if isinstance(value, datetime):
            self.fail(f"{path}.{key}", "must be a date without a time")
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{path}.{key}", f"not a date (YYYY-MM-DD): {value!r}")
            return None

    def moment(self, data: Mapping[str, object], key: str, path: str) -> datetime | None:
        """A date (local midnight), a local date-time, or a date-time with an offset."""
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return local_moment(value)
        if not isinstance(value, datetime):
            try:
                value = datetime.fromisoformat(str(value))
            except ValueError:
                self.fail(f"{path}.{key}", f"not a date or date-time (ISO 8601): {value!r}")
                return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=amsterdam())
        return value

    def choice(self, enum: type[_E], data: Mapping[str, object], key: str, path: str) -> _E | None:
        value = data.get(key)
        try:
            return enum(str(value))
        except ValueError:
            allowed = " | ".join(member.value for member in enum)
            self.fail(f"{path}.{key}", f"must be one of {allowed}, got {value!r}")
            return None

    def guarded(self, path: str, build: Callable[..., _T], *args: object) -> _T | None:
        """Build a value whose own checks raise ``ValueError``; the message gets the path."""
        try:
            return build(*args)
        except ValueError as error:
            self.fail(path, str(error))
            return None


def read_case(case: Mapping[str, object], *, now: datetime | None = None) -> Case:
    """Read a case mapping into a scope and ledger entries; ``CaseError`` lists every problem.

    Entries are admitted in order of ``recorded_at``; an entry without one counts as recorded
    at ``now`` (when given) or else at the moment it took effect, and ties keep the section
    order exclusions, exclusion_reversals, notices, answers, corrections.
    """
    reader = _Reader()
    if not isinstance(case, Mapping):
        raise CaseError(["case: must be a mapping with the sections " + ", ".join(SECTIONS)])
    reader.mapping(case, "case", SECTIONS)
    scope = _scope(reader, case)
    if reader.problems or scope is None:
        raise CaseError(reader.problems or ["case: no usable project"])
    entries = _entries(reader, case, now)
    if reader.problems:
        raise CaseError(reader.problems)
    return Case(scope, entries)


def evaluate(
    case: Mapping[str, object], as_of: date, *, now: datetime | None = None
) -> dict[str, object]:
    """Evaluate a case on ``as_of`` (end of that local day) into a JSON-able dict."""
    read = read_case(case, now=now)
    ledger = Ledger(read.scope)
    report = ledger.admit_all(read.entries)
    return evaluation_dict(ledger.tally(as_of), report.refused)


def evaluation_dict(
    tally: ProjectTally, refused: Sequence[Refusal] = (), *, people: bool = True
) -> dict[str, object]:
    """The evaluator's JSON for a tally: the same for a case file and the live register (whose
    admission refusals were reported when they were recorded, so it passes none).
    ``people=False`` leaves out party ids and exclusion reasons (see ``tally_as_dict``)."""
    scope = tally.state.scope
    counted = tally_as_dict(tally, people=people)
    return {
        "project": {"code": scope.project_code, "kind": scope.kind.value},
        "as_of": counted["as_of"],
        "profile": _profile_dict(scope),
        "counts": counted["counts"],
        "ballots": counted["ballots"],
        "notice_recipients": _notice_lists(tally),
        "reminder_recipients": [r.unit_code for r in reminder_recipients(tally)],
        "units": counted["units"],
        "refused": [_refusal(r, "admission") for r in refused]
        + [_refusal(r, "evaluation") for r in tally.ignored],
    }


def _refusal(refusal: Refusal, stage: str) -> dict[str, object]:
    return {
        "entry": refusal.entry_id,
        "code": refusal.code.value,
        "reason": refusal.reason,
        "stage": stage,
    }


def _notice_lists(tally: ProjectTally) -> dict[str, list[str] | None]:
    """Per ballot, the units the notice would go to today; ``None`` where it may not go."""
    lists: dict[str, list[str] | None] = {}
    per_package = tally.profile.mode is ConsentMode.PER_PACKAGE
    for ballot in tally.ballots:
        try:
            recipients = notice_recipients(tally, ballot.ballot if per_package else None)
        except MailingNotAllowed:
            lists[ballot.ballot] = None
            continue
        lists[ballot.ballot] = [r.unit_code for r in recipients]
    return lists


def _profile_dict(scope: ProjectScope) -> dict[str, object]:
    profile = scope.profile
    return {
        "threshold": f"{profile.threshold.numerator}/{profile.threshold.denominator}",
        "denominator": profile.denominator.value,
        "legal_basis": profile.legal_basis,
        "min_homes": profile.min_homes,
        "consent": profile.mode.value,
        "packages": [
            {"code": p.code, "kind": p.kind.value, "title": p.title} for p in profile.packages
        ],
    }


# --- the register part: project, profile, units, leases ------------------------------------


def _scope(reader: _Reader, case: Mapping[str, object]) -> ProjectScope | None:
    project = reader.mapping(case.get("project"), "project", ("code", "kind"))
    code = reader.text(project, "code", "project")
    kind = reader.choice(ProjectKind, project, "kind", "project")
    raw_profile = case.get("profile")
    if not isinstance(raw_profile, Mapping):
        reader.fail("profile", "required: a mapping with at least legal_basis")
        return None
    profile = None
    try:
        profile = parse_profile(raw_profile)
    except ProfileError as error:
        reader.fail(f"profile.{error.field}", error.detail)
    units = _units(reader, case)
    tenancies = _tenancies(reader, case, {u.code: u for u in units})
    if reader.problems or kind is None or profile is None:
        return None
    try:
        scope = ProjectScope(code, kind, profile, units, tenancies)
    except NoConsentTrack as error:
        reader.fail("project.kind", str(error))
        return None
    except ScopeError as error:
        reader.fail("leases", str(error))
        return None
    for first, second in scope.overlaps():
        reader.fail("leases", f"leases {first} and {second} of one unit overlap in time")
    return scope


def _units(reader: _Reader, case: Mapping[str, object]) -> tuple[ConsentUnit, ...]:
    units: list[ConsentUnit] = []
    seen: set[str] = set()
    for index, item in enumerate(reader.items(case, "units")):
        path = f"units[{index}]"
        data = reader.mapping(item, path, ("code", "tenure"))
        code = reader.text(data, "code", path)
        tenure = reader.choice(Tenure, data, "tenure", path)
        if code in seen:
            reader.fail(f"{path}.code", f"unit {code} appears twice")
        elif code and tenure is not None:
            seen.add(code)
            units.append(ConsentUnit(code, tenure))
    return tuple(units)


def _tenancies(
    reader: _Reader, case: Mapping[str, object], units: Mapping[str, ConsentUnit]
) -> tuple[Tenancy, ...]:
    tenancies: list[Tenancy] = []
    for index, item in enumerate(reader.items(case, "leases")):
        path = f"leases[{index}]"
        data = reader.mapping(item, path, ("id", "unit", "start", "end", "parties"))
        lease_id = reader.text(data, "id", path)
        unit_code = reader.text(data, "unit", path)
        start = reader.day(data, "start", path, required=False)
        end = reader.day(data, "end", path, required=False)
        unit = units.get(unit_code)
        if unit_code and unit is None:
            reader.fail(f"{path}.unit", f"unit {unit_code} is not under units")
        elif unit is not None and unit.owners_track:
            reader.fail(f"{path}.unit", f"unit {unit_code} is {unit.tenure.value}, not rented")
        parties = _parties(reader, data.get("parties"), f"{path}.parties")
        if not parties:
            reader.fail(f"{path}.parties", "a lease needs at least one tenant")
            continue
        tenancy = reader.guarded(path, Tenancy, lease_id, unit_code, start, end, tuple(parties))
        if tenancy is not None:
            tenancies.append(tenancy)
    return tuple(tenancies)


def _parties(reader: _Reader, raw: object, path: str) -> list[ContractParty]:
    if not isinstance(raw, list):
        reader.fail(path, "must be a list of {party, role, start, end}")
        return []
    parties: list[ContractParty] = []
    for index, item in enumerate(raw):
        where = f"{path}[{index}]"
        data = reader.mapping(item, where, ("party", "role", "start", "end"))
        party_id = reader.text(data, "party", where)
        role = reader.choice(PartyRole, data, "role", where)
        start = reader.day(data, "start", where, required=False)
        end = reader.day(data, "end", where, required=False)
        if role is PartyRole.OWNER_OCCUPIER:
            reader.fail(f"{where}.role", "must be tenant or co_tenant on a lease")
            continue
        if role is not None:
            party = reader.guarded(where, ContractParty, party_id, role, start, end)
            if party is not None:
                parties.append(party)
    return parties


# --- the ledger part: exclusions, reversals, notices, answers, corrections -----------------


@dataclass(slots=True)
class _Common:
    """What every entry of a case has: its id, the path, who recorded it and when (if given)."""

    id: str
    recorded_by: str
    recorded_at: datetime | None
    evidence: Evidence | None


_COMMON_KEYS = ("id", "recorded_by", "recorded_at", "evidence")


def _common(reader: _Reader, data: Mapping[str, object], path: str) -> _Common:
    evidence = None
    raw = data.get("evidence")
    if raw is not None:
        ev = reader.mapping(raw, f"{path}.evidence", ("file", "sha256"))
        file_name = reader.text(ev, "file", f"{path}.evidence")
        digest = reader.text(ev, "sha256", f"{path}.evidence").lower()
        evidence = reader.guarded(f"{path}.evidence", Evidence, file_name, digest)
    return _Common(
        id=reader.text(data, "id", path, default=path),
        recorded_by=reader.text(data, "recorded_by", path, default=DEFAULT_RECORDER),
        recorded_at=reader.moment(data, "recorded_at", path),
        evidence=evidence,
    )


def _entries(
    reader: _Reader, case: Mapping[str, object], now: datetime | None
) -> tuple[LedgerEntry, ...]:
    built: list[LedgerEntry] = []
    for section, build in (
        ("exclusions", _exclusion),
        ("exclusion_reversals", _reversal),
        ("notices", _notice),
        ("answers", _answer),
    ):
        for index, item in enumerate(reader.items(case, section)):
            entry = build(reader, item, f"{section}[{index}]", now)
            if entry is not None:
                built.append(entry)
    # A correction without a time of its own comes after everything it may point at.
    after_all = now or max((e.recorded_at for e in built), default=_EPOCH)
    for index, item in enumerate(reader.items(case, "corrections")):
        built.append(_correction(reader, item, f"corrections[{index}]", after_all))
    ids = [entry.id for entry in built]
    for entry_id in sorted({i for i in ids if ids.count(i) > 1}):
        reader.fail(entry_id, "this id is used by more than one entry")
    built.sort(key=lambda e: e.recorded_at)  # stable: ties keep the section order
    return tuple(built)


def _recorded(common: _Common, effective: datetime, now: datetime | None) -> datetime:
    return common.recorded_at or now or effective


def _exclusion(
    reader: _Reader, item: object, path: str, now: datetime | None
) -> LedgerEntry | None:
    keys = (*_COMMON_KEYS, "unit", "at", "reason", "decided_by")
    data = reader.mapping(item, path, keys)
    common = _common(reader, data, path)
    unit = reader.text(data, "unit", path)
    at = _required_moment(reader, data, path)
    if at is None:
        return None
    entry = Exclusion(
        id=common.id,
        recorded_at=_recorded(common, at, now),
        recorded_by=common.recorded_by,
        evidence=common.evidence,
        unit_code=unit,
        at=at,
        # Missing reason or decider is not a reading error: the ledger refuses it, with why.
        reason=_optional_text(reader, data, "reason", path),
        decided_by=_optional_text(reader, data, "decided_by", path),
    )
    return entry


def _reversal(reader: _Reader, item: object, path: str, now: datetime | None) -> LedgerEntry | None:
    keys = (*_COMMON_KEYS, "reverses", "at", "reason", "decided_by")
    data = reader.mapping(item, path, keys)
    common = _common(reader, data, path)
    at = _required_moment(reader, data, path)
    if at is None:
        return None
    entry = ExclusionReversal(
        id=common.id,
        recorded_at=_recorded(common, at, now),
        recorded_by=common.recorded_by,
        evidence=common.evidence,
        exclusion_id=reader.text(data, "reverses", path),
        at=at,
        reason=_optional_text(reader, data, "reason", path),
        decided_by=_optional_text(reader, data, "decided_by", path),
    )
    return entry


def _notice(reader: _Reader, item: object, path: str, now: datetime | None) -> LedgerEntry | None:
    keys = (*_COMMON_KEYS, "unit", "lease", "sent_on", "channel")
    data = reader.mapping(item, path, keys)
    common = _common(reader, data, path)
    unit = reader.text(data, "unit", path)
    sent_on = reader.day(data, "sent_on", path, required=True)
    channel = reader.choice(Channel, data, "channel", path)
    if sent_on is None or channel is None:
        return None
    entry = NoticeSent(
        id=common.id,
        recorded_at=_recorded(common, local_moment(sent_on), now),
        recorded_by=common.recorded_by,
        evidence=common.evidence,
        unit_code=unit,
        lease_id=_optional_text(reader, data, "lease", path),
        sent_on=sent_on,
        channel=channel,
    )
    return entry


def _answer(reader: _Reader, item: object, path: str, now: datetime | None) -> LedgerEntry | None:
    keys = (*_COMMON_KEYS, "unit", "lease", "party", "parties", "answer", "package", "at")
    data = reader.mapping(item, path, (*keys, "channel"))
    common = _common(reader, data, path)
    unit = reader.text(data, "unit", path)
    lease = _optional_text(reader, data, "lease", path)
    parties = _answer_parties(reader, data, path)
    word = data.get("answer")
    if word not in ANSWER_WORDS:
        reader.fail(f"{path}.answer", f"must be one of {' | '.join(ANSWER_WORDS)}, got {word!r}")
    channel = reader.choice(Channel, data, "channel", path)
    at = _required_moment(reader, data, path)
    package = data.get("package")
    if package is not None and not isinstance(package, str):
        reader.fail(f"{path}.package", "must be a package code")
        return None
    if at is None or channel is None or word not in ANSWER_WORDS or parties is None:
        return None
    recorded_at = _recorded(common, at, now)
    if word == "withdraw":
        return Withdrawal(
            id=common.id,
            recorded_at=recorded_at,
            recorded_by=common.recorded_by,
            evidence=common.evidence,
            unit_code=unit,
            lease_id=lease,
            parties=parties,
            package=package,
            at=at,
            channel=channel,
        )
    return Answer(
        id=common.id,
        recorded_at=recorded_at,
        recorded_by=common.recorded_by,
        evidence=common.evidence,
        unit_code=unit,
        lease_id=lease,
        parties=parties,
        package=package,
        at=at,
        channel=channel,
        choice=Choice(str(word)),
    )


def _answer_parties(
    reader: _Reader, data: Mapping[str, object], path: str
) -> tuple[str, ...] | None:
    """``party: R1``, ``parties: [R1, R2]``, or neither for the whole household."""
    if "party" in data and "parties" in data:
        reader.fail(path, "give party or parties, not both")
        return None
    if "party" in data:
        return (reader.text(data, "party", path),)
    raw = data.get("parties", [])
    if not isinstance(raw, list) or not all(isinstance(p, str | int) for p in raw):
        reader.fail(f"{path}.parties", "must be a list of party ids")
        return None
    return tuple(str(p) for p in raw)


def _correction(reader: _Reader, item: object, path: str, after_all: datetime) -> Correction:
    data = reader.mapping(item, path, (*_COMMON_KEYS, "corrects", "reason"))
    common = _common(reader, data, path)
    return Correction(
        id=common.id,
        recorded_at=common.recorded_at or after_all,
        recorded_by=common.recorded_by,
        evidence=common.evidence,
        corrects=reader.text(data, "corrects", path),
        reason=_optional_text(reader, data, "reason", path),
    )


def _required_moment(reader: _Reader, data: Mapping[str, object], path: str) -> datetime | None:
    if data.get("at") is None:
        reader.fail(f"{path}.at", "required (a date, or a date-time for the order within a day)")
        return None
    return reader.moment(data, "at", path)


def _optional_text(reader: _Reader, data: Mapping[str, object], key: str, path: str) -> str:
    return reader.text(data, key, path, default="")
