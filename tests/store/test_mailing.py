"""Mailings: the plan (who, who not and why), the record of every mailing, invitation SEQUENCEs,
and one real mailing end to end (letters, e-mails, invitations; the outbox holds each e-mail's
exact bytes once)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import date, datetime
from email import message_from_bytes
from pathlib import Path

import pdfplumber
import pytest
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.mailing import (
    MailingNotAllowed,
    MailingState,
    Skip,
    SkipReason,
    content_digest,
    plan_mailing,
)
from keukentafel.domain.messages import Event, MessageKind
from keukentafel.domain.model import Household
from keukentafel.letters.output import LettersMailingWriter
from keukentafel.store.models import OutboxRow
from keukentafel.store.repositories import MailingRepository
from keukentafel.usecases.mailing import prepare_mailing
from keukentafel.usecases.outbox import outbox_counts
from tests import builders
from tests.builders import CORP, RENOVATION, letters_config, run, with_owner_occupier

EVENING = Event(
    event_id="bewonersavond-1",
    title="Bewonersavond",
    start=datetime(2027, 1, 14, 19, 30),
    end=datetime(2027, 1, 14, 21, 0),
    location_name="Buurthuis De Kade",
    location_address="Kadestraat 2, 1234 AB Ons Dorp",
)
ON = date(2026, 12, 1)


# --- the plan (pure) -------------------------------------------------------------------------


def households(count: int) -> list[Household]:
    """Occupied households VHE00001..count, and VHE00099 vacant."""
    occupied = [
        Household(builders.unit(n), ((builders.resident(n), builders.lease(n).parties[0].role),))
        for n in range(1, count + 1)
    ]
    return [*occupied, Household(builders.unit(99))]


def test_plan_skips_vacant_units_and_says_why() -> None:
    plan = plan_mailing(MessageKind.NEWSLETTER, RENOVATION, households(3), ON, {"items": []})
    assert [h.unit.code for h in plan.recipients] == ["VHE00001", "VHE00002", "VHE00003"]
    assert plan.skipped == (Skip("VHE00099", SkipReason.VACANT),)
    assert plan.details == {"items": []}


def test_plan_for_named_units_skips_the_others_with_a_reason() -> None:
    plan = plan_mailing(
        MessageKind.INFO_EVENING, RENOVATION, households(3), ON, {}, units=["VHE00002"]
    )
    assert [h.unit.code for h in plan.recipients] == ["VHE00002"]
    assert set(plan.skipped) == {
        Skip("VHE00099", SkipReason.VACANT),
        Skip("VHE00001", SkipReason.NOT_NAMED),
        Skip("VHE00003", SkipReason.NOT_NAMED),
    }
    assert SkipReason.NOT_NAMED.text == "not one of the units named for this mailing"


@pytest.mark.parametrize(
    ("units", "message"),
    [
        (["VHE00002", "VHE00404"], "not in the project's register: VHE00404"),
        (["VHE00099"], "no household"),
    ],
)
def test_plan_refuses_unknown_units_and_an_empty_mailing(units: list[str], message: str) -> None:
    with pytest.raises(MailingNotAllowed, match=message):
        plan_mailing(MessageKind.INFO_EVENING, RENOVATION, households(3), ON, {}, units=units)


def test_content_digest_is_the_event_and_the_details_as_given() -> None:
    digest = content_digest(EVENING, {"topic": "de plannen", "on": date(2027, 1, 1)})
    assert digest == content_digest(EVENING, {"on": date(2027, 1, 1), "topic": "de plannen"})
    assert digest != content_digest(
        replace(EVENING, location_name="School"), {"topic": "de plannen"}
    )
    assert len(digest) == 64


# --- the use case on the real store, with the in-memory writer -------------------------------


def send(
    sessions: sessionmaker[Session],
    writer: builders.MemoryWriter,
    mailing_id: str,
    event: Event,
    *,
    topic: str = "de plannen",
):  # type: ignore[no-untyped-def]
    return prepare_mailing(
        sessions,
        RENOVATION,
        "info_evening",
        writer,
        on=ON,
        mailing_id=mailing_id,
        started_by="cli:bea",
        event=event,
        details={"topic": topic},
    )


def test_sequence_is_kept_for_the_same_event_and_raised_when_it_changes(
    sessions: sessionmaker[Session],
) -> None:
    run(sessions, builders.register(3))
    writer = builders.MemoryWriter()
    send(sessions, writer, "avond-1", EVENING)
    send(sessions, writer, "avond-1-herhaald", EVENING)
    moved = replace(EVENING, start=datetime(2027, 1, 21, 19, 30), end=datetime(2027, 1, 21, 21, 0))
    send(sessions, writer, "avond-1-verzet", moved)
    send(sessions, writer, "avond-1-verzet-2", replace(moved, location_name="School"))
    sequences = [set(sequences.values()) for _, _, _, sequences in writer.written]
    assert sequences == [{0}, {0}, {1}, {2}]
    assert all(len(sequences) == 3 for _, _, _, sequences in writer.written)
    assert outbox_counts(sessions, CORP)["pending"] == 12  # four mailings of three e-mails


def test_every_mailing_is_recorded_and_prepared_once_with_its_content(
    sessions: sessionmaker[Session],
) -> None:
    run(sessions, builders.register(3))
    writer = builders.MemoryWriter()
    first = send(sessions, writer, "avond-1", EVENING)
    assert (first.state, first.enqueued) == (MailingState.PREPARED, 3)
    with sessions() as s:
        (mailing,) = MailingRepository(s, CORP).of_project("P")
    assert (mailing.kind, mailing.mailing_id, mailing.started_by) == (
        MessageKind.INFO_EVENING,
        "avond-1",
        "cli:bea",
    )
    assert mailing.key == first.mailing_key == "TST/P/info_evening/avond-1"
    assert mailing.content_digest == content_digest(EVENING, {"topic": "de plannen"})

    assert send(sessions, writer, "avond-1", EVENING).enqueued == 0  # the same again: nothing
    moved = replace(EVENING, start=datetime(2027, 1, 21, 19, 30), end=datetime(2027, 1, 21, 21, 0))
    with pytest.raises(MailingNotAllowed, match="new mailing_id"):
        send(sessions, writer, "avond-1", moved)  # queued e-mails would disagree with the letters
    assert len(writer.written) == 2
    with sessions() as s:
        assert MailingRepository(s, CORP).of_project("P") == [mailing]
        bodies = s.scalars(select(OutboxRow.body)).all()
    assert len(bodies) == 3


def test_a_mailing_that_stopped_before_it_was_queued_can_be_planned_again(
    sessions: sessionmaker[Session],
) -> None:
    kind = "newsletter"
    run(sessions, builders.register(2))

    class BrokenWriter(builders.MemoryWriter):
        def write(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        prepare_mailing(
            sessions, RENOVATION, kind, BrokenWriter(), on=ON, mailing_id="m", started_by="cli:a"
        )
    with sessions() as s:
        (planned,) = MailingRepository(s, CORP).of_project("P")
    assert planned.state is MailingState.PLANNED
    assert outbox_counts(sessions, CORP)["pending"] == 0
    result = prepare_mailing(
        sessions,
        RENOVATION,
        kind,
        builders.MemoryWriter(),
        on=ON,
        mailing_id="m",
        started_by="cli:b",
        details={"corrected": True},
    )
    assert (result.state, result.enqueued) == (MailingState.PREPARED, 2)
    with sessions() as s:
        (prepared,) = MailingRepository(s, CORP).of_project("P")
    assert prepared.started_by == "cli:b" and prepared.created_at == planned.created_at


def test_an_unknown_kind_is_a_clear_error(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError, match="unknown message kind 'infoavond'"):
        prepare_mailing(
            sessions,
            RENOVATION,
            "infoavond",
            builders.MemoryWriter(),
            on=ON,
            mailing_id="m",
            started_by="cli:a",
        )


# --- one real mailing, end to end --------------------------------------------------------------


def test_a_real_mailing_writes_letters_and_queues_each_email_once(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    run(sessions, with_owner_occupier(12, owner=9))
    writer = LettersMailingWriter(letters_config(), tmp_path, secrets.token_bytes(32), workers=1)
    result = prepare_mailing(
        sessions,
        RENOVATION,
        "consent_reached",
        writer,
        on=date(2026, 11, 28),
        mailing_id="zeventig-procent",
        started_by="cli:bea",
        details={"share_text": "75%", "court_name": "kantonrechter"},
        units=["VHE00003", "VHE00007", "VHE00009"],
    )
    out = tmp_path / "P-consent_reached-2026-11-28-zeventig-procent"  # its own folder
    assert result.out_dir == str(out)
    assert (result.letters, result.registered, result.emails, result.enqueued) == (2, 2, 2, 2)
    with pdfplumber.open(result.print_pdf) as pdf:
        text = " ".join(page.extract_text() or "" for page in pdf.pages)
    assert "23 januari 2027" in text and "28 november 2026" in text and "8 weken" in text
    manifest = Path(result.manifest).read_text(encoding="utf-8-sig").splitlines()
    rows = [dict(zip(manifest[0].split(";"), row.split(";"), strict=True)) for row in manifest[1:]]
    assert [row["eenheid"] for row in rows] == ["VHE00003", "VHE00007"]
    assert [row["aangetekend"] for row in rows] == ["ja", "ja"]
    files = {p.name: p.read_bytes() for p in sorted((out / "email").glob("*.eml"))}
    assert list(files) == ["0001-VHE00003.eml", "0002-VHE00007.eml"]
    with sessions() as s:
        queued = {row.unit_code: row for row in s.scalars(select(OutboxRow))}
    assert queued["VHE00003"].body == files["0001-VHE00003.eml"]  # the bytes on disk, queued
    parsed = message_from_bytes(queued["VHE00007"].body)
    assert parsed["X-Keukentafel-Message-Id"] == queued["VHE00007"].message_id
    assert parsed["To"].endswith("<r7@example.org>")
    assert not list((out / "agenda").glob("*.ics"))  # a notice invites to nothing
    assert Skip("VHE00009", SkipReason.OWNER_OCCUPIER) in result.skipped


def test_a_real_invitation_carries_the_stored_sequence(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    run(sessions, builders.register(1))
    writer = LettersMailingWriter(letters_config(), tmp_path, secrets.token_bytes(32), workers=1)
    for mailing_id, event in (("a", EVENING), ("b", replace(EVENING, location_name="School"))):
        result = prepare_mailing(
            sessions,
            RENOVATION,
            "info_evening",
            writer,
            on=ON,
            mailing_id=mailing_id,
            started_by="cli:bea",
            event=event,
            details={"topic": "de plannen"},
        )
    (ics,) = (Path(result.out_dir) / "agenda").glob("*.ics")
    vevent = next(c for c in Calendar.from_ical(ics.read_bytes()).walk() if c.name == "VEVENT")
    assert int(vevent["SEQUENCE"]) == 1 and str(vevent["LOCATION"]).startswith("School")
