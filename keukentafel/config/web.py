"""The ``web:`` section of a corporation file: the resident's page and the staff page.

Example::

    web:
      base_url: https://bewoners.example.org        # where `keukentafel web` is reached
      staff:                                        # sign-in with Microsoft Entra ID (OIDC)
        tenant_id: 00000000-0000-0000-0000-000000000001
        client_id: 22222222-2222-2222-2222-222222222222
        client_secret_env: KEUKENTAFEL_STAFF_CLIENT_SECRET
        guides:                                     # who is a guide on which project
          f.elidrissi@example.org: [DIJK-RENO]      # user principal name or Entra object id
      projects:
        DIJK-RENO:
          summary: "Wij maken uw woning beter. ..."  # B1 Dutch, on the resident's page
          works:
            - {title: Nieuwe kozijnen, text: "...", when: "maart 2027"}
          translations: {en: "...", tr: "...", ar: "..."}
          visit_guide: f.elidrissi@example.org       # her Outlook free/busy: visits to pick

Roles come from the app registration's app roles (``admin``, ``guide``) in the id token; a
``guide`` sees only the projects listed for them under ``guides``. Secrets are named by the
variable that holds them (``client_secret_env``), never written here.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from keukentafel.config.base import EnvName, _Model

SummaryLanguage = Literal["en", "tr", "ar"]


class WorkItemConfig(_Model):
    """One thing that happens in the home, and when (plain B1 Dutch)."""

    title: str = Field(min_length=1, max_length=120)
    text: str = Field(default="", max_length=1000)
    when: str = Field(default="", max_length=120)  # "maart tot mei 2027"


class ProjectPageConfig(_Model):
    """What the resident's page says about one project."""

    summary: str = Field(default="", max_length=2000)
    works: list[WorkItemConfig] = Field(default_factory=list)
    translations: dict[SummaryLanguage, str] = Field(default_factory=dict)
    contact_name: str = ""  # "" = the letters' contact person
    contact_phone: str = ""
    # A home visit picked on the page: the guide's mailbox (user principal name) whose Outlook
    # free/busy gives the slots (needs the file's m365 section); "" = no slots offered.
    visit_guide: str = Field(default="", max_length=200)
    visit_days: int = Field(default=14, ge=1, le=60)  # how far ahead, from tomorrow
    visit_minutes: int = Field(default=60, ge=15, le=240)  # the length of a visit


class StaffSignInConfig(_Model):
    """The app registration staff sign in with (authorization code flow with PKCE)."""

    tenant_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret_env: EnvName
    authority_host: str = "https://login.microsoftonline.com"
    ca_bundle: str | None = None  # a private CA (tests and the demo: the fake's test CA)
    timeout_seconds: float = Field(default=15.0, gt=0)
    guides: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("authority_host")
    @classmethod
    def _https(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.netloc:
            raise ValueError("must be an https URL (msal needs TLS)")
        return value.rstrip("/")

    @field_validator("guides")
    @classmethod
    def _lower_case_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {name.strip().lower(): list(codes) for name, codes in value.items()}

    @property
    def authority(self) -> str:
        return f"{self.authority_host}/{self.tenant_id}"


class WebConfig(_Model):
    """The whole ``web:`` section."""

    base_url: str = Field(pattern=r"^https?://[^/]+")
    staff: StaffSignInConfig | None = None
    projects: dict[str, ProjectPageConfig] = Field(default_factory=dict)
    # Code entry: attempts per client address per 15 minutes, failures per project per hour.
    code_attempts_per_address: int = Field(default=10, ge=1, le=1000)
    code_failures_per_project: int = Field(default=200, ge=1, le=100_000)

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")
