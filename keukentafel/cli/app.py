"""The ``keukentafel`` commands: demo, sync, register, team, letters, mailing.

Each command that works on a corporation makes one App (keukentafel/bootstrap.py) from the
settings and the one corporation file it is given (``--config``, or ``KEUKENTAFEL_CONFIG``),
installs it for the flows it runs, and prints through :mod:`keukentafel.cli.present`. Errors in a
configuration file are printed as the file, the key and what is wrong, without a traceback.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from keukentafel.bootstrap import App, CorporationRegistry, UnitNotInRegister, build, installed
from keukentafel.cli import present
from keukentafel.cli.planning import planning_app
from keukentafel.cli.privacy import privacy_app
from keukentafel.cli.replies import replies_app
from keukentafel.cli.web import web as web_command
from keukentafel.config import ConfigError, CorporationFile
from keukentafel.settings import Settings, quiet_prefect_defaults

app = typer.Typer(
    help="Keukentafel: resident guidance for renovation projects.", no_args_is_help=True
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Corporation file (YAML); default: KEUKENTAFEL_CONFIG"),
]


def _settings() -> Settings:
    quiet_prefect_defaults()
    return Settings.from_env()


def _fail(message: str) -> NoReturn:
    present.print_error(message)
    raise typer.Exit(2)


@dataclass(frozen=True)
class _Command:
    app: App
    corporation: CorporationFile

    @property
    def code(self) -> str:
        return self.corporation.code


@contextmanager
def _corporation(
    config: Path | None, *, errors: tuple[type[Exception], ...] = (ConfigError,)
) -> Iterator[_Command]:
    """The App for one corporation file, installed for the flows; ``errors`` end the command
    with their message (exit code 2), a configuration error before anything else runs."""
    settings = _settings()
    path = config or settings.config_path
    try:
        corporations = CorporationRegistry.from_files([path])
        corporation = corporations.single()
        with build(settings, corporations=corporations) as application, installed(application):
            yield _Command(application, corporation)
    except typer.Exit:
        raise
    except errors as exc:  # the flow already recorded the run; say why, briefly
        _fail(str(exc))


@app.command()
def demo(
    units: Annotated[int, typer.Option(help="How many units the fake ERP generates")] = 600,
    out: Annotated[Path, typer.Option(help="Folder for the demo's database and output")] = Path(
        "out/demo"
    ),
) -> None:
    """Run the whole pipeline on generated residents: fake ERP, sync, register, letters."""
    settings = _settings()
    from keukentafel.demo import run_demo

    run_demo(present.console(), settings, out_dir=out, units=units)


@app.command()
def sync(
    config: ConfigOption = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
) -> None:
    """Sync one corporation's register from its source (runs the Prefect flow)."""
    with _corporation(config, errors=(Exception,)) as command:
        from flows.sync_register import sync_register_flow

        summary = sync_register_flow(command.code, show_progress=progress)
    present.print_sync_summary(summary)


@app.command()
def register(
    config: ConfigOption = None,
    data_format: Annotated[
        str, typer.Option("--format", help="table (default), json, csv or xlsx")
    ] = "table",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (xlsx needs one); default: stdout"),
    ] = None,
) -> None:
    """Show the register per project and complex, or write it as data (--format json|csv|xlsx).

    Households are taken on today's date in Amsterdam. The fields of the data formats are
    described in docs/register.md."""
    from keukentafel.cli import register_files
    from keukentafel.domain.model import amsterdam_date

    if data_format not in register_files.FORMATS:
        _fail(f"--format must be one of {', '.join(register_files.FORMATS)}, not {data_format!r}")
    if data_format == "xlsx" and output is None:
        _fail("--format xlsx writes a file: give --output FILE")
    with _corporation(config) as command:
        on = amsterdam_date(command.app.clock())
        if data_format == "table":
            present.print_register(command.app.summarise(command.code, on))
            return
        export = command.app.export_register(command.code, on)
    if data_format == "xlsx":
        assert output is not None
        register_files.write_xlsx(export, output)
        present.console().print(f"{output}: {len(export.units)} units", highlight=False)
        return
    text = (
        register_files.to_json(export) if data_format == "json" else register_files.to_csv(export)
    )
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8", newline="")
        present.console().print(f"{output}: {len(export.units)} units", highlight=False)


app.add_typer(privacy_app, name="privacy")
team_app = typer.Typer(help="The guidance team's own contact lists in Microsoft 365.")
app.add_typer(team_app, name="team")


@team_app.command("pull")
def team_pull(config: ConfigOption = None) -> None:
    """Pull the team's SharePoint list / Excel file and merge it into the register view."""
    with _corporation(config, errors=(Exception,)) as command:
        command.app.m365(command.corporation)  # a missing section is said before Prefect starts
        from flows.team_contacts import pull_team_contacts_flow

        result = pull_team_contacts_flow(command.code)
    present.print_team_pull(result)


app.add_typer(planning_app, name="planning")
letters_app = typer.Typer(help="Letters, e-mails and invitations: previews and template checks.")
app.add_typer(letters_app, name="letters")
mailing_app = typer.Typer(help="Mailings: print batch, e-mails through the outbox.")
app.add_typer(mailing_app, name="mailing")
app.add_typer(replies_app, name="replies")  # keukentafel/cli/replies.py
app.command("web")(web_command)  # keukentafel/cli/web.py: the resident and staff pages


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
    with _corporation(config, errors=(ConfigError, UnitNotInRegister)) as command:
        command.app.letters(command.corporation)  # a missing section is an error before the store
        pdf_path, html_path = command.app.preview_letter(
            command.code, kind, unit, out, on=date.today()
        )
    present.console().print(f"PDF:  {pdf_path}\nHTML: {html_path}")


@letters_app.command("calibrate")
def letters_calibrate(
    config: ConfigOption = None,
    out: Annotated[Path, typer.Option(help="Where to write the calibration page")] = Path(
        "out/envelope-calibration.pdf"
    ),
) -> None:
    """Print a page that outlines the configured envelope window, to hold against an envelope."""
    from keukentafel.letters.pdf import calibration_pdf

    with _corporation(config) as command:
        letters = command.app.letters(command.corporation)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(calibration_pdf(letters.envelope, letters.branding.return_address))
    e = letters.envelope
    present.console().print(
        f"{out}: window {e.name} at x={e.x} y={e.y} mm, {e.width} x {e.height} mm"
    )


@letters_app.command("check")
def letters_check(
    templates: Annotated[
        Path | None, typer.Option(help="Templates folder (default: the shipped one)")
    ] = None,
) -> None:
    """Render every template with sample households and run the B1 readability check."""
    from keukentafel.letters.b1 import check_all, report

    text, error_count = report(check_all(templates))
    present.console().print(text, highlight=False, markup=False)
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
    with _corporation(config, errors=(Exception,)) as command:
        from keukentafel.bootstrap import mailing_content

        # Fail fast, before Prefect starts: the letters section, the link secret, the content.
        command.app.mailing_writer(command.corporation)
        mailing_content(kind, date.today(), content, sample=sample)
        from flows.mailing import mailing_flow

        result = mailing_flow(
            command.code,
            project,
            kind,
            content_path=str(content) if content else None,
            sample=sample,
            started_by=f"cli:{getpass.getuser()}",
        )
    present.print_mailing(result)


@mailing_app.command("dispatch")
def mailing_dispatch(config: ConfigOption = None) -> None:
    """Deliver what is still in the outbox (after an outage or a crash); never sends twice."""
    with _corporation(config, errors=(Exception,)) as command:
        from flows.mailing import dispatch_flow

        delivered = dispatch_flow(command.code)
    present.print_delivery(delivered)


from keukentafel.cli.consent import consent_app  # noqa: E402 - registered after the helpers it uses

app.add_typer(consent_app, name="consent")
