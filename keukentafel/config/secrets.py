"""The secrets a corporation file names (``*_env`` keys), and which of them are not set.

A file never holds a secret: it names the environment variable that does. This walks a loaded
file for every such name, so the command line and ``keukentafel doctor`` can say which ones are
missing before anything starts, by key path and variable name, never a value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel


def named_secrets(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(key path, variable name) of every ``*_env`` key (and each name in a ``*_envs`` list)
    set in ``model`` and its sections."""
    for name in type(model).model_fields:
        value: Any = getattr(model, name)
        path = f"{prefix}{name}"
        if name.endswith("_env") and isinstance(value, str) and value:
            yield path, value
        elif name.endswith("_envs") and isinstance(value, list | tuple):
            yield from ((f"{path}.{i}", v) for i, v in enumerate(value) if v)
        else:
            yield from _within(value, path)


def _within(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """The named secrets in a section, or in each section of a list or mapping of them."""
    if isinstance(value, BaseModel):
        yield from named_secrets(value, f"{path}.")
    elif isinstance(value, list | tuple):
        items: Iterator[tuple[Any, Any]] = iter(enumerate(value))
        for key, item in items:
            yield from _within(item, f"{path}.{key}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _within(item, f"{path}.{key}")


def missing_secrets(
    model: BaseModel, environ: Mapping[str, str], *sections: str
) -> list[tuple[str, str]]:
    """The named secrets (of the given top-level ``sections``; all when none) that are unset."""
    return [
        (path, variable)
        for path, variable in named_secrets(model)
        if (not sections or path.split(".", 1)[0] in sections) and not environ.get(variable)
    ]


def describe_missing(missing: list[tuple[str, str]]) -> str:
    """One line: ``secret not set: VAR (source.vera.auth.api_key_env), ...``."""
    listed = ", ".join(f"{variable} ({path})" for path, variable in missing)
    return f"secret(s) not set in the environment: {listed}"
