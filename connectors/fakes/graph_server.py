"""A fake Microsoft Entra ID and Microsoft Graph on 127.0.0.1, for tests and the demo.

This module owns :class:`FakeMicrosoft365`: one https server (a trustme test CA; ``ca_bundle_path``
is the CA to trust) that serves

- the authority, so the real ``msal`` library runs end to end unpatched: the OIDC discovery
  document ``/{tenant}/v2.0/.well-known/openid-configuration``, ``/common/discovery/instance`` and
  the token endpoint ``/{tenant}/oauth2/v2.0/token`` (client credentials by secret, or by a client
  assertion JWT that is verified with the registered certificate's public key: RS256 with ``x5t``
  or PS256 with ``x5t#S256``, ``aud``, ``iss`` = ``sub`` = client id, ``exp``). Errors carry the
  real AADSTS codes (7000215 wrong secret, 700016 unknown app, 90002 unknown tenant, 65001 no
  admin consent, 700027 bad assertion signature);
- Graph under ``/v1.0``: SharePoint list items (``expand=fields``, ``$top`` paging, delta with
  410), drive files (``…/content`` answers 302 to a download URL), mail (``sendMail``, drafts,
  attachments, upload sessions, ``send``, folder listings with ``$filter``/``$select``/``$top``),
  calendar events (``transactionId``, Teams meetings, ``cancel``) and ``$batch`` (at most 20,
  answers shuffled, more than 4 requests for one mailbox throttled);
- switchable faults (:class:`Faults`): 429 storms with (decimal) ``Retry-After``, 503, 401 for
  expired tokens, 403 missing permission and 410 on a delta link, all in Graph's error shape with
  a request-id.

``requests_log`` records every request (method, path, status) for assertions. The data lives in
:class:`~connectors.fakes.graph_state.FakeM365State` (``fake.state``).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import random
import re
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import trustme
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from connectors.fakes.graph_state import (
    WELL_KNOWN_FOLDERS,
    FakeList,
    FakeM365State,
    FakeMailbox,
    new_id,
    utc_now,
)

GRAPH_VERSION = "/v1.0"
MAX_BATCH = 20
MAILBOX_CONCURRENCY = 4
MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_UPLOAD_CHUNK = 4 * 1024 * 1024
DEFAULT_PAGE = 100


@dataclass(frozen=True)
class LoggedRequest:
    """One request the fake answered. ``in_batch`` marks a sub-request of ``$batch``."""

    method: str
    path: str
    status: int
    query: str = ""
    in_batch: bool = False
    authorized: bool = False


@dataclass
class FaultRule:
    """Answer the next ``count`` matching Graph requests (None: all) with ``status``."""

    status: int
    code: str
    message: str
    count: int | None = 1
    retry_after: str | None = None
    method: str | None = None
    path_prefix: str | None = None
    query_contains: str | None = None
    where: str = "any"  # "any", "direct" (not inside $batch) or "batch" (sub-requests only)
    hits: int = 0

    def matches(self, method: str, path: str, query: str, in_batch: bool) -> bool:
        if self.count is not None and self.hits >= self.count:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path_prefix and not path.lower().startswith(self.path_prefix.lower()):
            return False
        if self.query_contains and self.query_contains not in unquote(query):
            return False
        if self.where == "direct" and in_batch:
            return False
        return not (self.where == "batch" and not in_batch)


class Faults:
    """Switchable failures of the fake Graph; paths are relative to ``/v1.0``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = []
        self.expired_tokens: set[str] = set()
        self._issued: Callable[[], set[str]] = set

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def throttle(
        self,
        count: int,
        retry_after: str | None = "1",
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        where: str = "any",
    ) -> FaultRule:
        """A 429 storm: the next ``count`` matching requests are throttled."""
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
            )
        )

    def unavailable(
        self,
        count: int,
        retry_after: str | None = None,
        *,
        method: str | None = None,
        path_prefix: str | None = None,
        where: str = "any",
    ) -> FaultRule:
        """503 Service Unavailable for the next ``count`` matching requests."""
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
        with self._lock:
            self.expired_tokens |= self._issued()

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.expired_tokens.clear()

    def pick(self, method: str, path: str, query: str, in_batch: bool) -> FaultRule | None:
        with self._lock:
            for rule in self.rules:
                if rule.matches(method, path, query, in_batch):
                    rule.hits += 1
                    return rule
        return None


@dataclass
class _Answer:
    status: int
    body: Any = None  # dict -> JSON; bytes -> raw; None -> empty
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class _UploadSession:
    mailbox: str
    message_id: str
    name: str
    size: int
    content_type: str
    received: bytearray = field(default_factory=bytearray)


class GraphRequestError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FakeMicrosoft365:
    """The fake tenant: authority and Graph on one https port of 127.0.0.1."""

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
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.certificate_pem = certificate_pem
        self.admin_consent = True
        self.page_size = page_size
        self.mailbox_retry_after = mailbox_retry_after
        self.state = FakeM365State()
        self.faults = Faults()
        self.faults._issued = self._issued_tokens
        self.requests_log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # access token -> expiry (epoch)
        self._downloads: dict[str, tuple[str, str]] = {}  # download key -> (drive id, item id)
        self._uploads: dict[str, _UploadSession] = {}
        self._random = random.Random(batch_seed)
        self._route_table = self._routes()
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ca_file: Path | None = None
        self._public_key: rsa.RSAPublicKey | None = None
        self._thumbprints: tuple[bytes, bytes] | None = None
        if certificate_pem is not None:
            cert = x509.load_pem_x509_certificate(certificate_pem)
            key = cert.public_key()
            if not isinstance(key, rsa.RSAPublicKey):
                raise ValueError("the fake verifies RSA certificates only")
            self._public_key = key
            der = cert.public_bytes(Encoding.DER)
            self._thumbprints = (
                hashlib.sha1(der).digest(),  # noqa: S324 - x5t is SHA-1 by definition
                hashlib.sha256(der).digest(),
            )

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeMicrosoft365:
        if self._server is not None:
            return self
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        fake = self

        class Handler(_Handler):
            owner = fake

        server = _TLSServer(("127.0.0.1", 0), Handler, context)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-m365", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._ca_file is not None:
            self._ca_file.unlink(missing_ok=True)
            self._ca_file = None

    def __enter__(self) -> FakeMicrosoft365:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake is not started")
        return int(self._server.server_address[1])

    @property
    def authority_host(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def graph_base_url(self) -> str:
        return f"{self.authority_host}{GRAPH_VERSION}"

    @property
    def ca_bundle_path(self) -> str:
        """A PEM file with the test CA (written on first use, removed by ``stop()``)."""
        if self._ca_file is None:
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept until stop()
                prefix="fake-m365-ca-", suffix=".pem", delete=False
            )
            with handle:
                handle.write(self._ca.cert_pem.bytes())
            self._ca_file = Path(handle.name)
        return str(self._ca_file)

    @property
    def ca_pem(self) -> bytes:
        return self._ca.cert_pem.bytes()

    # -- log helpers ---------------------------------------------------------------------------

    def log(self, entry: LoggedRequest) -> None:
        with self._log_lock:
            self.requests_log.append(entry)

    def count(self, method: str, path_contains: str = "", *, in_batch: bool | None = None) -> int:
        """How many requests with ``method`` had ``path_contains`` in their path."""
        with self._log_lock:
            return sum(
                1
                for r in self.requests_log
                if r.method == method.upper()
                and path_contains in r.path
                and (in_batch is None or r.in_batch == in_batch)
            )

    @property
    def token_requests(self) -> int:
        return self.count("POST", "/oauth2/v2.0/token")

    def _issued_tokens(self) -> set[str]:
        return set(self._tokens)

    # -- dispatch ------------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> _Answer:
        """Answer one request (called by the HTTP handler); logs it."""
        parts = urlsplit(raw_path)
        path, query = parts.path, parts.query
        lowered = {k.lower(): v for k, v in headers.items()}
        authorized = lowered.get("authorization", "").startswith("Bearer ")
        try:
            if path.startswith(GRAPH_VERSION + "/") or path == GRAPH_VERSION:
                answer = self._graph(method, path[len(GRAPH_VERSION) :], query, lowered, body)
            elif path.startswith("/_download/"):
                answer = self._download(path)
            elif path.startswith("/_upload/"):
                answer = self._upload(method, path, lowered, body)
            else:
                answer = self._authority(method, path, query, body)
        except Exception as exc:  # a bug in the fake: answer 500 so the test shows it
            answer = self._graph_error(500, "fakeInternalError", f"{type(exc).__name__}: {exc}")
        self.log(LoggedRequest(method, unquote(path), answer.status, query, False, authorized))
        return answer

    # -- authority -----------------------------------------------------------------------------

    def _authority(self, method: str, path: str, query: str, body: bytes) -> _Answer:
        segments = [s for s in path.split("/") if s]
        if method == "GET" and segments[:3] == ["common", "discovery", "instance"]:
            endpoint = f"{self.authority_host}/{self.tenant_id}"
            return _Answer(
                200,
                {
                    "tenant_discovery_endpoint": f"{endpoint}/v2.0/.well-known/openid-configuration",
                    "api-version": "1.1",
                    "metadata": [
                        {
                            "preferred_network": f"127.0.0.1:{self.port}",
                            "preferred_cache": f"127.0.0.1:{self.port}",
                            "aliases": [f"127.0.0.1:{self.port}"],
                        }
                    ],
                },
            )
        if len(segments) >= 2 and segments[0] != self.tenant_id:
            return self._aad_error(
                400,
                "invalid_tenant" if "well-known" in path else "invalid_request",
                90002,
                f"Tenant '{segments[0]}' not found. Check to make sure you have the correct "
                "tenant ID and are signing into the correct cloud.",
            )
        if method == "GET" and path.endswith("/v2.0/.well-known/openid-configuration"):
            return _Answer(200, self._openid_configuration())
        if method == "POST" and path == f"/{self.tenant_id}/oauth2/v2.0/token":
            return self._token(body)
        return self._graph_error(404, "NotFound", "Unknown authority endpoint.")

    def _openid_configuration(self) -> dict[str, Any]:
        tenant_url = f"{self.authority_host}/{self.tenant_id}"
        return {
            "issuer": f"{tenant_url}/v2.0",
            "authorization_endpoint": f"{tenant_url}/oauth2/v2.0/authorize",
            "token_endpoint": self._token_url,
            "device_authorization_endpoint": f"{tenant_url}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{tenant_url}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "fake.m365.local",
        }

    @property
    def _token_url(self) -> str:
        return f"{self.authority_host}/{self.tenant_id}/oauth2/v2.0/token"

    def _token(self, body: bytes) -> _Answer:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
        if form.get("grant_type") != "client_credentials":
            return self._aad_error(
                400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        if form.get("client_id") != self.client_id:
            return self._aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the "
                f"directory '{self.tenant_id}'.",
            )
        if "client_secret" in form:
            if self.client_secret is None or form["client_secret"] != self.client_secret:
                return self._aad_error(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request "
                    f"is the client secret value, not the client secret ID, for a secret added "
                    f"to app '{self.client_id}'.",
                )
        elif "client_assertion" in form:
            problem = self._check_assertion(form)
            if problem is not None:
                return self._aad_error(401, "invalid_client", problem[0], problem[1])
        else:
            return self._aad_error(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        expected_scope = f"{self.authority_host}/.default"
        scopes = form.get("scope", "").split()
        if expected_scope not in scopes:
            return self._aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope')} is not valid. Client "
                "credential flows must have a scope value with /.default suffixed to the "
                "resource identifier (application ID URI).",
            )
        if not self.admin_consent:
            return self._aad_error(
                400,
                "invalid_grant",
                65001,
                f"The user or administrator has not consented to use the application with ID "
                f"'{self.client_id}'. Send an interactive authorization request for this user "
                "and resource.",
            )
        token = f"fake-at-{uuid.uuid4().hex}"
        with self._log_lock:
            self._tokens[token] = time.time() + 3600
        return _Answer(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3600,
                "ext_expires_in": 3600,
                "access_token": token,
            },
        )

    def _check_assertion(self, form: dict[str, str]) -> tuple[int, str] | None:
        """None when the client assertion is valid, else (AADSTS code, description)."""
        if form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return 700023, "Invalid client assertion type."
        if self._public_key is None or self._thumbprints is None:
            return 700027, "No certificate is registered on the application."
        try:
            head_b64, payload_b64, sig_b64 = form["client_assertion"].split(".")
            header = json.loads(_b64url_decode(head_b64))
            payload = json.loads(_b64url_decode(payload_b64))
            signature = _b64url_decode(sig_b64)
        except (ValueError, KeyError):
            return 700023, "The client assertion is not a well-formed JWT."
        sha1, sha256 = self._thumbprints
        if "x5t#S256" in header:
            known = _b64url_decode(str(header["x5t#S256"])) == sha256
        elif "x5t" in header:
            known = _b64url_decode(str(header["x5t"])) == sha1
        else:
            known = False
        if not known:
            return (
                700027,
                "The certificate with identifier used to sign the client assertion is not "
                f"registered on application. [Reason - The key was not found., Thumbprint of "
                f"key used by client: '{header.get('x5t') or header.get('x5t#S256')}']",
            )
        signed = f"{head_b64}.{payload_b64}".encode("ascii")
        alg = header.get("alg")
        try:
            if alg == "RS256":
                self._public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            elif alg == "PS256":
                self._public_key.verify(
                    signature,
                    signed,
                    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                    hashes.SHA256(),
                )
            else:
                return 700023, f"Unsupported client assertion algorithm {alg}."
        except InvalidSignature:
            return 700027, "Client assertion contains an invalid signature."
        now = time.time()
        if payload.get("aud") != self._token_url:
            return 700021, "Client assertion audience claim does not match the token endpoint."
        if payload.get("iss") != self.client_id or payload.get("sub") != self.client_id:
            return 700021, "Client assertion issuer and subject must be the client id."
        if not isinstance(payload.get("exp"), int | float) or payload["exp"] < now - 300:
            return 700024, "Client assertion is not within its valid time range."
        if isinstance(payload.get("nbf"), int | float) and payload["nbf"] > now + 300:
            return 700024, "Client assertion is not within its valid time range."
        return None

    def _aad_error(self, status: int, error: str, code: int, description: str) -> _Answer:
        trace = str(uuid.uuid4())
        correlation = str(uuid.uuid4())
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return _Answer(
            status,
            {
                "error": error,
                "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
                f"Correlation ID: {correlation} Timestamp: {stamp}",
                "error_codes": [code],
                "timestamp": stamp,
                "trace_id": trace,
                "correlation_id": correlation,
                "error_uri": f"{self.authority_host}/error?code={code}",
            },
        )

    # -- Graph ---------------------------------------------------------------------------------

    def _graph_error(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retry_after: str | None = None,
        client_request_id: str | None = None,
    ) -> _Answer:
        request_id = str(uuid.uuid4())
        headers = {"request-id": request_id, "client-request-id": client_request_id or request_id}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        if status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="", error="invalid_token"'
        body = {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": utc_now(),
                    "request-id": request_id,
                    "client-request-id": client_request_id or request_id,
                },
            }
        }
        return _Answer(status, body, headers)

    def _graph(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> _Answer:
        auth = headers.get("authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        if not token:
            return self._graph_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        with self._log_lock:
            expiry = self._tokens.get(token)
        if expiry is None:
            return self._graph_error(
                401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed."
            )
        if token in self.faults.expired_tokens or expiry < time.time():
            return self._graph_error(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            )
        rule = self.faults.pick(method, path, query, in_batch=False)
        if rule is not None:
            return self._graph_error(
                rule.status, rule.code, rule.message, retry_after=rule.retry_after
            )
        if len(body) > MAX_REQUEST_BYTES:
            return self._graph_error(
                413, "RequestBodyTooLarge", "The request body exceeds the 4 MB limit."
            )
        if method == "POST" and path == "/$batch":
            return self._batch(token, body)
        return self._route(method, path, query, body, headers)

    def _route(
        self, method: str, path: str, query: str, body: bytes, headers: dict[str, str]
    ) -> _Answer:
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return self._graph_error(400, "BadRequest", "Unable to read JSON request payload.")
        for pattern, verb, handler in self._route_table:
            match = pattern.match(path)
            if match and verb == method:
                try:
                    with self.state.lock:
                        return handler(params, payload, *[unquote(g) for g in match.groups()])
                except GraphRequestError as exc:
                    return self._graph_error(exc.status, exc.code, exc.message)
        if any(pattern.match(path) for pattern, _, _ in self._route_table):
            return self._graph_error(405, "MethodNotAllowed", f"{method} is not supported here.")
        return self._graph_error(404, "NotFound", "Resource not found for the segment.")

    def _routes(self) -> list[tuple[re.Pattern[str], str, Callable[..., _Answer]]]:
        r = re.compile
        return [
            (r(r"^/sites/([^/]+)$"), "GET", self._get_site),
            (r(r"^/sites/([^/]+)/lists$"), "GET", self._get_lists),
            (r(r"^/sites/([^/]+)/lists/([^/]+)/items$"), "GET", self._list_items),
            (r(r"^/sites/([^/]+)/lists/([^/]+)/items/delta$"), "GET", self._list_delta),
            (r(r"^/sites/([^/]+)/lists/([^/]+)/items/([^/]+)$"), "GET", self._list_item),
            (r(r"^/drives/([^/]+)/root:/(.+?):?/content$"), "GET", self._drive_content),
            (r(r"^/sites/([^/]+)/drive/root:/(.+?):?/content$"), "GET", self._site_content),
            (r(r"^/drives/([^/]+)/items/([^/]+)/content$"), "GET", self._drive_item_content),
            (r(r"^/drives/([^/]+)/root:/([^:]+):?$"), "GET", self._drive_item),
            (r(r"^/sites/([^/]+)/drive/root:/([^:]+):?$"), "GET", self._site_item),
            (r(r"^/users/([^/]+)/sendMail$"), "POST", self._send_mail),
            (r(r"^/users/([^/]+)/messages$"), "POST", self._create_draft),
            (r(r"^/users/([^/]+)/messages$"), "GET", self._all_messages),
            (r(r"^/users/([^/]+)/messages/([^/]+)$"), "GET", self._get_message),
            (r(r"^/users/([^/]+)/messages/([^/]+)$"), "PATCH", self._patch_message),
            (r(r"^/users/([^/]+)/messages/([^/]+)$"), "DELETE", self._delete_message),
            (r(r"^/users/([^/]+)/messages/([^/]+)/send$"), "POST", self._send_draft),
            (r(r"^/users/([^/]+)/messages/([^/]+)/attachments$"), "POST", self._add_attachment),
            (r(r"^/users/([^/]+)/messages/([^/]+)/attachments$"), "GET", self._get_attachments),
            (
                r(r"^/users/([^/]+)/messages/([^/]+)/attachments/createUploadSession$"),
                "POST",
                self._create_upload_session,
            ),
            (r(r"^/users/([^/]+)/mailFolders/([^/]+)/messages$"), "GET", self._folder_messages),
            (r(r"^/users/([^/]+)/(?:calendar/)?events$"), "POST", self._create_event),
            (r(r"^/users/([^/]+)/(?:calendar/)?events$"), "GET", self._list_events),
            (r(r"^/users/([^/]+)/calendarView$"), "GET", self._calendar_view),
            (r(r"^/users/([^/]+)/(?:calendar/)?events/([^/]+)$"), "GET", self._get_event),
            (r(r"^/users/([^/]+)/(?:calendar/)?events/([^/]+)$"), "PATCH", self._patch_event),
            (r(r"^/users/([^/]+)/(?:calendar/)?events/([^/]+)$"), "DELETE", self._delete_event),
            (r(r"^/users/([^/]+)/(?:calendar/)?events/([^/]+)/cancel$"), "POST", self._cancel),
        ]

    # -- $batch --------------------------------------------------------------------------------

    def _batch(self, token: str, body: bytes) -> _Answer:
        try:
            payload = json.loads(body)
            requests_ = payload["requests"]
        except (ValueError, KeyError, TypeError):
            return self._graph_error(400, "BadRequest", "Invalid batch payload.")
        if not isinstance(requests_, list) or not requests_:
            return self._graph_error(400, "BadRequest", "Batch request has no requests.")
        if len(requests_) > MAX_BATCH:
            return self._graph_error(
                400, "BadRequest", f"Number of batch requests exceeds the limit of {MAX_BATCH}."
            )
        ids = [str(r.get("id")) for r in requests_]
        if len(set(ids)) != len(ids):
            return self._graph_error(400, "BadRequest", "Batch request ids must be unique.")
        per_mailbox: dict[str, int] = {}
        responses: list[dict[str, Any]] = []
        for sub in requests_:
            rid = str(sub.get("id"))
            method = str(sub.get("method", "GET")).upper()
            url = str(sub.get("url", ""))
            if not url.startswith("/"):
                url = "/" + url
            parts = urlsplit(url)
            sub_body = sub.get("body")
            raw = json.dumps(sub_body).encode("utf-8") if sub_body is not None else b""
            mailbox = _mailbox_of(parts.path)
            answer: _Answer
            if mailbox is not None:
                per_mailbox[mailbox] = per_mailbox.get(mailbox, 0) + 1
            rule = self.faults.pick(method, parts.path, parts.query, in_batch=True)
            if rule is not None:
                answer = self._graph_error(
                    rule.status, rule.code, rule.message, retry_after=rule.retry_after
                )
            elif mailbox is not None and per_mailbox[mailbox] > MAILBOX_CONCURRENCY:
                answer = self._graph_error(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    retry_after=self.mailbox_retry_after,
                )
            else:
                sub_headers = {
                    str(k).lower(): str(v) for k, v in (sub.get("headers") or {}).items()
                }
                answer = self._route(method, parts.path, parts.query, raw, sub_headers)
            self.log(
                LoggedRequest(
                    method,
                    GRAPH_VERSION + unquote(parts.path),
                    answer.status,
                    parts.query,
                    in_batch=True,
                    authorized=True,
                )
            )
            item: dict[str, Any] = {"id": rid, "status": answer.status}
            out_headers = dict(answer.headers)
            if answer.body is not None:
                out_headers.setdefault("Content-Type", answer.content_type)
                item["body"] = answer.body
            if out_headers:
                item["headers"] = out_headers
            responses.append(item)
        self._random.shuffle(responses)
        return _Answer(200, {"responses": responses})

    # -- paging helpers ------------------------------------------------------------------------

    def _page(
        self, path: str, params: dict[str, str], items: list[dict[str, Any]]
    ) -> dict[str, Any]:
        top = _int(params.get("$top"), self.page_size)
        skip = _int(params.get("$skip"), 0)
        page = items[skip : skip + top]
        result: dict[str, Any] = {"value": page}
        if skip + top < len(items):
            next_params = dict(params)
            next_params["$skip"] = str(skip + top)
            next_params["$top"] = str(top)
            encoded = urlencode(next_params, safe="$(),=/:'")
            result["@odata.nextLink"] = f"{self.graph_base_url}{quote(path)}?{encoded}"
        return result

    # -- SharePoint ----------------------------------------------------------------------------

    def _site(self, site_id: str) -> Any:
        site = self.state.sites.get(site_id)
        if site is None:
            raise GraphRequestError(404, "itemNotFound", "The requested site was not found.")
        return site

    def _list(self, site_id: str, list_id: str) -> FakeList:
        lst = self._site(site_id).lists.get(list_id)
        if lst is None:
            raise GraphRequestError(404, "itemNotFound", "The requested list was not found.")
        return lst  # type: ignore[no-any-return]

    def _get_site(self, params: dict[str, str], payload: Any, site_id: str) -> _Answer:
        site = self._site(site_id)
        return _Answer(200, {"id": site.id, "displayName": site.name, "name": site.name})

    def _get_lists(self, params: dict[str, str], payload: Any, site_id: str) -> _Answer:
        site = self._site(site_id)
        lists = [{"id": lst.id, "displayName": lst.name} for lst in site.lists.values()]
        return _Answer(200, {"value": lists})

    def _list_items(
        self, params: dict[str, str], payload: Any, site_id: str, list_id: str
    ) -> _Answer:
        lst = self._list(site_id, list_id)
        expand = params.get("expand", params.get("$expand", ""))
        with_fields = expand.startswith("fields")
        items = [
            lst.items[k].as_graph(with_fields=with_fields)
            for k in sorted(lst.items, key=_natural_key)
        ]
        path = f"/sites/{site_id}/lists/{list_id}/items"
        return _Answer(200, self._page(path, params, items))

    def _list_item(
        self, params: dict[str, str], payload: Any, site_id: str, list_id: str, item_id: str
    ) -> _Answer:
        item = self._list(site_id, list_id).items.get(item_id)
        if item is None:
            raise GraphRequestError(404, "itemNotFound", "The requested item was not found.")
        return _Answer(200, item.as_graph())

    def _list_delta(
        self, params: dict[str, str], payload: Any, site_id: str, list_id: str
    ) -> _Answer:
        lst = self._list(site_id, list_id)
        path = f"/sites/{site_id}/lists/{list_id}/items/delta"
        if "token" in params:
            try:
                state = json.loads(_b64url_decode(params["token"]))
                since, upto, skip = int(state["since"]), int(state["upto"]), int(state["skip"])
                kind = str(state["kind"])
            except (ValueError, KeyError, TypeError):
                raise GraphRequestError(400, "invalidRequest", "Invalid delta token.") from None
            if kind == "delta":
                if since < lst.delta_floor:
                    raise GraphRequestError(
                        410,
                        "resyncRequired",
                        "Resync required. Replace any local items with the server's version.",
                    )
                upto, skip = self.state.version, 0
        else:
            since, upto, skip = 0, self.state.version, 0
        # A round covers the changes in (since, upto]; a full sync (since 0) lists live items.
        changes: list[dict[str, Any]] = [
            lst.items[key].as_graph()
            for key in sorted(lst.items, key=_natural_key)
            if since < lst.items[key].version <= upto
        ]
        if since:
            changes += [
                {"id": key, "deleted": {"state": "deleted"}}
                for key, version in sorted(lst.tombstones.items())
                if since < version <= upto
            ]
        top = _int(params.get("$top"), self.page_size)
        result: dict[str, Any] = {"value": changes[skip : skip + top]}
        if skip + top < len(changes):
            state = {"since": since, "upto": upto, "skip": skip + top, "kind": "next"}
            token = _b64url(json.dumps(state).encode())
            result["@odata.nextLink"] = f"{self.graph_base_url}{path}?token={token}&$top={top}"
        else:
            state = {"since": upto, "upto": upto, "skip": 0, "kind": "delta"}
            token = _b64url(json.dumps(state).encode())
            result["@odata.deltaLink"] = f"{self.graph_base_url}{path}?token={token}"
        return _Answer(200, result)

    # -- drives --------------------------------------------------------------------------------

    def _redirect_to(self, drive_id: str, item_id: str) -> _Answer:
        key = uuid.uuid4().hex
        self._downloads[key] = (drive_id, item_id)
        return _Answer(302, None, {"Location": f"{self.authority_host}/_download/{key}"})

    def _drive_content(
        self, params: dict[str, str], payload: Any, drive_id: str, path: str
    ) -> _Answer:
        item = self.state.find_file(drive_id, path)
        if item is None:
            raise GraphRequestError(404, "itemNotFound", "The resource could not be found.")
        return self._redirect_to(drive_id, item.id)

    def _site_content(
        self, params: dict[str, str], payload: Any, site_id: str, path: str
    ) -> _Answer:
        return self._drive_content(params, payload, self._site(site_id).drive_id, path)

    def _drive_item_content(
        self, params: dict[str, str], payload: Any, drive_id: str, item_id: str
    ) -> _Answer:
        if self.state.find_file_by_id(drive_id, item_id) is None:
            raise GraphRequestError(404, "itemNotFound", "The resource could not be found.")
        return self._redirect_to(drive_id, item_id)

    def _drive_item(
        self, params: dict[str, str], payload: Any, drive_id: str, path: str
    ) -> _Answer:
        item = self.state.find_file(drive_id, path)
        if item is None:
            raise GraphRequestError(404, "itemNotFound", "The resource could not be found.")
        return _Answer(200, item.as_graph(drive_id))

    def _site_item(self, params: dict[str, str], payload: Any, site_id: str, path: str) -> _Answer:
        return self._drive_item(params, payload, self._site(site_id).drive_id, path)

    def _download(self, path: str) -> _Answer:
        key = path.rsplit("/", 1)[-1]
        with self.state.lock:
            target = self._downloads.get(key)
            item = self.state.find_file_by_id(*target) if target else None
            if item is None:
                return _Answer(404, b"", content_type="text/plain")
            return _Answer(200, bytes(item.content), content_type="application/octet-stream")

    # -- mail ----------------------------------------------------------------------------------

    def _mailbox(self, upn: str) -> FakeMailbox:
        box = self.state.mailbox(upn)
        if box is None:
            raise GraphRequestError(404, "ErrorInvalidUser", "The requested user is invalid.")
        return box

    def _message(self, upn: str, message_id: str) -> dict[str, Any]:
        box = self._mailbox(upn)
        msg = box.messages.get(message_id)
        if msg is None:
            raise GraphRequestError(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return msg

    @staticmethod
    def _check_message(message: Any) -> dict[str, Any]:
        if not isinstance(message, dict):
            raise GraphRequestError(400, "ErrorInvalidRequest", "A message is required.")
        for header in message.get("internetMessageHeaders") or []:
            name = str(header.get("name", ""))
            if not name.lower().startswith("x-"):
                raise GraphRequestError(
                    400,
                    "InvalidInternetMessageHeader",
                    "The internet message header name should start with 'x-' or 'X-'.",
                )
        attachments = []
        for attachment in message.get("attachments") or []:
            try:
                content = base64.b64decode(attachment.get("contentBytes", ""), validate=True)
            except ValueError:
                raise GraphRequestError(
                    400, "ErrorInvalidRequest", "Attachment contentBytes is not base64."
                ) from None
            stored = dict(attachment)
            stored.setdefault("@odata.type", "#microsoft.graph.fileAttachment")
            stored["id"] = new_id("AAMkAtt")
            stored["size"] = len(content)
            attachments.append(stored)
        out = copy.deepcopy(message)
        out["attachments"] = attachments
        return out

    def _send_mail(self, params: dict[str, str], payload: Any, upn: str) -> _Answer:
        box = self._mailbox(upn)
        if not isinstance(payload, dict):
            raise GraphRequestError(400, "ErrorInvalidRequest", "Empty request body.")
        message = self._check_message(payload.get("message"))
        recipients = [
            *message.get("toRecipients", []),
            *message.get("ccRecipients", []),
            *message.get("bccRecipients", []),
        ]
        if not recipients:
            raise GraphRequestError(
                400, "ErrorInvalidRecipients", "At least one recipient is not valid."
            )
        if payload.get("saveToSentItems", True) not in (False, "false", "False"):
            now = utc_now()
            message.update(
                {
                    "from": {"emailAddress": {"address": box.upn}},
                    "sender": {"emailAddress": {"address": box.upn}},
                    "sentDateTime": now,
                    "receivedDateTime": now,
                    "isDraft": False,
                    "isRead": True,
                }
            )
            self.state.store_message(box.upn, "sentitems", message)
        return _Answer(202)

    def _create_draft(self, params: dict[str, str], payload: Any, upn: str) -> _Answer:
        box = self._mailbox(upn)
        message = self._check_message(payload)
        message.update({"isDraft": True, "from": {"emailAddress": {"address": box.upn}}})
        stored = self.state.store_message(box.upn, "drafts", message)
        return _Answer(201, _public_message(stored, None))

    def _all_messages(self, params: dict[str, str], payload: Any, upn: str) -> _Answer:
        box = self._mailbox(upn)
        return self._message_listing(f"/users/{upn}/messages", params, list(box.messages.values()))

    def _folder_messages(
        self, params: dict[str, str], payload: Any, upn: str, folder: str
    ) -> _Answer:
        box = self._mailbox(upn)
        key = folder.lower()
        if key not in WELL_KNOWN_FOLDERS:
            raise GraphRequestError(
                404, "ErrorInvalidIdMalformed", "Id is malformed or the folder does not exist."
            )
        path = f"/users/{upn}/mailFolders/{folder}/messages"
        return self._message_listing(path, params, box.folder(key))

    def _message_listing(
        self, path: str, params: dict[str, str], messages: list[dict[str, Any]]
    ) -> _Answer:
        selected = _select(params.get("$select"))
        chosen = [m for m in messages if _matches_filter(m, params.get("$filter"))]
        order = params.get("$orderby", "receivedDateTime desc").split()
        reverse = len(order) > 1 and order[1].lower() == "desc"
        chosen.sort(key=lambda m: (str(_field(m, order[0]) or ""), m["id"]), reverse=reverse)
        items = [_public_message(m, selected) for m in chosen]
        return _Answer(200, self._page(path, params, items))

    def _get_message(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> _Answer:
        msg = self._message(upn, message_id)
        return _Answer(200, _public_message(msg, _select(params.get("$select"))))

    def _patch_message(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> _Answer:
        msg = self._message(upn, message_id)
        if not isinstance(payload, dict):
            raise GraphRequestError(400, "ErrorInvalidRequest", "Empty request body.")
        payload = {k: v for k, v in payload.items() if k not in ("id", "attachments")}
        if not msg.get("isDraft") and set(payload) - {"isRead", "categories", "flag"}:
            raise GraphRequestError(
                400, "ErrorInvalidRequest", "Only drafts can be changed beyond their flags."
            )
        msg.update(copy.deepcopy(payload))
        msg["lastModifiedDateTime"] = utc_now()
        return _Answer(200, _public_message(msg, None))

    def _delete_message(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> _Answer:
        self._message(upn, message_id)
        box = self._mailbox(upn)
        del box.messages[message_id]
        box.folder_of.pop(message_id, None)
        return _Answer(204)

    def _send_draft(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> _Answer:
        msg = self._message(upn, message_id)
        box = self._mailbox(upn)
        if not msg.get("isDraft"):
            raise GraphRequestError(
                400, "ErrorInvalidOperation", "Only a draft message can be sent."
            )
        if not [*msg.get("toRecipients", []), *msg.get("ccRecipients", [])]:
            raise GraphRequestError(
                400, "ErrorInvalidRecipients", "At least one recipient is not valid."
            )
        now = utc_now()
        msg.update({"isDraft": False, "sentDateTime": now, "receivedDateTime": now})
        box.folder_of[message_id] = "sentitems"
        return _Answer(202)

    def _add_attachment(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> _Answer:
        msg = self._message(upn, message_id)
        checked = self._check_message({"attachments": [payload or {}]})["attachments"][0]
        if checked["size"] > 3 * 1024 * 1024:
            raise GraphRequestError(
                413,
                "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                "Attachments over 3 MB must use an upload session.",
            )
        msg["attachments"].append(checked)
        msg["hasAttachments"] = True
        return _Answer(201, {k: v for k, v in checked.items() if k != "contentBytes"})

    def _get_attachments(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> _Answer:
        msg = self._message(upn, message_id)
        return _Answer(200, {"value": copy.deepcopy(msg["attachments"])})

    def _create_upload_session(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> _Answer:
        msg = self._message(upn, message_id)
        if not msg.get("isDraft"):
            raise GraphRequestError(
                400, "ErrorInvalidOperation", "Attachments can be uploaded to drafts only."
            )
        item = (payload or {}).get("AttachmentItem") or {}
        if item.get("attachmentType") != "file" or not item.get("name") or not item.get("size"):
            raise GraphRequestError(
                400, "ErrorInvalidRequest", "AttachmentItem needs attachmentType, name and size."
            )
        if int(item["size"]) > 150 * 1024 * 1024:
            raise GraphRequestError(400, "ErrorInvalidRequest", "Attachments are at most 150 MB.")
        key = uuid.uuid4().hex
        self._uploads[key] = _UploadSession(
            self._mailbox(upn).upn,
            message_id,
            str(item["name"]),
            int(item["size"]),
            str(item.get("contentType", "application/octet-stream")),
        )
        return _Answer(
            201,
            {
                "uploadUrl": f"{self.authority_host}/_upload/{key}",
                "expirationDateTime": "2099-01-01T00:00:00Z",
                "nextExpectedRanges": ["0-"],
            },
        )

    def _upload(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Answer:
        key = path.rsplit("/", 1)[-1]
        with self.state.lock:
            session = self._uploads.get(key)
            if session is None or method != "PUT":
                return self._graph_error(404, "ErrorItemNotFound", "Upload session not found.")
            if "authorization" in headers:
                # The upload URL is pre-authenticated; Outlook rejects a bearer token on it.
                return self._graph_error(
                    401, "InvalidAuthenticationToken", "Do not send Authorization to uploadUrl."
                )
            match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers.get("content-range", ""))
            if not match:
                return self._graph_error(400, "InvalidRange", "Content-Range is required.")
            start, end, total = (int(g) for g in match.groups())
            if (
                total != session.size
                or start != len(session.received)
                or end - start + 1 != len(body)
                or len(body) > MAX_UPLOAD_CHUNK
            ):
                return self._graph_error(
                    416, "InvalidRange", "The uploaded range is not the next expected range."
                )
            session.received.extend(body)
            if len(session.received) < session.size:
                return _Answer(
                    200,
                    {
                        "expirationDateTime": "2099-01-01T00:00:00Z",
                        "nextExpectedRanges": [f"{len(session.received)}-"],
                    },
                )
            box = self.state.mailbox(session.mailbox)
            msg = box.messages.get(session.message_id) if box else None
            if msg is None:
                return self._graph_error(404, "ErrorItemNotFound", "The draft is gone.")
            attachment_id = new_id("AAMkAtt")
            msg["attachments"].append(
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "id": attachment_id,
                    "name": session.name,
                    "contentType": session.content_type,
                    "size": session.size,
                    "contentBytes": base64.b64encode(bytes(session.received)).decode("ascii"),
                }
            )
            msg["hasAttachments"] = True
            del self._uploads[key]
            location = (
                f"{self.graph_base_url}/users/{quote(session.mailbox)}/messages/"
                f"{session.message_id}/attachments/{attachment_id}"
            )
            return _Answer(201, None, {"Location": location})

    # -- calendar ------------------------------------------------------------------------------

    def _event(self, upn: str, event_id: str) -> dict[str, Any]:
        event = self._mailbox(upn).events.get(event_id)
        if event is None:
            raise GraphRequestError(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return event

    @staticmethod
    def _check_event(event: dict[str, Any]) -> None:
        for key in ("start", "end"):
            value = event.get(key)
            if not isinstance(value, dict) or not value.get("dateTime"):
                raise GraphRequestError(
                    400, "ErrorInvalidRequest", f"The event needs {key}.dateTime and timeZone."
                )

    def _online_meeting(self, event: dict[str, Any]) -> None:
        if event.get("isOnlineMeeting") and event.get(
            "onlineMeetingProvider", "teamsForBusiness"
        ) in ("teamsForBusiness",):
            event["onlineMeetingProvider"] = "teamsForBusiness"
            event.setdefault(
                "onlineMeeting",
                {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/fake-{uuid.uuid4().hex}"},
            )
        elif not event.get("isOnlineMeeting"):
            event["onlineMeeting"] = None

    def _create_event(self, params: dict[str, str], payload: Any, upn: str) -> _Answer:
        box = self._mailbox(upn)
        if not isinstance(payload, dict):
            raise GraphRequestError(400, "ErrorInvalidRequest", "Empty request body.")
        transaction = payload.get("transactionId")
        if transaction and transaction in box.event_by_transaction:
            existing = box.events.get(box.event_by_transaction[transaction])
            if existing is not None:
                return _Answer(201, copy.deepcopy(existing))
        self._check_event(payload)
        event = copy.deepcopy(payload)
        now = utc_now()
        event_id = new_id("AAMkEv")
        event.update(
            {
                "id": event_id,
                "iCalUId": new_id("040000008200E00074C5B7101A82E008"),
                "changeKey": new_id(),
                "createdDateTime": now,
                "lastModifiedDateTime": now,
                "isCancelled": False,
                "organizer": {"emailAddress": {"address": box.upn}},
                "webLink": f"https://outlook.office365.com/owa/?itemid={event_id}",
            }
        )
        event.setdefault("attendees", [])
        for attendee in event["attendees"]:
            attendee.setdefault("type", "required")
            attendee["status"] = {"response": "none", "time": "0001-01-01T00:00:00Z"}
        self._online_meeting(event)
        box.events[event_id] = event
        if transaction:
            box.event_by_transaction[transaction] = event_id
        return _Answer(201, copy.deepcopy(event))

    def _list_events(self, params: dict[str, str], payload: Any, upn: str) -> _Answer:
        box = self._mailbox(upn)
        events = sorted(box.events.values(), key=lambda e: (e["start"]["dateTime"], e["id"]))
        chosen = [copy.deepcopy(e) for e in events if _matches_filter(e, params.get("$filter"))]
        return _Answer(200, self._page(f"/users/{upn}/events", params, chosen))

    def _calendar_view(self, params: dict[str, str], payload: Any, upn: str) -> _Answer:
        box = self._mailbox(upn)
        start, end = params.get("startDateTime"), params.get("endDateTime")
        if not start or not end:
            raise GraphRequestError(
                400, "ErrorInvalidParameter", "startDateTime and endDateTime are required."
            )
        lo, hi = _parse_time(start), _parse_time(end)
        chosen = [
            copy.deepcopy(e)
            for e in sorted(box.events.values(), key=lambda e: (e["start"]["dateTime"], e["id"]))
            if not e.get("isCancelled")
            and _parse_time(e["start"]["dateTime"]) < hi
            and _parse_time(e["end"]["dateTime"]) > lo
        ]
        return _Answer(200, self._page(f"/users/{upn}/calendarView", params, chosen))

    def _get_event(self, params: dict[str, str], payload: Any, upn: str, event_id: str) -> _Answer:
        return _Answer(200, copy.deepcopy(self._event(upn, event_id)))

    def _patch_event(
        self, params: dict[str, str], payload: Any, upn: str, event_id: str
    ) -> _Answer:
        event = self._event(upn, event_id)
        if not isinstance(payload, dict):
            raise GraphRequestError(400, "ErrorInvalidRequest", "Empty request body.")
        if event.get("isCancelled"):
            raise GraphRequestError(
                400, "ErrorInvalidOperation", "A cancelled event cannot be changed."
            )
        changes = {
            k: v
            for k, v in payload.items()
            if k not in ("id", "iCalUId", "organizer", "createdDateTime")
        }
        event.update(copy.deepcopy(changes))
        self._check_event(event)
        self._online_meeting(event)
        event["changeKey"] = new_id()
        event["lastModifiedDateTime"] = utc_now()
        return _Answer(200, copy.deepcopy(event))

    def _delete_event(
        self, params: dict[str, str], payload: Any, upn: str, event_id: str
    ) -> _Answer:
        self._event(upn, event_id)
        del self._mailbox(upn).events[event_id]
        return _Answer(204)

    def _cancel(self, params: dict[str, str], payload: Any, upn: str, event_id: str) -> _Answer:
        event = self._event(upn, event_id)
        event["isCancelled"] = True
        body = {str(k).lower(): v for k, v in (payload or {}).items()}
        event["cancellationComment"] = body.get("comment", "")
        event["changeKey"] = new_id()
        event["lastModifiedDateTime"] = utc_now()
        return _Answer(202)


# -- module helpers --------------------------------------------------------------------------


_MESSAGE_DEFAULT_FIELDS = (
    "id",
    "subject",
    "body",
    "bodyPreview",
    "from",
    "sender",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "conversationId",
    "internetMessageId",
    "createdDateTime",
    "lastModifiedDateTime",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "isDraft",
    "isRead",
    "importance",
    "categories",
    "parentFolderId",
)


def _public_message(message: dict[str, Any], selected: list[str] | None) -> dict[str, Any]:
    """A message as Graph lists it: internetMessageHeaders only when ``$select``-ed."""
    fields = selected if selected else list(_MESSAGE_DEFAULT_FIELDS)
    out = {k: copy.deepcopy(message[k]) for k in fields if k in message and k != "attachments"}
    out["id"] = message["id"]
    return out


def _select(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _field(obj: dict[str, Any], path: str) -> Any:
    current: Any = obj
    for part in path.split("/"):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


_CLAUSE_RE = re.compile(r"^\s*([\w/]+)\s+(eq|ne|ge|gt|le|lt)\s+(.+?)\s*$", re.IGNORECASE)


def _matches_filter(obj: dict[str, Any], expression: str | None) -> bool:
    """A small OData ``$filter``: clauses joined by ``and``, comparing a field to a literal."""
    if not expression:
        return True
    for clause in re.split(r"\s+and\s+", expression.strip(), flags=re.IGNORECASE):
        match = _CLAUSE_RE.match(clause)
        if not match:
            raise GraphRequestError(400, "BadRequest", "Invalid filter clause.")
        name, op, literal = match.group(1), match.group(2).lower(), match.group(3)
        actual = _field(obj, name)
        expected: Any
        if literal.startswith("'") and literal.endswith("'"):
            expected = literal[1:-1].replace("''", "'")
        elif literal.lower() in ("true", "false"):
            expected = literal.lower() == "true"
        else:
            expected = literal
        if isinstance(expected, str) and re.match(r"^\d{4}-\d{2}-\d{2}T", expected):
            if actual is None:
                return False
            left: Any = _parse_time(str(actual))
            right: Any = _parse_time(expected)
        else:
            left, right = actual, expected
        try:
            ok = {
                "eq": left == right,
                "ne": left != right,
                "ge": left >= right,
                "gt": left > right,
                "le": left <= right,
                "lt": left < right,
            }[op]
        except TypeError:
            ok = False
        if not ok:
            return False
    return True


def _parse_time(value: str) -> datetime:
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = re.match(r"\d*", tail)
        frac = digits.group(0) if digits else ""
        text = head + "." + frac[:6].ljust(6, "0") + tail[len(frac) :]
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(value: str | None, default: int) -> int:
    try:
        return max(int(value), 0) if value is not None else default
    except ValueError:
        return default


def _natural_key(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 62, key)


def _mailbox_of(path: str) -> str | None:
    match = re.match(r"^/(?:users|groups)/([^/]+)", path, re.IGNORECASE)
    return unquote(match.group(1)).lower() if match else None


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(address, handler)
        # The handshake happens on the first read, in the handler's thread, so one slow client
        # cannot stall the accept loop.
        self.socket = context.wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )


class _Handler(BaseHTTPRequestHandler):
    owner: FakeMicrosoft365
    protocol_version = "HTTP/1.1"
    # Headers and body in one write, and no Nagle: otherwise every answer waits for a delayed ACK.
    wbufsize = -1
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        answer = self.owner.handle(self.command, self.path, headers, body)
        if isinstance(answer.body, bytes):
            payload = answer.body
        elif answer.body is None:
            payload = b""
        else:
            payload = json.dumps(answer.body).encode("utf-8")
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ssl.SSLError, ConnectionError):
            self.close_connection = True

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_PATCH = _serve
    do_DELETE = _serve
