"""Shared fixtures: the store on SQLite and (when TEST_DATABASE_URL is set) on PostgreSQL.

Each test run creates its own PostgreSQL database (and drops it at the end), with the schema made
by the Alembic migrations; each test starts from empty tables.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.store.db import make_engine, session_factory, upgrade
from keukentafel.store.models import LEDGER_GUARDS, Base

pytest_plugins = ["tests.m365_fixtures"]  # the fake Microsoft 365 tenant and a Graph client

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def _pg_url() -> Iterator[str | None]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield None
        return
    url = make_url(base)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    name = f"kt_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_engines: dict[str, Engine] = {}


@pytest.fixture(scope="session")
def _engines_by_backend(
    tmp_path_factory: pytest.TempPathFactory, _pg_url: str | None
) -> Iterator[dict[str, Engine]]:
    folder: Path = tmp_path_factory.mktemp("db")
    engines = {"sqlite": make_engine(f"sqlite:///{folder / 'register.db'}")}
    if _pg_url:
        engines["postgresql"] = make_engine(_pg_url)
    for engine in engines.values():
        upgrade(engine)
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, _engines_by_backend: dict[str, Engine]) -> Engine:
    """An engine on a migrated, empty database; runs once per backend."""
    backend = request.param
    if backend not in _engines_by_backend:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL store tests skipped")
    found = _engines_by_backend[backend]
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with found.begin() as conn:
        if backend == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            # The consent ledger's triggers refuse DELETE (it is append-only): lifted while the
            # tables are emptied, then made again.
            make, lift = LEDGER_GUARDS["sqlite"]
            for statement in lift:
                conn.execute(text(statement))
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
            for statement in make:
                conn.execute(text(statement))
    return found


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture(autouse=True)
def _no_keukentafel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test depends on the caller's KEUKENTAFEL_* variables (a developer's shell, CI)."""
    for name in list(os.environ):
        if name.startswith("KEUKENTAFEL_"):
            monkeypatch.delenv(name)


@pytest.fixture
def machine_on_another_day(monkeypatch: pytest.MonkeyPatch) -> Iterator[date]:
    """The machine's clock set to a time zone whose date is not Amsterdam's now (UTC-12 in the
    Dutch morning, UTC+14 from 11:00; containers run on UTC, an hour behind all winter); yields
    the machine's date."""
    amsterdam = datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    zone = next(
        z for z in ("Etc/GMT+12", "Etc/GMT-14") if datetime.now(ZoneInfo(z)).date() != amsterdam
    )
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    yield date.today()
    monkeypatch.undo()
    time.tzset()
