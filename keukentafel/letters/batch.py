"""A mailing: letters for print, one PDF per letter for the archive, e-mails and invitations.

This module owns composing one message kind for one household (context, personal link, letter
and e-mail renderings, invitation) and writing a mailing into an output folder:

- ``<name>-drukwerk.pdf``: every letter in order, for the mail house;
- ``<name>-manifest.csv``: sequence, unit code, first page, pages, registered mail (ja/nee);
- ``archief/<seq>-<unit>.pdf``: one PDF per letter;
- ``email/<seq>-<unit>.eml`` and ``agenda/<seq>-<unit>.ics`` where they apply.

Sending is not done here (the outbox does that). Operator output names unit codes only.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment

from keukentafel.domain.model import Household, Project
from keukentafel.domain.outbox import our_message_id
from keukentafel.letters.config import LettersConfig
from keukentafel.letters.context import (
    EMAIL_LAYOUT,
    LETTER_LAYOUT,
    Event,
    build_context,
    first_email,
    household_key,
)
from keukentafel.letters.ics import Party, build_ics, event_uid
from keukentafel.letters.links import LinkSecretMissing, qr_svg, read_link_secret, sign_link
from keukentafel.letters.mail import build_email, ics_attachment, pdf_attachment
from keukentafel.letters.pdf import (
    CHUNK_SIZE,
    POOL_THRESHOLD,
    chunk_size_for,
    harfbuzz_subset_available,
    map_in_processes,
    merge_pdfs,
    render_and_split,
    render_chunks,
)
from keukentafel.letters.render import (
    KindMeta,
    Rendered,
    get_environment,
    html_with_summary,
    kind_meta,
    render,
    summary_languages,
    text_with_summary,
)
from keukentafel.letters.samples import (
    sample_details,
    sample_event,
    sample_letters_config,
    sample_project,
)

log = logging.getLogger(__name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def csv_safe(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def safe_filename(text: str) -> str:
    return _UNSAFE_FILENAME.sub("_", text).strip("._") or "x"


# --- composing one message ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Composed:
    """One kind for one household: letter and e-mail renderings plus what goes with them."""

    household: Household
    meta: KindMeta
    letter: Rendered
    email: Rendered
    event: Event | None
    response_url: str | None

    @property
    def letter_html(self) -> str:
        """The letter with its translated summary on a page of its own."""
        return html_with_summary(self.letter, new_page=True)

    @property
    def email_html(self) -> str:
        return html_with_summary(self.email, new_page=False)

    @property
    def email_text(self) -> str:
        return text_with_summary(self.email)


_ephemeral_secret: bytes | None = None


def link_secret_or_ephemeral(config: LettersConfig) -> bytes:
    """The configured link secret; for previews without one, a random per-process secret."""
    global _ephemeral_secret
    try:
        return read_link_secret(config.link_secret_env)
    except LinkSecretMissing:
        if _ephemeral_secret is None:
            log.warning(
                "%s is not set: personal links in this output use a throw-away secret "
                "and will not verify later",
                config.link_secret_env,
            )
            _ephemeral_secret = secrets.token_bytes(32)
        return _ephemeral_secret


def compose(
    kind: str,
    household: Household,
    *,
    config: LettersConfig,
    project: Project,
    on: date,
    env: Environment,
    secret: bytes,
    event: Event | None = None,
    details: Mapping[str, Any] | None = None,
    response_deadline: date | None = None,
    now: datetime | None = None,
) -> Composed:
    """Render one kind for one household, with a signed personal link when the kind asks one."""
    meta = kind_meta(kind, env)
    url: str | None = None
    svg = ""
    if meta.asks_response:
        expires = (now or datetime.now(UTC)) + timedelta(days=config.link_valid_days)
        url = sign_link(
            config.link_base_url, household_key(project, household), kind, expires, secret
        )
        svg = str(qr_svg(url))
    ctx = build_context(
        kind,
        household,
        letters_config=config,
        project=project,
        on=on,
        event=event,
        details=details,
        response_link=url,
        response_deadline=response_deadline,
        qr_svg=svg,
        registered=meta.registered_mail,
        summary_languages=summary_languages(kind, env),
    )
    letter = render(kind, ctx, layout=LETTER_LAYOUT, env=env)
    email = render(kind, ctx, layout=EMAIL_LAYOUT, env=env)
    return Composed(household, meta, letter, email, event, url)


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
    config = config or sample_letters_config()
    project = project or sample_project()
    env = get_environment(str(templates_dir or config.templates_dir), project.corporation_code)
    composed = compose(
        kind,
        household,
        config=config,
        project=project,
        on=on,
        env=env,
        secret=secret if secret is not None else link_secret_or_ephemeral(config),
        event=sample_event(kind, on, unit_code=household.unit.code),
        details=sample_details(kind, on),
        now=now,
    )
    return composed.email if layout == EMAIL_LAYOUT else composed.letter


# --- print batch ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrintLetter:
    unit_code: str
    html: str
    registered: bool = False


@dataclass(frozen=True, slots=True)
class BatchSummary:
    letters: int
    pages: int
    registered: int
    print_pdf: Path
    manifest: Path
    archive_dir: Path
    seconds: float


def write_print_batch(
    letters: Sequence[PrintLetter],
    out_dir: Path,
    *,
    name: str = "mailing",
    workers: int = 2,
    chunk_size: int = CHUNK_SIZE,
) -> tuple[BatchSummary, list[bytes]]:
    """Write the mail-house PDF, the manifest and the archive PDFs; return the per-letter PDFs."""
    started = time.perf_counter()
    if not letters:
        raise ValueError("a print batch needs at least one letter")
    out_dir.mkdir(parents=True, exist_ok=True)
    archive_dir = out_dir / "archief"
    archive_dir.mkdir(exist_ok=True)
    chunks = render_chunks(
        [letter.html for letter in letters], chunk_size=chunk_size, workers=workers
    )
    per_letter = [pdf for part in chunks for pdf in part.letters]
    page_counts = [count for part in chunks for count in part.chunk.pages]
    base = safe_filename(name)
    print_pdf = out_dir / f"{base}-drukwerk.pdf"
    pdfs = [part.chunk.pdf for part in chunks]
    print_pdf.write_bytes(pdfs[0] if len(pdfs) == 1 else merge_pdfs(pdfs))
    manifest = out_dir / f"{base}-manifest.csv"
    _write_manifest(
        manifest,
        [(x.unit_code, pages, x.registered) for x, pages in zip(letters, page_counts, strict=True)],
    )
    for sequence, (letter, pdf) in enumerate(zip(letters, per_letter, strict=True), start=1):
        (archive_dir / f"{sequence:04d}-{safe_filename(letter.unit_code)}.pdf").write_bytes(pdf)
    summary = BatchSummary(
        letters=len(letters),
        pages=sum(page_counts),
        registered=sum(1 for letter in letters if letter.registered),
        print_pdf=print_pdf,
        manifest=manifest,
        archive_dir=archive_dir,
        seconds=time.perf_counter() - started,
    )
    log.info("print batch %s: %d letters, %d pages", base, summary.letters, summary.pages)
    return summary, per_letter


# --- a whole mailing -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MailingSummary:
    kind: str
    letters: int
    pages: int
    registered: int
    emails: int
    ics_files: int
    skipped_email: list[tuple[str, str]] = field(default_factory=list)  # (unit code, reason)
    print_pdf: Path | None = None
    manifest: Path | None = None
    out_dir: Path | None = None
    seconds: float = 0.0
    render_seconds: float = 0.0  # compose, PDF, e-mail and .ics (in the workers)
    write_seconds: float = 0.0  # merging the print PDF and writing the files
    # The e-mails as built, for the outbox: (unit code, recipient address, subject, RFC 5322 bytes)
    messages: list[tuple[str, str, str, bytes]] = field(default_factory=list, repr=False)


@dataclass(frozen=True, slots=True)
class _MailingJob:
    """One chunk of a mailing, done in a worker process (everything in it pickles)."""

    kind: str
    households: tuple[Household, ...]
    config: LettersConfig
    project: Project
    on: date
    events: dict[str, Event]
    details: dict[str, Any] | None
    secret: bytes
    templates_dir: str
    now: datetime
    mailing_name: str
    mailing_key: str | None  # the outbox's mailing key: our message ids derive from it
    sequences: dict[str, int]  # iCalendar SEQUENCE per unit code, when the caller tracks them


@dataclass(frozen=True, slots=True)
class _MailingLetter:
    unit_code: str
    registered: bool
    pdf: bytes
    pages: int
    ics: bytes | None
    eml: bytes | None
    recipient: str = ""
    subject: str = ""


@dataclass(frozen=True, slots=True)
class _JobResult:
    chunk_pdf: bytes
    letters: list[_MailingLetter]


def _ics_for(
    composed: Composed,
    project: Project,
    config: LettersConfig,
    now: datetime,
    sequences: Mapping[str, int] | None = None,
) -> bytes | None:
    if composed.event is None or not composed.meta.attach_ics:
        return None
    recipient = first_email(composed.household)
    default = 1 if composed.letter.kind == "appointment_change" else 0
    sequence = (sequences or {}).get(composed.household.unit.code, default)
    return build_ics(
        composed.event,
        uid=event_uid(project.code, composed.event.event_id, composed.household.unit.code),
        sequence=sequence,
        method="REQUEST",
        organiser=Party(config.contact.name, config.from_address),
        attendee=Party(*recipient) if recipient else None,
        description=f"{composed.letter.subject}. Vragen? Bel {config.contact.phone}.",
        now=now,
    )


def _eml_for(composed: Composed, job: _MailingJob, pdf: bytes, ics: bytes | None) -> bytes | None:
    recipient = first_email(composed.household)
    if recipient is None:
        return None
    unit = composed.household.unit.code
    attachments = [pdf_attachment(f"brief-{job.kind}-{safe_filename(unit)}.pdf", pdf)]
    if ics is not None:
        attachments.append(ics_attachment("uitnodiging.ics", ics))
    message = build_email(
        subject=composed.email.subject,
        text=composed.email_text,
        html=composed.email_html,
        from_name=job.config.branding.name,
        from_address=job.config.from_address,
        to_name=recipient[0],
        to_address=recipient[1],
        our_message_id=(
            our_message_id(job.mailing_key, unit, "email")
            if job.mailing_key
            else str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job.mailing_name}/{unit}"))
        ),
        reply_to=job.config.contact.email,
        date=job.now,
        attachments=attachments,
    )
    return message.as_bytes()


def _run_mailing_job(job: _MailingJob) -> _JobResult:
    """Compose, render and package one chunk of letters (runs in a worker process)."""
    env = get_environment(job.templates_dir, job.project.corporation_code)
    composed = [
        compose(
            job.kind,
            household,
            config=job.config,
            project=job.project,
            on=job.on,
            env=env,
            secret=job.secret,
            event=job.events.get(household.unit.code),
            details=job.details,
            now=job.now,
        )
        for household in job.households
    ]
    rendered = render_and_split([item.letter_html for item in composed])
    letters = []
    for item, pdf, pages in zip(composed, rendered.letters, rendered.chunk.pages, strict=True):
        ics = _ics_for(item, job.project, job.config, job.now, job.sequences)
        letters.append(
            _MailingLetter(
                unit_code=item.household.unit.code,
                registered=item.meta.registered_mail,
                pdf=pdf,
                pages=pages,
                ics=ics,
                eml=_eml_for(item, job, pdf, ics),
                recipient=(first_email(item.household) or ("", ""))[1],
                subject=item.email.subject,
            )
        )
    return _JobResult(chunk_pdf=rendered.chunk.pdf, letters=letters)


def _write_manifest(path: Path, rows: Sequence[tuple[str, int, bool]]) -> None:
    """Manifest for the mail house: (unit code, pages, registered) per letter in print order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["volgnummer", "eenheid", "eerste_pagina", "paginas", "aangetekend"])
    first_page = 1
    for sequence, (unit_code, pages, registered) in enumerate(rows, start=1):
        writer.writerow(
            [sequence, csv_safe(unit_code), first_page, pages, "ja" if registered else "nee"]
        )
        first_page += pages
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")


def write_mailing(
    kind: str,
    households: Sequence[Household],
    config: LettersConfig,
    out_dir: Path,
    *,
    on: date,
    project: Project,
    events: Mapping[str, Event] | None = None,
    details: Mapping[str, Any] | None = None,
    secret: bytes | None = None,
    templates_dir: str | Path | None = None,
    workers: int = 2,
    now: datetime | None = None,
    mailing_key: str | None = None,
    sequences: Mapping[str, int] | None = None,
) -> MailingSummary:
    """Compose and write one mailing. ``events`` maps unit code to that household's event.

    With a ``mailing_key`` the e-mails carry the outbox's own message ids
    (keukentafel.domain.outbox.our_message_id) and come back in ``MailingSummary.messages``.

    Chunks of households are composed, rendered to PDF, split, and packaged as e-mail and
    invitation in ``workers`` processes; this process merges the print PDF and writes files.
    """
    started = time.perf_counter()
    if not households:
        raise ValueError("a mailing needs at least one household")
    harfbuzz_subset_available()
    now = now or datetime.now(UTC)
    name = f"{safe_filename(project.code)}-{kind}-{on.isoformat()}"
    key = secret if secret is not None else link_secret_or_ephemeral(config)
    if len(households) < POOL_THRESHOLD:
        workers = 1
    size = chunk_size_for(len(households), workers)
    jobs = [
        _MailingJob(
            kind=kind,
            households=tuple(households[i : i + size]),
            config=config,
            project=project,
            on=on,
            events={
                h.unit.code: events[h.unit.code]
                for h in households[i : i + size]
                if events and h.unit.code in events
            },
            details=dict(details) if details is not None else None,
            secret=key,
            templates_dir=str(templates_dir or config.templates_dir),
            now=now,
            mailing_name=name,
            mailing_key=mailing_key,
            sequences={
                h.unit.code: sequences[h.unit.code]
                for h in households[i : i + size]
                if sequences and h.unit.code in sequences
            },
        )
        for i in range(0, len(households), size)
    ]
    results = map_in_processes(_run_mailing_job, jobs, workers=workers)
    rendered_at = time.perf_counter()

    out_dir.mkdir(parents=True, exist_ok=True)
    chunk_pdfs = [result.chunk_pdf for result in results]
    print_pdf = out_dir / f"{name}-drukwerk.pdf"
    print_pdf.write_bytes(chunk_pdfs[0] if len(chunk_pdfs) == 1 else merge_pdfs(chunk_pdfs))
    letters = [letter for result in results for letter in result.letters]
    manifest = out_dir / f"{name}-manifest.csv"
    _write_manifest(manifest, [(x.unit_code, x.pages, x.registered) for x in letters])
    directories = {part: out_dir / part for part in ("archief", "email", "agenda")}
    for directory in directories.values():
        directory.mkdir(exist_ok=True)
    skipped: list[tuple[str, str]] = []
    for sequence, letter in enumerate(letters, start=1):
        stem = f"{sequence:04d}-{safe_filename(letter.unit_code)}"
        (directories["archief"] / f"{stem}.pdf").write_bytes(letter.pdf)
        if letter.ics is not None:
            (directories["agenda"] / f"{stem}.ics").write_bytes(letter.ics)
        if letter.eml is None:
            skipped.append((letter.unit_code, "no e-mail address"))
        else:
            (directories["email"] / f"{stem}.eml").write_bytes(letter.eml)
    finished = time.perf_counter()
    summary = MailingSummary(
        kind=kind,
        letters=len(letters),
        pages=sum(letter.pages for letter in letters),
        registered=sum(1 for letter in letters if letter.registered),
        emails=sum(1 for letter in letters if letter.eml is not None),
        ics_files=sum(1 for letter in letters if letter.ics is not None),
        skipped_email=skipped,
        print_pdf=print_pdf,
        manifest=manifest,
        out_dir=out_dir,
        seconds=finished - started,
        render_seconds=rendered_at - started,
        write_seconds=finished - rendered_at,
        messages=[
            (letter.unit_code, letter.recipient, letter.subject, letter.eml)
            for letter in letters
            if letter.eml is not None
        ],
    )
    log.info(
        "mailing %s: %d letters, %d pages, %d e-mails, %d invitations, %d without e-mail",
        name,
        summary.letters,
        summary.pages,
        summary.emails,
        summary.ics_files,
        len(skipped),
    )
    return summary


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
    """A mailing with sample events and details for the kind (for the demo and benchmarks)."""
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
        events=events,
        details=sample_details(kind, on),
        secret=secret,
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
) -> tuple[Path, Path]:
    """Render one letter as PDF and HTML for review (sample event and details for the kind)."""
    from keukentafel.letters.pdf import render_pdf

    on = on or date.today()
    project = project or sample_project()
    env = get_environment(str(templates_dir or config.templates_dir), project.corporation_code)
    composed = compose(
        kind,
        household,
        config=config,
        project=project,
        on=on,
        env=env,
        secret=link_secret_or_ephemeral(config),
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
