"""The bulk import of scanned consent forms: CSV and XLSX files read by the real reader, rows
admitted by the real ledger, stored in the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy.orm import Session, sessionmaker

from connectors.consent_forms import FormFileError, read_form_file
from keukentafel.domain.consent import Answer
from keukentafel.store.repositories import ConsentRepository
from keukentafel.usecases.consent import consent_tally, send_notice
from keukentafel.usecases.consent_import import ImportReport, import_forms
from tests import builders
from tests.builders import CONSENT, CORP, clock_at, consent_register, run

CLOCK = clock_at(datetime(2027, 3, 1, 12))
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
HEADER = "VHE;Relatie;Antwoord;Datum;Tijd;Kanaal;Scan;Naam"


def write_forms(folder: Path, rows: list[str], name: str = "formulieren.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for scan in ("scan-1.pdf", "scan-2.pdf", "scan-3.pdf", "scan-5.pdf", "scan-13.pdf"):
        (folder / scan).write_bytes(f"%PDF scanned form {scan}".encode())
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8-sig")
    return path


def stored(sessions: sessionmaker[Session]) -> list[Answer]:
    with sessions() as session:
        entries, _ = ConsentRepository(session, CORP).entries(CONSENT.project.code)
    return [e for e in entries if isinstance(e, Answer)]


def do_import(sessions: sessionmaker[Session], path: Path, clock: object = CLOCK) -> ImportReport:
    return import_forms(
        sessions,
        CONSENT,
        read_form_file(path),
        recorded_by="bea",
        clock=clock,  # type: ignore[arg-type]
    )


ROWS = [
    "VHE00001;;akkoord;2027-02-10;;papier;scan-1.pdf;Jansen1",  # 2: the household agrees
    "VHE00003;R3, R3B;ja;10-02-2027;19.30;huisbezoek;scan-3.pdf;Jansen3",  # 3: both by name
    "VHE99999;;akkoord;2027-02-10;;;;",  # 4: unknown unit
    "VHE00005;R6;akkoord;2027-02-10;;;scan-5.pdf;",  # 5: R6 is not on the lease of VHE00005
    "VHE00013;;akkoord;2027-02-10;;;scan-13.pdf;",  # 6: an owner
    "VHE00014;;akkoord;2027-02-10;;;;",  # 7: vacant
    "VHE00002;;akkoord;2027-03-02;;;scan-2.pdf;",  # 8: tomorrow
    "VHE00001;;akkoord;2027-02-10;;papier;scan-1.pdf;Jansen1",  # 9: the same form again
    "VHE00004;;akkoord;31-02-2027;;;;",  # 10: no such date
    "VHE00004;;misschien;2027-02-10;;;;",  # 11: no answer word
    ";;akkoord;2027-02-10;;;;",  # 12: no unit
    "VHE00004;;akkoord;2027-02-10;;;scan-4.pdf;",  # 13: the scan is not there
    "VHE00004;;akkoord;2027-02-10;;fax;;",  # 14: no such channel
    "VHE00002;;nee;2027-02-11;;telefoon;;",  # 15: a decline by phone
]


@pytest.fixture
def fourteen(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    run(sessions, consent_register(14, owners=(13,), vacant=(14,), co_tenants=(3,)))
    return sessions


def test_rows_are_recorded_or_set_aside_with_their_reason(
    fourteen: sessionmaker[Session], tmp_path: Path
) -> None:
    report = do_import(fourteen, write_forms(tmp_path / "batch", ROWS))
    assert [(r.number, r.code) for r in report.rows] == [
        (2, "recorded"),
        (3, "recorded"),
        (4, "unknown_unit"),
        (5, "party_not_on_lease"),
        (6, "owners_track"),
        (7, "vacant"),
        (8, "future_date"),
        (9, "duplicate"),
        (10, "bad_date"),
        (11, "bad_answer"),
        (12, "missing_unit"),
        (13, "unreadable"),
        (14, "bad_channel"),
        (15, "recorded"),
    ]
    assert report.recorded == 3 and len(report.set_aside) == 11
    assert report.ignored_columns == ("Naam",)  # a name column is never read
    reasons = {r.number: r.reason for r in report.rows}
    assert "scan-4.pdf is not in batch" in reasons[13]
    assert "R6" in reasons[5] and "VHE00005" in reasons[5]
    assert not any("Jansen" in reason for reason in reasons.values())
    answers = stored(fourteen)
    assert [(a.unit_code, a.parties, a.choice.value, a.channel.value) for a in answers] == [
        ("VHE00001", ("R1",), "agree", "paper"),
        ("VHE00003", ("R3", "R3B"), "agree", "visit"),
        ("VHE00002", ("R2",), "decline", "phone"),
    ]
    scan = (tmp_path / "batch" / "scan-1.pdf").read_bytes()
    assert answers[0].evidence is not None
    assert answers[0].evidence.sha256 == hashlib.sha256(scan).hexdigest()
    given = answers[1].at.astimezone(AMSTERDAM)  # stored in UTC, given in Amsterdam time
    assert (given.hour, given.minute, answers[1].day) == (19, 30, date(2027, 2, 10))
    assert all(a.recorded_by == "bea" for a in answers)
    tally = consent_tally(fourteen, CONSENT, date(2027, 3, 1))
    assert (tally.ballot().agreed, tally.ballot().declined) == (2, 1)


def test_the_same_file_twice_adds_nothing(fourteen: sessionmaker[Session], tmp_path: Path) -> None:
    path = write_forms(tmp_path, ROWS)
    first = do_import(fourteen, path)
    again = do_import(fourteen, path)
    assert first.recorded == 3 and again.recorded == 0
    assert [r.code for r in again.rows if r.number in (2, 3, 15)] == ["duplicate"] * 3
    assert len(stored(fourteen)) == 3
    assert first.sha256 == again.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_answer_after_the_deadline_is_set_aside(
    fourteen: sessionmaker[Session], tmp_path: Path
) -> None:
    good = [f"VHE{n:05d};;akkoord;2027-02-10;;;;" for n in range(1, 10)]
    assert do_import(fourteen, write_forms(tmp_path / "a", good)).recorded == 9
    send_notice(
        fourteen,
        CONSENT,
        builders.MemoryWriter(),
        on=date(2027, 3, 1),
        mailing_id="zeventig",
        started_by="cli:test",
        clock=CLOCK,
    )
    late = ["VHE00011;;akkoord;2027-04-26;;;;", "VHE00012;;akkoord;2027-04-27;;;;"]
    report = do_import(fourteen, write_forms(tmp_path / "b", late), clock_at(datetime(2027, 5, 1)))
    assert [r.code for r in report.rows] == ["recorded", "after_deadline"]
    assert "last day 2027-04-26" in report.rows[1].reason


def test_an_xlsx_formula_is_not_a_value(fourteen: sessionmaker[Session], tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Unit", "Answer", "Date", "Time", "Naam"])
    sheet.append(["VHE00001", "agree", datetime(2027, 2, 10, 10, 15), None, "Jansen1"])
    sheet.append(['="VHE0000"&"2"', "agree", datetime(2027, 2, 10), None, None])
    sheet.append(["VHE00003", '=IF(1,"agree","decline")', datetime(2027, 2, 10), None, None])
    sheet.append(["VHE00004", "decline", "12-02-2027", "9:05", None])
    path = tmp_path / "forms.xlsx"
    workbook.save(path)
    report = do_import(fourteen, path)
    assert [(r.number, r.code) for r in report.rows] == [
        (2, "recorded"),
        (3, "unreadable"),
        (4, "unreadable"),
        (5, "recorded"),
    ]
    assert "unit: a formula, not a value" in report.rows[1].reason
    assert "answer: a formula" in report.rows[2].reason
    answers = stored(fourteen)
    local = [a.at.astimezone(AMSTERDAM) for a in answers]
    assert [(a.unit_code, t.hour, t.minute) for a, t in zip(answers, local, strict=True)] == [
        ("VHE00001", 10, 15),
        ("VHE00004", 9, 5),
    ]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("forms.txt", "VHE;Antwoord;Datum\n", "a .csv or .xlsx file"),
        ("forms.csv", "VHE;Naam\nVHE00001;x\n", "missing: answer, date"),
        ("forms.csv", "", "empty"),
        ("forms.csv", "Unit;VHE;Answer;Date\n", "two columns mean unit"),
        ("forms.xlsx", "not a workbook", "not a readable XLSX"),
    ],
)
def test_a_file_that_cannot_be_read_says_why(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormFileError, match=message) as err:
        read_form_file(path)
    assert str(path) in str(err.value)


def test_a_scan_name_cannot_point_elsewhere_and_a_given_digest_must_match(
    tmp_path: Path,
) -> None:
    path = write_forms(
        tmp_path,
        [
            "VHE00001;;agree;2027-02-10;;;../secret.pdf;",
            f"VHE00001;;agree;2027-02-10;;;scan-1.pdf;{'0' * 64}",
        ],
    )
    text = path.read_text(encoding="utf-8-sig").replace(";Naam", ";sha256")
    path.write_text(text, encoding="utf-8")
    rows = read_form_file(path).rows
    assert "without a folder" in rows[0].problems[0]
    assert "does not have the SHA-256" in rows[1].problems[0]
