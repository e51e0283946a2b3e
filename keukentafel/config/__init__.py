"""Configuration: corporation files in YAML, validated by pydantic on load.

One base model for every section (``base``), one module per section: ``corporation`` (the whole
file), ``vera`` and ``spreadsheet`` (the register's source), ``letters``, ``m365``, and
``mailing_content`` (the content file of one mailing; import it from its module, it needs the
letters package). Connectors import their configuration from here, never the reverse.
"""

from __future__ import annotations

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
