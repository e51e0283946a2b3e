"""PDF letters with WeasyPrint: one letter, many letters fast, and the envelope calibration page.

One WeasyPrint document per letter costs ~0.1–0.3 s, most of it font subsetting at write time.
So many letters are laid out one by one, their pages combined into one document per chunk (fonts
are subset once per chunk), written once, and split back into one PDF per letter with pypdf;
chunks run in a process pool of two workers. Letter CSS must never use ``position: fixed``
(repeated on every page, super-linear in multi-letter documents): footers and page numbers go in
``@page`` margin boxes.
"""

from __future__ import annotations

import gc
import io
import logging
import multiprocessing
import re
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, TypeVar

from markupsafe import escape

from keukentafel.config.letters import EnvelopeProfile

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

CHUNK_SIZE = 40  # letters per WeasyPrint document: 10–60 is the sweet spot measured
POOL_THRESHOLD = 2 * CHUNK_SIZE  # below this a pool's start-up costs more than it saves


@lru_cache(maxsize=1)
def harfbuzz_subset_available() -> bool:
    """Whether WeasyPrint found libharfbuzz-subset (3x faster PDFs); warns once when not."""
    from weasyprint.text import ffi

    available = getattr(ffi, "harfbuzz_subset", None) is not None
    if not available:
        log.warning(
            "libharfbuzz-subset is not available: PDFs render about 3x slower "
            "(install libharfbuzz-subset0, see scripts/bootstrap)"
        )
    return available


@dataclass(frozen=True, slots=True)
class RenderedChunk:
    """Several letters in one PDF, and the page count of each letter in order."""

    pdf: bytes
    pages: list[int]


_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def split_style(html: str) -> tuple[str, str | None]:
    """A letter without its one ``<style>`` block, and that block's CSS (None, and the letter
    as it is, when it has no such block or more than one)."""
    found = _STYLE.search(html)
    if found is None or _STYLE.search(html, found.end()) is not None:
        return html, None
    return html[: found.start()] + html[found.end() :], found.group(1)


@lru_cache(maxsize=8)
def _stylesheet(css: str, base_url: str | None) -> object:
    """The letters' CSS parsed once per process: every letter of a mailing carries the same
    ``<style>`` block, and WeasyPrint parsed it again for each one (~8% of a letter's time).
    Passed to ``render`` as the document's one stylesheet (the letters use no presentational
    hints and no ``!important``, so its cascade is the one the ``<style>`` block had)."""
    from weasyprint import CSS

    return CSS(string=css, base_url=base_url)


def _render_one(html: str, base_url: str | None, fonts: object) -> object:
    from weasyprint import HTML

    body, css = split_style(html)
    stylesheets = [_stylesheet(css, base_url)] if css is not None else None
    return HTML(string=body, base_url=base_url).render(font_config=fonts, stylesheets=stylesheets)


def render_chunk(htmls: Sequence[str], base_url: str | None = None) -> RenderedChunk:
    """Lay out each letter on its own (own page numbers), write them as one PDF."""
    from weasyprint.text.fonts import FontConfiguration

    if not htmls:
        raise ValueError("render_chunk needs at least one letter")
    fonts = FontConfiguration()
    # Layout makes millions of short-lived objects; the cyclic collector running in between
    # costs ~20% CPU. A chunk is bounded, so collect once at its end instead.
    collecting = gc.isenabled()
    gc.disable()
    try:
        documents: list[Any] = [_render_one(html, base_url, fonts) for html in htmls]
        pages = [page for document in documents for page in document.pages]
        pdf = documents[0].copy(pages).write_pdf()
        counts = [len(document.pages) for document in documents]
        del documents, pages
    finally:
        if collecting:
            gc.enable()
            gc.collect()
    assert pdf is not None
    return RenderedChunk(pdf=pdf, pages=counts)


@dataclass(frozen=True, slots=True)
class SplitChunk:
    chunk: RenderedChunk
    letters: list[bytes]


def split_chunk(chunk: RenderedChunk) -> list[bytes]:
    """One PDF per letter from a chunk."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(chunk.pdf))
    out: list[bytes] = []
    start = 0
    for count in chunk.pages:
        writer = PdfWriter()
        for index in range(start, start + count):
            writer.add_page(reader.pages[index])
        start += count
        buffer = io.BytesIO()
        writer.write(buffer)
        out.append(buffer.getvalue())
    return out


def merge_pdfs(pdfs: Sequence[bytes]) -> bytes:
    """Concatenate PDFs (chunks) into one, for the mail house."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(io.BytesIO(pdf))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def render_and_split(htmls: Sequence[str], base_url: str | None = None) -> SplitChunk:
    """A chunk and its per-letter PDFs (done in the worker, so both cores split too)."""
    chunk = render_chunk(htmls, base_url)
    return SplitChunk(chunk=chunk, letters=split_chunk(chunk))


def _main_is_importable() -> bool:
    """Spawned workers re-import ``__main__``: impossible for stdin or an interactive session."""
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file and Path(main_file).is_file():
        return True
    log.info("rendering PDFs in this process: __main__ cannot be re-imported by a worker")
    return False


def map_in_processes(fn: Callable[[T], R], items: Sequence[T], *, workers: int) -> list[R]:
    """``[fn(item) for item in items]`` over a pool of ``workers`` processes, in order.

    Workers are spawned, not forked: Pango/GLib state in a forked child of a threaded parent is
    not safe. Falls back to this process for one worker, one item, or when ``__main__`` cannot
    be re-imported by a spawned worker.
    """
    if workers <= 1 or len(items) <= 1 or not _main_is_importable():
        return [fn(item) for item in items]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_settle_worker
    ) as pool:
        return list(pool.map(fn, items))


def _settle_worker() -> None:
    """A pool worker's start: WeasyPrint imported, then everything alive frozen out of the
    cyclic collector, so the collection that ends each chunk scans the chunk's own garbage and
    not the modules and font tables again (about 1% of a letter's CPU; a worker lives for
    one mailing, so nothing it freezes is garbage it would have to free)."""
    import weasyprint  # noqa: F401 - the import is the point: it is what gets frozen

    gc.collect()
    gc.freeze()


def chunk_size_for(count: int, workers: int, chunk_size: int = CHUNK_SIZE) -> int:
    """Letters per chunk: at most ``chunk_size``, small enough to keep every worker busy, and
    as many chunks as a multiple of ``workers`` of near-equal size, so that no worker is left
    with one chunk more at the end while the other idles (1,000 letters, 2 workers: 26 chunks
    of at most 39 letters, 13 per worker, instead of 25 of 40)."""
    if workers <= 1:
        return chunk_size
    least = max(-(-count // chunk_size), workers * 4)
    first = -(-least // workers) * workers
    sizes = [max(1, -(-count // chunks)) for chunks in range(first, first + 64 * workers, workers)]
    return next((size for size in sizes if -(-count // size) % workers == 0), sizes[0])


def render_chunks(
    htmls: Sequence[str],
    *,
    chunk_size: int = CHUNK_SIZE,
    workers: int = 2,
    base_url: str | None = None,
    pool_threshold: int = POOL_THRESHOLD,
) -> list[SplitChunk]:
    """All letters in chunks, in order, each with its per-letter PDFs; a process pool of
    ``workers`` when there are at least ``pool_threshold`` letters."""
    harfbuzz_subset_available()
    if not htmls:
        return []
    if len(htmls) < pool_threshold:
        workers = 1
    groups = _chunks(htmls, chunk_size_for(len(htmls), workers, chunk_size))
    return map_in_processes(partial(render_and_split, base_url=base_url), groups, workers=workers)


def render_pdf(html: str, base_url: str | None = None) -> bytes:
    """One letter as PDF."""
    harfbuzz_subset_available()
    return render_chunk([html], base_url).pdf


def render_pdfs(htmls: list[str], *, workers: int = 2, chunk_size: int = CHUNK_SIZE) -> list[bytes]:
    """One PDF per letter, rendered in chunks over ``workers`` processes, in input order."""
    return [
        pdf
        for part in render_chunks(htmls, chunk_size=chunk_size, workers=workers)
        for pdf in part.letters
    ]


def calibration_html(profile: EnvelopeProfile, return_address: str) -> str:
    """An A4 page that outlines the envelope window and prints a sample address in it.

    Print it, fold it into the envelope and check that the frame sits inside the window.
    """
    name = escape(profile.name)
    ret = escape(return_address)
    return f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Kalibratie {name}</title>
<style>
@page {{ size: A4; margin: 0; }}
body {{ margin: 0; font-family: "DejaVu Sans", sans-serif; font-size: 10pt; }}
.window {{ position: absolute; left: {profile.x}mm; top: {profile.y}mm;
  width: {profile.width}mm; height: {profile.height}mm; outline: 0.3mm dashed #c00;
  box-sizing: border-box; padding: 2mm 3mm; }}
.return {{ font-size: 7pt; border-bottom: 0.2mm solid #000; margin-bottom: 1mm; }}
.ruler {{ position: absolute; left: 0; top: 0; font-size: 7pt; }}
.info {{ position: absolute; left: 20mm; top: 150mm; width: 170mm; font-size: 10pt; }}
.tick {{ position: absolute; left: 0; width: 5mm; border-top: 0.2mm solid #000; }}
</style></head><body>
<div class="window"><div class="return">{ret}</div>
<div>Mevrouw J. de Vries</div><div>Dorpsstraat 12 A</div><div>1234 AB  ONS DORP</div></div>
{"".join(f'<div class="tick" style="top:{mm}mm"></div>' for mm in range(10, 290, 10))}
<div class="info"><p><strong>Kalibratie envelopprofiel {name}</strong></p>
<p>Venster: x {profile.x} mm, y {profile.y} mm, breedte {profile.width} mm,
hoogte {profile.height} mm (vanaf linksboven). Streepjes links: elke 10 mm.</p>
<p>Vouw dit blad in de envelop. De rode stippellijn moet binnen het venster vallen.</p></div>
</body></html>"""


def calibration_pdf(profile: EnvelopeProfile, return_address: str) -> bytes:
    return render_pdf(calibration_html(profile, return_address))
