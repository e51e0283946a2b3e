"""E-mail addresses checked where they come in: ``check_email`` (email-validator, IDNA domains).

Every source's mapping (VERA, spreadsheet exports, the team's lists) passes each e-mail address
through :func:`check_email`. A usable address is stored as email-validator normalises it, with
the domain in its ASCII (IDNA) form, so ``jan@bücher.nl`` is kept as ``jan@xn--bcher-kva.nl``; a
local part outside ASCII (``ayşe@…``) stays as it is and needs SMTPUTF8 to be sent. An address
that cannot be used comes back with a *problem*: an operator-readable reason that never repeats
the address (email-validator's own messages may quote parts of it).

email-validator takes about 0.1 ms per address: 80,000 addresses would add eight seconds to a
full sync. Addresses of the plain shape nearly all are (an ASCII dot-atom before the ``@`` and
ordinary host names after it, no IDNA, no reserved name) take a fast path that gives exactly what
email-validator gives for them (lower-cased domain, local part as it is); a test pins the two to
each other. Everything else goes to email-validator itself.
"""

from __future__ import annotations

import re

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from keukentafel.domain.cleaning import clean_text

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")
_MAX_LOCAL = 64
_MAX_ADDRESS = 254

#: email-validator's messages, by a phrase they contain, as reasons that quote nothing.
_REASONS = (
    ("must have an @-sign", "it has no @-sign"),
    ("special-use or reserved name", "its domain is a reserved name that cannot receive e-mail"),
    ("too long", "it is too long"),
    ("before the @-sign", "the part before the @-sign is not valid"),
    ("two periods", "it has two periods in a row"),
    ("Quoting", "the part before the @-sign is quoted"),
    ("after the email address", "it holds more than one address or text after the address"),
    ("IP address", "its domain is an IP address"),
    ("after the @-sign", "the part after the @-sign is not a valid domain"),
    ("period", "it starts or ends with a period"),
)
PROBLEM_PREFIX = "e-mail address not usable: "


def check_email(text: str) -> tuple[str, str]:
    """``(value, problem)`` for one e-mail address as a source gives it.

    ``value`` is the normalised address when it is usable (``problem`` is then ""), else the
    cleaned text as it came (kept for the operator, never sent) with the reason in ``problem``.
    """
    value = clean_text(text)
    plain = _plain(value)
    if plain is not None:
        return plain, ""
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return value, PROBLEM_PREFIX + _reason(str(exc))
    return f"{checked.local_part}@{checked.ascii_domain}", ""


def _plain(value: str) -> str | None:
    """The normalised form of a plain address (see the module docstring), else None."""
    match = _PLAIN.fullmatch(value)
    if match is None or len(value) > _MAX_ADDRESS:
        return None
    local, domain = match.group(1), match.group(2).lower()
    if len(local) > _MAX_LOCAL or "--" in domain:  # length rules and IDNA labels: the library
        return None
    labels = domain.split(".")
    if any(".".join(labels[i:]) in SPECIAL_USE_DOMAIN_NAMES for i in range(len(labels))):
        return None
    return f"{local}@{domain}"


def _reason(message: str) -> str:
    for phrase, reason in _REASONS:
        if phrase in message:
            return reason
    return "it is not a valid e-mail address"
