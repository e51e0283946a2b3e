"""Operations commands: ``keukentafel deploy`` and ``keukentafel alerts apply``.

Both talk to the Prefect server named by ``PREFECT_API_URL`` (never to a temporary one: what
they register must outlive the command). ``deploy`` registers every corporation's deployments on
the ``keukentafel`` work pool (flows/deployments.py); ``alerts apply`` creates or updates the
automations defined in flows/alerts.py. Each registered in keukentafel/cli/app.py with one line.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from keukentafel.cli import present
from keukentafel.settings import Settings

# flows/alerts.py names it; repeated so the command line starts without importing Prefect
ALERT_WEBHOOK_ENV = "KEUKENTAFEL_ALERT_WEBHOOK_URL"
alerts_app = typer.Typer(help="Prefect automations that tell operations when something is wrong.")


def _fail(message: str) -> NoReturn:
    from keukentafel.cli.app import _fail as fail  # at most three lines, exit code 2

    fail(message)


def _settings() -> Settings:
    from keukentafel.cli.app import _settings as settings  # honours `keukentafel --verbose`

    return settings()


def _server() -> str:
    """The Prefect API this command registers on; a missing one ends the command."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        _fail(
            "PREFECT_API_URL is not set: deployments and alerts live on a Prefect server; "
            "set it to the server's API, e.g. http://127.0.0.1:4200/api"
        )
    return str(url)


def _unreachable(url: str, exc: Exception) -> NoReturn:
    _fail(f"the Prefect server at {url} did not answer ({type(exc).__name__}); is it running?")


def deploy(
    pool: Annotated[str, typer.Option(help="The work pool the workers poll")] = "keukentafel",
) -> None:
    """Register every corporation's deployments (schedules in Europe/Amsterdam) on the Prefect
    server's work pool, creating the pool if needed. Start workers with
    `prefect worker start --pool keukentafel`. An invalid corporation file is reported (exit
    code 1); its sync and purge still get deployments, whose runs fail with the file's error."""
    settings = _settings()
    url = _server()
    import httpx

    from flows.deployments import plan, register

    found = plan(settings, log_invalid=False)  # reported below, once
    try:
        done = register(found, pool)
    except (httpx.HTTPError, OSError) as exc:
        _unreachable(url, exc)
    out = present.console()
    if done.pool_created:
        out.print(f"work pool {pool} created (process)", highlight=False)
    for deployment in found.deployments:
        when = deployment.schedules[0].schedule.cron if deployment.schedules else "by hand"  # type: ignore[union-attr]
        out.print(f"deployed {deployment.name}: {when}", highlight=False)
    for deployment in found.failing:
        out.print(f"deployed {deployment.name}: its runs fail until its file is fixed")
    for name in done.removed:
        out.print(f"removed {name}: no corporation file asks for it", highlight=False)
    if found.invalid:
        for path, error in found.invalid.items():
            present.print_error(f"{path}: invalid, its runs fail until it is fixed:\n{error}")
        raise typer.Exit(1)
    out.print(f"start workers with: prefect worker start --pool {pool}", highlight=False)


@alerts_app.command("apply")
def alerts_apply(
    webhook_env: Annotated[
        str,
        typer.Option(help="Environment variable holding the webhook URL (Teams or other)"),
    ] = ALERT_WEBHOOK_ENV,
) -> None:
    """Create or update the alert automations (failed or crashed runs, a sync not completed for
    26 hours, an outbox waiting over an hour) that notify through the configured webhook."""
    settings = _settings()
    url = _server()
    webhook = settings.environ.get(webhook_env, "")
    if not webhook:
        _fail(f"{webhook_env} is not set: the alerts need a webhook URL to notify (never printed)")
    import httpx

    from flows.alerts import apply_alerts

    try:
        applied = apply_alerts(webhook)
    except (httpx.HTTPError, OSError) as exc:
        _unreachable(url, exc)
    for name in applied:
        present.console().print(f"alert {name}: applied", highlight=False)
