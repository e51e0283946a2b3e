"""App-only authentication to Microsoft Graph: one MSAL confidential client per process.

This module owns the MSAL ``ConfidentialClientApplication`` (client credentials flow, by client
secret or by certificate), its in-memory token cache and the translation of Entra ID errors into
:class:`M365AuthError` messages an operator can act on (the AADSTS code and what it usually means).

MSAL fetches the tenant's discovery document when the application object is made, so the object
is made lazily on the first :meth:`GraphAuth.token` call and then reused: make one ``GraphAuth``
per process and pass it down. MSAL itself reuses a cached token until it has less than five
minutes left. Secrets are read from the environment at that moment and never appear in a message.

MSAL talks HTTP through the ``http_client`` we give it: a
:class:`~connectors.http.SameOriginSession` (with the timeout, and the CA bundle when one is
configured), so a token request, which carries the client secret or a signed assertion in its
body, never follows a redirect to another host (a 307 would resend the body there).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msal
import requests

from connectors.http import RedirectRefused, SameOriginSession, describe_error, require_https
from keukentafel.config.m365 import M365Config


class M365AuthError(Exception):
    """A token could not be obtained; the message names the AADSTS code when Entra ID gave one."""

    def __init__(self, message: str, *, aadsts_code: str | None = None) -> None:
        super().__init__(message)
        self.aadsts_code = aadsts_code


# What the common codes mean for an operator of an app-only (client credentials) registration.
_AADSTS_HINTS: dict[str, str] = {
    "7000215": "invalid client secret: check the secret value (not its id) and that it has not expired",
    "7000222": "the client secret has expired: create a new one in the app registration",
    "700016": "application not found in the tenant: check client_id and tenant_id",
    "90002": "tenant not found: check tenant_id and authority_host (national cloud?)",
    "65001": "admin consent missing: a tenant administrator must grant the application permissions",
    "650057": "the app registration does not list this API permission: add it and grant admin consent",
    "700027": "client assertion signature invalid: the certificate is not registered on the app",
    "700024": "client assertion not within its valid time range: check the system clock",
    "500011": "resource not found in the tenant: check graph_base_url (national cloud?)",
    "1002012": "invalid scope for client credentials: only '<resource>/.default' is allowed",
    "53003": "blocked by a Conditional Access policy",
}

_AADSTS_RE = re.compile(r"AADSTS(\d+)")

# Hosts msal knows; for any other host (a fake, a private cloud) skip instance discovery, which
# would otherwise call login.microsoftonline.com.
_MICROSOFT_AUTHORITY_HOSTS = frozenset(getattr(msal.authority, "WELL_KNOWN_AUTHORITY_HOSTS", ()))


def describe_aadsts(code: str | None, error: str | None = None) -> str:
    """A one-line explanation of an AADSTS code for an operator."""
    if code and code in _AADSTS_HINTS:
        return f"AADSTS{code}: {_AADSTS_HINTS[code]}"
    if code:
        return f"AADSTS{code}" + (f" ({error})" if error else "")
    return error or "unknown error"


class GraphAuth:
    """Tokens for Microsoft Graph by the client credentials flow.

    ``token()`` returns a bearer token for ``<graph resource>/.default``, from MSAL's cache while
    it is valid. ``invalidate(token)`` drops a token Graph rejected (401) so the next ``token()``
    asks Entra ID for a fresh one. ``env`` is where the secrets named in the config are looked up
    (the settings' snapshot of the environment, handed over by the composition root).
    """

    def __init__(self, config: M365Config, env: Mapping[str, str]) -> None:
        require_https(config.authority_host, "m365.authority_host")
        self._config = config
        self._env = env
        self._lock = threading.Lock()
        self._app: msal.ConfidentialClientApplication | None = None

    @property
    def config(self) -> M365Config:
        return self._config

    @property
    def scopes(self) -> list[str]:
        return [self._config.graph_scope]

    def token(self) -> str:
        """A valid access token for Graph; raises :class:`M365AuthError` with the AADSTS code."""
        with self._lock:
            app = self._application()
            try:
                result: dict[str, Any] = app.acquire_token_for_client(scopes=self.scopes)
            except requests.RequestException as exc:
                raise M365AuthError(
                    f"cannot reach the token endpoint at {self._config.authority_host}: "
                    f"{_what(exc)}"
                ) from None
        access_token = result.get("access_token")
        if isinstance(access_token, str) and access_token:
            return access_token
        raise self._error_from_result(result)

    def invalidate(self, token: str) -> None:
        """Remove ``token`` from MSAL's cache (Graph said it is expired or revoked)."""
        with self._lock:
            if self._app is None:
                return
            cache = self._app.token_cache
            stale = [
                item
                for item in cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)
                if item.get("secret") == token
            ]
            for item in stale:
                cache.remove_at(item)

    # -- internals -------------------------------------------------------------------------

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is not None:
            return self._app
        config = self._config
        host = urlsplit(config.authority_host).hostname or ""
        kwargs: dict[str, Any] = {}
        if host not in _MICROSOFT_AUTHORITY_HOSTS:
            kwargs["instance_discovery"] = False
        # Our session: redirects stay on their origin, the timeout and a CA bundle are applied.
        kwargs["http_client"] = _MsalSession(config.ca_bundle, config.timeout_seconds)
        try:
            self._app = msal.ConfidentialClientApplication(
                config.client_id,
                client_credential=self._credential(),
                authority=config.authority,
                **kwargs,
            )
        except M365AuthError:
            raise
        except ValueError as exc:
            # msal raises ValueError for a failed OIDC discovery (unknown tenant: AADSTS90002)
            # and for an unusable credential; neither message carries the secret.
            code = _first_code(_chain_text(exc))
            what = describe_aadsts(code) if code else _first_line(str(exc))
            raise M365AuthError(
                f"cannot set up the Microsoft 365 app for tenant {config.tenant_id}: {what}",
                aadsts_code=code,
            ) from None
        except requests.RequestException as exc:
            raise M365AuthError(
                f"cannot reach the authority {config.authority_host}: {_what(exc)}"
            ) from None
        return self._app

    def _credential(self) -> str | dict[str, str]:
        config = self._config
        if config.client_secret_env:
            secret = self._env.get(config.client_secret_env, "")
            if not secret:
                raise M365AuthError(
                    f"environment variable {config.client_secret_env} (client secret) is not set"
                )
            return secret
        cert = config.certificate
        assert cert is not None  # guaranteed by M365Config validation
        if cert.private_key_env:
            private_key = self._env.get(cert.private_key_env, "")
            if not private_key:
                raise M365AuthError(
                    f"environment variable {cert.private_key_env} (certificate key) is not set"
                )
        else:
            assert cert.private_key_path_env is not None
            key_path = self._env.get(cert.private_key_path_env, "")
            if not key_path:
                raise M365AuthError(
                    f"environment variable {cert.private_key_path_env} (certificate key path) "
                    "is not set"
                )
            try:
                private_key = Path(key_path).read_text(encoding="ascii")
            except OSError as exc:
                raise M365AuthError(
                    f"cannot read the certificate key file named by {cert.private_key_path_env}: "
                    f"{exc.strerror}"
                ) from None
        if cert.public_certificate_path:
            # With the public certificate msal signs PS256 with x5t#S256 and sends the chain
            # (x5c); check first that it is the certificate the config names.
            try:
                pem = Path(cert.public_certificate_path).read_text(encoding="ascii")
            except OSError as exc:
                raise M365AuthError(
                    f"cannot read public_certificate_path: {exc.strerror}"
                ) from None
            if cert.thumbprint not in _thumbprints(pem):
                raise M365AuthError(
                    "the certificate at public_certificate_path does not match the configured "
                    "thumbprint"
                )
            return {"private_key": private_key, "public_certificate": pem}
        return {"private_key": private_key, "thumbprint": cert.thumbprint}

    def _error_from_result(self, result: Mapping[str, Any]) -> M365AuthError:
        error = str(result.get("error") or "unknown_error")
        codes = result.get("error_codes") or []
        code = str(codes[0]) if codes else _first_code(str(result.get("error_description", "")))
        explanation = describe_aadsts(code, error)
        correlation = result.get("correlation_id")
        suffix = f" (correlation id {correlation})" if correlation else ""
        return M365AuthError(
            f"token request for tenant {self._config.tenant_id} failed: {error}: "
            f"{explanation}{suffix}",
            aadsts_code=code,
        )


class _MsalSession(SameOriginSession):
    """MSAL's HTTP client: redirects within one origin only, a timeout on every request, and,
    when one is configured, one CA bundle pinned on every request (requests lets
    REQUESTS_CA_BUNDLE override a session's verify setting otherwise)."""

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


def _what(error: requests.RequestException) -> str:
    """A transport error for a message: a refused redirect says which hosts; others their kind."""
    if isinstance(error, RedirectRefused):
        return describe_error(error)
    return type(error).__name__


def _chain_text(exc: BaseException) -> str:
    """The messages of an exception and the ones it was raised from or during (msal re-raises
    the discovery error with a generic message; the AADSTS code is in the first one)."""
    texts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(texts) < 5:
        texts.append(str(current))
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def _first_code(text: str) -> str | None:
    match = _AADSTS_RE.search(text)
    return match.group(1) if match else None


def _first_line(text: str) -> str:
    return text.splitlines()[0][:200] if text else ""


def _thumbprints(pem: str) -> set[str]:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        raise M365AuthError("public_certificate_path is not a PEM certificate") from None
    der = cert.public_bytes(Encoding.DER)
    return {
        hashlib.sha1(der).hexdigest().upper(),  # noqa: S324 - a thumbprint, not a security hash
        hashlib.sha256(der).hexdigest().upper(),
    }
