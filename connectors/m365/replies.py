"""Replies in the shared mailbox, matched to the messages we sent.

**Waiting for its feature.** No use case or flow calls this module yet: it is the reading side
that issue 14 (residents answering our letters and mails) builds on. It is kept, and tested
against the fake Graph, so that feature starts from working code; it was split from
:mod:`connectors.m365.mail`, whose send side runs in production.

This module owns reading the Inbox since a watermark and matching each reply to one of our
message ids, strongest first: our header ``X-Keukentafel-Message-Id`` (rarely kept by mail
programs) or ``In-Reply-To``/``References`` naming a message we sent; the ``conversationId`` of a
message we sent; the sender's address being a recipient of a message we sent. The index of what
we sent comes from Sent Items (:class:`SentIndex`). HTML bodies become plain text.

No addresses, names or subjects are put in exceptions or logs: a :class:`Reply` carries them for
the store only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

from connectors.m365.graph import GraphClient
from connectors.m365.mail import OUR_HEADER, folder_messages, headers_of, mailbox_path


class ReplyMatch(StrEnum):
    HEADER = "header"  # our header, or In-Reply-To/References naming a message we sent
    CONVERSATION = "conversation"  # the conversationId of a message we sent
    SENDER = "sender"  # the sender was a recipient of a message we sent


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    attachment_id: str
    name: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class Reply:
    """An inbox message since the watermark, matched to one of our messages when possible."""

    graph_id: str  # stable: use it to skip a reply seen before (the watermark is inclusive)
    received: datetime
    sender: str  # the sender's address (personal data: store it, do not log it)
    subject: str
    body_text: str
    conversation_id: str
    attachments: tuple[AttachmentInfo, ...]
    our_message_id: str | None  # None when nothing matched
    match: ReplyMatch | None


@dataclass(slots=True)
class SentIndex:
    """What Sent Items tells about our messages: by internet message id, conversation, recipient."""

    by_internet_id: dict[str, str] = field(default_factory=dict)
    by_conversation: dict[str, str] = field(default_factory=dict)
    by_recipient: dict[str, str] = field(default_factory=dict)  # the latest message per address
    ours: set[str] = field(default_factory=set)


class ReplyReader:
    """Reads one shared mailbox's Inbox and matches replies to the messages we sent from it."""

    def __init__(self, client: GraphClient, mailbox: str) -> None:
        self._client = client
        self._mailbox = mailbox

    def sent_index(self, since: datetime) -> SentIndex:
        """Our messages in Sent Items since ``since``, indexed for matching replies."""
        index = SentIndex()
        for item in folder_messages(self._client, self._mailbox, "SentItems", since):
            ours = headers_of(item).get(OUR_HEADER.lower())
            if not ours:
                continue
            index.ours.add(ours)
            if item.get("internetMessageId"):
                index.by_internet_id[str(item["internetMessageId"]).strip()] = ours
            if item.get("conversationId"):
                index.by_conversation[str(item["conversationId"])] = ours
            for key in ("toRecipients", "ccRecipients"):
                for entry in item.get(key) or []:
                    address = _address(entry)
                    if address:
                        index.by_recipient[address] = ours  # ascending: the latest wins
        return index

    def read_replies(
        self,
        since_watermark: datetime,
        *,
        sent_since: datetime | None = None,
        index: SentIndex | None = None,
    ) -> tuple[list[Reply], datetime]:
        """Inbox messages received at or after the watermark, matched to our message ids.

        Returns the replies (oldest first) and the new watermark (the latest receivedDateTime
        seen, or the old one). The watermark is inclusive: skip replies whose ``graph_id`` was
        seen before. ``sent_since`` (default 90 days before the watermark) bounds the Sent Items
        read that builds the index, unless an ``index`` is passed.
        """
        if index is None:
            index = self.sent_index(sent_since or since_watermark - timedelta(days=90))
        replies: list[Reply] = []
        watermark = since_watermark
        own = self._mailbox.lower()
        for item in folder_messages(self._client, self._mailbox, "Inbox", since_watermark):
            received = _parse_time(str(item.get("receivedDateTime")))
            watermark = max(watermark, received)
            sender = _address(item.get("from"))
            if sender != own:
                replies.append(self._reply(item, received, sender, index))
        return replies, watermark

    def _reply(
        self, item: Mapping[str, Any], received: datetime, sender: str, index: SentIndex
    ) -> Reply:
        our_id, how = _match(item, sender, index)
        body = item.get("body") or {}
        content = str(body.get("content", ""))
        is_html = str(body.get("contentType", "")).lower() == "html"
        return Reply(
            graph_id=str(item.get("id")),
            received=received,
            sender=sender,
            subject=str(item.get("subject") or ""),
            body_text=(html_to_text(content) if is_html else content).strip(),
            conversation_id=str(item.get("conversationId") or ""),
            attachments=self._attachments(item),
            our_message_id=our_id,
            match=how,
        )

    def _attachments(self, item: Mapping[str, Any]) -> tuple[AttachmentInfo, ...]:
        if not item.get("hasAttachments"):
            return ()
        path = (
            f"{mailbox_path(self._mailbox)}/messages/{quote(str(item['id']), safe='')}/attachments"
        )
        found: list[AttachmentInfo] = []
        for page in self._client.iter_pages(path, {"$select": "id,name,contentType,size"}):
            for entry in page:
                found.append(
                    AttachmentInfo(
                        str(entry.get("id", "")),
                        str(entry.get("name", "")),
                        str(entry.get("contentType", "")),
                        int(entry.get("size") or 0),
                    )
                )
        return tuple(found)


def _match(
    item: Mapping[str, Any], sender: str, index: SentIndex
) -> tuple[str | None, ReplyMatch | None]:
    headers = headers_of(item)
    ours = headers.get(OUR_HEADER.lower())
    if ours:  # kept by the resident's mail program, or an auto-reply that copies headers
        return ours, ReplyMatch.HEADER
    referenced = f"{headers.get('in-reply-to', '')} {headers.get('references', '')}".split()
    for internet_id in referenced:
        if internet_id in index.by_internet_id:
            return index.by_internet_id[internet_id], ReplyMatch.HEADER
    conversation = str(item.get("conversationId") or "")
    if conversation in index.by_conversation:
        return index.by_conversation[conversation], ReplyMatch.CONVERSATION
    if sender in index.by_recipient:
        return index.by_recipient[sender], ReplyMatch.SENDER
    return None, None


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _address(entry: Any) -> str:
    if isinstance(entry, Mapping):
        inner = entry.get("emailAddress") or {}
        return str(inner.get("address", "")).strip().lower()
    return ""


class _TextOfHtml(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "blockquote"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head"):
            self._skip += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line).strip()
