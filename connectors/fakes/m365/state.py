"""In-memory data of the fake Microsoft 365 tenant: SharePoint lists, drives, mailboxes, calendars.

This module owns what :class:`~connectors.fakes.m365.server.FakeMicrosoft365` serves; tests and
the demo read and edit it directly (``fake.state``). Objects are kept in Graph's JSON shape where
that is simplest, so a test can compare what a client sent with what Graph would have stored. It
is not thread-safe on its own: the server holds ``state.lock`` while it handles a request, and
tests editing the state while a client runs should hold it too.
"""

from __future__ import annotations

import base64
import copy
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

WELL_KNOWN_FOLDERS = ("inbox", "sentitems", "drafts", "deleteditems")


def utc_now() -> str:
    """Graph's timestamp form: ``2024-05-01T10:00:00Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


@dataclass
class FakeListItem:
    id: str
    fields: dict[str, Any]
    version: int
    created: str
    modified: str

    def as_graph(self, *, with_fields: bool = True) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": self.id,
            "eTag": f'"{self.id},{self.version}"',
            "createdDateTime": self.created,
            "lastModifiedDateTime": self.modified,
        }
        if with_fields:
            item["fields"] = {"id": self.id, **copy.deepcopy(self.fields)}
        return item


@dataclass
class FakeList:
    id: str
    name: str
    items: dict[str, FakeListItem] = field(default_factory=dict)
    tombstones: dict[str, int] = field(default_factory=dict)  # item id -> version of deletion
    delta_floor: int = 0  # delta tokens older than this answer 410 Gone
    next_item_id: int = 1


@dataclass
class FakeSite:
    id: str
    name: str
    drive_id: str
    lists: dict[str, FakeList] = field(default_factory=dict)


@dataclass
class FakeDriveFile:
    id: str
    name: str
    path: str
    content: bytes
    modified: str
    version: int = 1

    def as_graph(self, drive_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "size": len(self.content),
            "eTag": f'"{self.id},{self.version}"',
            "lastModifiedDateTime": self.modified,
            "file": {},
            "parentReference": {"driveId": drive_id},
        }


@dataclass
class FakeMailbox:
    """One mailbox: messages (Graph shape, with ``attachments`` inline) and calendar events."""

    upn: str
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    folder_of: dict[str, str] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_by_transaction: dict[str, str] = field(default_factory=dict)

    def folder(self, name: str) -> list[dict[str, Any]]:
        """Messages in a well-known folder (``Inbox``, ``SentItems``, ``Drafts``), oldest first."""
        key = name.lower()
        return [m for mid, m in self.messages.items() if self.folder_of.get(mid) == key]


class FakeM365State:
    """Everything the fake tenant holds. Helpers bump versions so delta queries see changes."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.sites: dict[str, FakeSite] = {}
        self.drives: dict[str, dict[str, FakeDriveFile]] = {}
        self.mailboxes: dict[str, FakeMailbox] = {}
        self._version = 0

    # -- SharePoint lists -------------------------------------------------------------------

    def bump(self) -> int:
        self._version += 1
        return self._version

    @property
    def version(self) -> int:
        return self._version

    def add_site(self, site_id: str, name: str = "Project site") -> FakeSite:
        with self.lock:
            site = self.sites.get(site_id)
            if site is None:
                drive_id = new_id("b!")
                site = FakeSite(site_id, name, drive_id)
                self.sites[site_id] = site
                self.drives[drive_id] = {}
            return site

    def add_list(self, site_id: str, list_id: str, name: str = "Contacts") -> FakeList:
        with self.lock:
            site = self.add_site(site_id)
            lst = site.lists.get(list_id)
            if lst is None:
                lst = FakeList(list_id, name)
                site.lists[list_id] = lst
            return lst

    def get_list(self, site_id: str, list_id: str) -> FakeList | None:
        site = self.sites.get(site_id)
        return site.lists.get(list_id) if site else None

    def add_list_item(
        self, site_id: str, list_id: str, fields: dict[str, Any], item_id: str | None = None
    ) -> str:
        with self.lock:
            lst = self.add_list(site_id, list_id)
            if item_id is None:
                item_id = str(lst.next_item_id)
                lst.next_item_id += 1
            now = utc_now()
            lst.items[item_id] = FakeListItem(item_id, dict(fields), self.bump(), now, now)
            lst.tombstones.pop(item_id, None)
            return item_id

    def update_list_item(
        self, site_id: str, list_id: str, item_id: str, fields: dict[str, Any]
    ) -> None:
        with self.lock:
            lst = self.add_list(site_id, list_id)
            item = lst.items[item_id]
            item.fields.update(fields)
            item.version = self.bump()
            item.modified = utc_now()

    def delete_list_item(self, site_id: str, list_id: str, item_id: str) -> None:
        with self.lock:
            lst = self.add_list(site_id, list_id)
            del lst.items[item_id]
            lst.tombstones[item_id] = self.bump()

    def expire_delta_tokens(self, site_id: str, list_id: str) -> None:
        """Make every delta link issued so far answer 410 Gone (as after a long pause)."""
        with self.lock:
            self.add_list(site_id, list_id).delta_floor = self.bump()

    # -- drives -------------------------------------------------------------------------------

    def put_file(self, drive_id: str, path: str, content: bytes) -> FakeDriveFile:
        """Store a file at ``path`` (``Folder/contacts.xlsx``) in a drive (or a site's drive id)."""
        with self.lock:
            files = self.drives.setdefault(drive_id, {})
            key = path.strip("/").lower()
            existing = files.get(key)
            if existing:
                existing.content = content
                existing.version += 1
                existing.modified = utc_now()
                return existing
            name = path.strip("/").rsplit("/", 1)[-1]
            item = FakeDriveFile(new_id("01"), name, path.strip("/"), content, utc_now())
            files[key] = item
            return item

    def find_file(self, drive_id: str, path: str) -> FakeDriveFile | None:
        return self.drives.get(drive_id, {}).get(path.strip("/").lower())

    def find_file_by_id(self, drive_id: str, item_id: str) -> FakeDriveFile | None:
        for item in self.drives.get(drive_id, {}).values():
            if item.id == item_id:
                return item
        return None

    # -- mailboxes and calendars --------------------------------------------------------------

    def add_mailbox(self, upn: str) -> FakeMailbox:
        with self.lock:
            key = upn.lower()
            box = self.mailboxes.get(key)
            if box is None:
                box = FakeMailbox(upn)
                self.mailboxes[key] = box
            return box

    def mailbox(self, upn: str) -> FakeMailbox | None:
        return self.mailboxes.get(upn.lower())

    def messages(self, upn: str, folder: str) -> list[dict[str, Any]]:
        """A copy of the messages in a folder of a mailbox (empty if the mailbox is unknown)."""
        with self.lock:
            box = self.mailbox(upn)
            return copy.deepcopy(box.folder(folder)) if box else []

    def events(self, upn: str) -> list[dict[str, Any]]:
        with self.lock:
            box = self.mailbox(upn)
            return copy.deepcopy(list(box.events.values())) if box else []

    def store_message(self, upn: str, folder: str, message: dict[str, Any]) -> dict[str, Any]:
        """Put a Graph-shaped message into a folder, filling ids and timestamps."""
        with self.lock:
            box = self.add_mailbox(upn)
            msg = copy.deepcopy(message)
            msg.setdefault("id", new_id("AAMk"))
            msg.setdefault("conversationId", new_id("AAQk"))
            msg.setdefault("internetMessageId", f"<{uuid.uuid4().hex}@fake.m365.local>")
            now = utc_now()
            msg.setdefault("createdDateTime", now)
            msg.setdefault("receivedDateTime", now)
            msg.setdefault("lastModifiedDateTime", now)
            msg.setdefault("attachments", [])
            msg.setdefault("internetMessageHeaders", [])
            msg["hasAttachments"] = bool(msg["attachments"])
            box.messages[msg["id"]] = msg
            box.folder_of[msg["id"]] = folder.lower()
            return msg

    def deliver_reply(
        self,
        upn: str,
        *,
        sender: str,
        subject: str,
        body: str,
        conversation_id: str | None = None,
        in_reply_to: str | None = None,
        headers: dict[str, str] | None = None,
        received: str | None = None,
        sender_name: str = "",
    ) -> str:
        """Drop a message from ``sender`` into the mailbox's Inbox; returns its id.

        ``in_reply_to`` is the internetMessageId replied to; ``headers`` adds internet message
        headers (e.g. our own id header quoted back by a mail client).
        """
        header_list = [{"name": k, "value": v} for k, v in (headers or {}).items()]
        if in_reply_to:
            header_list.append({"name": "In-Reply-To", "value": in_reply_to})
        message: dict[str, Any] = {
            "subject": subject,
            "body": {"contentType": "text", "content": body},
            "bodyPreview": body[:255],
            "from": {"emailAddress": {"address": sender, "name": sender_name}},
            "sender": {"emailAddress": {"address": sender, "name": sender_name}},
            "toRecipients": [{"emailAddress": {"address": upn}}],
            "internetMessageHeaders": header_list,
            "isRead": False,
            "isDraft": False,
        }
        if conversation_id:
            message["conversationId"] = conversation_id
        if received:
            message["receivedDateTime"] = received
            message["sentDateTime"] = received
        return str(self.store_message(upn, "inbox", message)["id"])

    @staticmethod
    def attachment_bytes(attachment: dict[str, Any]) -> bytes:
        """The decoded content of a stored file attachment."""
        return base64.b64decode(attachment.get("contentBytes", ""))
