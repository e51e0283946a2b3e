"""Small builders for domain values in tests (generated people, never real), and a fake writer."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from keukentafel.config.letters import LettersConfig
from keukentafel.domain.consent import parse_profile
from keukentafel.domain.mailing import MailingPlan, WrittenMailing
from keukentafel.domain.messages import POLICIES, Event
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
    Project,
    ProjectKind,
    Resident,
    Tenure,
    Unit,
)
from keukentafel.domain.outbox import OutgoingMessage
from keukentafel.domain.register import Snapshot
from keukentafel.usecases.consent import ConsentProject
from keukentafel.usecases.page_memo import PageMemo
from keukentafel.usecases.sync_register import ProgressFn, SyncResult, sync_register


def local_today() -> date:
    """Today as the service counts days: the date in Europe/Amsterdam, which is already the next
    day from 23:00 UTC (22:00 in summer). A test that took the machine's UTC date failed for that
    hour every night."""
    return datetime.now(ZoneInfo("Europe/Amsterdam")).date()


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


@dataclass
class MemoryWriter:
    """A fake of the mailing use case's MailingWriter port: keeps what it was asked to write.

    Every recipient with an e-mail address gets a message (its body carries our message id, as
    the real e-mails do); nothing is rendered and no file is written."""

    written: list[tuple[MailingPlan, str, Event | None, dict[str, int]]] = field(
        default_factory=list
    )

    def write(
        self,
        plan: MailingPlan,
        *,
        mailing_key: str,
        event: Event | None,
        sequences: Mapping[str, int],
    ) -> WrittenMailing:
        self.written.append((plan, mailing_key, event, dict(sequences)))
        messages, without = [], []
        for household in plan.recipients:
            address = next((r.contact(ContactKind.EMAIL) for r in household.residents), None)
            if not address:
                without.append(household.unit.code)
                continue
            probe = OutgoingMessage(mailing_key, household.unit.code, "email", address, "", b"")
            body = f"X-Keukentafel-Message-Id: {probe.message_id}\r\n\r\n{plan.kind}".encode()
            messages.append(replace(probe, subject=str(plan.kind), body=body))
        policy = POLICIES[plan.kind]
        letters = len(plan.recipients)
        return WrittenMailing(
            letters=letters,
            pages=letters,
            registered=letters if policy.registered_mail else 0,
            invitations=len(sequences) if event is not None and policy.attach_ics else 0,
            messages=tuple(messages),
            without_email=tuple(without),
            print_pdf=Path("memory/drukwerk.pdf"),
            manifest=Path("memory/manifest.csv"),
            out_dir=Path("memory"),
        )

    @property
    def last(self) -> MailingPlan:
        return self.written[-1][0]


# --- a register in the store, through the real sync use case ----------------------------------

CORP = "TST"
RENOVATION = Project("P", "Renovatie", CORP, ProjectKind.RENOVATION_OCCUPIED, ("CPX-1",))
DEMOLITION = Project("S", "Sloop", CORP, ProjectKind.DEMOLITION, ("CPX-1",))


@dataclass
class StaticSource:
    """A source that hands out a prepared snapshot (a fake of the RegisterSource interface)."""

    snapshot: Snapshot | None
    name: str = "static"
    error: Exception | None = None

    def read(self, progress: ProgressFn | None = None, memo: PageMemo | None = None) -> Snapshot:
        if self.error:
            raise self.error
        assert self.snapshot is not None
        return copy.deepcopy(self.snapshot)


def run(sessions: sessionmaker[Session], snapshot: Snapshot, **kw: Any) -> SyncResult:
    """Sync ``snapshot`` into the store of corporation CORP."""
    return sync_register(sessions, CORP, StaticSource(snapshot), **kw)


def with_owner_occupier(count: int, owner: int) -> Snapshot:
    """A register of ``count`` homes in which unit ``owner`` is lived in by its owner."""
    snap = register(count)
    lease = snap.leases[owner - 1]
    snap.leases[owner - 1] = replace(
        lease, parties=(LeaseParty(lease.parties[0].relation_id, PartyRole.OWNER_OCCUPIER),)
    )
    return snap


def letters_config() -> LettersConfig:
    return LettersConfig.model_validate(
        {
            "branding": {
                "name": "Woonstichting Test",
                "return_address": "Woonstichting Test, Postbus 1, 1000 AA  AMSTERDAM",
            },
            "contact": {
                "name": "Bea Begeleider",
                "phone": "020-1234567",
                "email": "team@example.org",
            },
            "link_base_url": "https://bewoners.example.org/a",
        }
    )


def messages(n: int, mailing: str = "WSD/announcement/2026-11") -> list[OutgoingMessage]:
    """``n`` e-mails of one mailing as the outbox keeps them, each carrying our message id."""
    result = []
    for i in range(n):
        probe = OutgoingMessage(
            mailing, f"VHE{i:05d}", "email", f"r{i}@example.org", "Uw woning", b""
        )
        body = (
            f"From: Woonstichting <dijkwijk@example.org>\r\nTo: {probe.recipient}\r\n"
            f"X-Keukentafel-Message-Id: {probe.message_id}\r\nSubject: Uw woning\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nHallo"
        ).encode()
        result.append(
            OutgoingMessage(mailing, probe.unit_code, "email", probe.recipient, "Uw woning", body)
        )
    return result


# --- consent: a renovation project with its legal profile, and a register for it ---------------

CONSENT_PROFILE = parse_profile(
    {
        "legal_basis": "art. 7:220 lid 3 BW as in force: 70% of all tenants",
        "packages": [
            {"code": "ISOLATIE", "kind": "renovation", "title": "Isolatie"},
            {"code": "KOZIJNEN", "kind": "maintenance", "title": "Kozijnen schilderen"},
        ],
    }
)
CONSENT = ConsentProject(RENOVATION, CONSENT_PROFILE)


def consent_register(
    homes: int,
    *,
    owners: tuple[int, ...] = (),
    vacant: tuple[int, ...] = (),
    co_tenants: tuple[int, ...] = (),
) -> Snapshot:
    """Units VHE00001..``homes`` in CPX-1, each rented by R<n> since 2015 (lease L<n>); the
    ``owners`` are lived in by their owner (tenure owner-occupied, purchase P<n>); the ``vacant``
    have no lease; the ``co_tenants`` units' leases also have R<n>B as co-tenant."""
    snap = register(homes)
    snap.units = [
        replace(u, tenure=Tenure.OWNER_OCCUPIED) if n in owners else u
        for n, u in enumerate(snap.units, start=1)
    ]
    leases: list[Lease] = []
    for n, found in enumerate(snap.leases, start=1):
        if n in vacant:
            continue
        if n in owners:
            found = replace(
                found,
                lease_id=f"P{n}",
                kind=AgreementKind.PURCHASE,
                parties=(LeaseParty(f"R{n}", PartyRole.OWNER_OCCUPIER),),
            )
        elif n in co_tenants:
            found = replace(
                found, parties=(*found.parties, LeaseParty(f"R{n}B", PartyRole.CO_TENANT))
            )
            snap.residents.append(replace(resident(n), relation_id=f"R{n}B"))
        leases.append(found)
    snap.leases = leases
    return snap


def clock_at(moment: datetime) -> Callable[[], datetime]:
    """A clock standing at ``moment`` (aware, or naive UTC), as the store's clocks give it."""
    naive = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    return lambda: naive
