"""What one source delivered in one run, mapped to the domain but not yet validated.

Kept apart from :mod:`~keukentafel.domain.register.validate` because every source builds one (the
VERA reader, the spreadsheet mapping, test builders) while only the use case validates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keukentafel.domain.model import Lease, Resident, Unit
from keukentafel.domain.register.digests import Digested
from keukentafel.domain.register.rejects import EntityKind, RejectedRow


@dataclass(slots=True)
class SnapshotStats:
    """How a paged source came by its snapshot: pages read and pages parsed, per endpoint.

    A page known from the page memo is read but not parsed; it counts as parsed only if one of
    its values is needed later (validation and the diff may ask for it after the read). The
    source updates these counts; operators and tests read them.
    """

    pages_read: dict[str, int] = field(default_factory=dict)
    pages_parsed: dict[str, int] = field(default_factory=dict)
    read_elsewhere: dict[str, int] = field(default_factory=dict)  # of pages_read: by a 2nd process

    @property
    def parsed(self) -> int:
        return sum(self.pages_parsed.values())


@dataclass(slots=True)
class Snapshot:
    """Everything one source delivered in one run, mapped to the domain, not yet validated.

    ``digested`` holds items known by their content hash (see :class:`Digested`): a source that
    skips unchanged pages delivers those items this way, and their values are made only when
    needed. Plain values and digested items may be mixed; validation treats them alike.
    """

    source: str
    units: list[Unit] = field(default_factory=list)
    residents: list[Resident] = field(default_factory=list)
    leases: list[Lease] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    # Rows outside the projects' complexes (or about no home at all), dropped by design: counted
    # per entity, never kept aside.
    out_of_scope_by: dict[EntityKind, int] = field(default_factory=dict)
    digested: list[Digested] = field(default_factory=list)
    stats: SnapshotStats = field(default_factory=SnapshotStats)

    def add_out_of_scope(self, entity: EntityKind, count: int = 1) -> None:
        if count:
            self.out_of_scope_by[entity] = self.out_of_scope_by.get(entity, 0) + count

    @property
    def out_of_scope(self) -> int:
        """All rows out of scope, whatever their entity."""
        return sum(self.out_of_scope_by.values())
