"""The purge and the access export on a sample corporation, on SQLite and PostgreSQL.

The sample (tests/privacy_sample.py): a closed project whose retention has passed, a running
project sharing one complex with it, residents who moved from one to the other, and every kind of
personal data the store and the output folder hold. The real adapters write and remove files.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, inspect, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.audit import AuditEvent, AuditKind
from keukentafel.letters.access_export import AccessExportFolder
from keukentafel.letters.archive import MailingFolders
from keukentafel.store.models import (
    AuditRow,
    ChangeEventRow,
    ConsentEntryRow,
    InvitationRow,
    LeaseRow,
    OutboxRow,
    RejectedRowRow,
    ResidentRow,
    RestrictedNoteRow,
    TeamContactRow,
    UnitRow,
)
from keukentafel.store.repositories.audit import AuditLog
from keukentafel.store.repositories.restricted_notes import RestrictedNotes
from keukentafel.usecases.privacy import (
    HouseholdNotFound,
    PurgeContext,
    PurgeReport,
    export_household,
    purge_consent_scans,
    purge_personal_data,
)
from keukentafel.usecases.staff_consent import EvidenceFolder
from tests import privacy_sample as sample
from tests.privacy_sample import CORP, Sample

NOW = datetime(2024, 7, 1, 5, 0)


@pytest.fixture
def seeded(sessions: sessionmaker[Session], tmp_path: Path) -> Sample:
    return sample.seed(sessions, tmp_path / "out")


def _purge(sessions: sessionmaker[Session], where: Sample, on: date = sample.AFTER) -> PurgeReport:
    return purge_personal_data(
        sessions,
        CORP,
        sample.RETENTION,
        MailingFolders(where.mailings),
        AccessExportFolder(where.exports),
        scans=EvidenceFolder(where.data),
        on=on,
        actor="prefect:run-1",
        clock=lambda: NOW,
    )


def _export(sessions: sessionmaker[Session], where: Sample, unit: str, **kw: Any) -> Any:
    return export_household(
        sessions,
        CORP,
        "Woonstichting Privé",
        [sample.OLD, sample.NEW],
        unit,
        MailingFolders(where.mailings),
        AccessExportFolder(where.exports),
        scans=EvidenceFolder(where.data),
        on=kw.pop("on", sample.BEFORE),
        actor="cli:tester",
        clock=lambda: datetime(2024, 6, 1, 12, 0),
        **kw,
    )


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but the audit log, row by row: what a second purge must leave alone."""
    tables = [
        t for t in inspect(engine).get_table_names() if t not in ("audit_log", "alembic_version")
    ]
    with engine.connect() as conn:
        return {
            t: sorted(
                (tuple(str(v) for v in row) for row in conn.execute(text(f"SELECT * FROM {t}"))),
            )
            for t in tables
        }


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# --- the purge --------------------------------------------------------------------------------


def test_the_purge_removes_the_closed_projects_personal_data(
    sessions: sessionmaker[Session], seeded: Sample
) -> None:
    _export(sessions, seeded, "VHE00001")  # an export on disk, made while the data was kept
    report = _purge(sessions, seeded)

    assert report.units == sample.PURGED_UNITS
    assert report.kept_units == ("VHE00004",)
    assert report.due_projects == (("P-OLD", "2024-06-30"),)
    assert report.counts == {
        "restricted_notes": 1,
        "team_list_rows": 2,
        "message_bodies_and_recipients": 4,  # three of 2023 and the one of 2019
        "invitation_records": 3,
        "history_events_pseudonymised": 4,  # resident_added of R1, R2, R3, R6
        "kept_aside_rows_emptied": 1,
        "consent_parties_pseudonymised": 3,  # R1 and R6 of VHE00001, R2 of VHE00002
        "resident_links": 1,
        "resident_letter_records": 1,
        "open_items": 1,
        "feed_changes_emptied": 2,  # VHE00001 and its appointment
        "webhook_changes_emptied": 2,
        "contractor_messages_emptied": 1,
        "appointments": 1,
        "erp_write_payloads": 1,
        "evidence_scans": 1,  # VHE00001's scan; VHE00004's is kept
        "residents": 4,
        "leases": 4,
        "cached_source_pages": 1,
        "letters": 3,
        "emails": 3,
        "invitation_files": 3,
        "print_batches": 1,
        "access_exports": 1,
    }
    with sessions() as session:
        residents = set(session.scalars(select(ResidentRow.relation_id)))
        assert residents == set(sample.KEPT_RESIDENTS)  # R7 moved to a running project: kept
        assert set(session.scalars(select(LeaseRow.unit_code))) == {"VHE00004", "VHE00005"}
        removed = session.execute(select(UnitRow.code, UnitRow.removed_at)).all()
        assert {code for code, at in removed if at is not None} == set(sample.PURGED_UNITS)
        team = {row.row_key for row in session.scalars(select(TeamContactRow))}
        assert team == {"4", "5"}
        outbox = {r.unit_code: r for r in session.scalars(select(OutboxRow))}
        for code in sample.PURGED_UNITS:
            assert outbox[code].recipient == "" and outbox[code].body == b""
        assert outbox["VHE00003"].status.value == "failed"  # never goes out empty
        assert outbox["VHE00004"].recipient == "bewoner4@example.org"
        assert set(session.scalars(select(InvitationRow.unit_code))) == {"VHE00004", "VHE00005"}
        notes = set(session.scalars(select(RestrictedNoteRow.relation_id)))
        assert notes == {"R4", "R7"}
        ids = set(session.scalars(select(ChangeEventRow.entity_id)))
        assert not ids & set(sample.PURGED_RESIDENTS) and {"anon-1", "anon-2"} <= ids
        kept_aside = session.scalars(select(RejectedRowRow)).one()
        assert (
            kept_aside.raw is None and kept_aside.detail == "" and kept_aside.reason == "malformed"
        )
    mailing_old = seeded.mailings / "P-OLD-info_evening-2023-03-01"
    assert _files(mailing_old) == [
        "P-OLD-info_evening-2023-03-01-manifest.csv",
        "agenda/0004-VHE00004.ics",
        "archief/0004-VHE00004.pdf",
        "email/0004-VHE00004.eml",
    ]
    assert len(_files(seeded.mailings / "P-NEW-info_evening-2023-03-01")) == 8
    assert not (seeded.exports / CORP / "VHE00001").exists()
    assert _files(seeded.data) == [
        f"evidence/{sample.scan_evidence('VHE00004').sha256}/akkoord-Privé4.pdf"
    ]
    with sessions() as session:
        evidence = {
            row.unit_code: (row.evidence_file, row.evidence_sha256)
            for row in session.scalars(select(ConsentEntryRow))
            if row.evidence_sha256
        }
    assert evidence == {
        "VHE00001": ("scan.pdf", sample.scan_evidence("VHE00001").sha256),  # the digest stays
        "VHE00004": ("scan.pdf", sample.scan_evidence("VHE00004").sha256),
    }


def test_a_second_purge_removes_nothing_more(
    sessions: sessionmaker[Session], seeded: Sample, engine: Engine
) -> None:
    first = _purge(sessions, seeded)
    state, files = _dump(engine), _files(seeded.out)
    second = _purge(sessions, seeded, on=date(2025, 1, 1))
    assert first.removed > 0
    assert second.removed == 0 and second.units == ()
    assert _dump(engine) == state and _files(seeded.out) == files
    with sessions() as session:
        runs = AuditLog(session).events(CORP, kinds=[AuditKind.PURGE_RUN], unit_code="")
    assert [r.event.detail["units"] for r in runs] == [3, 0]  # each run records itself


def _crash(ctx: PurgeContext) -> None:
    raise RuntimeError("the purge stops after its last step, before the commit")


def test_the_scans_go_only_after_the_purge_commits(
    sessions: sessionmaker[Session], seeded: Sample
) -> None:
    scans = _files(seeded.data)
    with pytest.raises(RuntimeError):
        purge_personal_data(
            sessions,
            CORP,
            sample.RETENTION,
            MailingFolders(seeded.mailings),
            AccessExportFolder(seeded.exports),
            scans=EvidenceFolder(seeded.data),
            on=sample.AFTER,
            actor="prefect:run-1",
            clock=lambda: NOW,
            steps=(purge_consent_scans, _crash),
        )
    assert _files(seeded.data) == scans and len(scans) == 2  # rolled back: every scan kept


def test_a_scan_left_on_disk_by_an_interrupted_purge_goes_on_the_next_run(
    sessions: sessionmaker[Session], seeded: Sample
) -> None:
    first = _purge(sessions, seeded)
    assert first.counts["evidence_scans"] == 1
    # The process died between the commit and the removal: the folder is still there.
    name, content = sample.SCANS["VHE00001"]
    left = seeded.data / "evidence" / sample.scan_evidence("VHE00001").sha256
    left.mkdir(parents=True)
    (left / name).write_bytes(content)
    again = _purge(sessions, seeded, on=date(2025, 1, 1))
    assert again.counts["evidence_scans"] == 1 and again.units == ("VHE00001",)
    assert not left.exists()
    assert len(_files(seeded.data)) == 1  # VHE00004's scan, whose project keeps its data


def test_nothing_is_purged_while_the_project_keeps_its_data(
    sessions: sessionmaker[Session], seeded: Sample, engine: Engine
) -> None:
    state, files = _dump(engine), _files(seeded.out)
    report = _purge(sessions, seeded, on=sample.BEFORE)
    assert report.removed == 0 and report.due_projects == () and report.units == ()
    assert _dump(engine) == state and _files(seeded.out) == files


def test_the_purge_report_and_its_audit_record_hold_no_personal_data(
    sessions: sessionmaker[Session], seeded: Sample
) -> None:
    report = _purge(sessions, seeded)
    with sessions() as session:
        events = AuditLog(session).events(CORP)
    said = repr(report) + json.dumps(report.count_rows()) + repr(events)
    for value in sample.names_and_contacts():
        assert value not in said
    for relation_id in sample.PURGED_RESIDENTS:
        assert f"'{relation_id}'" not in said
    per_unit = [e.event for e in events if e.event.unit_code]
    assert [(e.unit_code, e.detail["projects"]) for e in per_unit] == [
        (code, ("P-OLD",)) for code in sample.PURGED_UNITS
    ]
    assert all(e.actor == "prefect:run-1" and e.at == NOW for e in per_unit)


# --- the access export ------------------------------------------------------------------------


def test_the_export_holds_what_the_store_holds_on_the_household(
    sessions: sessionmaker[Session], seeded: Sample
) -> None:
    result = _export(sessions, seeded, "VHE00005")
    data = json.loads(result.json.read_text(encoding="utf-8"))
    sections = data["sections"]
    assert data["unit"] == "VHE00005" and list(sections) == [
        "unit",
        "leases",
        "residents",
        "team_list",
        "messages",
        "letters",
        "mailings",
        "consent",
        "scans",
        "appointments",
    ]
    with sessions() as session:
        stored = {r.relation_id: r for r in session.scalars(select(ResidentRow))}
        lease = session.scalars(select(LeaseRow).where(LeaseRow.unit_code == "VHE00005")).one()
        message = session.scalars(select(OutboxRow).where(OutboxRow.unit_code == "VHE00005")).one()
    assert [r["relation_id"] for r in sections["residents"]] == ["R5", "R7"]
    for shown in sections["residents"]:
        row = stored[shown["relation_id"]]
        assert (shown["surname"], shown["first_name"], shown["initials"]) == (
            row.surname,
            row.first_name,
            row.initials,
        )
        assert shown["contacts"] == [
            f"{'e-mail' if c['kind'] == 'email' else 'mobiel'}: {c['value']}"
            + (" (voorkeur)" if c["preferred"] else "")
            for c in row.contacts
        ]
    assert sections["leases"] == [
        {
            "lease_id": lease.lease_id,
            "kind": "huurovereenkomst",
            "status": "loopt",
            "start_date": lease.start_date.isoformat() if lease.start_date else None,
            "end_date": None,
            "parties": ["R5:tenant", "R7:co_tenant"],
            "party_names": ["Q. Privé5 (huurder)", "Q. Privé7 (medehuurder)"],
        }
    ]
    (shown_message,) = sections["messages"]
    assert shown_message["body"] == message.body.decode() and shown_message["recipient"] == (
        message.recipient
    )
    assert shown_message["text"] == "Beste bewoner 5"
    assert [r["mobile"] for r in sections["team_list"]] == ["+31699990005"]
    assert [x["mailing"] for x in sections["letters"]] == ["P-NEW-info_evening-2023-03-01"]
    assert (result.folder / "brieven" / "P-NEW-info_evening-2023-03-01.pdf").read_bytes() == (
        b"%PDF-1.7 brief VHE00005"
    )
    assert {tuple(m["channels"]) for m in sections["mailings"]} == {("brief", "e-mail")}
    assert result.restricted_notes_left_out == 1  # R7's note: never in an export
    assert "bijzondere" not in result.json.read_text(encoding="utf-8")

    pdf_text = " ".join(page.extract_text() for page in PdfReader(result.pdf).pages)
    for value in ("Privé5", "Quirina7", "bewoner5@example.org", "+31600000005", "na 17.00 uur"):
        assert value in pdf_text
    assert "Uw gegevens bij Woonstichting Privé" in pdf_text

    with sessions() as session:
        (entry,) = AuditLog(session).events(CORP, kinds=[AuditKind.PERSONAL_DATA_EXPORTED])
    assert (entry.event.unit_code, entry.event.actor) == ("VHE00005", "cli:tester")
    assert entry.event.detail["messages"] == 1 and entry.event.detail["residents"] == 2


def test_a_new_tenant_gets_nothing_of_the_one_before(
    sessions: sessionmaker[Session], seeded: Sample
) -> None:
    result = _export(sessions, seeded, "VHE00002")
    text_ = result.json.read_text(encoding="utf-8")
    sections = json.loads(text_)["sections"]
    assert [r["relation_id"] for r in sections["residents"]] == ["R2"]
    assert [x["lease_id"] for x in sections["leases"]] == ["L2"]
    assert [m["recipient"] for m in sections["messages"]] == ["bewoner2@example.org"]
    for value in sample.names_and_contacts((7,)):
        assert value not in text_
    # R7 asks as a former tenant of VHE00002: their own lease and the 2019 e-mail, not R2's.
    former = _export(sessions, seeded, "VHE00002", relation_id="R7")
    sections = json.loads(former.json.read_text(encoding="utf-8"))["sections"]
    assert [x["lease_id"] for x in sections["leases"]] == ["L2-OLD"]
    assert [m["text"] for m in sections["messages"]] == ["Oud"]
    assert sections["letters"] == [] and sections["team_list"] == []


def test_an_e_mail_sent_just_after_midnight_in_amsterdam_belongs_to_the_new_tenant(
    sessions: sessionmaker[Session], seeded: Sample
) -> None:
    """R7's lease of VHE00002 ended on 31 December 2020 and R2's began on 1 January 2021. An
    e-mail stored at 23:30 UTC on 31 December (00:30 on 1 January in Amsterdam) was sent in R2's
    time: it is in R2's export, not in R7's."""
    from keukentafel.domain.outbox import OutgoingMessage
    from keukentafel.store.repositories.outbox import OutboxRepository

    body = b"Content-Type: text/plain; charset=utf-8\r\n\r\nNieuwjaar"
    message = OutgoingMessage(
        f"{CORP}/P-OLD/announcement/2021", "VHE00002", "email", "bewoner2@example.org", "U", body
    )
    with sessions.begin() as session:
        assert OutboxRepository(session, CORP).enqueue([message], datetime(2020, 12, 31, 23, 30))
    current = json.loads(_export(sessions, seeded, "VHE00002").json.read_text(encoding="utf-8"))
    former = _export(sessions, seeded, "VHE00002", relation_id="R7")
    former_messages = json.loads(former.json.read_text(encoding="utf-8"))["sections"]["messages"]
    assert "Nieuwjaar" in [m["text"] for m in current["sections"]["messages"]]
    assert [m["text"] for m in former_messages] == ["Oud"]


def test_an_export_for_no_household_says_why(
    sessions: sessionmaker[Session], seeded: Sample
) -> None:
    with pytest.raises(HouseholdNotFound, match="VHE09999 is not in the register"):
        _export(sessions, seeded, "VHE09999")
    with pytest.raises(HouseholdNotFound, match="no current household"):
        _export(sessions, seeded, "VHE00002", on=date(2014, 12, 31))
    with pytest.raises(HouseholdNotFound, match="relation R1 is on no lease"):
        _export(sessions, seeded, "VHE00002", relation_id="R1")
    assert not seeded.exports.exists()


# --- the audit log and restricted notes ---------------------------------------------------------


def test_reading_restricted_notes_records_each_view(
    sessions: sessionmaker[Session], seeded: Sample
) -> None:
    with sessions.begin() as session:
        notes = RestrictedNotes(session, CORP).read(
            "VHE00005", ["R5", "R7"], viewer="web:staff-1", at=datetime(2024, 1, 1)
        )
    assert [n.note.relation_id for n in notes] == ["R7"]
    with sessions() as session:
        (entry,) = AuditLog(session).events(CORP, unit_code="VHE00005")
    assert entry.event.kind is AuditKind.RESTRICTED_NOTE_VIEWED
    assert (entry.event.actor, entry.event.subject) == ("web:staff-1", f"note:{notes[0].id}")


def test_the_audit_log_refuses_an_update(sessions: sessionmaker[Session]) -> None:
    event = AuditEvent(AuditKind.WEB_SIGN_IN, CORP, "web:staff-1", at=datetime(2024, 1, 1))
    with sessions.begin() as session:
        entry_id = AuditLog(session).record(event)
    with pytest.raises(DBAPIError, match="append-only"), sessions.begin() as session:
        session.execute(update(AuditRow).where(AuditRow.id == entry_id).values(actor="web:other"))
    with sessions() as session:
        (entry,) = AuditLog(session).events(CORP)
    assert entry.id == entry_id and entry.event == event
