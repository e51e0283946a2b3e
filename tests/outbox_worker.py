"""A separate process that dispatches the outbox through the shared mailbox (for kill -9 tests).

python -m tests.outbox_worker DATABASE_URL M365_CONFIG_JSON CORPORATION
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

from connectors.m365.adapters import GraphConnection, GraphMailTransport
from keukentafel.bootstrap import open_store
from keukentafel.config.m365 import M365Config
from keukentafel.usecases.outbox import dispatch


def main() -> None:
    database_url, config_json, corporation = sys.argv[1:4]
    graph = GraphConnection(M365Config.model_validate_json(config_json), os.environ)
    # Right after a kill the in-doubt message is ours alone: reconcile it at once.
    report = dispatch(
        open_store(database_url),
        corporation,
        GraphMailTransport(graph),
        in_doubt_after=timedelta(0),
    )
    print(
        f"sent={report.sent} reconciled={report.reconciled} retried_later={report.retried_later} "
        f"failed={report.failed}",
        flush=True,
    )


if __name__ == "__main__":
    main()
