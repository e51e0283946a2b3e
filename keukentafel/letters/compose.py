"""Composing one message kind for one household: letter, e-mail, invitation and personal link.

This module owns what one household receives: the context, the signed personal link and its QR
code (for kinds that ask a response), the letter and e-mail renderings, the ``.ics`` invitation
and the ``.eml`` message. It writes no files (letters/output.py does) and sends nothing (the
outbox does).

The link secret is passed in by the caller. Only previews and checks, which print links nobody
will follow, may use a throw-away secret; they make one per run (``link_secret_or_throwaway``),
so nothing here keeps a secret between calls.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jinja2 import Environment

from keukentafel.config.letters import LettersConfig
from keukentafel.domain.messages import Event, KindPolicy
from keukentafel.domain.model import ContactKind, Household, Project
from keukentafel.domain.outbox import recipient_key
from keukentafel.letters.context import (
    EMAIL_LAYOUT,
    LETTER_LAYOUT,
    build_context,
    display_name,
    household_key,
)
from keukentafel.letters.ics import Party, build_ics, event_uid
from keukentafel.letters.links import LinkSecretMissing, issue_link, qr_svg, read_link_secret
from keukentafel.letters.mail import (
    address_problem,
    build_email,
    ics_attachment,
    mailbox,
    pdf_attachment,
)
from keukentafel.letters.render import (
    Rendered,
    html_with_summary,
    kind_meta,
    render,
    summary_languages,
    text_with_summary,
)

log = logging.getLogger(__name__)

_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(text: str) -> str:
    """A file name part made of letters, digits, dot, dash and underscore only."""
    return _UNSAFE_FILENAME.sub("_", text).strip("._") or "x"


# --- the link secret -----------------------------------------------------------------------------


def throwaway_link_secret() -> bytes:
    """A random secret for links that are printed to be read, never followed (checks, tests)."""
    return secrets.token_bytes(32)


def link_secret_or_throwaway(config: LettersConfig, env: Mapping[str, str]) -> bytes:
    """The configured link secret; for a preview without one, a new throw-away secret.

    Call it once per preview or sample mailing and pass the result on: every link in that output
    then carries the same secret, and the warning is logged once."""
    try:
        return read_link_secret(env, config.link_secret_env)
    except LinkSecretMissing:
        log.warning(
            "%s is not set: personal links in this output use a throw-away secret "
            "and will not verify later",
            config.link_secret_env,
        )
        return throwaway_link_secret()


# --- one message ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Composed:
    """One kind for one household: letter and e-mail renderings plus what goes with them."""

    household: Household
    policy: KindPolicy
    letter: Rendered
    email: Rendered
    event: Event | None

    @property
    def letter_html(self) -> str:
        """The letter with its translated summary on a page of its own."""
        return html_with_summary(self.letter, new_page=True)

    @property
    def email_html(self) -> str:
        return html_with_summary(self.email, new_page=False)

    @property
    def email_text(self) -> str:
        return text_with_summary(self.email)


def compose(
    kind: str,
    household: Household,
    *,
    config: LettersConfig,
    project: Project,
    on: date,
    env: Environment,
    secret: bytes,
    event: Event | None = None,
    details: Mapping[str, Any] | None = None,
    response_deadline: date | None = None,
    now: datetime | None = None,
) -> Composed:
    """Render one kind for one household, with a signed personal link and its short code when
    the kind asks a response. The link depends on the letter date ``on``, not on ``now``."""
    policy = kind_meta(kind, env)
    url: str | None = None
    svg = code = start = ""
    if policy.asks_response:
        # The same letter composed again gets the same link and code (expiry: a calendar day).
        issued = issue_link(
            config.link_base_url,
            household_key(project, household),
            kind,
            on=on,
            valid_days=config.link_valid_days,
            secret=secret,
            parties=(resident.relation_id for resident in household.residents),
        )
        url, code, start = issued.url, issued.code, issued.start_url
        svg = str(qr_svg(url))
    ctx = build_context(
        kind,
        household,
        letters_config=config,
        project=project,
        on=on,
        event=event,
        details=details,
        response_link=url,
        response_deadline=response_deadline,
        qr_svg=svg,
        response_code=code,
        start_url=start,
        registered=policy.registered_mail,
        summary_languages=summary_languages(kind, env),
    )
    letter = render(kind, ctx, layout=LETTER_LAYOUT, env=env)
    email = render(kind, ctx, layout=EMAIL_LAYOUT, env=env)
    return Composed(household, policy, letter, email, event)


@dataclass(frozen=True, slots=True)
class Recipient:
    """One party of a household that gets the e-mail: the name it is addressed by, the address."""

    name: str
    address: str


_REGISTER_PROBLEM = "e-mail address not usable: "


def email_recipients(household: Household) -> tuple[list[Recipient], list[str]]:
    """Every party of the household with a usable e-mail address (tenants first), each address
    once; and for each party whose addresses cannot be used, the reason, naming the party by its
    place in the household ("party 2"), never by name or address.

    A party's preferred address is tried first, then its others. An address is unusable when
    the register kept it aside (its contact point has a ``problem``) or when it cannot be
    written into a message (keukentafel.letters.mail.mailbox)."""
    recipients: list[Recipient] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, resident in enumerate(household.residents, start=1):
        points = sorted(
            (p for p in resident.contacts if p.kind is ContactKind.EMAIL),
            key=lambda p: not p.preferred,
        )
        reasons = [
            str(getattr(p, "problem", "")).removeprefix(_REGISTER_PROBLEM)
            or address_problem(p.value)
            for p in points
        ]
        usable = [
            mailbox("", p.value).addr_spec  # the domain in its ASCII (IDNA) form
            for p, reason in zip(points, reasons, strict=True)
            if not reason
        ]
        if points and not usable:
            problems.append(f"party {index}: e-mail address not usable: {reasons[0]}")
        if not usable or recipient_key(usable[0]) in seen:
            continue
        seen.add(recipient_key(usable[0]))
        recipients.append(Recipient(display_name(resident), usable[0]))
    return recipients, problems


def ics_for(
    composed: Composed,
    project: Project,
    config: LettersConfig,
    now: datetime,
    sequence: int | None = None,
    attendee: Recipient | None = None,
) -> bytes | None:
    """The invitation that goes with the message, or None when its kind attaches none.

    ``sequence`` is the iCalendar SEQUENCE the caller tracks for this household's invitation;
    without one, the kind's initial sequence (a changed appointment starts at 1). ``attendee``
    is the recipient of the e-mail it goes with (every recipient of a household gets the same
    UID and SEQUENCE); None for the copy in the archive of a household without e-mail."""
    if composed.event is None or not composed.policy.attach_ics:
        return None
    return build_ics(
        composed.event,
        uid=event_uid(project.code, composed.event.event_id, composed.household.unit.code),
        sequence=composed.policy.initial_sequence if sequence is None else sequence,
        method="REQUEST",
        organiser=Party(config.contact.name, config.from_address),
        attendee=Party(attendee.name, attendee.address) if attendee else None,
        description=f"{composed.letter.subject}. Vragen? Bel {config.contact.phone}.",
        now=now,
        rsvp=composed.policy.asks_response,  # no answer asked when the letter asks none
    )


def eml_for(
    composed: Composed,
    recipient: Recipient,
    *,
    config: LettersConfig,
    message_id: str,
    pdf: bytes,
    ics: bytes | None,
    now: datetime,
) -> bytes:
    """The e-mail to one recipient (RFC 5322 bytes, or RFC 6532 for an address beyond ASCII)
    with the letter and invitation attached. ``message_id`` goes in our own header, so the
    outbox can find it again. Raises UnusableAddress for an address that cannot be written."""
    unit = composed.household.unit.code
    kind = composed.letter.kind
    attachments = [pdf_attachment(f"brief-{kind}-{safe_filename(unit)}.pdf", pdf)]
    if ics is not None:
        attachments.append(ics_attachment("uitnodiging.ics", ics))
    message = build_email(
        subject=composed.email.subject,
        text=composed.email_text,
        html=composed.email_html,
        from_name=config.branding.name,
        from_address=config.from_address,
        to_name=recipient.name,
        to_address=recipient.address,
        our_message_id=message_id,
        reply_to=config.contact.email,
        date=now,
        attachments=attachments,
    )
    return message.as_bytes()
