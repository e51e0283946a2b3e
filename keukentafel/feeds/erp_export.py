"""Contact moments and appointments as files, for a corporation whose ERP takes no writes.

The ERP-writes use case's ``ErpWriter`` port over a folder: each write is one line of a CSV per
kind and day (``<folder>/<corporation>-contactmomenten-<date>.csv``,
``...-afspraken-<date>.csv``), with the key (``idExtern``) in the first column, so a write is
found again after a crash (and never written twice) by its key. The corporation imports the
files into its own system; formula injection is guarded as in every export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keukentafel.domain.model import amsterdam_date
from keukentafel.feeds.exports import cell_safe

COLUMNS = {
    "contactmoment": (
        "idExtern",
        "datum",
        "kanaal",
        "richting",
        "onderwerp",
        "omschrijving",
        "relaties",
    ),
    "afspraak": (
        "idExtern",
        "code",
        "onderwerp",
        "status",
        "begindatum",
        "einddatum",
        "adres",
        "relaties",
    ),
}
_FILE = {"contactmoment": "contactmomenten", "afspraak": "afspraken"}


def _text(column: str, value: Any) -> str:
    """A payload value as one cell: a code list's code, relations by id, an address as text."""
    if column == "adres" and isinstance(value, dict):
        number = f"{value.get('huisnummer', '')}{value.get('huisletter', '')}"
        if value.get("huisnummerToevoeging"):
            number += f"-{value['huisnummerToevoeging']}"
        street = f"{value.get('straatnaam', '')} {number}".strip()
        return f"{street}, {value.get('postcode', '')} {value.get('woonplaats', '')}".strip(", ")
    if column == "relaties" and isinstance(value, list):
        return ", ".join(str(r.get("id", "")) for r in value if isinstance(r, dict))
    if isinstance(value, dict):
        return str(value.get("code", ""))
    return "" if value is None else str(value)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ErpExportWriter:
    """Writes to ``folder``; implements keukentafel.usecases.erp_writes.ErpWriter.

    ``clock`` is the App's (naive UTC, as the store keeps time): a file is named after the
    corporation's day of the write, Amsterdam's date of that moment."""

    def __init__(
        self, folder: Path, corporation: str, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self.folder = folder
        self.corporation = corporation
        self.clock = clock

    @property
    def target(self) -> str:
        return f"export:{self.folder}"

    def _file(self, kind: str) -> Path:
        day = amsterdam_date(self.clock()).isoformat()  # the corporation's day
        return self.folder / f"{self.corporation}-{_FILE[kind]}-{day}.csv"

    def write(self, kind: str, key: str, payload: dict[str, Any], remote_id: str) -> str:
        path = self._file(kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        columns = COLUMNS[kind]
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        if not path.exists():
            writer.writerow(columns)
        writer.writerow([cell_safe(_text(c, payload.get(c))) for c in columns])
        with path.open("a", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())
        return f"{path.name}:{key}"

    def find(self, kind: str, key: str) -> str | None:
        for path in sorted(self.folder.glob(f"{self.corporation}-{_FILE[kind]}-*.csv")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.split(";", 1)[0] == key:
                    return f"{path.name}:{key}"
        return None
