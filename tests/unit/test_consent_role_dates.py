"""Role dates from the register: a co-tenant who joined or left during the lease counts only
while the role runs (the register's lease parties gain ``start_date``/``end_date``, issue 9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from keukentafel.domain.consent import tenancy_from_lease
from keukentafel.domain.model import AgreementKind, Lease, LeaseParty, LeaseStatus, PartyRole


@dataclass(frozen=True)
class DatedParty:
    """A lease party as the register will carry it: with the days its role runs."""

    relation_id: str
    role: PartyRole
    start_date: date | None = None
    end_date: date | None = None


def lease(*parties: object) -> Lease:
    return Lease(
        "L1",
        "VHE1",
        AgreementKind.RENTAL,
        LeaseStatus.RUNNING,
        date(2015, 1, 1),
        None,
        parties,  # type: ignore[arg-type]
    )


def test_role_dates_are_taken_where_the_register_has_them() -> None:
    tenancy = tenancy_from_lease(
        lease(
            LeaseParty("R1", PartyRole.TENANT),
            DatedParty("R2", PartyRole.CO_TENANT, date(2020, 5, 1), date(2027, 2, 28)),
        )
    )
    assert tenancy is not None
    assert [(p.party_id, p.start, p.end) for p in tenancy.parties] == [
        ("R1", None, None),
        ("R2", date(2020, 5, 1), date(2027, 2, 28)),
    ]
    assert [p.party_id for p in tenancy.running_parties(date(2027, 3, 1))] == ["R1"]
    assert [p.party_id for p in tenancy.running_parties(date(2027, 2, 28))] == ["R1", "R2"]


def test_a_role_that_ends_before_it_starts_runs_as_long_as_the_lease() -> None:
    tenancy = tenancy_from_lease(
        lease(DatedParty("R1", PartyRole.TENANT, date(2027, 3, 1), date(2027, 1, 1)))
    )
    assert tenancy is not None and (tenancy.parties[0].start, tenancy.parties[0].end) == (
        None,
        None,
    )
