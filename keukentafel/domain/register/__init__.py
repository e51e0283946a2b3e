"""Register sync rules: rows kept aside, validation of a snapshot, and the diff against the store.

A sync is *snapshot → validate → diff → apply*. This package owns the pure middle: it decides which
rows are usable, what changed, which change events later steps react to, and whether the snapshot
is safe to apply at all (the shrink guard). The use case does the I/O around it.

- :mod:`.rejects`: entity kinds, reasons a row is kept aside, ``map_rows``;
- :mod:`.snapshot`: what a source delivers;
- :mod:`.hashing`: content hashes (stored per row: they must never change for a value);
- :mod:`.digests`: items known by their content hash, made into values on demand;
- :mod:`.validate`: one copy of each row, conflicts kept aside, only what is in scope;
- :mod:`.diff`: what changed, as upserts, removals and change events;
- :mod:`.shrink`: the guard against a snapshot that would remove too much.

This module re-exports the public names of the former ``register.py`` so that imports such as
``from keukentafel.domain.register import content_hash, Snapshot`` keep working while the other
branches of issue 8 are merged; new code imports from the submodules.
"""

from __future__ import annotations

from keukentafel.domain.register.diff import (
    ChangeEvent,
    ChangeKind,
    EntityDiff,
    changed_fields,
    diff_hashes,
    first_load_counts,
    lease_events,
    protect_held_units,
    resident_events,
    unit_events,
)
from keukentafel.domain.register.digests import (
    Digested,
    DigestMismatch,
    PageValues,
    digest_lease,
    digest_of,
    digest_resident,
    digest_unit,
)
from keukentafel.domain.register.hashing import canonical, content_hash
from keukentafel.domain.register.rejects import (
    FINDINGS,
    REASON_TEXT,
    EntityKind,
    RejectedRow,
    RejectReason,
    RowRejected,
    map_rows,
)
from keukentafel.domain.register.shrink import UnsafeSnapshot, check_shrink, lost_current_leases
from keukentafel.domain.register.snapshot import Snapshot, SnapshotStats
from keukentafel.domain.register.validate import ValidSnapshot, validate

__all__ = [
    "FINDINGS",
    "REASON_TEXT",
    "ChangeEvent",
    "ChangeKind",
    "DigestMismatch",
    "Digested",
    "EntityDiff",
    "EntityKind",
    "PageValues",
    "RejectReason",
    "RejectedRow",
    "RowRejected",
    "Snapshot",
    "SnapshotStats",
    "UnsafeSnapshot",
    "ValidSnapshot",
    "canonical",
    "changed_fields",
    "check_shrink",
    "content_hash",
    "diff_hashes",
    "digest_lease",
    "digest_of",
    "digest_resident",
    "digest_unit",
    "first_load_counts",
    "lease_events",
    "lost_current_leases",
    "map_rows",
    "protect_held_units",
    "resident_events",
    "unit_events",
    "validate",
]
