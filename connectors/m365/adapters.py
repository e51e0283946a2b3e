"""Microsoft 365 behind the use cases' ports: team contact sources and the outbox's transport.

``GraphConnection`` makes one MSAL app and one Graph client, on first use, for the adapters of one
task; the composition root (keukentafel/bootstrap.py) builds it from the corporation's ``m365``
section and the settings' snapshot of the environment, and closes it when the task is done.

``GraphMailTransport`` is where a Graph answer becomes the outbox's vocabulary: 429 (still throttled
after the client's own retries) is ``DeliveryDeferred`` (certainly not out: wait, then send); 503
is ``DeliveryInDoubt`` (a gateway may answer it after Exchange took the message: wait, then look
in Sent Items); a refusal (another 4xx, a redirect we refused, or a message Graph cannot take) is
``DeliveryRejected``; anything else leaves the message in doubt, to be looked up in Sent Items
before it is ever sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as email_policy
from typing import TYPE_CHECKING

from keukentafel.config import ConfigError
from keukentafel.config.m365 import M365Config
from keukentafel.usecases.outbox import DeliveryDeferred, DeliveryInDoubt, DeliveryRejected
from keukentafel.usecases.team_contacts import TeamListRead

if TYPE_CHECKING:
    from connectors.m365.graph import GraphClient


@dataclass
class GraphConnection:
    """One MSAL app and one Graph client, made on first use; ``close()`` releases them."""

    config: M365Config
    env: Mapping[str, str] = field(repr=False)  # the process's secrets: never printed
    _client: GraphClient | None = field(default=None, repr=False)

    @property
    def client(self) -> GraphClient:
        if self._client is None:
            from connectors.m365.auth import GraphAuth
            from connectors.m365.graph import GraphClient

            self._client = GraphClient(GraphAuth(self.config, self.env), self.config)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


@dataclass
class SharePointListSource:
    """The team's SharePoint list, read by delta after the first full read."""

    graph: GraphConnection
    name: str = "m365_list"

    def read(self, state: str | None) -> TeamListRead:
        from connectors.m365.contacts import read_contact_list_changes

        found = read_contact_list_changes(self.graph.client, self.graph.config, state)
        return TeamListRead(
            contacts=list(found.contacts),
            rejected=list(found.rejected),
            removed_keys=[str(key) for key in found.removed_ids],
            state=found.delta_link,
            full=found.full,
        )


@dataclass
class WorkbookSource:
    """The team's Excel file in SharePoint or OneDrive, read whole every time."""

    graph: GraphConnection
    name: str = "m365_workbook"

    def read(self, state: str | None) -> TeamListRead:
        from connectors.m365.contacts import read_contact_workbook

        contacts, rejected = read_contact_workbook(self.graph.client, self.graph.config)
        return TeamListRead(contacts=list(contacts), rejected=list(rejected), full=True)


@dataclass
class GraphMailTransport:
    """The outbox's transport over a shared mailbox (sendMail, or draft + upload above 3 MB).

    ``sleep`` is how the mailbox's pace waits (tests pass one that does not)."""

    graph: GraphConnection
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        from connectors.m365.mail import MailboxSender

        config = self.graph.config
        if not config.mailbox:
            raise ConfigError("m365.mailbox is not set: there is no shared mailbox to send from")
        self.sender = MailboxSender(
            self.graph.client,
            config.mailbox,
            pace_per_minute=config.send_pace_per_minute,
            sleep=self.sleep,
        )

    def send(self, message: bytes, message_id: str) -> None:
        """Send through Graph, and say what Graph's answer means for the outbox (see above)."""
        from connectors.m365.graph import GraphError

        parsed = message_from_bytes(message, policy=email_policy)
        assert isinstance(parsed, EmailMessage)
        try:
            self.sender.send(parsed, message_id)
        except ValueError as exc:  # not a sendable message: it never left
            raise DeliveryRejected(str(exc)) from exc
        except GraphError as exc:
            if exc.status == 429:  # still throttled after the client's retries: later
                raise DeliveryDeferred(str(exc), exc.retry_after) from exc
            if exc.status == 503:  # unavailable, but perhaps after Exchange took it
                raise DeliveryInDoubt(str(exc), exc.retry_after) from exc
            if 300 <= exc.status < 500:  # refused, or a redirect elsewhere that we refused
                raise DeliveryRejected(str(exc)) from exc
            raise  # another 5xx or a broken connection: it may have been accepted

    def already_sent(self, message_id: str, since: datetime) -> bool:
        # The store keeps naive UTC times; Graph filters need an explicit zone.
        aware = since if since.tzinfo else since.replace(tzinfo=UTC)
        return self.sender.find_sent(message_id, aware)
