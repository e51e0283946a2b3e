"""The shrink guard: a snapshot that would remove too much of the register is refused.

A broken ERP export must never move out half a neighbourhood; the use case checks the diff with
:func:`check_shrink` before it writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping

from keukentafel.domain.model import Lease, LeaseStatus
from keukentafel.domain.register.diff import EntityDiff


class UnsafeSnapshot(Exception):
    """The snapshot would do more harm than a broken ERP is allowed to do. Nothing was changed."""


def lost_current_leases(diff: EntityDiff, old: Mapping[str, Lease]) -> int:
    """Leases stored as current that this snapshot removes or ends."""
    lost = sum(1 for lid in diff.removed if old[lid].status is not LeaseStatus.ENDED)
    for lid in diff.changed:
        if (
            old[lid].status is not LeaseStatus.ENDED
            and diff.upserts[lid].status is LeaseStatus.ENDED
        ):
            lost += 1
    return lost


def check_shrink(
    *,
    stored_units: int,
    removed_units: int,
    stored_current_leases: int,
    lost_leases: int,
    max_share: float,
) -> None:
    """Refuse a snapshot that removes more than ``max_share`` of the units or of the households.

    A first sync (empty store) always passes. The message carries counts only.
    """
    checks = (
        ("units", stored_units, removed_units),
        ("households", stored_current_leases, lost_leases),
    )
    for what, stored, lost in checks:
        if stored and lost / stored > max_share:
            raise UnsafeSnapshot(
                f"refusing to apply: this snapshot would remove {lost} of {stored} {what} "
                f"({lost / stored:.0%}, more than the allowed {max_share:.0%}); "
                "check the source; if the change is real, allow it for one run with "
                "`keukentafel sync --max-shrink <share>` (or raise sync.max_shrink)"
            )
