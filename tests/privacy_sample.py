"""A sample corporation for the purge and the access export (generated people, never real).

Three complexes: ``OLD`` belongs only to the closed project ``P-OLD`` (ended 2023-06-30, kept 12
months), ``SHARED`` to ``P-OLD`` and the running ``P-NEW``, ``NEW`` only to ``P-NEW``.

- VHE00001 (OLD): tenant R1 and co-tenant R6; VHE00002 (OLD): tenant R2 since 2021, before
  that R7 (2015-2020), who now rents VHE00005 (NEW); VHE00003 (OLD): tenant R3;
  VHE00004 (SHARED): tenant R4; VHE00005 (NEW): tenant R5 with co-tenant R7.
- Team-list rows for VHE00001 (by unit code), VHE00002 (by address), VHE00004 and VHE00005.
- E-mails in the outbox for every unit (VHE00003's still pending; one for VHE00002 from 2019,
  sent to R7 when R7 lived there), invitation versions, restricted notes on R1, R4 and R7, a
  resident kept aside with its raw row, a page in the sync's page memo, and the files of a mailing of each project on disk
  (written by the letters' own ``write_files``, with small stand-in PDFs).
- The newer tables, each for a purged unit (VHE00001, or VHE00002/3) and a kept one (VHE00004):
  consent answers of P-OLD (R1 with R6, R2, R4; an exclusion of VHE00003), personal links,
  letters' records and open items of the resident's page, appointments, the contractor's change
  log, a webhook and an inbound message, and writes to the ERP (``seed_newer``).

Tests import this module (it is not a test module); the register goes in through the real sync.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent import Answer, Channel, Choice, Evidence, Exclusion, LedgerEntry
from keukentafel.domain.model import (
    Address,
    ContactKind,
    ContactPoint,
    LeaseParty,
    LeaseStatus,
    PartyRole,
    PersonName,
    Project,
    ProjectKind,
    Resident,
    RestrictedNote,
)
from keukentafel.domain.outbox import OutgoingMessage
from keukentafel.domain.planning.appointments import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    Slot,
)
from keukentafel.domain.planning.erp import ErpWrite, WriteKind
from keukentafel.domain.planning.feed import FeedItem
from keukentafel.domain.register import EntityKind, RejectedRow, RejectReason, Snapshot
from keukentafel.domain.retention import ProjectRetention
from keukentafel.domain.runs import RunKind, RunOutcome
from keukentafel.domain.team_contacts import TeamContact
from keukentafel.letters.output import MailingEmail, MailingLetter, write_files
from keukentafel.store.models import OpenItemRow, ResidentAccessRow, ResidentLetterRow
from keukentafel.store.repositories import (
    ConsentRepository,
    InvitationRepository,
    OutboxRepository,
    SourcePageRepository,
    SyncRunRepository,
    TeamContactRepository,
)
from keukentafel.store.repositories.feeds import (
    ContractorInbox,
    ErpWrites,
    FeedRepository,
    WebhookOutbox,
)
from keukentafel.store.repositories.planning import PlanningRepository
from keukentafel.store.repositories.restricted_notes import RestrictedNotes
from keukentafel.usecases.feeds import change_json
from keukentafel.usecases.sync_register import sync_register
from tests import builders
from tests.builders import StaticSource

CORP = "PRV"
OLD = Project("P-OLD", "Renovatie Oud", CORP, ProjectKind.RENOVATION_OCCUPIED, ("OLD", "SHARED"))
NEW = Project("P-NEW", "Sloop Nieuw", CORP, ProjectKind.DEMOLITION, ("SHARED", "NEW"))
RETENTION = (
    ProjectRetention("P-OLD", OLD.complex_codes, date(2023, 6, 30), 12),
    ProjectRetention("P-NEW", NEW.complex_codes),
)
BEFORE = date(2024, 6, 30)  # the last day P-OLD keeps its data
AFTER = date(2024, 7, 1)  # the first day it is due
PURGED_UNITS = ("VHE00001", "VHE00002", "VHE00003")
PURGED_RESIDENTS = ("R1", "R2", "R3", "R6")
KEPT_RESIDENTS = ("R4", "R5", "R7")
COMPLEX = {1: "OLD", 2: "OLD", 3: "OLD", 4: "SHARED", 5: "NEW"}


def resident(n: int) -> Resident:
    return Resident(
        relation_id=f"R{n}",
        name=PersonName(surname=f"Privé{n}", initials="Q.", first_name=f"Quirina{n}"),
        contacts=(
            ContactPoint(ContactKind.EMAIL, f"bewoner{n}@example.org", True),
            ContactPoint(ContactKind.MOBILE, f"+316{n:08d}"),
        ),
    )


def names_and_contacts(numbers: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)) -> list[str]:
    """Every name part and contact value of the sample's residents: what must never leak."""
    found = []
    for n in numbers:
        r = resident(n)
        assert r.name is not None
        found += [r.name.surname, r.name.first_name, *(c.value for c in r.contacts)]
    return found


def snapshot() -> Snapshot:
    units = [builders.unit(n, COMPLEX[n]) for n in range(1, 6)]
    units[1] = replace(units[1], address=Address("Dorpsstraat", 2, "1234 AB", "Ons Dorp", "", "B"))
    leases = [builders.lease(n) for n in (1, 3, 4)]
    leases[0] = replace(
        leases[0],
        parties=(LeaseParty("R1", PartyRole.TENANT), LeaseParty("R6", PartyRole.CO_TENANT)),
    )
    leases += [
        replace(
            builders.lease(2),
            lease_id="L2-OLD",
            status=LeaseStatus.ENDED,
            start_date=date(2015, 1, 1),
            end_date=date(2020, 12, 31),
            parties=(LeaseParty("R7", PartyRole.TENANT),),
        ),
        replace(builders.lease(2), start_date=date(2021, 1, 1)),
        replace(
            builders.lease(5),
            start_date=date(2021, 1, 1),
            parties=(LeaseParty("R5", PartyRole.TENANT), LeaseParty("R7", PartyRole.CO_TENANT)),
        ),
    ]
    return Snapshot(
        source="sample", units=units, residents=[resident(n) for n in range(1, 8)], leases=leases
    )


def first_load() -> Snapshot:
    """The sample's homes whose residents the purge keeps (VHE00004 and VHE00005), alone."""
    whole = snapshot()
    leases = [lease for lease in whole.leases if lease.unit_code in ("VHE00004", "VHE00005")]
    parties = {party.relation_id for lease in leases for party in lease.parties}
    return Snapshot(
        source=whole.source,
        units=[unit for unit in whole.units if unit.code in ("VHE00004", "VHE00005")],
        residents=[r for r in whole.residents if r.relation_id in parties],
        leases=leases,
    )


def _message(mailing: str, unit_code: str, to: str, text: str) -> OutgoingMessage:
    probe = OutgoingMessage(mailing, unit_code, "email", to, "Uw woning", b"")
    body = (
        f"From: Woonstichting <team@example.org>\r\nTo: {to}\r\n"
        f"X-Keukentafel-Message-Id: {probe.message_id}\r\nSubject: Uw woning\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}"
    ).encode()
    return replace(probe, body=body)


@dataclass(frozen=True)
class Sample:
    out: Path  # the output folder: mailings/ and privacy/ under it

    @property
    def mailings(self) -> Path:
        return self.out / "mailings"

    @property
    def exports(self) -> Path:
        return self.out / "privacy" / "exports"

    @property
    def data(self) -> Path:
        """The data folder: the scans under ``evidence/<sha256>/``."""
        return self.out / "data"


#: the scans of paper answers: VHE00001's (purged) and VHE00004's (kept), named after the
#: resident as staff do; kept under <data>/evidence/<sha256>/ by the staff page's own code
SCANS = {
    "VHE00001": ("akkoord-Privé1.pdf", b"%PDF-1.7 scan VHE00001"),
    "VHE00004": ("akkoord-Privé4.pdf", b"%PDF-1.7 scan VHE00004"),
}


def scan_evidence(unit_code: str) -> Evidence:
    name, content = SCANS[unit_code]
    return Evidence(name, hashlib.sha256(content).hexdigest())


def _write_scans(data: Path) -> None:
    for unit_code, (name, content) in SCANS.items():
        folder = data / "evidence" / scan_evidence(unit_code).sha256
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)


def _write_mailing(folder: Path, project: Project, units: list[str]) -> None:
    name = f"{project.code}-info_evening-2023-03-01"
    letters = [
        MailingLetter(
            u,
            False,
            f"%PDF-1.7 brief {u}".encode(),
            1,
            b"BEGIN:VCALENDAR",
            (MailingEmail("", "", b"eml"),),
        )
        for u in units
    ]
    write_files(folder / name, name, [b"%PDF-1.7 drukwerk"], letters)


def seed(sessions: sessionmaker[Session], out: Path) -> Sample:
    """Put the sample corporation in the store and its mailings on disk."""
    # First the homes the purge keeps (a first load stores no change events), then the rest:
    # the purged residents arrive as changes, so their change events exist to be pseudonymised.
    for register in (first_load(), snapshot()):
        sync_register(sessions, CORP, StaticSource(register), clock=lambda: datetime(2023, 1, 1))
    with sessions.begin() as session:
        _seed_rows(session)
        seed_newer(session)
    sample = Sample(out)
    _write_mailing(sample.mailings, OLD, ["VHE00001", "VHE00002", "VHE00003", "VHE00004"])
    _write_mailing(sample.mailings, NEW, ["VHE00004", "VHE00005"])
    _write_scans(sample.data)
    return sample


def _seed_rows(session: Session) -> None:
    outbox = OutboxRepository(session, CORP)
    old_key, new_key = f"{CORP}/P-OLD/info_evening/2023-03", f"{CORP}/P-NEW/info_evening/2023-03"
    outbox.enqueue(
        [_message(f"{CORP}/P-OLD/announcement/2019", "VHE00002", "bewoner7@example.org", "Oud")],
        datetime(2019, 5, 1),
    )
    outbox.enqueue(
        [
            _message(old_key, f"VHE0000{n}", f"bewoner{n}@example.org", f"Beste bewoner {n}")
            for n in (1, 2, 3, 4)
        ]
        + [_message(new_key, "VHE00005", "bewoner5@example.org", "Beste bewoner 5")],
        datetime(2023, 3, 1),
    )
    for message_id in outbox.due():
        queued = outbox.get(message_id)
        assert queued is not None
        if queued.unit_code != "VHE00003":
            outbox.claim(message_id, queued.status, datetime(2023, 3, 1, 9))
            outbox.mark_sent(message_id, datetime(2023, 3, 1, 9))
    InvitationRepository(session, CORP).save(
        {f"uid-{n}": (f"VHE0000{n}", 0, "abc") for n in range(1, 6)}, datetime(2023, 3, 1)
    )
    TeamContactRepository(session, CORP).upsert(
        "sharepoint_list",
        {
            "1": TeamContact(1, "sharepoint_list", unit_code="VHE00001", mobile="+31699990001"),
            "2": TeamContact(
                2,
                "sharepoint_list",
                postcode="1234 AB",
                number=2,
                letter="B",
                email="team2@example.org",
            ),
            "4": TeamContact(4, "sharepoint_list", unit_code="VHE00004", mobile="+31699990004"),
            "5": TeamContact(
                5,
                "sharepoint_list",
                unit_code="VHE00005",
                mobile="+31699990005",
                preferred_hours="na 17.00 uur",
            ),
        },
        {"1": "h1", "2": "h2", "4": "h4", "5": "h5"},
        datetime(2023, 2, 1),
    )
    notes = RestrictedNotes(session, CORP)
    for relation_id in ("R1", "R4", "R7"):
        notes.add(
            RestrictedNote(relation_id, "bijzondere omstandigheden", "begeleider"),
            datetime(2023, 2, 1),
        )
    runs = SyncRunRepository(session, CORP)
    run_id = runs.start(RunKind.REGISTER_SYNC, "sample", datetime(2023, 2, 2))
    runs.add_rejected(
        run_id,
        [
            RejectedRow(
                EntityKind.RESIDENT,
                "R3",
                "",
                RejectReason.MALFORMED,
                "e-mail 'bewoner3@' is not valid",
                raw={"achternaam": "Privé3"},
            )
        ],
    )
    runs.finish(run_id, outcome=RunOutcome.SUCCEEDED, now=datetime(2023, 2, 2))
    SourcePageRepository(session, CORP, "sample").save({"p1": b"R1 R6"}, [], datetime(2023, 2, 2))


# --- the newer table groups: consent, resident pages, planning, contractor feeds, ERP writes ------

SEEDED = datetime(2023, 3, 10, 9, 0)


def _consent(session: Session) -> None:
    def answer(n: int, unit: str, parties: tuple[str, ...], choice: Choice) -> Answer:
        return Answer(
            id=f"A-{n}",
            recorded_at=SEEDED.replace(tzinfo=UTC),
            recorded_by="Bea Begeleider",
            at=SEEDED.replace(tzinfo=UTC),
            unit_code=unit,
            choice=choice,
            channel=Channel.PAPER,
            parties=parties,
            # as usecases.consent.record keeps it: the digest and "scan.pdf"
            evidence=scan_evidence(unit).without_name() if unit in SCANS else None,
        )

    ledger = ConsentRepository(session, CORP)
    ledger.lock("P-OLD", SEEDED)
    entries: list[LedgerEntry] = [
        answer(1, "VHE00001", ("R1", "R6"), Choice.AGREE),
        answer(2, "VHE00002", ("R2",), Choice.DECLINE),
        answer(4, "VHE00004", ("R4",), Choice.AGREE),
        Exclusion(
            id="X-3",
            recorded_at=SEEDED.replace(tzinfo=UTC),
            recorded_by="Bea Begeleider",
            at=SEEDED.replace(tzinfo=UTC),
            unit_code="VHE00003",
            reason="woning wordt verkocht",
            decided_by="teamleider",
        ),
    ]
    ledger.append("P-OLD", entries, SEEDED)


def _resident_pages(session: Session) -> None:
    for n in (1, 4):
        unit = f"VHE0000{n}"
        session.add(
            ResidentAccessRow(
                public_id=f"pub{n}",
                corporation_code=CORP,
                project_code="P-OLD",
                unit_code=unit,
                tenancy=f"L{n}",
                purpose="announcement",
                token_digest=f"t{n}" * 8,
                code_digest=f"c{n}" * 8,
                issued_on=SEEDED.date(),
                expires_at=datetime(2023, 12, 31),
                created_at=SEEDED,
            )
        )
        session.add(
            ResidentLetterRow(
                public_id=f"let{n}",
                corporation_code=CORP,
                project_code="P-OLD",
                unit_code=unit,
                tenancy=f"L{n}",
                kind="info_evening",
                mailing_key=f"{CORP}/P-OLD/info_evening/2023-03",
                letter_date=date(2023, 3, 1),
                file=f"mailings/P-OLD-info_evening-2023-03-01/archief/000{n}-{unit}.pdf",
                created_at=SEEDED,
            )
        )
        session.add(
            OpenItemRow(
                public_id=f"item{n}",
                corporation_code=CORP,
                project_code="P-OLD",
                unit_code=unit,
                tenancy=f"L{n}",
                kind="question",
                channel="web",
                text=f"Bel mij op +3160000000{n}, groet Quirina{n} Privé{n}",
                status="open",
                source_ref=f"nonce-{n}",
                created_at=SEEDED,
            )
        )


def _planning(session: Session) -> None:
    planning = PlanningRepository(session, CORP)
    for n in (1, 4):
        planning.add(
            Appointment(
                code=f"AFS-{n}",
                corporation_code=CORP,
                project_code="P-OLD",
                unit_code=f"VHE0000{n}",
                kind=AppointmentKind.WORK_DAYS,
                status=AppointmentStatus.PLANNED,
                slot=Slot(datetime(2023, 5, 8, 7, 30), datetime(2023, 5, 10, 16, 0)),
                title="Werk aan uw keuken",
                location_address=f"Dorpsstraat {n}, 1234 AB Ons Dorp",
                contractor_code="BOUW",
                element="keuken",
                delay_reason=f"Privé{n} was niet thuis",
            ),
            SEEDED,
            "cli:bea",
        )
    records = {
        f"eenheid:VHE0000{n}": {
            "eenheid": f"VHE0000{n}",
            "relaties": [{"achternaam": f"Privé{n}", "voornaam": f"Quirina{n}"}],
            "telefoon": f"+3160000000{n}",
        }
        for n in (1, 4)
    }
    records |= {
        f"afspraak:AFS-{n}": {"eenheid": f"VHE0000{n}", "adres": f"Dorpsstraat {n}"} for n in (1, 4)
    }
    items = [
        FeedItem(key, key.split(":")[0], data, f"d{i}", f"s{i}")
        for i, (key, data) in enumerate(sorted(records.items()))
    ]
    feed = FeedRepository(session, CORP, "BOUW")
    first = feed.allocate(len(items), SEEDED)
    changes = feed.record(items, first, SEEDED)
    body = orjson.dumps(
        {
            "data": {"changes": [orjson.loads(change_json(c)) for c in changes]},
            "timestamp": "2023-03-10T09:00:00Z",
            "type": "planning.changes",
        }
    )
    WebhookOutbox(session, CORP).enqueue(
        "BOUW", [("msg_1", "planning.changes", 1, 4, body)], SEEDED
    )
    inbox = ContractorInbox(session, CORP, "BOUW")
    for n in (1, 4):
        text = f'{{"eenheid": "VHE0000{n}", "reden": "Privé{n} niet thuis"}}'.encode()
        inbox.claim(f"in-{n}", "delay", text, SEEDED)
    ErpWrites(session, CORP).enqueue(
        [
            ErpWrite(
                WriteKind.CONTACT_MOMENT,
                f"km-{n}",
                f"VHE0000{n}",
                {"relatie": f"R{n}", "omschrijving": f"Gesprek met Quirina{n} Privé{n}"},
            )
            for n in (1, 4)
        ],
        SEEDED,
    )


def seed_newer(session: Session) -> None:
    """Rows in every newer table with personal data, for a purged and a kept unit."""
    _consent(session)
    _resident_pages(session)
    _planning(session)
