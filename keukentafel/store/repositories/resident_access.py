"""The issued personal links and codes (``resident_access``), and the tenancy they are checked on.

Rows hold digests of the token and the code, never the secret values. Recording the same issued
link twice adds nothing (a re-run mailing issues the same links). The current tenancy of a unit
is read from the register's agreements here, so a link is checked against who lives there today.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from keukentafel.domain.resident_access import Grant, tenancy_key
from keukentafel.store.models import LeaseRow, ResidentAccessRow
from keukentafel.store.repositories._bulk import chunks
from keukentafel.store.repositories.register import lease_from_row


@dataclass(frozen=True, slots=True)
class IssuedGrant:
    """A grant to record, with the digests it is found by."""

    grant: Grant
    token_digest: str
    code_digest: str


def insert_ignoring(session: Session, model: Any, conflict: list[str]) -> Any:
    """``INSERT … ON CONFLICT (conflict) DO NOTHING`` for SQLite and PostgreSQL."""
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing(index_elements=conflict)


def _grant(row: ResidentAccessRow) -> Grant:
    return Grant(
        public_id=row.public_id,
        corporation_code=row.corporation_code,
        project_code=row.project_code,
        unit_code=row.unit_code,
        tenancy=row.tenancy,
        purpose=row.purpose,
        issued_on=row.issued_on,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


class ResidentAccessRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, issued: Sequence[IssuedGrant], now: datetime) -> int:
        """Record issued links; one already on record (same token) is left as it is, so a
        revoked link stays revoked. Returns how many were new."""
        rows = [
            {
                "public_id": item.grant.public_id,
                "corporation_code": item.grant.corporation_code,
                "project_code": item.grant.project_code,
                "unit_code": item.grant.unit_code,
                "tenancy": item.grant.tenancy,
                "purpose": item.grant.purpose,
                "token_digest": item.token_digest,
                "code_digest": item.code_digest,
                "issued_on": item.grant.issued_on,
                "expires_at": item.grant.expires_at,
                "created_at": now,
                "revoked_by": "",
            }
            for item in issued
        ]
        stmt = insert_ignoring(self.session, ResidentAccessRow, ["token_digest"]).returning(
            ResidentAccessRow.id
        )
        inserted = 0
        for chunk in chunks(rows, 1000):
            inserted += len(self.session.execute(stmt, list(chunk)).all())
        return inserted

    def _one(self, *where: Any) -> Grant | None:
        row = self.session.scalars(select(ResidentAccessRow).where(*where)).first()
        return _grant(row) if row is not None else None

    def by_token(self, token_digest: str) -> Grant | None:
        return self._one(ResidentAccessRow.token_digest == token_digest)

    def by_code(self, code_digest: str) -> Grant | None:
        return self._one(ResidentAccessRow.code_digest == code_digest)

    def by_public_id(self, public_id: str) -> Grant | None:
        return self._one(ResidentAccessRow.public_id == public_id)

    def mark_used(self, public_id: str, now: datetime) -> None:
        """Note the first time a grant let someone in (later uses write nothing)."""
        self.session.execute(
            update(ResidentAccessRow)
            .where(
                ResidentAccessRow.public_id == public_id,
                ResidentAccessRow.first_used_at.is_(None),
            )
            .values(first_used_at=now)
        )

    def revoke_unit(
        self, corporation_code: str, project_code: str, unit_code: str, now: datetime, by: str
    ) -> int:
        """Revoke every link and code of a household that is not revoked yet; how many."""
        done = self.session.execute(
            update(ResidentAccessRow)
            .where(
                ResidentAccessRow.corporation_code == corporation_code,
                ResidentAccessRow.project_code == project_code,
                ResidentAccessRow.unit_code == unit_code,
                ResidentAccessRow.revoked_at.is_(None),
            )
            .values(revoked_at=now, revoked_by=by[:200])
            .returning(ResidentAccessRow.id)
        )
        return len(done.all())

    def for_unit(self, corporation_code: str, project_code: str, unit_code: str) -> list[Grant]:
        rows = self.session.scalars(
            select(ResidentAccessRow)
            .where(
                ResidentAccessRow.corporation_code == corporation_code,
                ResidentAccessRow.project_code == project_code,
                ResidentAccessRow.unit_code == unit_code,
            )
            .order_by(ResidentAccessRow.issued_on, ResidentAccessRow.id)
        )
        return [_grant(row) for row in rows]

    def current_tenancies(
        self, corporation_code: str, unit_codes: Iterable[str], on: date
    ) -> dict[str, str]:
        """Per unit code, :func:`tenancy_key` of its agreements running on ``on`` ("" if none)."""
        wanted = list(dict.fromkeys(unit_codes))
        found: dict[str, list[str]] = {code: [] for code in wanted}
        for chunk in chunks(wanted, 500):
            rows = self.session.scalars(
                select(LeaseRow).where(
                    LeaseRow.corporation_code == corporation_code,
                    LeaseRow.unit_code.in_(chunk),
                    LeaseRow.removed_at.is_(None),
                )
            )
            for row in rows:
                lease = lease_from_row(row)
                if lease.is_current(on):
                    found[row.unit_code].append(lease.lease_id)
        return {code: tenancy_key(ids) for code, ids in found.items()}

    def opened_units(self, corporation_code: str, project_code: str) -> set[str]:
        """The project's units whose link or code was ever used."""
        rows = self.session.scalars(
            select(ResidentAccessRow.unit_code)
            .where(
                ResidentAccessRow.corporation_code == corporation_code,
                ResidentAccessRow.project_code == project_code,
                ResidentAccessRow.first_used_at.is_not(None),
            )
            .distinct()
        )
        return set(rows)
