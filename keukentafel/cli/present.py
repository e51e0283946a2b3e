"""Everything the command line and the demo print: tables of counts, unit codes and reasons.

Operator output is English and never carries residents' names. The console is made on first use
(a terminal gets its own width; anything else, such as a pipe or a test, 120 columns).
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from flows.results import (
        Delivery,
        FeedsSummary,
        MailingOutcome,
        SyncSummary,
        TeamPullSummary,
    )
    from keukentafel.domain.audit import AuditEntry
    from keukentafel.domain.consent import ProjectTally
    from keukentafel.domain.planning.appointments import Appointment, Slot
    from keukentafel.domain.retention import RetentionPlan
    from keukentafel.usecases.consent import HouseholdStatus, RecordReport
    from keukentafel.usecases.consent_import import ImportReport
    from keukentafel.usecases.contractor_inbox import InboundReport
    from keukentafel.usecases.privacy import ExportResult, PurgeReport
    from keukentafel.usecases.register_export import RegisterExport
    from keukentafel.usecases.register_summary import KeptAsideRow, RegisterSummary

TENURE_HEADERS = {
    "corporation_rental": "rented",
    "private_rental": "private rental",
    "owner_occupied": "owner-occupied",
    "vacant": "vacant",
}


@cache
def console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=120)


def print_error(message: str) -> None:
    console().print(f"[red]error:[/red] {message}", highlight=False)


def print_mailing(result: MailingOutcome) -> None:
    prepared, delivered = result.prepared, result.delivered
    table = Table(title="Mailing" if prepared else "Outbox dispatch")
    table.add_column("what")
    table.add_column("value", justify="right")
    if prepared:
        for key in ("letters", "pages", "registered", "emails", "enqueued", "invitations"):
            table.add_row(key, str(getattr(prepared, key)))
    if delivered.dispatched:
        for key in ("sent", "reconciled", "retried_later", "refused", "failed"):
            table.add_row(key.replace("_", " "), str(getattr(delivered, key)))
    for status, count in delivered.outbox.items():
        table.add_row(f"outbox {status}", str(count))
    out = console()
    out.print(table)
    if not delivered.dispatched:
        out.print(f"[yellow]{delivered.reason}[/yellow]")
    if prepared:
        out.print(f"Print batch: {prepared.print_pdf}\nManifest:    {prepared.manifest}")
        out.print(f"Archive, e-mails and invitations in {prepared.out_dir}")
        if prepared.skipped:
            out.print(
                f"{len(prepared.skipped)} household(s) without e-mail (letter only) or without a letter"
            )


def print_skipped(result: MailingOutcome, *, limit: int = 10) -> None:
    """Who got no letter or no e-mail and why, per reason: counts and the first unit codes."""
    prepared = result.prepared
    if prepared is None or not prepared.skipped:
        return
    by_reason: dict[str, list[str]] = {}
    for skip in prepared.skipped:
        by_reason.setdefault(skip.reason.text, []).append(skip.unit_code)
    table = Table(title="Set aside or skipped (unit codes; the reasons in full are in the report)")
    table.add_column("reason")
    table.add_column("units", justify="right")
    table.add_column("first unit codes")
    for reason, units in sorted(by_reason.items()):
        table.add_row(reason, str(len(units)), ", ".join(units[:limit]))
    console().print(table)


def print_correction(result: MailingOutcome, original_pages: int) -> None:
    """What a correction did: which mailing it corrects, and the print batch next to the first."""
    prepared = result.prepared
    if prepared is None:
        return
    console().print(
        f"Correction of mailing {prepared.follows or '-'}: {prepared.letters} letter(s) and "
        f"{prepared.emails} e-mail(s) to the households that had it; the invitations keep "
        f"their UID with a higher SEQUENCE. Print batch {prepared.pages} page(s) "
        f"(the first mailing: {original_pages})."
    )


def print_delivery(delivered: Delivery) -> None:
    """The outbox dispatcher alone (``mailing dispatch``, the demo's last step)."""
    from flows.results import MailingOutcome

    print_mailing(MailingOutcome(None, delivered))


def print_sync_summary(summary: SyncSummary) -> None:
    table = Table(title=f"Sync run {summary.run_id}: {summary.outcome}", show_lines=False)
    table.add_column("change")
    table.add_column("count", justify="right")
    for kind, count in summary.counts.items():
        if count:
            table.add_row(kind, str(count))
    table.add_row("rows written", str(summary.rows_written), style="bold")
    kept = summary.kept_aside
    table.add_row("kept aside", str(len(kept)), style="yellow" if kept else None)
    console().print(table)
    print_out_of_scope(summary.out_of_scope_by)
    if kept:
        from keukentafel.usecases.register_summary import KeptAsideRow

        print_kept_aside(
            [KeptAsideRow(k.entity, k.unit_code, k.reason, k.detail, k.source_id) for k in kept]
        )


def print_out_of_scope(counts: dict[str, int]) -> None:
    """Rows outside the projects' complexes: counted, never listed as kept aside."""
    if any(counts.values()):
        order = ("unit", "resident", "lease")
        ordered = sorted(counts.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 9)
        parts = ", ".join(f"{n} {entity}(s)" for entity, n in ordered if n)
        console().print(f"Out of scope (outside the projects' complexes, not stored): {parts}")


def print_kept_aside(rows: list[KeptAsideRow]) -> None:
    """The rows kept aside, each by its unit code or, for a row that names none, its ERP id."""
    table = Table(title="Rows kept aside (stored data untouched)")
    for column in ("entity", "unit / ERP id", "reason", "detail"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.entity, row.label, row.reason, row.detail)
    console().print(table)


def print_team_pull(result: TeamPullSummary) -> None:
    for source, counts in result.counts.items():
        table = Table(title=f"Team contacts from {source}")
        table.add_column("what")
        table.add_column("count", justify="right")
        for what, count in counts.items():
            table.add_row(what.replace("_", " "), str(count))
        console().print(table)
    if result.findings:
        table = Table(title="Conflicts and rows that fit no household (the ERP value is kept)")
        for column in ("source", "unit", "reason", "detail"):
            table.add_column(column)
        for f in result.findings:
            table.add_row(f.source, f.unit_code or "-", f.reason, f.detail)
        console().print(table)


def print_register(summary: RegisterSummary) -> None:
    from keukentafel.usecases.register_summary import TENURE_ORDER

    out = console()
    run = summary.last_run
    if run:
        out.print(
            f"Register of [bold]{summary.corporation_code}[/bold], last sync run {run['id']} "
            f"from {run['source']}: {run['outcome']} at {run['started_at']:%Y-%m-%d %H:%M} UTC"
        )
        if run["outcome"] != "succeeded" and run["message"]:
            out.print(f"[yellow]{run['message']}[/yellow]")
    else:
        out.print(f"Register of [bold]{summary.corporation_code}[/bold]: never synced")
    for project in summary.projects:
        table = Table(
            title=f"{project.project.code} {project.project.name} ({project.project.kind.value})"
        )
        table.add_column("complex")
        table.add_column("units", justify="right")
        table.add_column("households", justify="right")
        table.add_column("with co-tenants", justify="right")
        for tenure in TENURE_ORDER:
            table.add_column(TENURE_HEADERS.get(tenure, tenure), justify="right")
        for c in project.complexes:
            table.add_row(
                c.complex_code,
                str(c.units),
                str(c.households),
                str(c.co_tenant_households),
                *(str(c.tenure.get(t, 0)) for t in TENURE_ORDER),
            )
        table.add_row(
            "total",
            str(project.units),
            str(project.households),
            "",
            *("" for _ in TENURE_ORDER),
            style="bold",
        )
        out.print(table)
    print_out_of_scope(summary.out_of_scope)
    if summary.kept_aside:
        print_kept_aside(summary.kept_aside)
    else:
        out.print("No rows kept aside in the last run.")
    if summary.contact_problems:
        table = Table(title="Contact points kept aside (no message uses them; fix them in the ERP)")
        for column in ("unit", "relation", "kind", "problem"):
            table.add_column(column)
        for problem in summary.contact_problems:
            table.add_row(*problem)
        out.print(table)


# --- privacy: the purge, the access export, the audit log --------------------------------------


def print_purge(report: PurgeReport) -> None:
    """What a purge removed: counts per kind and unit codes, never names."""
    out = console()
    if not report.due_projects:
        out.print(f"{report.corporation_code}: no project's retention has passed on {report.on}")
    for code, keep_until in report.due_projects:
        out.print(f"Project {code}: personal data kept until {keep_until}; due on {report.on}")
    table = Table(title=f"Purge of {report.corporation_code} on {report.on}")
    table.add_column("what")
    table.add_column("removed", justify="right")
    for kind, count in report.counts.items():
        table.add_row(kind.replace("_", " "), str(count))
    table.add_row("units", str(len(report.units)), style="bold")
    out.print(table)
    if report.units:
        out.print(f"Units purged: {', '.join(report.units)}")
    elif report.due_projects:
        out.print("Nothing left to remove: the data was removed by an earlier purge.")
    if report.kept_units:
        out.print(
            f"Kept (shared with a project that keeps its data): {', '.join(report.kept_units)}"
        )


def print_retention(plan: RetentionPlan) -> None:
    """Per project: running, kept until a day, or due (a dry run of the purge)."""
    table = Table(title=f"Retention on {plan.on}")
    for column in ("project", "ended", "months kept", "kept until", "state"):
        table.add_column(column)
    for project in (*plan.due, *plan.keeping):
        state = (
            "due" if project in plan.due else ("running" if project.end_date is None else "kept")
        )
        table.add_row(
            project.code,
            str(project.end_date or "-"),
            str(project.retention_months),
            str(project.keep_until or "-"),
            state,
        )
    console().print(table)
    if plan.shared_complexes:
        console().print(
            f"Complexes kept for a project that keeps its data: "
            f"{', '.join(sorted(plan.shared_complexes))}"
        )


def print_export(result: ExportResult) -> None:
    """Where an access export went and what is in it (counts only)."""
    table = Table(title=f"Access export of unit {result.unit_code}")
    table.add_column("section")
    table.add_column("items", justify="right")
    for section, count in result.items.items():
        table.add_row(section.replace("_", " "), str(count))
    out = console()
    out.print(table)
    out.print(
        f"Residents: {result.residents}; letters copied: {result.letters_copied}; "
        f"scans copied: {result.scans_copied}"
    )
    out.print(f"JSON: {result.json}\nPDF:  {result.pdf}")
    if result.restricted_notes_left_out:
        out.print(
            f"[yellow]{result.restricted_notes_left_out} restricted note(s) are not in the export "
            "(special-category data never leaves the system); see the README.[/yellow]"
        )


def print_audit(entries: list[AuditEntry]) -> None:
    table = Table(title="Audit log")
    for column in ("#", "at (UTC)", "what", "who", "unit", "subject"):
        table.add_column(column)
    for entry in entries:
        e = entry.event
        table.add_row(
            str(entry.id),
            f"{e.at:%Y-%m-%d %H:%M}",
            e.kind.value,
            e.actor,
            e.unit_code or "-",
            e.subject,
        )
    console().print(table)


# --- consent (art. 7:220 BW): unit codes, party ids, counts and reasons; never names ------------


def print_consent_tally(tally: ProjectTally, *, units: bool = False) -> None:
    """Per ballot the counts, the fraction and percentage, the threshold and the presumption;
    with ``units`` every unit's status, notice date and last day."""
    out = console()
    out.print(
        f"Consent tally of [bold]{tally.project_code}[/bold] at the end of {tally.as_of} "
        f"(Europe/Amsterdam): {tally.homes} rented homes in scope, {tally.excluded} excluded, "
        f"{tally.owners} owners (not counted), {tally.vacant} vacant",
        highlight=False,
    )
    table = Table(title="Ballots")
    columns = ("ballot", "agreed", "declined", "incomplete", "no answer", "denominator", "%")
    for column in (*columns, "threshold", "presumption", "since", "lost on"):
        table.add_column(column, justify="left" if column == "ballot" else "right")
    for b in tally.ballots:
        threshold = f"{b.threshold.numerator}/{b.threshold.denominator}"
        table.add_row(
            b.ballot,
            str(b.agreed),
            str(b.declined),
            str(b.incomplete),
            str(b.no_answer),
            str(b.denominator),
            str(b.percentage) if b.percentage is not None else "-",
            threshold,
            "applies" if b.presumption_applies else "no",
            str(b.presumption_since or "-"),
            str(b.presumption_lost_on or "-"),
        )
    out.print(table)
    if units:
        print_consent_units(tally)


def print_consent_units(tally: ProjectTally) -> None:
    table = Table(title=f"Units of {tally.project_code} on {tally.as_of}")
    for column in ("unit", "status", "lease", "notice date", "last day"):
        table.add_column(column)
    for unit in tally.units:
        status = unit.status.value if unit.status else "mixed"
        table.add_row(
            unit.unit_code,
            status,
            unit.lease_id or "-",
            str(unit.notice_date or "-"),
            str(unit.last_day or "-"),
        )
    console().print(table)


def print_consent_household(status: HouseholdStatus) -> None:
    out = console()
    state = status.status.value if status.status else "mixed"
    out.print(
        f"{status.unit_code} ({status.tenure.value}) on {status.as_of}: {state}; lease "
        f"{status.lease_id or '-'}; notice {status.notice_date or '-'}, last day "
        f"{status.last_day or '-'}",
        highlight=False,
    )
    for party in status.parties:
        answers = ", ".join(f"{ballot} {a.value}" for ballot, a in party.answers.items())
        out.print(f"  {party.party_id} ({party.role.value}): {answers}", highlight=False)


def print_consent_recorded(report: RecordReport) -> None:
    out = console()
    for entry in report.admitted:
        out.print(f"recorded {entry.id}", highlight=False)
    for refusal in report.refused:
        out.print(f"[yellow]refused[/yellow] ({refusal.code.value}): {refusal.reason}")


def print_consent_import(report: ImportReport) -> None:
    """Counts by outcome, then every row set aside with its reason."""
    from keukentafel.usecases.consent_import import count_by_code

    out = console()
    out.print(
        f"{report.file} (SHA-256 {report.sha256[:12]}…): {len(report.rows)} row(s), "
        f"{report.recorded} recorded, {len(report.set_aside)} set aside",
        highlight=False,
    )
    if report.ignored_columns:
        out.print(f"Columns not read: {', '.join(report.ignored_columns)}", highlight=False)
    table = Table(title="Rows by outcome")
    table.add_column("outcome")
    table.add_column("rows", justify="right")
    for code, count in sorted(count_by_code(report.rows).items()):
        table.add_row(code, str(count))
    out.print(table)
    if report.set_aside:
        aside = Table(title="Rows set aside (nothing stored for them)")
        for column in ("row", "unit", "reason", "detail"):
            aside.add_column(column)
        for row in report.set_aside:
            aside.add_row(str(row.number), row.unit_code or "-", row.code, row.reason)
        out.print(aside)


def print_consent_evaluation(result: dict[str, Any]) -> None:
    """The what-if evaluation without --json: ballots and what was refused."""
    out = console()
    out.print(f"{result['project']} at the end of {result['as_of']}", highlight=False)
    for ballot in result["ballots"]:
        out.print(
            f"  {ballot['ballot']}: {ballot['agreed']} of {ballot['denominator']} agreed "
            f"({ballot['percentage']}%), presumption "
            f"{'applies' if ballot['presumption_applies'] else 'does not apply'}",
            highlight=False,
        )
    for refused in result["refused"]:
        out.print(
            f"  refused {refused['entry']} ({refused['code']}): {refused['reason']}",
            highlight=False,
        )


def print_consent_notices(tally: ProjectTally, *, limit: int | None = None) -> None:
    """The units that got the 70% notice: status, notice date, last day to go to court (the
    first ``limit`` of them, and how many more)."""
    noticed = [unit for unit in tally.units if unit.notice_date is not None]
    table = Table(title=f"70% notices of {tally.project_code} (last day = notice date + 56 days)")
    for column in ("unit", "status", "notice date", "last day to go to court"):
        table.add_column(column)
    for unit in noticed[:limit]:
        status = unit.status.value if unit.status else "mixed"
        table.add_row(unit.unit_code, status, str(unit.notice_date), str(unit.last_day))
    console().print(table)
    if limit is not None and len(noticed) > limit:
        console().print(f"... and {len(noticed) - limit} more ({len(noticed)} notices in all)")


# --- planning and contractor feeds (issue 15): unit codes, counts and reasons, never names ---


def print_appointment(appointment: Appointment, what: str = "Appointment") -> None:
    slot = appointment.slot
    when = f"{slot.start:%Y-%m-%d %H:%M} - {slot.end:%Y-%m-%d %H:%M}" if slot else "no time yet"
    console().print(
        f"{what} [bold]{appointment.code}[/bold]: unit {appointment.unit_code}, "
        f"{appointment.kind.value.replace('_', ' ')}, {appointment.status.value} "
        f"({appointment.status.naam.lower()}), {when}, version {appointment.version}",
        highlight=False,
    )


def print_slots(slots: list[Slot]) -> None:
    table = Table(title="Free slots")
    table.add_column("day")
    table.add_column("from")
    table.add_column("to")
    for slot in slots:
        table.add_row(f"{slot.start:%a %Y-%m-%d}", f"{slot.start:%H:%M}", f"{slot.end:%H:%M}")
    console().print(table)


def print_feeds(summary: FeedsSummary) -> None:
    out = console()
    out.print(
        f"Appointment letters: {summary.letters}; guides' calendar events: "
        f"{summary.calendar_events}"
    )
    if summary.contractors:
        columns = sorted({key for row in summary.contractors for key in row} - {"contractor"})
        table = Table(title="Contractor feeds")
        table.add_column("contractor")
        for column in columns:
            table.add_column(column, justify="right")
        for row in summary.contractors:
            table.add_row(row["contractor"], *(str(row.get(c, 0)) for c in columns))
        out.print(table)
    if summary.erp:
        out.print(
            "Back to the ERP: " + ", ".join(f"{k} {v}" for k, v in summary.erp.items()),
            highlight=False,
        )
    for problem in summary.problems:
        out.print(f"[yellow]{problem}[/yellow]", highlight=False)


def print_inbound(report: InboundReport) -> None:
    out = console()
    if report.duplicate:
        out.print(f"Message {report.message_id} was received before: nothing applied again.")
        return
    out.print(
        f"Message {report.message_id}: {report.applied} appointment(s) changed "
        f"({', '.join(report.units) or 'none'}); {len(report.refused)} line(s) kept aside.",
        highlight=False,
    )
    for line in report.refused:
        out.print(f"  [yellow]{line}[/yellow]", highlight=False)


def print_register_data(export: RegisterExport, units: int = 2) -> None:
    """A few units of the register as ``register --format json`` writes them (the demo), and
    what the whole export holds: units, contact problems, addresses the post must look at."""
    from keukentafel.cli.register_files import export_data

    data = export_data(export)
    problems = sum(len(u["contact_problems"]) for u in data["units"])
    incomplete = sum(1 for u in data["units"] if not u["postally_complete"])
    out = console()
    out.print(
        f"register --format json: {len(data['units'])} units, {problems} contact point(s) kept "
        f"aside, {incomplete} address(es) without a postcode, {len(data['kept_aside'])} row(s) "
        f"kept aside; {units} of the units (one with a co-tenant, when there is one):"
    )
    shown = [u for u in data["units"] if len(u["parties"]) > 1][:1]
    shown += [u for u in data["units"] if u not in shown][: units - len(shown)]
    out.print_json(data=shown, ensure_ascii=False)


def print_run_failure(state: str, message: str, where: str) -> None:
    """A run that did not complete: its cause in one line, and where to look."""
    out = console()
    out.print(f"[red]{state.lower()}:[/red] {message}", highlight=False, soft_wrap=True)
    if where:
        out.print(f"look: {where}", highlight=False, soft_wrap=True)


def print_last_run_kept_aside(summary: RegisterSummary) -> None:
    """``register --kept-aside``: the last sync, its message and every row it kept aside (also
    after a failed or refused run: they are read from the run's record in the store)."""
    out = console()
    run = summary.last_run
    if run is None:
        out.print(f"Register of {summary.corporation_code}: never synced")
        return
    out.print(
        f"Last sync run {run['id']} of {summary.corporation_code} from {run['source']}: "
        f"{run['outcome']} at {run['started_at']:%Y-%m-%d %H:%M} UTC",
        highlight=False,
    )
    if run["message"]:
        out.print(run["message"], highlight=False, markup=False)
    if summary.kept_aside:
        print_kept_aside(summary.kept_aside)
    else:
        out.print("No rows kept aside in the last run.")


def print_retry(requeued: int, unit_codes: list[str], mailing_keys: list[str]) -> None:
    out = console()
    if not requeued:
        out.print("No failed messages to retry.")
        return
    shown = ", ".join(unit_codes[:20]) + (" ..." if len(unit_codes) > 20 else "")
    out.print(
        f"{requeued} failed message(s) back in the outbox ({', '.join(mailing_keys)}), "
        f"units {shown}. `keukentafel mailing dispatch` sends them (the scheduled dispatcher "
        "does within 10 minutes).",
        highlight=False,
    )


def print_checks(checks: list[tuple[str, bool, str]]) -> None:
    """``keukentafel doctor``: one line per check."""
    for name, ok, detail in checks:
        mark = "[green]ok  [/green]" if ok else "[red]FAIL[/red]"
        console().print(f"{mark} {name}: {detail}", highlight=False, soft_wrap=True)
