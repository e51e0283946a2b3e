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

from jinja2 import Environment, TemplateError

from keukentafel.config.letters import LettersConfig
from keukentafel.domain.mailing import MailingPlan, Skip, SkipReason, WrittenMailing
from keukentafel.domain.messages import Event
from keukentafel.domain.model import Household, Project
from keukentafel.domain.outbox import OutgoingMessage, our_message_id, recipient_key
from keukentafel.domain.references import reference_clashes, resident_reference
from keukentafel.letters.compose import (
    Composed,
    compose,
    email_recipients,
    eml_for,
    ics_for,
    safe_filename,
)
from keukentafel.letters.mail import UnusableAddress
from keukentafel.letters.pdf import (
    POOL_THRESHOLD,
    chunk_size_for,
    harfbuzz_subset_available,
    map_in_processes,
    merge_pdfs,
    render_and_split,
)
from keukentafel.letters.render import get_environment
from keukentafel.letters.window import address_block, return_address_problem

log = logging.getLogger(__name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_safe(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def mailing_name(project: Project, kind: str, on: date, mailing_key: str | None = None) -> str:
    """The name of a mailing's folder and files: project, kind, letter date and, for a queued
    mailing, its mailing id (a correction sent the same day gets a folder of its own)."""
    name = f"{safe_filename(project.code)}-{kind}-{on.isoformat()}"
    return f"{name}-{safe_filename(mailing_key.rsplit('/', 1)[-1])}" if mailing_key else name


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
    # Letters set aside before anything was printed: (unit code, why); no letter, no e-mail
    set_aside: list[tuple[str, str]] = field(default_factory=list)
    # Recipients whose e-mail address cannot be used: (unit code, why); their letter goes by post
    email_problems: list[tuple[str, str]] = field(default_factory=list)
    written_units: list[str] = field(default_factory=list)  # the units that got the letter


class NothingToPrint(ValueError):
    """Every letter of a mailing was set aside; the message lists unit codes and reasons."""


class LetterFailed(RuntimeError):
    """Composing or rendering one household's letter failed; names the unit, never its data."""


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
class MailingEmail:
    """The e-mail to one recipient of a household."""

    recipient: str
    subject: str
    eml: bytes


@dataclass(frozen=True, slots=True)
class MailingLetter:
    """One household's part of a mailing, rendered: the letter, and its e-mails and invitation.

    ``ics`` is the household's invitation as the archive keeps it (the first recipient's);
    ``postcode`` and ``incomplete`` (no postcode: flagged for the post), ``reference`` (the
    short one the letter prints) and ``inserts`` are for the print manifest."""

    unit_code: str
    registered: bool
    pdf: bytes
    pages: int
    ics: bytes | None = None
    emails: tuple[MailingEmail, ...] = ()
    email_problems: tuple[str, ...] = ()
    postcode: str = ""
    incomplete: bool = False
    reference: str = ""
    inserts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _JobResult:
    chunk_pdf: bytes
    letters: list[MailingLetter]


def _message_id(job: _MailingJob, unit_code: str, recipient: str) -> str:
    """Our id in the e-mail's header: the outbox's id when the mailing is queued, else stable
    per sample mailing, unit and recipient."""
    if job.mailing_key:
        return our_message_id(job.mailing_key, unit_code, "email", recipient)
    name = f"{job.mailing_name}/{unit_code}/{recipient_key(recipient)}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _compose_one(job: _MailingJob, env: Environment, household: Household) -> Composed:
    """One household's renderings; a failure names the unit and the error's type only (an
    exception's text may quote a name or an address)."""
    try:
        return compose(
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
    except TemplateError:
        raise  # the template's own fault: its message names a template and a line, no data
    except Exception as exc:
        raise LetterFailed(
            f"unit {household.unit.code}: composing the letter failed ({type(exc).__name__})"
        ) from None


def _package(job: _MailingJob, item: Composed, pdf: bytes, pages: int) -> MailingLetter:
    """The letter with what goes with it: one e-mail (and invitation) per recipient."""
    household = item.household
    unit = household.unit.code
    recipients, problems = email_recipients(household)
    sequence = job.sequences.get(unit)
    emails: list[MailingEmail] = []
    # The archive keeps the first recipient's invitation; without recipients, one without an
    # attendee (built only then: building it for every letter was one wasted .ics in two).
    archive_ics = None if recipients else ics_for(item, job.project, job.config, job.now, sequence)
    for number, recipient in enumerate(recipients):
        ics = ics_for(item, job.project, job.config, job.now, sequence, attendee=recipient)
        if number == 0:
            archive_ics = ics
        message_id = _message_id(job, unit, recipient.address)
        try:
            eml = eml_for(
                item,
                recipient,
                config=job.config,
                message_id=message_id,
                pdf=pdf,
                ics=ics,
                now=job.now,
            )
        except UnusableAddress as exc:
            problems.append(f"party {number + 1}: e-mail address not usable: {exc}")
            continue
        emails.append(MailingEmail(recipient.address, item.email.subject, eml))
    address = household.unit.address
    return MailingLetter(
        unit_code=unit,
        registered=item.policy.registered_mail,
        pdf=pdf,
        pages=pages,
        ics=archive_ics,
        emails=tuple(emails),
        email_problems=tuple(problems),
        postcode=address.postcode.strip(),
        incomplete=not address.postcode.strip(),
        reference=resident_reference(job.project.code, unit),
        inserts=item.policy.inserts_for(owner_occupier=household.is_owner_occupied),
    )


def _run_mailing_job(job: _MailingJob) -> _JobResult:
    """Compose, render and package one chunk of letters (runs in a worker process)."""
    env = get_environment(job.templates_dir, job.project.corporation_code)
    composed = [_compose_one(job, env, household) for household in job.households]
    rendered = render_and_split([item.letter_html for item in composed])
    letters = [
        _package(job, item, pdf, pages)
        for item, pdf, pages in zip(composed, rendered.letters, rendered.chunk.pages, strict=True)
    ]
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

MANIFEST_COLUMNS = (
    "volgnummer",
    "eenheid",
    "kenmerk",  # the short reference the letter prints (residents quote it on the phone)
    "postcode",  # for the mail house to sort; "" when the address has none
    "postvlag",  # "ja": the address has no postcode, the town alone ends the block
    "eerste_pagina",
    "paginas",
    "aangetekend",
    "bijlagen",  # what goes into the envelope with the letter ("antwoordenvelop")
)


def _write_manifest(path: Path, letters: Sequence[MailingLetter]) -> None:
    """Manifest for the mail house: one row per letter in print order (see MANIFEST_COLUMNS)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(MANIFEST_COLUMNS)
    first_page = 1
    for sequence, letter in enumerate(letters, start=1):
        writer.writerow(
            [
                sequence,
                csv_safe(letter.unit_code),
                letter.reference,
                csv_safe(letter.postcode),
                "ja" if letter.incomplete else "nee",
                first_page,
                letter.pages,
                "ja" if letter.registered else "nee",
                ", ".join(letter.inserts),
            ]
        )
        first_page += letter.pages
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")


@dataclass(frozen=True, slots=True)
class WrittenFiles:
    print_pdf: Path
    manifest: Path
    without_email: list[str]  # unit codes whose household gets the letter only


def write_files(
    out_dir: Path, name: str, chunk_pdfs: Sequence[bytes], letters: Sequence[MailingLetter]
) -> WrittenFiles:
    """The print PDF (the chunks merged), the manifest, and per letter its archive PDF, e-mails
    (``<seq>-<unit>.eml`` for the first recipient, ``-2``, ``-3`` for the others) and
    invitation, numbered in print order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    print_pdf = out_dir / f"{name}-drukwerk.pdf"
    print_pdf.write_bytes(chunk_pdfs[0] if len(chunk_pdfs) == 1 else merge_pdfs(chunk_pdfs))
    manifest = out_dir / f"{name}-manifest.csv"
    _write_manifest(manifest, letters)
    directories = {part: out_dir / part for part in ("archief", "email", "agenda")}
    for directory in directories.values():
        directory.mkdir(exist_ok=True)
    without_email: list[str] = []
    for sequence, letter in enumerate(letters, start=1):
        stem = f"{sequence:04d}-{safe_filename(letter.unit_code)}"
        (directories["archief"] / f"{stem}.pdf").write_bytes(letter.pdf)
        if letter.ics is not None:
            (directories["agenda"] / f"{stem}.ics").write_bytes(letter.ics)
        if not letter.emails:
            without_email.append(letter.unit_code)
        for number, email in enumerate(letter.emails, start=1):
            suffix = "" if number == 1 else f"-{number}"
            (directories["email"] / f"{stem}{suffix}.eml").write_bytes(email.eml)
    return WrittenFiles(print_pdf, manifest, without_email)


# --- a whole mailing -----------------------------------------------------------------------------


def printable(
    households: Sequence[Household], config: LettersConfig
) -> tuple[list[Household], list[tuple[str, str]]]:
    """The households whose address block fits the envelope window, and (unit code, why) for
    those whose letter is set aside: decided before anything is rendered or printed.

    A return address too wide for its line stops the whole mailing (ValueError): it is the
    corporation's setting, the same on every letter."""
    problem = return_address_problem(config.envelope, config.branding.return_address)
    if problem:
        raise ValueError(problem)
    fitting: list[Household] = []
    set_aside: list[tuple[str, str]] = []
    for household in households:
        block = address_block(household, config.envelope)
        if block.fits:
            fitting.append(household)
        else:
            set_aside.append((household.unit.code, f"address block: {block.problem}"))
    return fitting, set_aside


# Kept whole: the steps of a mailing in order (check, plan the jobs, render in workers, write,
# sum up); each is a call, and splitting it would only pass the same dozen values around.
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

    A household whose address block does not fit the envelope window is set aside first (see
    :func:`printable`): no letter, no e-mail, its reason in ``MailingSummary.set_aside``.
    With a ``mailing_key`` the e-mails carry the outbox's own message ids
    (keukentafel.domain.outbox.our_message_id) and come back in ``MailingSummary.messages``.

    Chunks of households are composed, rendered to PDF, split, and packaged as e-mail and
    invitation in ``workers`` processes; this process merges the print PDF and writes files.
    """
    started = time.perf_counter()
    if not households:
        raise ValueError("a mailing needs at least one household")
    harfbuzz_subset_available()
    fitting, set_aside = printable(households, config)
    if not fitting:
        listed = "; ".join(f"{unit}: {why}" for unit, why in set_aside[:10])
        raise NothingToPrint(f"every letter of this mailing was set aside ({listed})")
    for code, units in reference_clashes(project.code, [h.unit.code for h in fitting]).items():
        log.warning("units %s share the resident reference %s", ", ".join(units), code)
    now = now or datetime.now(UTC)
    name = mailing_name(project, kind, on, mailing_key)
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
    workers = 1 if len(fitting) < POOL_THRESHOLD else workers
    jobs = _plan_jobs(
        kind,
        fitting,
        template=template,
        events=events or {},
        sequences=sequences or {},
        workers=workers,
    )
    results = map_in_processes(_run_mailing_job, jobs, workers=workers)
    rendered_at = time.perf_counter()
    letters = [letter for result in results for letter in result.letters]
    files = write_files(out_dir, name, [result.chunk_pdf for result in results], letters)
    summary = _summarise(kind, name, letters, files, out_dir, started, rendered_at)
    return replace(summary, set_aside=set_aside)


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
        emails=sum(len(letter.emails) for letter in letters),
        ics_files=sum(1 for letter in letters if letter.ics is not None),
        skipped_email=[(unit, "no e-mail address") for unit in files.without_email],
        print_pdf=files.print_pdf,
        manifest=files.manifest,
        out_dir=out_dir,
        seconds=finished - started,
        render_seconds=rendered_at - started,
        write_seconds=finished - rendered_at,
        messages=[
            (letter.unit_code, email.recipient, email.subject, email.eml)
            for letter in letters
            for email in letter.emails
        ],
        email_problems=[
            (letter.unit_code, problem) for letter in letters for problem in letter.email_problems
        ],
        written_units=[letter.unit_code for letter in letters],
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

    Each mailing gets its own folder under ``folder`` (``<project>-<kind>-<date>-<mailing id>``).
    Implements
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
        out_dir = self.folder / mailing_name(plan.project, plan.kind, plan.on, mailing_key)
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
        skipped = [
            Skip(unit, SkipReason.ADDRESS_DOES_NOT_FIT, why) for unit, why in summary.set_aside
        ] + [Skip(unit, SkipReason.EMAIL_NOT_USABLE, why) for unit, why in summary.email_problems]
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
            out_dir=summary.out_dir,
            skipped=tuple(skipped),
            written_units=tuple(summary.written_units),
        )
