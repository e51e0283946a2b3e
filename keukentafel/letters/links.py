"""Personal response links in letters: the QR code that carries them.

Signing and verifying live in the pure :mod:`keukentafel.domain.links` (the web application checks
the same links); they are re-exported here for the letters' callers. This module adds only what
paper needs: the link as an inline SVG QR code.
"""

from __future__ import annotations

import segno
from markupsafe import Markup

from keukentafel.domain.links import (
    VERSION,
    IssuedLink,
    LinkClaims,
    LinkError,
    LinkExpired,
    LinkMalformed,
    LinkSecretMissing,
    LinkTampered,
    issue_link,
    read_link_secret,
    sign_link,
    verify_link,
)

__all__ = [
    "VERSION",
    "IssuedLink",
    "LinkClaims",
    "LinkError",
    "LinkExpired",
    "LinkMalformed",
    "LinkSecretMissing",
    "LinkTampered",
    "issue_link",
    "qr_svg",
    "read_link_secret",
    "sign_link",
    "verify_link",
]


def qr_svg(url: str, *, scale: int = 2) -> Markup:
    """The link as an inline SVG QR code (error correction M), safe to print unescaped."""
    code = segno.make(url, error="m", micro=False)
    return Markup(code.svg_inline(scale=scale, title="QR-code van uw persoonlijke link"))  # noqa: S704
