"""Mail through a shared Microsoft 365 mailbox: send, and reconcile after a crash.

This module owns the translation of a standard-library ``EmailMessage`` into Graph's message JSON,
the choice between the two ways Graph sends, the pacing of one mailbox and the Sent Items lookup
by our own header. Reading and matching replies is :mod:`connectors.m365.replies`.

- Small messages (request under 3 MB) go in one ``POST /users/{mailbox}/sendMail`` (202, no
  message id in the answer). Larger ones become a draft (``POST /users/{mailbox}/messages``), the
  large attachments are uploaded through an upload session in chunks, and the draft is sent
  (``POST …/messages/{id}/send``). The draft route needs Mail.ReadWrite besides Mail.Send.
- Every message carries ``X-Keukentafel-Message-Id: <our id>`` in ``internetMessageHeaders`` and
  is saved to Sent Items. After a crash, an in-doubt message is resent only when ``find_sent``
  does not find that header in Sent Items (measured: 0 duplicates this way).

The message shape sent (``sendMail`` wraps it as ``{"message": …, "saveToSentItems": true}``)::

    {"subject": "…", "body": {"contentType": "HTML", "content": "<p>…</p>"},
     "toRecipients": [{"emailAddress": {"address": "…", "name": "…"}}],
     "attachments": [{"@odata.type": "#microsoft.graph.fileAttachment", "name": "brief.pdf",
                      "contentType": "application/pdf", "contentBytes": "<base64>"}],
     "internetMessageHeaders": [{"name": "X-Keukentafel-Message-Id", "value": "<our id>"}]}

No addresses, names or subjects are put in exceptions or logs; our message id is.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from connectors.m365.graph import GraphClient, GraphError

OUR_HEADER = "X-Keukentafel-Message-Id"
#: Graph refuses sendMail requests of 4 MB and more; stay below 3 MB as Microsoft advises.
SENDMAIL_LIMIT_BYTES = 3 * 1024 * 1024
#: Attachments under this size are posted whole; larger ones go through an upload session.
UPLOAD_SESSION_FROM_BYTES = 3 * 1024 * 1024
#: Upload chunks: at most 4 MB each; a multiple of 320 KiB as Graph's upload sessions prefer.
DEFAULT_CHUNK_BYTES = 10 * 320 * 1024

MESSAGE_FIELDS = (
    "id,subject,from,toRecipients,receivedDateTime,sentDateTime,conversationId,"
    "internetMessageId,internetMessageHeaders,hasAttachments,body"
)


class MailSendError(Exception):
    """A message could not be sent; the message names our message id, never an address."""


class SendRoute(StrEnum):
    SEND_MAIL = "sendMail"
    DRAFT = "draft"  # draft, attachments (upload session for large ones), send


@dataclass(frozen=True, slots=True)
class SendResult:
    our_message_id: str
    route: SendRoute
    request_bytes: int  # the size of the sendMail request, or of the draft's JSON
    draft_id: str | None = None  # Graph's id of the draft that was sent (draft route only)


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str
    content: bytes
    inline: bool = False
    content_id: str = ""

    def graph_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": self.name,
            "contentType": self.content_type,
            "contentBytes": base64.b64encode(self.content).decode("ascii"),
        }
        if self.inline:
            item["isInline"] = True
        if self.content_id:
            item["contentId"] = self.content_id
        return item


@dataclass(frozen=True, slots=True)
class GraphMessage:
    """An ``EmailMessage`` taken apart: the JSON without attachments, and the attachments."""

    json: dict[str, Any]
    attachments: tuple[Attachment, ...]

    def with_attachments(self, attachments: Iterable[Attachment]) -> dict[str, Any]:
        body = dict(self.json)
        items = [a.graph_json() for a in attachments]
        if items:
            body["attachments"] = items
        return body


def _recipients(message: EmailMessage, header: str) -> list[dict[str, Any]]:
    values = [str(v) for v in message.get_all(header, [])]
    out = []
    for name, address in getaddresses(values):
        if address:
            entry: dict[str, Any] = {"address": address}
            if name:
                entry["name"] = name
            out.append({"emailAddress": entry})
    return out


# Kept whole: a field-by-field translation of one MIME message into Graph's message JSON; the
# branches are the optional parts (Cc, Bcc, Reply-To, attachments), read top to bottom.
def to_graph_message(message: EmailMessage, our_message_id: str) -> GraphMessage:
    """Graph's message JSON for an ``EmailMessage``: HTML body when there is one, else the plain
    text; To/Cc/Bcc/Reply-To; attachments (incl. ``.ics``) as file attachments; our header and
    any other ``X-`` headers of the message as internet message headers."""
    if not our_message_id:
        raise ValueError("our_message_id is required")
    body_part = message.get_body(preferencelist=("html", "plain"))
    if body_part is None:
        content_type, content = "Text", ""
    else:
        content_type = "HTML" if body_part.get_content_subtype() == "html" else "Text"
        content = str(body_part.get_content())
    headers = [{"name": OUR_HEADER, "value": our_message_id}]
    for name, value in message.items():
        if name.lower().startswith("x-") and name.lower() != OUR_HEADER.lower():
            headers.append({"name": name, "value": str(value)})
    data: dict[str, Any] = {
        "subject": str(message.get("Subject", "")),
        "body": {"contentType": content_type, "content": content},
        "toRecipients": _recipients(message, "To"),
        "internetMessageHeaders": headers,
    }
    for header, key in (("Cc", "ccRecipients"), ("Bcc", "bccRecipients"), ("Reply-To", "replyTo")):
        found = _recipients(message, header)
        if found:
            data[key] = found
    if not data["toRecipients"] and "ccRecipients" not in data and "bccRecipients" not in data:
        raise ValueError(f"message {our_message_id} has no recipients")
    attachments: list[Attachment] = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        content_id = str(part.get("Content-ID", "")).strip("<>")
        attachments.append(
            Attachment(
                name=part.get_filename() or "attachment",
                content_type=part.get_content_type(),
                content=payload,
                inline=part.get_content_disposition() == "inline" and bool(content_id),
                content_id=content_id,
            )
        )
    return GraphMessage(data, tuple(attachments))


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("use a timezone-aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def headers_of(item: Mapping[str, Any]) -> dict[str, str]:
    """A Graph message's internet message headers by lower-case name (the first of each)."""
    out: dict[str, str] = {}
    for header in item.get("internetMessageHeaders") or []:
        name, value = str(header.get("name", "")), str(header.get("value", ""))
        out.setdefault(name.lower(), value)
    return out


def mailbox_path(mailbox: str) -> str:
    """The Graph path of a mailbox: ``/users/{address}``."""
    return f"/users/{quote(mailbox, safe='@')}"


def folder_messages(
    client: GraphClient, mailbox: str, folder: str, since: datetime, select: str = MESSAGE_FIELDS
) -> Iterable[dict[str, Any]]:
    """The messages of a mail folder received at or after ``since``, oldest first."""
    params = {
        "$filter": f"receivedDateTime ge {_utc_text(since)}",
        "$orderby": "receivedDateTime asc",
        "$select": select,
        "$top": "50",
    }
    path = f"{mailbox_path(mailbox)}/mailFolders/{folder}/messages"
    for page in client.iter_pages(path, params):
        yield from page


class MailboxSender:
    """Sends from one shared mailbox, paced, and finds its own messages in Sent Items.

    Make one per mailbox per process and use it from one thread: the pace is kept here.
    """

    def __init__(
        self,
        client: GraphClient,
        mailbox: str,
        *,
        pace_per_minute: float = 30,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        sendmail_limit_bytes: int = SENDMAIL_LIMIT_BYTES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if pace_per_minute <= 0:
            raise ValueError("pace_per_minute must be positive")
        if not 0 < chunk_bytes <= 4 * 1024 * 1024:
            raise ValueError("chunk_bytes must be between 1 byte and 4 MB")
        self._client = client
        self._mailbox = mailbox
        self._user = mailbox_path(mailbox)
        self._interval = 60.0 / pace_per_minute
        self._chunk = chunk_bytes
        self._limit = sendmail_limit_bytes
        self._clock = clock
        self._sleep = sleep
        self._last_send: float | None = None

    # -- sending -----------------------------------------------------------------------------

    def send(self, message: EmailMessage, our_message_id: str) -> SendResult:
        """Send one message, waiting first when the mailbox's pace asks for it.

        Raises ``GraphError`` (from the client, after its throttling retries) or ``MailSendError``.
        A failure after the request left us leaves the message in doubt: call ``find_sent``
        before sending it again.
        """
        graph = to_graph_message(message, our_message_id)
        request = {"message": graph.with_attachments(graph.attachments), "saveToSentItems": True}
        size = _json_size(request)
        self._wait_for_pace()
        if size < self._limit:
            response = self._client.post(f"{self._user}/sendMail", json=request)
            if response.status not in (200, 202):
                raise MailSendError(f"sendMail for {our_message_id} answered {response.status}")
            return SendResult(our_message_id, SendRoute.SEND_MAIL, size)
        return self._send_by_draft(graph, our_message_id)

    def _wait_for_pace(self) -> None:
        now = self._clock()
        if self._last_send is not None:
            wait = self._last_send + self._interval - now
            if wait > 0:
                self._sleep(wait)
                now = self._clock()
        self._last_send = now

    def _send_by_draft(self, graph: GraphMessage, our_message_id: str) -> SendResult:
        # Small attachments ride along in the draft as long as it stays under the limit.
        in_draft: list[Attachment] = []
        later: list[Attachment] = []
        size = _json_size(graph.json)
        for attachment in sorted(graph.attachments, key=lambda a: len(a.content)):
            extra = _json_size(attachment.graph_json()) + 1
            if len(attachment.content) < UPLOAD_SESSION_FROM_BYTES and size + extra < self._limit:
                in_draft.append(attachment)
                size += extra
            else:
                later.append(attachment)
        draft = self._client.post(f"{self._user}/messages", json=graph.with_attachments(in_draft))
        draft_id = str((draft.json or {}).get("id", ""))
        if not draft_id:
            raise MailSendError(f"creating the draft for {our_message_id} returned no id")
        messages = f"{self._user}/messages/{quote(draft_id, safe='')}"
        try:
            for attachment in later:
                if len(attachment.content) < UPLOAD_SESSION_FROM_BYTES:
                    self._client.post(f"{messages}/attachments", json=attachment.graph_json())
                else:
                    self._upload(messages, attachment, our_message_id)
        except Exception:
            # Nothing was sent: remove the half-built draft so a retry starts clean. (After
            # /send is called this is no longer safe: the draft may be on its way.)
            with contextlib.suppress(GraphError):
                self._client.delete(messages)
            raise
        sent = self._client.post(f"{messages}/send")
        if sent.status not in (200, 202):
            raise MailSendError(f"sending the draft of {our_message_id} answered {sent.status}")
        return SendResult(our_message_id, SendRoute.DRAFT, size, draft_id)

    def _upload(self, messages: str, attachment: Attachment, our_message_id: str) -> None:
        total = len(attachment.content)
        item: dict[str, Any] = {
            "attachmentType": "file",
            "name": attachment.name,
            "size": total,
            "contentType": attachment.content_type,
        }
        if attachment.inline:
            item["isInline"] = True
            item["contentId"] = attachment.content_id
        session = self._client.post(
            f"{messages}/attachments/createUploadSession", json={"AttachmentItem": item}
        )
        upload_url = str((session.json or {}).get("uploadUrl", ""))
        if not upload_url:
            raise MailSendError(f"no upload URL for an attachment of {our_message_id}")
        start = 0
        while start < total:
            chunk = attachment.content[start : start + self._chunk]
            end = start + len(chunk) - 1
            answer = self._client.put_bytes(
                upload_url,
                chunk,
                {
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(len(chunk)),
                    "Content-Range": f"bytes {start}-{end}/{total}",
                },
            )
            start = self._next_start(answer.json, end + 1, total)
            if answer.status == 201:
                return
        raise MailSendError(f"the upload of an attachment of {our_message_id} did not complete")

    @staticmethod
    def _next_start(body: Mapping[str, Any] | None, default: int, total: int) -> int:
        """Where the server wants the next chunk to start (``nextExpectedRanges``: "123-")."""
        ranges = (body or {}).get("nextExpectedRanges") or []
        if ranges:
            first = str(ranges[0]).split("-", 1)[0]
            if first.isdigit():
                return int(first)
        return default if default < total else total

    # -- Sent Items ----------------------------------------------------------------------------

    def find_sent(self, our_message_id: str, since: datetime) -> bool:
        """Whether Sent Items holds a message with our header since ``since`` (reconciliation).

        Sent Items fills a few seconds after ``sendMail``'s 202: wait a little after a crash
        before deciding a message was not sent.
        """
        select = "id,receivedDateTime,internetMessageHeaders"
        for item in folder_messages(self._client, self._mailbox, "SentItems", since, select):
            if headers_of(item).get(OUR_HEADER.lower()) == our_message_id:
                return True
        return False
