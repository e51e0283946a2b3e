"""Per-corporation configuration: YAML files in ``config/``, validated by pydantic on load.

A config file describes one corporation: where its register comes from, its projects and their
complexes, how the sync guards the register, and (for letters and Microsoft 365) branding and
mailboxes. It never holds a secret: a secret is named by the environment variable that holds it
(``*_env`` keys), read at the moment it is needed, and never printed.

Errors name the file, the key path and what is wrong, so an operator can fix the file without
reading a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from keukentafel.domain.model import Corporation, Project, ProjectKind


class ConfigError(Exception):
    """A configuration file that cannot be used; the message says where and why."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]


def read_secret(env_name: str, what: str) -> str:
    """The value of a secret from the environment, or a clear error that names only the variable."""
    value = os.environ.get(env_name, "")
    if not value:
        raise ConfigError(f"{what}: environment variable {env_name} is not set")
    return value


class CorporationConfig(_Model):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1)


class ProjectConfig(_Model):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1)
    kind: ProjectKind
    complexes: list[str] = Field(min_length=1)


class VeraAuthConfig(_Model):
    """``api_key``: header X-API-KEY; ``oauth2``: client credentials against ``token_url``."""

    mode: Literal["api_key", "oauth2", "none"] = "api_key"
    api_key_env: EnvName | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret_env: EnvName | None = None
    scopes: list[str] = Field(
        default_factory=lambda: [
            "Vastgoed.Eenheden.Read",
            "Relaties.Relaties.Read",
            "Overeenkomsten.Overeenkomsten.Read",
        ]
    )

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
    base_url: str = Field(pattern=r"^https?://")
    auth: VeraAuthConfig
    cluster_kind: str = "FIN"  # the VERA CLUSTERSOORT that the projects' complexes are
    page_size: int = Field(default=100, ge=1, le=100)
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=5, ge=0, le=20)
    max_retry_after_seconds: float = Field(default=120.0, gt=0)


class SpreadsheetConfig(_Model):
    """An ERP export: one row per tenant (or co-tenant) per unit; vacant units have no name.

    ``columns`` maps our field names to the export's column headers, e.g.
    ``unit_code: "VHE-nummer"``. Unknown field names are rejected on load.
    """

    path: str
    sheet: str | None = None  # XLSX only; the first sheet when empty
    delimiter: str = ";"
    encoding: str = "utf-8-sig"
    date_format: str = "%d-%m-%Y"
    columns: dict[str, str]

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        from keukentafel.domain.spreadsheet_fields import REQUIRED_FIELDS, SPREADSHEET_FIELDS

        unknown = sorted(set(value) - SPREADSHEET_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(SPREADSHEET_FIELDS))}"
            )
        missing = sorted(REQUIRED_FIELDS - set(value))
        if missing:
            raise ValueError(f"missing required field(s) {', '.join(missing)}")
        return value


class SourceConfig(_Model):
    kind: Literal["vera", "spreadsheet"]
    vera: VeraConfig | None = None
    spreadsheet: SpreadsheetConfig | None = None

    @model_validator(mode="after")
    def _matching_section(self) -> SourceConfig:
        if getattr(self, self.kind) is None:
            raise ValueError(
                f"source kind is {self.kind!r} but the {self.kind!r} section is missing"
            )
        return self


class SyncConfig(_Model):
    max_shrink: float = Field(default=0.10, ge=0.0, le=1.0)


class CorporationFile(_Model):
    """The whole of one ``config/<corporation>.yaml``. Later sections (letters, m365) extend it."""

    corporation: CorporationConfig
    source: SourceConfig
    projects: list[ProjectConfig] = Field(min_length=1)
    sync: SyncConfig = SyncConfig()
    # Sections owned by other features; validated by their own models where they are used.
    letters: dict[str, Any] = Field(default_factory=dict)
    m365: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_projects(self) -> CorporationFile:
        codes = [p.code for p in self.projects]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"project code(s) used twice: {', '.join(duplicates)}")
        return self

    def domain_corporation(self) -> Corporation:
        return Corporation(code=self.corporation.code, name=self.corporation.name)

    def domain_projects(self) -> list[Project]:
        return [
            Project(p.code, p.name, self.corporation.code, p.kind, tuple(p.complexes))
            for p in self.projects
        ]

    def complexes(self) -> list[str]:
        """Every complex in scope of any project, in config order, without repeats."""
        return list(dict.fromkeys(c for p in self.projects for c in p.complexes))


def format_validation_error(path: Path, error: ValidationError) -> str:
    lines = [f"{path}: {error.error_count()} problem(s)"]
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  - {where}: {message}")
    return "\n".join(lines)


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def load_config(path: str | Path) -> CorporationFile:
    """Load and validate one corporation file; relative spreadsheet paths resolve next to it."""
    path = Path(path)
    data = load_yaml(path)
    try:
        config = CorporationFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None
    if config.source.spreadsheet and not Path(config.source.spreadsheet.path).is_absolute():
        sheet = config.source.spreadsheet.model_copy(
            update={"path": str((path.parent / config.source.spreadsheet.path).resolve())}
        )
        source = config.source.model_copy(update={"spreadsheet": sheet})
        config = config.model_copy(update={"source": source})
    return config
