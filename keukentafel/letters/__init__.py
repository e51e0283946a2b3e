"""Letters, e-mails and invitations for the households of the register.

Nothing is imported here: ``import keukentafel.letters.config`` (to validate a configuration
section) must not pull in Jinja2, WeasyPrint and the rest. Import the module you need:

- compose: one message kind for one household (context, personal link, letter, e-mail, .ics);
- output: writing a mailing to its folder in worker processes; ``LettersMailingWriter``, the
  mailing use case's writer;
- preview: ``preview`` (one letter as PDF and HTML), ``render_kind_for``,
  ``write_sample_mailing``;
- context (pure context builders), render (the Jinja2 environment, meta.yaml against the
  message-kind registry), pdf (WeasyPrint), mail (MIME), ics (iCalendar), links (signed
  personal links and QR), b1 (``letters check``: readability and meta.yaml), samples (generated
  sample data), config (``LettersConfig``, the ``letters:`` section of a corporation file).
"""
