"""The last SEQUENCE and content fingerprint sent per calendar invitation UID."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from keukentafel.store.models import InvitationRow
from keukentafel.store.repositories._bulk import chunks


class InvitationRepository:
    """The last SEQUENCE and content fingerprint per invitation UID."""

    def __init__(self, session: Session, corporation_code: str) -> None:
        self.session = session
        self.corporation = corporation_code

    def stored(self, uids: Iterable[str]) -> dict[str, tuple[int, str]]:
        wanted = sorted(set(uids))
        found: dict[str, tuple[int, str]] = {}
        for chunk in chunks(wanted, 900):
            rows = self.session.execute(
                select(InvitationRow.uid, InvitationRow.sequence, InvitationRow.content_hash).where(
                    InvitationRow.corporation_code == self.corporation, InvitationRow.uid.in_(chunk)
                )
            )
            found.update({uid: (sequence, digest) for uid, sequence, digest in rows})
        return found

    def save(self, versions: Mapping[str, tuple[str, int, str]], now: datetime) -> None:
        """``versions``: uid -> (unit code, sequence, fingerprint) as just sent."""
        existing = {
            row.uid: row
            for row in self.session.scalars(
                select(InvitationRow).where(
                    InvitationRow.corporation_code == self.corporation,
                    InvitationRow.uid.in_(list(versions)),
                )
            )
        }
        for uid, (unit_code, sequence, digest) in versions.items():
            row = existing.get(uid)
            if row is None:
                self.session.add(
                    InvitationRow(
                        corporation_code=self.corporation,
                        uid=uid,
                        unit_code=unit_code,
                        sequence=sequence,
                        content_hash=digest,
                        updated_at=now,
                    )
                )
            elif (row.sequence, row.content_hash) != (sequence, digest):
                row.sequence, row.content_hash, row.updated_at = sequence, digest, now
