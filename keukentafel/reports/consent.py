"""The consent report of a project for the corporation, as PDF and XLSX files.

Both show the profile (threshold, denominator and its legal basis), per ballot the counts, the
exact fraction, the percentage (half-up, 4 decimals), whether the threshold and the minimum of
homes are met, since when and whether it was lost again, and per unit its status, notice date
and last day to go to court. The **PDF carries unit codes only**, so it can be shown around; the
**XLSX is the corporation's own copy**: it adds the address, each party's name and answers, and
each exclusion's reason and who decided.

The XLSX is safe against formula injection: every text cell is stored as text (never as a
formula, whatever it starts with), and one that a spreadsheet could take for a formula when
edited (``=``, ``+``, ``-``, ``@``) is marked with Excel's quote prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from markupsafe import escape

from keukentafel.domain.consent.report import ConsentReport

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True, slots=True)
class ConsentReportFiles:
    pdf: Path
    xlsx: Path


def report_name(report: ConsentReport) -> str:
    return f"{report.project.code}-consent-{report.as_of.isoformat()}"


def write_consent_report(report: ConsentReport, out_dir: Path) -> ConsentReportFiles:
    """Write ``<project>-consent-<date>.pdf`` and ``.xlsx`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / report_name(report)
    pdf, xlsx = base.with_suffix(".pdf"), base.with_suffix(".xlsx")
    pdf.write_bytes(report_pdf(report))
    write_xlsx(report, xlsx)
    return ConsentReportFiles(pdf, xlsx)


# --- XLSX (the corporation's copy, with names) ----------------------------------------------------


def _cell_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else value


def _put(sheet: Any, row: int, column: int, value: Any) -> None:
    cell = sheet.cell(row=row, column=column)
    value = _cell_value(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # text, never a formula (openpyxl takes "=..." as one otherwise)
        if value.startswith(_FORMULA_START):
            cell.quotePrefix = True
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"


def _table(sheet: Any, rows: Sequence[dict[str, object]], first_row: int = 1) -> int:
    """Rows of dicts as a table with their keys as the header; returns the next free row."""
    if not rows:
        return first_row
    columns = list(rows[0])
    for column, name in enumerate(columns, start=1):
        _put(sheet, first_row, column, name)
    for offset, row in enumerate(rows, start=1):
        for column, name in enumerate(columns, start=1):
            _put(sheet, first_row + offset, column, row.get(name))
    return first_row + len(rows) + 2


def write_xlsx(report: ConsentReport, path: Path) -> None:
    from openpyxl import Workbook  # heavy import, only when a report is written

    workbook = Workbook()
    summary = workbook.active
    summary.title = "tally"
    next_row = _table(summary, _profile_rows(report))
    _table(summary, report.ballot_rows(), next_row)
    units = workbook.create_sheet("units")
    _table(units, report.unit_rows(people=True))
    if report.problems:
        problems = workbook.create_sheet("register problems")
        _table(problems, [{"lease left out of the count": text} for text in report.problems])
    workbook.save(path)


def _profile_rows(report: ConsentReport) -> list[dict[str, object]]:
    profile = report.tally.profile
    threshold = profile.threshold
    return [
        {"what": "project", "value": f"{report.project.code} {report.project.name}"},
        {"what": "evaluated at the end of", "value": report.as_of},
        {"what": "threshold", "value": f"{threshold.numerator}/{threshold.denominator}"},
        {"what": "denominator", "value": profile.denominator.value},
        {"what": "legal basis", "value": profile.legal_basis},
        {"what": "minimum rented homes", "value": profile.min_homes},
        {"what": "consent", "value": profile.mode.value},
    ]


# --- PDF (unit codes only) ------------------------------------------------------------------------

_CSS = """
@page { size: A4 landscape; margin: 14mm 12mm;
        @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 8pt; } }
body { font-family: sans-serif; font-size: 8.5pt; color: #222; }
h1 { font-size: 14pt; margin: 0 0 2mm; } h2 { font-size: 11pt; margin: 5mm 0 2mm; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 0.3pt solid #bbb; padding: 1mm 1.5mm; text-align: left; }
th { background: #eee; } tr { page-break-inside: avoid; }
.met { color: #165c1c; font-weight: bold; } .not { color: #8a1c1c; font-weight: bold; }
"""


def _html_table(rows: Sequence[dict[str, object]]) -> str:
    """An HTML table; every header and cell is escaped here."""
    if not rows:
        return "<p>none</p>"
    columns = list(rows[0])
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_shown(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _transposed(rows: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """One row per figure and a column per ballot (the figures do not fit side by side)."""
    if not rows:
        return []
    return [
        {"": key, **{str(row["ballot"]): row[key] for row in rows}}
        for key in rows[0]
        if key != "ballot"
    ]


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def report_html(report: ConsentReport) -> str:
    """The PDF's HTML: profile, ballots and units by code (no names, no addresses)."""
    verdicts = "".join(
        f"<p class='{'met' if b.presumption_applies else 'not'}'>{escape(b.ballot)}: "
        f"{b.agreed} of {b.denominator} agreed ({escape(_shown(b.percentage))}%); presumption "
        f"{'applies' if b.presumption_applies else 'does not apply'}</p>"
        for b in report.tally.ballots
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Consent (art. 7:220 BW): {escape(report.project.code)} "
        f"{escape(report.project.name)}</h1>"
        f"<p>At the end of {report.as_of.isoformat()} (Europe/Amsterdam).</p>{verdicts}"
        f"<h2>Profile</h2>{_html_table(_profile_rows(report))}"
        f"<h2>Per ballot</h2>{_html_table(_transposed(report.ballot_rows()))}"
        f"<h2>Per unit</h2>{_html_table(report.unit_rows(people=False))}"
        "</body></html>"
    )


def report_pdf(report: ConsentReport) -> bytes:
    from weasyprint import HTML  # heavy import, only when a report is written

    pdf = HTML(string=report_html(report)).write_pdf()
    assert pdf is not None
    return bytes(pdf)
