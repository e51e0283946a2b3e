"""One corporation file (``config/corporations/<code>.yaml``), validated whole when it is loaded.

A file describes one corporation: where its register comes from, its projects and their
complexes, how the sync guards the register, and the optional ``letters`` (branding, envelope,
links) and ``m365`` (tenant, mailbox, team lists) sections. Every section is typed, so a mistake
anywhere in the file is reported when the file is loaded, with the key path
(``letters.branding.colour``), and not halfway through a mailing.

Each project may say when it ended (``end_date``) and how many months after that its residents'
personal data is kept (``retention_months``, default 24; keukentafel/domain/retention.py). Once
that has passed, the purge removes the data and the sync no longer reads the project's complexes.
A renovation project's ``consent`` section is its legal profile under art. 7:220 BW (threshold,
denominator with its legal basis, minimum homes, whole or per package, the packages): it is read by
the consent domain's own ``parse_profile``, so the file and the case files of the legal team mean
the same, and its errors carry the key path inside the section
(``projects.0.consent.packages.1.code``). A demolition project has no consent track at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.functional_serializers import PlainSerializer
from pydantic.functional_validators import PlainValidator
from pydantic_core import InitErrorDetails, PydanticCustomError

from keukentafel.config.base import ConfigError, _Model, format_validation_error, load_yaml
from keukentafel.config.feeds import FeedsConfig
from keukentafel.config.letters import LettersConfig
from keukentafel.config.m365 import M365Config
from keukentafel.config.spreadsheet import SpreadsheetConfig
from keukentafel.config.vera import VeraConfig
from keukentafel.config.web import WebConfig
from keukentafel.domain.consent import (
    ConsentProfile,
    NoConsentTrack,
    ProfileError,
    parse_profile,
    require_consent_track,
)
from keukentafel.domain.model import Project, ProjectKind, amsterdam_date
from keukentafel.domain.retention import (
    DEFAULT_RETENTION_MONTHS,
    ProjectRetention,
    kept_complexes,
)

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _profile_error(error: ProfileError, value: object) -> ValidationError:
    """A ProfileError as a validation error at its key inside the section, so the file's
    message reads ``projects.0.consent.packages.1.code: ...`` like every other key."""
    loc: list[str | int] = []
    for name, index in _PART.findall(error.field):
        loc.append(int(index) if index else name)
    detail = error.detail.replace("{", "{{").replace("}", "}}")
    return ValidationError.from_exception_data(
        "consent",
        [
            InitErrorDetails(
                type=PydanticCustomError("consent_profile", detail),
                loc=tuple(loc),
                input=value,
            )
        ],
    )


def _consent_profile(value: object) -> ConsentProfile | None:
    if value is None or isinstance(value, ConsentProfile):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(
            "must be a mapping with legal_basis (required), threshold, denominator, min_homes, "
            "consent and packages"
        )
    try:
        return parse_profile(value)
    except ProfileError as error:
        raise _profile_error(error, value) from None


def _consent_mapping(profile: ConsentProfile | None) -> dict[str, object] | None:
    """The profile as the file writes it (``parse_profile`` reads it back to the same)."""
    if profile is None:
        return None
    threshold = profile.threshold
    return {
        "threshold": f"{threshold.numerator}/{threshold.denominator}",
        "denominator": profile.denominator.value,
        "legal_basis": profile.legal_basis,
        "min_homes": profile.min_homes,
        "consent": profile.mode.value,
        "packages": [
            {"code": p.code, "kind": p.kind.value, "title": p.title} for p in profile.packages
        ],
    }


#: The ``consent`` section, read by the domain's parser (keukentafel.domain.consent.profile).
ConsentSection = Annotated[
    ConsentProfile | None,
    PlainValidator(_consent_profile),
    PlainSerializer(_consent_mapping),
]


class CorporationConfig(_Model):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1)


class ProjectConfig(_Model):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1)
    kind: ProjectKind
    complexes: list[str] = Field(min_length=1)
    # The project's end (the last handover); without it the project runs and keeps its data.
    end_date: date | None = None
    # Months after end_date that residents' personal data is kept; then the purge removes it.
    retention_months: int = Field(default=DEFAULT_RETENTION_MONTHS, ge=0, le=120)

    @property
    def retention(self) -> ProjectRetention:
        return ProjectRetention(
            self.code, tuple(self.complexes), self.end_date, self.retention_months
        )

    consent: ConsentSection = None  # the art. 7:220 legal profile of a renovation project

    @field_validator("consent")
    @classmethod
    def _consent_track(cls, value: ConsentProfile | None, info: ValidationInfo) -> Any:
        kind = info.data.get("kind")
        if value is not None and isinstance(kind, ProjectKind):
            try:
                require_consent_track(kind)
            except NoConsentTrack as error:
                raise ValueError(f"{error}; remove the consent section") from None
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
    """The whole of one corporation file."""

    corporation: CorporationConfig
    source: SourceConfig
    projects: list[ProjectConfig] = Field(min_length=1)
    sync: SyncConfig = SyncConfig()
    letters: LettersConfig | None = None  # needed for letters, previews and mailings
    m365: M365Config | None = None  # needed for team lists and e-mail through a shared mailbox
    web: WebConfig | None = None  # the resident's page and the staff page (keukentafel web)
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

    def consent_profile(self, project_code: str) -> ConsentProfile:
        """The project's consent profile, or a ConfigError that says what to add."""
        self.project(project_code)  # an unknown project is its own error
        for index, project in enumerate(self.projects):
            if project.code == project_code:
                if project.consent is None:
                    raise ConfigError(
                        f"{self.code}: project {project_code} has no consent profile: add "
                        f"projects.{index}.consent (legal_basis, threshold, denominator, "
                        "min_homes, consent, packages; see docs/consent.md)"
                    )
                return project.consent
        raise AssertionError("unreachable: project() found it")

    def consent_projects(self) -> list[tuple[Project, ConsentProfile]]:
        """Every project with a consent profile, in file order."""
        profiles = {p.code: p.consent for p in self.projects}
        return [
            (project, profile)
            for project in self.domain_projects()
            if (profile := profiles[project.code]) is not None
        ]

    def project(self, code: str) -> Project:
        """The project with this code, or a ConfigError that lists the known codes."""
        for project in self.domain_projects():
            if project.code == code:
                return project
        known = ", ".join(p.code for p in self.projects)
        raise ConfigError(f"no project {code!r} in this corporation file (known: {known})")

    def complexes(self, on: date | None = None) -> list[str]:
        """Every complex in scope of a project that keeps its residents' data on ``on`` (today
        in Amsterdam when not given, as the purge counts days), in config order, without
        repeats: what the sync and the team-list pull read. A project whose retention has passed
        is left out, so its data is not read back in after the purge; a complex it shares with a
        project that keeps its data stays."""
        return kept_complexes(self.retention(), on or amsterdam_date(datetime.now(UTC)))

    def retention(self) -> list[ProjectRetention]:
        """Every project's complexes, end date and retention period, in config order."""
        return [p.retention for p in self.projects]

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
