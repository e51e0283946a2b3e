"""The composition root: the one place that picks real adapters and wires them to use cases.

Flows and the CLI call these factories; nothing else constructs engines, HTTP clients or sources.
Connector modules are imported here lazily, so the domain and use cases never import them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as email_policy
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.config import (
    ConfigError,
    CorporationFile,
    format_validation_error,
    load_config,
    load_yaml,
)
from keukentafel.domain.consent import COMPUTED_DETAILS
from keukentafel.domain.model import Project
from keukentafel.domain.register import PageMemo, Snapshot
from keukentafel.settings import Settings
from keukentafel.store.db import make_engine, session_factory, upgrade
from keukentafel.usecases.register_summary import RegisterSummary, register_summary
from keukentafel.usecases.sync_register import ProgressFn, RegisterSource, SyncResult, sync_register
from keukentafel.usecases.team_contacts import TeamListRead

if TYPE_CHECKING:
    from connectors.m365.config import M365Config
    from connectors.m365.graph import GraphClient
    from keukentafel.letters.config import LettersConfig

_M = TypeVar("_M", bound=BaseModel)


def open_store(database_url: str) -> sessionmaker[Session]:
    """An engine on the URL with the schema migrated to the newest revision."""
    engine = make_engine(database_url)
    upgrade(engine)
    return session_factory(engine)


@dataclass
class VeraSource:
    """The corporation's ERP over VERA REST, limited to the projects' complexes."""

    config: CorporationFile
    env: Mapping[str, str]
    name: str = "vera"

    def read(self, progress: ProgressFn | None = None, memo: PageMemo | None = None) -> Snapshot:
        from connectors.erp.vera import VeraClient, read_snapshot

        vera = self.config.source.vera
        assert vera is not None
        with VeraClient(vera, env=self.env) as client:
            return read_snapshot(
                client,
                self.config.complexes(),
                cluster_kind=vera.cluster_kind,
                progress=progress,
                memo=memo,
            )


@dataclass
class SpreadsheetSource:
    """An ERP export (CSV or XLSX) read through the column mapping in config."""

    config: CorporationFile
    name: str = "spreadsheet"

    def read(self, progress: ProgressFn | None = None, memo: PageMemo | None = None) -> Snapshot:
        from connectors.erp.spreadsheet import read_snapshot

        sheet = self.config.source.spreadsheet
        assert sheet is not None
        snapshot = read_snapshot(sheet, self.config.complexes())
        if progress:
            progress(Path(sheet.path).name, len(snapshot.units), len(snapshot.units))
        return snapshot


def register_source(
    config: CorporationFile, env: Mapping[str, str] | None = None
) -> RegisterSource:
    if config.source.kind == "vera":
        return VeraSource(config, os.environ if env is None else env)
    return SpreadsheetSource(config)


def run_sync(
    config_path: str | Path,
    settings: Settings,
    *,
    progress: ProgressFn | None = None,
) -> SyncResult:
    config = load_corporation(config_path)
    sessions = open_store(settings.database_url)
    return sync_register(
        sessions,
        config.corporation.code,
        register_source(config),
        max_shrink=config.sync.max_shrink,
        progress=progress,
    )


def summarise(config_path: str | Path, settings: Settings, on: date) -> RegisterSummary:
    config = load_config(config_path)
    sessions = open_store(settings.database_url)
    return register_summary(sessions, config.corporation.code, config.domain_projects(), on)


# --- optional sections: letters and Microsoft 365 ---------------------------------------------


def letters_config(config: CorporationFile, path: str | Path) -> LettersConfig:
    """The validated ``letters:`` section; relative logo and template paths resolve next to the file."""
    from keukentafel.letters.config import LettersConfig

    letters = _section(LettersConfig, config.letters, path, "letters")
    base = Path(path).resolve().parent
    updates: dict[str, object] = {}
    if letters.branding.logo_path and not Path(letters.branding.logo_path).is_absolute():
        branding = letters.branding.model_copy(
            update={"logo_path": str(base / letters.branding.logo_path)}
        )
        updates["branding"] = branding
    if letters.templates_dir and not Path(letters.templates_dir).is_absolute():
        updates["templates_dir"] = str(base / letters.templates_dir)
    return letters.model_copy(update=updates) if updates else letters


def m365_config(config: CorporationFile, path: str | Path) -> M365Config:
    from connectors.m365.config import M365Config

    return _section(M365Config, config.m365, path, "m365")


def _section(model: type[_M], data: dict[str, object], path: str | Path, key: str) -> _M:
    if not data:
        raise ConfigError(f"{path}: the {key!r} section is missing")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        message = format_validation_error(Path(path), exc)
        raise ConfigError(message.replace("\n  - ", f"\n  - {key}.")) from None


def load_corporation(path: str | Path) -> CorporationFile:
    """Load a corporation file and validate every section it has, so errors show up front."""
    config = load_config(path)
    if config.letters:
        letters_config(config, path)
    if config.m365:
        m365_config(config, path)
    return config


@dataclass
class GraphConnection:
    """One MSAL app and one Graph client per process, made on first use."""

    config: M365Config
    env: Mapping[str, str]
    _client: GraphClient | None = None

    @property
    def client(self) -> GraphClient:
        if self._client is None:
            from connectors.m365.auth import GraphAuth
            from connectors.m365.graph import GraphClient

            self._client = GraphClient(GraphAuth(self.config, self.env), self.config)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


@dataclass
class SharePointListSource:
    """The team's SharePoint list, read by delta after the first full read."""

    graph: GraphConnection
    name: str = "m365_list"

    def read(self, state: str | None) -> TeamListRead:
        from connectors.m365.contacts import read_contact_list_changes

        found = read_contact_list_changes(self.graph.client, self.graph.config, state)
        return TeamListRead(
            contacts=list(found.contacts),
            rejected=list(found.rejected),
            removed_keys=[str(key) for key in found.removed_ids],
            state=found.delta_link,
            full=found.full,
        )


@dataclass
class WorkbookSource:
    """The team's Excel file in SharePoint or OneDrive, read whole every time."""

    graph: GraphConnection
    name: str = "m365_workbook"

    def read(self, state: str | None) -> TeamListRead:
        from connectors.m365.contacts import read_contact_workbook

        contacts, rejected = read_contact_workbook(self.graph.client, self.graph.config)
        return TeamListRead(contacts=list(contacts), rejected=list(rejected), full=True)


@dataclass
class GraphMailTransport:
    """The outbox's transport over a shared mailbox (sendMail, or draft + upload above 3 MB)."""

    graph: GraphConnection

    def __post_init__(self) -> None:
        from connectors.m365.mail import MailboxSender

        config = self.graph.config
        if not config.mailbox:
            raise ConfigError("m365.mailbox is not set: there is no shared mailbox to send from")
        self.sender = MailboxSender(
            self.graph.client, config.mailbox, pace_per_minute=config.send_pace_per_minute
        )

    def send(self, message: bytes, message_id: str) -> None:
        """Send through Graph; only a refusal (4xx, or a message Graph cannot take) is certain."""
        from connectors.m365.graph import GraphError
        from keukentafel.usecases.outbox import DeliveryRejected

        parsed = message_from_bytes(message, policy=email_policy)
        assert isinstance(parsed, EmailMessage)
        try:
            self.sender.send(parsed, message_id)
        except ValueError as exc:  # not a sendable message: it never left
            raise DeliveryRejected(str(exc)) from exc
        except GraphError as exc:
            if 400 <= exc.status < 500:  # refused (after the client's throttling retries)
                raise DeliveryRejected(str(exc)) from exc
            raise  # 5xx or a broken connection: it may have been accepted

    def already_sent(self, message_id: str, since: datetime) -> bool:
        # The store keeps naive UTC times; Graph filters need an explicit zone.
        aware = since if since.tzinfo else since.replace(tzinfo=UTC)
        return self.sender.find_sent(message_id, aware)


# --- mailings -----------------------------------------------------------------------------------


class EventContent(BaseModel):
    model_config = {"extra": "forbid"}

    event_id: str
    title: str
    start: datetime
    end: datetime
    location_name: str
    location_address: str
    online_url: str = ""


class MailingContent(BaseModel):
    """What a mailing says besides the household: one shared event and the kind's details.

    Read from a YAML file (``mailing send --content FILE``)::

        event:                      # for invitations to one meeting (leave out otherwise)
          event_id: bewonersavond-1
          title: Informatieavond over de renovatie
          start: 2026-12-10T19:30
          end: 2026-12-10T21:00
          location_name: Buurthuis De Schakel
          location_address: Dijkstraat 4, 1234 AB Ons Dorp
        details: {works_summary: [...], start_period_text: voorjaar 2027, moving_out: false}

    The ``details`` keys per kind are documented in templates/README.md.
    """

    model_config = {"extra": "forbid"}

    mailing_id: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._-]+$")
    event: EventContent | None = None
    details: dict[str, object] = {}
    units: list[str] | None = None  # only these units (e.g. the tenants who did not agree)


def find_project(config: CorporationFile, code: str) -> Project:
    for project in config.domain_projects():
        if project.code == code:
            return project
    known = ", ".join(p.code for p in config.projects)
    raise ConfigError(f"no project {code!r} in this corporation file (known: {known})")


def mailing_content(
    kind: str, on: date, content_path: str | Path | None, *, sample: bool
) -> MailingContent:
    """What a mailing says besides each household's own details: a content file, or samples."""
    from keukentafel.letters.samples import sample_details, sample_event

    if sample:
        event = sample_event(kind, on)
        return MailingContent(
            mailing_id=f"sample-{on.isoformat()}",
            event=EventContent(**{f: getattr(event, f) for f in EventContent.model_fields})
            if event
            else None,
            details={
                k: v for k, v in sample_details(kind, on).items() if k not in COMPUTED_DETAILS
            },
        )
    if content_path is None:
        raise ConfigError(
            f"mailing {kind}: give --content FILE with its mailing_id, event and details "
            "(see templates/README.md)"
        )
    data = load_yaml(Path(content_path))
    try:
        return MailingContent.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(Path(content_path), exc)) from None


def prepare_mailing(
    config_path: str | Path,
    settings: Settings,
    project_code: str,
    kind: str,
    *,
    on: date,
    content_path: str | Path | None = None,
    sample: bool = False,
) -> dict[str, object]:
    """Compose, print and enqueue one mailing; returns counts and paths (no personal data)."""
    import getpass

    from prefect.runtime import flow_run

    from keukentafel.letters.links import read_link_secret
    from keukentafel.letters.output import LettersMailingWriter
    from keukentafel.usecases.mailing import prepare_mailing as prepare

    config = load_corporation(config_path)
    letters = letters_config(config, config_path)
    project = find_project(config, project_code)
    from keukentafel.letters.context import Event

    content = mailing_content(kind, on, content_path, sample=sample)
    try:
        event = Event(**content.event.model_dump()) if content.event else None
    except ValueError as exc:
        raise ConfigError(f"{content_path}: event: {exc}") from None
    try:
        secret = read_link_secret(letters.link_secret_env)
    except Exception as exc:
        raise ConfigError(f"letters.link_secret_env: {exc}") from None
    sessions = open_store(settings.database_url)
    writer = LettersMailingWriter(letters, settings.output_dir / "mailings", secret)
    result = prepare(
        sessions,
        project,
        kind,
        writer,
        on=on,
        mailing_id=content.mailing_id,
        started_by=f"prefect:{flow_run.id}" if flow_run.id else f"cli:{getpass.getuser()}",
        event=event,
        details=content.details,
        units=content.units,
    )
    return result.as_dict()
