"""Everything the command line and the demo print: tables of counts, unit codes and reasons.

Operator output is English and never carries residents' names. The console is made on first use
(a terminal gets its own width; anything else, such as a pipe or a test, 120 columns).
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from flows.results import Delivery, MailingOutcome, SyncSummary, TeamPullSummary
    from keukentafel.usecases.register_summary import RegisterSummary

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
        for key in ("sent", "reconciled", "retried_later", "failed"):
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
    if kept:
        print_kept_aside([(k.entity, k.unit_code, k.reason, k.detail) for k in kept])


def print_kept_aside(rows: list[tuple[str, str, str, str]]) -> None:
    table = Table(title="Rows kept aside (stored data untouched)")
    for column in ("entity", "unit", "reason", "detail"):
        table.add_column(column)
    for entity, unit_code, reason, detail in rows:
        table.add_row(entity, unit_code or "-", reason, detail)
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
    if summary.kept_aside:
        print_kept_aside(summary.kept_aside)
    else:
        out.print("No rows kept aside in the last run.")
