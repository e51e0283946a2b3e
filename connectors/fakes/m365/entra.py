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

Staff sign-in (issue 14): the authorization code flow with PKCE as ``msal`` runs it. Users are
added with :meth:`FakeEntra.add_user` (object id, user name, display name, app roles) and
redirect URIs with :meth:`FakeEntra.allow_redirect`. ``GET /{tenant}/oauth2/v2.0/authorize``
checks the client, redirect URI, ``response_type=code``, an S256 ``code_challenge`` and the
``openid`` scope, then shows a sign-in page with a button per user (a ``login_hint`` that names a
user signs in at once); ``POST`` of that page redirects back with ``code`` and ``state``. The
``authorization_code`` grant checks the client's secret, the code (once, within 10 minutes), the
redirect URI and the PKCE verifier, and returns an access token and an id token signed RS256
with the tenant's key (``kid``), carrying ``iss``, ``aud``, ``tid``, ``oid``, ``sub``,
``preferred_username``, ``name``, ``roles``, ``nonce``, ``iat``, ``nbf`` and ``exp``. The key set
is at ``GET /{tenant}/discovery/v2.0/keys``; :meth:`FakeEntra.rotate_signing_key` replaces the key
(tokens signed with the old one no longer verify).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from connectors.fakes._server import Answer, Request, Router
from connectors.fakes.m365.odata import graph_error

ACCESS_TOKEN_TTL = 3600
CODE_TTL = 600  # seconds an authorization code may be redeemed in
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


@dataclass(frozen=True)
class FakeUser:
    """A member of the tenant who can sign in, with the app roles assigned to them."""

    object_id: str
    username: str  # preferred_username (user principal name)
    display_name: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class _PendingCode:
    user: FakeUser
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    scope: str
    expires: float


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


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
        self._grants: dict[str, Grant] = {
            "client_credentials": self._client_credentials,
            "authorization_code": self._authorization_code,
        }
        self.users: dict[str, FakeUser] = {}
        self.redirect_uris: set[str] = set()
        self._codes: dict[str, _PendingCode] = {}
        self._signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)
        self.id_token_lifetime = ACCESS_TOKEN_TTL

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
                ("GET", r"/[^/]+/oauth2/v2\.0/authorize", self._authorize),
                ("POST", r"/[^/]+/oauth2/v2\.0/authorize", self._authorize_choice),
                ("GET", r"/[^/]+/discovery/v2\.0/keys", self._keys),
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

    # -- staff sign-in: users, the authorize endpoint, the code grant and the key set -------

    def add_user(
        self, object_id: str, username: str, display_name: str, roles: Iterable[str] = ()
    ) -> FakeUser:
        user = FakeUser(object_id, username, display_name, tuple(roles))
        with self._lock:
            self.users[object_id] = user
        return user

    def allow_redirect(self, redirect_uri: str) -> None:
        """Register a redirect URI on the app (Entra refuses any other: AADSTS50011)."""
        with self._lock:
            self.redirect_uris.add(redirect_uri)

    def rotate_signing_key(self) -> None:
        with self._lock:
            self._signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self._kid = secrets.token_hex(8)

    def _authorize_problem(self, params: dict[str, str]) -> str | None:
        if params.get("client_id") != self.client_id:
            return f"AADSTS700016: Application with identifier '{params.get('client_id')}' was not found."
        if params.get("redirect_uri") not in self.redirect_uris:
            return "AADSTS50011: The redirect URI specified in the request does not match."
        if params.get("response_type") != "code":
            return "AADSTS700054: response_type 'code' is expected."
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "AADSTS9002325: Proof Key for Code Exchange is required (S256)."
        if "openid" not in params.get("scope", "").split():
            return "AADSTS900144: The request body must contain the scope 'openid'."
        return None

    def _authorize(self, request: Request) -> Answer:
        params = {k: v[0] for k, v in request.params.items()}
        problem = self._authorize_problem(params)
        if problem is not None:
            return Answer(
                400,
                _page("Sign-in error", f"<p>{html.escape(problem)}</p>"),
                content_type="text/html; charset=utf-8",
            )
        hint = params.get("login_hint", "").lower()
        chosen = next((u for u in self.users.values() if u.username.lower() == hint), None)
        if chosen is not None:
            return self._redirect_with_code(params, chosen)
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
        )
        buttons = "".join(
            f'<form method="post">{fields}<button name="user" value="{html.escape(u.object_id)}">'
            f"Sign in as {html.escape(u.display_name)}</button></form>"
            for u in self.users.values()
        )
        return Answer(
            200, _page("Sign in to your account", buttons), content_type="text/html; charset=utf-8"
        )

    def _authorize_choice(self, request: Request) -> Answer:
        params = {k: v[0] for k, v in request.form().items()}
        problem = self._authorize_problem(params)
        user = self.users.get(params.pop("user", ""))
        if problem is not None or user is None:
            return Answer(
                400,
                _page("Sign-in error", "<p>AADSTS50020: unknown user.</p>"),
                content_type="text/html; charset=utf-8",
            )
        return self._redirect_with_code(params, user)

    def _redirect_with_code(self, params: dict[str, str], user: FakeUser) -> Answer:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _PendingCode(
                user=user,
                client_id=params["client_id"],
                redirect_uri=params["redirect_uri"],
                challenge=params["code_challenge"],
                nonce=params.get("nonce", ""),
                scope=params.get("scope", ""),
                expires=time.time() + CODE_TTL,
            )
        answer: dict[str, str] = {"code": code}
        if "state" in params:
            answer["state"] = params["state"]
        target = params["redirect_uri"]
        separator = "&" if urlsplit(target).query else "?"
        return Answer(302, None, headers={"Location": f"{target}{separator}{urlencode(answer)}"})

    def _authorization_code(self, form: dict[str, str]) -> Answer:
        self.authenticate_client(form)
        with self._lock:
            pending = self._codes.pop(form.get("code", ""), None)
        if pending is None or pending.expires < time.time():
            raise AadError(
                400,
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired or was already used.",
            )
        if form.get("redirect_uri") != pending.redirect_uri:
            raise AadError(
                400,
                "invalid_grant",
                50011,
                "The redirect URI does not match the one the code was issued for.",
            )
        verifier = form.get("code_verifier", "")
        if _b64url(hashlib.sha256(verifier.encode("ascii")).digest()) != pending.challenge:
            raise AadError(
                400,
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            )
        answer = self.issue_tokens()
        answer["id_token"] = self.id_token(pending.user, nonce=pending.nonce)
        answer["scope"] = pending.scope
        return Answer(200, answer)

    def id_token(self, user: FakeUser, *, nonce: str = "", audience: str | None = None) -> str:
        """An id token for ``user``, signed RS256 with the tenant's current key."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": audience or self.client_id,
            "tid": self.tenant_id,
            "oid": user.object_id,
            "sub": hashlib.sha256(f"{user.object_id}/{self.client_id}".encode()).hexdigest()[:43],
            "preferred_username": user.username,
            "name": user.display_name,
            "roles": list(user.roles),
            "iat": now,
            "nbf": now,
            "exp": now + self.id_token_lifetime,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        with self._lock:
            key, kid = self._signing_key, self._kid
        header = {"typ": "JWT", "alg": "RS256", "kid": kid}
        signed = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = key.sign(signed.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signed}.{_b64url(signature)}"

    def _keys(self, request: Request) -> Answer:
        with self._lock:
            public, kid = self._signing_key.public_key(), self._kid
        numbers = public.public_numbers()
        key = {
            "kty": "RSA",
            "use": "sig",
            "kid": kid,
            "alg": "RS256",
            "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": _b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
            "issuer": self.issuer,
        }
        return Answer(200, {"keys": [key]})

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


def _page(title: str, body: str) -> bytes:
    """A minimal HTML page of the fake's sign-in screens."""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title></head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    ).encode()
