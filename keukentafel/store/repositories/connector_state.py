"""Small durable connector state by key: delta links, reply watermarks. Never secrets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from keukentafel.store.models import ConnectorStateRow


class ConnectorState:
    """Durable connector state by key (delta links, reply watermarks) for one corporation."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def get(self, key: str) -> str | None:
        return self.session.scalar(
            select(ConnectorStateRow.value).where(
                ConnectorStateRow.corporation_code == self.corporation, ConnectorStateRow.key == key
            )
        )

    def set(self, key: str, value: str, now: datetime) -> None:
        row = self.session.scalar(
            select(ConnectorStateRow).where(
                ConnectorStateRow.corporation_code == self.corporation, ConnectorStateRow.key == key
            )
        )
        if row is None:
            self.session.add(
                ConnectorStateRow(
                    corporation_code=self.corporation, key=key, value=value, updated_at=now
                )
            )
        elif row.value != value:
            row.value = value
            row.updated_at = now
