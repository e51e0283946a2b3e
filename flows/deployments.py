"""Deployments with schedules, served by the long-running ``keukentafel-worker`` process.

``python -m flows.deployments`` registers, per corporation file in the config folder, the register
sync (every morning at 06:00 Europe/Amsterdam: the register must be current when the team starts),
the team-list pull (06:30) and the outbox dispatcher (every 10 minutes in the daytime), and then
serves them: it polls the Prefect server and runs what is due. Run it against a real Prefect
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

from flows.mailing import dispatch_flow
from flows.sync_register import sync_register_flow
from flows.team_contacts import pull_team_contacts_flow
from keukentafel.bootstrap import load_corporation

SYNC_CRON = os.environ.get("KEUKENTAFEL_SYNC_CRON", "0 6 * * *")


TEAM_CRON = os.environ.get("KEUKENTAFEL_TEAM_CRON", "30 6 * * *")
DISPATCH_CRON = os.environ.get("KEUKENTAFEL_DISPATCH_CRON", "*/10 7-21 * * *")


def _one_at_a_time() -> ConcurrencyLimitConfig:
    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def deployments(config_dir: Path) -> list[object]:
    """Per corporation: the register sync; the team-list pull and the outbox dispatcher when
    Microsoft 365 is configured. Each runs at most once at a time."""
    result: list[object] = []
    for path in sorted(config_dir.glob("*.yaml")):
        config = load_corporation(path)
        code = config.corporation.code
        params = {"config_path": str(path)}
        result.append(
            sync_register_flow.to_deployment(
                name=f"sync-register-{code.lower()}",
                parameters=params,
                schedule=Cron(SYNC_CRON, timezone="Europe/Amsterdam"),
                concurrency_limit=_one_at_a_time(),
                tags=["register", code],
            )
        )
        m365 = config.m365
        if m365.get("contact_list") or m365.get("contact_workbook"):
            result.append(
                pull_team_contacts_flow.to_deployment(
                    name=f"pull-team-contacts-{code.lower()}",
                    parameters=params,
                    schedule=Cron(TEAM_CRON, timezone="Europe/Amsterdam"),
                    concurrency_limit=_one_at_a_time(),
                    tags=["team-contacts", code],
                )
            )
        if m365.get("mailbox"):
            # Delivers what a mailing left in the outbox and resolves in-doubt messages.
            result.append(
                dispatch_flow.to_deployment(
                    name=f"dispatch-outbox-{code.lower()}",
                    parameters=params,
                    schedule=Cron(DISPATCH_CRON, timezone="Europe/Amsterdam"),
                    concurrency_limit=_one_at_a_time(),
                    tags=["outbox", code],
                )
            )
    return result


def main() -> None:
    config_dir = Path(os.environ.get("KEUKENTAFEL_CONFIG_DIR", "config/corporations"))
    serve(*deployments(config_dir))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
