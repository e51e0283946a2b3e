"""Open items: what a guide must pick up (a question, a request for a visit or a call, an
e-mail reply), and what a resident may send through the page.

An open item is recorded once (``source_ref``: a form's one-time nonce, a message id) and stays
open until a guide closes it. It never changes consent by itself: answers go through the consent
use case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_TEXT = 2000


class OpenItemKind(StrEnum):
    QUESTION = "question"
    VISIT_REQUEST = "visit_request"
    CALL_REQUEST = "call_request"
    EMAIL_REPLY = "email_reply"  # matched from the shared mailbox (reply matching, next wave)

    @property
    def label(self) -> str:
        """How the staff page names it (Dutch, like the rest of what the team reads)."""
        return _LABELS[self]


_LABELS = {
    OpenItemKind.QUESTION: "Vraag",
    OpenItemKind.VISIT_REQUEST: "Wil een bezoek",
    OpenItemKind.CALL_REQUEST: "Wil gebeld worden",
    OpenItemKind.EMAIL_REPLY: "Antwoord per e-mail",
}

#: What a resident may ask for on the page.
RESIDENT_KINDS = (OpenItemKind.QUESTION, OpenItemKind.CALL_REQUEST, OpenItemKind.VISIT_REQUEST)


class OpenItemStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class InvalidRequest(ValueError):
    """A request from the page that cannot be recorded (the message is shown to the resident)."""


@dataclass(frozen=True, slots=True)
class OpenItem:
    public_id: str
    corporation_code: str
    project_code: str
    unit_code: str
    kind: OpenItemKind
    channel: str  # "web", "email"
    text: str
    status: OpenItemStatus
    created_at: datetime
    closed_at: datetime | None = None
    closed_by: str = ""


def resident_request(kind: str, text: str) -> tuple[OpenItemKind, str]:
    """The kind and cleaned text of a request typed on the page; InvalidRequest (in B1 Dutch)
    when it cannot be sent as it is."""
    found = next((k for k in RESIDENT_KINDS if k.value == kind), None)
    if found is None:
        raise InvalidRequest("Kies wat u wilt: een vraag stellen, gebeld worden of een bezoek.")
    cleaned = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()
    if found is OpenItemKind.QUESTION and not cleaned:
        raise InvalidRequest("Schrijf uw vraag in het vak.")
    if len(cleaned) > MAX_TEXT:
        raise InvalidRequest(f"Uw tekst is te lang. Gebruik niet meer dan {MAX_TEXT} tekens.")
    return found, cleaned
