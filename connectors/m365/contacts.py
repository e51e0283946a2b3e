"""The guidance team's contact sources in Microsoft 365: a SharePoint list and an Excel file.

This module owns reading those two sources through Graph and handing each row to the pure
mapping in :mod:`keukentafel.domain.team_contacts` with the column mapping from ``M365Config``.
Rows that cannot be used are kept aside as ``RejectedRow`` (entity ``resident``, the row number or
list item id as source id: the key the row is stored under, so its stored version is held) with a
reason that names the field, never its value. An Excel cell with a formula but no saved value
(:class:`~connectors.sheets.FormulaCell`) keeps its row aside with reason ``formula``.

- SharePoint list: ``GET /sites/{site}/lists/{list}/items/delta?$expand=fields`` on the first run
  (a full read, paged by ``@odata.nextLink``), then with the stored delta link for the changes
  only; a 410 Gone on the stored link makes the client start over with a full read
  (``full=True``). Each item looks like ``{"id": "7", "fields": {"VHE": "…", "Mobiel": "…"}}``;
  the mapping names the columns' *internal* names (``field_3`` for a renamed column).
- Excel: the file is downloaded (``…/root:/{path}:/content``, a 302 to the bytes) and read with
  openpyxl; the Excel workbook API is not used (unreliable app-only). ``sheet`` names a worksheet
  or an Excel table; the header row is the first row that holds the mapped column headers
  (:func:`connectors.sheets.find_header`, shared with the register's spreadsheet source).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from connectors.email_addresses import check_email
from connectors.m365.graph import GraphClient
from connectors.sheets import (
    DuplicateHeader,
    FormulaCell,
    Header,
    HeaderNotFound,
    SheetError,
    find_header,
    open_sheet,
)
from keukentafel.config.m365 import M365Config
from keukentafel.domain.register import EntityKind, RejectedRow, RejectReason, RowRejected
from keukentafel.domain.team_contacts import TeamContact, team_contact_from_row, unknown_fields

SOURCE_LIST = "sharepoint_list"
SOURCE_EXCEL = "excel"
_HEADER_SEARCH_ROWS = 20


class ContactSourceError(Exception):
    """The source as a whole cannot be read (configuration, missing column, not a workbook)."""


@dataclass(slots=True)
class ContactListRead:
    """One read of the SharePoint list.

    ``full`` is True on a first read and after a 410 resync: the contacts are then the whole list
    and any stored row not among them (or among ``rejected``) is gone. Otherwise they are only the
    items changed since the stored delta link, and ``removed_ids`` the items deleted since.
    """

    contacts: list[TeamContact] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    removed_ids: list[str] = field(default_factory=list)
    delta_link: str = ""
    full: bool = True


def _check_columns(columns: Mapping[str, str], what: str) -> None:
    unknown = unknown_fields(columns)
    if unknown:
        raise ContactSourceError(f"{what}: unknown field(s) in columns: {', '.join(unknown)}")
    if not columns.get("unit_code") and not (
        columns.get("postcode") and columns.get("house_number")
    ):
        raise ContactSourceError(
            f"{what}: columns must map unit_code, or postcode and house_number"
        )


def _map_rows(
    rows: Iterable[tuple[int, str, Mapping[str, Any]]],
    columns: Mapping[str, str],
    source: str,
) -> tuple[list[TeamContact], list[RejectedRow]]:
    contacts: list[TeamContact] = []
    rejected: list[RejectedRow] = []
    for number, source_id, values in rows:
        if all(not _filled(values.get(column)) for column in columns.values()):
            continue  # an empty row: nothing to keep aside
        formula = next(
            (
                (name, value)
                for name, column in columns.items()
                if isinstance(value := values.get(column), FormulaCell)
            ),
            None,
        )
        if formula is not None:  # a formula where a value belongs: never read it as empty
            name, cell = formula
            rejected.append(
                RejectedRow(
                    EntityKind.RESIDENT,
                    source_id,
                    "",
                    RejectReason.FORMULA,
                    f"row {number}: column {columns[name]!r} ({name}) {cell.reason}",
                    _mapped_only(values, columns),
                )
            )
            continue
        try:
            contacts.append(
                team_contact_from_row(
                    values, columns, row=number, source=source, email_check=check_email
                )
            )
        except RowRejected as exc:
            rejected.append(
                RejectedRow(
                    EntityKind.RESIDENT,
                    source_id,
                    exc.unit_code,
                    exc.reason,
                    exc.detail,
                    _mapped_only(values, columns),
                )
            )
        except (TypeError, ValueError, AttributeError) as exc:
            rejected.append(
                RejectedRow(
                    EntityKind.RESIDENT,
                    source_id,
                    "",
                    RejectReason.MALFORMED,
                    f"{type(exc).__name__} while reading the row",
                    _mapped_only(values, columns),
                )
            )
    return contacts, rejected


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, FormulaCell):
        return True  # not empty: a formula whose value was not saved
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | dict):
        return bool(value)
    return True


# --- SharePoint list ------------------------------------------------------------------------


def _list_path(config: M365Config) -> str:
    if config.contact_list is None:
        raise ContactSourceError("m365.contact_list is not configured")
    site = quote(config.contact_list.site_id, safe=",.")
    lst = quote(config.contact_list.list_id, safe="")
    return f"/sites/{site}/lists/{lst}/items"


def _item_rows(items: Iterable[Mapping[str, Any]]) -> Iterable[tuple[int, str, Mapping[str, Any]]]:
    for item in items:
        item_id = str(item.get("id", ""))
        values = item.get("fields")
        if not isinstance(values, Mapping):
            values = {}
        number = int(item_id) if item_id.isdigit() else 0
        yield number, item_id, values


def read_contact_list_changes(
    client: GraphClient, config: M365Config, delta_link: str | None
) -> ContactListRead:
    """Read the team's SharePoint list: all items (no link, or a 410 on it) or the changes."""
    path = _list_path(config)
    assert config.contact_list is not None
    columns = config.contact_list.columns
    _check_columns(columns, "m365.contact_list")
    result = client.delta(f"{path}/delta?$expand=fields", delta_link)
    contacts, rejected = _map_rows(_item_rows(result.items), columns, SOURCE_LIST)
    return ContactListRead(
        contacts=contacts,
        rejected=rejected,
        removed_ids=list(result.removed_ids),
        delta_link=result.delta_link,
        full=delta_link is None or result.resynced,
    )


def read_contact_list(
    client: GraphClient, config: M365Config, delta_link: str | None
) -> tuple[list[TeamContact], list[RejectedRow], str]:
    """``(contacts, rejected, new_delta_link)`` of the team's SharePoint list.

    With ``delta_link`` None (or expired: 410) this is the whole list; else only the changed
    items. Use :func:`read_contact_list_changes` to learn about deleted items and resyncs too.
    """
    read = read_contact_list_changes(client, config, delta_link)
    return read.contacts, read.rejected, read.delta_link


def read_contact_list_items(
    client: GraphClient, config: M365Config, *, page_size: int = 200
) -> tuple[list[TeamContact], list[RejectedRow]]:
    """The whole list by plain paging (``items?$expand=fields&$top=…``), without delta."""
    path = _list_path(config)
    assert config.contact_list is not None
    columns = config.contact_list.columns
    _check_columns(columns, "m365.contact_list")
    items: list[dict[str, Any]] = []
    for page in client.iter_pages(path, {"$expand": "fields", "$top": str(page_size)}):
        items.extend(page)
    return _map_rows(_item_rows(items), columns, SOURCE_LIST)


# --- Excel workbook -------------------------------------------------------------------------


def _workbook_path(config: M365Config) -> str:
    book = config.contact_workbook
    if book is None:
        raise ContactSourceError("m365.contact_workbook is not configured")
    item = quote(book.item_path.strip("/"), safe="/")
    if book.drive_id:
        return f"/drives/{quote(book.drive_id, safe='!')}/root:/{item}:/content"
    assert book.site_id is not None
    return f"/sites/{quote(book.site_id, safe=',.')}/drive/root:/{item}:/content"


def read_contact_workbook(
    client: GraphClient, config: M365Config
) -> tuple[list[TeamContact], list[RejectedRow]]:
    """``(contacts, rejected)`` from the team's Excel file, downloaded through Graph."""
    path = _workbook_path(config)
    assert config.contact_workbook is not None
    book = config.contact_workbook
    _check_columns(book.columns, "m365.contact_workbook")
    data = client.download(path)
    return contacts_from_workbook(data, book.columns, sheet=book.sheet)


def contacts_from_workbook(
    data: bytes, columns: Mapping[str, str], *, sheet: str | None = None
) -> tuple[list[TeamContact], list[RejectedRow]]:
    """Read the rows of an XLSX file (bytes) through the column mapping.

    The sheet (a worksheet or an Excel table) and its header row are found by the shared
    :mod:`connectors.sheets` reader, as for the register's spreadsheet source.
    """
    try:
        rows = open_sheet(data, sheet, tables=True)
    except SheetError as exc:
        raise ContactSourceError(f"the contact workbook: {exc}") from None
    try:
        header = _header(rows.rows, columns)
        records: list[tuple[int, str, Mapping[str, Any]]] = []
        for number, cells in rows.rows:
            values = {
                columns[name]: cells[i] for name, i in header.positions.items() if i < len(cells)
            }
            # The source id is the key the row is stored under (its row number), so a row kept
            # aside holds its stored version.
            records.append((number, str(number), values))
    finally:
        rows.close()
    return _map_rows(records, columns, SOURCE_EXCEL)


def _header(rows: Iterable[tuple[int, tuple[Any, ...]]], columns: Mapping[str, str]) -> Header:
    try:
        return find_header(rows, columns, scan_rows=_HEADER_SEARCH_ROWS)
    except DuplicateHeader as exc:
        raise ContactSourceError(f"the contact workbook: {exc}") from None
    except HeaderNotFound as exc:
        if not exc.found:
            raise ContactSourceError(
                "the contact workbook has no header row with the mapped columns"
            ) from None
        missing = sorted(columns[name] for name in exc.missing)
        raise ContactSourceError(
            f"the contact workbook lacks mapped column(s): {', '.join(missing)}"
        ) from None


def _mapped_only(values: Mapping[str, Any], columns: Mapping[str, str]) -> dict[str, Any]:
    """What is kept of a rejected row: only the mapped columns, never the list's other columns.

    A team list may have free-text columns (notes, sometimes health or care details) that
    Keukentafel never reads; they must not reach the store through a rejected row either.
    """
    return {field: values.get(column) for field, column in columns.items() if column in values}
