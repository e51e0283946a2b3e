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
    from connectors.erp.vera.worker import ListingWorker
    from keukentafel.domain.register import Snapshot
    from keukentafel.usecases.page_memo import PageMemo
    from keukentafel.usecases.sync_register import ProgressFn


@dataclass
class VeraSource:
    """The corporation's ERP over VERA REST, limited to the projects' complexes."""

    config: CorporationFile
    env: Mapping[str, str] = field(repr=False)  # the process's secrets: never printed
    name: str = "vera"
    _begun: ListingWorker | None = field(default=None, init=False, repr=False, compare=False)

    def begin(self, summaries: dict[str, bytes]) -> None:
        """Start reading the relations now, in a second process, for the next :meth:`read`.

        For a run that starts a while after this is called (a flow run on a Prefect server:
        Prefect's import and the run's start). The second process reads the whole listing from
        its first page, with ``summaries`` (the page memo as stored, read only), and keeps what
        it read until :meth:`read` takes it; :meth:`close` stops it if no read does. Nothing
        happens without a second core, or when the configuration never uses a second process
        (``second_process_above: null``)."""
        from connectors.erp.vera.client import RELATIONS, VeraClient
        from connectors.erp.vera.worker import ListingWorker

        vera = self.config.source.vera
        assert vera is not None
        if self._begun is not None or vera.second_process_above is None or cpus() < 2:
            return
        with VeraClient(vera, env=self.env) as client:
            worker = ListingWorker.on(client, RELATIONS, "", client.paginator(), summaries)
        self._begun = worker.start()

    def read(self, progress: ProgressFn | None = None, memo: PageMemo | None = None) -> Snapshot:
        from connectors.erp.vera import VeraClient, read_snapshot

        vera = self.config.source.vera
        assert vera is not None
        begun, self._begun = self._begun, None
        try:
            with VeraClient(vera, env=self.env) as client:
                return read_snapshot(
                    client,
                    self.config.complexes(),
                    cluster_kind=vera.cluster_kind,
                    progress=progress,
                    memo=memo,
                    second_process_above=vera.second_process_above if cpus() > 1 else None,
                    begun=begun,
                )
        finally:
            if begun is not None:
                begun.close()

    def close(self) -> None:
        """Stop a second process begun for a read that did not come."""
        begun, self._begun = self._begun, None
        if begun is not None:
            begun.close()


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
