"""Faults of the fake Graph, in Graph's terms: throttling, outages, expired tokens, lost permissions.

This module owns :class:`FaultRule` (a :class:`~connectors.fakes._server.Fault` that answers in
Graph's error shape with its own ``code`` and ``message``, directly or only inside ``$batch``) and
:class:`GraphFaults`, the tenant's switchboard with the usual storms as one-liners. Paths are
relative to ``/v1.0``; a rule matches the path as the client sent it (not percent-decoded).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from connectors.fakes._server import Call, Fault, Faults

Where = Literal["any", "direct", "batch"]


@dataclass(frozen=True)
class GraphCall(Call):
    """A Graph request as faults see it: ``in_batch`` for a sub-request of ``$batch``."""

    in_batch: bool = False


@dataclass(kw_only=True, init=False)
class FaultRule(Fault):
    """Answer the next ``count`` matching Graph requests (None: all) with ``status``.

    ``where``: "any", "direct" (not inside ``$batch``) or "batch" (sub-requests only). The base
    fault's other effects (``delay``, ``drop``, ``headers``, ...) may be given by keyword.
    """

    code: str
    message: str
    where: Where = "any"

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        count: int | None = 1,
        retry_after: str | None = None,
        method: str | None = None,
        path_prefix: str | None = None,
        query_contains: str | None = None,
        where: Where = "any",
        **effects: Any,
    ) -> None:
        super().__init__(
            status=status,
            times=count,
            retry_after=retry_after,
            method=method,
            path_prefix=path_prefix,
            query_contains=query_contains,
            **effects,
        )
        self.code = code
        self.message = message
        self.where = where

    @property
    def count(self) -> int | None:
        return self.times

    def accepts(self, call: Call) -> bool:
        in_batch = isinstance(call, GraphCall) and call.in_batch
        if self.where == "direct":
            return not in_batch
        if self.where == "batch":
            return in_batch
        return True


class GraphFaults(Faults):
    """Switchable failures of the fake Graph; paths are relative to ``/v1.0``."""

    def __init__(self, issued_tokens: Callable[[], set[str]]) -> None:
        super().__init__()
        self._issued = issued_tokens
        self._tokens_lock = threading.Lock()
        self.expired_tokens: set[str] = set()

    def throttle(
        self,
        count: int | None,
        retry_after: str | None = "1",
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        where: Where = "any",
        when: Callable[[], bool] | None = None,
    ) -> FaultRule:
        """A 429 storm: the next ``count`` matching requests are throttled (None: all of them,
        while ``when()`` holds, e.g. for an hour of the test's fake clock)."""
        return self.add(
            FaultRule(
                429,
                "TooManyRequests",
                "Too many requests; please retry later.",
                count,
                retry_after,
                method,
                path_prefix,
                where=where,
                when=when,
            )
        )

    def unavailable(
        self,
        count: int | None,
        retry_after: str | None = None,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        where: Where = "any",
        execute: bool = False,
    ) -> FaultRule:
        """503 Service Unavailable for the next ``count`` matching requests. With ``execute``
        Graph does the work first (a sendMail is sent and saved) and the 503 comes after: a
        gateway that gave up while Exchange was done."""
        return self.add(
            FaultRule(
                503,
                "serviceNotAvailable",
                "The service is temporarily unavailable.",
                count,
                retry_after,
                method,
                path_prefix,
                where=where,
                execute=execute,
            )
        )

    def forbid(
        self,
        path_prefix: str | None = None,
        *,
        count: int | None = None,
        method: str | None = None,
        code: str = "ErrorAccessDenied",
        message: str = "Access is denied. Check credentials and try again.",
    ) -> FaultRule:
        """403: the app lacks the permission (e.g. Mail.Send not granted)."""
        return self.add(FaultRule(403, code, message, count, None, method, path_prefix))

    def delta_gone(self, count: int = 1) -> FaultRule:
        """410 Gone on the next ``count`` delta requests that carry a delta token."""
        return self.add(
            FaultRule(
                410,
                "resyncRequired",
                "Resync required. Replace any local items with the server's version.",
                count,
                query_contains="token=",
            )
        )

    def expire_tokens(self) -> None:
        """Every access token issued so far is now expired: Graph answers 401 to it."""
        issued = self._issued()
        with self._tokens_lock:
            self.expired_tokens |= issued

    def is_expired(self, token: str) -> bool:
        with self._tokens_lock:
            return token in self.expired_tokens

    def clear(self) -> None:
        """No more rules, and the tokens expired by ``expire_tokens`` are valid again."""
        super().clear()
        with self._tokens_lock:
            self.expired_tokens.clear()
