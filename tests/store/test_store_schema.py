"""The schema: the migrations build exactly what the models describe, and migration 0006 carries
the runs recorded before it into run kinds and outcomes (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from keukentafel.store.db import HEAD, downgrade, make_engine, upgrade
from keukentafel.store.models import Base


def test_migrations_build_what_the_models_describe(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of its own (the migration is run on it step by step)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        engine.dispose()
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL store tests skipped")
    url = make_url(base)
    name = f"kt_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_0006_gives_earlier_runs_their_kind_and_interrupted_outcome(fresh_engine: Engine) -> None:
    upgrade(fresh_engine, "0005")
    started = datetime(2026, 11, 27, 3, 0)
    with fresh_engine.begin() as conn:
        for source, outcome, message in (
            ("vera", "succeeded", ""),
            ("m365_list", "succeeded", ""),
            ("m365_workbook", "failed", "m365_workbook: 403"),
            ("spreadsheet", "failed", "interrupted: the process stopped mid-run"),
        ):
            conn.execute(
                text(
                    "INSERT INTO sync_runs (corporation_code, source, started_at, outcome, "
                    "counts, rows_written, rejected_count, message) "
                    "VALUES ('TST', :source, :started, :outcome, '{}', 0, 0, :message)"
                ),
                {"source": source, "started": started, "outcome": outcome, "message": message},
            )
    upgrade(fresh_engine)
    with fresh_engine.connect() as conn:
        rows = conn.execute(text("SELECT source, kind, outcome FROM sync_runs ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [
        ("vera", "register_sync", "succeeded"),
        ("m365_list", "team_pull", "succeeded"),
        ("m365_workbook", "team_pull", "failed"),
        ("spreadsheet", "register_sync", "interrupted"),
    ]
    assert "mailings" in inspect(fresh_engine).get_table_names()
    downgrade(fresh_engine, "0005")
    inspector = inspect(fresh_engine)
    assert "mailings" not in inspector.get_table_names()
    assert "kind" not in {column["name"] for column in inspector.get_columns("sync_runs")}
    with fresh_engine.connect() as conn:
        outcomes = conn.execute(text("SELECT outcome FROM sync_runs ORDER BY id")).scalars().all()
    assert outcomes == ["succeeded", "succeeded", "failed", "failed"]


def test_0009_adds_the_back_off_and_its_downgrade_sends_waiting_messages_again(
    fresh_engine: Engine,
) -> None:
    upgrade(fresh_engine, "0009")
    with fresh_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (corporation_code, mailing_key, unit_code, channel, "
                "dedupe_key, message_id, recipient, subject, body, status, attempts, last_error, "
                "created_at, next_attempt_at, deferrals) VALUES ('TST', 'm', 'VHE1', 'email', "
                "'k1', 'kt-1', 'r@example.org', 's', :body, 'waiting', 0, '429', :now, :now, 2)"
            ),
            {"body": b"x", "now": datetime(2026, 12, 1, 9, 0)},
        )
    downgrade(fresh_engine, "0006")
    columns = {column["name"] for column in inspect(fresh_engine).get_columns("outbox")}
    assert not {"next_attempt_at", "deferrals"} & columns
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM outbox")).scalar_one() == "pending"


def test_0008_keys_queued_messages_by_their_recipient_so_nothing_is_queued_twice(
    fresh_engine: Engine,
) -> None:
    import hashlib

    from sqlalchemy.orm import sessionmaker

    from keukentafel.domain.outbox import OutgoingMessage
    from keukentafel.store.repositories import OutboxRepository

    upgrade(fresh_engine, "0006")
    mailing, queued = "TST/P/info_evening/avond-1", datetime(2026, 12, 1, 9, 0)
    old_key = hashlib.sha256(f"{mailing}\x1fVHE1\x1femail".encode()).hexdigest()[:40]
    with fresh_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (corporation_code, mailing_key, unit_code, channel, "
                "dedupe_key, message_id, recipient, subject, body, status, attempts, last_error, "
                "created_at) VALUES ('TST', :mailing, 'VHE1', 'email', :key, 'kt-old', "
                "'Jan@Example.org', 's', :body, 'sent', 1, '', :at)"
            ),
            {"mailing": mailing, "key": old_key, "body": b"x", "at": queued},
        )
    upgrade(fresh_engine)
    again = OutgoingMessage(mailing, "VHE1", "email", "jan@example.org", "s", b"x")
    other = OutgoingMessage(mailing, "VHE1", "email", "co-tenant@example.org", "s", b"y")
    with sessionmaker(fresh_engine).begin() as session:
        assert OutboxRepository(session, "TST").enqueue([again, other], queued) == 1
    with fresh_engine.connect() as conn:
        rows = conn.execute(text("SELECT dedupe_key, message_id FROM outbox ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        (again.dedupe_key, "kt-old"),  # the old row, keyed by its recipient, keeps its id
        (other.dedupe_key, other.message_id),
    ]
    columns = {column["name"] for column in inspect(fresh_engine).get_columns("mailings")}
    assert {"follows", "content", "recipients"} <= columns
    downgrade(fresh_engine, "0006")
    with fresh_engine.connect() as conn:
        keys = conn.execute(text("SELECT dedupe_key FROM outbox ORDER BY id")).scalars().all()
    assert keys == [old_key, other.dedupe_key]


def test_head_is_alembics_newest_revision(engine: Engine) -> None:
    """A store at ``HEAD`` skips Alembic: ``HEAD`` must be the newest migration, else a store
    would be left without it (a new migration makes this fail until HEAD names it)."""
    from alembic.script import ScriptDirectory

    from keukentafel.store.db import alembic_config, stored_revision

    assert ScriptDirectory.from_config(alembic_config(engine)).get_heads() == [HEAD]
    assert stored_revision(engine) == HEAD


def test_an_up_to_date_store_opens_without_alembic(tmp_path: Path) -> None:
    """Opening a store that is at the newest revision imports no Alembic (about 0.8 s of every
    command); a store one migration behind is still brought up to date."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(make_engine(url))
    check = (
        "import sys\n"
        "from keukentafel.store.db import make_engine, stored_revision, upgrade\n"
        f"engine = make_engine({url!r})\n"
        "upgrade(engine)\n"
        "print(stored_revision(engine), 'alembic' in sys.modules)\n"
    )
    opened = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert opened.stdout.split() == [HEAD, "False"], opened.stderr

    downgrade(make_engine(url), "0014")
    behind = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert behind.stdout.split() == [HEAD, "True"], behind.stderr
