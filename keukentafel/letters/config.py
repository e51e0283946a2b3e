"""Moved to :mod:`keukentafel.config.letters`; this name stays importable while issue 8 merges."""

from __future__ import annotations

from keukentafel.config.letters import (
    BrandingConfig,
    ContactConfig,
    EnvelopeProfile,
    LettersConfig,
    Millimetres,
)

__all__ = ["BrandingConfig", "ContactConfig", "EnvelopeProfile", "LettersConfig", "Millimetres"]
