"""CSV and XLSX exports of a contractor's current records, safe against formula injection.

One row per unit and appointment (a unit without appointments gets one row), in the columns of
keukentafel.domain.planning.feed.EXPORT_COLUMNS and nothing else; times are Amsterdam time
("2027-05-12 07:30"). Every cell that a spreadsheet could read as a formula (starting with
``= + - @``, a tab, CR or LF) gets a leading apostrophe, in CSV and XLSX alike, and XLSX cells
are written as strings, never as formulas.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from keukentafel.domain.model import AMSTERDAM
from keukentafel.domain.planning.feed import APPOINTMENT, EXPORT_COLUMNS, UNIT
from keukentafel.usecases.feeds import Record

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def cell_safe(value: object) -> str:
    """The cell's text, with a leading apostrophe when a spreadsheet would run it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def local_time(text: str) -> str:
    """A VERA UTC time ("2027-05-12T05:30:00Z") as Amsterdam time ("2027-05-12 07:30")."""
    if not text:
        return ""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(AMSTERDAM)
    return moment.strftime("%Y-%m-%d %H:%M")


def names_text(relations: Iterable[Mapping[str, Any]]) -> str:
    names = []
    for r in relations:
        if r.get("naam"):
            names.append(str(r["naam"]))
        else:
            parts = (r.get("voorletters"), r.get("tussenvoegsels"), r.get("achternaam"))
            names.append(" ".join(str(p) for p in parts if p))
    return "; ".join(names)


def contact_text(relations: Iterable[Mapping[str, Any]], code: str) -> str:
    return "; ".join(
        str(c.get("waarde", ""))
        for r in relations
        for c in r.get("contactgegevens", [])
        if (c.get("soort") or {}).get("code") == code
    )


def rows(records: list[Record]) -> Iterator[dict[str, str]]:
    """The export's rows: each unit, joined with its appointments."""
    units = [r for r in records if r.type == UNIT]
    appointments: dict[str, list[Record]] = {}
    for record in records:
        if record.type == APPOINTMENT:
            code = str((record.data.get("eenheid") or {}).get("code", ""))
            appointments.setdefault(code, []).append(record)
    for unit in sorted(units, key=lambda r: str(r.data.get("code"))):
        base = _unit_row(unit.data)
        mine = appointments.get(str(unit.data.get("code")), [])
        if not mine:
            yield base
        for appointment in sorted(mine, key=lambda r: str(r.data.get("begindatum", ""))):
            yield {**base, **_appointment_row(appointment.data)}


def _unit_row(data: Mapping[str, Any]) -> dict[str, str]:
    address = data.get("adres") or {}
    row = dict.fromkeys(EXPORT_COLUMNS, "")
    row.update(
        {
            "eenheid": str(data.get("code", "")),
            "project": str(data.get("project", "")),
            **{
                key: str(address.get(key, ""))
                for key in (
                    "straatnaam",
                    "huisnummer",
                    "huisletter",
                    "huisnummerToevoeging",
                    "postcode",
                    "woonplaats",
                )
            },
            "namen": names_text(data.get("relaties", [])),
            "doorgang": str(data.get("doorgang", "")),
            "kenmerken": ", ".join(data.get("kenmerken", [])),
        }
    )
    return row


def _appointment_row(data: Mapping[str, Any]) -> dict[str, str]:
    relations = data.get("relaties", [])
    preferred = sorted({str(r["voorkeurskanaal"]) for r in relations if r.get("voorkeurskanaal")})
    hours = sorted({str(r["bereikbaar"]) for r in relations if r.get("bereikbaar")})
    return {
        "afspraak": str(data.get("code", "")),
        "onderwerp": str(data.get("onderwerp", "")),
        "status": str((data.get("status") or {}).get("code", "")),
        "begindatum": local_time(str(data.get("begindatum", ""))),
        "einddatum": local_time(str(data.get("einddatum", ""))),
        "team": str(data.get("team", "")),
        "telefoon": "; ".join(
            p for p in (contact_text(relations, "MOB"), contact_text(relations, "TEL")) if p
        ),
        "email": contact_text(relations, "EMA"),
        "voorkeurskanaal": ", ".join(preferred),
        "bereikbaar": "; ".join(hours),
    }


def to_csv(records: list[Record]) -> bytes:
    """``;``-separated UTF-8 with BOM (what Dutch Excel opens as it should)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows(records):
        writer.writerow([cell_safe(row[c]) for c in EXPORT_COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(records: list[Record], *, title: str = "Planning") -> bytes:
    """One sheet with the same columns; every cell a string."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])

    def cells(values: Iterable[str]) -> list[WriteOnlyCell]:
        found = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=cell_safe(value))
            cell.data_type = "s"  # a string, whatever it looks like
            found.append(cell)
        return found

    sheet.append(cells(EXPORT_COLUMNS))
    for row in rows(records):
        sheet.append(cells(row[c] for c in EXPORT_COLUMNS))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_name(contractor: str, kind: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M")
    return f"planning-{contractor}-{stamp}.{kind}"
