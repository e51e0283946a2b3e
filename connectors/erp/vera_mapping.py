"""Moved to :mod:`connectors.erp.vera.mapping`; this shim keeps old imports working while the
branches of issue 8 are merged (tests/test_fake_vera.py uses it). Remove it afterwards."""

from __future__ import annotations

from connectors.erp.vera.mapping import (
    lease_id_of,
    map_lease,
    map_relation,
    map_unit,
    relation_id_of,
    unit_id_of,
)

__all__ = ["lease_id_of", "map_lease", "map_relation", "map_unit", "relation_id_of", "unit_id_of"]
