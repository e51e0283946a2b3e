"""Mailings: the plan (who, who not and why), the record of every mailing, invitation SEQUENCEs,
and one real mailing end to end (letters, e-mails, invitations; the outbox holds each e-mail's
exact bytes once)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import date, datetime
from email import message_from_bytes, policy
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
from keukentafel.domain.model import Household, LeaseParty, LeaseStatus, PartyRole
from keukentafel.domain.register import Snapshot
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


# --- every party, bad addresses, addresses that do not fit -------------------------------------


def _household_register() -> Snapshot:
    """Four homes: 1 a tenant and a co-tenant with two addresses (one shared in other case), 2 a
    tenant whose address is not one, 3 a tenant with an address beyond ASCII, 4 a street too long
    for the envelope window (and no short name)."""
    snap = builders.register(4)
    co_tenant = builders.with_email(builders.resident(11), "Co.Tenant@Example.org")
    snap.residents.append(co_tenant)
    first = snap.leases[0]
    snap.leases[0] = replace(
        first, parties=(*first.parties, LeaseParty("R11", PartyRole.CO_TENANT))
    )
    snap.residents[1] = builders.with_email(snap.residents[1], "jan@@voorbeeld..nl\r\nBcc: x@y.z")
    snap.residents[2] = builders.with_email(snap.residents[2], "ayşe.yılmaz@örnek.com.tr")
    long_street = "Burgemeester Baron van Voerst van Lynden tot Nispenstraat"
    snap.units[3] = replace(
        snap.units[3], address=replace(snap.units[3].address, street=long_street)
    )
    return snap


def test_every_party_gets_its_own_e_mail_and_bad_addresses_only_cost_the_e_mail(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    run(sessions, _household_register())
    writer = LettersMailingWriter(letters_config(), tmp_path, secrets.token_bytes(32), workers=1)
    result = prepare_mailing(
        sessions,
        RENOVATION,
        "info_evening",
        writer,
        on=ON,
        mailing_id="avond-1",
        started_by="cli:bea",
        event=EVENING,
        details={"topic": "de plannen"},
    )
    # the mailing went on: three letters (the fourth set aside before printing), four e-mails
    assert (result.letters, result.emails, result.enqueued) == (3, 3, 3)
    reasons = {(s.unit_code, s.reason) for s in result.skipped}
    assert reasons == {
        ("VHE00002", SkipReason.EMAIL_NOT_USABLE),
        ("VHE00002", SkipReason.NO_EMAIL),
        ("VHE00004", SkipReason.ADDRESS_DOES_NOT_FIT),
    }
    texts = " ".join(s.text for s in result.skipped)
    assert "party 1: e-mail address not usable" in texts and "street line" in texts
    for private in ("jan@", "voorbeeld", "Burgemeester", "Jansen"):  # unit codes, never data
        assert private not in texts
    with sessions() as s:
        rows = s.scalars(select(OutboxRow).order_by(OutboxRow.id)).all()
        (mailing,) = MailingRepository(s, CORP).of_project("P")
    assert [(r.unit_code, r.recipient) for r in rows] == [
        ("VHE00001", "r1@example.org"),
        ("VHE00001", "Co.Tenant@example.org"),
        ("VHE00003", "ayşe.yılmaz@xn--rnek-4qa.com.tr"),  # the domain as IDNA writes it
    ]
    assert len({r.message_id for r in rows}) == 3
    assert mailing.recipients == ("VHE00001", "VHE00002", "VHE00003")
    out = Path(result.out_dir)
    files = sorted(p.name for p in (out / "email").glob("*.eml"))
    assert files == ["0001-VHE00001-2.eml", "0001-VHE00001.eml", "0003-VHE00003.eml"]
    for row in rows:
        parsed = message_from_bytes(row.body, policy=policy.default)
        assert all(not part.defects for part in parsed.walk())
        assert parsed["X-Keukentafel-Message-Id"] == row.message_id
        attached = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
        (vevent,) = Calendar.from_ical(attached.get_content()).walk("VEVENT")
        assert str(vevent["ATTENDEE"]).lower() == f"mailto:{row.recipient.lower()}"
    utf8 = rows[2].body
    assert 'To: "J. Jansen3" <ayşe.yılmaz@xn--rnek-4qa.com.tr>'.encode() in utf8  # RFC 6532
    assert b"=?utf-8?" not in utf8.split(b"\n\n", 1)[0]  # no encoded word in a header
    assert b"Co.Tenant@example.org" in rows[1].body and b"r1@example.org" not in rows[1].body
    manifest = Path(result.manifest).read_text(encoding="utf-8-sig")
    assert "VHE00004" not in manifest  # set aside before printing
    # the same mailing again adds nothing, per recipient
    again = prepare_mailing(
        sessions,
        RENOVATION,
        "info_evening",
        writer,
        on=ON,
        mailing_id="avond-1",
        started_by="cli:bea",
        event=EVENING,
        details={"topic": "de plannen"},
    )
    assert again.enqueued == 0


def test_a_correction_goes_to_everyone_who_had_the_first_and_says_what_changed(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    run(sessions, builders.register(3))
    writer = LettersMailingWriter(letters_config(), tmp_path, secrets.token_bytes(32), workers=1)

    def send_evening(mailing_id: str, event: Event, corrects: str | None = None):  # type: ignore[no-untyped-def]
        return prepare_mailing(
            sessions,
            RENOVATION,
            "info_evening",
            writer,
            on=ON,
            mailing_id=mailing_id,
            started_by="cli:bea",
            event=event,
            details={"topic": "de plannen"},
            corrects=corrects,
        )

    first = send_evening("avond-1", EVENING)
    moved = replace(EVENING, start=datetime(2027, 1, 14, 20, 0), end=datetime(2027, 1, 14, 21, 30))
    with pytest.raises(MailingNotAllowed, match="'corrects: avond-1'"):
        send_evening("avond-1", moved)  # a changed time under the same id: refused, says how
    snap = builders.register(3)
    snap.leases[2] = replace(snap.leases[2], status=LeaseStatus.ENDED)  # VHE00003 moved out
    run(sessions, snap, max_shrink=0.5)
    for mailing_id, corrects, event, message in (
        ("avond-2", "avond-0", moved, "no mailing avond-0"),
        ("avond-1", "avond-1", moved, "mailing_id of its own"),
        ("avond-2", "avond-1", EVENING, "no change"),
        ("avond-2", "avond-1", replace(moved, event_id="other"), "keeps the event_id"),
    ):
        with pytest.raises(MailingNotAllowed, match=message):
            send_evening(mailing_id, event, corrects)
    fixed = send_evening("avond-1-verzet", moved, corrects="avond-1")

    assert fixed.follows == "avond-1" and fixed.letters == 2 and fixed.enqueued == 2
    assert Skip("VHE00003", SkipReason.NOT_IN_REGISTER) in fixed.skipped
    with sessions() as s:
        records = {m.mailing_id: m for m in MailingRepository(s, CORP).of_project("P")}
        queued = s.scalars(select(OutboxRow).order_by(OutboxRow.id)).all()
    assert records["avond-1-verzet"].follows == "avond-1"
    assert records["avond-1-verzet"].recipients == ("VHE00001", "VHE00002")
    assert [r.mailing_key.rsplit("/", 1)[1] for r in queued] == ["avond-1"] * 3 + [
        "avond-1-verzet"
    ] * 2
    # the first mailing's archive is untouched; the correction has its own folder
    assert Path(first.out_dir) != Path(fixed.out_dir) and Path(first.print_pdf).is_file()
    update = message_from_bytes(queued[3].body, policy=policy.default)
    assert str(update["Subject"]).startswith("Gewijzigd: ")
    text = update.get_body(preferencelist=("plain",)).get_content()
    assert "LET OP: De tijd is veranderd." in text
    assert "Tijd: eerst 19.30 uur tot 21.00 uur, nu 20.00 uur tot 21.30 uur." in text
    attached = next(p for p in update.walk() if p.get_content_type() == "text/calendar")
    (vevent,) = Calendar.from_ical(attached.get_content()).walk("VEVENT")
    original = message_from_bytes(queued[0].body, policy=policy.default)
    first_ics = next(p for p in original.walk() if p.get_content_type() == "text/calendar")
    (before,) = Calendar.from_ical(first_ics.get_content()).walk("VEVENT")
    assert vevent["UID"] == before["UID"] and (
        int(before["SEQUENCE"]),
        int(vevent["SEQUENCE"]),
    ) == (0, 1)
    with pdfplumber.open(fixed.print_pdf) as pdf:
        printed = pdf.pages[0].extract_text() or ""
    assert "Eerst: 19.30 uur tot 21.00 uur" in printed and "Nu: 20.00 uur tot 21.30 uur" in printed
