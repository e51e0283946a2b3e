"""What a recorded run is and how it ended: the kinds of run and their outcomes (pure).

The ``sync_runs`` table records every run that reads a source into the store: the register's
own sync from the ERP, and the pulls of the guidance team's contact lists (later: contractor
feeds). The kind tells them apart (the source's name is a label for the operator, never logic);
the outcome says how the run ended.
"""

from __future__ import annotations

from enum import StrEnum


class RunKind(StrEnum):
    REGISTER_SYNC = "register_sync"  # the register from the ERP (VERA or a spreadsheet export)
    TEAM_PULL = "team_pull"  # the guidance team's contact list (SharePoint list or workbook)


class RunOutcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    REFUSED = "refused"  # the snapshot was unsafe to apply (shrink guard): nothing changed
    FAILED = "failed"  # the source or the store failed: nothing changed
    INTERRUPTED = "interrupted"  # the process stopped mid-run (found running by the next run)
