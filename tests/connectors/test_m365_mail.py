"""Mail through the shared mailbox, against the fake Entra ID + Graph with the real msal."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from connectors.fakes.m365 import FakeMicrosoft365
from connectors.m365.graph import GraphClient, GraphError
from connectors.m365.mail import (
    DEFAULT_CHUNK_BYTES,
    OUR_HEADER,
    MailboxSender,
    SendRoute,
    to_graph_message,
)
from connectors.m365.replies import ReplyMatch, ReplyReader, html_to_text
from tests.m365_fixtures import MAILBOX


@pytest.fixture
def fake(fake_m365: FakeMicrosoft365) -> FakeMicrosoft365:
    return fake_m365


@pytest.fixture
def client(graph_client: GraphClient) -> GraphClient:
    return graph_client


def sender(client: GraphClient, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> MailboxSender:
    """A sender without pacing in the way (pacing has its own test)."""
    return MailboxSender(client, MAILBOX, pace_per_minute=60_000, chunk_bytes=chunk_bytes)


def letter(to: str = "fam.jansen@example.nl", *, html: bool = True) -> EmailMessage:
    message = EmailMessage()
    message["From"] = MAILBOX
    message["To"] = f"Fam. Jansen <{to}>"
    message["Subject"] = "Uitnodiging keukentafelgesprek"
    message.set_content("Beste bewoner,\n\nWe komen graag langs.")
    if html:
        message.add_alternative("<p>Beste bewoner,</p><p>We komen graag langs.</p>", subtype="html")
    message.add_attachment(
        b"%PDF-1.7 brief", maintype="application", subtype="pdf", filename="brief.pdf"
    )
    return message


def sent_items(fake: FakeMicrosoft365) -> list[dict[str, Any]]:
    return fake.state.messages(MAILBOX, "SentItems")


def header(message: dict[str, Any], name: str = OUR_HEADER) -> str | None:
    for item in message.get("internetMessageHeaders") or []:
        if item["name"].lower() == name.lower():
            return str(item["value"])
    return None


# --- the message JSON -----------------------------------------------------------------------


def test_graph_message_shape() -> None:
    message = letter()
    message["Cc"] = "buren@example.nl"
    message["Reply-To"] = "begeleider@corporatie.example"
    message["X-Project"] = "NOORD-1"
    graph = to_graph_message(message, "msg-1")
    assert graph.json["body"]["contentType"] == "HTML"
    assert "langs" in graph.json["body"]["content"]
    assert graph.json["toRecipients"] == [
        {"emailAddress": {"address": "fam.jansen@example.nl", "name": "Fam. Jansen"}}
    ]
    assert graph.json["ccRecipients"][0]["emailAddress"]["address"] == "buren@example.nl"
    assert graph.json["replyTo"][0]["emailAddress"]["address"] == "begeleider@corporatie.example"
    assert graph.json["internetMessageHeaders"] == [
        {"name": OUR_HEADER, "value": "msg-1"},
        {"name": "X-Project", "value": "NOORD-1"},
    ]
    assert [(a.name, a.content_type, a.content) for a in graph.attachments] == [
        ("brief.pdf", "application/pdf", b"%PDF-1.7 brief")
    ]


def test_plain_text_used_when_there_is_no_html() -> None:
    graph = to_graph_message(letter(html=False), "msg-2")
    assert graph.json["body"] == {
        "contentType": "Text",
        "content": "Beste bewoner,\n\nWe komen graag langs.\n",
    }


def test_message_without_recipients_is_refused() -> None:
    message = EmailMessage()
    message["Subject"] = "x"
    message.set_content("x")
    with pytest.raises(ValueError, match="msg-3"):
        to_graph_message(message, "msg-3")


# --- sending --------------------------------------------------------------------------------


def test_small_mail_goes_through_sendmail_and_lands_in_sent_items(
    fake: FakeMicrosoft365, client: GraphClient
) -> None:
    mailbox = sender(client)
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert not mailbox.find_sent("msg-10", since)

    result = mailbox.send(letter(), "msg-10")

    assert result.route is SendRoute.SEND_MAIL
    assert fake.count("POST", "/sendMail") == 1
    (stored,) = sent_items(fake)
    assert header(stored) == "msg-10"
    assert stored["body"]["contentType"] == "HTML"
    (attachment,) = stored["attachments"]
    assert base64.b64decode(attachment["contentBytes"]) == b"%PDF-1.7 brief"
    assert mailbox.find_sent("msg-10", since)
    assert not mailbox.find_sent("msg-11", since)


def test_large_mail_goes_through_a_draft_and_an_upload_session(
    fake: FakeMicrosoft365, client: GraphClient
) -> None:
    big = os.urandom(3 * 1024 * 1024 + 200_000)  # > 3 MB: too large for sendMail
    message = letter()
    message.add_attachment(big, maintype="application", subtype="pdf", filename="tekeningen.pdf")
    mailbox = sender(client, chunk_bytes=1024 * 1024)

    result = mailbox.send(message, "msg-20")

    assert result.route is SendRoute.DRAFT
    assert fake.count("POST", "/sendMail") == 0
    assert fake.count("POST", "/createUploadSession") == 1
    assert fake.count("PUT", "/_upload/") == 4  # 3.2 MB in chunks of 1 MiB
    assert fake.count("POST", f"/messages/{result.draft_id}/send") == 1
    assert fake.state.messages(MAILBOX, "Drafts") == []
    (stored,) = sent_items(fake)
    assert header(stored) == "msg-20"
    contents = {a["name"]: base64.b64decode(a["contentBytes"]) for a in stored["attachments"]}
    assert contents == {"brief.pdf": b"%PDF-1.7 brief", "tekeningen.pdf": big}
    assert mailbox.find_sent("msg-20", datetime.now(UTC) - timedelta(minutes=1))


def test_failed_upload_leaves_no_draft_and_a_retry_sends_once(
    fake: FakeMicrosoft365, client: GraphClient
) -> None:
    message = letter()
    message.add_attachment(
        os.urandom(3 * 1024 * 1024 + 10), maintype="application", subtype="pdf", filename="a.pdf"
    )
    mailbox = sender(client)
    fake.faults.forbid(path_prefix=f"/users/{MAILBOX}/messages/", count=1, method="POST")
    with pytest.raises(GraphError) as caught:
        mailbox.send(message, "msg-25")
    assert caught.value.status == 403
    assert caught.value.request_id  # Graph's request-id for the operator
    assert fake.state.messages(MAILBOX, "Drafts") == []
    since = datetime.now(UTC) - timedelta(minutes=1)
    assert not mailbox.find_sent("msg-25", since)  # so the outbox may send it again

    mailbox.send(message, "msg-25")
    assert [header(m) for m in sent_items(fake)] == ["msg-25"]


def test_throttled_send_is_retried_once_sent(fake: FakeMicrosoft365, client: GraphClient) -> None:
    fake.faults.throttle(2, "0.05", method="POST", path_prefix=f"/users/{MAILBOX}/sendMail")
    result = sender(client).send(letter(), "msg-30")
    assert result.route is SendRoute.SEND_MAIL
    statuses = [r.status for r in fake.requests_log if r.path.endswith("/sendMail")]
    assert statuses == [429, 429, 202]
    assert [header(m) for m in sent_items(fake)] == ["msg-30"]


def test_sending_is_paced_per_mailbox(client: GraphClient) -> None:
    now = [1000.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    mailbox = MailboxSender(client, MAILBOX, pace_per_minute=30, clock=lambda: now[0], sleep=sleep)
    for number in range(3):
        mailbox.send(letter(), f"msg-4{number}")
        now[0] += 0.5  # the send itself and the bookkeeping took half a second
    assert waits == [pytest.approx(1.5), pytest.approx(1.5)]


# --- replies --------------------------------------------------------------------------------


def test_replies_are_matched_three_ways(fake: FakeMicrosoft365, client: GraphClient) -> None:
    mailbox = sender(client)
    start = datetime.now(UTC) - timedelta(seconds=5)
    mailbox.send(letter("a@example.nl"), "msg-A")
    mailbox.send(letter("b@example.nl"), "msg-B")
    mailbox.send(letter("c@example.nl"), "msg-C")
    by_id = {header(m): m for m in sent_items(fake)}
    state = fake.state

    def at(seconds: int) -> str:
        return (start + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    state.deliver_reply(  # a mail program that keeps In-Reply-To
        MAILBOX,
        sender="a@example.nl",
        subject="RE: Uitnodiging",
        body="Dinsdag past goed.",
        in_reply_to=str(by_id["msg-A"]["internetMessageId"]),
        received=at(10),
    )
    state.deliver_reply(  # same conversation, from another address of the household
        MAILBOX,
        sender="b.werk@example.nl",
        subject="RE: Uitnodiging",
        body="Liever woensdag.",
        conversation_id=str(by_id["msg-B"]["conversationId"]),
        received=at(20),
    )
    state.deliver_reply(  # a new mail from a resident we wrote to
        MAILBOX, sender="C@Example.nl", subject="Vraag", body="Wanneer komt u?", received=at(30)
    )
    state.deliver_reply(  # an auto-reply that copies our header
        MAILBOX,
        sender="noreply@example.nl",
        subject="Afwezig",
        body="Ik ben afwezig.",
        headers={OUR_HEADER: "msg-B"},
        received=at(40),
    )
    state.deliver_reply(  # someone we never wrote to
        MAILBOX, sender="onbekend@example.nl", subject="Hallo", body="Hallo", received=at(50)
    )
    state.store_message(  # an HTML reply with a photo
        MAILBOX,
        "inbox",
        {
            "subject": "Foto",
            "body": {"contentType": "html", "content": "<p>Zie <b>foto</b></p><p>Groet</p>"},
            "from": {"emailAddress": {"address": "a@example.nl"}},
            "receivedDateTime": at(60),
            "attachments": [
                {
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "id": "att-1",
                    "name": "lekkage.jpg",
                    "contentType": "image/jpeg",
                    "size": 4,
                    "contentBytes": base64.b64encode(b"jpeg").decode(),
                }
            ],
        },
    )

    inbox = ReplyReader(client, MAILBOX)
    replies, watermark = inbox.read_replies(start + timedelta(seconds=15))

    assert [(r.sender, r.our_message_id, r.match) for r in replies] == [
        ("b.werk@example.nl", "msg-B", ReplyMatch.CONVERSATION),
        ("c@example.nl", "msg-C", ReplyMatch.SENDER),
        ("noreply@example.nl", "msg-B", ReplyMatch.HEADER),
        ("onbekend@example.nl", None, None),
        ("a@example.nl", "msg-A", ReplyMatch.SENDER),
    ]
    assert watermark == start.replace(microsecond=0) + timedelta(seconds=60)
    photo = replies[-1]
    assert photo.body_text == "Zie foto\nGroet"
    assert [(a.name, a.content_type, a.size) for a in photo.attachments] == [
        ("lekkage.jpg", "image/jpeg", 4)
    ]

    earlier, _ = inbox.read_replies(start)
    first = earlier[0]
    assert (first.our_message_id, first.match, first.body_text) == (
        "msg-A",
        ReplyMatch.HEADER,
        "Dinsdag past goed.",
    )

    again, same = inbox.read_replies(watermark)
    assert [r.graph_id for r in again] == [photo.graph_id]  # inclusive: skip by graph_id
    assert same == watermark


def test_html_to_text() -> None:
    html = "<html><head><style>p{}</style></head><body><p>Een</p><div>Twee  drie</div></body>"
    assert html_to_text(html) == "Een\nTwee drie"
