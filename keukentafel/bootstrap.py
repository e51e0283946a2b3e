"""The composition root: ``build(settings) -> App``, built once per process and handed around.

The App holds what a process shares: one engine and sessionmaker (the schema migrated once, on
first use; ``close()`` disposes the engine), the corporation files (every file validated once, with
its typed sections), a clock, and the factories that choose the real adapters: the register
source, the team's contact sources, the mail transport and the mailing writer. Adapters get the
settings' snapshot of the environment to look up the secrets a corporation file names. Flows, the
CLI and the demo call App methods and do no wiring of their own.

Entry points install their App (``installed(app)``) before they call a flow; a flow run by the
worker gets the one built from the environment on first use (``current_app()``). Nothing here
runs at import time, and connector modules are imported lazily, when an adapter is used.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from keukentafel.config import (
    ConfigError,
    CorporationFile,
    LettersConfig,
    M365Config,
    load_config,
    load_yaml,
)
from keukentafel.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from connectors.m365.adapters import GraphConnection
    from connectors.m365.signin import StaffSignIn
    from keukentafel.bootstrap_planning import Planning
    from keukentafel.config.mailing_content import MailingContent
    from keukentafel.domain.audit import AuditEntry
    from keukentafel.domain.consent import (
        Channel,
        Evidence,
        LedgerEntry,
        ProjectTally,
        Refusal,
    )
    from keukentafel.domain.model import Household
    from keukentafel.domain.retention import RetentionPlan
    from keukentafel.reports.consent import ConsentReportFiles
    from keukentafel.usecases.alerts import StaleOutbox
    from keukentafel.usecases.consent import (
        ConsentBooks,
        ConsentProject,
        EntryInput,
        HouseholdStatus,
        RecordReport,
    )
    from keukentafel.usecases.consent_import import ImportReport
    from keukentafel.usecases.mailing import MailingResult, MailingWriter
    from keukentafel.usecases.mailing_review import MailingReview
    from keukentafel.usecases.outbox import DispatchReport, MailTransport, RetryReport
    from keukentafel.usecases.privacy import (
        ExportResult,
        ExportStore,
        MailingArchive,
        PurgeReport,
    )
    from keukentafel.usecases.register_export import RegisterExport
    from keukentafel.usecases.register_summary import KeptAsideRow, LastRun, RegisterSummary
    from keukentafel.usecases.replies import RepliesReport
    from keukentafel.usecases.staff_consent import EvidenceFolder
    from keukentafel.usecases.sync_register import ProgressFn, RegisterSource, SyncResult
    from keukentafel.usecases.team_contacts import TeamContactSource, TeamPullReport

#: What the use cases take as ``clock``: the current time.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Naive UTC: what the store keeps and what the use cases compare with."""
    return datetime.now(UTC).replace(tzinfo=None)


# --- corporation files --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CorporationEntry:
    """One corporation file: its configuration, or the error that makes it unusable."""

    path: Path
    code: str  # from the file; for a file that cannot be read, its name without .yaml
    config: CorporationFile | None = None
    error: ConfigError | None = None


def _read_entry(path: Path) -> CorporationEntry:
    try:
        config = load_config(path)
    except ConfigError as exc:
        return CorporationEntry(path, _code_in(path), error=exc)
    return CorporationEntry(path, config.corporation.code, config=config)


def _code_in(path: Path) -> str:
    """The corporation code an invalid file means, so asking for it gets the file's error."""
    try:
        corporation = load_yaml(path).get("corporation")
    except ConfigError:
        return path.stem
    code = corporation.get("code") if isinstance(corporation, dict) else None
    return code if isinstance(code, str) and code else path.stem


class CorporationRegistry:
    """Every corporation file of the process, each validated once when the registry is made.

    An invalid file is kept with its error: asking for that corporation raises the error, and
    every other corporation works as usual. Two files with the same corporation code are both
    unusable (which one is meant cannot be known).
    """

    def __init__(self, entries: Iterable[CorporationEntry]) -> None:
        found = list(entries)
        paths: dict[str, list[Path]] = {}
        for entry in found:
            paths.setdefault(entry.code, []).append(entry.path)
        self._entries: list[CorporationEntry] = []
        for entry in found:
            twins = paths[entry.code]
            if len(twins) > 1:
                listed = ", ".join(str(p) for p in twins)
                entry = CorporationEntry(
                    entry.path,
                    entry.code,
                    error=ConfigError(f"corporation {entry.code} is configured twice: {listed}"),
                )
            self._entries.append(entry)

    @classmethod
    def from_dir(cls, folder: Path) -> CorporationRegistry:
        """Every ``*.yaml`` in the folder (none when the folder does not exist)."""
        return cls(_read_entry(path) for path in sorted(Path(folder).glob("*.yaml")))

    @classmethod
    def from_files(cls, paths: Iterable[str | Path]) -> CorporationRegistry:
        return cls(_read_entry(Path(path)) for path in paths)

    def entries(self) -> list[CorporationEntry]:
        """Every file, valid or not, in file-name order."""
        return list(self._entries)

    def codes(self) -> list[str]:
        """The codes of the usable corporations."""
        return [e.code for e in self._entries if e.config is not None]

    def invalid(self) -> list[CorporationEntry]:
        return [e for e in self._entries if e.error is not None]

    def entry(self, code: str) -> CorporationEntry:
        for entry in self._entries:
            if entry.code == code:
                return entry
        known = ", ".join(e.code for e in self._entries) or "none"
        raise ConfigError(f"no corporation file for {code!r} (configured: {known})")

    def get(self, code: str) -> CorporationFile:
        """The corporation's validated configuration, or the ConfigError of its file."""
        entry = self.entry(code)
        if entry.error is not None:
            raise entry.error
        assert entry.config is not None
        return entry.config

    def single(self) -> CorporationFile:
        """The one corporation of a registry made from one file (the CLI's ``--config``)."""
        if len(self._entries) != 1:
            raise ConfigError(f"expected one corporation file, found {len(self._entries)}")
        return self.get(self._entries[0].code)

    def path(self, code: str) -> Path:
        return self.entry(code).path


class UnitNotInRegister(LookupError):
    """The unit asked for is not in the corporation's register (never synced, or another code)."""


# --- the application ----------------------------------------------------------------------------


class App:
    """What one process shares; made by :func:`build`. Use it as a context manager, or close it."""

    def __init__(
        self, settings: Settings, corporations: CorporationRegistry, clock: Clock = utc_now
    ) -> None:
        self.settings = settings
        self.corporations = corporations
        self.clock = clock
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._lock = threading.Lock()
        self._staff_sign_ins: dict[str, StaffSignIn] = {}
        self._consent_books: ConsentBooks | None = None

    # -- store

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The sessionmaker on the store; the first use makes the engine and migrates the schema."""
        made = self._sessions
        if made is not None:  # every page view asks: no lock once it is made
            return made
        with self._lock:
            if self._sessions is None:
                from keukentafel.store.db import make_engine, session_factory, upgrade

                engine = make_engine(self.settings.database_url)
                upgrade(engine)
                self._engine, self._sessions = engine, session_factory(engine)
            return self._sessions

    def close(self) -> None:
        """Dispose of the engine (a later use makes and migrates a new one)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine, self._sessions = None, None

    def __repr__(self) -> str:
        # Names only: the settings hold the environment (every secret of the process).
        return f"<App corporations={self.corporations.codes()} store={self._store_kind()}>"

    def _store_kind(self) -> str:
        return self.settings.database_url.split(":", 1)[0]

    def __enter__(self) -> App:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- configuration

    def corporation(self, code: str) -> CorporationFile:
        """The validated corporation file; a ConfigError when it is missing or invalid."""
        return self.corporations.get(code)

    def letters(self, corp: CorporationFile) -> LettersConfig:
        """The letters section; a ConfigError when it is missing or names a file that is not
        there (a logo, a templates folder), before anything is printed."""
        if corp.letters is None:
            raise ConfigError(f"{self._where(corp)}: the 'letters' section is missing")
        missing = corp.letters.missing_files()
        if missing:
            raise ConfigError(f"{self._where(corp)}: " + "; ".join(missing))
        return corp.letters

    def m365(self, corp: CorporationFile) -> M365Config:
        if corp.m365 is None:
            raise ConfigError(f"{self._where(corp)}: the 'm365' section is missing")
        return corp.m365

    def _where(self, corp: CorporationFile) -> str:
        try:
            return str(self.corporations.path(corp.code))
        except ConfigError:
            return corp.code

    def link_secret(self, letters: LettersConfig) -> bytes:
        """The secret that signs personal links, from the variable ``letters.link_secret_env``."""
        from keukentafel.letters.links import LinkSecretMissing, read_link_secret

        try:
            return read_link_secret(self.settings.environ, letters.link_secret_env)
        except LinkSecretMissing as exc:
            raise ConfigError(f"letters.link_secret_env: {exc}") from None

    # -- factories: the real adapters for one corporation

    def register_source(self, corp: CorporationFile) -> RegisterSource:
        from connectors.erp.sources import SpreadsheetSource, VeraSource

        if corp.source.kind == "vera":
            return VeraSource(corp, self.settings.environ)
        return SpreadsheetSource(corp)

    def graph(self, corp: CorporationFile) -> GraphConnection:
        """A new Graph connection for the corporation's tenant; the caller closes it."""
        from connectors.m365.adapters import GraphConnection

        return GraphConnection(self.m365(corp), self.settings.environ)

    @contextmanager
    def team_sources(self, corp: CorporationFile) -> Iterator[list[TeamContactSource]]:
        """The team's lists configured in ``m365`` (SharePoint list, Excel file), for one task."""
        from connectors.m365.adapters import SharePointListSource, WorkbookSource

        graph = self.graph(corp)
        sources: list[TeamContactSource] = []
        if graph.config.contact_list:
            sources.append(SharePointListSource(graph))
        if graph.config.contact_workbook:
            sources.append(WorkbookSource(graph))
        try:
            yield sources
        finally:
            graph.close()

    @contextmanager
    def mail_transport(self, corp: CorporationFile) -> Iterator[MailTransport | None]:
        """The shared mailbox (``m365.mailbox``) for one task; None when there is none."""
        if corp.m365 is None or not corp.m365.mailbox:
            yield None
            return
        from connectors.m365.adapters import GraphMailTransport

        graph = self.graph(corp)
        try:
            yield GraphMailTransport(graph)
        finally:
            graph.close()

    def mailing_writer(self, corp: CorporationFile) -> MailingWriter:
        """Letters, e-mails and invitations under ``<output>/mailings/<project>-<kind>-<date>``."""
        from keukentafel.letters.output import LettersMailingWriter
        from keukentafel.usecases.resident_access import AccessIssuingWriter, LinkSettings

        letters = self.letters(corp)
        secret = self.link_secret(letters)
        writer = LettersMailingWriter(letters, self.settings.output_dir / "mailings", secret)
        # The resident's page (issue 14): record each letter's link, code and PDF as it is written.
        return AccessIssuingWriter(
            writer,
            lambda: self.sessions,
            LinkSettings(letters.link_base_url, secret, letters.link_valid_days),
            self.settings.output_dir,
            clock=self.clock,
        )

    def planning(self, code: str) -> Planning:
        """Appointments and contractor feeds of one corporation (bootstrap_planning.py)."""
        from keukentafel.bootstrap_planning import Planning, consent_tally_for

        corp = self.corporation(code)
        return Planning(self, corp, tally_for=consent_tally_for(self, corp))

    # -- what the entry points do

    def run_sync(
        self, code: str, *, progress: ProgressFn | None = None, max_shrink: float | None = None
    ) -> SyncResult:
        """Sync the corporation's register from its source (SyncFailed / SyncRefused as usual).

        ``max_shrink`` overrides the file's ``sync.max_shrink`` for this run only; the run's
        record says so."""
        from keukentafel.usecases.sync_register import sync_register

        corp = self.corporation(code)
        note = ""
        if max_shrink is not None and max_shrink != corp.sync.max_shrink:
            note = (
                f"shrink guard overridden for this run: max_shrink {max_shrink:g} "
                f"(configured {corp.sync.max_shrink:g})"
            )
        return sync_register(
            self.sessions,
            corp.code,
            self.register_source(corp),
            max_shrink=corp.sync.max_shrink if max_shrink is None else max_shrink,
            clock=self.clock,
            progress=progress,
            note=note,
        )

    def summarise(self, code: str, on: date) -> RegisterSummary:
        from keukentafel.usecases.register_summary import register_summary

        corp = self.corporation(code)
        return register_summary(self.sessions, corp.code, corp.domain_projects(), on)

    def last_sync_report(
        self, code: str
    ) -> tuple[LastRun | None, list[KeptAsideRow], dict[str, int]]:
        """The corporation's last register sync, its rows kept aside and its rows out of scope
        (what :meth:`summarise` reports of it, without reading the register)."""
        from keukentafel.usecases.register_summary import last_sync_report

        with self.sessions() as session:
            return last_sync_report(session, self.corporation(code).code)

    def export_register(self, code: str, on: date) -> RegisterExport:
        """The register as data (``register --format``), with the letters' address blocks."""
        from keukentafel.letters.context import address_lines
        from keukentafel.usecases.register_export import export_register

        return export_register(self.sessions, self.corporation(code).code, on, address_lines)

    def households(self, code: str, on: date) -> list[Household]:
        """The register's households with the team's additions merged in."""
        from keukentafel.usecases.team_contacts import effective_households

        return effective_households(self.sessions, self.corporation(code).code, on)

    def pull_team_contacts(self, code: str, on: date) -> dict[str, TeamPullReport]:
        """Read every team list of the corporation into the store; a report per source name."""
        from keukentafel.usecases.team_contacts import pull_team_contacts

        corp = self.corporation(code)
        reports: dict[str, TeamPullReport] = {}
        with self.team_sources(corp) as sources:
            for source in sources:
                reports[source.name] = pull_team_contacts(
                    self.sessions,
                    corp.code,
                    source,
                    on=on,
                    complexes=corp.complexes(on or self.today()),
                    clock=self.clock,
                )
        return reports

    def prepare_mailing(
        self,
        code: str,
        project_code: str,
        kind: str,
        *,
        on: date,
        content: MailingContent,
        started_by: str,
    ) -> MailingResult:
        """Compose, print and enqueue one mailing (counts and paths, no personal data).

        ``started_by`` says who asked for it (``cli:<user>``, ``prefect:<flow run id>``); the
        entry point knows, so it passes it."""
        from keukentafel.domain.messages import MessageKind, message_kind
        from keukentafel.usecases.mailing import prepare_mailing

        if message_kind(kind) in (MessageKind.CONSENT_REACHED, MessageKind.REMINDER):
            # Their units come from the consent tally, never from the content file.
            return self.consent_mailing(
                code, project_code, kind, on=on, content=content, started_by=started_by
            )
        corp = self.corporation(code)
        return prepare_mailing(
            self.sessions,
            corp.project(project_code),
            kind,
            self.mailing_writer(corp),
            on=on,
            mailing_id=content.mailing_id,
            started_by=started_by,
            event=content.event,
            details=content.details,
            units=content.units,
            corrects=content.corrects,
            clock=self.clock,
        )

    def review_mailing(
        self,
        code: str,
        project_code: str,
        kind: str,
        *,
        on: date,
        content: MailingContent,
        out_dir: Path | None = None,
    ) -> tuple[MailingReview, Path]:
        """What a mailing would do (counts, skipped units and reasons; nothing written or sent)
        and one recipient's letter as PDF, with the content file's details, in ``out_dir``
        (default ``<output>/review/<corporation>/<project>-<kind>-<mailing_id>/``)."""
        from keukentafel.letters.compose import compose, link_secret_or_throwaway, safe_filename
        from keukentafel.letters.pdf import render_pdf
        from keukentafel.letters.render import get_environment
        from keukentafel.usecases.mailing_review import review_mailing

        corp = self.corporation(code)
        letters = self.letters(corp)
        project = corp.project(project_code)
        review = review_mailing(
            self.sessions,
            project,
            kind,
            on=on,
            mailing_id=content.mailing_id,
            event=content.event,
            details=content.details,
            units=content.units,
            corrects=content.corrects,
        )
        assert review.plan is not None
        sample = review.plan.recipients[0]
        composed = compose(
            kind,
            sample,
            config=letters,
            project=project,
            on=on,
            env=get_environment(str(letters.templates_dir), corp.code),
            secret=link_secret_or_throwaway(letters, self.settings.environ),
            event=content.event,
            details=review.plan.details,
            response_deadline=review.plan.details.get("response_deadline"),
        )
        if out_dir is None:
            name = safe_filename(f"{project.code}-{kind}-{content.mailing_id}")
            out_dir = self.settings.output_dir / "review" / safe_filename(corp.code.lower()) / name
        out_dir.mkdir(parents=True, exist_ok=True)
        pdf = out_dir / f"voorbeeld-{safe_filename(kind)}-{safe_filename(sample.unit.code)}.pdf"
        pdf.write_bytes(render_pdf(composed.letter_html))
        return review, pdf

    # -- the consent track (art. 7:220 BW): usecases/consent.py, docs/consent.md

    def consent_books(self) -> ConsentBooks:
        """The process's kept consent ledgers (see usecases/consent.py), made on first use."""
        from keukentafel.usecases.consent import ConsentBooks

        with self._lock:
            if self._consent_books is None:
                self._consent_books = ConsentBooks()
            return self._consent_books

    def consent_project(self, code: str, project_code: str) -> ConsentProject:
        """The project with its consent profile; a ConfigError when it has none."""
        from keukentafel.usecases.consent import ConsentProject

        corp = self.corporation(code)
        return ConsentProject(corp.project(project_code), corp.consent_profile(project_code))

    def today(self) -> date:
        """Today in Europe/Amsterdam, by the App's clock."""
        from keukentafel.usecases.consent import today

        return today(self.clock)

    def consent_tally(
        self, code: str, project_code: str, *, on: date | None = None
    ) -> ProjectTally:
        """The project's consent tally at the end of ``on`` (default: today)."""
        from keukentafel.usecases.consent import consent_tally

        target = self.consent_project(code, project_code)
        return consent_tally(self.sessions, target, on or self.today(), books=self.consent_books())

    def consent_household(
        self, code: str, project_code: str, unit_code: str, *, on: date | None = None
    ) -> HouseholdStatus:
        """One household's consent status on ``on`` (default: today): statuses per ballot,
        parties' answers (party ids), notice date and last day. UnitNotInProject for a unit
        outside the project."""
        from keukentafel.usecases.consent import household_status

        target = self.consent_project(code, project_code)
        return household_status(
            self.sessions, target, unit_code, on or self.today(), books=self.consent_books()
        )

    def record_consent(
        self,
        code: str,
        project_code: str,
        inputs: Sequence[EntryInput],
        *,
        recorded_by: str,
        actor: str | None = None,
        via: str = "record",
    ) -> RecordReport:
        """Record answers, withdrawals, exclusions, reversals, corrections in one transaction,
        each with its audit event (``actor`` as the log names who: ``cli:<user>``,
        ``web:<id>``; default derived from ``recorded_by``; ``via``: the way in)."""
        from keukentafel.usecases.consent import record

        target = self.consent_project(code, project_code)
        return record(
            self.sessions,
            target,
            inputs,
            recorded_by=recorded_by,
            clock=self.clock,
            books=self.consent_books(),
            actor=actor,
            via=via,
        )

    def record_consent_answer(
        self,
        code: str,
        project_code: str,
        unit_code: str,
        answer: str,
        *,
        recorded_by: str,
        parties: Sequence[str] = (),
        package: str | None = None,
        channel: Channel | None = None,
        at: datetime | None = None,
        evidence: Evidence | None = None,
        actor: str | None = None,
        via: str = "web",
    ) -> LedgerEntry | Refusal:
        """One answer (``agree``, ``decline``, ``withdraw``) of a household (no ``parties``) or
        of named parties, by default given on the web now: the entry stored, or why not."""
        from keukentafel.domain.consent import Channel
        from keukentafel.usecases.consent import AnswerInput

        item = AnswerInput(
            unit_code=unit_code,
            answer=answer,
            at=at or self.clock().replace(tzinfo=UTC),
            channel=channel or Channel.WEB,
            parties=tuple(parties),
            package=package,
            evidence=evidence,
        )
        report = self.record_consent(
            code, project_code, [item], recorded_by=recorded_by, actor=actor, via=via
        )
        return report.outcomes[0]

    def import_consent_forms(
        self,
        code: str,
        project_code: str,
        path: Path,
        *,
        recorded_by: str,
        scans: Path | None = None,
        actor: str | None = None,
    ) -> ImportReport:
        """Import a CSV/XLSX list of scanned forms (connectors/consent_forms.py reads it)."""
        from connectors.consent_forms import read_form_file
        from keukentafel.usecases.consent_import import import_forms

        target = self.consent_project(code, project_code)
        forms = read_form_file(path, scans)
        return import_forms(
            self.sessions,
            target,
            forms,
            recorded_by=recorded_by,
            clock=self.clock,
            books=self.consent_books(),
            actor=actor,
        )

    def evaluate_consent(
        self, code: str, project_code: str, *, on: date | None = None
    ) -> dict[str, object]:
        """The project as ``consent evaluate`` prints a case file (the same JSON)."""
        from keukentafel.usecases.consent import evaluate_project

        target = self.consent_project(code, project_code)
        return evaluate_project(
            self.sessions, target, on or self.today(), books=self.consent_books()
        )

    def consent_report(
        self, code: str, project_code: str, *, on: date | None = None, out_dir: Path | None = None
    ) -> ConsentReportFiles:
        """The corporation's report: PDF (unit codes) and XLSX (with names), under
        ``<output>/consent`` unless ``out_dir`` is given."""
        from keukentafel.reports.consent import write_consent_report
        from keukentafel.usecases.consent import consent_report

        target = self.consent_project(code, project_code)
        report = consent_report(
            self.sessions, target, on or self.today(), books=self.consent_books()
        )
        return write_consent_report(report, out_dir or self.settings.output_dir / "consent")

    def consent_mailing(
        self,
        code: str,
        project_code: str,
        kind: str,
        *,
        on: date,
        content: MailingContent,
        started_by: str,
        package: str | None = None,
    ) -> MailingResult:
        """The 70% notice (``consent_reached``) or a reminder, to the units the tally gives."""
        from keukentafel.domain.messages import MessageKind, message_kind
        from keukentafel.usecases.consent import send_notice, send_reminder

        corp = self.corporation(code)
        target = self.consent_project(code, project_code)
        send = send_notice if message_kind(kind) is MessageKind.CONSENT_REACHED else send_reminder
        return send(
            self.sessions,
            target,
            self.mailing_writer(corp),
            on=on,
            mailing_id=content.mailing_id,
            started_by=started_by,
            event=content.event,
            details=content.details,
            package=package,
            clock=self.clock,
            books=self.consent_books(),
        )

    def dispatch(self, code: str, mailing_key: str | None = None) -> DispatchReport | None:
        """Deliver the outbox through the shared mailbox; None when no mailbox is configured."""
        from keukentafel.usecases.outbox import dispatch

        corp = self.corporation(code)
        with self.mail_transport(corp) as transport:
            if transport is None:
                return None
            # The mailbox sender paces itself (m365.send_pace_per_minute): pacing in one layer.
            return dispatch(
                self.sessions, corp.code, transport, mailing_key=mailing_key, clock=self.clock
            )

    def stale_outbox(self, code: str) -> StaleOutbox:
        """Messages waiting over an hour in the outbox (counts only: the stale-outbox alert)."""
        from keukentafel.usecases.alerts import stale_outbox

        return stale_outbox(self.sessions, self.corporation(code).code, self.clock())

    def retry_failed_messages(
        self, code: str, *, mailing_key: str | None = None, actor: str
    ) -> RetryReport:
        """Requeue the messages that failed for good (``keukentafel mailing retry``)."""
        from keukentafel.usecases.outbox import retry_failed

        return retry_failed(
            self.sessions,
            self.corporation(code).code,
            mailing_key=mailing_key,
            actor=actor,
            clock=self.clock,
        )

    def outbox_counts(self, code: str, mailing_key: str | None = None) -> dict[str, int]:
        from keukentafel.usecases.outbox import outbox_counts

        return outbox_counts(self.sessions, self.corporation(code).code, mailing_key)

    def preview_letter(
        self, code: str, kind: str, unit_code: str, out_dir: Path, *, on: date
    ) -> tuple[Path, Path]:
        """One letter for one household of the register as (PDF, HTML), with sample content."""
        from keukentafel.letters.preview import preview

        corp = self.corporation(code)
        letters = self.letters(corp)
        household = next((h for h in self.households(code, on) if h.unit.code == unit_code), None)
        if household is None:
            raise UnitNotInRegister(
                f"unit {unit_code} is not in the register of {corp.code}; run a sync first"
            )
        project = next(
            (p for p in corp.domain_projects() if household.unit.complex_code in p.complex_codes),
            None,
        )
        from keukentafel.letters.compose import link_secret_or_throwaway

        secret = link_secret_or_throwaway(letters, self.settings.environ)
        return preview(kind, household, letters, out_dir, project=project, on=on, secret=secret)

    # -- replies in the shared mailbox (usecases/replies.py, flows/replies.py)

    def pull_replies(self, code: str) -> RepliesReport:
        """Read the shared mailbox's replies and make each an open item for its household."""
        from connectors.m365.replies import ReplyReader
        from keukentafel.usecases.replies import pull_replies

        corp = self.corporation(code)
        m365 = self.m365(corp)
        if not m365.mailbox:
            raise ConfigError(f"{self._where(corp)}: replies need 'm365.mailbox' (shared mailbox)")
        graph = self.graph(corp)
        try:
            reader = ReplyReader(graph.client, m365.mailbox)
            return pull_replies(
                self.sessions,
                code,
                corp.domain_projects(),
                reader,
                now=self.clock(),
                on=self.today(),
            )
        finally:
            graph.close()

    # -- the web application (keukentafel/web, issue 14)

    def web(self, *, session_secret: bytes | None = None) -> FastAPI:
        """The resident's page and the staff page on this App (``keukentafel web`` serves it)."""
        from keukentafel.web.app import create_app

        return create_app(self, secret=session_secret)

    def staff_sign_in(self, corp: CorporationFile) -> StaffSignIn:
        """The corporation's staff sign-in (``web.staff``): one msal app per process."""
        from connectors.m365.signin import StaffSignIn

        if corp.web is None or corp.web.staff is None:
            raise ConfigError(f"{self._where(corp)}: the 'web.staff' section is missing")
        with self._lock:
            if corp.code not in self._staff_sign_ins:
                self._staff_sign_ins[corp.code] = StaffSignIn(corp.web.staff, self.settings.environ)
            return self._staff_sign_ins[corp.code]

    # -- privacy: the retention purge, the access export, the audit log (issue 11 item 9)

    def mailing_archive(self) -> MailingArchive:
        """The mailings' output folders, as the purge and the export see them."""
        from keukentafel.letters.archive import MailingFolders

        return MailingFolders(self.settings.output_dir / "mailings")

    def access_exports(self) -> ExportStore:
        """Access exports under ``<output>/privacy/exports/<corporation>/<unit>/``."""
        from keukentafel.letters.access_export import AccessExportFolder

        return AccessExportFolder(self.settings.output_dir / "privacy" / "exports")

    def evidence(self) -> EvidenceFolder:
        """The scans kept as consent evidence, under ``<data>/evidence/<sha256>/``."""
        from keukentafel.usecases.staff_consent import EvidenceFolder

        return EvidenceFolder(self.settings.data_dir)

    def retention_plan(self, code: str, on: date) -> RetentionPlan:
        """Which projects' personal data is due for the purge on ``on`` (nothing is read)."""
        from keukentafel.domain.retention import plan_retention

        return plan_retention(self.corporation(code).retention(), on)

    def purge_personal_data(self, code: str, *, on: date, actor: str) -> PurgeReport:
        """Remove the personal data whose retention has passed; counts and unit codes back."""
        from keukentafel.usecases.privacy import purge_personal_data

        corp = self.corporation(code)
        return purge_personal_data(
            self.sessions,
            corp.code,
            corp.retention(),
            self.mailing_archive(),
            self.access_exports(),
            scans=self.evidence(),
            on=on,
            actor=actor,
            clock=self.clock,
        )

    def export_household(
        self, code: str, unit_code: str, *, on: date, actor: str, relation_id: str | None = None
    ) -> ExportResult:
        """Write everything held on one household (HouseholdNotFound when there is none)."""
        from keukentafel.usecases.privacy import export_household

        corp = self.corporation(code)
        return export_household(
            self.sessions,
            corp.code,
            corp.corporation.name,
            corp.domain_projects(),
            unit_code,
            self.mailing_archive(),
            self.access_exports(),
            scans=self.evidence(),
            on=on,
            actor=actor,
            relation_id=relation_id,
            clock=self.clock,
        )

    def audit_events(self, code: str, unit_code: str | None = None) -> list[AuditEntry]:
        """The corporation's audit log (one unit's events when given), oldest first."""
        from keukentafel.store.repositories.audit import AuditLog

        with self.sessions() as session:
            return AuditLog(session).events(self.corporation(code).code, unit_code=unit_code)


def build(
    settings: Settings, *, corporations: CorporationRegistry | None = None, clock: Clock = utc_now
) -> App:
    """The App for these settings: the corporation files of ``settings.config_dir`` unless given."""
    if corporations is None:
        corporations = CorporationRegistry.from_dir(settings.config_dir)
    return App(settings, corporations, clock)


# --- the process's App --------------------------------------------------------------------------

_current: App | None = None
_current_lock = threading.Lock()


def current_app() -> App:
    """The App installed by the entry point, or else one built from the environment on first use."""
    global _current
    with _current_lock:
        if _current is None:
            _current = build(Settings.from_env())
            atexit.register(_current.close)
        return _current


@contextmanager
def installed(app: App) -> Iterator[App]:
    """Make ``app`` the process's App while the block runs (the CLI, the demo and tests)."""
    global _current
    with _current_lock:
        previous, _current = _current, app
    try:
        yield app
    finally:
        with _current_lock:
            _current = previous


# --- mailing content ----------------------------------------------------------------------------


def mailing_content(
    kind: str, on: date, content_path: str | Path | None, *, sample: bool
) -> MailingContent:
    """What a mailing says besides each household's own details: a content file, or samples."""
    from keukentafel.config.mailing_content import MailingContent, load_mailing_content

    if sample:
        from keukentafel.domain.consent import COMPUTED_DETAILS, TALLY_DETAILS
        from keukentafel.letters.samples import sample_details, sample_event

        return MailingContent(
            mailing_id=f"sample-{on.isoformat()}",
            event=sample_event(kind, on),
            details={
                k: v
                for k, v in sample_details(kind, on).items()
                if k not in COMPUTED_DETAILS | TALLY_DETAILS
            },
        )
    if content_path is None:
        raise ConfigError(
            f"mailing {kind}: give --content FILE with its mailing_id, event and details "
            "(see templates/README.md)"
        )
    content = load_mailing_content(content_path)
    _from_the_tally(kind, content, content_path)
    return content


def _from_the_tally(kind: str, content: MailingContent, path: str | Path) -> None:
    """The 70% notice and reminders take their units (and the notice its share) from the
    consent tally: a content file that types them is refused, saying so."""
    from keukentafel.domain.consent import TALLY_DETAILS
    from keukentafel.domain.messages import MessageKind

    if kind not in (MessageKind.CONSENT_REACHED, MessageKind.REMINDER):
        return
    if content.units is not None:
        raise ConfigError(
            f"{path}: units: {kind} goes to the units the consent tally gives (the tenants who "
            "did not agree, or those without an answer); remove 'units' from the content file"
        )
    typed = sorted(TALLY_DETAILS & set(content.details))
    if kind == MessageKind.CONSENT_REACHED and typed:
        raise ConfigError(
            f"{path}: details.{typed[0]}: the share that agreed comes from the consent tally on "
            "the day the notice goes out; remove it from the content file"
        )


def open_store(database_url: str) -> sessionmaker[Session]:
    """An engine on the URL with the schema migrated, for tests and benchmarks outside an App.

    Entry points use ``App.sessions`` (one engine per process); the integrator removes this once
    the remaining tests and bench/ use the App or the store fixtures.
    """
    from keukentafel.store.db import make_engine, session_factory, upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    return session_factory(engine)
