"""Moved to :mod:`keukentafel.config.m365`; this name stays importable while issue 8 merges."""

from __future__ import annotations

from keukentafel.config.m365 import (
    CertificateConfig,
    ContactListConfig,
    ContactWorkbookConfig,
    M365Config,
)

__all__ = ["CertificateConfig", "ContactListConfig", "ContactWorkbookConfig", "M365Config"]
