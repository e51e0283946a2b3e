"""Art. 7:220 rules for consent letters: who may get them, and the computed 8-week deadline.

The mailing use case runs on the real store with an in-memory writer (tests/builders.py): the
rules decide recipients and details, which is what these tests look at; the letters themselves
are tested in test_templates_static.py and, end to end, in test_mailing.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent import MailingNotAllowed, check_mailing, objection_deadline
from keukentafel.domain.mailing import Skip, SkipReason
from keukentafel.domain.model import Project, ProjectKind
from keukentafel.store.repositories import MailingRepository
from keukentafel.usecases.mailing import prepare_mailing
from keukentafel.usecases.outbox import outbox_counts
from tests import builders
from tests.builders import (
    CORP,
    DEMOLITION,
    RENOVATION,
    run,
    with_owner_occupier,
)


def test_objection_deadline_is_eight_weeks_after_the_notice() -> None:
    assert objection_deadline(date(2026, 11, 28)) == date(2027, 1, 23)
    assert objection_deadline(date(2027, 2, 27)) == date(2027, 4, 24)


@pytest.mark.parametrize(
    ("kind", "project", "homes", "units", "details", "message"),
    [
        ("proposal", DEMOLITION, 40, None, {}, "demolition"),
        ("consent_reached", DEMOLITION, 40, ["VHE00001"], {}, "demolition"),
        ("consent_reached", RENOVATION, 9, ["VHE00001"], {}, "at least 10"),
        ("consent_reached", RENOVATION, 40, None, {}, "did not agree"),
        ("reminder", RENOVATION, 40, [], {}, "did not answer"),
        (
            "consent_reached",
            RENOVATION,
            40,
            ["VHE00001"],
            {"objection_deadline_text": "1 januari"},
            "computed",
        ),
        (
            "consent_reached",
            RENOVATION,
            40,
            ["VHE00001"],
            {"notice_date": date(2026, 1, 1)},
            "computed",
        ),
    ],
)
def test_consent_letters_refused_where_they_would_state_the_law_wrongly(
    kind: str,
    project: Project,
    homes: int,
    units: list[str] | None,
    details: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(MailingNotAllowed, match=message):
        check_mailing(kind, project, homes_in_scope=homes, recipients=units, details=details)


def test_allowed_consent_letters_pass() -> None:
    check_mailing("proposal", RENOVATION, homes_in_scope=4, recipients=None, details={})
    check_mailing(
        "consent_reached", RENOVATION, homes_in_scope=10, recipients=["VHE00001"], details={}
    )
    check_mailing("info_evening", DEMOLITION, homes_in_scope=1, recipients=None, details={})


def notice(
    sessions: sessionmaker[Session], writer: builders.MemoryWriter, on: date, units: list[str]
):  # type: ignore[no-untyped-def]
    return prepare_mailing(
        sessions,
        RENOVATION,
        "consent_reached",
        writer,
        on=on,
        mailing_id="zeventig-procent",
        started_by="cli:test",
        details={"share_text": "75%", "court_name": "kantonrechter"},
        units=units,
    )


def test_consent_reached_goes_only_to_the_named_tenants_with_the_computed_dates(
    sessions: sessionmaker[Session],
) -> None:
    run(sessions, with_owner_occupier(13, owner=9))
    writer = builders.MemoryWriter()
    result = notice(sessions, writer, date(2026, 11, 28), ["VHE00003", "VHE00007", "VHE00009"])
    plan = writer.last
    assert [h.unit.code for h in plan.recipients] == ["VHE00003", "VHE00007"]
    assert plan.details["notice_date"] == date(2026, 11, 28)
    assert plan.details["objection_deadline"] == date(2027, 1, 23)
    assert Skip("VHE00009", SkipReason.OWNER_OCCUPIER) in result.skipped
    assert Skip("VHE00001", SkipReason.NOT_NAMED) in result.skipped
    assert result.letters == result.registered == result.enqueued == 2
    # the same mailing again, even on another day, adds nothing to the outbox
    again = notice(sessions, writer, date(2026, 11, 30), ["VHE00003", "VHE00007", "VHE00009"])
    assert again.enqueued == 0
    assert outbox_counts(sessions, CORP)["pending"] == 2


@pytest.mark.parametrize(("homes", "applies"), [(4, False), (12, True)])
def test_proposal_says_whether_the_70_percent_presumption_can_apply(
    sessions: sessionmaker[Session], homes: int, applies: bool
) -> None:
    run(sessions, with_owner_occupier(homes + 1, owner=1))  # owners do not count
    writer = builders.MemoryWriter()
    prepare_mailing(
        sessions,
        RENOVATION,
        "proposal",
        writer,
        on=date(2026, 11, 28),
        mailing_id="voorstel",
        started_by="cli:test",
        details={"packages": [], "moving_allowance_text": "", "social_plan_url": ""},
    )
    assert writer.last.details["presumption_applies"] is applies
    assert len(writer.last.recipients) == homes + 1  # the owner gets the owner's variant


def test_a_refused_consent_letter_writes_and_records_nothing(
    sessions: sessionmaker[Session],
) -> None:
    run(sessions, builders.register(12))
    writer = builders.MemoryWriter()
    demolition = replace(RENOVATION, kind=ProjectKind.DEMOLITION)
    with pytest.raises(MailingNotAllowed, match="demolition"):
        prepare_mailing(
            sessions,
            demolition,
            "proposal",
            writer,
            on=date(2026, 11, 28),
            mailing_id="voorstel",
            started_by="cli:test",
        )
    assert writer.written == []
    assert outbox_counts(sessions, CORP)["pending"] == 0
    with sessions() as s:
        assert MailingRepository(s, CORP).of_project("P") == []
