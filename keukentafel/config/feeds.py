"""The ``feeds`` section: contractors and their feeds, and writing back to the corporation's ERP.

::

    feeds:
      contractors:
        - code: BOUWBV                     # letters, digits, '-' and '_'
          name: Bouwbedrijf Voorbeeld
          projects: [DIJK-RENO]            # the projects whose units it may see
          teams: [team-noord, team-zuid]   # optional: a calendar feed per team
          work_hours: "07:30-16:00"        # a work day in its calendar and letters
          webhook:                         # optional: signed JSON webhooks (Standard Webhooks)
            url: https://planning.bouwbedrijf.example/hooks/keukentafel
            secret_envs: [BOUWBV_WHSEC, BOUWBV_WHSEC_NEXT]   # two while rotating; both sign
          pull_token_env: BOUWBV_PULL_TOKEN      # bearer token of the pull API, export, calendar
          inbound_secret_envs: [BOUWBV_INBOUND_WHSEC]    # webhooks the contractor sends us
      erp:
        mode: vera          # vera: POST/PUT to /contactmomenten and /afspraken; export: files;
                            # off: nothing goes back
        vera: {...}         # optional: another VERA endpoint than source.vera (write scopes)

Secrets are never in the file: each ``*_env`` names the variable that holds a ``whsec_`` secret
or a token.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from keukentafel.config.base import EnvName, _Model
from keukentafel.config.vera import VeraConfig

CONTRACTOR_CODE = r"^[A-Za-z0-9_-]{1,40}$"


class WebhookConfig(_Model):
    url: str = Field(pattern=r"^https?://")
    secret_envs: list[EnvName] = Field(min_length=1, max_length=2)
    timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    ca_bundle: str | None = None  # a PEM file to trust (a test CA); default: the system's


class ContractorConfig(_Model):
    code: str = Field(pattern=CONTRACTOR_CODE)
    name: str = Field(min_length=1)
    projects: list[str] = Field(min_length=1)
    teams: list[str] = Field(default_factory=list)
    work_hours: str = "07:30-16:00"
    webhook: WebhookConfig | None = None
    pull_token_env: EnvName | None = None
    inbound_secret_envs: list[EnvName] = Field(default_factory=list, max_length=2)
    batch_size: int = Field(default=100, ge=1, le=500)  # changes per webhook

    @field_validator("work_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        from keukentafel.domain.planning.appointments import PlanningError, hours_of

        try:
            hours_of(value)
        except PlanningError as exc:
            raise ValueError(str(exc)) from None
        return value


class ErpWritesConfig(_Model):
    mode: Literal["vera", "export", "off"] = "off"
    vera: VeraConfig | None = None  # default: the register's source.vera


class FeedsConfig(_Model):
    contractors: list[ContractorConfig] = Field(default_factory=list)
    erp: ErpWritesConfig = ErpWritesConfig()

    @model_validator(mode="after")
    def _unique_codes(self) -> FeedsConfig:
        codes = [c.code for c in self.contractors]
        twice = sorted({c for c in codes if codes.count(c) > 1})
        if twice:
            raise ValueError(f"contractor code(s) used twice: {', '.join(twice)}")
        return self

    def check_against(self, projects: set[str], source_is_vera: bool) -> None:
        """Every contractor's projects exist; ``erp.mode: vera`` has a VERA endpoint."""
        for i, contractor in enumerate(self.contractors):
            unknown = sorted(set(contractor.projects) - projects)
            if unknown:
                raise ValueError(
                    f"feeds.contractors.{i}.projects: unknown project(s) {', '.join(unknown)}"
                )
        if self.erp.mode == "vera" and self.erp.vera is None and not source_is_vera:
            raise ValueError("feeds.erp.mode is vera: give feeds.erp.vera (source is no VERA)")

    def contractor(self, code: str) -> ContractorConfig:
        for contractor in self.contractors:
            if contractor.code == code:
                return contractor
        known = ", ".join(c.code for c in self.contractors) or "none"
        raise KeyError(f"no contractor {code!r} in feeds.contractors (known: {known})")
