"""Use case: each contractor's feed: compute it, log its changes, and deliver them.

``refresh_feed`` computes every record the contractor may see (keukentafel.domain.planning.feed:
its projects' units with go / no-go from the consent tally, and its appointments), compares the
digests with those it was last given, and appends the records that changed to its change log
under new sequences, with the webhooks that carry them (batches of changes, each with a stable
``webhook-id``), in one transaction. The pull API pages that log by sequence; the exports and
the calendar read the latest record of each key from it: every channel shows the same data.

``deliver_webhooks`` sends the webhook outbox in sequence order per contractor, one attempt at a
time (counted before it is made, so a crash never loses one and a resend carries the same id
and body: the receiver applies it once). A 410 disables the endpoint; other failures wait for
the next attempt on the Standard Webhooks schedule.

Go / no-go comes through :class:`ConsentGate`. :class:`TallyGate` is the implementation over the
consent tally; the composition root hands it the function that gives a project's tally.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Protocol

import orjson
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent.tally import ProjectTally
from keukentafel.domain.model import Household, Project
from keukentafel.domain.planning.appointments import Appointment
from keukentafel.domain.planning.feed import (
    APPOINTMENT,
    UNIT,
    ContactPreference,
    FeedItem,
    appointment_item,
    go_by_unit,
    removed_item,
    unit_item,
)
from keukentafel.domain.planning.webhooks import Outcome, next_attempt, outcome_of, webhook_id
from keukentafel.domain.team_contacts import merge_team_contacts
from keukentafel.store.repositories.feeds import (
    Change,
    FeedRepository,
    RegisterRows,
    WebhookOutbox,
    households_of,
    read_register,
    source_digest,
)
from keukentafel.store.repositories.planning import PlanningRepository
from keukentafel.store.repositories.team_contacts import TeamContactRepository

EVENT_TYPE = "planning.changes"
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# --- go / no-go ---------------------------------------------------------------------------------


class ConsentGate(Protocol):
    """Go / no-go per unit of a project on a day: all a contractor learns about consent."""

    def go_no_go(
        self, project: Project, unit_codes: Sequence[str], on: date
    ) -> Mapping[str, bool]: ...


#: A project's consent tally on a day, or None when it has no tally (yet).
TallyFor = Callable[[Project, date], ProjectTally | None]


@dataclass(frozen=True, slots=True)
class TallyGate:
    """Go / no-go from the consent tally (keukentafel.domain.planning.feed.go_by_unit): where
    no consent is needed everything goes; where it is, a unit goes when the project's threshold
    is met on every ballot and the unit agreed on every ballot (or stands vacant)."""

    tally_for: TallyFor

    def go_no_go(self, project: Project, unit_codes: Sequence[str], on: date) -> Mapping[str, bool]:
        tally = self.tally_for(project, on)
        if tally is None:
            return go_by_unit(project.kind, unit_codes, None)
        met = bool(tally.ballots) and all(b.threshold_met for b in tally.ballots)
        statuses = {u.unit_code: u.statuses.values() for u in tally.units} if met else {}
        return go_by_unit(project.kind, unit_codes, statuses, threshold_met=met)


def no_tally(project: Project, on: date) -> ProjectTally | None:
    """No consent ledger wired in: renovation units stay no-go (the careful default)."""
    return None


# --- the feed -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContractorFeed:
    """One contractor as its feed needs it (from the corporation file's ``feeds`` section)."""

    code: str
    projects: tuple[Project, ...]
    batch_size: int = 100
    webhooks: bool = False  # whether a webhook endpoint is configured


@dataclass(slots=True)
class RefreshReport:
    contractor: str
    units: int = 0
    appointments: int = 0
    changed: int = 0
    removed: int = 0
    webhooks_queued: int = 0
    first_sequence: int = 0
    last_sequence: int = 0


def fast_digest(data: Any) -> str:
    """The record's digest over its canonical JSON (orjson: several times faster than json)."""
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


#: Part of every source digest: raise it when the records' shape changes, so all are made again.
FEED_FORMAT = "1"


@dataclass(slots=True)
class _Computed:
    """What a refresh computed outside its transaction."""

    items: list[FeedItem]  # the records made this time: changed sources and all appointments
    current: set[str]  # the keys of every record the contractor may see now
    units: int
    appointments: int


def _team_digest(contacts: Sequence[Any]) -> str:
    if not contacts:
        return ""
    return fast_digest([repr(contact) for contact in contacts])


def _units_by_project(
    rows: RegisterRows, feed: ContractorFeed, gate: ConsentGate, on: date
) -> tuple[dict[str, Project], dict[str, bool]]:
    """Each unit of the contractor's projects with its project (the first that has it), and its
    go / no-go."""
    project_of: dict[str, Project] = {}
    go: dict[str, bool] = {}
    for project in feed.projects:
        complexes = set(project.complex_codes)
        codes = [c for c, row in rows.units.items() if row[2] in complexes and c not in project_of]
        project_of.update(dict.fromkeys(codes, project))
        go.update(gate.go_no_go(project, codes, on))
    return project_of, go


def compute_items(
    sessions: sessionmaker[Session],
    corporation: str,
    feed: ContractorFeed,
    gate: ConsentGate,
    on: date,
    stored: Mapping[str, tuple[str, str]] | None = None,
) -> _Computed:
    """The records to compare with what the contractor was given: every appointment, and every
    unit whose sources (register rows, go / no-go, project, team list) changed since ``stored``
    (None: every unit)."""
    complexes = {c for p in feed.projects for c in p.complex_codes}
    with sessions() as session:
        rows = read_register(session, corporation, complexes)
        contacts = TeamContactRepository(session, corporation).active()
        appointments = PlanningRepository(session, corporation).query(contractor_code=feed.code)
    project_of, go = _units_by_project(rows, feed, gate, on)
    team = _team_digest(contacts)
    sources = {
        code: source_digest(rows, code, on, f"{FEED_FORMAT}|{project.code}|{go[code]}|{team}")
        for code, project in project_of.items()
    }
    known = stored or {}
    stale = [c for c, src in sources.items() if known.get(f"{UNIT}:{c}", ("", ""))[1] != src]
    projects = {p.code for p in feed.projects}
    mine = [a for a in appointments if a.project_code in projects]
    items = _records(rows, stale, mine, contacts, project_of, go, sources, on)
    current = {f"{UNIT}:{code}" for code in project_of} | {f"{APPOINTMENT}:{a.code}" for a in mine}
    return _Computed(items, current, len(project_of), len(mine))


def _records(
    rows: RegisterRows,
    stale: list[str],
    mine: list[Appointment],
    contacts: Sequence[Any],
    project_of: Mapping[str, Project],
    go: Mapping[str, bool],
    sources: Mapping[str, str],
    on: date,
) -> list[FeedItem]:
    """The records of the ``stale`` units and of every appointment of the contractor."""
    wanted = set(stale) | {a.unit_code for a in mine if a.unit_code in rows.units}
    households, preferences = _with_team_contacts(households_of(rows, wanted, on), contacts)
    by_unit = {h.unit.code: h for h in households}
    items = [
        replace(
            unit_item(by_unit[code], project_of[code].code, go[code], fast_digest),
            source=sources[code],
        )
        for code in stale
    ]
    items += [
        appointment_item(
            a, by_unit.get(a.unit_code), go.get(a.unit_code, False), preferences, fast_digest
        )
        for a in mine
    ]
    return items


def _with_team_contacts(
    households: list[Household], contacts: Sequence[Any]
) -> tuple[list[Household], dict[str, ContactPreference]]:
    """The households with the team list's additions, and each resident's preferences."""
    if not contacts:
        return households, {}
    merged = merge_team_contacts(households, contacts)
    preferences = {
        relation: ContactPreference(p.channel.value if p.channel else "", p.hours)
        for relation, p in merged.preferences.items()
    }
    if merged.residents:
        households = [
            replace(
                h,
                members=tuple(
                    (merged.residents.get(r.relation_id, r), role) for r, role in h.members
                ),
            )
            for h in households
        ]
    return households, preferences


def refresh_feed(
    sessions: sessionmaker[Session],
    corporation: str,
    feed: ContractorFeed,
    gate: ConsentGate,
    *,
    on: date,
    clock: Clock = _utcnow,
) -> RefreshReport:
    """Log every record that changed since the contractor's last refresh, and queue its
    webhooks, in one transaction (a refresh interrupted by a crash logged nothing)."""
    with sessions() as session:
        before = FeedRepository(session, corporation, feed.code).digests()
    computed = compute_items(sessions, corporation, feed, gate, on, before)
    report = RefreshReport(feed.code, units=computed.units, appointments=computed.appointments)
    with sessions.begin() as session:
        repo = FeedRepository(session, corporation, feed.code)
        now = clock()
        # The endpoint row is locked first: refreshes of one contractor take turns, and the
        # digests read now are the ones the last refresh committed (no change logged twice).
        repo.allocate(0, now)
        stored = repo.digests()
        changed, same = [], []
        for item in computed.items:
            if stored.get(item.key, ("", ""))[0] != item.digest:
                changed.append(item)
            elif item.source and stored[item.key][1] != item.source:
                same.append((item.key, item.source))
        repo.set_sources(same, now)
        gone = [removed_item(key) for key in sorted(stored) if key not in computed.current]
        logged = changed + gone
        if not logged:
            return report
        first = repo.allocate(len(logged), now)
        changes = repo.record(logged, first, now)
        report.changed, report.removed = len(changed), len(gone)
        report.first_sequence, report.last_sequence = first, first + len(logged) - 1
        if feed.webhooks:
            bodies = list(_webhook_bodies(feed, changes, now))
            report.webhooks_queued = WebhookOutbox(session, corporation).enqueue(
                feed.code, bodies, now
            )
    return report


def change_json(change: Change) -> bytes:
    """One change as the pull API and the webhooks write it (payload bytes reused as they are)."""
    head = orjson.dumps(
        {
            "deleted": change.deleted,
            "key": change.key,
            "sequence": change.sequence,
            "type": change.type,
        }
    )
    return b'{"data":' + change.payload + b"," + head[1:]


def _webhook_bodies(
    feed: ContractorFeed, changes: Sequence[Change], now: datetime
) -> Iterable[tuple[str, str, int, int, bytes]]:
    """Batches of changes as Standard Webhooks payloads (type, timestamp, data)."""
    stamp = now.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z").encode()
    contractor = orjson.dumps(feed.code)
    for start in range(0, len(changes), feed.batch_size):
        batch = changes[start : start + feed.batch_size]
        first, last = batch[0].sequence, batch[-1].sequence
        body = (
            b'{"data":{"changes":['
            + b",".join(change_json(c) for c in batch)
            + b'],"contractor":'
            + contractor
            + b'},"timestamp":"'
            + stamp
            + b'","type":"'
            + EVENT_TYPE.encode()
            + b'"}'
        )
        yield webhook_id(feed.code, first, last), EVENT_TYPE, first, last, body


# --- reading the log ------------------------------------------------------------------------------

MAX_PAGE = 500


class BadCursor(ValueError):
    """A cursor that is not one this API handed out."""


@dataclass(frozen=True, slots=True)
class ChangesPage:
    body: bytes  # {"changes": [...], "next_cursor": "...", "has_more": bool, "contractor": ...}
    count: int
    next_cursor: str
    has_more: bool


def parse_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise BadCursor("cursor is not one this API handed out")
    return int(cursor)


def changes_page(
    sessions: sessionmaker[Session],
    corporation: str,
    contractor: str,
    cursor: str | None,
    limit: int = 100,
) -> ChangesPage:
    """The changes after ``cursor`` in sequence order. The next cursor is the last sequence
    given, so a change is never skipped or given twice, whatever changes meanwhile."""
    after = parse_cursor(cursor)
    limit = max(1, min(limit, MAX_PAGE))
    with sessions() as session:
        found = FeedRepository(session, corporation, contractor).changes_after(after, limit + 1)
    has_more = len(found) > limit
    page = found[:limit]
    next_cursor = str(page[-1].sequence if page else after)
    body = (
        b'{"changes":['
        + b",".join(change_json(c) for c in page)
        + b'],"contractor":'
        + orjson.dumps(contractor)
        + b',"has_more":'
        + (b"true" if has_more else b"false")
        + b',"next_cursor":'
        + orjson.dumps(next_cursor)
        + b"}"
    )
    return ChangesPage(body, len(page), next_cursor, has_more)


@dataclass(frozen=True, slots=True)
class Record:
    """The latest version of one record of a contractor's feed (for exports and calendars)."""

    key: str
    type: str
    data: dict[str, Any]
    changes: int  # how often it changed: the calendar's SEQUENCE is this minus one


def current_records(
    sessions: sessionmaker[Session], corporation: str, contractor: str
) -> list[Record]:
    """Every record the contractor has now, as last logged."""
    with sessions() as session:
        repo = FeedRepository(session, corporation, contractor)
        latest = repo.current()
        counts = repo.change_counts(APPOINTMENT)
    return [
        Record(c.key, c.type, orjson.loads(c.payload), counts.get(c.key, 1))
        for c in latest
        if not c.deleted
    ]


# --- delivering the webhooks ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """What a webhook endpoint answered (status 0: no answer, e.g. a broken connection)."""

    status: int
    retry_after: float | None = None
    error: str = ""


class WebhookTransport(Protocol):
    """POSTs a webhook signed with the contractor's secrets (keukentafel.feeds.sender)."""

    def send(self, contractor: str, webhook_id: str, body: bytes) -> Answer: ...


@dataclass(slots=True)
class DeliveryReport:
    delivered: dict[str, int] = field(default_factory=dict)
    retrying: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)
    waiting: dict[str, int] = field(default_factory=dict)  # not due yet


def deliver_webhooks(
    sessions: sessionmaker[Session],
    corporation: str,
    contractors: Sequence[str],
    transport: WebhookTransport,
    *,
    clock: Clock = _utcnow,
) -> DeliveryReport:
    """Send each contractor's pending webhooks in order; stop at the first that fails (the
    later ones wait, so a receiver gets them in sequence order)."""
    report = DeliveryReport()
    for contractor in contractors:
        with sessions() as session:
            endpoint = FeedRepository(session, corporation, contractor).endpoint()
            queued = WebhookOutbox(session, corporation).pending(contractor)
        if endpoint.disabled_at is not None:
            report.waiting[contractor] = len(queued)
            continue
        _deliver_contractor(sessions, corporation, contractor, queued, transport, report, clock)
    return report


def _deliver_contractor(
    sessions: sessionmaker[Session],
    corporation: str,
    contractor: str,
    queued: Sequence[Any],
    transport: WebhookTransport,
    report: DeliveryReport,
    clock: Clock,
) -> None:
    for position, webhook in enumerate(queued):
        if webhook.next_attempt_at > clock():
            report.waiting[contractor] = len(queued) - position
            return
        with sessions.begin() as session:
            if not WebhookOutbox(session, corporation).begin_attempt(
                webhook.id, webhook.attempts, clock()
            ):
                return  # another dispatcher is at it
        answer = transport.send(contractor, webhook.webhook_id, webhook.body)
        outcome = outcome_of(answer.status)
        with sessions.begin() as session:
            outbox = WebhookOutbox(session, corporation)
            if outcome is Outcome.DELIVERED:
                outbox.mark_sent(webhook.id, answer.status, clock())
                report.delivered[contractor] = report.delivered.get(contractor, 0) + 1
                continue
            error = answer.error or f"HTTP {answer.status}"
            if outcome is Outcome.DISABLE:
                outbox.record_failure(webhook.id, answer.status, error, clock())
                FeedRepository(session, corporation, contractor).set_disabled(
                    "the endpoint answered 410 Gone", clock()
                )
                report.disabled.append(contractor)
                return
            when = next_attempt(webhook.attempts + 1, clock(), answer.retry_after)
            outbox.record_failure(webhook.id, answer.status, error, when)
        if when is None:
            report.failed[contractor] = report.failed.get(contractor, 0) + 1
            continue  # failed for good: the operator is told; the next ones may go
        report.retrying[contractor] = report.retrying.get(contractor, 0) + 1
        return


def enable_endpoint(
    sessions: sessionmaker[Session], corporation: str, contractor: str, *, clock: Clock = _utcnow
) -> None:
    """An operator enables a disabled endpoint again; the webhooks kept waiting go next."""
    with sessions.begin() as session:
        FeedRepository(session, corporation, contractor).set_disabled(None, clock())


@dataclass(frozen=True, slots=True)
class FeedCounts:
    """Counts for the operator and the flow's artifact (no names, no unit codes)."""

    contractor: str
    records: int
    last_sequence: int
    webhooks: dict[str, int]
    appointments: dict[str, int]
    disabled: bool


def feed_counts(sessions: sessionmaker[Session], corporation: str, contractor: str) -> FeedCounts:
    with sessions() as session:
        repo = FeedRepository(session, corporation, contractor)
        endpoint = repo.endpoint()
        return FeedCounts(
            contractor=contractor,
            records=len(repo.digests()),
            last_sequence=endpoint.last_sequence,
            webhooks=WebhookOutbox(session, corporation).counts(contractor),
            appointments=PlanningRepository(session, corporation).counts(contractor),
            disabled=endpoint.disabled_at is not None,
        )


def appointments_of(
    sessions: sessionmaker[Session], corporation: str, contractor: str
) -> list[Appointment]:
    with sessions() as session:
        return PlanningRepository(session, corporation).query(contractor_code=contractor)
