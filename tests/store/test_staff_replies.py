"""Replies that fit no household (open items of project ``-``) on the real store (SQLite and
PostgreSQL): an admin reads and handles them; a guide, who sees only their own projects, gets
neither the text nor the count, and cannot mark them handled."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.open_items import OpenItem, OpenItemKind, OpenItemStatus
from keukentafel.domain.staff import Role, StaffMember
from keukentafel.store.repositories.open_items import OpenItemRepository
from keukentafel.usecases import staff_page as staff
from keukentafel.usecases.replies import UNMATCHED

ADMIN = StaffMember("oid-a", "beheer@example.org", "Beheer", frozenset({Role.ADMIN}), frozenset())
GUIDE = StaffMember("oid-g", "gids@example.org", "Gids", frozenset({Role.GUIDE}), frozenset({"P"}))
NOW = datetime(2026, 12, 7, 10, 0)


def _reply(session: Session, public_id: str, project: str, unit: str, text: str) -> None:
    item = OpenItem(
        public_id=public_id,
        corporation_code="TST",
        project_code=project,
        unit_code=unit,
        kind=OpenItemKind.EMAIL_REPLY,
        channel="email",
        text=text,
        status=OpenItemStatus.OPEN,
        created_at=NOW,
    )
    OpenItemRepository(session, "TST").add(item, tenancy="", source_ref=f"reply:{public_id}")


def test_only_an_admin_reads_and_handles_replies_that_fit_no_household(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        _reply(session, "r-1", UNMATCHED, UNMATCHED, "Van: onbekend@example.org. Ik ben het eens.")
        _reply(session, "r-2", UNMATCHED, UNMATCHED, "Van: iemand@example.org. Bel mij.")
        _reply(session, "r-3", "P", "VHE00001", "Van: bewoner1@example.org. Akkoord.")
    with pytest.raises(staff.NotAllowed):
        staff.unmatched_replies(sessions, "TST", GUIDE)
    with pytest.raises(staff.NotAllowed):
        staff.close_unmatched_replies(sessions, "TST", ["r-1"], GUIDE, now=NOW)
    found = staff.unmatched_replies(sessions, "TST", ADMIN)
    assert [(i.public_id, i.text) for i in found] == [
        ("r-1", "Van: onbekend@example.org. Ik ben het eens."),
        ("r-2", "Van: iemand@example.org. Bel mij."),
    ]
    assert staff.unmatched_replies(sessions, "OTHER", ADMIN) == []  # per corporation
    # r-3 fits a household: it is the project's, not closed from here
    assert staff.close_unmatched_replies(sessions, "TST", ["r-1", "r-3"], ADMIN, now=NOW) == 1
    assert staff.close_unmatched_replies(sessions, "TST", ["r-1"], ADMIN, now=NOW) == 0  # once
    assert [i.public_id for i in staff.unmatched_replies(sessions, "TST", ADMIN)] == ["r-2"]
    with sessions() as session:
        (closed,) = [
            i
            for i in OpenItemRepository(session, "TST").for_project(UNMATCHED, open_only=False)
            if i.public_id == "r-1"
        ]
        project = OpenItemRepository(session, "TST").for_project("P")
    assert (closed.status, closed.closed_by, closed.closed_at) == (
        OpenItemStatus.DONE,
        "entra:oid-a",
        NOW,
    )
    assert [i.public_id for i in project] == ["r-3"]
