"""Letters with sample events and details: one letter to review, a kind for the checks, a sample
mailing for benchmarks.

This module owns the outputs that are not a real mailing: ``preview`` (one letter as PDF and
HTML), ``render_kind_for`` (one rendering, for the B1 check and the golden tests) and
``write_sample_mailing``. Their events and details come from letters/samples.py; a link secret
that is not configured is replaced by a throw-away one, once per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from keukentafel.config.letters import LettersConfig
from keukentafel.domain.messages import Event
from keukentafel.domain.model import Household, Project, amsterdam_date
from keukentafel.letters.compose import Composed, compose, safe_filename, throwaway_link_secret
from keukentafel.letters.context import EMAIL_LAYOUT, LETTER_LAYOUT
from keukentafel.letters.output import MailingSummary, write_mailing
from keukentafel.letters.render import Rendered, get_environment
from keukentafel.letters.samples import (
    sample_details,
    sample_event,
    sample_letters_config,
    sample_project,
)


def render_kind_for(
    kind: str,
    household: Household,
    *,
    templates_dir: str | Path | None = None,
    on: date,
    config: LettersConfig | None = None,
    project: Project | None = None,
    secret: bytes | None = None,
    now: datetime | None = None,
    layout: str = LETTER_LAYOUT,
) -> Rendered:
    """A kind rendered for one household with sample event and details (checks, golden tests).

    ``layout`` picks the letter or the e-mail rendering of the HTML body."""
    composed = compose_sample(
        kind,
        household,
        templates_dir=templates_dir,
        on=on,
        config=config,
        project=project,
        secret=secret,
        now=now,
    )
    return composed.email if layout == EMAIL_LAYOUT else composed.letter


def compose_sample(
    kind: str,
    household: Household,
    *,
    templates_dir: str | Path | None = None,
    on: date,
    config: LettersConfig | None = None,
    project: Project | None = None,
    secret: bytes | None = None,
    now: datetime | None = None,
) -> Composed:
    """A kind composed for one household with sample event and details: letter and e-mail."""
    config = config or sample_letters_config()
    project = project or sample_project()
    env = get_environment(str(templates_dir or config.templates_dir), project.corporation_code)
    return compose(
        kind,
        household,
        config=config,
        project=project,
        on=on,
        env=env,
        secret=secret if secret is not None else throwaway_link_secret(),
        event=sample_event(kind, on, unit_code=household.unit.code),
        details=sample_details(kind, on),
        now=now,
    )


def write_sample_mailing(
    kind: str,
    households: Sequence[Household],
    config: LettersConfig,
    out_dir: Path,
    *,
    on: date,
    project: Project | None = None,
    secret: bytes | None = None,
    templates_dir: str | Path | None = None,
    workers: int = 2,
) -> MailingSummary:
    """A mailing with sample events and details for the kind (for benchmarks and tests)."""
    events: dict[str, Event] = {}
    for household in households:
        event = sample_event(kind, on, unit_code=household.unit.code)
        if event is not None:
            events[household.unit.code] = event
    return write_mailing(
        kind,
        households,
        config,
        Path(out_dir),
        on=on,
        project=project or sample_project(),
        secret=secret if secret is not None else throwaway_link_secret(),
        events=events,
        details=sample_details(kind, on),
        templates_dir=templates_dir,
        workers=workers,
    )


def preview(
    kind: str,
    household: Household,
    config: LettersConfig,
    out_dir: Path,
    *,
    project: Project | None = None,
    on: date | None = None,
    templates_dir: str | Path | None = None,
    secret: bytes | None = None,
) -> tuple[Path, Path]:
    """Render one letter as PDF and HTML for review (sample event and details for the kind).

    Without a ``secret`` its personal link is signed with a throw-away one (it will not verify)."""
    from keukentafel.letters.pdf import render_pdf

    on = on or amsterdam_date(datetime.now(UTC))
    project = project or sample_project()
    env = get_environment(str(templates_dir or config.templates_dir), project.corporation_code)
    composed = compose(
        kind,
        household,
        config=config,
        project=project,
        on=on,
        env=env,
        secret=secret if secret is not None else throwaway_link_secret(),
        event=sample_event(kind, on, unit_code=household.unit.code),
        details=sample_details(kind, on),
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{safe_filename(kind)}-{safe_filename(household.unit.code)}"
    html_path = out_dir / f"{stem}.html"
    pdf_path = out_dir / f"{stem}.pdf"
    html_path.write_text(composed.letter_html, encoding="utf-8")
    pdf_path.write_bytes(render_pdf(composed.letter_html))
    return pdf_path, html_path
