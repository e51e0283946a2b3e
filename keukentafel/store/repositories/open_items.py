"""Open items (``open_items``): questions, requests for a visit or a call, e-mail replies.

Recording is idempotent on ``source_ref`` per corporation (a form's nonce digest, a message id):
the same item sent twice is recorded once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from keukentafel.domain.open_items import OpenItem, OpenItemKind, OpenItemStatus
from keukentafel.store.models import OpenItemRow
from keukentafel.store.repositories.resident_access import insert_ignoring


def _item(row: OpenItemRow) -> OpenItem:
    return OpenItem(
        public_id=row.public_id,
        corporation_code=row.corporation_code,
        project_code=row.project_code,
        unit_code=row.unit_code,
        kind=OpenItemKind(row.kind),
        channel=row.channel,
        text=row.text,
        status=OpenItemStatus(row.status),
        created_at=row.created_at,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
    )


class OpenItemRepository:
    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def add(self, item: OpenItem, *, tenancy: str, source_ref: str) -> bool:
        """Record the item; False when one with this ``source_ref`` is already recorded."""
        stmt = insert_ignoring(
            self.session, OpenItemRow, ["corporation_code", "source_ref"]
        ).returning(OpenItemRow.id)
        values = {
            "public_id": item.public_id,
            "corporation_code": self.corporation,
            "project_code": item.project_code,
            "unit_code": item.unit_code,
            "tenancy": tenancy,
            "kind": item.kind.value,
            "channel": item.channel,
            "text": item.text,
            "status": item.status.value,
            "source_ref": source_ref[:200],
            "created_at": item.created_at,
            "closed_by": "",
        }
        return len(self.session.execute(stmt, [values]).all()) == 1

    def for_project(self, project_code: str, *, open_only: bool = True) -> list[OpenItem]:
        query = select(OpenItemRow).where(
            OpenItemRow.corporation_code == self.corporation,
            OpenItemRow.project_code == project_code,
        )
        if open_only:
            query = query.where(OpenItemRow.status == OpenItemStatus.OPEN.value)
        return [_item(r) for r in self.session.scalars(query.order_by(OpenItemRow.created_at))]

    def for_unit(self, project_code: str, unit_code: str) -> list[OpenItem]:
        rows = self.session.scalars(
            select(OpenItemRow)
            .where(
                OpenItemRow.corporation_code == self.corporation,
                OpenItemRow.project_code == project_code,
                OpenItemRow.unit_code == unit_code,
            )
            .order_by(OpenItemRow.created_at.desc())
        )
        return [_item(r) for r in rows]

    def open_counts(self, project_code: str) -> dict[str, int]:
        """Open items per unit code."""
        rows = self.session.execute(
            select(OpenItemRow.unit_code, func.count())
            .where(
                OpenItemRow.corporation_code == self.corporation,
                OpenItemRow.project_code == project_code,
                OpenItemRow.status == OpenItemStatus.OPEN.value,
            )
            .group_by(OpenItemRow.unit_code)
        )
        return {unit: int(count) for unit, count in rows}

    def close(self, project_code: str, public_ids: Iterable[str], now: datetime, by: str) -> int:
        done = self.session.execute(
            update(OpenItemRow)
            .where(
                OpenItemRow.corporation_code == self.corporation,
                OpenItemRow.project_code == project_code,
                OpenItemRow.public_id.in_(list(public_ids)),
                OpenItemRow.status == OpenItemStatus.OPEN.value,
            )
            .values(status=OpenItemStatus.DONE.value, closed_at=now, closed_by=by[:200])
            .returning(OpenItemRow.id)
        )
        return len(done.all())
