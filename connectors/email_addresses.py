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

import string

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from keukentafel.domain.cleaning import clean_text

_ALNUM = string.ascii_letters + string.digits
_LOCAL_CHARS = _ALNUM + "!#$%&'*+/=?^_`{|}~.-"  # a dot-atom's characters
_DOMAIN_CHARS = _ALNUM + ".-"  # a host name's characters
_MAX_LOCAL = 64
_MAX_ADDRESS = 254
_MAX_LABEL = 63
_SPECIAL_SUFFIXES = tuple(f".{name}" for name in SPECIAL_USE_DOMAIN_NAMES)

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


# Kept whole: one chain of cheap guards, run for every address of a sync; they read best side by
# side (they are email-validator's rules for the plain case), and split they would cost calls.
def _plain(value: str) -> str | None:
    """The normalised form of a plain address (see the module docstring), else None.

    Plain: an ASCII dot-atom of at most 64 characters before the ``@``; after it, two or more
    host-name labels (letters, digits, inner hyphens, at most 63 characters, none with ``--``,
    so no IDNA), a top-level domain of two or more letters, and no reserved name; 254 at most in
    all. String methods rather than a regular expression: this runs for every address.
    """
    local, at, domain = value.partition("@")
    if not at or len(value) > _MAX_ADDRESS or len(local) > _MAX_LOCAL:
        return None
    # str.strip(chars) leaves nothing when every character is one of them (fast, in C)
    if not local or local.strip(_LOCAL_CHARS) or local[0] == "." or local[-1] == ".":
        return None
    if ".." in local or not domain or domain.strip(_DOMAIN_CHARS) or "--" in domain:
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not (labels[-1].isalpha() and len(labels[-1]) > 1):
        return None
    for label in labels:
        if not label or len(label) > _MAX_LABEL or label[0] == "-" or label[-1] == "-":
            return None
    domain = domain.lower()
    if f".{domain}".endswith(_SPECIAL_SUFFIXES):
        return None
    return f"{local}@{domain}"


def _reason(message: str) -> str:
    for phrase, reason in _REASONS:
        if phrase in message:
            return reason
    return "it is not a valid e-mail address"
