"""The fake Microsoft Entra ID: the authority that the real ``msal`` library talks to, unpatched.

This module owns :class:`FakeEntra`: instance discovery (``/common/discovery/instance``), the
tenant's OpenID Connect metadata (``/{tenant}/v2.0/.well-known/openid-configuration``) and the
token endpoint (``/{tenant}/oauth2/v2.0/token``), the access tokens it issued (Graph checks them
through :meth:`FakeEntra.token_expiry`) and errors with the real AADSTS codes:

=========  ===========================================================
70003      unsupported grant type
700016     unknown application (client id)
7000215    wrong client secret
7000218    neither a secret nor an assertion
700023     malformed client assertion, wrong type or algorithm
700027     assertion not signed by the registered certificate
700021     assertion audience, issuer or subject wrong
700024     assertion expired or not yet valid
1002012    scope without ``/.default``
65001      no admin consent (``admin_consent = False``)
90002      unknown tenant
=========  ===========================================================

A client authenticates with its secret or with a client assertion JWT verified against the
registered certificate's public key (RS256 with ``x5t``, or PS256 with ``x5t#S256``).

How it grows (the staff sign-in, issue 14): routes live in :meth:`FakeEntra._routes` and grant
types in ``self._grants``; an authorize endpoint (``GET /{tenant}/oauth2/v2.0/authorize``, with
PKCE), the key set (``GET /{tenant}/discovery/v2.0/keys``, already advertised as ``jwks_uri``) and
an ``authorization_code`` grant that returns a signed id token are one route or one grant each;
:meth:`FakeEntra.authenticate_client` and :meth:`FakeEntra.issue_tokens` serve them as they serve
client credentials.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from connectors.fakes._server import Answer, Request, Router
from connectors.fakes.m365.odata import graph_error

ACCESS_TOKEN_TTL = 3600
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW = 300  # seconds Entra tolerates on an assertion's exp and nbf

AuthorityHandler = Callable[..., Answer]  # handler(request, *path_groups) -> Answer
Grant = Callable[[dict[str, str]], Answer]  # the token endpoint's form -> answer


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _known_thumbprint(header: dict[str, Any], sha1: bytes, sha256: bytes) -> bool:
    """True when the JWT header names the registered certificate (``x5t#S256`` or ``x5t``)."""
    if "x5t#S256" in header:
        return _b64url_decode(str(header["x5t#S256"])) == sha256
    if "x5t" in header:
        return _b64url_decode(str(header["x5t"])) == sha1
    return False


class AadError(Exception):
    """An AADSTS error: raised inside a grant, answered by the token endpoint."""

    def __init__(self, status: int, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.code = code
        self.description = description


class FakeEntra:
    """One tenant with one registered application (a secret, a certificate, or both).

    ``authority_host`` gives the server's base URL (known once it listens). ``admin_consent``
    may be switched off to get AADSTS65001.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        authority_host: Callable[[], str],
        client_secret: str | None = None,
        certificate_pem: bytes | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.certificate_pem = certificate_pem
        self.admin_consent = True
        self._authority_host = authority_host
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self._public_key: rsa.RSAPublicKey | None = None
        self._thumbprints: tuple[bytes, bytes] | None = None
        if certificate_pem is not None:
            self._register_certificate(certificate_pem)
        self._router: Router[AuthorityHandler] = self._routes()
        self._grants: dict[str, Grant] = {"client_credentials": self._client_credentials}

    def _register_certificate(self, certificate_pem: bytes) -> None:
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

    # -- urls ------------------------------------------------------------------------------

    @property
    def tenant_url(self) -> str:
        return f"{self._authority_host()}/{self.tenant_id}"

    @property
    def issuer(self) -> str:
        return f"{self.tenant_url}/v2.0"

    @property
    def token_url(self) -> str:
        return f"{self.tenant_url}/oauth2/v2.0/token"

    # -- tokens, for the Graph side --------------------------------------------------------

    def token_expiry(self, token: str) -> float | None:
        """When an access token this tenant issued expires (epoch seconds); None: not ours."""
        with self._lock:
            return self._tokens.get(token)

    def issued_tokens(self) -> set[str]:
        with self._lock:
            return set(self._tokens)

    # -- the authority endpoints -----------------------------------------------------------

    def _routes(self) -> Router[AuthorityHandler]:
        """The tenant's endpoints (instance discovery, under /common, is answered apart)."""
        return Router(
            [
                ("GET", r"/[^/]+/v2\.0/\.well-known/openid-configuration", self._metadata),
                ("POST", r"/[^/]+/oauth2/v2\.0/token", self._token),
            ]
        )

    def handle(self, request: Request) -> Answer:
        """Answer a request to the authority (any path outside Graph's)."""
        segments = [s for s in request.raw_path.split("/") if s]
        if request.method == "GET" and segments[:3] == ["common", "discovery", "instance"]:
            return self._instance_discovery(request)
        if len(segments) >= 2 and segments[0] != self.tenant_id:
            return self.aad_error(
                400,
                "invalid_tenant" if "well-known" in request.raw_path else "invalid_request",
                90002,
                f"Tenant '{segments[0]}' not found. Check to make sure you have the correct "
                "tenant ID and are signing into the correct cloud.",
            )
        routed = self._router.resolve(request.method, request.raw_path)
        if routed is None:
            return graph_error(404, "NotFound", "Unknown authority endpoint.")
        return routed.handler(request, *routed.groups)

    def _instance_discovery(self, request: Request) -> Answer:
        netloc = self._authority_host().removeprefix("https://")
        return Answer(
            200,
            {
                "tenant_discovery_endpoint": f"{self.issuer}/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [
                    {"preferred_network": netloc, "preferred_cache": netloc, "aliases": [netloc]}
                ],
            },
        )

    def _metadata(self, request: Request) -> Answer:
        return Answer(200, self.openid_configuration())

    def openid_configuration(self) -> dict[str, Any]:
        tenant_url = self.tenant_url
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{tenant_url}/oauth2/v2.0/authorize",
            "token_endpoint": self.token_url,
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

    # -- the token endpoint ----------------------------------------------------------------

    def _token(self, request: Request) -> Answer:
        form = {k: v[0] for k, v in request.form().items()}
        grant = self._grants.get(form.get("grant_type", ""))
        try:
            if grant is None:
                raise AadError(
                    400,
                    "unsupported_grant_type",
                    70003,
                    "The app requested an unsupported grant type.",
                )
            return grant(form)
        except AadError as exc:
            return self.aad_error(exc.status, exc.error, exc.code, exc.description)

    def _client_credentials(self, form: dict[str, str]) -> Answer:
        self.authenticate_client(form)
        expected_scope = f"{self._authority_host()}/.default"
        if expected_scope not in form.get("scope", "").split():
            raise AadError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {form.get('scope')} is not valid. Client "
                "credential flows must have a scope value with /.default suffixed to the "
                "resource identifier (application ID URI).",
            )
        if not self.admin_consent:
            raise AadError(
                400,
                "invalid_grant",
                65001,
                f"The user or administrator has not consented to use the application with ID "
                f"'{self.client_id}'. Send an interactive authorization request for this user "
                "and resource.",
            )
        return Answer(200, self.issue_tokens())

    def issue_tokens(self) -> dict[str, Any]:
        """A token response with a new access token (valid for an hour)."""
        token = f"fake-at-{uuid.uuid4().hex}"
        with self._lock:
            self._tokens[token] = time.time() + ACCESS_TOKEN_TTL
        return {
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "ext_expires_in": ACCESS_TOKEN_TTL,
            "access_token": token,
        }

    def authenticate_client(self, form: dict[str, str]) -> None:
        """Raise :class:`AadError` unless the form names our app and proves it (secret or JWT)."""
        if form.get("client_id") != self.client_id:
            raise AadError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{form.get('client_id')}' was not found in the "
                f"directory '{self.tenant_id}'.",
            )
        if "client_secret" in form:
            if self.client_secret is None or form["client_secret"] != self.client_secret:
                raise AadError(
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
                raise AadError(401, "invalid_client", *problem)
        else:
            raise AadError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )

    # -- client assertions -----------------------------------------------------------------

    def _check_assertion(self, form: dict[str, str]) -> tuple[int, str] | None:
        """None when the client assertion is valid, else (AADSTS code, description)."""
        if form.get("client_assertion_type") != ASSERTION_TYPE:
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
        if not _known_thumbprint(header, *self._thumbprints):
            return (
                700027,
                "The certificate with identifier used to sign the client assertion is not "
                f"registered on application. [Reason - The key was not found., Thumbprint of "
                f"key used by client: '{header.get('x5t') or header.get('x5t#S256')}']",
            )
        signed = f"{head_b64}.{payload_b64}".encode("ascii")
        problem = self._check_signature(self._public_key, header.get("alg"), signature, signed)
        return problem or self._check_claims(payload)

    @staticmethod
    def _check_signature(
        key: rsa.RSAPublicKey, alg: Any, signature: bytes, signed: bytes
    ) -> tuple[int, str] | None:
        try:
            if alg == "RS256":
                key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            elif alg == "PS256":
                key.verify(
                    signature,
                    signed,
                    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                    hashes.SHA256(),
                )
            else:
                return 700023, f"Unsupported client assertion algorithm {alg}."
        except InvalidSignature:
            return 700027, "Client assertion contains an invalid signature."
        return None

    def _check_claims(self, payload: dict[str, Any]) -> tuple[int, str] | None:
        now = time.time()
        if payload.get("aud") != self.token_url:
            return 700021, "Client assertion audience claim does not match the token endpoint."
        if payload.get("iss") != self.client_id or payload.get("sub") != self.client_id:
            return 700021, "Client assertion issuer and subject must be the client id."
        if not isinstance(payload.get("exp"), int | float) or payload["exp"] < now - CLOCK_SKEW:
            return 700024, "Client assertion is not within its valid time range."
        if isinstance(payload.get("nbf"), int | float) and payload["nbf"] > now + CLOCK_SKEW:
            return 700024, "Client assertion is not within its valid time range."
        return None

    # -- errors ----------------------------------------------------------------------------

    def aad_error(self, status: int, error: str, code: int, description: str) -> Answer:
        """An error as Entra's token endpoint sends it (``error_description`` with AADSTS)."""
        trace = str(uuid.uuid4())
        correlation = str(uuid.uuid4())
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return Answer(
            status,
            {
                "error": error,
                "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
                f"Correlation ID: {correlation} Timestamp: {stamp}",
                "error_codes": [code],
                "timestamp": stamp,
                "trace_id": trace,
                "correlation_id": correlation,
                "error_uri": f"{self._authority_host()}/error?code={code}",
            },
        )
