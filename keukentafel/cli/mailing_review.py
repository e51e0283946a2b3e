"""``keukentafel mailing plan``: what a mailing would do, before ``mailing send`` does it.

The same plan the ``mailing`` deployment shows in the Prefect UI before it asks for approval
(flows/mailing_review.py): counts per channel, every household skipped with its reason (unit
codes), and a sample letter as PDF. Nothing is recorded, written to the print batch or queued.
Registered on the ``mailing`` group in keukentafel/cli/app.py with one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from keukentafel.cli import present


def mailing_plan(
    kind: Annotated[str, typer.Argument(help="Message kind, e.g. info_evening")],
    project: Annotated[
        str, typer.Option("--project", help="Project code from the corporation file")
    ],
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Corporation file (YAML); default: KEUKENTAFEL_CONFIG"),
    ] = None,
    content: Annotated[Path | None, typer.Option(help="YAML with the event and details")] = None,
    sample: Annotated[bool, typer.Option(help="Use sample event and details (demos)")] = False,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the sample letter; default: <output>/review/..."),
    ] = None,
) -> None:
    """Plan a mailing: counts, skipped households with reasons, a sample letter. Sends nothing;
    `keukentafel mailing send` with the same arguments sends it."""
    from keukentafel.bootstrap import mailing_content
    from keukentafel.cli.app import _corporation

    with _corporation(config, errors=(Exception,)) as command:
        today = command.app.today()
        found = mailing_content(kind, today, content, sample=sample)
        review, pdf = command.app.review_mailing(
            command.code, project, kind, on=today, content=found, out_dir=out
        )
    console = present.console()
    console.print(f"mailing {review.mailing_key} (planned, nothing sent)", highlight=False)
    for what, count in review.counts().items():
        console.print(f"  {what:<28} {count:>6}", highlight=False)
    for row in review.skipped_rows():
        console.print(
            f"  skipped {row['unit_code']}: {row['reason']}", highlight=False, soft_wrap=True
        )
    console.print(f"sample letter: {pdf}", highlight=False, soft_wrap=True)
    console.print(
        f"to send: keukentafel mailing send {kind} --project {project}"
        + (f" --content {content}" if content else " --sample" if sample else ""),
        highlight=False,
    )
