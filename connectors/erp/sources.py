"""The register sources the sync use case reads from: the ERP over VERA REST, or an ERP export.

Adapters between a corporation's configuration and the connectors (the VERA client, the
spreadsheet reader); they implement the use case's ``RegisterSource`` port. The composition root
(keukentafel/bootstrap.py) chooses one per corporation and hands it the settings' snapshot of the
environment, where the secrets named in the configuration are looked up. The connector modules are
imported when a source is read, not when this module is imported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from keukentafel.config import CorporationFile


def cpus() -> int:
    """Cores this process may run on (a second process only helps with a second core)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


if TYPE_CHECKING:
    from keukentafel.domain.register import Snapshot
    from keukentafel.usecases.page_memo import PageMemo
    from keukentafel.usecases.sync_register import ProgressFn


@dataclass
class VeraSource:
    """The corporation's ERP over VERA REST, limited to the projects' complexes."""

    config: CorporationFile
    env: Mapping[str, str] = field(repr=False)  # the process's secrets: never printed
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
                second_process_above=vera.second_process_above if cpus() > 1 else None,
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
