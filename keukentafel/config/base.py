"""What every configuration model shares: the strict base model, secret names, errors, YAML.

A configuration file never holds a secret: a secret is named by the environment variable that
holds it (``*_env`` keys, :data:`EnvName`), and the adapters look it up in the settings' snapshot
of the environment when they need it. Errors name the file, the key path and what is wrong, so an
operator can fix the file without reading a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ConfigError(Exception):
    """A configuration file that cannot be used; the message says where and why."""


class _Model(BaseModel):
    """Unknown keys are errors (a typo must not be ignored) and a loaded file never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: The name of an environment variable that holds a secret, e.g. ``VERA_API_KEY_WSD``.
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]


def format_validation_error(path: Path, error: ValidationError) -> str:
    """``<file>: N problem(s)`` and one line per problem: the key path and the reason."""
    lines = [f"{path}: {error.error_count()} problem(s)"]
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  - {where}: {message}")
    return "\n".join(lines)


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, except that a date that does not exist (``2026-02-30``) stays text,
    so validation reports it with its key instead of the loader failing without one."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def load_yaml(path: Path) -> dict[str, Any]:
    """The mapping at the top of a YAML file, or a ConfigError that names the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data
