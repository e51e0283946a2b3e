"""A separate process that delivers the webhook outbox to a contractor (for kill -9 tests).

python -m tests.webhook_worker DATABASE_URL CONTRACTOR_CONFIG_JSON CORPORATION

The contractor's webhook secret is read from the variable its configuration names.
"""

from __future__ import annotations

import os
import sys

from keukentafel.bootstrap import open_store
from keukentafel.config.feeds import ContractorConfig
from keukentafel.feeds.sender import WebhookSender
from keukentafel.usecases.feeds import deliver_webhooks


def main() -> None:
    database_url, config_json, corporation = sys.argv[1:4]
    config = ContractorConfig.model_validate_json(config_json)
    sender = WebhookSender([config], os.environ)
    report = deliver_webhooks(open_store(database_url), corporation, [config.code], sender)
    print(
        f"delivered={sum(report.delivered.values())} retrying={sum(report.retrying.values())} "
        f"failed={sum(report.failed.values())}",
        flush=True,
    )


if __name__ == "__main__":
    main()
