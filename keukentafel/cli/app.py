"""The ``keukentafel`` commands: demo, sync, register, team, letters, mailing, doctor.

Each command that works on a corporation makes one App (keukentafel/bootstrap.py) from the
settings and the one corporation file it is given (``--config``, or ``KEUKENTAFEL_CONFIG``),
installs it for the flows it runs, and prints through :mod:`keukentafel.cli.present`. Errors in a
configuration file and missing secrets are printed before anything runs, as the file, the key
and what is wrong, in at most three lines and without a traceback. A command runs its job
through flows/launch.py: as a Prefect flow when ``PREFECT_API_URL`` is set, else on its own (no
Prefect server is ever started). A run that did not complete prints its cause in one line and
where to look, and exits with 1. Prefect's own log lines show only with ``--verbose``.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from keukentafel.bootstrap import App, CorporationRegistry, UnitNotInRegister, build, installed
from keukentafel.cli import present
from keukentafel.cli.planning import planning_app
from keukentafel.cli.privacy import privacy_app
from keukentafel.cli.replies import replies_app
from keukentafel.cli.web import web as web_command
from keukentafel.config import ConfigError, CorporationFile
from keukentafel.settings import Settings, quiet_prefect_defaults

if TYPE_CHECKING:
    from flows.jobs import Outcome

app = typer.Typer(
    help="Keukentafel: resident guidance for renovation projects.", no_args_is_help=True
)
_options = {"verbose": False}
MAX_ERROR_LINES = 3


@app.callback()
def _main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show Prefect's own log lines too")
    ] = False,
) -> None:
    """Keukentafel: resident guidance for renovation projects."""
    _options["verbose"] = verbose


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Corporation file (YAML); default: KEUKENTAFEL_CONFIG"),
]


def _settings() -> Settings:
    quiet_prefect_defaults(verbose=_options["verbose"])
    return Settings.from_env()


def _fail(message: str) -> NoReturn:
    """An error in at most three lines (the rest: ``keukentafel doctor`` shows it all)."""
    lines = [line for line in message.splitlines() if line.strip()] or [message]
    if len(lines) > MAX_ERROR_LINES:
        more = len(lines) - (MAX_ERROR_LINES - 1)
        lines = [
            *lines[: MAX_ERROR_LINES - 1],
            f"... and {more} more line(s): see keukentafel doctor",
        ]
    present.print_error("\n".join(lines))
    raise typer.Exit(2)


@dataclass(frozen=True)
class _Command:
    app: App
    corporation: CorporationFile

    path: Path

    @property
    def code(self) -> str:
        return self.corporation.code

    def require_secrets(self, *sections: str) -> None:
        """End the command (before anything runs) when a secret the sections name is unset."""
        from keukentafel.config.secrets import describe_missing, missing_secrets

        missing = missing_secrets(self.corporation, self.app.settings.environ, *sections)
        if missing:
            _fail(f"{self.path}: {describe_missing(missing)}")

    def launch(self, job: str, **params: Any) -> Outcome[Any]:
        from flows.launch import launch

        return launch(job, self.app, self.code, **params)

    def finish(self, outcome: Outcome[Any]) -> None:
        """A run that did not complete: its cause in one line, where to look; exit code 1."""
        if outcome.ok:
            return
        where = outcome.where.replace(f"<the file of {self.code}>", str(self.path))
        present.print_run_failure(outcome.state, outcome.message, where)
        raise typer.Exit(1)


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
            yield _Command(application, corporation, path)
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
    max_shrink: Annotated[
        float | None,
        typer.Option(
            "--max-shrink",
            min=0.0,
            max=1.0,
            help="Allow this share of the register to go in this run only (e.g. 0.5); "
            "recorded in the run",
        ),
    ] = None,
) -> None:
    """Sync one corporation's register from its source (on Prefect when PREFECT_API_URL is set)."""
    with _corporation(config, errors=(Exception,)) as command:
        command.require_secrets("source")
        outcome = command.launch("sync", show_progress=progress, max_shrink=max_shrink)
        if outcome.value is not None:
            present.print_sync_summary(outcome.value)
        command.finish(outcome)


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Check one corporation's setup: its file, secrets, ERP, Microsoft 365, store, Prefect API.

    One line per check; the exit code is 1 when any check fails."""
    from keukentafel.bootstrap_doctor import diagnose

    settings = _settings()
    checks = diagnose(settings, config or settings.config_path)
    present.print_checks([(c.name, c.ok, c.detail) for c in checks])
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


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
    kept_aside: Annotated[
        bool,
        typer.Option(
            "--kept-aside", help="Only the last sync and the rows it kept aside (any outcome)"
        ),
    ] = False,
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
        if kept_aside:
            present.print_last_run_kept_aside(command.app.summarise(command.code, on))
            return
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
        command.app.m365(command.corporation)  # a missing section is said before anything runs
        command.require_secrets("m365")
        outcome = command.launch("team")
        if outcome.value is not None:
            present.print_team_pull(outcome.value)
        command.finish(outcome)


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
            command.code, kind, unit, out, on=command.app.today()
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

        # Fail fast, before anything runs: the letters section, the link secret, the content.
        command.app.mailing_writer(command.corporation)
        mailing_content(kind, command.app.today(), content, sample=sample)
        command.require_secrets("letters", "m365")
        outcome = command.launch(
            "mailing",
            project_code=project,
            kind=kind,
            content_path=str(content) if content else None,
            sample=sample,
            started_by=f"cli:{getpass.getuser()}",
        )
        if outcome.value is not None:
            present.print_mailing(outcome.value)
        command.finish(outcome)


@mailing_app.command("dispatch")
def mailing_dispatch(config: ConfigOption = None) -> None:
    """Deliver what is still in the outbox (after an outage or a crash); never sends twice."""
    with _corporation(config, errors=(Exception,)) as command:
        command.require_secrets("m365")
        outcome = command.launch("dispatch")
        if outcome.value is not None:
            present.print_delivery(outcome.value)
        command.finish(outcome)


@mailing_app.command("retry")
def mailing_retry(
    config: ConfigOption = None,
    mailing: Annotated[
        str | None,
        typer.Option("--mailing", help="Only this mailing (its id, or the whole key)"),
    ] = None,
) -> None:
    """Put the messages that failed for good back in the outbox, once their cause is fixed.

    Use it after a dispatch ended failed because the mail service refused the e-mails for good
    (e.g. a 403 until the app may send as the shared mailbox) and the cause is fixed; then
    `mailing dispatch` (or the scheduled dispatcher) sends each once."""
    with _corporation(config) as command:
        report = command.app.retry_failed_messages(
            command.code, mailing_key=mailing, actor=f"cli:{getpass.getuser()}"
        )
    present.print_retry(report.requeued, report.unit_codes, report.mailing_keys)


from keukentafel.cli.consent import consent_app  # noqa: E402 - registered after the helpers it uses

app.add_typer(consent_app, name="consent")
from keukentafel.cli import mailing_review, ops  # noqa: E402 - registered after the helpers

app.command("deploy")(ops.deploy)  # keukentafel/cli/ops.py: deployments on the work pool
app.add_typer(ops.alerts_app, name="alerts")  # keukentafel/cli/ops.py: `alerts apply`
mailing_app.command("plan")(mailing_review.mailing_plan)  # keukentafel/cli/mailing_review.py
