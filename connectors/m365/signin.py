"""Staff sign-in with Microsoft Entra ID: OpenID Connect authorization code flow with PKCE.

This module owns :class:`StaffSignIn`: one MSAL ``ConfidentialClientApplication`` per
corporation and process (made on first use; MSAL fetches the tenant's discovery document then),
the start of a sign-in (``begin``: the address to send the browser to, and the flow state the web
application keeps until the browser comes back) and its end (``finish``: MSAL checks the state,
redeems the code with the PKCE verifier and checks the id token's audience, nonce and times; this
module then verifies the id token's RS256 signature against the tenant's key set and its issuer
and tenant). The result is :class:`SignedInUser`: object id, user name, display name, app roles.

Errors are :class:`SignInError` with a message for the operator that never holds a token, a code
or the secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from keukentafel.config.web import StaffSignInConfig

_MICROSOFT_AUTHORITY_HOSTS = frozenset(getattr(msal.authority, "WELL_KNOWN_AUTHORITY_HOSTS", ()))
CLOCK_SKEW = 300


class SignInError(Exception):
    """A sign-in that did not succeed; the message names why, never a token or a secret."""


@dataclass(frozen=True, slots=True)
class SignedInUser:
    object_id: str
    username: str
    display_name: str
    roles: tuple[str, ...]
    tenant_id: str


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _PinnedSession(requests.Session):
    """Verifies TLS with one CA bundle (a private cloud, the tests' fake) and applies a timeout."""

    def __init__(self, ca_bundle: str | None, timeout: float) -> None:
        super().__init__()
        self._ca_bundle = ca_bundle
        self._timeout = timeout

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if self._ca_bundle:
            kwargs["verify"] = self._ca_bundle
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


class StaffSignIn:
    """Sign-in for one corporation's staff; make one per process and corporation."""

    def __init__(self, config: StaffSignInConfig, env: Mapping[str, str]) -> None:
        self.config = config
        self._env = env
        self._lock = threading.Lock()
        self._app: msal.ConfidentialClientApplication | None = None
        self._http = _PinnedSession(config.ca_bundle, config.timeout_seconds)
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._keys_fetched = -1e9
        self.min_refetch_seconds = 60.0  # an unknown kid fetches the key set at most this often

    @property
    def issuer(self) -> str:
        return f"{self.config.authority}/v2.0"

    def _application(self) -> msal.ConfidentialClientApplication:
        with self._lock:
            if self._app is not None:
                return self._app
            secret = self._env.get(self.config.client_secret_env, "")
            if not secret:
                raise SignInError(
                    f"environment variable {self.config.client_secret_env} (client secret) "
                    "is not set"
                )
            host = urlsplit(self.config.authority_host).hostname or ""
            kwargs: dict[str, Any] = {"http_client": self._http}
            if host not in _MICROSOFT_AUTHORITY_HOSTS:
                kwargs["instance_discovery"] = False
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.config.client_id,
                    client_credential=secret,
                    authority=self.config.authority,
                    **kwargs,
                )
            except (ValueError, requests.RequestException) as exc:
                raise SignInError(
                    f"cannot reach the sign-in authority {self.config.authority_host}: "
                    f"{type(exc).__name__}"
                ) from None
            return self._app

    def begin(self, redirect_uri: str) -> tuple[str, dict[str, Any]]:
        """(the authority's address to send the browser to, the flow to keep until it returns).

        The flow holds the state, the nonce and the PKCE verifier: keep it server-side or in an
        encrypted cookie, never in a URL."""
        application = self._application()
        with warnings.catch_warnings():
            # msal recommends form_post; the callback is a top-level GET (query) on purpose: the
            # web application's flow cookie is SameSite=Lax, which a cross-site POST would not
            # carry. The code in the URL is single-use and bound to the PKCE verifier, and the
            # access log never records query strings.
            warnings.simplefilter("ignore", UserWarning)
            flow: dict[str, Any] = application.initiate_auth_code_flow(
                scopes=[], redirect_uri=redirect_uri, response_mode="query"
            )
        return str(flow["auth_uri"]), flow

    def finish(self, flow: Mapping[str, Any], params: Mapping[str, str]) -> SignedInUser:
        """The signed-in user for the browser's return (``params``: the callback's query)."""
        if "error" in params:
            raise SignInError(f"the authority refused the sign-in: {params.get('error')}")
        try:
            result: dict[str, Any] = self._application().acquire_token_by_auth_code_flow(
                dict(flow), dict(params)
            )
        except ValueError:
            raise SignInError("the sign-in response does not match the sign-in started") from None
        except requests.RequestException as exc:
            raise SignInError(f"cannot reach the token endpoint: {type(exc).__name__}") from None
        if "error" in result:
            codes = result.get("error_codes") or []
            raise SignInError(
                f"token request failed: {result.get('error')}"
                + (f" (AADSTS{codes[0]})" if codes else "")
            )
        id_token = result.get("id_token")
        if not isinstance(id_token, str):
            raise SignInError("the token response has no id token")
        # msal sends the SHA-256 of the flow's nonce as the request's nonce (and checks it too).
        nonce = hashlib.sha256(str(flow.get("nonce", "")).encode("ascii")).hexdigest()
        claims = self.verify_id_token(id_token, nonce=nonce)
        roles = claims.get("roles") or []
        return SignedInUser(
            object_id=str(claims.get("oid", "")),
            username=str(claims.get("preferred_username", "")),
            display_name=str(claims.get("name", "")),
            roles=tuple(str(r) for r in roles if isinstance(r, str)),
            tenant_id=str(claims.get("tid", "")),
        )

    # -- id token verification -----------------------------------------------------------------

    def verify_id_token(
        self, token: str, *, nonce: str, now: float | None = None
    ) -> dict[str, Any]:
        """The claims of an id token signed RS256 by a key of the tenant's key set, for this app,
        from this tenant, within its times and with the nonce of the sign-in."""
        try:
            head_b64, payload_b64, sig_b64 = token.split(".")
            header = json.loads(_b64url(head_b64))
            claims: dict[str, Any] = json.loads(_b64url(payload_b64))
            signature = _b64url(sig_b64)
        except ValueError:
            raise SignInError("the id token is not a well-formed JWT") from None
        if header.get("alg") != "RS256":
            raise SignInError("the id token is not signed RS256")
        key = self._key(str(header.get("kid", "")))
        try:
            key.verify(
                signature,
                f"{head_b64}.{payload_b64}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise SignInError("the id token's signature does not verify") from None
        self._check_claims(claims, nonce, time.time() if now is None else now)
        return claims

    def _check_claims(self, claims: Mapping[str, Any], nonce: str, now: float) -> None:
        if claims.get("iss") != self.issuer or claims.get("tid") != self.config.tenant_id:
            raise SignInError("the id token comes from another tenant")
        if claims.get("aud") != self.config.client_id:
            raise SignInError("the id token is for another application")
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int | float) or exp < now - CLOCK_SKEW:
            raise SignInError("the id token has expired")
        if isinstance(nbf, int | float) and nbf > now + CLOCK_SKEW:
            raise SignInError("the id token is not valid yet")
        if nonce and claims.get("nonce") != nonce:
            raise SignInError("the id token's nonce does not match the sign-in")
        if not claims.get("oid"):
            raise SignInError("the id token names no user (oid)")

    def _key(self, kid: str) -> rsa.RSAPublicKey:
        """The tenant's key ``kid``: from the cached key set, fetched again (at most once a
        minute) for an unknown ``kid`` (keys roll over)."""
        with self._lock:
            key = self._keys.get(kid)
            if key is None and time.monotonic() - self._keys_fetched >= self.min_refetch_seconds:
                self._keys = self._fetch_keys()
                self._keys_fetched = time.monotonic()
                key = self._keys.get(kid)
        if key is None:
            raise SignInError("the id token is signed with a key the tenant does not publish")
        return key

    def _fetch_keys(self) -> dict[str, rsa.RSAPublicKey]:
        try:
            metadata = self._http.get(f"{self.issuer}/.well-known/openid-configuration").json()
            keys = self._http.get(str(metadata["jwks_uri"])).json()["keys"]
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise SignInError(f"cannot read the tenant's key set: {type(exc).__name__}") from None
        found: dict[str, rsa.RSAPublicKey] = {}
        for jwk in keys:
            if jwk.get("kty") != "RSA" or "kid" not in jwk:
                continue
            numbers = rsa.RSAPublicNumbers(
                int.from_bytes(_b64url(jwk["e"]), "big"), int.from_bytes(_b64url(jwk["n"]), "big")
            )
            found[str(jwk["kid"])] = numbers.public_key()
        return found
