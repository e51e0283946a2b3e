"""A fake contractor: the planning system that receives Keukentafel's webhooks, and sends some.

This module owns :class:`FakeContractor`, used by the tests and the demo. On the fake server
base (:class:`~connectors.fakes._server.FakeServer`) it serves ``POST /hooks/keukentafel``:

- it verifies each delivery's Standard Webhooks signature (``webhook-id``,
  ``webhook-timestamp``, ``webhook-signature``) with its own copy of the secrets (any of them:
  two while one is rotated), or with a ``verifier`` the caller hands in (the tests pass the
  reference ``standardwebhooks`` library); an invalid one gets 401 and is not applied;
- it applies a webhook once, by its ``webhook-id``: a second delivery of the same id is
  answered 200 and changes nothing (``duplicates`` counts them);
- it keeps, per record key, the latest record by sequence (``records``), the way a planning
  system would;
- ``lose_answers = N`` applies the next N webhooks and then drops the connection, so the
  sender cannot know and sends them again;
- ``gone = True`` makes it answer 410 (it wants no more webhooks); the base's faults give 500s,
  429 with ``Retry-After``, dropped connections and slow answers.

Every raw delivery (headers and body bytes) is kept in ``deliveries`` for the tests.
Run it standalone (the feeds benchmark does): ``python -m connectors.fakes.contractor --port 0
--secret whsec_...``; it prints its hook URL.
:meth:`FakeContractor.send` plays the other direction: the contractor posts a signed message
(changed work days, a delay, completion) to Keukentafel's inbound endpoint.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from connectors.fakes._server import Answer, FakeServer, Request
from keukentafel.domain.planning.webhooks import (
    WebhookInvalid,
    headers_for,
    parse_secret,
    verify,
)

HOOK_PATH = "/hooks/keukentafel"
Verifier = Callable[[bytes, Mapping[str, str]], Any]


@dataclass(frozen=True)
class Delivery:
    """One webhook request as it arrived."""

    headers: dict[str, str]
    body: bytes
    status: int


class FakeContractor(FakeServer):
    """A contractor's webhook receiver on 127.0.0.1."""

    server_version = "FakeContractor/1.0"
    thread_name = "fake-contractor"

    def __init__(
        self,
        secrets: Sequence[str],
        *,
        verifier: Verifier | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_deliveries: bool = True,
    ) -> None:
        super().__init__(host=host, port=port, keep_log=keep_deliveries)
        self.keep_deliveries = keep_deliveries
        self._keys = [parse_secret(s) for s in secrets]
        self._verifier = verifier
        self._lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self.applied: dict[str, int] = {}  # webhook id -> number of changes it carried
        self.duplicates = 0
        self.records: dict[str, dict[str, Any] | None] = {}
        self.sequences: dict[str, int] = {}
        self.sequence_log: list[int] = []  # every change applied, in the order applied
        self.gone = False
        self.lose_answers = 0  # the next N webhooks are applied, then the answer is lost
        self.router.add("POST", HOOK_PATH, self._receive)

    @property
    def hook_url(self) -> str:
        return self.url + HOOK_PATH

    def _check(self, request: Request) -> None:
        if self._verifier is not None:
            try:
                self._verifier(request.body, request.headers)
            except Exception as exc:
                raise WebhookInvalid(str(exc)) from None
            return
        verify(self._keys, request.headers, request.body, datetime.now(UTC))

    def _receive(self, request: Request) -> Answer:
        if self.gone:
            answer = Answer(410, {"error": "this endpoint is gone"})
        else:
            answer = self._apply(request)
        if self.keep_deliveries:
            with self._lock:
                self.deliveries.append(Delivery(dict(request.headers), request.body, answer.status))
        return answer

    def _apply(self, request: Request) -> Answer:
        try:
            self._check(request)
        except WebhookInvalid as exc:
            return Answer(401, {"error": f"signature: {exc}"})
        msg_id = request.header("webhook-id")
        with self._lock:
            if msg_id in self.applied:
                self.duplicates += 1
                return Answer(200, {"duplicate": True})
            payload = json.loads(request.body)
            changes = payload.get("data", {}).get("changes", [])
            for change in changes:
                key, sequence = str(change["key"]), int(change["sequence"])
                self.sequence_log.append(sequence)
                if sequence > self.sequences.get(key, 0):
                    self.sequences[key] = sequence
                    self.records[key] = None if change.get("deleted") else change.get("data")
            self.applied[msg_id] = len(changes)
            if self.lose_answers > 0:  # applied, but the sender never hears so: it sends again
                self.lose_answers -= 1
                return Answer(0, drop=True)
        return Answer(200, {"applied": len(changes)})

    def current(self) -> dict[str, dict[str, Any]]:
        """The records the contractor holds now (removed ones left out)."""
        with self._lock:
            return {k: v for k, v in self.records.items() if v is not None}

    # -- the other direction -----------------------------------------------------------------

    @staticmethod
    def signed(
        secret: str,
        message_id: str,
        kind: str,
        data: Mapping[str, Any],
        *,
        timestamp: int | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """A contractor's message (``kind``: afspraken.gewijzigd, .vertraagd, .afgerond) as body
        bytes and Standard Webhooks headers signed with ``secret``."""
        body = json.dumps(
            {"type": kind, "timestamp": datetime.now(UTC).isoformat(), "data": dict(data)},
            ensure_ascii=False,
        ).encode()
        stamp = int(time.time()) if timestamp is None else timestamp
        headers = headers_for([parse_secret(secret)], message_id, stamp, body)
        headers["Content-Type"] = "application/json"
        return body, headers

    @classmethod
    def send(
        cls, url: str, secret: str, message_id: str, kind: str, data: Mapping[str, Any]
    ) -> requests.Response:
        """POST a signed message to Keukentafel's inbound endpoint."""
        body, headers = cls.signed(secret, message_id, kind, data)
        return requests.post(url, data=body, headers=headers, timeout=30)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - the benchmark runs it
    import argparse

    parser = argparse.ArgumentParser(description="Run the fake contractor standalone.")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--secret", action="append", required=True, help="whsec_... (repeatable)")
    args = parser.parse_args(argv)
    server = FakeContractor(args.secret, port=args.port, keep_deliveries=False).start()
    print(server.hook_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
