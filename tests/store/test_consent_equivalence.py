"""The live register + ledger and the equivalent case file give the same result.

The worked case of docs/consent.md (tests/unit/fixtures/consent/mixed-complex.yaml) is put into
the store the way production does it: its units and leases as a register snapshot through the
real sync, its answers, exclusions, notices and corrections through the consent use case (which
admits them and appends them to the ledger). The live evaluation must then print what
``consent evaluate`` prints for the case file, on every date of the worked example; what the
case refuses on admission is what recording refused.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent import (
    ProjectScope,
    evaluate,
    parse_profile,
    read_case,
)
from keukentafel.domain.model import (
    Address,
    AgreementKind,
    Lease,
    LeaseParty,
    LeaseStatus,
    PersonName,
    Project,
    Resident,
    Unit,
)
from keukentafel.domain.register import Snapshot
from keukentafel.usecases.consent import (
    ConsentBooks,
    ConsentProject,
    append_entries,
    evaluate_project,
)
from keukentafel.usecases.sync_register import sync_register
from tests.builders import StaticSource

CASE = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "consent" / "mixed-complex.yaml"
NOW = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)  # after every entry of the case
DATES = [date(2027, 2, 19), date(2027, 2, 20), date(2027, 3, 1), date(2027, 3, 16), NOW.date()]


def register_of(scope: ProjectScope, complex_code: str) -> Snapshot:
    """The case's units and leases as the ERP would deliver them (names are generated)."""
    units = [
        Unit(
            u.code, u.code, complex_code, Address("Zuidstraat", n, "1234 AB", "Ons Dorp"), u.tenure
        )
        for n, u in enumerate(scope.units, start=1)
    ]
    leases = [
        Lease(
            t.lease_id,
            t.unit_code,
            AgreementKind.RENTAL,
            LeaseStatus.ENDED if t.end and t.end < NOW.date() else LeaseStatus.RUNNING,
            t.start,
            t.end,
            tuple(LeaseParty(p.party_id, p.role) for p in t.parties),
        )
        for t in scope.tenancies
    ]
    parties = sorted({p.party_id for t in scope.tenancies for p in t.parties})
    residents = [Resident(rid, PersonName(surname=f"Bewoner {rid}")) for rid in parties]
    return Snapshot(source="case", units=units, residents=residents, leases=leases)


def test_the_live_register_and_the_case_file_agree(sessions: sessionmaker[Session]) -> None:
    case: dict[str, Any] = yaml.safe_load(CASE.read_text(encoding="utf-8"))
    read = read_case(case, now=NOW)
    project = Project(
        read.scope.project_code, "Renovatie Zuid", "TST", read.scope.kind, ("CPX-ZUID",)
    )
    target = ConsentProject(project, parse_profile(case["profile"]))
    sync_register(sessions, "TST", StaticSource(register_of(read.scope, "CPX-ZUID")))
    books = ConsentBooks()
    recorded = append_entries(sessions, target, list(read.entries), now=NOW, books=books)

    for as_of in DATES:
        expected = evaluate(case, as_of, now=NOW)
        admission = [r for r in expected["refused"] if r["stage"] == "admission"]  # type: ignore[union-attr]
        expected["refused"] = [r for r in expected["refused"] if r["stage"] != "admission"]  # type: ignore[union-attr]
        # fresh books: the ledger as another process loads it from the store
        live = evaluate_project(sessions, target, as_of, books=ConsentBooks())
        assert live == expected, as_of
        assert [(r.entry_id, r.code.value) for r in recorded.refused] == [
            (r["entry"], r["code"]) for r in admission
        ]
        assert evaluate_project(sessions, target, as_of, books=books) == expected
    final = evaluate_project(sessions, target, NOW.date())
    assert final["ballots"][0]["fraction"] == "10/11"  # type: ignore[index]
    assert len(recorded.refused) == 4


@pytest.mark.parametrize("as_of", DATES)
def test_the_case_file_itself_is_unchanged_by_the_store(as_of: date) -> None:
    """The worked example's figures (docs/consent.md), as a guard for the test above."""
    case = yaml.safe_load(CASE.read_text(encoding="utf-8"))
    fractions = {
        date(2027, 2, 19): "7/11",
        date(2027, 2, 20): "8/11",
        date(2027, 3, 1): "7/11",
        date(2027, 3, 16): "8/11",
        NOW.date(): "10/11",
    }
    assert evaluate(case, as_of, now=NOW)["ballots"][0]["fraction"] == fractions[as_of]  # type: ignore[index]
