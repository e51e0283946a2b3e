"""What residents read, checked on the HTML they get (letter and e-mail) and on the PDF: no words
glued together, the contact details once, a short reference, the summary inside the e-mail's
card and isolated where it is right-to-left, no RSVP where nobody needs to sign up, the truth
about moving in a demolition, and a closing that never stands alone on a page."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser

import pdfplumber
import pytest
from icalendar import Calendar

from keukentafel.domain.messages import MessageKind
from keukentafel.domain.model import Household, ProjectKind
from keukentafel.domain.references import ALPHABET, resident_reference
from keukentafel.letters.compose import Composed, email_recipients, ics_for
from keukentafel.letters.pdf import render_chunk
from keukentafel.letters.preview import compose_sample
from keukentafel.letters.render import available_kinds, shipped_templates
from keukentafel.letters.samples import (
    SAMPLE_DATE,
    sample_households,
    sample_letters_config,
    sample_project,
)
from keukentafel.letters.text import html_text

SECRET = b"layout-secret-0123456789abcdef"
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
KINDS = available_kinds(shipped_templates())
HOUSEHOLDS = {h.unit.code: h for h in sample_households() if not h.is_vacant}
CONFIG = sample_letters_config()
URL = re.compile(r"(?:https?://|www\.)[^\s<>\"]+")


def _compose(kind: str, household: Household, **kw: object) -> Composed:
    return compose_sample(kind, household, on=SAMPLE_DATE, secret=SECRET, now=NOW, **kw)  # type: ignore[arg-type]


def _texts(composed: Composed) -> dict[str, str]:
    return {
        "letter": html_text(composed.letter.html),
        "e-mail": html_text(composed.email.html),
        "text": composed.letter.text,
    }


def test_html_text_reads_like_the_page() -> None:
    html = (
        '<html><head><title>T</title><style>p{}</style></head><body><p class="running" '
        'aria-hidden="true">footer</p><h1>Kop</h1><p>Een <b>zin</b>.</p><table><tr><th '
        'scope="row">Wanneer</th><td>dinsdag</td></tr><tr><th scope="row">Waar</th><td>De '
        "Kade<br>Kadestraat 2</td></tr></table><ul><li>een</li><li>twee</li></ul>"
        "<svg><text>QR</text></svg><p>A &amp; B</p></body></html>"
    )
    assert html_text(html) == (
        "Kop\n\nEen zin.\n\nWanneer: dinsdag\nWaar: De Kade\nKadestraat 2\n\n- een\n- twee\n\n"
        "A & B\n"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_no_words_are_glued_together_in_any_rendering(kind: str) -> None:
    for household in HOUSEHOLDS.values():
        for medium, text in _texts(_compose(kind, household)).items():
            for url in URL.findall(text):  # a link ends where its sentence goes on
                assert re.fullmatch(r".*[\w/]", url.rstrip(".,)")), (medium, url)
                assert not re.search(r"[a-z][.][A-Z][a-z]", url), f"{kind} {medium}: {url}"
            prose = URL.sub(" ", text)
            glued = re.findall(r"\S*[a-zà-ÿ)][.!?:][A-Z]\S*", prose)
            assert glued == [], f"{kind} {medium}: {glued}"
            if household.unit.code != "0018":  # whose initials are "{{ 22*22 }}", inert
                assert "None" not in text and "{{" not in text and "{%" not in text


def test_the_proposal_keeps_the_space_after_the_social_plan_link() -> None:
    text = html_text(_compose("proposal", HOUSEHOLDS["0001"]).letter.html)
    assert "example/sociaal-plan. Wilt u het sociaal plan op papier?" in text


@pytest.mark.parametrize("kind", KINDS)
def test_contact_details_appear_once(kind: str) -> None:
    for household in (HOUSEHOLDS["0001"], HOUSEHOLDS["0022"]):  # a tenant, an owner-occupier
        composed = _compose(kind, household)
        for medium, text in _texts(composed).items():
            if medium == "letter":  # page 1; the consent form is a sheet of its own
                text = text.split("\nAkkoordverklaring\n")[0]
            assert text.count(CONFIG.contact.phone) == 1, (kind, medium)
            assert text.count(CONFIG.contact.email) == 1, (kind, medium)


@pytest.mark.parametrize("kind", ["announcement", "proposal", "home_visit"])
def test_residents_get_a_short_reference_and_never_the_internal_code(kind: str) -> None:
    household = HOUSEHOLDS["0003"]
    short = resident_reference(sample_project().code, "0003")
    assert re.fullmatch(f"[{ALPHABET}]{{3}}-[{ALPHABET}]{{4}}", short)
    assert not set(short) & set("0OQD1ILJ2Z5S6G8BUV")  # no look-alikes
    composed = _compose(kind, household)
    html = composed.letter.html + composed.email.html + composed.letter.text
    assert short in html_text(composed.letter.html) and short in composed.letter.text
    assert f"{sample_project().code}/{kind}/0003" not in html
    assert resident_reference(sample_project().code, "0004") != short


def test_the_translated_summary_sits_inside_the_e_mails_card() -> None:
    html = _compose("info_evening", HOUSEHOLDS["0002"]).email_html  # Turkish summary

    class Depth(HTMLParser):
        inside = 0
        depth_at_summary: int | None = None
        card_depth: int | None = None
        stack: list[str] = []  # noqa: RUF012 - one parser per test

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("meta", "br", "img"):
                return
            self.stack.append(tag)
            found = dict(attrs)
            if found.get("role") == "article":
                self.card_depth = len(self.stack)
            if found.get("class") == "kt-summary":
                self.depth_at_summary = len(self.stack)
                self.inside = int(self.card_depth is not None and len(self.stack) > self.card_depth)

        def handle_endtag(self, tag: str) -> None:
            if self.stack and self.stack[-1] == tag:
                self.stack.pop()
            if self.card_depth is not None and len(self.stack) < self.card_depth:
                self.card_depth = None

    parser = Depth()
    parser.feed(html)
    assert parser.depth_at_summary is not None and parser.inside == 1
    assert html.index("kt-summary") < html.index("Ons kenmerk:")  # above the card's footer


def test_dutch_fragments_in_the_arabic_summary_are_isolated() -> None:
    haddad = HOUSEHOLDS["0014"]  # reads Arabic
    composed = _compose("home_visit", haddad)
    assert composed.letter.summary_language == "ar"
    section = composed.email_html[composed.email_html.index('<section class="kt-summary"') :]
    assert 'dir="rtl"' in section.split(">")[0]
    assert '<bdi dir="ltr">10.00 uur</bdi>' in section
    url = re.search(r'<bdi dir="ltr">(https://[^<]+)</bdi>', section)
    assert url is not None and url.group(1).startswith(CONFIG.link_base_url)
    assert "\u2066" not in section and "\u2069" not in section  # all turned into <bdi>
    text = composed.email_text  # the plain text keeps the Unicode isolates
    assert f"\u2066{CONFIG.contact.phone}\u2069" in text
    assert text.count("\u2066") == text.count("\u2069") > 5


def test_bidi_controls_in_data_cannot_turn_the_summary_around() -> None:
    haddad = HOUSEHOLDS["0014"]
    config = CONFIG.model_copy(
        update={"contact": CONFIG.contact.model_copy(update={"name": "Sanne\u202e\u2066 Bakker"})}
    )
    composed = _compose("home_visit", haddad, config=config)
    section = composed.email_html[composed.email_html.index('<section class="kt-summary"') :]
    assert "\u202e" not in section and "\u2066" not in section
    assert '<bdi dir="ltr">Sanne Bakker</bdi>' in section
    assert section.count("<bdi") == section.count("</bdi>")


@pytest.mark.parametrize(
    ("kind", "rsvp"), [("info_evening", "FALSE"), ("home_visit", "TRUE"), ("workshop", "TRUE")]
)
def test_the_invitation_asks_an_answer_only_when_the_letter_does(kind: str, rsvp: str) -> None:
    composed = _compose(kind, HOUSEHOLDS["0001"])
    (recipient,), _ = email_recipients(composed.household)
    ics = ics_for(composed, sample_project(), CONFIG, NOW, attendee=recipient)
    assert ics is not None
    (vevent,) = Calendar.from_ical(ics).walk("VEVENT")
    assert vevent["ATTENDEE"].params["RSVP"] == rsvp
    says_no_need = "U hoeft zich niet aan te melden" in composed.letter.text
    assert says_no_need == (rsvp == "FALSE")


def test_a_demolition_says_that_residents_must_move() -> None:
    demolition = replace(sample_project(), kind=ProjectKind.DEMOLITION)
    for household in (HOUSEHOLDS["0001"], HOUSEHOLDS["0002"], HOUSEHOLDS["0014"]):
        composed = _compose("announcement", household, project=demolition)
        for text in _texts(composed).values():
            flat = " ".join(text.split()).lower()
            assert "moet u verhuizen? ja. uw woning wordt gesloopt" in flat
            assert "moet u verhuizen? nee" not in flat
            assert "verbeteren" not in flat
        summary = composed.letter.summary or ""
        assert "stay in your home" not in summary and "evinizde oturmaya" not in summary
        assert "ستبقى في مسكنك" not in summary


@pytest.mark.slow
def test_the_closing_keeps_with_the_last_paragraph_in_every_kind() -> None:
    composed = [
        _compose(kind, household)
        for kind in KINDS
        for household in (HOUSEHOLDS["0001"], HOUSEHOLDS["0003"], HOUSEHOLDS["0022"])
    ]
    chunk = render_chunk([c.letter_html for c in composed])
    with pdfplumber.open(io.BytesIO(chunk.pdf)) as pdf:
        pages = [page.extract_text() or "" for page in pdf.pages]
    assert len(pages) == sum(chunk.pages)
    for page in pages:
        body = page.strip().splitlines()
        assert body and not body[0].startswith("Met vriendelijke groet"), page[:200]
    # an invitation to an evening, in Dutch, fits on one sheet (the demo's mailing)
    assert chunk.pages[KINDS.index(MessageKind.INFO_EVENING) * 3] == 1
