"""Summaries of a source's pages by page key, kept for the next sync (see ``SourcePageRow``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from keukentafel.store.models import SourcePageRow
from keukentafel.store.repositories._bulk import bulk_insert, chunks, driver_rows, table_of


class SourcePageRepository:
    """Summaries of one source's pages by page key (see ``SourcePageRow`` and ``PageMemo``)."""

    def __init__(self, session: Session, corporation_code: str, source: str) -> None:
        self.session = session
        self.corporation = corporation_code
        self.source = source

    def load(self) -> dict[str, bytes]:
        rows = driver_rows(
            self.session,
            "SELECT page_key, summary FROM source_pages WHERE corporation_code = ? AND source = ?",
            (self.corporation, self.source),
        )
        return {key: bytes(summary) for key, summary in rows}

    def save(self, new: Mapping[str, bytes], stale: Iterable[str], now: datetime) -> None:
        """Add the new summaries and drop the stale ones, in the caller's transaction."""
        gone = sorted(set(stale))
        for chunk in chunks(gone, 900):
            self.session.execute(
                delete(SourcePageRow).where(
                    SourcePageRow.corporation_code == self.corporation,
                    SourcePageRow.source == self.source,
                    SourcePageRow.page_key.in_(chunk),
                )
            )
        if new:
            columns = ("corporation_code", "source", "page_key", "summary", "updated_at")
            rows = ((self.corporation, self.source, k, v, now) for k, v in new.items())
            bulk_insert(
                self.session,
                table_of(SourcePageRow),
                columns,
                rows,
                conflict=("corporation_code", "source", "page_key"),
            )
