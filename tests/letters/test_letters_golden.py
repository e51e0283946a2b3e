"""Golden texts: body.txt of several kinds for one fixed sample household and date.

A change in a shipped text (or in the context builders) shows up here as a diff to review.
Regenerate after a reviewed change: ``KT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/letters/test_letters_golden.py``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from keukentafel.letters.preview import render_kind_for
from keukentafel.letters.samples import SAMPLE_DATE, sample_households

GOLDEN = Path(__file__).parent / "golden"
SECRET = b"golden-secret-0123456789abcdef"
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
KINDS = ["announcement", "info_evening", "home_visit", "proposal", "consent_reached"]


@pytest.mark.parametrize("kind", KINDS)
def test_body_text_matches_golden(kind: str) -> None:
    household = sample_households()[0]  # Mevrouw J. de Vries, Dorpsstraat 1
    rendered = render_kind_for(kind, household, on=SAMPLE_DATE, secret=SECRET, now=NOW)
    text = f"Subject: {rendered.subject}\n\n{rendered.text}"
    path = GOLDEN / f"letters_{kind}.body.txt"
    if os.environ.get("KT_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path.name}: run with KT_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
