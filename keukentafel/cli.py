"""The ``keukentafel`` command line: demo, sync, register, letters.

Operator output is English and carries counts and unit codes, never residents' names. Errors in a
configuration file are printed as the file, the key and what is wrong, without a traceback.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from keukentafel.config import ConfigError
from keukentafel.settings import Settings, quiet_prefect_defaults
from keukentafel.usecases.register_summary import TENURE_ORDER, RegisterSummary

app = typer.Typer(
    help="Keukentafel: resident guidance for renovation projects.", no_args_is_help=True
)
console = Console() if sys.stdout.isatty() else Console(width=120)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Corporation file (YAML); default: KEUKENTAFEL_CONFIG"),
]


def _settings() -> Settings:
    quiet_prefect_defaults()
    return Settings.from_env()


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


@app.command()
def demo(
    units: Annotated[int, typer.Option(help="How many units the fake ERP generates")] = 600,
    out: Annotated[Path, typer.Option(help="Folder for the demo's database and output")] = Path(
        "out/demo"
    ),
) -> None:
    """Run the whole pipeline on generated residents: fake ERP, sync, register, letters."""
    quiet_prefect_defaults()
    from keukentafel.demo import run_demo

    run_demo(console, out_dir=out, units=units)


@app.command()
def sync(
    config: ConfigOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
) -> None:
    """Sync one corporation's register from its source (runs the Prefect flow)."""
    settings = _settings()
    path = config or settings.config_path
    try:
        from keukentafel.config import load_config

        load_config(path)  # fail fast, with a readable message, before Prefect starts
        from flows.sync_register import sync_register_flow

        summary = sync_register_flow(str(path), show_progress=progress)
    except ConfigError as exc:
        _fail(str(exc))
        return
    except Exception as exc:  # the flow already recorded the run; say why, briefly
        _fail(str(exc))
        return
    print_sync_summary(summary)


@app.command()
def register(config: ConfigOption = None) -> None:
    """Show the register per project and complex: units, households, tenure, rows kept aside."""
    settings = _settings()
    from keukentafel.bootstrap import summarise

    try:
        summary = summarise(config or settings.config_path, settings, date.today())
    except ConfigError as exc:
        _fail(str(exc))
        return
    print_register(summary)


TENURE_HEADERS = {
    "corporation_rental": "rented",
    "private_rental": "private rental",
    "owner_occupied": "owner-occupied",
    "vacant": "vacant",
}


team_app = typer.Typer(help="The guidance team's own contact lists in Microsoft 365.")
app.add_typer(team_app, name="team")


@team_app.command("pull")
def team_pull(config: ConfigOption = None) -> None:
    """Pull the team's SharePoint list / Excel file and merge it into the register view."""
    settings = _settings()
    path = config or settings.config_path
    try:
        from keukentafel.bootstrap import load_corporation

        load_corporation(path)
        from flows.team_contacts import pull_team_contacts_flow

        result = pull_team_contacts_flow(str(path))
    except Exception as exc:
        _fail(str(exc))
        return
    print_team_pull(result)


letters_app = typer.Typer(help="Letters, e-mails and invitations: previews and template checks.")
app.add_typer(letters_app, name="letters")
mailing_app = typer.Typer(help="Mailings: print batch, e-mails through the outbox.")
app.add_typer(mailing_app, name="mailing")


@letters_app.command("preview")
def letters_preview(
    kind: Annotated[str, typer.Argument(help="Message kind, e.g. announcement, info_evening")],
    unit: Annotated[
        str, typer.Option("--unit", help="Unit code (VHE) of a household in the register")
    ],
    config: ConfigOption = None,
    out: Annotated[Path, typer.Option(help="Folder for the preview files")] = Path("out/preview"),
) -> None:
    """Render one letter for one household as PDF and HTML, with sample event and details."""
    settings = _settings()
    path = config or settings.config_path
    from keukentafel.bootstrap import letters_config, load_corporation, open_store
    from keukentafel.letters.batch import preview
    from keukentafel.usecases.team_contacts import effective_households

    try:
        corporation = load_corporation(path)
        letters = letters_config(corporation, path)
    except ConfigError as exc:
        _fail(str(exc))
        return
    on = date.today()
    households = effective_households(
        open_store(settings.database_url), corporation.corporation.code, on
    )
    household = next((h for h in households if h.unit.code == unit), None)
    if household is None:
        _fail(
            f"unit {unit} is not in the register of {corporation.corporation.code}; run a sync first"
        )
        return
    project = next(
        (
            p
            for p in corporation.domain_projects()
            if household.unit.complex_code in p.complex_codes
        ),
        None,
    )
    pdf_path, html_path = preview(kind, household, letters, out, project=project, on=on)
    console.print(f"PDF:  {pdf_path}\nHTML: {html_path}")


@letters_app.command("calibrate")
def letters_calibrate(
    config: ConfigOption = None,
    out: Annotated[Path, typer.Option(help="Where to write the calibration page")] = Path(
        "out/envelope-calibration.pdf"
    ),
) -> None:
    """Print a page that outlines the configured envelope window, to hold against an envelope."""
    settings = _settings()
    path = config or settings.config_path
    from keukentafel.bootstrap import letters_config, load_corporation
    from keukentafel.letters.pdf import calibration_pdf

    try:
        letters = letters_config(load_corporation(path), path)
    except ConfigError as exc:
        _fail(str(exc))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(calibration_pdf(letters.envelope, letters.branding.return_address))
    e = letters.envelope
    console.print(f"{out}: window {e.name} at x={e.x} y={e.y} mm, {e.width} x {e.height} mm")


@letters_app.command("check")
def letters_check(
    templates: Annotated[
        Path | None, typer.Option(help="Templates folder (default: the shipped one)")
    ] = None,
) -> None:
    """Render every template with sample households and run the B1 readability check."""
    from keukentafel.letters.b1 import check_all, report

    text, error_count = report(check_all(templates))
    console.print(text, highlight=False, markup=False)
    if error_count:
        raise typer.Exit(1)


@mailing_app.command("send")
def mailing_send(
    kind: Annotated[str, typer.Argument(help="Message kind, e.g. info_evening")],
    project: Annotated[
        str, typer.Option("--project", help="Project code from the corporation file")
    ],
    config: ConfigOption = None,
    content: Annotated[Path | None, typer.Option(help="YAML with the event and details")] = None,
    sample: Annotated[bool, typer.Option(help="Use sample event and details (demos)")] = False,
) -> None:
    """Compose a mailing for a project, write the print batch, and e-mail through the outbox."""
    settings = _settings()
    path = config or settings.config_path
    try:
        from keukentafel.bootstrap import load_corporation, mailing_content

        load_corporation(path)
        mailing_content(kind, date.today(), content, sample=sample)  # fail fast on a bad file
        from flows.mailing import mailing_flow

        result = mailing_flow(
            str(path), project, kind, content_path=str(content) if content else None, sample=sample
        )
    except Exception as exc:
        _fail(str(exc))
        return
    print_mailing(result)


@mailing_app.command("dispatch")
def mailing_dispatch(config: ConfigOption = None) -> None:
    """Deliver what is still in the outbox (after an outage or a crash); never sends twice."""
    settings = _settings()
    path = config or settings.config_path
    try:
        from flows.mailing import dispatch_flow

        delivered = dispatch_flow(str(path))
    except Exception as exc:
        _fail(str(exc))
        return
    print_mailing({"prepared": None, "delivered": delivered})


def print_mailing(result: dict[str, Any]) -> None:
    prepared, delivered = result["prepared"], result["delivered"]
    table = Table(title="Mailing" if prepared else "Outbox dispatch")
    table.add_column("what")
    table.add_column("value", justify="right")
    if prepared:
        for key in ("letters", "pages", "registered", "emails", "enqueued", "invitations"):
            table.add_row(key, str(prepared[key]))
    if delivered.get("dispatched"):
        for key in ("sent", "reconciled", "retried_later", "failed"):
            table.add_row(key.replace("_", " "), str(delivered[key]))
    for status, count in delivered["outbox"].items():
        table.add_row(f"outbox {status}", str(count))
    console.print(table)
    if not delivered.get("dispatched"):
        console.print(f"[yellow]{delivered['reason']}[/yellow]")
    if prepared:
        console.print(f"Print batch: {prepared['print_pdf']}\nManifest:    {prepared['manifest']}")
        console.print(f"Archive, e-mails and invitations in {prepared['out_dir']}")
        if prepared["skipped"]:
            console.print(
                f"{len(prepared['skipped'])} household(s) without e-mail (letter only) or without a letter"
            )


def print_sync_summary(summary: dict[str, object]) -> None:
    counts = summary["counts"]
    assert isinstance(counts, dict)
    table = Table(title=f"Sync run {summary['run_id']}: {summary['outcome']}", show_lines=False)
    table.add_column("change")
    table.add_column("count", justify="right")
    for kind, count in counts.items():
        if count:
            table.add_row(kind, str(count))
    table.add_row("rows written", str(summary["rows_written"]), style="bold")
    kept = summary["kept_aside"]
    assert isinstance(kept, list)
    table.add_row("kept aside", str(len(kept)), style="yellow" if kept else None)
    console.print(table)
    if kept:
        print_kept_aside([(k["entity"], k["unit_code"], k["reason"], k["detail"]) for k in kept])


def print_kept_aside(rows: list[tuple[str, str, str, str]]) -> None:
    table = Table(title="Rows kept aside (stored data untouched)")
    for column in ("entity", "unit", "reason", "detail"):
        table.add_column(column)
    for entity, unit_code, reason, detail in rows:
        table.add_row(entity, unit_code or "-", reason, detail)
    console.print(table)


def print_team_pull(result: dict[str, Any]) -> None:
    for source, counts in result["counts"].items():
        table = Table(title=f"Team contacts from {source}")
        table.add_column("what")
        table.add_column("count", justify="right")
        for what, count in counts.items():
            table.add_row(what.replace("_", " "), str(count))
        console.print(table)
    if result["findings"]:
        table = Table(title="Conflicts and rows that fit no household (the ERP value is kept)")
        for column in ("source", "unit", "reason", "detail"):
            table.add_column(column)
        for f in result["findings"]:
            table.add_row(f["source"], f["unit_code"] or "-", f["reason"], f["detail"])
        console.print(table)


def print_register(summary: RegisterSummary) -> None:
    run = summary.last_run
    if run:
        console.print(
            f"Register of [bold]{summary.corporation_code}[/bold], last sync run {run['id']} "
            f"from {run['source']}: {run['outcome']} at {run['started_at']:%Y-%m-%d %H:%M} UTC"
        )
        if run["outcome"] != "succeeded" and run["message"]:
            console.print(f"[yellow]{run['message']}[/yellow]")
    else:
        console.print(f"Register of [bold]{summary.corporation_code}[/bold]: never synced")
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
        console.print(table)
    if summary.kept_aside:
        print_kept_aside(summary.kept_aside)
    else:
        console.print("No rows kept aside in the last run.")


def main() -> None:  # pragma: no cover - console entry
    os.environ.setdefault("DO_NOT_TRACK", "1")
    app()
