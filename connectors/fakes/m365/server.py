"""The fake Microsoft 365 tenant: Entra ID and Graph on one https port of 127.0.0.1.

This module owns :class:`FakeMicrosoft365`, used by the tests and the demo. On a
:class:`~connectors.fakes._server.FakeServer` with TLS (a trustme test CA; ``ca_bundle_path`` is
the CA to trust) it sends

- the authority's paths to :class:`~connectors.fakes.m365.entra.FakeEntra`, so the real ``msal``
  library runs end to end unpatched;
- Graph's paths (``/v1.0/...``) through the bearer-token check, the faults
  (:class:`~connectors.fakes.m365.faults.GraphFaults`: 429 storms with decimal ``Retry-After``,
  503, 401 for expired tokens, 403, 410 on a delta link, all in Graph's error shape with a
  request-id) and the 4 MB request limit to ``$batch`` (:mod:`.batch`) or to the routes of the
  resources: SharePoint lists and delta (:mod:`.sharepoint`), drive files (:mod:`.drives`), mail
  and upload sessions (:mod:`.mail`) and calendars (:mod:`.calendar`);
- the pre-authenticated download and upload URLs to the drives and mail resources.

The authority's paths have faults of their own (``authority_faults``, e.g. a token endpoint that
redirects elsewhere), so a Graph storm never hits the token requests by accident.

``requests_log`` records every request (method, path, status; ``in_batch`` for ``$batch``
sub-requests) for assertions. The data lives in
:class:`~connectors.fakes.m365.state.FakeM365State` (``fake.state``).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from urllib.parse import parse_qs, unquote

from connectors.fakes._server import Answer, Call, FakeServer, Fault, Faults, Request, Router
from connectors.fakes.m365.batch import GRAPH_VERSION, answer_batch
from connectors.fakes.m365.calendar import Calendar
from connectors.fakes.m365.drives import DOWNLOAD_PREFIX, Drives
from connectors.fakes.m365.entra import FakeEntra
from connectors.fakes.m365.faults import FaultRule, GraphCall, GraphFaults
from connectors.fakes.m365.mail import UPLOAD_PREFIX, Mail
from connectors.fakes.m365.odata import GraphRequestError, graph_error
from connectors.fakes.m365.resource import GraphHandler
from connectors.fakes.m365.sharepoint import SharePoint
from connectors.fakes.m365.state import FakeM365State

MAX_REQUEST_BYTES = 4 * 1024 * 1024
DEFAULT_PAGE = 100

_ERROR_CODES = {  # Graph's code for a status, when a fault or the fake itself gives only a status
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "serviceNotAvailable",
    504: "GatewayTimeout",
}


class FakeMicrosoft365(FakeServer):
    """The fake tenant: authority and Graph on one https port of 127.0.0.1."""

    server_version = "FakeMicrosoft365/1.0"
    thread_name = "fake-m365"
    faults: GraphFaults

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str | None = None,
        certificate_pem: bytes | None = None,
        page_size: int = DEFAULT_PAGE,
        batch_seed: int | None = None,
        mailbox_retry_after: str = "0.05",
    ) -> None:
        super().__init__(tls=True)
        self.entra = FakeEntra(
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=client_secret,
            certificate_pem=certificate_pem,
            authority_host=lambda: self.authority_host,
        )
        self.page_size = page_size
        self.mailbox_retry_after = mailbox_retry_after
        self.state = FakeM365State()
        self.faults = GraphFaults(self.entra.issued_tokens)
        self.authority_faults = Faults()  # for the Entra ID paths (discovery, token)
        self._random = random.Random(batch_seed)
        self.drives = Drives(self)
        self.mail = Mail(self)
        self._graph_routes: Router[GraphHandler] = Router()
        for resource in (SharePoint(self), self.drives, self.mail, Calendar(self)):
            for method, pattern, handler in resource.routes():
                self._graph_routes.add(method, pattern, handler)

    # -- the registered app (kept on the server for the callers of the single-module fake) -----

    @property
    def tenant_id(self) -> str:
        return self.entra.tenant_id

    @property
    def client_id(self) -> str:
        return self.entra.client_id

    @property
    def client_secret(self) -> str | None:
        return self.entra.client_secret

    @property
    def certificate_pem(self) -> bytes | None:
        return self.entra.certificate_pem

    @property
    def admin_consent(self) -> bool:
        return self.entra.admin_consent

    @admin_consent.setter
    def admin_consent(self, value: bool) -> None:
        self.entra.admin_consent = value

    # -- urls and counts -----------------------------------------------------------------------

    @property
    def authority_host(self) -> str:
        return self.url

    @property
    def graph_base_url(self) -> str:
        return f"{self.authority_host}{GRAPH_VERSION}"

    @property
    def token_requests(self) -> int:
        return self.count("POST", "/oauth2/v2.0/token")

    # -- dispatch ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Answer:
        path = request.raw_path
        if path == GRAPH_VERSION or path.startswith(GRAPH_VERSION + "/"):
            return self._graph(request, path[len(GRAPH_VERSION) :])
        if path.startswith(DOWNLOAD_PREFIX):
            return self.drives.download(path)
        if path.startswith(UPLOAD_PREFIX):
            return self.mail.upload(request)
        # The authority has its own faults (a redirect of the token endpoint), apart from Graph's.
        return self.faulted(
            request.call(), lambda fired: self.entra.handle(request), self.authority_faults
        )

    def _graph(self, request: Request, path: str) -> Answer:
        """A Graph request: the token, then faults, then the size limit, ``$batch`` or a route."""
        refused = self._refuse_token(request)
        if refused is not None:
            return refused
        call = GraphCall(request.method, path, request.query, request.number, False)
        return self.faulted(call, lambda fired: self._graph_answer(request, path))

    def _refuse_token(self, request: Request) -> Answer | None:
        """The 401 Graph gives for a missing, unknown or expired bearer token, else None."""
        auth = request.header("authorization")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        if not token:
            return graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        expiry = self.entra.token_expiry(token)
        if expiry is None:
            return graph_error(
                401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed."
            )
        if self.faults.is_expired(token) or expiry < time.time():
            return graph_error(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            )
        return None

    def _graph_answer(self, request: Request, path: str) -> Answer:
        if len(request.body) > MAX_REQUEST_BYTES:
            return graph_error(
                413, "RequestBodyTooLarge", "The request body exceeds the 4 MB limit."
            )
        if request.method == "POST" and path == "/$batch":
            return answer_batch(self, request.body, self._random)
        headers = dict(request.headers)
        return self.route(request.method, path, request.query, request.body, headers)

    def route(
        self, method: str, path: str, query: str, body: bytes, headers: dict[str, str]
    ) -> Answer:
        """Answer a Graph request (``path`` relative to ``/v1.0``) from the resources' routes."""
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return graph_error(400, "BadRequest", "Unable to read JSON request payload.")
        routed = self._graph_routes.resolve(method, path)
        if routed is None:
            if self._graph_routes.knows(path):
                return graph_error(405, "MethodNotAllowed", f"{method} is not supported here.")
            return graph_error(404, "NotFound", "Resource not found for the segment.")
        try:
            with self.state.lock:
                return routed.handler(params, payload, *[unquote(g) for g in routed.groups])
        except GraphRequestError as exc:
            return graph_error(exc.status, exc.code, exc.message)

    # -- what $batch needs ---------------------------------------------------------------------

    def take_faults(self, call: GraphCall) -> Sequence[Fault]:
        return self.faults.take(call)

    # -- errors --------------------------------------------------------------------------------

    def fault_error(self, fault: Fault, call: Call) -> Answer:
        if isinstance(fault, FaultRule):
            return graph_error(fault.status or 500, fault.code, fault.message)
        if fault.status is not None:
            return self.error(fault.status, "Fault injected by the fake Graph.")
        return super().fault_error(fault, call)

    def error(self, status: int, message: str) -> Answer:
        return graph_error(status, _ERROR_CODES.get(status, "fakeError"), message)

    def internal_error(self, exc: Exception) -> Answer:
        return graph_error(500, "fakeInternalError", f"{type(exc).__name__}: {exc}")

    def __repr__(self) -> str:
        where = self.url if self.running else "not running"
        return f"<FakeMicrosoft365 tenant={self.tenant_id} {where}>"
