"""The ``source.vera`` section: where the corporation's ERP answers over VERA REST, and how."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from keukentafel.config.base import EnvName, SecureUrl, _Model

#: The read scopes the sync needs, as the VERA contract names them (the OAuth2 securitySchemes of
#: VHE.yaml for /eenheden, BRG.yaml for /relaties, BOG.yaml for /overeenkomsten).
DEFAULT_SCOPES = ("VHE.Eenheden.Read", "BRG.Relaties.Read", "BOG.Overeenkomsten.Read")


class VeraAuthConfig(_Model):
    """``api_key``: header X-API-KEY; ``oauth2``: client credentials against ``token_url``."""

    mode: Literal["api_key", "oauth2", "none"] = "api_key"
    api_key_env: EnvName | None = None
    token_url: SecureUrl | None = None  # receives the client secret: https (or loopback)
    client_id: str | None = None
    client_secret_env: EnvName | None = None
    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_SCOPES))

    @model_validator(mode="after")
    def _complete(self) -> VeraAuthConfig:
        if self.mode == "api_key" and not self.api_key_env:
            raise ValueError("mode api_key needs api_key_env (the variable that holds the key)")
        if self.mode == "oauth2" and not (
            self.token_url and self.client_id and self.client_secret_env
        ):
            raise ValueError("mode oauth2 needs token_url, client_id and client_secret_env")
        return self


class VeraConfig(_Model):
    base_url: SecureUrl  # receives the API key or token: https (or loopback)
    auth: VeraAuthConfig
    cluster_kind: str = "FIN"  # the VERA CLUSTERSOORT that the projects' complexes are
    page_size: int = Field(default=100, ge=1, le=100)
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=20)
    max_retry_after_seconds: float = Field(default=120.0, gt=0)
    # Relations with more items than this after their first page are paged and mapped by a
    # second process (another core) while this one reads units and agreements; null: never.
    second_process_above: int | None = Field(default=20_000, ge=0)
