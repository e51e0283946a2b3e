"""The purge covers every table with personal data (SQLite and PostgreSQL).

Two guards: every table of the schema is named in ``PURGE_COVERAGE`` (with the purge step that
removes its personal data, or why it holds none), so a new table cannot be forgotten; and after
the purge of the sample (tests/privacy_sample.py, which holds rows in every table with personal
data), no row of any table holds a purged resident's name, contact value or words, while the
kept residents' data is still there. The newer tables are checked one by one too: the consent
results stay, counted, in pseudonymous form; the access export carries answers and appointments.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent import Answer, Exclusion
from keukentafel.letters.access_export import AccessExportFolder
from keukentafel.letters.archive import MailingFolders
from keukentafel.store.models import (
    AppointmentRow,
    Base,
    ErpWriteRow,
    FeedChangeRow,
    FeedInboxRow,
    OpenItemRow,
    ResidentAccessRow,
    WebhookOutboxRow,
)
from keukentafel.store.repositories import ConsentRepository
from keukentafel.usecases.privacy import (
    PURGE_COVERAGE,
    PURGE_STEPS,
    export_household,
    purge_personal_data,
)
from keukentafel.usecases.staff_consent import EvidenceFolder
from tests import privacy_sample as sample
from tests.privacy_sample import CORP, Sample

PURGED = (1, 2, 3, 6)  # the residents of the closed project's own units
KEPT = (4, 5)


@pytest.fixture
def seeded(sessions: sessionmaker[Session], tmp_path: Path) -> Sample:
    return sample.seed(sessions, tmp_path / "out")


def purge(sessions: sessionmaker[Session], where: Sample) -> None:
    purge_personal_data(
        sessions,
        CORP,
        sample.RETENTION,
        MailingFolders(where.mailings),
        AccessExportFolder(where.exports),
        scans=EvidenceFolder(where.data),
        on=sample.AFTER,
        actor="prefect:run-1",
        clock=lambda: datetime(2024, 7, 1, 5, 0),
    )


def every_row_as_text(sessions: sessionmaker[Session]) -> dict[str, list[str]]:
    """Every row of every table of the schema, as text (bytes decoded, JSON as written)."""
    found: dict[str, list[str]] = {}
    with sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = []
            for row in session.execute(select(table)):
                values = [
                    bytes(v).decode("utf-8", "replace")
                    if isinstance(v, bytes | memoryview)
                    else json.dumps(v, ensure_ascii=False, default=str)
                    for v in row
                ]
                rows.append(" | ".join(values))
            found[table.name] = rows
    return found


def test_every_table_is_named_with_its_purge_step_or_why_it_holds_no_personal_data() -> None:
    tables = set(Base.metadata.tables)
    assert not tables - set(PURGE_COVERAGE), "tables the purge does not account for"
    assert not set(PURGE_COVERAGE) - tables, "tables named that the schema no longer has"
    for table, handled in PURGE_COVERAGE.items():
        if isinstance(handled, str):
            assert len(handled) > 10, f"{table}: say why it holds no personal data"
        else:
            assert handled in PURGE_STEPS, f"{table}: {handled.__name__} is not a purge step"


def test_the_sample_holds_personal_data_in_every_table_the_purge_handles(
    sessions: sessionmaker[Session], seeded: Sample
) -> None:
    rows = every_row_as_text(sessions)
    handled = [t for t, how in PURGE_COVERAGE.items() if not isinstance(how, str)]
    assert [t for t in handled if not rows[t]] == []  # the sample exercises every step
    text = "\n".join(line for table in handled for line in rows[table])
    for n in (1, 4):
        assert f"Privé{n}" in text or f"bewoner{n}@example.org" in text


def test_after_the_purge_no_table_holds_a_purged_residents_data(
    sessions: sessionmaker[Session], seeded: Sample
) -> None:
    purge(sessions, seeded)
    rows = every_row_as_text(sessions)
    leaks = {
        (table, value)
        for table, lines in rows.items()
        for line in lines
        for value in sample.names_and_contacts(PURGED)
        if value in line
    }
    assert leaks == set()
    kept = "\n".join(line for lines in rows.values() for line in lines)
    for value in ("Privé4", "Quirina4", "bewoner5@example.org", "Dorpsstraat 4"):
        assert value in kept  # a kept household's data stays


def test_the_newer_tables_after_the_purge(sessions: sessionmaker[Session], seeded: Sample) -> None:
    purge(sessions, seeded)
    with sessions() as session:
        entries, _ = ConsentRepository(session, CORP).entries("P-OLD")
        answers = {a.unit_code: a.parties for a in entries if isinstance(a, Answer)}
        assert {unit: len(parties) for unit, parties in answers.items()} == {
            "VHE00001": 2,
            "VHE00002": 1,
            "VHE00004": 1,
        }
        assert answers["VHE00004"] == ("R4",)  # a kept household still names its party
        by_id = {e.id: e for e in entries}
        first = by_id["A-1"]
        assert isinstance(first, Answer) and first.choice.value == "agree"  # the result stays
        assert all(p.startswith("forgotten-") for p in first.parties)  # ... pseudonymised
        assert isinstance(by_id["X-3"], Exclusion) and len(entries) == 4  # counts stay
        assert set(session.scalars(select(ResidentAccessRow.unit_code))) == {"VHE00004"}
        assert set(session.scalars(select(OpenItemRow.unit_code))) == {"VHE00004"}
        assert set(session.scalars(select(AppointmentRow.unit_code))) == {"VHE00004"}
        changes = {c.item_key: c for c in session.scalars(select(FeedChangeRow))}
        for key in ("eenheid:VHE00001", "afspraak:AFS-1"):
            assert changes[key].deleted and bytes(changes[key].payload) == b"null"
        assert not changes["eenheid:VHE00004"].deleted
        (hook,) = session.scalars(select(WebhookOutboxRow))
        carried = {c["key"]: c for c in orjson.loads(hook.body)["data"]["changes"]}
        assert carried["eenheid:VHE00001"]["data"] is None
        assert carried["eenheid:VHE00004"]["data"]["relaties"][0]["achternaam"] == "Privé4"
        inbox = {r.message_id: bytes(r.body) for r in session.scalars(select(FeedInboxRow))}
        assert inbox["in-1"] == b"" and b"VHE00004" in inbox["in-4"]
        erp = {r.unit_code: r for r in session.scalars(select(ErpWriteRow))}
        assert erp["VHE00001"].payload == {} and erp["VHE00001"].status == "failed"
        assert erp["VHE00004"].payload["relatie"] == "R4"


def test_the_export_carries_answers_and_appointments(
    sessions: sessionmaker[Session], seeded: Sample
) -> None:
    result = export_household(
        sessions,
        CORP,
        "Woonstichting Privé",
        [sample.OLD, sample.NEW],
        "VHE00004",
        MailingFolders(seeded.mailings),
        AccessExportFolder(seeded.exports),
        scans=EvidenceFolder(seeded.data),
        on=date(2024, 6, 1),
        actor="cli:tester",
        clock=lambda: datetime(2024, 6, 1, 12, 0),
    )
    sections = json.loads(result.json.read_text(encoding="utf-8"))["sections"]
    (answer,) = sections["consent"]
    assert (answer["project"], answer["entry_id"], answer["answer"], answer["parties"]) == (
        "P-OLD",
        "A-4",
        "akkoord",
        ["R4"],
    )
    (appointment,) = sections["appointments"]
    assert (appointment["code"], appointment["status"], appointment["address"]) == (
        "AFS-4",
        "gepland",
        "Dorpsstraat 4, 1234 AB Ons Dorp",
    )
    assert result.items["consent"] == 1 and result.items["appointments"] == 1
    digest = sample.scan_evidence("VHE00004").sha256
    (scan,) = sections["scans"]
    copy = f"scans/{digest[:12]}-akkoord-Privé4.pdf"
    assert (scan["entry_id"], scan["file"], scan["sha256"], scan["copies"]) == (
        "A-4",
        "scan.pdf",
        digest,
        [copy],
    )
    assert (result.folder / copy).read_bytes() == sample.SCANS["VHE00004"][1]
    assert result.scans_copied == 1 and result.letters_copied == 2
    pdf_text = " ".join(page.extract_text() for page in PdfReader(result.pdf).pages)
    for value in ("Uw antwoorden over de renovatie", "Uw formulieren (scans)", "Uw afspraken"):
        assert value in pdf_text
