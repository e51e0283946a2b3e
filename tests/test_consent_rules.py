"""Art. 7:220 rules for consent letters: who may get them, and the computed 8-week deadline."""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path

import pdfplumber
import pytest
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent import MailingNotAllowed, check_mailing, objection_deadline
from keukentafel.domain.model import Project, ProjectKind
from keukentafel.letters.config import LettersConfig
from keukentafel.usecases.mailing import prepare_mailing
from tests import builders
from tests.test_sync_register import CORP, run

RENOVATION = Project("P", "Renovatie", CORP, ProjectKind.RENOVATION_OCCUPIED, ("CPX-1",))
DEMOLITION = Project("S", "Sloop", CORP, ProjectKind.DEMOLITION, ("CPX-1",))


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


def letters_config() -> LettersConfig:
    return LettersConfig.model_validate(
        {
            "branding": {
                "name": "Woonstichting Test",
                "return_address": "Woonstichting Test, Postbus 1, 1000 AA  AMSTERDAM",
            },
            "contact": {
                "name": "Bea Begeleider",
                "phone": "020-1234567",
                "email": "team@example.org",
            },
            "link_base_url": "https://bewoners.example.org/a",
        }
    )


def test_consent_reached_goes_only_to_the_named_units_with_the_computed_deadline(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    run(sessions, builders.register(12))
    result = prepare_mailing(
        sessions,
        RENOVATION,
        "consent_reached",
        letters_config(),
        tmp_path,
        on=date(2026, 11, 28),
        secret=secrets.token_bytes(32),
        mailing_id="zeventig-procent",
        details={"share_text": "75%", "court_name": "kantonrechter"},
        units=["VHE00003", "VHE00007"],
    )
    assert result.letters == 2 and result.registered == 2
    with pdfplumber.open(result.print_pdf) as pdf:
        text = " ".join(page.extract_text() or "" for page in pdf.pages)
    assert "23 januari 2027" in text and "28 november 2026" in text
    assert "8 weken" in text
    # the same mailing again, even on another day, adds nothing to the outbox
    again = prepare_mailing(
        sessions,
        RENOVATION,
        "consent_reached",
        letters_config(),
        tmp_path / "again",
        on=date(2026, 11, 30),
        secret=secrets.token_bytes(32),
        mailing_id="zeventig-procent",
        details={"share_text": "75%", "court_name": "kantonrechter"},
        units=["VHE00003", "VHE00007"],
    )
    assert again.enqueued == 0


@pytest.mark.parametrize(("homes", "mentions_70"), [(4, False), (12, True)])
def test_proposal_explains_the_70_percent_rule_only_where_it_applies(
    sessions: sessionmaker[Session], tmp_path: Path, homes: int, mentions_70: bool
) -> None:
    run(sessions, builders.register(homes))
    result = prepare_mailing(
        sessions,
        RENOVATION,
        "proposal",
        letters_config(),
        tmp_path,
        on=date(2026, 11, 28),
        secret=secrets.token_bytes(32),
        mailing_id="voorstel",
        details={
            "packages": [
                {
                    "code": "A",
                    "title": "Nieuwe kozijnen",
                    "description": "HR++ glas",
                    "is_renovation": True,
                    "rent_increase_text": "€ 20,00 per maand",
                }
            ],
            "moving_allowance_text": "",
            "social_plan_url": "",
        },
    )
    with pdfplumber.open(result.print_pdf) as pdf:
        text = " ".join(page.extract_text() or "" for page in pdf.pages[:3])
    assert ("70 procent" in text) is mentions_70
    assert ("de rechter beslissen" in text) is not mentions_70
