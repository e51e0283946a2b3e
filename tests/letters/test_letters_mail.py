"""E-mail messages (parsed back with email.parser) and a whole sample mailing on disk."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from icalendar import Calendar
from pypdf import PdfReader

from keukentafel.letters.links import verify_link
from keukentafel.letters.mail import (
    OUR_ID_HEADER,
    build_email,
    ics_attachment,
    pdf_attachment,
)
from keukentafel.letters.output import MailingSummary
from keukentafel.letters.preview import preview, write_sample_mailing
from keukentafel.letters.samples import SAMPLE_DATE, sample_households, sample_letters_config

SECRET = b"test-secret-0123456789abcdef"


def _parse(message: EmailMessage) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_mime_structure_and_headers() -> None:
    ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nSUMMARY:Bewonersavond café\r\nEND:VCALENDAR\r\n"
    message = build_email(
        subject="Uitnodiging: bewonersavond",
        text="Beste mevrouw De Vries,\n\nWelkom in het café.\n",
        html="<p>Beste mevrouw De Vries,</p><p>Welkom in het café.</p>",
        from_name="Woonstichting Voorbeeld",
        from_address="bewonersbegeleiding@woonstichting.example",
        to_name="Ö'Brien & Zn.",
        to_address="info@obrien.example",
        our_message_id="kt-0001",
        reply_to="sanne@woonstichting.example",
        date=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
        attachments=[
            pdf_attachment("brief.pdf", b"%PDF-1.7 fake"),
            ics_attachment("uitnodiging.ics", ics.encode()),
        ],
    )
    parsed = _parse(message)
    assert parsed.get_content_type() == "multipart/mixed"
    assert parsed["Subject"] == "Uitnodiging: bewonersavond"
    assert parsed["To"].addresses[0].display_name == "Ö'Brien & Zn."
    assert parsed["To"].addresses[0].addr_spec == "info@obrien.example"
    assert parsed["From"].addresses[0].addr_spec == "bewonersbegeleiding@woonstichting.example"
    assert parsed["Reply-To"].addresses[0].addr_spec == "sanne@woonstichting.example"
    assert parsed["Date"].datetime == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert parsed["Message-ID"].startswith("<") and parsed["Message-ID"].endswith(
        "@woonstichting.example>"
    )
    assert parsed[OUR_ID_HEADER] == "kt-0001"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == [
        "multipart/alternative",
        "application/pdf",
        "text/calendar",
    ]
    alternative = [p.get_content_type() for p in parts[0].iter_parts()]
    assert alternative == ["text/plain", "text/html"]
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None and "Welkom in het café." in body.get_content()
    assert all(p.get_content_charset() == "utf-8" for p in parts[0].iter_parts())
    html = parsed.get_body(preferencelist=("html",))
    assert html is not None and "<p>Welkom in het café.</p>" in html.get_content()
    assert parts[1].get_filename() == "brief.pdf"
    assert parts[1].get_content() == b"%PDF-1.7 fake"
    assert parts[2].get_param("method") == "REQUEST"
    assert parts[2].get_filename() == "uitnodiging.ics"
    assert "Bewonersavond café" in parts[2].get_content()
    # the whole message is 7-bit clean (quoted-printable / base64)
    assert max(message.as_bytes()) < 128


def test_header_injection_in_subject_is_neutralised() -> None:
    message = build_email(
        subject="Hallo\r\nBcc: everyone@example.nl",
        text="x",
        html="<p>x</p>",
        from_name="Team",
        from_address="team@example.nl",
        to_name="A",
        to_address="a@example.nl",
        our_message_id="kt-2",
    )
    parsed = _parse(message)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Hallo Bcc: everyone@example.nl"


@pytest.fixture(scope="module")
def mailing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, MailingSummary]:
    out = tmp_path_factory.mktemp("mailing")
    summary = write_sample_mailing(
        "home_visit",
        sample_households(),
        sample_letters_config(),
        out,
        on=SAMPLE_DATE,
        secret=SECRET,
        workers=1,
    )
    return out, summary


def test_sample_mailing_writes_every_part(mailing: tuple[Path, MailingSummary]) -> None:
    out, summary = mailing
    households = sample_households()
    with_email = [h for h in households if any(r.contacts for r in h.residents)]
    assert summary.letters == len(households)
    assert summary.emails == len(with_email)
    assert summary.ics_files == len(households)
    skipped = {unit for unit, _ in summary.skipped_email}
    assert skipped == {h.unit.code for h in households} - {h.unit.code for h in with_email}
    assert len(list((out / "email").glob("*.eml"))) == len(with_email)
    assert len(list((out / "agenda").glob("*.ics"))) == len(households)
    assert len(list((out / "archief").glob("*.pdf"))) == len(households)
    assert summary.print_pdf is not None and summary.manifest is not None
    assert len(PdfReader(summary.print_pdf).pages) == summary.pages
    rows = list(
        csv.DictReader(
            io.StringIO(summary.manifest.read_text(encoding="utf-8-sig")),
            delimiter=";",
        )
    )
    assert [r["eenheid"] for r in rows] == [h.unit.code for h in households]


def test_sample_mailing_email_carries_letter_invitation_and_personal_link(
    mailing: tuple[Path, MailingSummary],
) -> None:
    out, _ = mailing
    eml = next((out / "email").glob("0001-0001.eml"))
    parsed = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    assert isinstance(parsed, EmailMessage)
    assert parsed["To"].addresses[0].addr_spec == "j.devries@example.nl"
    assert parsed[OUR_ID_HEADER]
    text_part = parsed.get_body(preferencelist=("plain",))
    assert text_part is not None
    text = text_part.get_content()
    assert "Beste mevrouw De Vries," in text
    link = next(word for word in text.split() if word.startswith("https://antwoord."))
    claims = verify_link(link.rstrip(".,"), SECRET, datetime(2026, 11, 28, tzinfo=UTC))
    assert (claims.household_key, claims.purpose) == ("ZONNEHOF-2026:0001", "home_visit")
    attachments = {p.get_content_type(): p for p in parsed.iter_attachments()}
    assert attachments["application/pdf"].get_content().startswith(b"%PDF")
    calendar = Calendar.from_ical(attachments["text/calendar"].get_content())
    vevent = calendar.walk("VEVENT")[0]
    assert str(calendar["method"]) == "REQUEST"
    assert str(vevent["attendee"]) == "mailto:j.devries@example.nl"


def test_preview_writes_pdf_and_html(tmp_path: Path) -> None:
    household = sample_households()[0]
    pdf_path, html_path = preview(
        "announcement", household, sample_letters_config(), tmp_path, on=date(2026, 11, 28)
    )
    assert pdf_path.read_bytes().startswith(b"%PDF")
    assert "Beste mevrouw De Vries" in html_path.read_text(encoding="utf-8")
    assert pdf_path.name == "announcement-0001.pdf"
