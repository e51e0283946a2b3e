"""Small builders for domain values in tests (generated people, never real)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from keukentafel.domain.model import (
    Address,
    AgreementKind,
    ContactKind,
    ContactPoint,
    Lease,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    PersonName,
    Resident,
    Tenure,
    Unit,
)
from keukentafel.domain.register import Snapshot


def unit(n: int, complex_code: str = "CPX-1", tenure: Tenure = Tenure.CORPORATION_RENTAL) -> Unit:
    return Unit(
        code=f"VHE{n:05d}",
        vera_id=f"E{n}",
        complex_code=complex_code,
        address=Address("Dorpsstraat", n, "1234 AB", "Ons Dorp"),
        tenure=tenure,
    )


def resident(n: int, email: str | None = None) -> Resident:
    return Resident(
        relation_id=f"R{n}",
        name=PersonName(surname=f"Jansen{n}", initials="J.", tussenvoegsel="de" if n % 3 else ""),
        contacts=(ContactPoint(ContactKind.EMAIL, email or f"r{n}@example.org", True),),
    )


def lease(n: int, status: LeaseStatus = LeaseStatus.RUNNING, relation: int | None = None) -> Lease:
    return Lease(
        lease_id=f"L{n}",
        unit_code=f"VHE{n:05d}",
        kind=AgreementKind.RENTAL,
        status=status,
        start_date=date(2015, 1, 1),
        end_date=None if status is LeaseStatus.RUNNING else date(2026, 1, 31),
        parties=(LeaseParty(f"R{relation if relation is not None else n}", PartyRole.TENANT),),
    )


def register(count: int, source: str = "test") -> Snapshot:
    return Snapshot(
        source=source,
        units=[unit(n) for n in range(1, count + 1)],
        residents=[resident(n) for n in range(1, count + 1)],
        leases=[lease(n) for n in range(1, count + 1)],
    )


def with_email(r: Resident, email: str) -> Resident:
    return replace(r, contacts=(ContactPoint(ContactKind.EMAIL, email, True),))
