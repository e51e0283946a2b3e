"""Configuration of the Microsoft 365 connection: tenant, app registration, endpoints and sources.

This module owns the ``m365`` section of a corporation's config file. It never holds a secret:
the client secret and the certificate's private key are named by the environment variable that
holds them (``*_env`` keys) and read by :mod:`connectors.m365.auth` when the token is needed.
It lives with the rest of the configuration so the connector imports its configuration and the
configuration never imports a connector.

``authority_host`` and ``graph_base_url`` are configurable for national clouds (e.g.
``https://login.microsoftonline.us`` with ``https://graph.microsoft.us/v1.0``) and for the fake
used by tests and the demo (``https://127.0.0.1:PORT``, with ``ca_bundle`` pointing at its test CA).

Example::

    m365:
      tenant_id: 00000000-0000-0000-0000-000000000001
      client_id: 11111111-1111-1111-1111-111111111111
      client_secret_env: KT_M365_CLIENT_SECRET
      mailbox: project-noord@corporatie.nl
      contact_list:
        site_id: corporatie.sharepoint.com,abc,def
        list_id: 7d0c...
        columns: {unit_code: VHE, mobile: Mobiel}
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from keukentafel.config.base import EnvName, _Model


class CertificateConfig(_Model):
    """A certificate credential: the thumbprint registered in Entra ID and the private key.

    ``private_key_env`` holds the PEM text itself; ``private_key_path_env`` holds the path of a
    PEM file. ``public_certificate_path`` (optional) is the PEM certificate; when given, its
    SHA-256 thumbprint and chain (x5c) are sent as well (subject name/issuer auth).
    """

    thumbprint: str = Field(min_length=1)
    private_key_path_env: EnvName | None = None
    private_key_env: EnvName | None = None
    public_certificate_path: str | None = None

    @field_validator("thumbprint")
    @classmethod
    def _hex_thumbprint(cls, value: str) -> str:
        cleaned = value.replace(":", "").replace(" ", "").upper()
        if not cleaned or any(c not in "0123456789ABCDEF" for c in cleaned):
            raise ValueError("thumbprint must be the hexadecimal certificate thumbprint")
        return cleaned

    @model_validator(mode="after")
    def _one_key_source(self) -> CertificateConfig:
        if bool(self.private_key_path_env) == bool(self.private_key_env):
            raise ValueError("give exactly one of private_key_path_env or private_key_env")
        return self


class ContactListConfig(_Model):
    """A SharePoint list with the team's contact details; ``columns`` maps our field to theirs."""

    site_id: str = Field(min_length=1)
    list_id: str = Field(min_length=1)
    columns: dict[str, str] = Field(default_factory=dict)


class ContactWorkbookConfig(_Model):
    """An Excel file in SharePoint (``site_id``) or OneDrive (``drive_id``), read with openpyxl."""

    drive_id: str | None = None
    site_id: str | None = None
    item_path: str = Field(min_length=1)
    sheet: str | None = None
    columns: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_location(self) -> ContactWorkbookConfig:
        if not (self.drive_id or self.site_id):
            raise ValueError("give drive_id or site_id for the workbook")
        return self


class M365Config(_Model):
    """The ``m365`` section: one app registration (client credentials) in one tenant."""

    tenant_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    authority_host: str = "https://login.microsoftonline.com"
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    client_secret_env: EnvName | None = None
    certificate: CertificateConfig | None = None
    ca_bundle: str | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=20)
    max_retry_after_seconds: float = Field(default=300.0, gt=0)
    mailbox: str | None = None
    contact_list: ContactListConfig | None = None
    contact_workbook: ContactWorkbookConfig | None = None
    staff_calendars: list[str] = Field(default_factory=list)
    send_pace_per_minute: int = Field(default=30, ge=1, le=600)

    @field_validator("authority_host", "graph_base_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.netloc:
            raise ValueError("must be an https URL (msal and Graph need TLS)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_credential(self) -> M365Config:
        if bool(self.client_secret_env) == bool(self.certificate):
            raise ValueError("give exactly one of client_secret_env or certificate")
        return self

    @property
    def authority(self) -> str:
        """The tenant's authority URL, e.g. ``https://login.microsoftonline.com/<tenant>``."""
        return f"{self.authority_host}/{self.tenant_id}"

    @property
    def graph_scope(self) -> str:
        """The client-credentials scope of the Graph resource, e.g. ``https://graph.microsoft.com/.default``."""
        parts = urlsplit(self.graph_base_url)
        return f"{parts.scheme}://{parts.netloc}/.default"
