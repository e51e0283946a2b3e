"""The ``keukentafel privacy`` commands: an access export, the retention purge, the audit log.

``privacy export --unit CODE`` writes everything held on the household of a unit as JSON and PDF
(``--relation ID`` for one former resident) and records the export in the audit log;
``privacy purge`` removes the personal data of the projects whose retention has passed (the same
use case the scheduled ``purge-personal-data`` deployment runs; ``--dry-run`` only shows which
projects are due); ``privacy audit`` shows the audit log. Output is counts and unit codes.
Registered in keukentafel/cli/app.py.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from keukentafel.cli import present
from keukentafel.config import ConfigError

privacy_app = typer.Typer(help="Personal data (AVG): access exports, the purge, the audit log.")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Corporation file (YAML); default: KEUKENTAFEL_CONFIG"),
]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@privacy_app.command("export")
def privacy_export(
    unit: Annotated[str, typer.Option("--unit", help="Unit code (VHE) of the household")],
    relation: Annotated[
        str | None, typer.Option("--relation", help="Relation id of one former resident")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Write everything held on one household's residents as JSON and a PDF in plain Dutch."""
    from keukentafel.cli.app import _corporation
    from keukentafel.usecases.privacy import HouseholdNotFound

    with _corporation(config, errors=(ConfigError, HouseholdNotFound)) as command:
        result = command.app.export_household(
            command.code, unit, on=command.app.today(), actor=_actor(), relation_id=relation
        )
    present.print_export(result)


@privacy_app.command("purge")
def privacy_purge(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show which projects' data is due")
    ] = False,
) -> None:
    """Remove the personal data of projects whose end date plus retention period has passed."""
    from keukentafel.cli.app import _corporation

    with _corporation(config) as command:
        if dry_run:
            present.print_retention(command.app.retention_plan(command.code, command.app.today()))
            return
        report = command.app.purge_personal_data(
            command.code, on=command.app.today(), actor=_actor()
        )
    present.print_purge(report)


@privacy_app.command("audit")
def privacy_audit(
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit's events")] = None,
    config: ConfigOption = None,
) -> None:
    """Show the audit log: restricted notes viewed, consent changed, exports, purges."""
    from keukentafel.cli.app import _corporation

    with _corporation(config) as command:
        entries = command.app.audit_events(command.code, unit)
    present.print_audit(entries)
