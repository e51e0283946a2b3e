"""Flow: appointments followed up and every contractor's feed delivered, for one corporation.

The work is the ``feeds`` job (flows/jobs.py), one step at a time, never per resident or per
change: the letters and guides' calendars of every appointment change not yet followed up; each
contractor's feed refreshed (changes logged, their webhooks queued); the webhooks delivered (in
order per contractor, retried on the Standard Webhooks schedule across runs: tasks do not retry,
the outbox does); the writes back to the corporation's ERP. Safe to re-run and to resume after
``kill -9``: every step catches up from the store. The report is a table artifact with counts per
contractor (no names, no unit codes); problems end the run ``Failed`` with their count.
"""

from __future__ import annotations

from typing import Any

from flows import jobs
from flows.decorator import flow
from flows.publish import finish, named
from flows.results import FeedsSummary
from keukentafel.bootstrap import current_app

__all__ = ["FEEDS_CRON", "FeedsSummary", "feeds_flow"]

#: When the deployment runs (Europe/Amsterdam): every 15 minutes in the daytime.
FEEDS_CRON = "*/15 6-22 * * *"


@flow(name="contractor-feeds", flow_run_name=named("feeds"))
def feeds_flow(corporation: str) -> Any:
    """Follow up appointment changes, refresh and deliver every contractor's feed, write back."""
    return finish(jobs.feeds(current_app(), corporation))
