"""Process settings from the environment, read in exactly this one place.

| variable | default | meaning |
|---|---|---|
| KEUKENTAFEL_DATABASE_URL | sqlite:///<data dir>/keukentafel.db | the store (PostgreSQL: postgresql+psycopg://...) |
| KEUKENTAFEL_DATA_DIR | ./data | local state: the SQLite store, delta links, watermarks |
| KEUKENTAFEL_OUTPUT_DIR | ./out | generated letters, print batches, e-mails |
| KEUKENTAFEL_CONFIG | config/demo.yaml | the corporation file used when a command gets none |
| KEUKENTAFEL_CONFIG_DIR | config/corporations | one file per corporation: the worker's deployments |
| KEUKENTAFEL_SYNC_CRON | 0 6 * * * | when the register sync runs (Europe/Amsterdam) |
| KEUKENTAFEL_TEAM_CRON | 30 6 * * * | when the team-list pull runs |
| KEUKENTAFEL_DISPATCH_CRON | */10 7-21 * * * | when the outbox dispatcher runs |
| KEUKENTAFEL_CONSENT_CRON | 0 7 * * * | when the daily consent tally is published |
| PREFECT_API_URL | (none) | a Prefect server: commands run their flows there (tracked, tagged, named); without one they run the same jobs without Prefect |

Secrets (API keys, client secrets, the link-signing key) are not settings: the corporation file
names the environment variable that holds each one. ``Settings.environ`` is a read-only snapshot of
the environment taken here; the composition root hands it to the adapters, which look the named
variables up in it when they need them. No other module reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

DEFAULT_SYNC_CRON = "0 6 * * *"
DEFAULT_TEAM_CRON = "30 6 * * *"
DEFAULT_DISPATCH_CRON = "*/10 7-21 * * *"
DEFAULT_CONSENT_CRON = "0 7 * * *"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    data_dir: Path
    output_dir: Path
    config_path: Path
    config_dir: Path = Path("config/corporations")
    sync_cron: str = DEFAULT_SYNC_CRON
    team_cron: str = DEFAULT_TEAM_CRON
    dispatch_cron: str = DEFAULT_DISPATCH_CRON
    consent_cron: str = DEFAULT_CONSENT_CRON
    # The Prefect server the commands run their flows on; None: they run without Prefect.
    prefect_api_url: str | None = None
    # Where the adapters find the secrets that corporation files name (``*_env`` keys).
    environ: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)

    def __repr__(self) -> str:
        # Never the environment (every secret of the process) nor the store's password.
        return (
            f"Settings(database_url={_without_password(self.database_url)!r}, "
            f"data_dir={str(self.data_dir)!r}, output_dir={str(self.output_dir)!r}, "
            f"config_path={str(self.config_path)!r}, config_dir={str(self.config_dir)!r})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``env`` (default: this process's environment), with its snapshot."""
        snapshot = MappingProxyType(dict(os.environ if env is None else env))
        data_dir = Path(snapshot.get("KEUKENTAFEL_DATA_DIR", "data")).resolve()
        return cls(
            database_url=snapshot.get("KEUKENTAFEL_DATABASE_URL")
            or f"sqlite:///{data_dir / 'keukentafel.db'}",
            data_dir=data_dir,
            output_dir=Path(snapshot.get("KEUKENTAFEL_OUTPUT_DIR", "out")).resolve(),
            config_path=Path(snapshot.get("KEUKENTAFEL_CONFIG", "config/demo.yaml")),
            config_dir=Path(snapshot.get("KEUKENTAFEL_CONFIG_DIR", "config/corporations")),
            sync_cron=snapshot.get("KEUKENTAFEL_SYNC_CRON", DEFAULT_SYNC_CRON),
            team_cron=snapshot.get("KEUKENTAFEL_TEAM_CRON", DEFAULT_TEAM_CRON),
            dispatch_cron=snapshot.get("KEUKENTAFEL_DISPATCH_CRON", DEFAULT_DISPATCH_CRON),
            consent_cron=snapshot.get("KEUKENTAFEL_CONSENT_CRON", DEFAULT_CONSENT_CRON),
            prefect_api_url=snapshot.get("PREFECT_API_URL") or None,
            environ=snapshot,
        )


def _without_password(url: str) -> str:
    """A database URL with its password, if any, as ``***``."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def quiet_prefect_defaults(prefect_home: Path | None = None, *, verbose: bool = True) -> None:
    """No telemetry from the bundled Prefect server: this software runs without internet.

    With ``prefect_home`` (the demo) Prefect's ephemeral database goes there and its own log lines
    are kept to warnings. Without ``verbose`` (the command line without ``--verbose``) Prefect's
    own lines stay off the console; they still reach the Prefect server. Prefect reads its
    settings from the process environment when it is first imported, so this is called before
    any flow module is imported; an operator's own values win.
    """
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if prefect_home is not None:
        os.environ.setdefault("PREFECT_HOME", str(prefect_home))
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
