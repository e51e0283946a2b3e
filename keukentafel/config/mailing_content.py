"""What a mailing says besides each household's own details: a content file per mailing.

The event is validated straight into the letters' own :class:`~keukentafel.letters.context.Event`
(pydantic validates the dataclass, its ``__post_init__`` check included), so its fields are
written down once. Not imported by ``keukentafel.config`` itself: it needs the letters package.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError

from keukentafel.config.base import ConfigError, _Model, format_validation_error, load_yaml
from keukentafel.letters.context import Event


class MailingContent(_Model):
    """One shared event and the kind's details. Read from a YAML file
    (``mailing send --content FILE``)::

        mailing_id: bewonersavond-1 # the mailing's identity: the same id is never sent twice
        event:                      # for invitations to one meeting (leave out otherwise)
          event_id: bewonersavond-1
          title: Informatieavond over de renovatie
          start: 2026-12-10T19:30
          end: 2026-12-10T21:00
          location_name: Buurthuis De Schakel
          location_address: Dijkstraat 4, 1234 AB Ons Dorp
        details: {works_summary: [...], start_period_text: voorjaar 2027, moving_out: false}
        corrects: bewonersavond-0   # only for a correction: the mailing_id it corrects

    The ``details`` keys per kind are documented in templates/README.md; a kind that asks an
    answer takes ``details.response_deadline`` (a date), else the deadline is computed.

    A correction (the evening moved) is a new content file with a new ``mailing_id``, the same
    event_id and ``corrects`` naming the mailing it corrects: everyone who had that mailing gets
    an update that says what changed, and their calendars move the invitation.
    """

    mailing_id: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._-]+$")
    event: Event | None = None
    details: dict[str, object] = Field(default_factory=dict)
    units: list[str] | None = None  # only these units (e.g. the tenants who did not agree)
    corrects: str | None = Field(
        default=None, min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._-]+$"
    )


def load_mailing_content(path: str | Path) -> MailingContent:
    """The validated content file, or a ConfigError that names the file and the key."""
    path = Path(path)
    try:
        return MailingContent.model_validate(load_yaml(path))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None
