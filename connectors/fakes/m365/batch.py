"""Graph's JSON ``$batch`` in the fake: at most 20 sub-requests, answers shuffled, mailboxes capped.

This module owns :func:`answer_batch`. Each sub-request goes through the tenant's faults (as a
``GraphCall`` with ``in_batch``) and its routes, and is logged on its own; more than
``MAILBOX_CONCURRENCY`` sub-requests for one mailbox in one batch get 429 ``ApplicationThrottled``
(Outlook's MailboxConcurrency limit). Answers come back in random order, as Graph's do, so a
client must match them by id.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from connectors.fakes._server import Answer, Fault, LoggedRequest
from connectors.fakes.m365.faults import GraphCall
from connectors.fakes.m365.odata import graph_error

MAX_BATCH = 20
MAILBOX_CONCURRENCY = 4
GRAPH_VERSION = "/v1.0"


class BatchHost(Protocol):
    """The server, as ``$batch`` sees it."""

    mailbox_retry_after: str

    def take_faults(self, call: GraphCall) -> Sequence[Fault]: ...

    def fault_error(self, fault: Fault, call: Any) -> Answer: ...

    def route(
        self, method: str, path: str, query: str, body: bytes, headers: dict[str, str]
    ) -> Answer: ...

    def next_number(self, path: str) -> int: ...

    def log(self, entry: LoggedRequest) -> None: ...


def _mailbox_of(path: str) -> str | None:
    match = re.match(r"^/(?:users|groups)/([^/]+)", path, re.IGNORECASE)
    return unquote(match.group(1)).lower() if match else None


def _requests(body: bytes) -> list[dict[str, Any]] | Answer:
    """The sub-requests of a batch body, or the 400 answer Graph gives."""
    try:
        requests_ = json.loads(body)["requests"]
    except (ValueError, KeyError, TypeError):
        return graph_error(400, "BadRequest", "Invalid batch payload.")
    if not isinstance(requests_, list) or not requests_:
        return graph_error(400, "BadRequest", "Batch request has no requests.")
    if len(requests_) > MAX_BATCH:
        return graph_error(
            400, "BadRequest", f"Number of batch requests exceeds the limit of {MAX_BATCH}."
        )
    ids = [str(r.get("id")) for r in requests_]
    if len(set(ids)) != len(ids):
        return graph_error(400, "BadRequest", "Batch request ids must be unique.")
    return requests_


def answer_batch(host: BatchHost, body: bytes, shuffle: random.Random) -> Answer:
    """``POST /$batch``: every sub-request answered, in an order ``shuffle`` picks."""
    requests_ = _requests(body)
    if isinstance(requests_, Answer):
        return requests_
    per_mailbox: dict[str, int] = {}
    responses: list[dict[str, Any]] = []
    for sub in requests_:
        method = str(sub.get("method", "GET")).upper()
        url = str(sub.get("url", ""))
        parts = urlsplit(url if url.startswith("/") else "/" + url)
        mailbox = _mailbox_of(parts.path)
        if mailbox is not None:
            per_mailbox[mailbox] = per_mailbox.get(mailbox, 0) + 1
        full_path = GRAPH_VERSION + unquote(parts.path)
        call = GraphCall(method, parts.path, parts.query, host.next_number(full_path), True)
        fired = host.take_faults(call)
        if fired and fired[-1].answers:
            answer = host.fault_error(fired[-1], call)
            for fault in fired:  # headers such as Retry-After; a sub-request cannot drop a line
                answer = fault.alter(answer)
        elif mailbox is not None and per_mailbox[mailbox] > MAILBOX_CONCURRENCY:
            answer = graph_error(
                429,
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
                retry_after=host.mailbox_retry_after,
            )
        else:
            sub_body = sub.get("body")
            raw = json.dumps(sub_body).encode("utf-8") if sub_body is not None else b""
            headers = {str(k).lower(): str(v) for k, v in (sub.get("headers") or {}).items()}
            answer = host.route(method, parts.path, parts.query, raw, headers)
        host.log(
            LoggedRequest(method, full_path, answer.status, parts.query, True, authorized=True)
        )
        responses.append(_response(str(sub.get("id")), answer))
    shuffle.shuffle(responses)
    return Answer(200, {"responses": responses})


def _response(request_id: str, answer: Answer) -> dict[str, Any]:
    item: dict[str, Any] = {"id": request_id, "status": answer.status}
    headers = dict(answer.headers)
    if answer.body is not None:
        headers.setdefault("Content-Type", answer.content_type)
        body = answer.body  # bytes only from a fault's malformed body: sent as text
        item["body"] = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if headers:
        item["headers"] = headers
    return item
