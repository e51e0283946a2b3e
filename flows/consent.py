"""Flow: the daily consent tally of every project with a consent profile (art. 7:220 BW).

``consent-tally`` takes a corporation code; the ``consent`` job (flows/jobs.py) computes each
consent project's tally at the end of the day through the App (the same use case the CLI and the
web page call), and the flow publishes two table artifacts (``consent-<code>-tally``,
``consent-<code>-units``): the counts per project and ballot, and each unit's code with its
status, notice date and last day. Never names and never party ids. It writes nothing, so it can
run as often as wanted.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flows import jobs
from flows.decorator import flow
from flows.publish import finish, named
from flows.results import ConsentTallies
from keukentafel.bootstrap import current_app

__all__ = ["ConsentTallies", "consent_tally_flow"]


@flow(name="consent-tally", flow_run_name=named("consent"))
def consent_tally_flow(corporation: str, on: date | None = None) -> Any:
    """Compute and publish the consent tally of every consent project of the corporation."""
    return finish(jobs.consent(current_app(), corporation, on=on))
