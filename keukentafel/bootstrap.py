"""The composition root: the one place that picks real adapters and wires them to use cases.

Flows and the CLI call these factories; nothing else constructs engines, HTTP clients or sources.
Connector modules are imported here lazily, so the domain and use cases never import them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.config import CorporationFile, load_config
from keukentafel.domain.register import Snapshot
from keukentafel.settings import Settings
from keukentafel.store.db import make_engine, session_factory, upgrade
from keukentafel.usecases.register_summary import RegisterSummary, register_summary
from keukentafel.usecases.sync_register import ProgressFn, RegisterSource, SyncResult, sync_register


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

    def read(self, progress: ProgressFn | None = None) -> Snapshot:
        from connectors.erp.vera import VeraClient, read_snapshot

        vera = self.config.source.vera
        assert vera is not None
        with VeraClient(vera, env=self.env) as client:
            return read_snapshot(
                client, self.config.complexes(), cluster_kind=vera.cluster_kind, progress=progress
            )


@dataclass
class SpreadsheetSource:
    """An ERP export (CSV or XLSX) read through the column mapping in config."""

    config: CorporationFile
    name: str = "spreadsheet"

    def read(self, progress: ProgressFn | None = None) -> Snapshot:
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
    config = load_config(config_path)
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
