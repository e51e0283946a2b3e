"""The ``keukentafel replies`` commands: ``replies pull`` reads the shared mailbox's replies and
makes each an open item for its household's guide (the same flow the scheduled ``pull-replies``
deployment runs). Output is counts only. Registered in keukentafel/cli/app.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from keukentafel.cli import present

replies_app = typer.Typer(help="Replies in the shared mailbox: matched to households, open items.")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Corporation file (YAML); default: KEUKENTAFEL_CONFIG"),
]


@replies_app.command("pull")
def replies_pull(config: ConfigOption = None) -> None:
    """Read the replies since the last run; each becomes an open item (never a consent answer)."""
    from keukentafel.cli.app import _corporation

    with _corporation(config, errors=(Exception,)) as command:
        command.app.m365(command.corporation)  # a missing section is said before anything runs
        command.require_secrets("m365")
        outcome = command.launch("replies")
        command.finish(outcome)
    report = outcome.value
    assert report is not None  # a completed run returns its report
    present.console().print(
        f"Replies read: {report.read}; matched by our message: {report.by_message}, by sender: "
        f"{report.by_sender}; kept aside (no household): {report.kept_aside}; "
        f"new open items: {report.new_items}",
        highlight=False,
    )
