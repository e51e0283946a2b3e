"""E-mail messages: one standard MIME message per household, built from the rendered templates.

Structure: ``multipart/mixed`` holding ``multipart/alternative`` (text/plain, then text/html,
both UTF-8, from the same templates) and the attachments (the PDF letter, a ``text/calendar;
method=REQUEST`` invitation). ``X-Keukentafel-Message-Id`` carries our own outbox id, so an
in-doubt message can be found in Sent Items after a crash. Sending is not done here.

Addresses are checked before a message is built (:func:`mailbox`): one that cannot be written
validly is refused with a reason that never repeats it, so the caller sets that recipient aside
and the household gets its letter by post. The domain is written in its ASCII (IDNA) form. A
local part outside ASCII (``ayşe@…``) is written as RFC 6532 allows: the message is serialised
with the SMTPUTF8 policy (UTF-8 headers, never an encoded word inside an address), and the
transport must send it with SMTPUTF8.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy as email_policy
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


class UnusableAddress(ValueError):
    """An e-mail address that cannot be written into a message; the text says why, without it."""


# RFC 5322 atext, and RFC 6532's UTF-8 beyond ASCII (letters, marks, digits of any script)
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+|[^\x00-\x7f]+")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DISPLAY_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _local_part_problem(local: str) -> str:
    if not local or len(local.encode()) > 64:
        return "the part before the @-sign is empty or too long"
    atoms = local.split(".")
    if any(not atom or not all(_ATOM.fullmatch(ch) for ch in atom) for atom in atoms):
        return "the part before the @-sign has characters an address cannot have"
    if not local.isascii() and not all(ch.isprintable() for ch in local):
        return "the part before the @-sign has characters an address cannot have"
    return ""


def _ascii_domain(domain: str) -> str:
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise UnusableAddress("the part after the @-sign is not a valid domain") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise UnusableAddress("the part after the @-sign is not a valid domain")
    if len(ascii_domain) > 253:
        raise UnusableAddress("the domain is too long")
    return ascii_domain


def mailbox(display_name: str, address: str) -> Address:
    """The address as a message header writes it, or UnusableAddress with the reason."""
    if not address or address != address.strip() or any(c.isspace() for c in address):
        raise UnusableAddress("it is empty or has spaces or line breaks in it")
    if not address.isprintable():
        raise UnusableAddress("it has control characters in it")
    if address.count("@") != 1:
        raise UnusableAddress("it does not have exactly one @-sign")
    local, domain = address.split("@")
    problem = _local_part_problem(local)
    if problem:
        raise UnusableAddress(problem)
    name = " ".join(_DISPLAY_UNSAFE.sub(" ", display_name).split())
    return Address(display_name=name, username=local, domain=_ascii_domain(domain))


def address_problem(address: str) -> str:
    """Why an e-mail address cannot be used; "" when it can."""
    try:
        mailbox("", address)
    except UnusableAddress as exc:
        return str(exc)
    return ""


def _address(display_name: str, address: str) -> Address:
    return mailbox(display_name, address)


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
    """A complete MIME message; ``our_message_id`` goes into ``X-Keukentafel-Message-Id``.

    Raises UnusableAddress when an address cannot be written (see :func:`mailbox`)."""
    to = _address(to_name, to_address)
    utf8 = not to.username.isascii()  # RFC 6532: the whole message goes with SMTPUTF8
    message = EmailMessage(policy=email_policy.SMTPUTF8 if utf8 else email_policy.default)
    message["From"] = _address(from_name, from_address)
    message["To"] = to
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
