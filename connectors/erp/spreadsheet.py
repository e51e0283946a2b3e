"""The spreadsheet source of the resident register: an ERP export (CSV or XLSX) to a Snapshot.

Many corporations can only hand over their register as an export from their ERP (Tobias, Empire,
Viewpoint, XBIS). This module owns that path, in two halves:

- ``read_rows`` (I/O): opens the file named in ``SpreadsheetConfig``, checks that every mapped
  column header is there *before* any row is read, and yields each row as text keyed by our field
  names (``keukentafel.domain.spreadsheet_fields``) plus its row number (``ROW_NUMBER``), counted
  as a spreadsheet program does (blank lines count; a title line above the header is allowed).
- ``snapshot_from_rows`` (pure): groups the rows by unit code and builds the same domain
  ``Snapshot`` as the VERA connector, so the same sync use case runs on it.

The shape of an export: one row per resident per unit. A vacant unit is one row with no resident
columns filled; co-tenants are extra rows for the same unit. Unit columns may be repeated on every
row of a unit or filled on the first row only; empty cells never contradict filled ones.

Rows that cannot be used are kept aside as ``RejectedRow`` with a reason and a detail naming the
row number and the column (never a value from a resident column, never a name). A unit with any
unusable row, or whose rows disagree, is kept aside *as a whole*: its unit is left out of the
snapshot and a ``RejectedRow`` (entity UNIT, ``source_id`` = unit code) is recorded per problem,
so ``validate`` holds the stored unit; the leases that could still be read for it are emitted, so
``validate`` holds those too. Guessing which half of a broken unit is right could move a household
out; keeping the stored version cannot.

Identifiers: ``relation_id`` comes from its column, else it is derived from the unit code and the
name (a digest, so no name leaks into an id), so a re-import keeps the same ids; ``lease_id`` comes
from its column, else it is ``<unit code>/<start date>``. A lease whose end date is past is
ENDED; one whose end date is today or later is TERMINATED (notice given, still living there, as
VERA's OPG); 31-12-9999 means no end date. A party with the owner role makes it a PURCHASE.
"""

from __future__ import annotations

import csv
import difflib
import functools
import hashlib
import io
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from keukentafel.config import ConfigError, SpreadsheetConfig
from keukentafel.domain.addressing import (
    InvalidPostcode,
    normalise_postcode,
    split_house_number,
)
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
from keukentafel.domain.register import EntityKind, RejectedRow, RejectReason, Snapshot

log = logging.getLogger(__name__)

SOURCE = "spreadsheet"

#: Key of the row number (as text) in every row ``read_rows`` yields.
ROW_NUMBER = "_row"
#: Key present only when the reader found the row itself broken (e.g. more cells than headers).
ROW_ERROR = "_error"

_OPEN_END_YEAR = 9999
_DATE_FIELDS = frozenset({"lease_start", "lease_end"})
_UNIT_FIELDS = ("complex_code", "street", "house_number", "postcode", "town", "tenure")
_RESIDENT_FIELDS = (
    "relation_id",
    "initials",
    "first_name",
    "tussenvoegsel",
    "surname",
    "organisation_name",
    "email",
    "mobile",
    "phone",
)
_NAME_FIELDS = ("initials", "first_name", "tussenvoegsel", "surname", "organisation_name")


class SpreadsheetError(ConfigError):
    """The export file cannot be read as configured; the message names the file and the problem."""


# --- reading -----------------------------------------------------------------------------------


def read_rows(config: SpreadsheetConfig) -> Iterator[dict[str, str]]:
    """The export's rows as text keyed by our field names, plus ``ROW_NUMBER``.

    Opens the file and finds its header row at once: the first row, among the first ten that are
    not empty, holding every mapped header (case and repeated spaces ignored). A missing header
    raises ``SpreadsheetError`` (a ``ConfigError``) naming the file and the header before any row
    is read; the error never echoes other cells. The rows follow lazily. Every mapped field is present in every row ("" when the cell is empty); rows whose
    cells are all empty are skipped. A CSV row with more filled cells than there are headers (a
    ``;`` inside an unquoted street name shifts every column after it) carries ``ROW_ERROR``.

    CSV: ``config.delimiter`` and ``config.encoding`` (default UTF-8 with or without BOM). A file
    that is not valid UTF-8 is read as Windows-1252 (what Excel on Windows writes) with a
    warning; a UTF-16 file (Excel's "Unicode text") is recognised by its BOM.
    XLSX: read-only through openpyxl, the named sheet or the first; numbers, dates and empty
    cells become text (``1234.0`` → ``1234``, dates → ISO ``2024-03-01``).
    """
    path = Path(config.path)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise SpreadsheetError(
            f"{path}: the old Excel format .xls is not supported; save the export as .xlsx or CSV"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpreadsheetError(f"{path}: cannot read the export ({exc.strerror})") from None
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, data, config)
    return _read_csv(path, data, config)


def _read_csv(path: Path, data: bytes, config: SpreadsheetConfig) -> Iterator[dict[str, str]]:
    text = _decode(path, data, config.encoding)
    records = csv.reader(io.StringIO(text, newline=""), delimiter=config.delimiter)
    number, width, positions = _find_header(path, records, config, delimiter=config.delimiter)
    return _csv_rows(records, number, width, positions)


def _csv_rows(
    records: Iterator[list[str]],
    header_row: int,
    width: int,
    positions: dict[str, int],
) -> Iterator[dict[str, str]]:
    number = header_row
    for record in records:
        number += 1
        row = {
            name: _csv_cell(record[i]) if i < len(record) else "" for name, i in positions.items()
        }
        extra = [cell for cell in record[width:] if cell.strip()]
        if not any(row.values()) and not extra:
            continue
        row[ROW_NUMBER] = str(number)
        if extra:
            row[ROW_ERROR] = (
                f"{len(record)} cells where the header has {width}; "
                "is there an unquoted delimiter in a cell?"
            )
        yield row


_EXCEL_TEXT = re.compile(r'^="(.*)"$')


def _csv_cell(value: str) -> str:
    """A CSV cell as text; ``="0612345678"`` (Excel's keep-as-text trick) loses its wrapper."""
    value = value.strip()
    if not value.startswith('="'):
        return value
    match = _EXCEL_TEXT.match(value)
    return match.group(1).strip() if match else value


def _decode(path: Path, data: bytes, encoding: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode(encoding)
    except LookupError:
        raise SpreadsheetError(
            f"{path}: unknown encoding {encoding!r} in the configuration"
        ) from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        if encoding.lower().replace("_", "-") not in {"utf-8", "utf8", "utf-8-sig", "utf8-sig"}:
            raise SpreadsheetError(
                f"{path}: line {line} is not valid {encoding}; check the export's encoding "
                "and set spreadsheet.encoding"
            ) from None
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise SpreadsheetError(
            f"{path}: line {line} is neither UTF-8 nor Windows-1252; "
            "set spreadsheet.encoding to the export's encoding"
        ) from None
    log.warning(
        "%s is not UTF-8 (first bad byte on line %d); read it as Windows-1252. "
        "Set spreadsheet.encoding: cp1252 to silence this warning",
        path,
        line,
    )
    return text


def _read_xlsx(path: Path, data: bytes, config: SpreadsheetConfig) -> Iterator[dict[str, str]]:
    from openpyxl import load_workbook  # heavy import, only for XLSX sources

    try:
        # From memory: no file handle stays open if the caller never finishes the rows.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError or its own errors alike
        raise SpreadsheetError(
            f"{path}: not a readable XLSX workbook ({type(exc).__name__})"
        ) from None
    try:
        if config.sheet is None:
            sheet = workbook.worksheets[0]
        elif config.sheet in workbook.sheetnames:
            sheet = workbook[config.sheet]
        else:
            raise SpreadsheetError(
                f"{path}: no sheet named {config.sheet!r}; "
                f"the workbook has: {', '.join(workbook.sheetnames)}"
            )
        # ERP writers often store a wrong <dimension>; without this openpyxl may read one column.
        sheet.reset_dimensions()
        cells = sheet.iter_rows(min_row=1, values_only=True)
        texts = ([_cell_text(v, "", workbook.epoch) for v in values] for values in cells)
        number, _, positions = _find_header(path, texts, config, delimiter=None)
    except BaseException:
        workbook.close()
        raise
    return _xlsx_rows(workbook, cells, number, positions)


def _xlsx_rows(
    workbook: Any,
    cells: Iterator[tuple[Any, ...]],
    header_row: int,
    positions: dict[str, int],
) -> Iterator[dict[str, str]]:
    number = header_row
    try:
        for values in cells:
            number += 1
            row = {
                name: _cell_text(values[i], name, workbook.epoch) if i < len(values) else ""
                for name, i in positions.items()
            }
            if not any(row.values()):
                continue
            row[ROW_NUMBER] = str(number)
            yield row
    finally:
        workbook.close()


def _cell_text(value: Any, field_name: str, epoch: datetime) -> str:
    """One XLSX cell as the text a person would have typed.

    A unit code or postcode digits stored as a number must not become ``1234.0``; a date becomes
    ISO; a number in a date column is an Excel serial date (the cell lost its date format).
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, int | float):
        if field_name in _DATE_FIELDS and value > 0:
            from openpyxl.utils.datetime import from_excel

            serial = from_excel(value, epoch=epoch)
            if isinstance(serial, datetime):
                return serial.date().isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    return str(value).strip()


def _header_key(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").split()).casefold()


#: How many non-empty rows may stand above the header (a report title, an export date).
_HEADER_SCAN_ROWS = 10


def _find_header(
    path: Path,
    rows: Iterator[list[str]],
    config: SpreadsheetConfig,
    *,
    delimiter: str | None,
) -> tuple[int, int, dict[str, int]]:
    """Consume rows up to the header; return its row number, its width and field → column index.

    The header is the first row that holds every mapped header (ignoring case and repeated
    spaces) among the first few non-empty rows. When none does, the error names the headers that
    are missing, using the row that matched most, and never echoes other cells: a file without a
    header row would otherwise print a resident's details.
    """
    best: tuple[int, list[str], dict[str, int], list[str]] | None = None
    number = scanned = 0
    for row in rows:
        number += 1
        if not any(cell.strip() for cell in row):
            continue
        positions, missing = _match_headers(path, row, config)
        if not missing:
            return number, len(row), positions
        if best is None or len(positions) > len(best[2]):
            best = (number, row, positions, missing)
        scanned += 1
        if scanned >= _HEADER_SCAN_ROWS:
            break
    if best is None:
        raise SpreadsheetError(f"{path}: the export is empty (no header row)")
    row_number, header, positions, missing = best
    cells = [cell.strip() for cell in header if cell.strip()]
    parts = []
    for name in missing:
        column = config.columns[name]
        close = difflib.get_close_matches(column, cells, n=1, cutoff=0.75)
        parts.append(
            f"{column!r} (for {name})" + (f", did you mean {close[0]!r}?" if close else "")
        )
    message = (
        f"{path}: missing column header(s) {'; '.join(parts)}. "
        f"Row {row_number} has {len(positions)} of the {len(config.columns)} mapped headers"
    )
    if delimiter is not None and len(header) == 1:
        message += f"; it has only one column: is the delimiter {delimiter!r} right?"
    raise SpreadsheetError(message)


def _match_headers(
    path: Path,
    header: Sequence[str],
    config: SpreadsheetConfig,
) -> tuple[dict[str, int], list[str]]:
    """Field name → column index, and the fields whose header this row lacks."""
    index: dict[str, list[int]] = {}
    for i, cell in enumerate(header):
        key = _header_key(cell)
        if key:
            index.setdefault(key, []).append(i)
    positions: dict[str, int] = {}
    missing: list[str] = []
    for name, column in config.columns.items():
        found = index.get(_header_key(column), [])
        if not found:
            missing.append(name)
        elif len(found) > 1:
            raise SpreadsheetError(
                f"{path}: the column header {column!r} (for {name}) appears {len(found)} times"
            )
        else:
            positions[name] = found[0]
    return positions, missing


# --- mapping: small pure parsers -----------------------------------------------------------------


class _Private:
    """Tenure text that only says 'not the corporation's': who lives there decides."""


_PRIVATE = _Private()

_TENURE_WORDS: dict[str, Tenure | _Private] = {
    **dict.fromkeys(
        (
            "huur",
            "huurwoning",
            "sociale huur",
            "sociaal",
            "verhuurd",
            "veh",
            "corporatie",
            "daeb",
            "niet daeb",
            "vrije sector",
            "vrije sector huur",
            "middenhuur",
            "geliberaliseerd",
            "gereguleerd",
        ),
        Tenure.CORPORATION_RENTAL,
    ),
    **dict.fromkeys(
        (
            "particuliere huur",
            "particuliere verhuur",
            "particulier verhuurd",
            "verhuurd door eigenaar",
            "belegger",
        ),
        Tenure.PRIVATE_RENTAL,
    ),
    **dict.fromkeys(
        (
            "koop",
            "koopwoning",
            "eigenaar",
            "eigenaar bewoner",
            "eigen bewoning",
            "eigendom",
            "verkocht",
            "vek",
        ),
        Tenure.OWNER_OCCUPIED,
    ),
    **dict.fromkeys(
        ("particulier", "particulier bezit", "particulier eigendom", "prive", "privé", "adm"),
        _PRIVATE,
    ),
    **dict.fromkeys(
        (
            "leeg",
            "leegstand",
            "leegstaand",
            "lee",
            "vacant",
            "onverhuurd",
            "niet verhuurd",
            "te huur",
            "frictieleegstand",
        ),
        Tenure.VACANT,
    ),
}


@functools.lru_cache(maxsize=4096)
def _word_key(text: str) -> str:
    return " ".join(re.sub(r"[-_/.]", " ", text).split()).casefold()


def tenure_from_text(text: str, *, has_owner: bool, has_residents: bool) -> Tenure:
    """The unit's tenure from the export's free text and who the rows say lives there.

    Vocabulary (any case, '-' as a space): huur, sociale huur, vrije sector (a corporation's
    own free-sector home is still its rental: its tenants count in the 70%), verhuurd →
    corporation rental; particuliere huur → private rental; koop, eigenaar, verkocht → owner-
    occupied; leeg, leegstand → vacant. Plain "particulier" (privately owned) is owner-occupied
    when a row names an owner, else private rental. Empty text: an owner row → owner-occupied,
    resident rows → corporation rental, none → vacant. A corporation rental without residents is
    vacant. Raises ValueError for words it does not know.
    """
    key = _word_key(text)
    if not key:
        kind: Tenure | _Private = Tenure.CORPORATION_RENTAL
        if has_owner:
            kind = Tenure.OWNER_OCCUPIED
    elif key in _TENURE_WORDS:
        kind = _TENURE_WORDS[key]
    else:
        raise ValueError(f"unknown tenure {text.strip()[:30]!r}")
    if isinstance(kind, _Private):
        return Tenure.OWNER_OCCUPIED if has_owner else Tenure.PRIVATE_RENTAL
    if kind is Tenure.CORPORATION_RENTAL and not has_residents:
        return Tenure.VACANT
    return kind


_ROLE_WORDS: dict[str, PartyRole] = {
    **dict.fromkeys(("huurder", "hoofdhuurder", "huu", "contractant", "tenant"), PartyRole.TENANT),
    **dict.fromkeys(
        ("medehuurder", "mdh", "mede huurder", "partner", "co tenant"), PartyRole.CO_TENANT
    ),
    **dict.fromkeys(
        ("eigenaar", "eigenaar bewoner", "eig", "kop", "koper", "owner", "owner occupier"),
        PartyRole.OWNER_OCCUPIER,
    ),
}


def role_from_text(text: str) -> PartyRole | None:
    """huurder/HUU → tenant, medehuurder/MDH → co-tenant, eigenaar/koper → owner; '' → None."""
    key = _word_key(text)
    if not key:
        return None
    if key in _ROLE_WORDS:
        return _ROLE_WORDS[key]
    raise ValueError(f"unknown role {text.strip()[:30]!r}")


_EMAIL_SPLIT = re.compile(r"[;,\s]+")
_PHONE_SPLIT = re.compile(r"[;,]")

_CHANNEL_WORDS: dict[str, ContactKind] = {
    **dict.fromkeys(("e mail", "email", "mail", "ema"), ContactKind.EMAIL),
    **dict.fromkeys(
        ("mobiel", "mobile", "mob", "gsm", "sms", "whatsapp", "06"), ContactKind.MOBILE
    ),
    **dict.fromkeys(("telefoon", "tel", "vast", "phone", "bellen"), ContactKind.PHONE),
}

_LANGUAGE_WORDS: dict[str, str] = {
    "nederlands": "nl",
    "engels": "en",
    "english": "en",
    "turks": "tr",
    "arabisch": "ar",
    "pools": "pl",
    "tigrinya": "ti",
    "oekraiens": "uk",
    "oekraïens": "uk",
    "duits": "de",
    "frans": "fr",
    "spaans": "es",
    "portugees": "pt",
    "somalisch": "so",
    "farsi": "fa",
    "perzisch": "fa",
    "russisch": "ru",
    "roemeens": "ro",
    "bulgaars": "bg",
    "italiaans": "it",
    "chinees": "zh",
    "koerdisch": "ku",
    "hongaars": "hu",
}


def language_from_text(text: str) -> str:
    """ISO 639-1 from a code ('TR') or a Dutch language name ('Turks'); 'nl' when unknown."""
    key = _word_key(text)
    if len(key) == 2 and key.isalpha():
        return key
    return _LANGUAGE_WORDS.get(key, "nl")


def _phone(text: str) -> str:
    """A number as exported; nine bare digits lost their leading 0 in a numeric cell."""
    value = " ".join(text.split())
    if value.isdigit() and len(value) == 9:
        return "0" + value
    return value


def _parse_date(text: str, date_format: str) -> date | None:
    if not text:
        return None
    parsed = _date_cached(text, date_format)
    if parsed is None:
        raise ValueError("not a date")
    return parsed


@functools.lru_cache(maxsize=65536)
def _date_cached(text: str, date_format: str) -> date | None:
    """Exports repeat the same dates thousands of times; strptime is slow."""
    try:
        return datetime.strptime(text, date_format).date()
    except ValueError:
        pass
    try:  # XLSX date cells arrive as ISO; some exports add a time
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


@functools.lru_cache(maxsize=65536)
def _postcode(text: str) -> str:
    return normalise_postcode(text)


@functools.lru_cache(maxsize=65536)
def _split_cached(text: str) -> tuple[int, str, str]:
    return split_house_number(text)


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).hexdigest()


def derived_relation_id(unit_code: str, row: Mapping[str, str]) -> str:
    """A stable relation id for a row without one: unit code + name, as a digest.

    Only the parts of a name that rarely change in an export are used (tussenvoegsel, surname,
    the first initial, or the organisation name), so adding a first name later keeps the id.
    """
    initial = (row.get("initials", "") or row.get("first_name", "")).strip()[:1]
    parts = [row.get(f, "") for f in ("tussenvoegsel", "surname", "organisation_name")]
    key = [" ".join(p.split()).casefold() for p in (*parts, initial)]
    return "sheet-" + _digest(unit_code, *key)


def derived_lease_id(unit_code: str, start: date | None) -> str:
    """``<unit code>/<start date ISO>`` (``/-`` without a start date)."""
    return f"{unit_code}/{start.isoformat() if start else '-'}"


# --- mapping: the snapshot ------------------------------------------------------------------------


@dataclass(slots=True)
class _Problem:
    reason: RejectReason
    detail: str


@dataclass(slots=True)
class _LeaseDraft:
    lease_id: str
    start: date | None
    end: date | None
    first_row: int
    parties: list[tuple[str, PartyRole | None]] = field(default_factory=list)


class _Labels:
    """How a column is named in details: the export's header and our field name."""

    def __init__(self, columns: Mapping[str, str] | None) -> None:
        self._columns = dict(columns or {})

    def __call__(self, name: str) -> str:
        header = self._columns.get(name)
        return f"{header!r} ({name})" if header else name


def snapshot_from_rows(
    rows: Iterable[Mapping[str, str]],
    complexes: list[str] | None,
    *,
    date_format: str,
    today: date | None = None,
    columns: Mapping[str, str] | None = None,
) -> Snapshot:
    """Map an export's rows (as ``read_rows`` yields them) to a Snapshot (source "spreadsheet").

    ``complexes``: when given and the rows have a ``complex_code`` field, units of other
    complexes are left out and counted in ``out_of_scope``. ``today`` decides whether an end date
    is in the past (ENDED) or still to come (TERMINATED); default: the current date.
    ``columns`` (the config's mapping) only makes details name the export's headers.
    """
    today = today or date.today()
    label = _Labels(columns)
    snapshot = Snapshot(source=SOURCE)
    scope = set(complexes) if complexes is not None else None
    groups: dict[str, list[tuple[int, Mapping[str, str]]]] = {}
    filtering = False  # only when the export has a complex column at all
    for index, raw in enumerate(rows, start=1):
        number = _row_number(raw, index)
        filtering = filtering or (scope is not None and "complex_code" in raw)
        row = _clean(raw)
        code = row.get("unit_code", "")
        if not code:
            complex_code = _complex_of(row)
            if filtering and complex_code and complex_code not in (scope or ()):
                snapshot.out_of_scope += 1
                continue
            snapshot.rejected.append(
                RejectedRow(
                    EntityKind.UNIT,
                    "",
                    "",
                    RejectReason.MISSING_UNIT_CODE,
                    f"row {number}: column {label('unit_code')} is empty",
                    dict(raw),
                )
            )
            continue
        groups.setdefault(code, []).append((number, row))

    for code, unit_rows in groups.items():
        if (
            filtering
            and scope is not None
            and not any(_complex_of(r) in scope for _, r in unit_rows)
        ):
            snapshot.out_of_scope += 1
            continue
        _map_unit(code, unit_rows, snapshot, date_format=date_format, today=today, label=label)
    return snapshot


def read_snapshot(
    config: SpreadsheetConfig,
    complexes: list[str] | None,
    *,
    today: date | None = None,
) -> Snapshot:
    """Read the export named in the config and map it to a Snapshot (source "spreadsheet")."""
    snapshot = snapshot_from_rows(
        read_rows(config),
        complexes,
        date_format=config.date_format,
        today=today,
        columns=config.columns,
    )
    log.info(
        "spreadsheet %s: %d units, %d residents, %d leases, %d rows kept aside, %d out of scope",
        Path(config.path).name,
        len(snapshot.units),
        len(snapshot.residents),
        len(snapshot.leases),
        len(snapshot.rejected),
        snapshot.out_of_scope,
    )
    return snapshot


def _row_number(row: Mapping[str, str], index: int) -> int:
    text = row.get(ROW_NUMBER, "")
    return int(text) if isinstance(text, str) and text.isdigit() else index


def _complex_of(row: Mapping[str, str]) -> str:
    return row.get("complex_code", "")


def _clean(row: Mapping[str, str]) -> dict[str, str]:
    """The row's filled cells with whitespace collapsed; a cell that is not text marks the row."""
    clean: dict[str, str] = {}
    for name, value in row.items():
        if isinstance(value, str):
            value = " ".join(value.split())
            if value:
                clean[name] = value
        elif value is not None and ROW_ERROR not in clean:
            clean[ROW_ERROR] = f"column {name} holds a {type(value).__name__}, not text"
    if ROW_ERROR in row and isinstance(row[ROW_ERROR], str):
        clean[ROW_ERROR] = row[ROW_ERROR]
    return clean


def _text(row: Mapping[str, str], name: str) -> str:
    """A cell of a row that went through ``_clean``; "" when empty."""
    return row.get(name, "")


def _has_resident(row: Mapping[str, str]) -> bool:
    return any(name in row for name in _RESIDENT_FIELDS)


def _map_unit(
    code: str,
    unit_rows: list[tuple[int, Mapping[str, str]]],
    snapshot: Snapshot,
    *,
    date_format: str,
    today: date,
    label: _Labels,
) -> None:
    problems: list[_Problem] = []
    # Field → (row number, value, comparison key) of the first row that filled it.
    seen: dict[str, tuple[int, Any, Any]] = {}

    def agree(number: int, name: str, value: Any, key: Any = None) -> None:
        """Unit columns may repeat on every row of a unit; filled cells must agree."""
        if value in ("", None):
            return
        key = value if key is None else key
        first = seen.get(name)
        if first is None:
            seen[name] = (number, value, key)
        elif first[2] != key:
            problems.append(
                _Problem(
                    RejectReason.CONFLICTING_DUPLICATE,
                    f"rows {first[0]} and {number} give unit {code} different values in "
                    f"column {label(name)}",
                )
            )

    resident_rows: list[tuple[int, Mapping[str, str]]] = []
    roles: dict[int, PartyRole | None] = {}
    for number, row in unit_rows:
        try:
            if ROW_ERROR in row:
                problems.append(_Problem(RejectReason.MALFORMED, f"row {number}: {row[ROW_ERROR]}"))
                continue
            agree(number, "complex_code", _complex_of(row))
            for name in ("street", "town"):
                value = _text(row, name)
                agree(number, name, value, value.casefold())
            postcode = _text(row, "postcode")
            if postcode:
                try:
                    agree(number, "postcode", _postcode(postcode))
                except InvalidPostcode:
                    problems.append(
                        _Problem(
                            RejectReason.INVALID_POSTCODE,
                            f"row {number}, column {label('postcode')}: not a Dutch postcode",
                        )
                    )
            number_text = _text(row, "house_number")
            if number_text:
                try:
                    house, letter, addition = _split_cached(number_text)
                except ValueError:
                    problems.append(
                        _Problem(
                            RejectReason.MISSING_ADDRESS,
                            f"row {number}, column {label('house_number')}: "
                            "does not start with a house number",
                        )
                    )
                else:
                    letter = _text(row, "house_letter").upper() or letter
                    addition = _text(row, "house_number_addition").lstrip("-/ ") or addition
                    agree(
                        number,
                        "house_number",
                        (house, letter, addition),
                        (house, letter, addition.casefold()),
                    )
            tenure_text = _text(row, "tenure")
            tenure_key = _word_key(tenure_text)
            agree(number, "tenure", tenure_text, _TENURE_WORDS.get(tenure_key, tenure_key))
            if _has_resident(row):
                resident_rows.append((number, row))
                try:
                    roles[number] = role_from_text(_text(row, "role"))
                except ValueError as exc:
                    problems.append(
                        _Problem(
                            RejectReason.MALFORMED, f"row {number}, column {label('role')}: {exc}"
                        )
                    )
        except (TypeError, ValueError, AttributeError) as exc:
            problems.append(_Problem(RejectReason.MALFORMED, f"row {number}: {exc}"))

    has_owner = any(role is PartyRole.OWNER_OCCUPIER for role in roles.values())
    tenure = Tenure.VACANT
    try:
        tenure = tenure_from_text(
            seen["tenure"][1] if "tenure" in seen else "",
            has_owner=has_owner,
            has_residents=bool(resident_rows),
        )
    except ValueError as exc:
        first_row = seen["tenure"][0]
        problems.append(
            _Problem(RejectReason.MALFORMED, f"row {first_row}, column {label('tenure')}: {exc}")
        )

    leases, residents = _map_household(
        code,
        resident_rows,
        roles,
        owner_occupied=tenure is Tenure.OWNER_OCCUPIED,
        problems=problems,
        date_format=date_format,
        today=today,
        label=label,
    )

    unit: Unit | None = None
    if not problems:
        missing = [
            name for name in ("street", "house_number", "postcode", "town") if name not in seen
        ]
        if missing:
            columns = ", ".join(label(name) for name in missing)
            first_row = unit_rows[0][0]
            problems.append(
                _Problem(
                    RejectReason.MISSING_ADDRESS,
                    f"row {first_row}: unit {code} has no value in column(s) {columns}",
                )
            )
        else:
            number, letter, addition = seen["house_number"][1]
            unit = Unit(
                code=code,
                vera_id=code,
                complex_code=seen["complex_code"][1] if "complex_code" in seen else "",
                address=Address(
                    street=seen["street"][1],
                    number=number,
                    postcode=seen["postcode"][1],
                    town=seen["town"][1],
                    letter=letter,
                    addition=addition,
                ),
                tenure=tenure,
            )

    if unit is None:
        for problem in problems:
            snapshot.rejected.append(
                RejectedRow(
                    EntityKind.UNIT,
                    code,
                    code,
                    problem.reason,
                    problem.detail,
                    [dict(row) for _, row in unit_rows],
                )
            )
        # Still deliver the leases we could read: validate() holds them as stored.
        snapshot.leases.extend(leases)
        return
    snapshot.units.append(unit)
    snapshot.residents.extend(residents)
    snapshot.leases.extend(leases)


def _map_household(
    code: str,
    resident_rows: list[tuple[int, Mapping[str, str]]],
    roles: dict[int, PartyRole | None],
    *,
    owner_occupied: bool,
    problems: list[_Problem],
    date_format: str,
    today: date,
    label: _Labels,
) -> tuple[list[Lease], list[Resident]]:
    drafts: dict[str, _LeaseDraft] = {}
    residents: dict[str, Resident] = {}
    for number, row in resident_rows:
        dates: dict[str, date | None] = {}
        for name in ("lease_start", "lease_end"):
            try:
                dates[name] = _parse_date(_text(row, name), date_format)
            except ValueError:
                problems.append(
                    _Problem(
                        RejectReason.INVALID_DATE,
                        f"row {number}, column {label(name)}: not a date "
                        f"(expected {date_format} or YYYY-MM-DD)",
                    )
                )
        if len(dates) < 2:
            continue
        resident = _resident(code, number, row, problems, label)
        if resident is None:
            continue
        if residents.get(resident.relation_id, resident) != resident:
            problems.append(
                _Problem(
                    RejectReason.CONFLICTING_DUPLICATE,
                    f"row {number}: relation {resident.relation_id} appears twice in unit "
                    f"{code} with different details",
                )
            )
            continue
        residents[resident.relation_id] = resident
        if dates["lease_end"] is not None and dates["lease_end"].year >= _OPEN_END_YEAR:
            dates["lease_end"] = None  # 31-12-9999: how many ERPs write "no end date"
        lease_id = _text(row, "lease_id") or derived_lease_id(code, dates["lease_start"])
        draft = drafts.get(lease_id)
        if draft is None:
            draft = drafts[lease_id] = _LeaseDraft(
                lease_id, dates["lease_start"], dates["lease_end"], number
            )
        else:
            for name, value, stored in (
                ("lease_start", dates["lease_start"], draft.start),
                ("lease_end", dates["lease_end"], draft.end),
            ):
                if value != stored:
                    problems.append(
                        _Problem(
                            RejectReason.CONFLICTING_DUPLICATE,
                            f"rows {draft.first_row} and {number} give lease {lease_id} different "
                            f"values in column {label(name)}",
                        )
                    )
        if all(rid != resident.relation_id for rid, _ in draft.parties):
            draft.parties.append((resident.relation_id, roles.get(number)))

    leases = [
        _lease(code, draft, owner_occupied=owner_occupied, today=today) for draft in drafts.values()
    ]
    return leases, list(residents.values())


def _lease(code: str, draft: _LeaseDraft, *, owner_occupied: bool, today: date) -> Lease:
    parties: list[LeaseParty] = []
    for position, (relation_id, role) in enumerate(draft.parties):
        if role is None:
            if owner_occupied:
                role = PartyRole.OWNER_OCCUPIER
            else:
                role = PartyRole.TENANT if position == 0 else PartyRole.CO_TENANT
        parties.append(LeaseParty(relation_id, role))
    purchase = any(p.role is PartyRole.OWNER_OCCUPIER for p in parties)
    if draft.end is None:
        status = LeaseStatus.RUNNING
    elif draft.end < today:
        status = LeaseStatus.ENDED
    else:
        status = LeaseStatus.TERMINATED  # notice given, the end date still to come
    return Lease(
        lease_id=draft.lease_id,
        unit_code=code,
        kind=AgreementKind.PURCHASE if purchase else AgreementKind.RENTAL,
        status=status,
        start_date=draft.start,
        end_date=draft.end,
        parties=tuple(parties),
    )


def _resident(
    code: str,
    number: int,
    row: Mapping[str, str],
    problems: list[_Problem],
    label: _Labels,
) -> Resident | None:
    names = {name: row.get(name, "") for name in _NAME_FIELDS}
    relation_id = _text(row, "relation_id")
    if not relation_id and not any(names.values()):
        problems.append(
            _Problem(
                RejectReason.MALFORMED,
                f"row {number}: contact details without a name or column {label('relation_id')}",
            )
        )
        return None
    relation_id = relation_id or derived_relation_id(code, names)
    person = any(names[n] for n in ("initials", "first_name", "tussenvoegsel", "surname"))
    name: PersonName | None = None
    if person or not names["organisation_name"]:
        name = PersonName(
            surname=names["surname"],
            initials=names["initials"],
            first_name=names["first_name"],
            tussenvoegsel=names["tussenvoegsel"].lower(),
        )
    preferred = _CHANNEL_WORDS.get(_word_key(_text(row, "preferred_channel")))
    contacts: list[ContactPoint] = []
    for kind, name_of_field in (
        (ContactKind.EMAIL, "email"),
        (ContactKind.MOBILE, "mobile"),
        (ContactKind.PHONE, "phone"),
    ):
        text = _text(row, name_of_field)
        values = (_EMAIL_SPLIT if kind is ContactKind.EMAIL else _PHONE_SPLIT).split(text)
        for value in values if text else ():
            value = value.strip() if kind is ContactKind.EMAIL else _phone(value)
            if not value:
                continue
            is_preferred = kind is preferred and not any(c.kind is kind for c in contacts)
            contacts.append(ContactPoint(kind, value, is_preferred))
    return Resident(
        relation_id=relation_id,
        name=name,
        organisation_name=names["organisation_name"],
        contacts=tuple(contacts),
        language=language_from_text(_text(row, "language")) if _text(row, "language") else "nl",
    )
