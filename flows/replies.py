"""Flow: the shared mailbox's replies become open items for the guides (usecases/replies.py).

The work is the ``replies`` job (flows/jobs.py): read and match (by our message header, else the
sender's address); its report holds counts only, never addresses, names or words of a reply, and
is published only when there were replies. Replies are keyed by their Graph message id, so a
re-run or a run after a crash adds nothing twice; consent is never changed by a reply. Scheduled
per corporation with a shared mailbox (flows/deployments.py).
"""

from __future__ import annotations

from typing import Any

from flows import jobs
from flows.decorator import flow
from flows.publish import finish, named
from keukentafel.bootstrap import current_app

REPLIES_CRON = "*/10 7-21 * * *"  # every ten minutes in office hours (Amsterdam)


@flow(name="pull-replies", flow_run_name=named("replies"))
def pull_replies_flow(corporation: str) -> Any:
    """Read the replies since the last run and make each an open item for its household."""
    return finish(jobs.replies(current_app(), corporation))
