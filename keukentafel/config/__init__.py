"""Configuration: corporation files in YAML, validated by pydantic on load.

One base model for every section (``base``), one module per section: ``corporation`` (the whole
file), ``vera`` and ``spreadsheet`` (the register's source), ``letters``, ``m365``, and
``mailing_content`` (the content file of one mailing; import it from its module, it needs the
letters package). Connectors import their configuration from here, never the reverse.

The names below are imported from their modules when first used (PEP 562), not all at once:
the VERA relations worker (connectors/erp/vera/worker.py), a second Python started by every
large sync, needs ``base`` and ``vera`` only, and the whole corporation file (with the consent
rules it checks) took about a third of that process's start before it read a page.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keukentafel.config.base import (
        ConfigError,
        EnvName,
        format_validation_error,
        load_yaml,
    )
    from keukentafel.config.corporation import (
        CorporationConfig,
        CorporationFile,
        ProjectConfig,
        SourceConfig,
        SyncConfig,
        load_config,
        load_corporation,
    )
    from keukentafel.config.letters import LettersConfig
    from keukentafel.config.m365 import M365Config
    from keukentafel.config.spreadsheet import SpreadsheetConfig
    from keukentafel.config.vera import VeraAuthConfig, VeraConfig

#: Each public name and the module that defines it.
_MODULES = {
    "ConfigError": "base",
    "EnvName": "base",
    "format_validation_error": "base",
    "load_yaml": "base",
    "CorporationConfig": "corporation",
    "CorporationFile": "corporation",
    "ProjectConfig": "corporation",
    "SourceConfig": "corporation",
    "SyncConfig": "corporation",
    "load_config": "corporation",
    "load_corporation": "corporation",
    "LettersConfig": "letters",
    "M365Config": "m365",
    "SpreadsheetConfig": "spreadsheet",
    "VeraAuthConfig": "vera",
    "VeraConfig": "vera",
}

__all__ = [
    "ConfigError",
    "CorporationConfig",
    "CorporationFile",
    "EnvName",
    "LettersConfig",
    "M365Config",
    "ProjectConfig",
    "SourceConfig",
    "SpreadsheetConfig",
    "SyncConfig",
    "VeraAuthConfig",
    "VeraConfig",
    "format_validation_error",
    "load_config",
    "load_corporation",
    "load_yaml",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (then kept in this module)."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULES})
