"""The stored rows of the guidance team's own contact lists, per source, as last read.

Upserts use the dialect's ``INSERT … ON CONFLICT DO UPDATE`` through SQLAlchemy Core: team lists
are small (hundreds of rows), so the bulk COPY path of the register is not worth its setup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from keukentafel.domain.model import PracticalNeed
from keukentafel.domain.team_contacts import PreferredChannel, TeamContact
from keukentafel.store.models import TeamContactRow
from keukentafel.store.repositories._bulk import chunks


def team_contact_values(contact: TeamContact) -> dict[str, Any]:
    values = {f.name: getattr(contact, f.name) for f in dataclass_fields(contact)}
    values["preferred_channel"] = (
        contact.preferred_channel.value if contact.preferred_channel else None
    )
    values["needs"] = sorted(n.value for n in contact.needs)
    return values


def team_contact_from_values(values: Mapping[str, Any]) -> TeamContact:
    data = dict(values)
    data["preferred_channel"] = (
        PreferredChannel(data["preferred_channel"]) if data.get("preferred_channel") else None
    )
    data["needs"] = frozenset(PracticalNeed(n) for n in data.get("needs", ()))
    return TeamContact(**data)


class TeamContactRepository:
    """The stored rows of the team's contact lists, per source."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def stored_hashes(self, source: str) -> dict[str, str]:
        rows = self.session.execute(
            select(TeamContactRow.row_key, TeamContactRow.content_hash).where(
                TeamContactRow.corporation_code == self.corporation,
                TeamContactRow.source == source,
                TeamContactRow.removed_at.is_(None),
            )
        )
        return {k: h for k, h in rows}

    def upsert(
        self,
        source: str,
        items: Mapping[str, TeamContact],
        hashes: Mapping[str, str],
        now: datetime,
    ) -> int:
        if not items:
            return 0
        rows = [
            {
                "corporation_code": self.corporation,
                "source": source,
                "row_key": key,
                "data": team_contact_values(item),
                "content_hash": hashes[key],
                "updated_at": now,
                "removed_at": None,
            }
            for key, item in items.items()
        ]
        dialect = self.session.get_bind().dialect.name
        stmt: postgresql.Insert | sqlite.Insert = (
            postgresql.insert(TeamContactRow)
            if dialect == "postgresql"
            else sqlite.insert(TeamContactRow)
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["corporation_code", "source", "row_key"],
            set_={
                c: stmt.excluded[c] for c in ("data", "content_hash", "updated_at", "removed_at")
            },
        )
        for chunk in chunks(rows):
            self.session.execute(stmt, list(chunk))
        return len(rows)

    def mark_removed(self, source: str, keys: Iterable[str], now: datetime) -> int:
        wanted = sorted(set(keys))
        for chunk in chunks(wanted, 900):
            self.session.execute(
                update(TeamContactRow)
                .where(
                    TeamContactRow.corporation_code == self.corporation,
                    TeamContactRow.source == source,
                    TeamContactRow.row_key.in_(chunk),
                    TeamContactRow.removed_at.is_(None),
                )
                .values(removed_at=now)
            )
        return len(wanted)

    def active(self) -> list[TeamContact]:
        rows = self.session.scalars(
            select(TeamContactRow.data)
            .where(
                TeamContactRow.corporation_code == self.corporation,
                TeamContactRow.removed_at.is_(None),
            )
            .order_by(TeamContactRow.source, TeamContactRow.id)
        )
        return [team_contact_from_values(values) for values in rows]
