"""A mailing of every kind to a register with hostile names and addresses, through the real sync,
the real store and the real letters: every printed address lies inside the envelope window (read
from the print PDF), every e-mail parses without defects, and no household is silently skipped or
silently wrong (each one is in the manifest with its own address, or skipped with a reason)."""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import replace
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pdfplumber
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent import COMPUTED_DETAILS
from keukentafel.domain.mailing import SkipReason
from keukentafel.domain.messages import POLICIES, MessageKind
from keukentafel.domain.model import (
    Address,
    ContactKind,
    ContactPoint,
    Household,
    LeaseParty,
    PartyRole,
    PersonName,
    Resident,
    Tenure,
)
from keukentafel.domain.references import resident_reference
from keukentafel.domain.register import Snapshot
from keukentafel.letters.output import LettersMailingWriter
from keukentafel.letters.samples import sample_details, sample_event
from keukentafel.letters.window import address_block
from keukentafel.store.models import OutboxRow
from keukentafel.usecases.mailing import prepare_mailing
from keukentafel.usecases.team_contacts import effective_households
from tests import builders
from tests.builders import CORP, RENOVATION, letters_config, run

pytestmark = pytest.mark.slow
ON = date(2026, 12, 1)
PT_TO_MM = 25.4 / 72

NAMES: list[tuple[str, str, str, str]] = [  # surname, prefix, initials, gender
    ("<script>alert(1)</script>", "", "{{ 22*22 }}", "M"),
    ("{% for x in y %}Jansen", "", "J.", "V"),
    ("O'Brien & Zn.", "", "K.", "M"),
    ("Yılmaz", "", "İ.", "V"),
    ("حداد", "", "ن.", "V"),
    ("Wolfeschlegelsteinhausen-Bergerdorff", "van der", "A.B.C.", "M"),
    ("de\r\nVries", "", "J.\r\nP.", "V"),
    ("Şahin-Öztürk", "", "Ç.", "M"),
    ("Nguyễn", "", "T.", ""),
    ("Baldewsingh", "", "R.", "M"),
    ("Papadopoulou", "", "E.", "V"),
    ("Bakker", "", "P.", "M"),
]
STREETS = [
    "Burgemeester van Nispen tot Sevenaerstraat",
    "Dorps\r\nstraat",
    "<b>Kerkstraat</b>",
    "Laan van Nieuw Oost-Indië",
    "{{ street }}",
    "Wethouder Van Eschstraat",
]
EMAILS = [
    "ok.one@example.org",
    "jan@@voorbeeld..nl",
    "Jan Jansen <jan@example.org>",
    "ayşe@örnek.com.tr",
    "line@example.org\r\nBcc: all@example.org",
    "",
]


def hostile_register() -> Snapshot:
    """Fourteen homes: twelve rented with hostile tenants (one with five co-tenants, two
    without a postcode), one owner-occupied, one vacant."""
    snap = builders.register(14)
    for n in range(1, 15):
        index = n - 1
        surname, prefix, initials, gender = NAMES[index % len(NAMES)]
        email = EMAILS[index % len(EMAILS)]
        contacts = (ContactPoint(ContactKind.EMAIL, email, True),) if email else ()
        snap.residents[index] = Resident(
            relation_id=f"R{n}",
            name=PersonName(surname, initials=initials, tussenvoegsel=prefix, gender=gender),
            contacts=contacts,
            language=("tr", "ar", "en", "nl")[index % 4],
        )
        street = STREETS[index % len(STREETS)]
        postcode = "" if n in (5, 11) else "1234 AB"
        snap.units[index] = replace(
            snap.units[index],
            address=Address(
                street, 10 + n, postcode, "Ons\r\nDorp", "AB"[n % 2], ("", "3", "bis")[n % 3]
            ),
        )
    # unit 3: five co-tenants, two sharing an address
    extra = [
        Resident(
            f"C{i}",
            PersonName(s, initials="A.", gender="MV"[i % 2]),
            contacts=(ContactPoint(ContactKind.EMAIL, f"co{i % 2}@example.org", True),),
        )
        for i, s in enumerate(("Oudshoorn", "El Amrani", "Visser", "Smit"))
    ]
    snap.residents.extend(extra)
    third = snap.leases[2]
    snap.leases[2] = replace(
        third,
        parties=(*third.parties, *(LeaseParty(r.relation_id, PartyRole.CO_TENANT) for r in extra)),
    )
    # unit 13 owner-occupied, unit 14 vacant
    owner = snap.leases[12]
    snap.units[12] = replace(snap.units[12], tenure=Tenure.OWNER_OCCUPIED)
    snap.leases[12] = replace(owner, parties=(LeaseParty("R13", PartyRole.OWNER_OCCUPIER),))
    del snap.leases[13]
    return snap


def _manifest(path: str) -> list[dict[str, str]]:
    text = Path(path).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def _window_problems(
    page: pdfplumber.page.Page, x: float, y: float, w: float, h: float
) -> list[str]:
    """Characters that cross the window's edge (a clipped line)."""
    crossing = []
    for char in page.chars:
        x0, x1 = char["x0"] * PT_TO_MM, char["x1"] * PT_TO_MM
        top, bottom = char["top"] * PT_TO_MM, char["bottom"] * PT_TO_MM
        overlaps = x0 < x + w and x1 > x and top < y + h and bottom > y
        inside = x <= x0 and x1 <= x + w and y <= top and bottom <= y + h
        if overlaps and not inside:
            crossing.append(str(char["text"]))
    return crossing


def _inside_text(page: pdfplumber.page.Page, x: float, y: float, w: float, h: float) -> str:
    box = (x / PT_TO_MM, y / PT_TO_MM, (x + w) / PT_TO_MM, (y + h) / PT_TO_MM)
    return page.crop(box).extract_text() or ""


def _check_letters(result_manifest: str, print_pdf: str, households: dict[str, Household]) -> None:
    envelope = letters_config().envelope
    geometry = (envelope.x, envelope.y, envelope.width, envelope.height)
    rows = _manifest(result_manifest)
    with pdfplumber.open(print_pdf) as pdf:
        for row in rows:
            page = pdf.pages[int(row["eerste_pagina"]) - 1]
            assert _window_problems(page, *geometry) == [], row["eenheid"]
            household = households[row["eenheid"]]
            inside = " ".join(_inside_text(page, *geometry).split())
            block = address_block(household, envelope)
            for line in block.lines[-2:]:  # street and town of this very household
                assert " ".join(line.split()) in inside, (row["eenheid"], line, inside)
            assert row["kenmerk"] == resident_reference(RENOVATION.code, row["eenheid"])
            assert row["postvlag"] == ("ja" if not household.unit.address.postcode else "nee")


def _check_emails(
    sessions: sessionmaker[Session], key: str, households: dict[str, Household]
) -> None:
    with sessions() as s:
        rows = s.scalars(select(OutboxRow).where(OutboxRow.mailing_key == key)).all()
    for row in rows:
        parsed = message_from_bytes(row.body, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        assert [part.defects for part in parsed.walk()] == [[] for _ in parsed.walk()]
        to_field = re.search(rb"^To:(.*(?:\r?\n[ \t].*)*)", row.body, re.M)
        assert to_field is not None
        assert b"=?" not in to_field.group(1).split(b"<")[-1]  # no encoded word in the address
        addresses = {r.contact(ContactKind.EMAIL) for r in households[row.unit_code].residents}
        assert any(a and a.split("@")[0] == row.recipient.split("@")[0] for a in addresses)


@pytest.mark.parametrize("kind", list(MessageKind))
def test_a_mailing_of_every_kind_to_a_hostile_register(
    kind: MessageKind, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    run(sessions, hostile_register())
    households = {h.unit.code: h for h in effective_households(sessions, CORP, ON, ["CPX-1"])}
    rented = [c for c, h in households.items() if not h.is_vacant and not h.is_owner_occupied]
    writer = LettersMailingWriter(letters_config(), tmp_path, secrets.token_bytes(32), workers=1)
    details = {k: v for k, v in sample_details(kind, ON).items() if k not in COMPUTED_DETAILS}
    result = prepare_mailing(
        sessions,
        RENOVATION,
        kind,
        writer,
        on=ON,
        mailing_id=f"hostile-{kind}",
        started_by="test",
        event=sample_event(kind, ON),
        details=details,
        units=rented if POLICIES[kind].targeted else None,
    )
    printed = {row["eenheid"] for row in _manifest(result.manifest)}
    no_letter = {
        s.unit_code: s.reason
        for s in result.skipped
        if s.reason not in (SkipReason.NO_EMAIL, SkipReason.EMAIL_NOT_USABLE)
    }
    # every household is printed or skipped with a reason, never both, never neither
    assert printed | set(no_letter) == set(households) and not printed & set(no_letter)
    assert no_letter["VHE00014"] is SkipReason.VACANT
    assert no_letter.get("VHE00001") is SkipReason.ADDRESS_DOES_NOT_FIT  # Burgemeester van ...
    emailed = {unit for unit in printed if households[unit].residents}
    with sessions() as s:
        queued = {
            r.unit_code
            for r in s.scalars(select(OutboxRow).where(OutboxRow.mailing_key == result.mailing_key))
        }
    silent = {
        unit for unit in emailed - queued if not any(s.unit_code == unit for s in result.skipped)
    }
    assert silent == set()  # a printed household without e-mail is skipped for e-mail, with why
    for skip in result.skipped:  # reasons carry unit codes, never data
        for private in ("Vries", "Yılmaz", "example.org", "Nispen", "script"):
            assert private not in skip.text
    _check_letters(result.manifest, result.print_pdf, households)
    _check_emails(sessions, result.mailing_key, households)
