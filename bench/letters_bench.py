"""Benchmark: 1,000 personalised letters, PDF for post plus e-mail (target ≤ 40 s on 2 cores).

Run: .venv/bin/python -m bench.letters_bench [count] [kind]
Writes into a temporary folder and prints seconds per phase and in total.
"""

from __future__ import annotations

import argparse
import logging
import resource
import tempfile
import time
from pathlib import Path

from keukentafel.letters.pdf import harfbuzz_subset_available
from keukentafel.letters.preview import write_sample_mailing
from keukentafel.letters.samples import SAMPLE_DATE, generated_households, sample_letters_config


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=1000, help="letters (1000)")
    parser.add_argument("kind", nargs="?", default="info_evening", help="mailing kind")
    args = parser.parse_args()
    count, kind = args.count, args.kind
    logging.basicConfig(level=logging.WARNING)
    households = generated_households(count)
    config = sample_letters_config()
    print(f"harfbuzz-subset: {harfbuzz_subset_available()}")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        summary = write_sample_mailing(
            kind, households, config, Path(tmp), on=SAMPLE_DATE, secret=b"bench-secret-0123456789"
        )
        seconds = time.perf_counter() - started
        size = summary.print_pdf.stat().st_size if summary.print_pdf else 0
        print(
            f"{kind}: {summary.letters} letters, {summary.pages} pages, {summary.emails} e-mails, "
            f"{summary.ics_files} invitations; print PDF {size / 1e6:.1f} MB"
        )
        print(
            f"compose + PDF + e-mail + .ics (2 workers) {summary.render_seconds:.1f} s, "
            f"print PDF merge and files {summary.write_seconds:.1f} s"
        )
        cpu = sum(
            getattr(resource.getrusage(who), field)
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
            for field in ("ru_utime", "ru_stime")
        )
        print(f"CPU time (this process and its workers): {cpu:.1f} s")
        print(f"total {seconds:.1f} s ({seconds / max(1, summary.letters) * 1000:.0f} ms/letter)")


if __name__ == "__main__":
    main()
