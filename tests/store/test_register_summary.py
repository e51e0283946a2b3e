"""The register at a glance: counts per project and complex from the latest ERP sync."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.model import LeaseParty, PartyRole, Project, ProjectKind, Tenure
from keukentafel.domain.register import EntityKind, RejectedRow, RejectReason
from keukentafel.domain.runs import RunKind, RunOutcome
from keukentafel.store.repositories import SyncRunRepository
from keukentafel.usecases.register_summary import register_summary
from tests import builders
from tests.builders import CORP, run


def test_counts_per_complex_and_the_erp_runs_kept_aside_rows(
    sessions: sessionmaker[Session],
) -> None:
    snap = builders.register(6)
    snap.units = [
        replace(u, complex_code="CPX-2") if n >= 4 else u for n, u in enumerate(snap.units)
    ]
    snap.units[1] = replace(snap.units[1], tenure=Tenure.VACANT)
    snap.leases.pop(1)
    snap.residents.pop(1)
    lease = snap.leases[0]
    snap.leases[0] = replace(
        lease, parties=(*lease.parties, LeaseParty("R99", PartyRole.CO_TENANT))
    )
    snap.residents.append(builders.resident(99))
    snap.rejected.append(
        RejectedRow(EntityKind.UNIT, "E77", "VHE00077", RejectReason.INVALID_POSTCODE, "postcode")
    )
    run(sessions, snap)
    with sessions.begin() as s:  # a later team-list pull must not hide the ERP's findings
        runs = SyncRunRepository(s, CORP)
        run_id = runs.start(RunKind.TEAM_PULL, "m365_list", builders_now())
        runs.finish(run_id, outcome=RunOutcome.SUCCEEDED, now=builders_now())

    project = Project(
        "P", "Renovatie", CORP, ProjectKind.RENOVATION_OCCUPIED, ("CPX-1", "CPX-2", "CPX-9")
    )
    summary = register_summary(sessions, CORP, [project], date(2026, 11, 28))
    first, second, empty = summary.projects[0].complexes
    assert (first.units, first.households, first.co_tenant_households) == (4, 3, 1)
    assert first.tenure == {"corporation_rental": 3, "vacant": 1}
    assert (second.units, second.households) == (2, 2)
    assert empty.units == 0
    assert summary.last_run is not None and summary.last_run["source"] == "static"
    assert [(k[1], k[2]) for k in summary.kept_aside] == [("VHE00077", "invalid_postcode")]


def builders_now():  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime(2026, 11, 28, 7, 0)


def test_roles_that_ended_do_not_make_a_co_tenant_household_and_scope_is_counted(
    sessions: sessionmaker[Session],
) -> None:
    snap = builders.register(3)
    lease = snap.leases[0]
    snap.leases[0] = replace(
        lease,
        parties=(
            *lease.parties,
            LeaseParty("R98", PartyRole.CO_TENANT, None, date(2026, 6, 30)),  # left in June
        ),
    )
    snap.residents.append(builders.resident(98))
    snap.leases.append(replace(builders.lease(9), unit_code="ELSEWHERE-9"))  # another complex
    snap.residents.append(builders.resident(9))  # ... and its tenant
    snap.rejected.append(  # a relation row that names no unit: listed by its ERP id
        RejectedRow(EntityKind.LEASE, "OVK-77", "", RejectReason.MISSING_UNIT_CODE, "no unit")
    )
    run(sessions, snap)
    summary = register_summary(sessions, CORP, [builders.RENOVATION], date(2026, 11, 28))
    (complex_summary,) = summary.projects[0].complexes
    assert (complex_summary.households, complex_summary.co_tenant_households) == (3, 0)
    june = register_summary(sessions, CORP, [builders.RENOVATION], date(2026, 6, 30))
    assert june.projects[0].complexes[0].co_tenant_households == 1
    assert summary.out_of_scope == {"lease": 1, "resident": 1}
    (kept,) = summary.kept_aside
    assert (kept.source_id, kept.label) == ("OVK-77", "ERP id OVK-77")


def test_contact_points_kept_aside_are_listed_for_the_operator(
    sessions: sessionmaker[Session],
) -> None:
    from keukentafel.domain.model import ContactKind, ContactPoint

    snap = builders.register(2)
    snap.residents[1] = replace(
        snap.residents[1],
        contacts=(ContactPoint(ContactKind.EMAIL, "geen", True, "e-mail address not usable: x"),),
    )
    run(sessions, snap)
    summary = register_summary(sessions, CORP, [builders.RENOVATION], date(2026, 11, 28))
    assert [tuple(p) for p in summary.contact_problems] == [
        ("VHE00002", "R2", "email", "e-mail address not usable: x")
    ]
