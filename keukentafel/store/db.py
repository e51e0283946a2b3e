"""Engines, sessions and schema migrations. Nothing here runs at import time.

SQLite (the default, a file in the local data folder) runs in WAL mode with foreign keys on, so a
reader (the CLI's ``register``) never blocks a running sync. PostgreSQL is chosen by URL
(``postgresql+psycopg://...``). The schema is always created and upgraded by Alembic, in tests too,
one process at a time: two processes that start on a fresh store at once (a worker and a CLI
command) take turns on the store's ``migrate`` lock (keukentafel/store/locks.py), and the second
finds the schema up to date. A store whose version table already names the newest revision
(``HEAD``) is not handed to Alembic at all, so most commands never import it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.store.locks import StoreLock

if TYPE_CHECKING:
    from alembic.config import Config

#: The name of the lock held while the schema is changed.
MIGRATE_LOCK = "migrate"

MIGRATIONS = Path(__file__).with_name("migrations")

#: The newest migration's revision. A store already there is not handed to Alembic at all:
#: importing Alembic and reading its scripts cost every command about 0.8 s on a 2-core
#: machine. tests/store/test_store_schema.py checks that this is Alembic's own head.
HEAD = "0015"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for the URL; SQLite files get their folder created and WAL switched on."""
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1] if "///" in url else ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest) with Alembic, holding the store's
    migrate lock (another process migrating waits for it, then finds nothing left to do)."""
    if revision == "head" and stored_revision(engine) == HEAD:
        return  # up to date: nothing for Alembic to do
    from alembic import command

    with StoreLock(engine, MIGRATE_LOCK).hold():
        command.upgrade(alembic_config(engine), revision)


def stored_revision(engine: Engine) -> str | None:
    """The store's schema revision (Alembic's version table), or None for a store without one."""
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:  # no version table yet: a new store
        return None
    return str(versions[0][0]) if len(versions) == 1 else None


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with StoreLock(engine, MIGRATE_LOCK).hold():
        command.downgrade(alembic_config(engine), revision)
