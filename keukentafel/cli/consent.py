"""The ``keukentafel consent`` commands: record answers, import scanned forms, tally, notice,
report, and the legal team's what-if (docs/consent.md).

Every command that works on a corporation makes its App through the same helper as the other
commands (``keukentafel.cli.app._corporation``, imported when a command runs, since app.py
registers this group) and prints through :mod:`keukentafel.cli.present`: unit codes, party ids,
counts and reasons, never names. Dates are Europe/Amsterdam calendar dates; a moment without a
time is local midnight.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from keukentafel.cli import present
from keukentafel.config import ConfigError

if TYPE_CHECKING:
    from keukentafel.domain.consent import Evidence

consent_app = typer.Typer(
    help="Consent (art. 7:220 BW): answers, the 70% tally, the notice, the report.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Corporation file (YAML); default: KEUKENTAFEL_CONFIG"),
]
ProjectOption = Annotated[
    str, typer.Option("--project", help="Project code with a consent profile")
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Evaluate at the end of this day (YYYY-MM-DD; default today)"),
]
ByOption = Annotated[
    str, typer.Option("--by", help="Who records this (a staff member's name or initials)")
]


def _errors() -> tuple[type[Exception], ...]:
    """What ends a command with its message: configuration and form-file errors (a form file
    that cannot be read is a ConfigError), a value that cannot be used, an unknown unit."""
    from keukentafel.usecases.consent import UnitNotInProject

    return (ConfigError, ValueError, UnitNotInProject)


def _actor() -> str:
    """Who the audit log names for a change of consent made here (the ``--by`` text stays in
    the ledger)."""
    return f"cli:{getpass.getuser()}"


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {text!r}") from None


def _moment(text: str | None) -> datetime | None:
    """A date (local midnight) or a local date-time, as given on the command line."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date or date-time (ISO 8601): {text!r}") from None
    return moment


def _evidence(path: Path | None) -> Evidence | None:
    from keukentafel.domain.consent import Evidence

    if path is None:
        return None
    try:
        return Evidence(path.name, hashlib.sha256(path.read_bytes()).hexdigest())
    except OSError as exc:
        raise typer.BadParameter(
            f"{path}: cannot read the evidence file ({exc.strerror})"
        ) from None


@consent_app.command("record")
def record(
    project: ProjectOption,
    unit: Annotated[str, typer.Option("--unit", help="Unit code (VHE)")],
    answer: Annotated[str, typer.Option("--answer", help="agree | decline | withdraw")],
    by: ByOption,
    party: Annotated[
        list[str] | None,
        typer.Option("--party", help="A party's relation id (repeat; none: the household)"),
    ] = None,
    package: Annotated[
        str | None, typer.Option("--package", help="Package code (none: the whole proposal)")
    ] = None,
    channel: Annotated[str, typer.Option(help="paper | visit | phone | email | web")] = "paper",
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="When it was given: 2027-02-10 or 2027-02-10T10:15 (default now)"
        ),
    ] = None,
    evidence: Annotated[
        Path | None, typer.Option("--evidence", help="The scan or file that proves it")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Record one answer or withdrawal of a household or of named parties."""
    from keukentafel.cli.app import _corporation
    from keukentafel.domain.consent import Channel

    try:
        chosen = Channel(channel)
    except ValueError:
        raise typer.BadParameter(f"channel must be one of {', '.join(Channel)}") from None
    with _corporation(config, errors=_errors()) as command:
        outcome = command.app.record_consent_answer(
            command.code,
            project,
            unit,
            answer,
            recorded_by=by,
            parties=party or (),
            package=package,
            channel=chosen,
            at=_moment(at),
            evidence=_evidence(evidence),
            actor=_actor(),
            via="cli",
        )
    _print_outcome(outcome)


def _print_outcome(outcome: object) -> None:
    from keukentafel.domain.consent import Refusal

    if isinstance(outcome, Refusal):
        present.print_error(f"refused ({outcome.code.value}): {outcome.reason}")
        raise typer.Exit(1)
    present.console().print(f"recorded {getattr(outcome, 'id', '')}", highlight=False)


@consent_app.command("exclude")
def exclude(
    project: ProjectOption,
    unit: Annotated[str, typer.Option("--unit", help="Unit code (VHE)")],
    reason: Annotated[str, typer.Option("--reason", help="Why the unit does not count")],
    decided_by: Annotated[str, typer.Option("--decided-by", help="Who decided it")],
    by: ByOption,
    at: Annotated[str | None, typer.Option("--at", help="From when (default now)")] = None,
    config: ConfigOption = None,
) -> None:
    """Take a unit out of the denominator, with the reason and who decided."""
    from keukentafel.cli.app import _corporation
    from keukentafel.usecases.consent import ExclusionInput

    with _corporation(config, errors=_errors()) as command:
        moment = _moment(at) or command.app.clock()
        item = ExclusionInput(unit_code=unit, at=moment, reason=reason, decided_by=decided_by)
        report = command.app.record_consent(
            command.code, project, [item], recorded_by=by, actor=_actor(), via="cli"
        )
    _print_outcome(report.outcomes[0])


@consent_app.command("correct")
def correct(
    project: ProjectOption,
    entry: Annotated[str, typer.Option("--entry", help="The id of the entry recorded wrongly")],
    reason: Annotated[str, typer.Option("--reason", help="What was wrong")],
    by: ByOption,
    config: ConfigOption = None,
) -> None:
    """Void an entry recorded wrongly (record the right one next to it)."""
    from keukentafel.cli.app import _corporation
    from keukentafel.usecases.consent import CorrectionInput

    with _corporation(config, errors=_errors()) as command:
        item = CorrectionInput(corrects=entry, reason=reason)
        report = command.app.record_consent(
            command.code, project, [item], recorded_by=by, actor=_actor(), via="cli"
        )
    _print_outcome(report.outcomes[0])


@consent_app.command("import")
def import_forms(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX list of scanned forms")],
    project: ProjectOption,
    by: ByOption,
    scans: Annotated[
        Path | None, typer.Option("--scans", help="Folder of the scans (default: next to FILE)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Import scanned forms; good rows are stored in one transaction, bad rows set aside."""
    from keukentafel.cli.app import _corporation

    with _corporation(config, errors=_errors()) as command:
        report = command.app.import_consent_forms(
            command.code, project, file, recorded_by=by, scans=scans, actor=_actor()
        )
    present.print_consent_import(report)


@consent_app.command("tally")
def tally(
    project: ProjectOption,
    as_of: AsOfOption = None,
    units: Annotated[bool, typer.Option(help="List every unit's status and dates")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the evaluator's JSON")] = False,
    config: ConfigOption = None,
) -> None:
    """The 70% tally of a project on a day, per ballot (and per unit)."""
    from keukentafel.cli.app import _corporation

    with _corporation(config, errors=_errors()) as command:
        if as_json:
            result = command.app.evaluate_consent(command.code, project, on=_day(as_of))
            typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
            return
        found = command.app.consent_tally(command.code, project, on=_day(as_of))
        present.print_consent_tally(found, units=units)


@consent_app.command("household")
def household(
    project: ProjectOption,
    unit: Annotated[str, typer.Option("--unit", help="Unit code (VHE)")],
    as_of: AsOfOption = None,
    config: ConfigOption = None,
) -> None:
    """One household's consent status, notice date and last day."""
    from keukentafel.cli.app import _corporation

    with _corporation(config, errors=_errors()) as command:
        status = command.app.consent_household(command.code, project, unit, on=_day(as_of))
    present.print_consent_household(status)


@consent_app.command("notice")
def notice(
    project: ProjectOption,
    content: Annotated[Path, typer.Option(help="YAML with the mailing_id and details")],
    package: Annotated[
        str | None, typer.Option("--package", help="The package (a per-package vote)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """The 70% notice to the tenants who did not agree (refused below the threshold). Its
    e-mails are delivered by the outbox dispatcher (``keukentafel mailing dispatch``)."""
    import getpass

    from keukentafel.bootstrap import mailing_content
    from keukentafel.cli.app import _corporation

    with _corporation(config, errors=(Exception,)) as command:
        on = command.app.today()
        result = command.app.consent_mailing(
            command.code,
            project,
            "consent_reached",
            on=on,
            content=mailing_content("consent_reached", on, content, sample=False),
            started_by=f"cli:{getpass.getuser()}",
            package=package,
        )
    table = {k: v for k, v in result.as_dict().items() if isinstance(v, int)}
    present.console().print(
        ", ".join(f"{k} {v}" for k, v in table.items()) + f"\nPrint batch: {result.print_pdf}",
        highlight=False,
    )


@consent_app.command("report")
def report(
    project: ProjectOption,
    as_of: AsOfOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the files (default: <output>/consent)")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """The corporation's report: PDF (unit codes only) and XLSX (with names)."""
    from keukentafel.cli.app import _corporation

    with _corporation(config, errors=_errors()) as command:
        files = command.app.consent_report(command.code, project, on=_day(as_of), out_dir=out)
    present.console().print(f"PDF:  {files.pdf}\nXLSX: {files.xlsx}", highlight=False)


@consent_app.command("evaluate")
def evaluate(
    case: Annotated[Path, typer.Argument(help="A consent case file (YAML or JSON)")],
    as_of: AsOfOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """What-if for the legal team: evaluate a self-contained case file (docs/consent.md)."""
    from keukentafel.domain.consent import CaseError
    from keukentafel.usecases.consent_case import evaluate_file

    try:
        result = evaluate_file(case, _day(as_of))
    except (CaseError, OSError) as exc:
        present.print_error(str(exc))
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        present.print_consent_evaluation(result)
