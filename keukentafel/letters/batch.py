"""Old home of the mailing code, kept only so imports keep working while branches merge.

Composing lives in letters/compose.py, the files and the MailingWriter adapter in
letters/output.py, previews and sample mailings in letters/preview.py. The integrator removes
this module once nothing imports it.
"""

from __future__ import annotations

from keukentafel.letters.compose import Composed, compose, safe_filename
from keukentafel.letters.output import MailingSummary, csv_safe, write_mailing
from keukentafel.letters.preview import preview, render_kind_for, write_sample_mailing

__all__ = [
    "Composed",
    "MailingSummary",
    "compose",
    "csv_safe",
    "preview",
    "render_kind_for",
    "safe_filename",
    "write_mailing",
    "write_sample_mailing",
]
