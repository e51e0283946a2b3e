"""Deployments with schedules, served by the long-running ``keukentafel-worker`` process.

``python -m flows.deployments`` registers, per corporation file in the config folder
(``KEUKENTAFEL_CONFIG_DIR``), the register sync (every morning at 06:00 Europe/Amsterdam: the
register must be current when the team starts), the purge of personal data whose retention has
passed (05:30, before the sync; flows/privacy.py), the team-list pull (06:30), the outbox
dispatcher (every 10 minutes in the daytime) and, for a corporation with consent projects, the
consent tally (07:00), and then serves them: it polls the Prefect server and
runs what is due. Run it against a real Prefect server (docker-compose.yml), not in ephemeral mode.
The times come from the settings (``KEUKENTAFEL_*_CRON``); nothing is read when this module is
imported.

A corporation's sync never runs twice at once (concurrency limit 1): two syncs of one register
would each see the other's half-applied state as a change. A corporation file that is invalid gets
no deployments and is reported on stderr; the other corporations are served as usual.
"""

from __future__ import annotations

import logging
from typing import Any

from prefect import Flow, serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.consent import consent_tally_flow
from flows.feeds import FEEDS_CRON, feeds_flow
from flows.mailing import dispatch_flow
from flows.privacy import PURGE_CRON, purge_personal_data_flow
from flows.replies import REPLIES_CRON, pull_replies_flow
from flows.sync_register import sync_register_flow
from flows.team_contacts import pull_team_contacts_flow
from keukentafel.bootstrap import CorporationRegistry
from keukentafel.settings import Settings

log = logging.getLogger(__name__)
TIMEZONE = "Europe/Amsterdam"


def _scheduled(flow: Flow[..., Any], name: str, code: str, cron: str, tag: str) -> RunnerDeployment:
    """One corporation's deployment of a flow: on a cron in Amsterdam time, one run at a time."""
    deployment = flow.to_deployment(
        name=f"{name}-{code.lower()}",
        parameters={"corporation": code},
        schedule=Cron(cron, timezone=TIMEZONE),
        concurrency_limit=ConcurrencyLimitConfig(
            limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
        ),
        tags=[tag, code],
    )
    assert isinstance(deployment, RunnerDeployment)  # called outside an event loop: not awaitable
    return deployment


def deployments(
    settings: Settings, corporations: CorporationRegistry | None = None
) -> list[RunnerDeployment]:
    """Per corporation: the register sync; the team-list pull and the outbox dispatcher when
    Microsoft 365 is configured. Each runs at most once at a time; flows get the corporation code."""
    if corporations is None:
        corporations = CorporationRegistry.from_dir(settings.config_dir)
    for entry in corporations.invalid():
        log.error("%s: no deployments for this corporation file:\n%s", entry.path, entry.error)
    result: list[RunnerDeployment] = []
    for code in corporations.codes():
        m365 = corporations.get(code).m365
        result.append(
            _scheduled(sync_register_flow, "sync-register", code, settings.sync_cron, "register")
        )
        result.append(
            _scheduled(purge_personal_data_flow, "purge-personal-data", code, PURGE_CRON, "privacy")
        )
        if m365 and (m365.contact_list or m365.contact_workbook):
            result.append(
                _scheduled(
                    pull_team_contacts_flow,
                    "pull-team-contacts",
                    code,
                    settings.team_cron,
                    "team-contacts",
                )
            )
        if corporations.get(code).consent_projects():
            result.append(
                _scheduled(
                    consent_tally_flow, "consent-tally", code, settings.consent_cron, "consent"
                )
            )
        if m365 and m365.mailbox:
            # Delivers what a mailing left in the outbox and resolves in-doubt messages.
            result.append(
                _scheduled(dispatch_flow, "dispatch-outbox", code, settings.dispatch_cron, "outbox")
            )
            result.append(
                _scheduled(pull_replies_flow, "pull-replies", code, REPLIES_CRON, "replies")
            )
        if corporations.get(code).feeds:  # appointments followed up, contractors' feeds delivered
            result.append(_scheduled(feeds_flow, "contractor-feeds", code, FEEDS_CRON, "feeds"))
    return result


def main() -> None:
    """Serve every corporation's deployments. Prefect starts each flow run in a fresh process,
    which builds its own App from the same environment (keukentafel.bootstrap.current_app)."""
    serve(*deployments(Settings.from_env()))


if __name__ == "__main__":
    main()
