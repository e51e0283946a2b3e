"""What every configuration model shares: the strict base model, secret names, errors, YAML.

A configuration file never holds a secret: a secret is named by the environment variable that
holds it (``*_env`` keys, :data:`EnvName`), and the adapters look it up in the settings' snapshot
of the environment when they need it. Errors name the file, the key path and what is wrong, so an
operator can fix the file without reading a traceback.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError


class ConfigError(Exception):
    """A configuration file that cannot be used; the message says where and why."""


class _Model(BaseModel):
    """Unknown keys are errors (a typo must not be ignored) and a loaded file never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: The name of an environment variable that holds a secret, e.g. ``VERA_API_KEY_WSD``.
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]


#: Hosts that may be reached over plain http: this machine (the fakes, a local tunnel).
LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as an endpoint that receives credentials, or None.

    ``https://`` with a host is required; plain ``http://`` only on loopback, where nothing
    travels over a network. The answer never repeats the URL (its query may hold a secret)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return None
    if scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return None
    return (
        "must be an https:// URL (plain http:// only on this machine: 127.0.0.1, ::1 or "
        "localhost), because credentials are sent to it"
    )


def _secure_url(value: str) -> str:
    problem = insecure_url_problem(value)
    if problem:
        raise ValueError(problem)
    return value


#: A URL that receives credentials: https, or http on loopback (see :func:`insecure_url_problem`).
SecureUrl = Annotated[str, AfterValidator(_secure_url)]


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
