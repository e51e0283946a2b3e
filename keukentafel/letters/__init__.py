"""Letters, e-mails and invitations for the households of the register.

Entry points for the CLI and the flows:

- ``preview(kind, household, config, out_dir) -> (pdf_path, html_path)``
- ``write_sample_mailing(kind, households, config, out_dir, *, on) -> MailingSummary``
- ``write_mailing(...)`` for a real mailing with its own events and details
- ``b1.check_template(kind)`` / ``b1.check_all()`` for ``keukentafel letters check``
- ``config.LettersConfig`` for the ``letters:`` section of a corporation file

Modules: context (pure context builders), render (the Jinja2 environment), pdf (WeasyPrint),
mail (MIME), ics (iCalendar), links (signed personal links and QR), b1 (readability),
batch (print batch and mailings), samples (generated sample data).
"""

from __future__ import annotations

from keukentafel.letters.batch import (
    MailingSummary,
    preview,
    write_mailing,
    write_sample_mailing,
)
from keukentafel.letters.config import LettersConfig

__all__ = ["LettersConfig", "MailingSummary", "preview", "write_mailing", "write_sample_mailing"]
