"""Use cases: personal data leaves on time (the purge) and a household sees what is held (export).

**The purge** (:func:`purge_personal_data`) removes the residents' personal data of the projects
whose end date plus retention period has passed (keukentafel/domain/retention.py), except in
complexes shared with a project that still keeps its data. It works out a :class:`PurgeScope`
(the units, the residents who live in no kept unit, pseudonyms per unit), then runs the
``PURGE_STEPS`` in order, one per table group or folder, in one transaction with the audit
record; files are removed last, just before the commit. Each step counts only what still held
data, so running the purge twice removes nothing more. The :class:`PurgeReport` carries counts
per kind and unit codes, never a name: it is what the CLI prints and the flow publishes.

**The access export** (:func:`export_household`) gathers everything held on one household's
residents into an :class:`~keukentafel.domain.access_export.AccessExport`, section by section
(``EXPORT_SECTIONS``), has it written as JSON and PDF with copies of the letters, and records the
export in the audit log. The household is the residents on the unit's leases that run on the
day (or one former resident, by relation id); messages, letters and mailings are those of the
period they lived there, so a new tenant never receives the data of the one before.

Adding a table: name it in ``PURGE_COVERAGE`` with the step that removes its personal data (write
the erasure in keukentafel/store/repositories/personal_data.py and add a ``PurgeStep`` to
``PURGE_STEPS``) or with why it holds none; a test walks the schema. Write an ``ExportSection``
builder for it and add it to ``EXPORT_SECTIONS``. Both get one context object with the session
and the scope.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.access_export import (
    AccessExport,
    ArchivedLetter,
    ExportFiles,
    ExportSection,
)
from keukentafel.domain.audit import AuditEvent, AuditKind
from keukentafel.domain.model import Lease, PartyRole, Project, Unit
from keukentafel.domain.planning.feed import APPOINTMENT as FEED_APPOINTMENT
from keukentafel.domain.planning.feed import UNIT as FEED_UNIT
from keukentafel.domain.retention import (
    FileRemoval,
    ProjectRetention,
    Pseudonyms,
    PurgeTally,
    RetentionPlan,
    plan_retention,
)
from keukentafel.store.repositories.audit import AuditLog
from keukentafel.store.repositories.consent import ConsentRepository
from keukentafel.store.repositories.personal_data import PersonalData
from keukentafel.store.repositories.restricted_notes import RestrictedNotes
from keukentafel.usecases import privacy_sections as sections
from keukentafel.usecases.privacy_sections import ExportContext, HouseholdScope, team_row_units

__all__ = [
    "EXPORT_SECTIONS",
    "PURGE_COVERAGE",
    "PURGE_STEPS",
    "ExportContext",
    "ExportResult",
    "ExportStore",
    "HouseholdNotFound",
    "HouseholdScope",
    "MailingArchive",
    "PurgeContext",
    "PurgeReport",
    "PurgeScope",
    "export_household",
    "purge_personal_data",
]


class MailingArchive(Protocol):
    """The mailings' output folders (keukentafel.letters.archive.MailingFolders)."""

    def letters_of(self, project_codes: Sequence[str], unit_code: str) -> list[ArchivedLetter]: ...

    def remove(self, project_codes: Sequence[str], unit_codes: Collection[str]) -> FileRemoval: ...


class ScanStore(Protocol):
    """The scans kept as consent evidence (keukentafel.usecases.staff_consent.EvidenceFolder)."""

    def files(self, sha256: str) -> list[Path]: ...

    def exists(self, sha256: str) -> bool: ...

    def remove(self, digests: Iterable[str]) -> int: ...


class ExportStore(Protocol):
    """Where access exports are written (keukentafel.letters.access_export.AccessExportFolder)."""

    def write(self, export: AccessExport, letters: Sequence[tuple[str, Path]]) -> ExportFiles: ...

    def remove(self, corporation_code: str, unit_codes: Collection[str]) -> FileRemoval: ...


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# --- the purge ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PurgeScope:
    """What one purge removes: the units of due projects that no keeping project shares, and
    the residents who are a party to no lease of a kept unit."""

    corporation_code: str
    plan: RetentionPlan
    units: Mapping[str, Unit]  # by unit code
    kept_units: tuple[str, ...]  # in a complex shared with a project that keeps its data
    relation_ids: frozenset[str]
    pseudonyms: Pseudonyms
    now: datetime

    @property
    def unit_codes(self) -> tuple[str, ...]:
        return tuple(sorted(self.units))

    def projects_of(self, unit_code: str) -> tuple[str, ...]:
        complex_code = self.units[unit_code].complex_code
        return tuple(p.code for p in self.plan.due if complex_code in p.complex_codes)


@dataclass(slots=True)
class PurgeContext:
    """What a purge step gets: the transaction's session, the scope, the tally to count into,
    and the folders with files."""

    session: Session
    scope: PurgeScope
    tally: PurgeTally
    mailings: MailingArchive
    exports: ExportStore
    scans: ScanStore
    #: scan digests to remove once the transaction has committed (never before: a rolled-back
    #: purge must leave the evidence of the answers it did not pseudonymise)
    scans_after_commit: set[str] = field(default_factory=set)


PurgeStep = Callable[[PurgeContext], None]


def _per_unit(scope: PurgeScope, per_relation: Mapping[str, int]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for relation_id, count in per_relation.items():
        unit_code = scope.pseudonyms.first_unit_of(relation_id)
        counted[unit_code] = counted.get(unit_code, 0) + count
    return counted


def purge_restricted_notes(ctx: PurgeContext) -> None:
    erased = RestrictedNotes(ctx.session, ctx.scope.corporation_code).erase(ctx.scope.relation_ids)
    ctx.tally.add("restricted_notes", _per_unit(ctx.scope, erased))


def purge_team_list(ctx: PurgeContext) -> None:
    data = PersonalData(ctx.session, ctx.scope.corporation_code)
    on_units = team_row_units(data.team_rows(), data.all_units())
    doomed = {row_id: unit for row_id, unit in on_units.items() if unit in ctx.scope.units}
    ctx.tally.add("team_list_rows", data.erase_team_rows(doomed))


def purge_outbox(ctx: PurgeContext) -> None:
    data = PersonalData(ctx.session, ctx.scope.corporation_code)
    ctx.tally.add("message_bodies_and_recipients", data.erase_messages(ctx.scope.unit_codes))


def purge_invitations(ctx: PurgeContext) -> None:
    data = PersonalData(ctx.session, ctx.scope.corporation_code)
    ctx.tally.add("invitation_records", data.erase_invitations(ctx.scope.unit_codes))


def purge_sync_history(ctx: PurgeContext) -> None:
    """Change events keep their kind and field names with a pseudonym for the resident; rows
    kept aside lose their raw content and detail and keep their reason."""
    data = PersonalData(ctx.session, ctx.scope.corporation_code)
    scope = ctx.scope
    ctx.tally.add(
        "history_events_pseudonymised",
        data.pseudonymise_history(
            scope.relation_ids,
            lambda unit, relation: scope.pseudonyms.of(
                unit or scope.pseudonyms.first_unit_of(relation), relation
            ),
        ),
    )
    ctx.tally.add(
        "kept_aside_rows_emptied", data.erase_kept_aside(scope.unit_codes, scope.relation_ids)
    )


def purge_register(ctx: PurgeContext) -> None:
    """Residents (names, contact points) and leases go; the unit row stays, marked removed."""
    data = PersonalData(ctx.session, ctx.scope.corporation_code)
    scope = ctx.scope
    ctx.tally.add("residents", _per_unit(scope, data.erase_residents(scope.relation_ids)))
    ctx.tally.add("leases", data.erase_leases(scope.unit_codes))
    # Not personal data, and not counted as removed data: it keeps the register's view honest.
    data.close_units(scope.unit_codes, scope.now)
    if ctx.tally.counts["residents"] or ctx.tally.counts["leases"]:
        # The sync's page memo still names the residents by id; it is a cache, so it goes
        # whole, once: a purge that removed nothing from the register leaves it alone.
        ctx.tally.add("cached_source_pages", {"": data.forget_page_memo()})


def purge_consent_ledger(ctx: PurgeContext) -> None:
    """The residents' party keys in the consent ledgers no longer lead to them: the results stay
    (append-only entries with unit codes, answers and dates), counted, in pseudonymous form."""
    data = PersonalData(ctx.session, ctx.scope.corporation_code)
    forgotten = data.forget_consent_parties(ctx.scope.relation_ids, ctx.scope.now)
    ctx.tally.add("consent_parties_pseudonymised", _per_unit(ctx.scope, forgotten))


def purge_resident_pages(ctx: PurgeContext) -> None:
    """Personal links and codes, the letters' records and the open items of the units."""
    data = PersonalData(ctx.session, ctx.scope.corporation_code)
    for kind, per_unit in data.erase_resident_pages(ctx.scope.unit_codes).items():
        ctx.tally.add(kind, per_unit)


def purge_contractor_feeds(ctx: PurgeContext) -> None:
    """The units' and their appointments' records in the contractors' change logs and webhook
    bodies become removals; contractors' messages naming the units lose their body. Runs
    before ``purge_planning``, which removes the appointments these keys are found from."""
    data = PersonalData(ctx.session, ctx.scope.corporation_code)
    units = ctx.scope.unit_codes
    keys = {f"{FEED_UNIT}:{code}": code for code in units}
    keys |= {f"{FEED_APPOINTMENT}:{a}": u for a, u in data.appointment_codes(units).items()}
    ctx.tally.add("feed_changes_emptied", data.erase_feed_changes(keys))
    ctx.tally.add("webhook_changes_emptied", data.erase_webhook_bodies(keys))
    ctx.tally.add("contractor_messages_emptied", data.erase_inbound_messages(units))


def purge_planning(ctx: PurgeContext) -> None:
    """The units' appointments, and the payloads of their writes back to the ERP."""
    data = PersonalData(ctx.session, ctx.scope.corporation_code)
    ctx.tally.add("appointments", data.erase_appointments(ctx.scope.unit_codes))
    ctx.tally.add("erp_write_payloads", data.erase_erp_payloads(ctx.scope.unit_codes))


def purge_consent_scans(ctx: PurgeContext) -> None:
    """The units' scans (paper and visit answers) under ``<data>/evidence/<sha256>/``, removed
    once the transaction has committed, unless an entry of a kept unit names the same scan. The
    append-only ledger keeps each entry's digest (it proves which document was given and leads
    to nobody once the file is gone) and a neutral file name (``Evidence.without_name``, from
    the moment it is recorded). Counted per unit: the scan folders still on disk, so a re-run
    after a crash between the commit and the removal finds and removes what is left."""
    units = set(ctx.scope.unit_codes)
    ledgers = ConsentRepository(ctx.session, ctx.scope.corporation_code)
    named: list[tuple[str, str]] = []  # (unit code, digest)
    for project_code in ledgers.projects():
        entries, _ = ledgers.entries(project_code)
        for entry in entries:
            if entry.evidence is not None:
                named.append((str(getattr(entry, "unit_code", "")), entry.evidence.sha256))
    kept = {digest for unit, digest in named if unit not in units}
    removed: dict[str, int] = {}
    for unit, digest in named:
        if unit not in units or digest in kept or digest in ctx.scans_after_commit:
            continue
        if ctx.scans.exists(digest):
            ctx.scans_after_commit.add(digest)
            removed[unit] = removed.get(unit, 0) + 1
    ctx.tally.add("evidence_scans", removed)


def purge_mailing_files(ctx: PurgeContext) -> None:
    removal = ctx.mailings.remove(ctx.scope.plan.due_codes, ctx.scope.unit_codes)
    for kind, per_unit in removal.per_kind.items():
        ctx.tally.add(kind, per_unit)


def purge_access_exports(ctx: PurgeContext) -> None:
    removal = ctx.exports.remove(ctx.scope.corporation_code, ctx.scope.unit_codes)
    for kind, per_unit in removal.per_kind.items():
        ctx.tally.add(kind, per_unit)


#: The purge, one step per table group or folder, in this order (files last, just before the
#: commit). A new table group adds its step here.
PURGE_STEPS: tuple[PurgeStep, ...] = (
    purge_restricted_notes,
    purge_team_list,
    purge_outbox,
    purge_invitations,
    purge_sync_history,
    purge_consent_ledger,
    purge_resident_pages,
    purge_contractor_feeds,
    purge_planning,
    purge_consent_scans,
    purge_register,
    purge_mailing_files,
    purge_access_exports,
)

#: Every table of the store: the purge step that removes its personal data, or why it holds
#: none. tests/store/test_privacy_coverage.py walks the schema and fails on a table missing here,
#: so a new table is a decision, not an oversight.
PURGE_COVERAGE: Mapping[str, PurgeStep | str] = {
    "units": purge_register,  # marked removed; the row (a building's address) stays
    "residents": purge_register,
    "leases": purge_register,
    "source_pages": purge_register,  # the page memo, dropped whole
    "restricted_notes": purge_restricted_notes,
    "change_events": purge_sync_history,
    "rejected_rows": purge_sync_history,
    "outbox": purge_outbox,
    "team_contacts": purge_team_list,
    "invitations": purge_invitations,
    # append-only: parties are keys, made pseudonymous; a scan's name is never kept (only
    # "scan.<ext>" and the digest); purge_consent_scans removes the scans on disk
    "consent_entries": purge_consent_ledger,
    "consent_parties": purge_consent_ledger,
    "resident_access": purge_resident_pages,
    "resident_letters": purge_resident_pages,
    "open_items": purge_resident_pages,
    "feed_changes": purge_contractor_feeds,
    "webhook_outbox": purge_contractor_feeds,
    "feed_inbox": purge_contractor_feeds,
    "appointments": purge_planning,
    "erp_writes": purge_planning,
    "sync_runs": "run records: kind, outcome, counts and messages with unit codes",
    "connector_state": "connectors' cursors and markers, no resident data",
    "mailings": "mailing records: kind, dates, counts and the unit codes written to",
    "web_form_uses": "digests of used one-time form nonces",
    "web_rate_counters": "attempt counts per hashed client address, per short window",
    "audit_log": "identifiers and counts only (domain/audit.py); it outlives the purge",
    "consent_ledgers": "a lock row and an entry count per project",
    "planning_sessions": "group sessions: time, place, capacity and the guide (staff)",
    "feed_endpoints": "a sequence and a disabled flag per contractor",
    "feed_items": "digests of what a contractor was given, keyed by unit or appointment code",
}


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What a purge removed: counts per kind and unit codes; never a name or an address."""

    corporation_code: str
    on: date
    due_projects: tuple[tuple[str, str], ...]  # (project code, last day kept)
    counts: Mapping[str, int]
    units: tuple[str, ...]  # unit codes whose data this run removed
    kept_units: tuple[str, ...]  # shared with a project that keeps its data: kept
    actor: str = ""

    @property
    def removed(self) -> int:
        return sum(self.counts.values())

    def count_rows(self) -> list[dict[str, object]]:
        return [{"what": kind, "removed": count} for kind, count in self.counts.items()]


def _purge_scope(
    session: Session, corporation: str, plan: RetentionPlan, now: datetime
) -> PurgeScope:
    data = PersonalData(session, corporation)
    units = data.units_in(plan.purge_complexes)
    kept = tuple(sorted(data.units_in(plan.shared_complexes)))
    parties_by_unit: dict[str, list[str]] = {}
    for lease in data.leases_of(units):
        ordered = sorted(lease.parties, key=lambda p: p.role is PartyRole.CO_TENANT)
        parties = parties_by_unit.setdefault(lease.unit_code, [])
        parties.extend(p.relation_id for p in ordered if p.relation_id not in parties)
    candidates = {r for parties in parties_by_unit.values() for r in parties}
    units_by_party = data.units_by_party()
    # A resident who is also on a lease of a kept unit (moved into a running project) stays.
    relation_ids = frozenset(r for r in candidates if units_by_party.get(r, set()) <= set(units))
    return PurgeScope(
        corporation, plan, units, kept, relation_ids, Pseudonyms(parties_by_unit), now
    )


def purge_personal_data(
    sessions: sessionmaker[Session],
    corporation: str,
    projects: Sequence[ProjectRetention],
    mailings: MailingArchive,
    exports: ExportStore,
    *,
    scans: ScanStore,
    on: date,
    actor: str,
    clock: Callable[[], datetime] = _utcnow,
    steps: Sequence[PurgeStep] = PURGE_STEPS,
) -> PurgeReport:
    """Remove the personal data whose retention has passed on ``on``; record the run (and each
    unit purged) in the audit log as done by ``actor``. Nothing is removed when no project is
    due; the run is recorded all the same. The scans go only once the transaction committed."""
    plan = plan_retention(projects, on)
    tally = PurgeTally()
    after_commit: set[str] = set()
    with sessions.begin() as session:
        now = clock()
        scope = _purge_scope(session, corporation, plan, now)
        if scope.units:
            context = PurgeContext(session, scope, tally, mailings, exports, scans, after_commit)
            for step in steps:
                step(context)
        report = PurgeReport(
            corporation_code=corporation,
            on=on,
            due_projects=tuple((p.code, (p.keep_until or on).isoformat()) for p in plan.due),
            counts={kind: count for kind, count in tally.counts.items()},
            units=tuple(sorted(tally.units)),
            kept_units=scope.kept_units,
            actor=actor,
        )
        _record_purge(session, report, scope, now)
    scans.remove(after_commit)
    return report


def _record_purge(session: Session, report: PurgeReport, scope: PurgeScope, now: datetime) -> None:
    log = AuditLog(session)
    log.record(
        AuditEvent(
            AuditKind.PURGE_RUN,
            report.corporation_code,
            report.actor,
            at=now,
            subject=f"purge:{report.on.isoformat()}",
            detail={
                **report.counts,
                "units": len(report.units),
                "kept_units": len(report.kept_units),
                "projects": tuple(code for code, _ in report.due_projects),
            },
        )
    )
    log.record_all(
        AuditEvent(
            AuditKind.PURGE_RUN,
            report.corporation_code,
            report.actor,
            at=now,
            unit_code=unit_code,
            subject=f"purge:{report.on.isoformat()}",
            detail={"projects": scope.projects_of(unit_code)},
        )
        for unit_code in report.units
    )


# --- the access export ---------------------------------------------------------------------------


class HouseholdNotFound(LookupError):
    """The unit, or the household asked for, is not in the register; the message says which."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Where the export went and how much is in it; no personal data (for the operator)."""

    unit_code: str
    folder: Path
    json: Path
    pdf: Path
    items: Mapping[str, int]  # per section key
    letters_copied: int
    residents: int
    restricted_notes_left_out: int = 0
    sections: tuple[str, ...] = field(default=())
    scans_copied: int = 0


#: The sections of an access export, in the order the PDF shows them. A new table group (consent
#: answers, appointments) adds its builder here.
EXPORT_SECTIONS: tuple[Callable[[ExportContext], ExportSection], ...] = (
    sections.unit_section,
    sections.leases_section,
    sections.residents_section,
    sections.team_list_section,
    sections.messages_section,
    sections.letters_section,
    sections.mailings_section,
    sections.consent_section,
    sections.scans_section,
    sections.appointments_section,
)


def _household_scope(
    data: PersonalData, unit_code: str, on: date, relation_id: str | None
) -> HouseholdScope:
    unit = data.unit(unit_code)
    if unit is None:
        raise HouseholdNotFound(f"unit {unit_code} is not in the register of {data.corporation}")
    leases = data.leases_of([unit_code])
    if relation_id is not None:
        chosen = [x for x in leases if any(p.relation_id == relation_id for p in x.parties)]
        if not chosen:
            raise HouseholdNotFound(
                f"relation {relation_id} is on no lease of unit {unit_code} in the register"
            )
        relation_ids: tuple[str, ...] = (relation_id,)
    else:
        active = {x.lease_id for x in data.leases_of([unit_code], removed=False)}
        chosen = [x for x in leases if x.lease_id in active and x.is_current(on)]
        if not chosen:
            raise HouseholdNotFound(
                f"unit {unit_code} has no current household in the register; "
                "give --relation ID to export a former resident"
            )
        relation_ids = tuple(dict.fromkeys(p.relation_id for x in chosen for p in x.parties))
    return HouseholdScope(
        corporation_code=data.corporation,
        unit=unit,
        leases=tuple(chosen),
        residents=data.residents(relation_ids),
        relation_ids=relation_ids,
        since=_since(chosen),
        until=_until(chosen),
        on=on,
    )


def _since(leases: Sequence[Lease]) -> date | None:
    starts = [x.start_date for x in leases]
    return None if any(s is None for s in starts) else min(s for s in starts if s is not None)


def _until(leases: Sequence[Lease]) -> date | None:
    ends = [x.end_date for x in leases]
    return None if any(e is None for e in ends) else max(e for e in ends if e is not None)


def export_household(
    sessions: sessionmaker[Session],
    corporation_code: str,
    corporation_name: str,
    projects: Sequence[Project],
    unit_code: str,
    mailings: MailingArchive,
    exports: ExportStore,
    *,
    scans: ScanStore,
    on: date,
    actor: str,
    relation_id: str | None = None,
    clock: Callable[[], datetime] = _utcnow,
    builders: Sequence[Callable[[ExportContext], ExportSection]] = EXPORT_SECTIONS,
) -> ExportResult:
    """Write everything held on the household of ``unit_code`` (or on one former resident,
    ``relation_id``) as JSON and PDF, and record the export in the audit log as done by
    ``actor``. Raises HouseholdNotFound when there is no such household."""
    with sessions.begin() as session:
        data = PersonalData(session, corporation_code)
        scope = _household_scope(data, unit_code, on, relation_id)
        letters = tuple(mailings.letters_of([p.code for p in projects], unit_code))
        context = ExportContext(
            session, scope, sections.in_period(letters, scope), tuple(projects), scans.files
        )
        made_at = clock()
        export = AccessExport(
            corporation_code,
            corporation_name,
            unit_code,
            made_at,
            tuple(build(context) for build in builders),
        )
        scan_copies = sections.scan_copies(context)
        files = exports.write(export, sections.letter_copies(context.letters) + scan_copies)
        items = {s.key: len(s.items) for s in export.sections}
        AuditLog(session).record(
            AuditEvent(
                AuditKind.PERSONAL_DATA_EXPORTED,
                corporation_code,
                actor,
                at=made_at,
                unit_code=unit_code,
                subject=f"export:{files.folder.name}",
                detail={**items, "residents": len(scope.relation_ids)},
            )
        )
        left_out = RestrictedNotes(session, corporation_code).count(scope.relation_ids)
    return ExportResult(
        unit_code=unit_code,
        folder=files.folder,
        json=files.json,
        pdf=files.pdf,
        items=items,
        letters_copied=files.letters - len(scan_copies),
        scans_copied=len(scan_copies),
        residents=len(scope.relation_ids),
        restricted_notes_left_out=left_out,
        sections=tuple(items),
    )
