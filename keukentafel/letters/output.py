"""Writing a mailing into its output folder, in worker processes, and the MailingWriter adapter.

This module owns the files of a mailing and how they are made:

- ``<name>-drukwerk.pdf``: every letter in order, for the mail house;
- ``<name>-manifest.csv``: sequence, unit code, first page, pages, registered mail (ja/nee);
- ``archief/<seq>-<unit>.pdf``: one PDF per letter;
- ``email/<seq>-<unit>.eml`` and ``agenda/<seq>-<unit>.ics`` where they apply.

``write_mailing`` cuts the households into jobs, runs them (compose, PDF, split, e-mail and
invitation) in a pool of worker processes, writes the files here and sums up.
:class:`LettersMailingWriter` is the letters' implementation of the mailing use case's
``MailingWriter`` port. Sending is not done here (the outbox does that). Operator output names
unit codes only.
"""

from __future__ import annotations

import csv
import io
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from keukentafel.config.letters import LettersConfig
from keukentafel.domain.mailing import MailingPlan, WrittenMailing
from keukentafel.domain.messages import Event
from keukentafel.domain.model import Household, Project
from keukentafel.domain.outbox import OutgoingMessage, our_message_id
from keukentafel.letters.compose import compose, eml_for, ics_for, safe_filename
from keukentafel.letters.context import first_email
from keukentafel.letters.pdf import (
    POOL_THRESHOLD,
    chunk_size_for,
    harfbuzz_subset_available,
    map_in_processes,
    merge_pdfs,
    render_and_split,
)
from keukentafel.letters.render import get_environment

log = logging.getLogger(__name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_safe(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def mailing_name(project: Project, kind: str, on: date) -> str:
    """The name of a mailing's folder and files: project, kind and letter date."""
    return f"{safe_filename(project.code)}-{kind}-{on.isoformat()}"


@dataclass(frozen=True, slots=True)
class MailingSummary:
    kind: str
    letters: int
    pages: int
    registered: int
    emails: int
    ics_files: int
    print_pdf: Path
    manifest: Path
    out_dir: Path
    skipped_email: list[tuple[str, str]] = field(default_factory=list)  # (unit code, reason)
    seconds: float = 0.0
    render_seconds: float = 0.0  # compose, PDF, e-mail and .ics (in the workers)
    write_seconds: float = 0.0  # merging the print PDF and writing the files
    # The e-mails as built, for the outbox: (unit code, recipient address, subject, RFC 5322 bytes)
    messages: list[tuple[str, str, str, bytes]] = field(default_factory=list, repr=False)


# --- jobs, done in worker processes -------------------------------------------------------------


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
    secret: bytes = field(repr=False)  # signs the residents' links: never printed
    templates_dir: str
    now: datetime
    mailing_name: str
    mailing_key: str | None  # the outbox's mailing key: our message ids derive from it
    sequences: dict[str, int]  # iCalendar SEQUENCE per unit code, when the caller tracks them


@dataclass(frozen=True, slots=True)
class MailingLetter:
    """One household's part of a mailing, rendered: the letter, and its e-mail and invitation."""

    unit_code: str
    registered: bool
    pdf: bytes
    pages: int
    ics: bytes | None = None
    eml: bytes | None = None
    recipient: str = ""
    subject: str = ""


@dataclass(frozen=True, slots=True)
class _JobResult:
    chunk_pdf: bytes
    letters: list[MailingLetter]


def _message_id(job: _MailingJob, unit_code: str) -> str:
    """Our id in the e-mail's header: the outbox's id when the mailing is queued, else stable
    per sample mailing and unit."""
    if job.mailing_key:
        return our_message_id(job.mailing_key, unit_code, "email")
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job.mailing_name}/{unit_code}"))


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
        unit = item.household.unit.code
        ics = ics_for(item, job.project, job.config, job.now, job.sequences.get(unit))
        eml = eml_for(
            item,
            config=job.config,
            message_id=_message_id(job, unit),
            pdf=pdf,
            ics=ics,
            now=job.now,
        )
        letters.append(
            MailingLetter(
                unit_code=unit,
                registered=item.policy.registered_mail,
                pdf=pdf,
                pages=pages,
                ics=ics,
                eml=eml,
                recipient=(first_email(item.household) or ("", ""))[1],
                subject=item.email.subject,
            )
        )
    return _JobResult(chunk_pdf=rendered.chunk.pdf, letters=letters)


def _plan_jobs(
    kind: str,
    households: Sequence[Household],
    *,
    template: _MailingJob,
    events: Mapping[str, Event],
    sequences: Mapping[str, int],
    workers: int,
) -> list[_MailingJob]:
    """The households cut into chunks for ``workers`` processes, each with its own events and
    sequences; everything else comes from ``template``."""
    size = chunk_size_for(len(households), workers)
    jobs = []
    for start in range(0, len(households), size):
        chunk = tuple(households[start : start + size])
        codes = [h.unit.code for h in chunk]
        jobs.append(
            replace(
                template,
                households=chunk,
                events={code: events[code] for code in codes if code in events},
                sequences={code: sequences[code] for code in codes if code in sequences},
            )
        )
    return jobs


# --- files -----------------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class WrittenFiles:
    print_pdf: Path
    manifest: Path
    without_email: list[str]  # unit codes whose household gets the letter only


def write_files(
    out_dir: Path, name: str, chunk_pdfs: Sequence[bytes], letters: Sequence[MailingLetter]
) -> WrittenFiles:
    """The print PDF (the chunks merged), the manifest, and per letter its archive PDF, e-mail
    and invitation, numbered in print order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    print_pdf = out_dir / f"{name}-drukwerk.pdf"
    print_pdf.write_bytes(chunk_pdfs[0] if len(chunk_pdfs) == 1 else merge_pdfs(chunk_pdfs))
    manifest = out_dir / f"{name}-manifest.csv"
    _write_manifest(manifest, [(x.unit_code, x.pages, x.registered) for x in letters])
    directories = {part: out_dir / part for part in ("archief", "email", "agenda")}
    for directory in directories.values():
        directory.mkdir(exist_ok=True)
    without_email: list[str] = []
    for sequence, letter in enumerate(letters, start=1):
        stem = f"{sequence:04d}-{safe_filename(letter.unit_code)}"
        (directories["archief"] / f"{stem}.pdf").write_bytes(letter.pdf)
        if letter.ics is not None:
            (directories["agenda"] / f"{stem}.ics").write_bytes(letter.ics)
        if letter.eml is None:
            without_email.append(letter.unit_code)
        else:
            (directories["email"] / f"{stem}.eml").write_bytes(letter.eml)
    return WrittenFiles(print_pdf, manifest, without_email)


# --- a whole mailing -----------------------------------------------------------------------------


def write_mailing(
    kind: str,
    households: Sequence[Household],
    config: LettersConfig,
    out_dir: Path,
    *,
    on: date,
    project: Project,
    secret: bytes,
    events: Mapping[str, Event] | None = None,
    details: Mapping[str, Any] | None = None,
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
    name = mailing_name(project, kind, on)
    template = _MailingJob(
        kind=kind,
        households=(),
        config=config,
        project=project,
        on=on,
        events={},
        details=dict(details) if details is not None else None,
        secret=secret,
        templates_dir=str(templates_dir or config.templates_dir),
        now=now,
        mailing_name=name,
        mailing_key=mailing_key,
        sequences={},
    )
    workers = 1 if len(households) < POOL_THRESHOLD else workers
    jobs = _plan_jobs(
        kind,
        households,
        template=template,
        events=events or {},
        sequences=sequences or {},
        workers=workers,
    )
    results = map_in_processes(_run_mailing_job, jobs, workers=workers)
    rendered_at = time.perf_counter()
    letters = [letter for result in results for letter in result.letters]
    files = write_files(out_dir, name, [result.chunk_pdf for result in results], letters)
    return _summarise(kind, name, letters, files, out_dir, started, rendered_at)


def _summarise(
    kind: str,
    name: str,
    letters: Sequence[MailingLetter],
    files: WrittenFiles,
    out_dir: Path,
    started: float,
    rendered_at: float,
) -> MailingSummary:
    """The counts, paths and timings of a written mailing (and one log line: unit-free)."""
    finished = time.perf_counter()
    summary = MailingSummary(
        kind=kind,
        letters=len(letters),
        pages=sum(letter.pages for letter in letters),
        registered=sum(1 for letter in letters if letter.registered),
        emails=sum(1 for letter in letters if letter.eml is not None),
        ics_files=sum(1 for letter in letters if letter.ics is not None),
        skipped_email=[(unit, "no e-mail address") for unit in files.without_email],
        print_pdf=files.print_pdf,
        manifest=files.manifest,
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
        len(files.without_email),
    )
    return summary


# --- the MailingWriter port ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LettersMailingWriter:
    """Writes planned mailings of one corporation as letters, e-mails and invitations.

    Each mailing gets its own folder under ``folder`` (``<project>-<kind>-<date>``). Implements
    ``keukentafel.usecases.mailing.MailingWriter``."""

    config: LettersConfig
    folder: Path
    secret: bytes = field(repr=False)  # signs the residents' links: never printed
    templates_dir: str | Path | None = None
    workers: int = 2

    def write(
        self,
        plan: MailingPlan,
        *,
        mailing_key: str,
        event: Event | None,
        sequences: Mapping[str, int],
    ) -> WrittenMailing:
        out_dir = self.folder / mailing_name(plan.project, plan.kind, plan.on)
        summary = write_mailing(
            plan.kind,
            plan.recipients,
            self.config,
            out_dir,
            on=plan.on,
            project=plan.project,
            secret=self.secret,
            events={h.unit.code: event for h in plan.recipients} if event else None,
            details=plan.details,
            templates_dir=self.templates_dir,
            workers=self.workers,
            mailing_key=mailing_key,
            sequences=sequences,
        )
        return WrittenMailing(
            letters=summary.letters,
            pages=summary.pages,
            registered=summary.registered,
            invitations=summary.ics_files,
            messages=tuple(
                OutgoingMessage(mailing_key, unit, "email", recipient, subject, body)
                for unit, recipient, subject, body in summary.messages
            ),
            without_email=tuple(unit for unit, _ in summary.skipped_email),
            print_pdf=summary.print_pdf,
            manifest=summary.manifest,
            out_dir=out_dir,
        )
