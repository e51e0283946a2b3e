"""A small Microsoft Graph client on ``requests``: paging, delta, ``$batch``, throttling and errors.

This module owns how Keukentafel talks HTTP to Graph; the contact, mail and calendar connectors
build on it. It does, in one layer only:

- authentication with a bearer token from :class:`~connectors.m365.auth.GraphAuth`; a 401 makes it
  drop the token, get a fresh one and retry once. The token is only ever sent to the Graph host:
  a next link to another host is refused, and the session follows no redirect to another origin
  (:class:`~connectors.http.SameOriginSession`), so neither the token nor a message body (a
  ``sendMail`` 307 keeps its body) reaches another host. A refused redirect is a
  :class:`GraphError` with the redirect's status and code ``redirectRefused``.
- throttling, with the shared :mod:`connectors.http` toolkit: 429 and 503 are retried after
  ``Retry-After`` (seconds, also decimal such as ``"1.5"``, or an HTTP date; capped by
  ``m365.max_retry_after_seconds``) or an exponential back-off from ``backoff_base``; bounded by
  ``max_retries``. A POST is retried on 429 only (a throttled request was not executed); a 503
  may come from a gateway after Graph did the work, so a POST answered 503 is not sent again
  here (the outbox looks in Sent Items instead). Network errors are retried for GET only. When
  the retries run out, :attr:`GraphError.retry_after` keeps the server's last ``Retry-After``.
- paging: ``@odata.nextLink`` (absolute URLs) with a loop guard
  (:class:`~connectors.http.NextLinkPaginator`); delta: ``@odata.deltaLink`` stored by the
  caller, and a 410 Gone restarts from a full sync (``resynced=True``).
- ``$batch``: at most 20 requests per batch and at most 4 per mailbox (Outlook's concurrency
  limit per app and mailbox), answers matched by id, throttled sub-requests retried later.
- errors: :class:`GraphError` with Graph's error code, message and request-id.

Graph's error shape::

    {"error": {"code": "ErrorAccessDenied", "message": "Access is denied.",
               "innerError": {"request-id": "…", "date": "2024-05-01T10:00:00"}}}
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.http import (
    HttpRequest,
    NextLinkPaginator,
    PagingLoop,
    RedirectRefused,
    RequestFailed,
    RetryPolicy,
    parse_retry_after,
    require_https,
    same_origin_session,
    send_with_retries,
)
from connectors.m365.auth import GraphAuth
from keukentafel.config.m365 import M365Config

MAX_BATCH_SIZE = 20
MAX_CONCURRENT_PER_MAILBOX = 4
#: Graph asks to retry only these; other 5xx answers are errors for the caller.
_RETRIABLE_STATUSES = frozenset({429, 503})
_MAILBOX_RE = re.compile(r"^/?(?:users|groups)/([^/?]+)", re.IGNORECASE)


class GraphError(Exception):
    """Graph answered with an error (or could not be reached: status 0).

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it gave one (a 429 or 503
    after the client's own retries ran out): how long the caller should wait."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        request_id: str | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after
        rid = f", request-id {request_id}" if request_id else ""
        super().__init__(f"Graph error {status} {code}: {message}{rid}")

    # Kept whole: one reading of Graph's error shape; each branch is a tolerated variant of it
    # (innerError vs innererror, request-id vs requestId, in the body or the headers).
    @classmethod
    def from_parts(
        cls,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
        *,
        note: str = "",
    ) -> GraphError:
        """Build from Graph's error JSON (``{"error": {...}}``) and the response headers."""
        code, message, request_id = f"HTTP{status}", "", None
        if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
            err = body["error"]
            code = str(err.get("code") or code)
            message = str(err.get("message") or "")
            inner = err.get("innerError") or err.get("innererror") or {}
            if isinstance(inner, Mapping):
                rid = inner.get("request-id") or inner.get("requestId")
                request_id = str(rid) if rid else None
        lowered = {k.lower(): v for k, v in (headers or {}).items()}
        if request_id is None:
            request_id = lowered.get("request-id") or lowered.get("client-request-id")
        if note:
            message = f"{message} ({note})" if message else note
        retry_after = parse_retry_after(lowered.get("retry-after"))
        return cls(status, code, message or "no error message", request_id, retry_after=retry_after)

    @classmethod
    def from_response(cls, response: requests.Response, *, note: str = "") -> GraphError:
        try:
            body = response.json()
        except ValueError:
            body = None
        return cls.from_parts(response.status_code, body, response.headers, note=note)


@dataclass(frozen=True)
class GraphResponse:
    """A raw answer: status, headers and the JSON body (``None`` for an empty body, e.g. 202)."""

    status: int
    headers: Mapping[str, str]
    json: dict[str, Any] | None


@dataclass(frozen=True)
class DeltaResult:
    """One delta round: changed items, removed ids, the link to store for next time."""

    items: list[dict[str, Any]]
    removed_ids: list[str]
    delta_link: str
    resynced: bool


@dataclass(frozen=True)
class BatchRequest:
    """One request inside ``$batch``; ``url`` relative to the version (``/users/x/events``)."""

    id: str
    method: str
    url: str
    body: Any = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class BatchResponse:
    """One answer inside ``$batch``."""

    id: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error(self) -> GraphError:
        """This answer as a :class:`GraphError` (for a non-2xx status)."""
        return GraphError.from_parts(self.status, self.body, self.headers)


def mailbox_of(url: str) -> str | None:
    """The mailbox (user or group) a Graph URL addresses, lower-cased, or None."""
    match = _MAILBOX_RE.match(url)
    return match.group(1).lower() if match else None


class GraphClient:
    """Microsoft Graph over one keep-alive ``requests`` session."""

    def __init__(
        self,
        auth: GraphAuth,
        config: M365Config,
        *,
        session: requests.Session | None = None,
        backoff_base: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._auth = auth
        self._config = config
        self._owns_session = session is None
        self._session = session or same_origin_session()
        self._policy = RetryPolicy(
            max_retries=config.max_retries,
            statuses=_RETRIABLE_STATUSES,
            backoff_base=backoff_base,
            max_retry_after=config.max_retry_after_seconds,
            sleep=sleep,
            clock=clock,
        )
        self._base = require_https(config.graph_base_url, "m365.graph_base_url").rstrip("/")
        base_parts = urlsplit(self._base)
        self._graph_origin = f"{base_parts.scheme}://{base_parts.netloc}".lower()
        self._verify: bool | str = config.ca_bundle or True

    # -- public API --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP session if this client made it."""
        if self._owns_session:
            self._session.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = self._request("GET", path, params=params)
        return _json_or_empty(response)

    def post(
        self,
        path: str,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> GraphResponse:
        response = self._request("POST", path, json=json, headers=headers)
        body = _json_or_empty(response) if response.content else None
        return GraphResponse(response.status_code, dict(response.headers), body)

    def patch(self, path: str, json: Any) -> dict[str, Any]:
        response = self._request("PATCH", path, json=json)
        return _json_or_empty(response)

    def delete(self, path: str) -> None:
        self._request("DELETE", path)

    def put_bytes(self, url: str, data: bytes, headers: Mapping[str, str]) -> GraphResponse:
        """PUT to a pre-authenticated URL (upload session): no Authorization header is sent."""
        response = self._request("PUT", url, data=data, headers=headers, authenticate=False)
        body = _json_or_empty(response) if response.content else None
        return GraphResponse(response.status_code, dict(response.headers), body)

    def download(self, path: str) -> bytes:
        """The bytes of a drive item (``…/content``): Graph answers 302 to a pre-authenticated
        download URL, which is fetched without our token."""
        response = self._request("GET", path, allow_redirects=False)
        if response.status_code in (301, 302, 303, 307, 308):
            location = response.headers.get("Location")
            if not location:
                raise GraphError(response.status_code, "noLocation", "redirect without Location")
            response = self._request("GET", location, authenticate=False)
        return response.content

    def iter_pages(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the ``value`` of each page, following ``@odata.nextLink``."""
        paginator = NextLinkPaginator()
        url, query = path, params
        while True:
            page = self.get(url, query)
            yield list(page.get("value", []))
            _advance(paginator, page)
            if paginator.next_url is None:
                return
            url, query = paginator.next_url, None

    def delta(self, path: str, delta_link: str | None) -> DeltaResult:
        """One delta round from ``delta_link`` (or a full sync from ``path`` when None).

        Items with ``@removed`` or ``deleted`` go to ``removed_ids``. A 410 Gone on a stored
        link restarts from ``path`` (full sync) with ``resynced=True``: the caller should then
        treat items it knows but did not see as removed.
        """
        try:
            return self._delta_round(delta_link or path, resynced=False)
        except GraphError as exc:
            if exc.status != 410 or delta_link is None:
                raise
        return self._delta_round(path, resynced=True)

    def batch(self, requests_: list[BatchRequest]) -> list[BatchResponse]:
        """Send requests through ``$batch``; answers in the order of ``requests_``.

        Chunks hold at most 20 requests and at most 4 for one mailbox. Sub-requests answered
        429/503 are sent again in a later batch after their ``Retry-After``, at most
        ``max_retries`` times; after that their throttled answer is returned as is.
        """
        ids = [r.id for r in requests_]
        if len(set(ids)) != len(ids):
            raise ValueError("batch request ids must be unique")
        answers: dict[str, BatchResponse] = {}
        pending = list(requests_)
        policy = self._policy
        for round_no in range(policy.max_retries + 1):
            retry: list[BatchRequest] = []
            wait = 0.0
            for chunk in _chunks(pending, self._relative):
                for answer in self._send_batch(chunk):
                    answers[answer.id] = answer
                    if answer.status in policy.statuses:
                        retry.append(next(r for r in chunk if r.id == answer.id))
                        retry_after = _header(answer.headers, "Retry-After")
                        wait = max(wait, policy.delay(round_no, retry_after))
            if not retry:
                break
            if round_no < policy.max_retries:
                policy.sleep(wait)
            pending = retry
        return [answers[i] for i in ids]

    # -- internals -------------------------------------------------------------------------

    def _send_batch(self, chunk: list[BatchRequest]) -> list[BatchResponse]:
        payload = {"requests": [self._batch_item(r) for r in chunk]}
        response = self.post("/$batch", json=payload)
        body = response.json or {}
        by_id = {r.id for r in chunk}
        out: list[BatchResponse] = []
        for item in body.get("responses", []):
            rid = str(item.get("id"))
            if rid not in by_id:
                continue
            headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
            out.append(BatchResponse(rid, int(item.get("status", 0)), headers, item.get("body")))
        missing = by_id - {a.id for a in out}
        for rid in sorted(missing):
            out.append(
                BatchResponse(
                    rid,
                    0,
                    {},
                    {"error": {"code": "missingResponse", "message": "no answer in $batch"}},
                )
            )
        return out

    def _relative(self, url: str) -> str:
        """A URL relative to the Graph version, as ``$batch`` wants it (``/users/x/events``)."""
        if url.lower().startswith(self._base.lower()):
            url = url[len(self._base) :]
        return url if url.startswith("/") else "/" + url

    def _batch_item(self, request: BatchRequest) -> dict[str, Any]:
        url = self._relative(request.url)
        item: dict[str, Any] = {"id": request.id, "method": request.method.upper(), "url": url}
        headers = dict(request.headers or {})
        if request.body is not None:
            item["body"] = request.body
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
        if headers:
            item["headers"] = headers
        return item

    def _delta_round(self, start: str, *, resynced: bool) -> DeltaResult:
        items: list[dict[str, Any]] = []
        removed: list[str] = []
        paginator = NextLinkPaginator()
        url = start
        while True:
            page = self.get(url)
            for item in page.get("value", []):
                if "@removed" in item or "deleted" in item:
                    removed.append(str(item.get("id")))
                else:
                    items.append(item)
            _advance(paginator, page)
            if paginator.delta_link is not None:
                return DeltaResult(items, removed, paginator.delta_link, resynced)
            if paginator.next_url is None:
                raise GraphError(0, "deltaIncomplete", "delta page without nextLink or deltaLink")
            url = paginator.next_url

    def _url(self, path: str) -> str:
        if path.startswith(("https://", "http://")):
            return path
        return f"{self._base}/{path.lstrip('/')}"

    def _is_graph(self, url: str) -> bool:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}".lower() == self._graph_origin

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        authenticate: bool = True,
        allow_redirects: bool = True,
    ) -> requests.Response:
        url = self._url(path)
        if authenticate and not self._is_graph(url):
            # Never hand our token to another host (a nextLink or Location we did not expect).
            raise GraphError(0, "foreignHost", "refusing to send the Graph token to another host")
        request = HttpRequest(
            method,
            url,
            params=params,
            headers=headers,
            data=data,
            json=json,
            timeout=self._config.timeout_seconds,
            auth_headers=self._bearer if authenticate else None,
            options={"verify": self._verify, "allow_redirects": allow_redirects},
        )
        on_401 = self._renew if authenticate else None
        try:
            response = send_with_retries(self._session, request, self._policy, on_401)
        except RequestFailed as exc:
            if exc.response is not None:
                note = f"gave up after {exc.retries} retries"
                raise GraphError.from_response(exc.response, note=note) from None
            if isinstance(exc.error, RedirectRefused):
                raise GraphError(exc.error.status, "redirectRefused", str(exc.error)) from None
            what = type(exc.error).__name__
            raise GraphError(
                0, "transportError", f"{method} to {_host(url)} failed: {what}"
            ) from None
        if response.status_code >= 400:
            raise GraphError.from_response(response)
        if response.is_redirect and allow_redirects:  # a session handed in follows none
            response.close()
            raise GraphError(
                response.status_code,
                "redirectRefused",
                f"a redirect from {_host(url)} not followed",
            )
        return response

    def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._auth.token()}"}

    def _renew(self, sent: Mapping[str, str]) -> bool:
        """A 401: drop the token that was sent, so the next attempt gets a fresh one."""
        token = sent.get("Authorization", "").removeprefix("Bearer ")
        if not token:
            return False
        self._auth.invalidate(token)
        return True


def _advance(paginator: NextLinkPaginator, page: Mapping[str, Any]) -> None:
    try:
        paginator.advance(page)
    except PagingLoop:
        raise GraphError(0, "pagingLoop", "the same @odata.nextLink came back twice") from None


def _chunks(
    requests_: list[BatchRequest], relative: Callable[[str], str]
) -> Iterator[list[BatchRequest]]:
    """Chunks of at most 20, with at most 4 requests per mailbox, order kept where possible."""
    pending = list(requests_)
    while pending:
        chunk: list[BatchRequest] = []
        per_mailbox: dict[str, int] = {}
        rest: list[BatchRequest] = []
        for request in pending:
            mailbox = mailbox_of(relative(request.url)) or ""
            if len(chunk) >= MAX_BATCH_SIZE or (
                mailbox and per_mailbox.get(mailbox, 0) >= MAX_CONCURRENT_PER_MAILBOX
            ):
                rest.append(request)
                continue
            chunk.append(request)
            if mailbox:
                per_mailbox[mailbox] = per_mailbox.get(mailbox, 0) + 1
        yield chunk
        pending = rest


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _json_or_empty(response: requests.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        raise GraphError(
            response.status_code, "invalidJson", "Graph answered with a body that is not JSON"
        ) from None
    return body if isinstance(body, dict) else {"value": body}


def _host(url: str) -> str:
    """Only the host of a URL: paths and queries may hold mailbox names or tokens."""
    return urlsplit(url).netloc
