"""A mailing on the real store: invitations keep their UID and raise SEQUENCE on every change."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from icalendar import Calendar
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.letters.context import Event
from keukentafel.usecases.mailing import prepare_mailing
from keukentafel.usecases.outbox import outbox_counts
from tests import builders
from tests.test_consent_rules import RENOVATION, letters_config
from tests.test_sync_register import CORP, run

EVENING = Event(
    event_id="bewonersavond-1",
    title="Bewonersavond",
    start=datetime(2027, 1, 14, 19, 30),
    end=datetime(2027, 1, 14, 21, 0),
    location_name="Buurthuis De Kade",
    location_address="Kadestraat 2, 1234 AB Ons Dorp",
)


def invitations(folder: Path) -> dict[str, tuple[str, int]]:
    """UID and SEQUENCE per .ics file name."""
    found = {}
    for path in sorted((folder / "agenda").glob("*.ics")):
        event = next(c for c in Calendar.from_ical(path.read_bytes()).walk() if c.name == "VEVENT")
        found[path.name] = (str(event["UID"]), int(event["SEQUENCE"]))
    return found


def send(sessions: sessionmaker[Session], folder: Path, mailing_id: str, event: Event) -> Path:
    prepare_mailing(
        sessions,
        RENOVATION,
        "info_evening",
        letters_config(),
        folder,
        on=date(2026, 12, 1),
        secret=secrets.token_bytes(32),
        mailing_id=mailing_id,
        shared_event=event,
        details={"topic": "de plannen"},
    )
    return folder


def test_sequence_is_kept_for_the_same_event_and_raised_when_it_changes(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    run(sessions, builders.register(3))
    first = invitations(send(sessions, tmp_path / "a", "avond-1", EVENING))
    assert len(first) == 3 and {seq for _, seq in first.values()} == {0}
    same = invitations(send(sessions, tmp_path / "b", "avond-1-herhaald", EVENING))
    assert same == first
    moved = replace(EVENING, start=datetime(2027, 1, 21, 19, 30), end=datetime(2027, 1, 21, 21, 0))
    changed = invitations(send(sessions, tmp_path / "c", "avond-1-verzet", moved))
    assert {name: uid for name, (uid, _) in changed.items()} == {
        name: uid for name, (uid, _) in first.items()
    }
    assert {seq for _, seq in changed.values()} == {1}
    again = invitations(
        send(sessions, tmp_path / "d", "avond-1-verzet-2", replace(moved, location_name="School"))
    )
    assert {seq for _, seq in again.values()} == {2}
    assert outbox_counts(sessions, CORP)["pending"] == 12  # four mailings of three e-mails
