"""Signed webhooks to contractors: the webhook use case's ``WebhookTransport`` over HTTP.

Each attempt is signed at the moment it is sent (``webhook-timestamp`` is the attempt's time)
with every secret configured for the contractor (two while one is rotated), over the exact bytes
of the body that was queued. Redirects are not followed (a moved endpoint is a configuration
change); the answer's status and ``Retry-After`` go back to the use case, which decides.
Secrets come from the settings' snapshot of the environment, named by ``secret_envs``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import requests

from connectors.http import parse_retry_after
from keukentafel.config import ConfigError
from keukentafel.config.feeds import ContractorConfig
from keukentafel.domain.planning.webhooks import WebhookSecretError, headers_for, parse_secret
from keukentafel.usecases.feeds import Answer

USER_AGENT = "Keukentafel-Webhooks/1.0"


def contractor_keys(names: list[str], env: Mapping[str, str], where: str) -> list[bytes]:
    """The secrets named by ``names`` (``whsec_…``), or a ConfigError naming the variable."""
    keys = []
    for name in names:
        value = env.get(name)
        if not value:
            raise ConfigError(f"{where}: the variable {name} holds no webhook secret")
        try:
            keys.append(parse_secret(value))
        except WebhookSecretError as exc:
            raise ConfigError(f"{where}: ${name}: {exc}") from None
    return keys


class WebhookSender:
    """POSTs queued webhooks to the contractors of one corporation."""

    def __init__(
        self,
        contractors: list[ContractorConfig],
        env: Mapping[str, str],
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._targets: dict[str, tuple[str, list[bytes], float, bool | str]] = {}
        for contractor in contractors:
            hook = contractor.webhook
            if hook is None:
                continue
            where = f"feeds.contractors[{contractor.code}].webhook.secret_envs"
            keys = contractor_keys(list(hook.secret_envs), env, where)
            self._targets[contractor.code] = (
                hook.url,
                keys,
                hook.timeout_seconds,
                hook.ca_bundle or True,
            )
        self._session = session or requests.Session()
        self._session.headers.update({"User-Agent": USER_AGENT})
        self._clock = clock

    def close(self) -> None:
        self._session.close()

    def send(self, contractor: str, webhook_id: str, body: bytes) -> Answer:
        url, keys, timeout, verify = self._targets[contractor]
        headers = headers_for(keys, webhook_id, int(self._clock()), body)
        headers["Content-Type"] = "application/json"
        try:
            response = self._session.post(
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                verify=verify,
            )
        except requests.RequestException as exc:  # no answer: retried on the schedule
            return Answer(0, error=f"{type(exc).__name__}")
        with response:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return Answer(response.status_code, retry_after, f"HTTP {response.status_code}")
