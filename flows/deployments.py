"""Deployments with schedules, served by the long-running ``keukentafel-worker`` process.

``python -m flows.deployments`` registers one deployment per corporation file in the config folder
(every morning at 06:00 Europe/Amsterdam: the register must be current when the team starts) and
then serves them: it polls the Prefect server and runs what is due. Run it against a real Prefect
server (docker-compose.yml), not in ephemeral mode.

A corporation's sync never runs twice at once (concurrency limit 1): two syncs of one register
would each see the other's half-applied state as a change.
"""

from __future__ import annotations

import os
from pathlib import Path

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.schedules import Cron

from flows.sync_register import sync_register_flow
from keukentafel.config import load_config

SYNC_CRON = os.environ.get("KEUKENTAFEL_SYNC_CRON", "0 6 * * *")


def deployments(config_dir: Path) -> list[object]:
    result: list[object] = []
    for path in sorted(config_dir.glob("*.yaml")):
        corporation = load_config(path).corporation.code
        result.append(
            sync_register_flow.to_deployment(
                name=f"sync-register-{corporation.lower()}",
                parameters={"config_path": str(path)},
                schedule=Cron(SYNC_CRON, timezone="Europe/Amsterdam"),
                concurrency_limit=ConcurrencyLimitConfig(
                    limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
                ),
                tags=["register", corporation],
            )
        )
    return result


def main() -> None:
    config_dir = Path(os.environ.get("KEUKENTAFEL_CONFIG_DIR", "config/corporations"))
    serve(*deployments(config_dir))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
