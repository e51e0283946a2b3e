"""Process settings from the environment, read in exactly this one place.

| variable | default | meaning |
|---|---|---|
| KEUKENTAFEL_DATABASE_URL | sqlite:///<data dir>/keukentafel.db | the store (PostgreSQL: postgresql+psycopg://...) |
| KEUKENTAFEL_DATA_DIR | ./data | local state: the SQLite store, delta links, watermarks |
| KEUKENTAFEL_OUTPUT_DIR | ./out | generated letters, print batches, e-mails |
| KEUKENTAFEL_CONFIG | config/demo.yaml | the corporation file used when a command gets none |

Secrets (API keys, client secrets, the link-signing key) are not settings: the corporation file
names the environment variable that holds each one, and it is read when it is needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    data_dir: Path
    output_dir: Path
    config_path: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("KEUKENTAFEL_DATA_DIR", "data")).resolve()
        return cls(
            database_url=env.get("KEUKENTAFEL_DATABASE_URL")
            or f"sqlite:///{data_dir / 'keukentafel.db'}",
            data_dir=data_dir,
            output_dir=Path(env.get("KEUKENTAFEL_OUTPUT_DIR", "out")).resolve(),
            config_path=Path(env.get("KEUKENTAFEL_CONFIG", "config/demo.yaml")),
        )


def quiet_prefect_defaults() -> None:
    """No telemetry from the bundled Prefect server: this software runs without internet."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
