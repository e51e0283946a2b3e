"""The part of the composition root a command calls before anything else is imported.

``keukentafel sync`` (keukentafel/cli/program.py) calls :func:`warm_up` with its arguments as its
first step, before the command line, the store or Prefect are imported. For a sync it starts the
second process that reads a large VERA relations listing ahead
(connectors/erp/second_process.py): that process's own start (a new Python importing the client,
the configuration and the mapping: 0.6-0.8 s on the 2-core benchmark machine) then runs on the
second core while this process starts, instead of on the sync's critical path once its first
page of relations is read. Nothing about the sync changes: the same process reads the same pages
when it is taken, and a sync that does not take it (a spreadsheet source, a small register, a
sync that stopped before it read) kills it when the command ends.

It imports the standard library and that module only, so that calling it costs nothing the
command would not pay anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from connectors.erp import second_process

#: Commands that sync a register from its source, the only ones that may use a second process.
SYNCS = frozenset({"sync"})


def warm_up(argv: Sequence[str]) -> bool:
    """Start what the command in ``argv`` (the program's arguments) will need early; whether
    anything was started. Only a sync starts anything, and not when it only asks for help."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command not in SYNCS or any(arg in ("--help", "-h") for arg in argv):
        return False
    return second_process.warm_up()
