"""Deployments with schedules, registered on the Prefect server and run by a work pool's workers.

``keukentafel deploy`` (keukentafel/cli/ops.py) makes sure the ``process`` work pool
``keukentafel`` exists and registers, per corporation file in the config folder
(``KEUKENTAFEL_CONFIG_DIR``), the register sync (every morning at 06:00 Europe/Amsterdam: the
register must be current when the team starts), the purge of personal data whose retention has
passed (05:30, before the sync; flows/privacy.py), the team-list pull (06:30), the outbox
dispatcher (every 10 minutes in the daytime), for a corporation with consent projects the consent
tally (07:00), the contractor feeds, and the ``mailing`` deployment (no schedule: started from the
UI with parameters, it plans, waits for approval and sends; flows/mailing_review.py). The workers
(``prefect worker start --pool keukentafel``) only run what the server schedules: a worker that
stops or restarts takes no schedule and no future run with it (a ``serve`` process would pause
every deployment when it exits).

A corporation's flow never runs twice at once (concurrency limit 1): two syncs of one register
would each see the other's half-applied state as a change. A corporation file that is invalid
still gets its sync and purge deployments, so their runs fail loudly every day with the file's
validation error (and the failure alert fires) while the other corporations run as usual;
``keukentafel deploy`` reports the file and exits non-zero.

The deployments name their flows by module path (``flows.sync_register.sync_register_flow``):
the worker imports them from the installed package, so nothing is uploaded or built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from prefect import Flow
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

from flows.consent import consent_tally_flow
from flows.feeds import FEEDS_CRON, feeds_flow
from flows.mailing import dispatch_flow
from flows.mailing_review import mailing_review_flow
from flows.naming import tags_for
from flows.privacy import PURGE_CRON, purge_personal_data_flow
from flows.replies import REPLIES_CRON, pull_replies_flow
from flows.sync_register import sync_register_flow
from flows.team_contacts import pull_team_contacts_flow
from keukentafel.bootstrap import CorporationRegistry
from keukentafel.settings import Settings

log = logging.getLogger(__name__)
TIMEZONE = "Europe/Amsterdam"
WORK_POOL = "keukentafel"
MANAGED_TAG = "keukentafel"  # every deployment `keukentafel deploy` manages carries it


def _deployment(
    flow: Flow[..., Any], name: str, code: str, kind: str, cron: str | None = None
) -> RunnerDeployment:
    """One corporation's deployment of a flow: on a cron in Amsterdam time (or started by hand),
    one run at a time, imported by module path on the worker."""
    deployment = flow.to_deployment(
        name=f"{name}-{code.lower()}",
        parameters={"corporation": code},
        schedule=Cron(cron, timezone=TIMEZONE) if cron else None,
        concurrency_limit=ConcurrencyLimitConfig(
            limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
        ),
        tags=[*tags_for(kind, code), MANAGED_TAG],
        paused=False,  # a deployment once paused by a `serve` process runs again
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    assert isinstance(deployment, RunnerDeployment)  # called outside an event loop: not awaitable
    return deployment


def _scheduled(
    flow: Flow[..., Any], name: str, code: str, cron: str, kind: str
) -> RunnerDeployment:
    """``kind`` is what runs (flows/naming.py): its tag and the code are the run's tags."""
    return _deployment(flow, name, code, kind, cron)


def _for_corporation(
    settings: Settings, corporations: CorporationRegistry, code: str
) -> list[RunnerDeployment]:
    corporation = corporations.get(code)
    m365 = corporation.m365
    result = [
        _scheduled(sync_register_flow, "sync-register", code, settings.sync_cron, "sync"),
        _scheduled(purge_personal_data_flow, "purge-personal-data", code, PURGE_CRON, "purge"),
    ]
    if m365 and (m365.contact_list or m365.contact_workbook):
        result.append(
            _scheduled(
                pull_team_contacts_flow,
                "pull-team-contacts",
                code,
                settings.team_cron,
                "team",
            )
        )
    if corporation.consent_projects():
        result.append(
            _scheduled(consent_tally_flow, "consent-tally", code, settings.consent_cron, "consent")
        )
    if m365 and m365.mailbox:
        # Delivers what a mailing left in the outbox and resolves in-doubt messages.
        result.append(
            _scheduled(dispatch_flow, "dispatch-outbox", code, settings.dispatch_cron, "dispatch")
        )
        # The shared mailbox's replies become open items for the guides (never consent).
        result.append(_scheduled(pull_replies_flow, "pull-replies", code, REPLIES_CRON, "replies"))
    if corporation.feeds:  # appointments followed up, contractors' feeds delivered
        result.append(_scheduled(feeds_flow, "contractor-feeds", code, FEEDS_CRON, "feeds"))
    if corporation.letters is not None:  # started from the UI: plan, approve, send
        result.append(_deployment(mailing_review_flow, "mailing", code, "mailing"))
    return result


def deployments(
    settings: Settings, corporations: CorporationRegistry | None = None
) -> list[RunnerDeployment]:
    """Per usable corporation: the register sync and the purge; the team-list pull, the outbox
    dispatcher, the consent tally, the feeds and the mailing deployment when configured. Each
    runs at most once at a time; flows get the corporation code. See :func:`plan` for the
    deployments of invalid files."""
    return plan(settings, corporations).deployments


@dataclass
class DeploymentPlan:
    """What ``keukentafel deploy`` registers, and the corporation files that are invalid."""

    deployments: list[RunnerDeployment] = field(default_factory=list)
    failing: list[RunnerDeployment] = field(default_factory=list)  # their runs fail loudly
    invalid: dict[str, str] = field(default_factory=dict)  # file -> validation error

    def everything(self) -> list[RunnerDeployment]:
        return [*self.deployments, *self.failing]


def plan(
    settings: Settings, corporations: CorporationRegistry | None = None, *, log_invalid: bool = True
) -> DeploymentPlan:
    """The deployments of every corporation file. An invalid file keeps its sync and purge
    deployments (in ``failing``): each run fails with the file's error until it is fixed. Its
    error is logged unless the caller reports ``invalid`` itself (``log_invalid=False``)."""
    if corporations is None:
        corporations = CorporationRegistry.from_dir(settings.config_dir)
    result = DeploymentPlan()
    failing_codes: set[str] = set()
    for entry in corporations.invalid():
        if log_invalid:
            log.error(
                "%s: this corporation's runs fail until it is fixed:\n%s", entry.path, entry.error
            )
        result.invalid[str(entry.path)] = str(entry.error)
        if entry.code in failing_codes:  # two files with one code: one pair of deployments
            continue
        failing_codes.add(entry.code)
        result.failing += [
            _scheduled(sync_register_flow, "sync-register", entry.code, settings.sync_cron, "sync"),
            _scheduled(
                purge_personal_data_flow, "purge-personal-data", entry.code, PURGE_CRON, "purge"
            ),
        ]
    for code in corporations.codes():
        result.deployments += _for_corporation(settings, corporations, code)
    return result


@dataclass
class Registered:
    """What ``register`` did on the Prefect server."""

    pool_created: bool
    applied: list[str]  # deployment names
    removed: list[str]  # managed deployments no corporation file asks for any more


def ensure_work_pool(name: str = WORK_POOL) -> bool:
    """Create the ``process`` work pool ``name`` if it is missing; True when it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return False
        except ObjectNotFound:
            template = ProcessWorker.get_default_base_job_template()
            client.create_work_pool(
                WorkPoolCreate(name=name, type="process", base_job_template=template)
            )
            return True


def register(found: DeploymentPlan, pool: str = WORK_POOL) -> Registered:
    """Make the server's deployments match the corporation files: the pool, every deployment of
    ``found`` (created or updated, schedules replaced), and managed deployments that no file
    asks for any more removed (with their scheduled runs)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags

    created = ensure_work_pool(pool)
    ids = {d.apply(work_pool_name=pool) for d in found.everything()}
    removed: list[str] = []
    with get_client(sync_client=True) as client:
        managed = client.read_deployments(
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[MANAGED_TAG]))
        )
        for stale in managed:
            if stale.id not in ids and stale.work_pool_name == pool:
                client.delete_deployment(stale.id)
                removed.append(stale.name)
    return Registered(created, [d.name for d in found.everything()], sorted(removed))
