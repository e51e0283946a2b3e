"""Relations paged (and their JSON parsed) in a second process: the fetch floor's half of what
the sync's second process does (connectors/erp/vera/worker.py), for :func:`bench.fetch.
fetch_only`. Reads the VERA configuration as JSON on stdin; the API key comes from the inherited
environment; prints the item count."""

from __future__ import annotations

import gc
import os
import sys

from connectors.erp.vera.client import RELATIONS, VeraClient
from keukentafel.config import VeraConfig


def main() -> None:
    gc.disable()  # as the sync's worker
    config = VeraConfig.model_validate_json(sys.stdin.buffer.read())
    with VeraClient(config, env=os.environ) as client:
        print(sum(len(page) for page in client.pages(RELATIONS, {}, read_ahead=True)))


if __name__ == "__main__":
    main()
