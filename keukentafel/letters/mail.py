"""E-mail messages: one standard MIME message per household, built from the rendered templates.

Structure: ``multipart/mixed`` holding ``multipart/alternative`` (text/plain, then text/html,
both UTF-8, from the same templates) and the attachments (the PDF letter, a ``text/calendar;
method=REQUEST`` invitation). ``X-Keukentafel-Message-Id`` carries our own outbox id, so an
in-doubt message can be found in Sent Items after a crash. Sending is not done here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

OUR_ID_HEADER = "X-Keukentafel-Message-Id"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)


def pdf_attachment(filename: str, pdf: bytes) -> Attachment:
    return Attachment(filename, pdf, "application", "pdf")


def ics_attachment(filename: str, ics: bytes, method: str = "REQUEST") -> Attachment:
    return Attachment(filename, ics, "text", "calendar", {"method": method, "charset": "utf-8"})


def _address(display_name: str, address: str) -> Address:
    if "@" not in address:
        raise ValueError("not an e-mail address")
    username, domain = address.rsplit("@", 1)
    return Address(display_name=" ".join(display_name.split()), username=username, domain=domain)


def build_email(
    *,
    subject: str,
    text: str,
    html: str,
    from_name: str,
    from_address: str,
    to_name: str,
    to_address: str,
    our_message_id: str,
    reply_to: str = "",
    date: datetime | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """A complete MIME message; ``our_message_id`` goes into ``X-Keukentafel-Message-Id``."""
    message = EmailMessage()
    message["From"] = _address(from_name, from_address)
    message["To"] = _address(to_name, to_address)
    if reply_to:
        message["Reply-To"] = _address(from_name, reply_to)
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime((date or datetime.now(UTC)).astimezone(UTC))
    message["Message-ID"] = make_msgid(domain=from_address.rsplit("@", 1)[1])
    message[OUR_ID_HEADER] = our_message_id
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in attachments:
        if attachment.maintype == "text":
            message.add_attachment(
                attachment.content.decode("utf-8"),
                subtype=attachment.subtype,
                charset="utf-8",
                cte="quoted-printable",
                filename=attachment.filename,
                params={k: v for k, v in attachment.params.items() if k != "charset"},
            )
        else:
            message.add_attachment(
                attachment.content,
                maintype=attachment.maintype,
                subtype=attachment.subtype,
                filename=attachment.filename,
                params=dict(attachment.params),
            )
    return message
