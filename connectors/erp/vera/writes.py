"""Writing back to the corporation's ERP over VERA: contact moments and appointments.

This module owns the write side of the VERA connector: ``POST /contactmomenten`` (BRG),
``POST /afspraken`` and ``PUT /afspraken/{id}`` (OHD), and finding an earlier write by its key
(``GET …?idExtern=``). Every write carries our key twice: as ``idExtern`` in the body and as the
correlation header ``X-Stuurgegevens-Referentienummer``, so the ERP can recognise a repeat.

Retries follow the shared toolkit (connectors.http): a POST is retried only on 429/503 (it was
not executed), never after a broken connection; the outbox of writes
(keukentafel.usecases.erp_writes) looks such a write up by its key before it sends it again.
A PUT replaces by id and may be sent twice. Authentication (API key or OAuth2 client
credentials) is the read client's (:class:`~connectors.erp.vera.client.VeraClient`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from connectors.erp.vera.client import MAX_BACKOFF_SECONDS, RETRIABLE_STATUS, VeraClient
from connectors.http import HttpRequest, RequestFailed, RetryPolicy, redact_url, send_with_retries
from keukentafel.config import VeraConfig
from keukentafel.usecases.erp_writes import ErpRefused

ENDPOINTS = {"contactmoment": "/contactmomenten", "afspraak": "/afspraken"}
KEY_HEADER = "X-Stuurgegevens-Referentienummer"


class VeraWriter:
    """Implements the ERP-writes use case's ``ErpWriter`` port over VERA REST."""

    target = "vera"

    def __init__(
        self,
        config: VeraConfig,
        *,
        env: Mapping[str, str],
        backoff_base: float = 0.5,
        client: VeraClient | None = None,
    ) -> None:
        self._client = client or VeraClient(config, env=env, backoff_base=backoff_base)
        self._base = config.base_url.rstrip("/")
        self._timeout = (min(10.0, config.timeout_seconds), config.timeout_seconds)
        self._policy = RetryPolicy(
            max_retries=config.max_retries,
            statuses=RETRIABLE_STATUS,
            backoff_base=backoff_base,
            max_backoff=MAX_BACKOFF_SECONDS,
            max_retry_after=config.max_retry_after_seconds,
        )

    def close(self) -> None:
        self._client.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        key: str = "",
    ) -> requests.Response:
        request = HttpRequest(
            method,
            self._base + path,
            params=params,
            json=json,
            headers={KEY_HEADER: key} if key else None,
            timeout=self._timeout,
            # the read client's credentials: the API key, or its OAuth2 token (renewed there)
            auth_headers=self._client._auth_headers,
            idempotent=method == "PUT",
        )
        try:
            return send_with_retries(self._client.session, request, self._policy)
        except RequestFailed as exc:
            raise ConnectionError(f"VERA {method} {path}: {exc.reason}") from None

    def write(self, kind: str, key: str, payload: dict[str, Any], remote_id: str) -> str:
        """Create (POST) or replace (PUT, for an appointment the ERP knows); the ERP's id."""
        path = ENDPOINTS[kind]
        if remote_id and kind == "afspraak":
            response = self._send(
                "PUT",
                f"{path}/{quote(remote_id, safe='')}",
                json={**payload, "id": remote_id},
                key=key,
            )
        else:
            response = self._send("POST", path, json=payload, key=key)
        status = response.status_code
        if 400 <= status < 500:
            raise ErpRefused(
                f"VERA {response.request.method} {redact_url(response.url)}: HTTP {status}"
            )
        if status >= 500:  # may have been executed: in doubt, looked up next time
            raise ConnectionError(f"VERA {path}: HTTP {status}")
        body = response.json() if response.content else {}
        return str(body.get("id") or remote_id)

    def find(self, kind: str, key: str) -> str | None:
        """The ERP's id of the write with ``idExtern`` = key, if it went in."""
        response = self._send("GET", ENDPOINTS[kind], params={"idExtern": key})
        if response.status_code != 200:
            raise ConnectionError(f"VERA GET {ENDPOINTS[kind]}: HTTP {response.status_code}")
        items = response.json()
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("idExtern") == key and item.get("id"):
                return str(item["id"])
        return None
