"""Bulk writes and plain reads on a session's own connection, fast on SQLite and PostgreSQL.

The register's writes are bulk ``INSERT … ON CONFLICT DO UPDATE`` statements in the session's
transaction: one ``executemany`` on SQLite, ``COPY`` into a temporary table and one
``INSERT … SELECT`` on PostgreSQL (the ORM's bulk path took 12 s on SQLite and 35 s on
PostgreSQL for 263,000 rows and their change events; these take a few seconds). Any other
database goes through SQLAlchemy Core (plain inserts only: only SQLite and PostgreSQL are
supported stores).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy import JSON, Date, DateTime, Table, insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from keukentafel.store.models import Base

BATCH = 5000
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def table_of(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def bulk_insert(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    conflict: Sequence[str] = (),
) -> None:
    """Insert rows (tuples in ``columns`` order) on the session's connection, in its transaction.

    With ``conflict`` (the columns of a unique constraint), a row that exists is updated in
    place (``ON CONFLICT DO UPDATE``). JSON values are passed as Python values."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        _sqlite_executemany(connection, table, columns, rows, conflict)
    elif connection.dialect.name == "postgresql":
        _postgres_copy(connection, table, columns, rows, conflict)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported stores
        if conflict:
            raise NotImplementedError(f"upsert on {connection.dialect.name}")
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        for chunk in chunks(records):
            connection.execute(insert(table), list(chunk))


def _on_conflict(columns: Sequence[str], conflict: Sequence[str]) -> str:
    if not conflict:
        return ""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in conflict)
    return f" ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates}"


def _json_columns(table: Table, columns: Sequence[str]) -> list[int]:
    return [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]


def _sqlite_executemany(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    conflict: Sequence[str],
) -> None:
    """One ``executemany`` on the DB-API cursor; values converted as SQLAlchemy would."""
    dialect = connection.dialect
    convert: list[tuple[int, Callable[[Any], Any]]] = [
        (i, json_text) for i in _json_columns(table, columns)
    ]
    for i, column in enumerate(columns):
        if isinstance(table.c[column].type, Date | DateTime):
            processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                convert.append((i, _memoised(processor)))

    def sqlite_rows() -> Iterator[list[Any]]:
        for row in rows:
            values = list(row)
            for i, fn in convert:
                if values[i] is not None:
                    values[i] = fn(values[i])
            yield values

    marks = ", ".join("?" for _ in columns)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        f"{_on_conflict(columns, conflict)}"
    )
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, sqlite_rows())
    finally:
        cursor.close()


def _postgres_copy(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    conflict: Sequence[str],
) -> None:
    """``COPY`` straight into the table, or (for an upsert) into a temporary table and one
    ``INSERT … SELECT … ON CONFLICT``."""
    names = ", ".join(columns)
    json_columns = _json_columns(table, columns)
    stage = f"_kt_stage_{table.name}"
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        if conflict:
            cursor.execute(
                f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS "
                f"SELECT {names} FROM {table.name} WITH NO DATA"
            )
        target = stage if conflict else table.name
        with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in rows:
                if json_columns:
                    row = list(row)
                    for i in json_columns:
                        if row[i] is not None:
                            row[i] = json_text(row[i])
                copy.write_row(row)
        if conflict:
            cursor.execute(
                f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage}"
                f"{_on_conflict(columns, conflict)}"
            )
            cursor.execute(f"DROP TABLE {stage}")


def json_text(value: Any) -> str:
    """A JSON column's value as text (what SQLAlchemy's JSON type would store; compact)."""
    return orjson.dumps(value).decode()


def _memoised(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A converter that remembers its last few answers (a sync writes one timestamp per row)."""
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        found = seen.get(value)
        if found is None:
            found = fn(value)
            if len(seen) < 10_000:
                seen[value] = found
        return found

    return convert


def driver_rows(session: Session, sql: str, params: Sequence[Any]) -> list[Any]:
    """Rows of a plain query on the session's connection (``?`` placeholders), without ORM."""
    connection = session.connection()
    if connection.dialect.name not in ("sqlite", "postgresql"):  # pragma: no cover
        raise NotImplementedError(connection.dialect.name)
    if connection.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()
