"""The ``letters:`` section of a corporation file: branding, contact person, envelope, links.

Part of ``CorporationFile`` (validated when the file is loaded; relative ``logo_path`` and
``templates_dir`` resolve next to the file). Secrets are never here: the link secret is named by
the environment variable that holds it (``link_secret_env``) and read only when a link is signed
or checked; :func:`keukentafel.domain.links.link_secret_problem` says whether its value is strong enough.

The files the section names are checked before anything is printed
(:meth:`LettersConfig.missing_files`): a logo that is not there would otherwise print a whole
mailing without it, and a templates folder that is not there would surface as an unknown kind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from keukentafel.config.base import EnvName, _Model

Millimetres = Annotated[float, Field(ge=0, le=297)]


class BrandingConfig(_Model):
    """How the corporation looks on paper and in mail."""

    name: str = Field(min_length=1)  # the sender as printed: "Woonstichting Voorbeeld"
    logo_path: str = ""  # a local image file; "" prints no logo
    colour: str = Field(default="#1f5c99", pattern=r"^#[0-9A-Fa-f]{3}([0-9A-Fa-f]{3})?$")
    return_address: str = Field(min_length=1)  # one line above the window: "Naam, Postbus 12, ..."
    website: str = ""


class ContactConfig(_Model):
    """The guidance team's contact person that every letter names."""

    name: str = Field(min_length=1)
    role: str = "bewonersbegeleider"
    phone: str = Field(min_length=1)
    email: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")


class EnvelopeProfile(_Model):
    """The address window of a window envelope, measured from the top-left of an A4 sheet."""

    name: str = "DL-venster-links"
    x: Millimetres = 20.0
    y: Millimetres = 50.0
    width: Millimetres = Field(default=90.0, gt=0)
    height: Millimetres = Field(default=35.0, gt=0)


class LettersConfig(_Model):
    """The whole ``letters:`` section."""

    branding: BrandingConfig
    contact: ContactConfig
    envelope: EnvelopeProfile = EnvelopeProfile()
    link_base_url: str = Field(pattern=r"^https?://")  # personal links: <base>/<token>
    link_secret_env: EnvName = "KEUKENTAFEL_LINK_SECRET"  # noqa: S105 - a variable name
    link_valid_days: int = Field(default=60, ge=1, le=400)
    sender_email: str = Field(default="", pattern=r"^([^@\s]+@[^@\s]+)?$")  # "" = contact.email
    templates_dir: str = ""  # "" = the templates/ folder shipped with Keukentafel

    @property
    def from_address(self) -> str:
        return self.sender_email or self.contact.email

    def missing_files(self) -> list[str]:
        """What the section names but is not there, one line per key (empty when all is)."""
        problems = []
        logo = self.branding.logo_path
        if logo and not Path(logo).is_file():
            problems.append(f"letters.branding.logo_path: there is no file {logo}")
        if self.templates_dir and not Path(self.templates_dir).is_dir():
            problems.append(f"letters.templates_dir: there is no folder {self.templates_dir}")
        return problems
