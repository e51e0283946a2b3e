"""What the web application lets into its logs: no tokens, codes, query strings or addresses.

uvicorn's access log line is ``<client> - "<method> <path?query> HTTP/x" <status>``. The
:class:`AccessLogFilter` rewrites it before it is written: the client address becomes ``-``, the
query string is dropped (a sign-in's code and state), and the last segment of a personal link's
path (its token) becomes ``[link]``. Names and e-mail addresses are never logged by this package:
operator messages name unit codes and Entra object ids only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any


def redact_path(path: str, link_prefixes: Iterable[str]) -> str:
    """The path without its query, and a personal link's token replaced by ``[link]``."""
    bare = path.split("?", 1)[0]
    for prefix in link_prefixes:
        if bare.startswith(prefix.rstrip("/") + "/") and bare != prefix:
            return prefix.rstrip("/") + "/[link]"
    return bare


class AccessLogFilter(logging.Filter):
    """Rewrites uvicorn's access records (see the module docstring); lets other records pass."""

    def __init__(self, link_prefixes: Iterable[str]) -> None:
        super().__init__()
        self.link_prefixes = tuple(link_prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple) and len(args) == 5:
            _client, method, path, version, status = args
            record.args = ("-", method, redact_path(str(path), self.link_prefixes), version, status)
        return True


def install_access_filter(link_prefixes: Iterable[str]) -> AccessLogFilter:
    """Put the filter on uvicorn's access logger (idempotent per process)."""
    logger = logging.getLogger("uvicorn.access")
    for existing in list(logger.filters):
        if isinstance(existing, AccessLogFilter):
            logger.removeFilter(existing)
    found = AccessLogFilter(link_prefixes)
    logger.addFilter(found)
    return found
