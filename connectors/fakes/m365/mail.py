"""Mail in the fake Graph: sendMail, drafts, attachments, upload sessions, folders and listings.

This module owns the ``/users/{upn}/messages``, ``/sendMail`` and ``/mailFolders`` routes and the
pre-authenticated upload URL of an upload session (``PUT /_upload/{key}``, served by
:meth:`Mail.upload`, which refuses a bearer token as Outlook does). Sent mail lands in Sent Items
when ``saveToSentItems`` is not false; replies are dropped into an Inbox with
``state.deliver_reply``. Listings honour ``$filter``, ``$select``, ``$orderby`` and ``$top``;
``internetMessageHeaders`` come back only when ``$select``-ed, as on Graph.
"""

from __future__ import annotations

import base64
import copy
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from connectors.fakes._server import Answer, Request
from connectors.fakes.m365.odata import (
    GraphRequestError,
    graph_error,
    matches_filter,
    select,
)
from connectors.fakes.m365.odata import (
    field as field_at,
)
from connectors.fakes.m365.resource import GraphResource, GraphRoute, Tenant
from connectors.fakes.m365.state import WELL_KNOWN_FOLDERS, new_id, utc_now

UPLOAD_PREFIX = "/_upload/"
MAX_UPLOAD_CHUNK = 4 * 1024 * 1024
MAX_INLINE_ATTACHMENT = 3 * 1024 * 1024
MAX_UPLOAD_ATTACHMENT = 150 * 1024 * 1024

_MESSAGE_DEFAULT_FIELDS = (
    "id",
    "subject",
    "body",
    "bodyPreview",
    "from",
    "sender",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "conversationId",
    "internetMessageId",
    "createdDateTime",
    "lastModifiedDateTime",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "isDraft",
    "isRead",
    "importance",
    "categories",
    "parentFolderId",
)


@dataclass
class _UploadSession:
    mailbox: str
    message_id: str
    name: str
    size: int
    content_type: str
    received: bytearray = field(default_factory=bytearray)


def public_message(message: dict[str, Any], selected: list[str] | None) -> dict[str, Any]:
    """A message as Graph lists it: internetMessageHeaders only when ``$select``-ed."""
    fields = selected if selected else list(_MESSAGE_DEFAULT_FIELDS)
    out = {k: copy.deepcopy(message[k]) for k in fields if k in message and k != "attachments"}
    out["id"] = message["id"]
    return out


def _checked_message(message: Any) -> dict[str, Any]:
    """A copy of a message as Graph would store it; 400 for what Graph refuses."""
    if not isinstance(message, dict):
        raise GraphRequestError(400, "ErrorInvalidRequest", "A message is required.")
    for header in message.get("internetMessageHeaders") or []:
        name = str(header.get("name", ""))
        if not name.lower().startswith("x-"):
            raise GraphRequestError(
                400,
                "InvalidInternetMessageHeader",
                "The internet message header name should start with 'x-' or 'X-'.",
            )
    attachments = []
    for attachment in message.get("attachments") or []:
        try:
            content = base64.b64decode(attachment.get("contentBytes", ""), validate=True)
        except ValueError:
            raise GraphRequestError(
                400, "ErrorInvalidRequest", "Attachment contentBytes is not base64."
            ) from None
        stored = dict(attachment)
        stored.setdefault("@odata.type", "#microsoft.graph.fileAttachment")
        stored["id"] = new_id("AAMkAtt")
        stored["size"] = len(content)
        attachments.append(stored)
    out = copy.deepcopy(message)
    out["attachments"] = attachments
    return out


class Mail(GraphResource):
    def __init__(self, tenant: Tenant) -> None:
        super().__init__(tenant)
        self._uploads: dict[str, _UploadSession] = {}

    def routes(self) -> list[GraphRoute]:
        messages = r"/users/([^/]+)/messages"
        message = messages + r"/([^/]+)"
        return [
            ("POST", r"/users/([^/]+)/sendMail", self._send_mail),
            ("POST", messages, self._create_draft),
            ("GET", messages, self._all_messages),
            ("GET", message, self._get_message),
            ("PATCH", message, self._patch_message),
            ("DELETE", message, self._delete_message),
            ("POST", message + "/send", self._send_draft),
            ("POST", message + "/attachments", self._add_attachment),
            ("GET", message + "/attachments", self._get_attachments),
            ("POST", message + "/attachments/createUploadSession", self._create_upload_session),
            ("GET", r"/users/([^/]+)/mailFolders/([^/]+)/messages", self._folder_messages),
        ]

    def _message(self, upn: str, message_id: str) -> dict[str, Any]:
        msg = self.mailbox(upn).messages.get(message_id)
        if msg is None:
            raise GraphRequestError(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return msg

    # -- sending -------------------------------------------------------------------------------

    def _send_mail(self, params: dict[str, str], payload: Any, upn: str) -> Answer:
        box = self.mailbox(upn)
        if not isinstance(payload, dict):
            raise GraphRequestError(400, "ErrorInvalidRequest", "Empty request body.")
        message = _checked_message(payload.get("message"))
        recipients = [
            *message.get("toRecipients", []),
            *message.get("ccRecipients", []),
            *message.get("bccRecipients", []),
        ]
        if not recipients:
            raise GraphRequestError(
                400, "ErrorInvalidRecipients", "At least one recipient is not valid."
            )
        if payload.get("saveToSentItems", True) not in (False, "false", "False"):
            now = utc_now()
            message.update(
                {
                    "from": {"emailAddress": {"address": box.upn}},
                    "sender": {"emailAddress": {"address": box.upn}},
                    "sentDateTime": now,
                    "receivedDateTime": now,
                    "isDraft": False,
                    "isRead": True,
                }
            )
            self.state.store_message(box.upn, "sentitems", message)
        return Answer(202)

    def _create_draft(self, params: dict[str, str], payload: Any, upn: str) -> Answer:
        box = self.mailbox(upn)
        message = _checked_message(payload)
        message.update({"isDraft": True, "from": {"emailAddress": {"address": box.upn}}})
        stored = self.state.store_message(box.upn, "drafts", message)
        return Answer(201, public_message(stored, None))

    def _send_draft(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> Answer:
        msg = self._message(upn, message_id)
        box = self.mailbox(upn)
        if not msg.get("isDraft"):
            raise GraphRequestError(
                400, "ErrorInvalidOperation", "Only a draft message can be sent."
            )
        if not [*msg.get("toRecipients", []), *msg.get("ccRecipients", [])]:
            raise GraphRequestError(
                400, "ErrorInvalidRecipients", "At least one recipient is not valid."
            )
        now = utc_now()
        msg.update({"isDraft": False, "sentDateTime": now, "receivedDateTime": now})
        box.folder_of[message_id] = "sentitems"
        return Answer(202)

    # -- reading and changing messages ---------------------------------------------------------

    def _all_messages(self, params: dict[str, str], payload: Any, upn: str) -> Answer:
        box = self.mailbox(upn)
        return self._listing(f"/users/{upn}/messages", params, list(box.messages.values()))

    def _folder_messages(
        self, params: dict[str, str], payload: Any, upn: str, folder: str
    ) -> Answer:
        box = self.mailbox(upn)
        key = folder.lower()
        if key not in WELL_KNOWN_FOLDERS:
            raise GraphRequestError(
                404, "ErrorInvalidIdMalformed", "Id is malformed or the folder does not exist."
            )
        path = f"/users/{upn}/mailFolders/{folder}/messages"
        return self._listing(path, params, box.folder(key))

    def _listing(self, path: str, params: dict[str, str], messages: list[dict[str, Any]]) -> Answer:
        selected = select(params.get("$select"))
        chosen = [m for m in messages if matches_filter(m, params.get("$filter"))]
        order = params.get("$orderby", "receivedDateTime desc").split()
        reverse = len(order) > 1 and order[1].lower() == "desc"
        chosen.sort(key=lambda m: (str(field_at(m, order[0]) or ""), m["id"]), reverse=reverse)
        return self.page(path, params, [public_message(m, selected) for m in chosen])

    def _get_message(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> Answer:
        msg = self._message(upn, message_id)
        return Answer(200, public_message(msg, select(params.get("$select"))))

    def _patch_message(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> Answer:
        msg = self._message(upn, message_id)
        if not isinstance(payload, dict):
            raise GraphRequestError(400, "ErrorInvalidRequest", "Empty request body.")
        payload = {k: v for k, v in payload.items() if k not in ("id", "attachments")}
        if not msg.get("isDraft") and set(payload) - {"isRead", "categories", "flag"}:
            raise GraphRequestError(
                400, "ErrorInvalidRequest", "Only drafts can be changed beyond their flags."
            )
        msg.update(copy.deepcopy(payload))
        msg["lastModifiedDateTime"] = utc_now()
        return Answer(200, public_message(msg, None))

    def _delete_message(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> Answer:
        self._message(upn, message_id)
        box = self.mailbox(upn)
        del box.messages[message_id]
        box.folder_of.pop(message_id, None)
        return Answer(204)

    # -- attachments ---------------------------------------------------------------------------

    def _add_attachment(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> Answer:
        msg = self._message(upn, message_id)
        checked = _checked_message({"attachments": [payload or {}]})["attachments"][0]
        if checked["size"] > MAX_INLINE_ATTACHMENT:
            raise GraphRequestError(
                413,
                "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                "Attachments over 3 MB must use an upload session.",
            )
        msg["attachments"].append(checked)
        msg["hasAttachments"] = True
        return Answer(201, {k: v for k, v in checked.items() if k != "contentBytes"})

    def _get_attachments(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> Answer:
        msg = self._message(upn, message_id)
        return Answer(200, {"value": copy.deepcopy(msg["attachments"])})

    def _create_upload_session(
        self, params: dict[str, str], payload: Any, upn: str, message_id: str
    ) -> Answer:
        msg = self._message(upn, message_id)
        if not msg.get("isDraft"):
            raise GraphRequestError(
                400, "ErrorInvalidOperation", "Attachments can be uploaded to drafts only."
            )
        item = (payload or {}).get("AttachmentItem") or {}
        if item.get("attachmentType") != "file" or not item.get("name") or not item.get("size"):
            raise GraphRequestError(
                400, "ErrorInvalidRequest", "AttachmentItem needs attachmentType, name and size."
            )
        if int(item["size"]) > MAX_UPLOAD_ATTACHMENT:
            raise GraphRequestError(400, "ErrorInvalidRequest", "Attachments are at most 150 MB.")
        key = uuid.uuid4().hex
        self._uploads[key] = _UploadSession(
            self.mailbox(upn).upn,
            message_id,
            str(item["name"]),
            int(item["size"]),
            str(item.get("contentType", "application/octet-stream")),
        )
        return Answer(
            201,
            {
                "uploadUrl": f"{self.tenant.authority_host}{UPLOAD_PREFIX}{key}",
                "expirationDateTime": "2099-01-01T00:00:00Z",
                "nextExpectedRanges": ["0-"],
            },
        )

    def upload(self, request: Request) -> Answer:
        """``PUT /_upload/{key}`` with ``Content-Range``: the next chunk of an upload session."""
        key = request.raw_path.rsplit("/", 1)[-1]
        with self.state.lock:
            session = self._uploads.get(key)
            if session is None or request.method != "PUT":
                return graph_error(404, "ErrorItemNotFound", "Upload session not found.")
            if "authorization" in request.headers:
                # The upload URL is pre-authenticated; Outlook rejects a bearer token on it.
                return graph_error(
                    401, "InvalidAuthenticationToken", "Do not send Authorization to uploadUrl."
                )
            problem = _range_problem(session, request)
            if problem is not None:
                return problem
            session.received.extend(request.body)
            if len(session.received) < session.size:
                return Answer(
                    200,
                    {
                        "expirationDateTime": "2099-01-01T00:00:00Z",
                        "nextExpectedRanges": [f"{len(session.received)}-"],
                    },
                )
            answer = self._attach_upload(session)
            if answer.status == 201:
                del self._uploads[key]
            return answer

    def _attach_upload(self, session: _UploadSession) -> Answer:
        """The last chunk arrived: the file becomes an attachment of the draft."""
        box = self.state.mailbox(session.mailbox)
        msg = box.messages.get(session.message_id) if box else None
        if msg is None:
            return graph_error(404, "ErrorItemNotFound", "The draft is gone.")
        attachment_id = new_id("AAMkAtt")
        msg["attachments"].append(
            {
                "@odata.type": "#microsoft.graph.fileAttachment",
                "id": attachment_id,
                "name": session.name,
                "contentType": session.content_type,
                "size": session.size,
                "contentBytes": base64.b64encode(bytes(session.received)).decode("ascii"),
            }
        )
        msg["hasAttachments"] = True
        location = (
            f"{self.tenant.graph_base_url}/users/{quote(session.mailbox)}/messages/"
            f"{session.message_id}/attachments/{attachment_id}"
        )
        return Answer(201, None, {"Location": location})


def _range_problem(session: _UploadSession, request: Request) -> Answer | None:
    """An error answer when the chunk is not the next expected range, else None."""
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", request.header("content-range"))
    if not match:
        return graph_error(400, "InvalidRange", "Content-Range is required.")
    start, end, total = (int(g) for g in match.groups())
    if (
        total != session.size
        or start != len(session.received)
        or end - start + 1 != len(request.body)
        or len(request.body) > MAX_UPLOAD_CHUNK
    ):
        return graph_error(
            416, "InvalidRange", "The uploaded range is not the next expected range."
        )
    return None
