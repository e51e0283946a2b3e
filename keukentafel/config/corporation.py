"""One corporation file (``config/corporations/<code>.yaml``), validated whole when it is loaded.

A file describes one corporation: where its register comes from, its projects and their
complexes, how the sync guards the register, and the optional ``letters`` (branding, envelope,
links) and ``m365`` (tenant, mailbox, team lists) sections. Every section is typed, so a mistake
anywhere in the file is reported when the file is loaded, with the key path
(``letters.branding.colour``), and not halfway through a mailing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from keukentafel.config.base import ConfigError, _Model, format_validation_error, load_yaml
from keukentafel.config.feeds import FeedsConfig
from keukentafel.config.letters import LettersConfig
from keukentafel.config.m365 import M365Config
from keukentafel.config.spreadsheet import SpreadsheetConfig
from keukentafel.config.vera import VeraConfig
from keukentafel.domain.model import Project, ProjectKind


class CorporationConfig(_Model):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1)


class ProjectConfig(_Model):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1)
    kind: ProjectKind
    complexes: list[str] = Field(min_length=1)


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
    """The whole of one corporation file."""

    corporation: CorporationConfig
    source: SourceConfig
    projects: list[ProjectConfig] = Field(min_length=1)
    sync: SyncConfig = SyncConfig()
    letters: LettersConfig | None = None  # needed for letters, previews and mailings
    m365: M365Config | None = None  # needed for team lists and e-mail through a shared mailbox
    feeds: FeedsConfig | None = None  # contractors' feeds and writes back to the ERP (issue 15)

    @model_validator(mode="after")
    def _unique_projects(self) -> CorporationFile:
        codes = [p.code for p in self.projects]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"project code(s) used twice: {', '.join(duplicates)}")
        return self

    @model_validator(mode="after")
    def _feeds_match(self) -> CorporationFile:
        if self.feeds is not None:
            self.feeds.check_against({p.code for p in self.projects}, self.source.vera is not None)
        return self

    @property
    def code(self) -> str:
        return self.corporation.code

    def domain_projects(self) -> list[Project]:
        return [
            Project(p.code, p.name, self.corporation.code, p.kind, tuple(p.complexes))
            for p in self.projects
        ]

    def project(self, code: str) -> Project:
        """The project with this code, or a ConfigError that lists the known codes."""
        for project in self.domain_projects():
            if project.code == code:
                return project
        known = ", ".join(p.code for p in self.projects)
        raise ConfigError(f"no project {code!r} in this corporation file (known: {known})")

    def complexes(self) -> list[str]:
        """Every complex in scope of any project, in config order, without repeats."""
        return list(dict.fromkeys(c for p in self.projects for c in p.complexes))

    def require_letters(self) -> LettersConfig:
        if self.letters is None:
            raise ConfigError(f"{self.code}: the 'letters' section is missing")
        return self.letters

    def require_m365(self) -> M365Config:
        if self.m365 is None:
            raise ConfigError(f"{self.code}: the 'm365' section is missing")
        return self.m365


def load_config(path: str | Path) -> CorporationFile:
    """Load and validate one corporation file, every section of it.

    Relative paths in it (the spreadsheet, the letters' logo and templates folder) resolve next to
    the file, so the file means the same whatever the working directory.
    """
    path = Path(path)
    data = load_yaml(path)
    try:
        config = CorporationFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None
    return _resolve_paths(config, path.resolve().parent)


#: The name the composition root and the entry points use; every section is validated on load.
load_corporation = load_config


def _resolve_paths(config: CorporationFile, base: Path) -> CorporationFile:
    updates: dict[str, object] = {}
    sheet = config.source.spreadsheet
    if sheet and not Path(sheet.path).is_absolute():
        resolved = sheet.model_copy(update={"path": str((base / sheet.path).resolve())})
        updates["source"] = config.source.model_copy(update={"spreadsheet": resolved})
    letters = config.letters
    if letters is not None:
        changed: dict[str, object] = {}
        if letters.branding.logo_path and not Path(letters.branding.logo_path).is_absolute():
            changed["branding"] = letters.branding.model_copy(
                update={"logo_path": str(base / letters.branding.logo_path)}
            )
        if letters.templates_dir and not Path(letters.templates_dir).is_absolute():
            changed["templates_dir"] = str(base / letters.templates_dir)
        if changed:
            updates["letters"] = letters.model_copy(update=changed)
    return config.model_copy(update=updates) if updates else config
