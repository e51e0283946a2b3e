"""PDF letters: the address block inside the envelope window, page numbers, batches and splits,
a mailing's files (print PDF, manifest, archive), and the calibration page."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pdfplumber
import pytest
from pypdf import PdfReader

from keukentafel.config.letters import EnvelopeProfile
from keukentafel.letters.output import MailingEmail, MailingLetter, csv_safe, write_files
from keukentafel.letters.pdf import (
    calibration_pdf,
    chunk_size_for,
    harfbuzz_subset_available,
    render_and_split,
    render_chunks,
    render_pdf,
    render_pdfs,
)
from keukentafel.letters.preview import render_kind_for
from keukentafel.letters.render import shipped_templates
from keukentafel.letters.samples import SAMPLE_DATE, sample_households, sample_letters_config

PT_TO_MM = 25.4 / 72
SECRET = b"test-secret-0123456789abcdef"
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
HOUSEHOLDS = {h.unit.code: h for h in sample_households()}
TOLERANCE_MM = 0.5


Box = tuple[str, float, float, float, float]


def _words_on_first_page(pdf: bytes) -> list[Box]:
    """(text, x0, top, x1, bottom) per word of page 1, in millimetres from the top-left."""
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        words = document.pages[0].extract_words()
    return [
        (
            w["text"],
            w["x0"] * PT_TO_MM,
            w["top"] * PT_TO_MM,
            w["x1"] * PT_TO_MM,
            w["bottom"] * PT_TO_MM,
        )
        for w in words
    ]


def _lines(words: list[Box]) -> list[str]:
    """Words grouped into lines by their top edge, top to bottom."""
    rows: dict[int, list[Box]] = {}
    for word in words:
        rows.setdefault(round(word[2] * 2), []).append(word)
    return [
        " ".join(w[0] for w in sorted(row, key=lambda w: w[1])) for _, row in sorted(rows.items())
    ]


def _inside(box: Box, profile: EnvelopeProfile) -> bool:
    _, x0, top, x1, bottom = box
    return (
        x0 >= profile.x - TOLERANCE_MM
        and x1 <= profile.x + profile.width + TOLERANCE_MM
        and top >= profile.y - TOLERANCE_MM
        and bottom <= profile.y + profile.height + TOLERANCE_MM
    )


def _overlaps(box: Box, profile: EnvelopeProfile) -> bool:
    _, x0, top, x1, bottom = box
    return (
        x0 < profile.x + profile.width
        and x1 > profile.x
        and top < profile.y + profile.height
        and bottom > profile.y
    )


@pytest.mark.parametrize(
    "profile",
    [
        EnvelopeProfile(name="links", x=20, y=50, width=90, height=35),
        EnvelopeProfile(name="rechts", x=110, y=45, width=85, height=40),
    ],
    ids=["window-left", "window-right"],
)
def test_address_block_sits_inside_the_envelope_window(profile: EnvelopeProfile) -> None:
    config = sample_letters_config().model_copy(update={"envelope": profile})
    household = HOUSEHOLDS["0003"]  # two co-tenants: the tallest block
    rendered = render_kind_for(
        "announcement", household, on=SAMPLE_DATE, config=config, secret=SECRET, now=NOW
    )
    words = _words_on_first_page(render_pdf(rendered.html))
    # exactly the return address (one line, on top) and the PostNL block show in the window
    assert _lines([w for w in words if _inside(w, profile)]) == [
        "Woonstichting Voorbeeld, Postbus 12, 1000 AA AMSTERDAM",
        "Mevrouw M. de Vries",
        "De heer P. Bakker",
        "Dorpsstraat 3 B",
        "1234 AB ONS DORP",  # pdfplumber shows the double space as one
    ]
    # and no other word is cut by the window's edge
    assert [w[0] for w in words if _overlaps(w, profile) and not _inside(w, profile)] == []


def test_letter_pdf_is_a4_with_page_numbers_and_sans_serif_fonts() -> None:
    rendered = render_kind_for(
        "proposal", HOUSEHOLDS["0001"], on=SAMPLE_DATE, secret=SECRET, now=NOW
    )
    pdf = render_pdf(rendered.html)
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * PT_TO_MM), round(float(box.height) * PT_TO_MM)) == (210, 297)
    pages = len(reader.pages)
    assert pages >= 2  # letter plus consent form
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        last = document.pages[-1].extract_text()
        fonts = {char["fontname"] for char in document.pages[0].chars}
        chars = list(document.pages[0].chars)
    assert f"Pagina {pages} van {pages}" in last
    assert all("Serif" not in font or "Sans" in font for font in fonts), fonts
    body_size = Counter(round(char["size"]) for char in chars).most_common(1)[0][0]
    assert 10 <= body_size <= 12


def test_shipped_letter_css_has_no_fixed_positioning() -> None:
    for path in shipped_templates().rglob("*.html"):
        source = re.sub(r"\{#.*?#\}", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        assert not re.search(r"position\s*:\s*fixed", source), path


def _tiny(n: int, pages: int = 1) -> str:
    body = "".join(f'<p style="break-before: page">Brief {n} deel {p}</p>' for p in range(pages))
    return (
        "<html><head><style>@page { size: A4; @bottom-right { content: counter(page) '/' "
        f"counter(pages) }} }}</style></head><body>{body}</body></html>"
    )


def test_chunks_split_back_into_letters_in_order() -> None:
    htmls = [_tiny(i, pages=1 + i % 2) for i in range(5)]
    pdfs = render_pdfs(htmls, workers=1, chunk_size=2)
    assert len(pdfs) == 5
    for index, pdf in enumerate(pdfs):
        reader = PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) == 1 + index % 2
        text = reader.pages[-1].extract_text()
        assert f"Brief {index}" in text
        # page numbers restart per letter even though letters shared a document
        assert f"{len(reader.pages)}/{len(reader.pages)}" in text


def test_process_pool_gives_the_same_order() -> None:
    htmls = [_tiny(i) for i in range(6)]
    parts = render_chunks(htmls, workers=2, chunk_size=2, pool_threshold=0)
    texts = [
        PdfReader(io.BytesIO(pdf)).pages[0].extract_text() for part in parts for pdf in part.letters
    ]
    assert [f"Brief {i}" in text for i, text in enumerate(texts)] == [True] * 6


@pytest.mark.parametrize("count", [1, 7, 80, 100, 333, 1000, 1001, 5000])
@pytest.mark.parametrize("workers", [2, 3])
def test_chunks_are_shared_evenly_between_the_workers(count: int, workers: int) -> None:
    size = chunk_size_for(count, workers, 40)
    chunks = -(-count // size)
    assert 1 <= size <= 40
    # A multiple of the workers (no worker does one chunk more while the others idle) once
    # there is enough to share; never more than one chunk per letter.
    if count >= workers * 4:
        assert chunks % workers == 0, (count, workers, size, chunks)
    assert chunks <= count
    assert chunk_size_for(count, 1, 40) == 40


def test_mailing_files_print_pdf_manifest_archive_email_and_agenda(tmp_path: Path) -> None:
    first = render_and_split([_tiny(1), _tiny(2, pages=2)])  # two chunks, as two workers make
    second = render_and_split([_tiny(3)])
    pdfs = [*first.letters, *second.letters]
    letters = [
        MailingLetter(
            "0001",
            False,
            pdfs[0],
            1,
            ics=b"BEGIN:VCALENDAR",
            emails=(MailingEmail("a@x.nl", "s", b"From: a"), MailingEmail("b@x.nl", "s", b"b")),
            postcode="1234 AB",
            reference="KTM-4A7X",
            inserts=("antwoordenvelop",),
        ),
        MailingLetter('=HYPERLINK("http://x")', True, pdfs[1], 2, incomplete=True),
        MailingLetter(
            "0003", False, pdfs[2], 1, emails=(MailingEmail("c@x.nl", "s", b"c"),), postcode="=1"
        ),
    ]
    files = write_files(tmp_path, "test", [first.chunk.pdf, second.chunk.pdf], letters)
    assert files.without_email == ['=HYPERLINK("http://x")']
    assert len(PdfReader(files.print_pdf).pages) == 4
    rows = list(
        csv.reader(io.StringIO(files.manifest.read_text(encoding="utf-8-sig")), delimiter=";")
    )
    assert rows[0] == [
        "volgnummer",
        "eenheid",
        "kenmerk",
        "postcode",
        "postvlag",
        "eerste_pagina",
        "paginas",
        "aangetekend",
        "bijlagen",
    ]
    assert rows[1] == [
        "1",
        "0001",
        "KTM-4A7X",
        "1234 AB",
        "nee",
        "1",
        "1",
        "nee",
        "antwoordenvelop",
    ]
    assert rows[2] == ["2", '\'=HYPERLINK("http://x")', "", "", "ja", "2", "2", "ja", ""]
    assert rows[3] == ["3", "0003", "", "'=1", "nee", "4", "1", "nee", ""]
    archive = sorted(p.name for p in (tmp_path / "archief").iterdir())
    assert archive == ["0001-0001.pdf", "0002-HYPERLINK_http_x.pdf", "0003-0003.pdf"]
    assert [len(PdfReader(tmp_path / "archief" / name).pages) for name in archive] == [1, 2, 1]
    assert sorted(p.name for p in (tmp_path / "email").iterdir()) == [
        "0001-0001-2.eml",  # the household's second recipient
        "0001-0001.eml",
        "0003-0003.eml",
    ]
    assert [p.name for p in (tmp_path / "agenda").iterdir()] == ["0001-0001.ics"]


@pytest.mark.parametrize("value", ["=1+1", "+31", "-2", "@SUM(A1)", "\tx", "\rx", "\nx"])
def test_csv_cells_never_start_a_formula(value: str) -> None:
    assert csv_safe(value).startswith("'")
    assert csv_safe("0012") == "0012"


def test_calibration_page_outlines_the_window() -> None:
    profile = EnvelopeProfile(name="test", x=110, y=45, width=85, height=40)
    words = _words_on_first_page(calibration_pdf(profile, "Woonstichting Voorbeeld, Postbus 12"))
    assert _lines([w for w in words if _inside(w, profile)]) == [
        "Woonstichting Voorbeeld, Postbus 12",
        "Mevrouw J. de Vries",
        "Dorpsstraat 12 A",
        "1234 AB ONS DORP",
    ]
    assert "Kalibratie envelopprofiel test" in _lines(words)


def test_harfbuzz_check_reports_a_bool() -> None:
    assert isinstance(harfbuzz_subset_available(), bool)


def test_the_style_block_is_parsed_once_and_lays_out_as_before() -> None:
    """A letter's one <style> block is taken out and parsed once per process (issue 12): the
    letter comes out with the same pages and text as when WeasyPrint read the block itself."""
    from weasyprint import HTML

    from keukentafel.letters.pdf import render_chunk, split_style

    html = (
        "<html><head><style>@page { size: A5; margin: 30mm }"
        " p { font-size: 30pt; color: #c00 }</style></head><body>"
        + "".join(f"<p>Regel {n}</p>" for n in range(12))
        + "</body></html>"
    )
    body, css = split_style(html)
    assert css is not None and "<style>" not in body and "A5" in css
    assert split_style(body) == (body, None)
    two = html.replace("</head>", "<style>p { color: blue }</style></head>")
    assert split_style(two) == (two, None)  # more than one block: left to WeasyPrint

    ours = PdfReader(io.BytesIO(render_chunk([html, html]).pdf))
    theirs = PdfReader(io.BytesIO(HTML(string=html).write_pdf()))
    assert len(ours.pages) == 2 * len(theirs.pages) > 2  # the page size and margins applied
    assert ours.pages[0].mediabox == theirs.pages[0].mediabox
    assert ours.pages[0].extract_text() == theirs.pages[0].extract_text()
