"""The command benchmark's PostgreSQL store (``--postgresql URL``): a database of its own per
pair of runs, where the command can migrate and sync, dropped afterwards."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, make_url, text

from bench import command_bench


def test_each_pair_of_runs_gets_a_new_postgresql_database_that_is_dropped_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = os.environ.get("TEST_DATABASE_URL")
    if not admin:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL store tests skipped")
    monkeypatch.setitem(command_bench.POSTGRESQL, "url", admin)
    with command_bench.new_database() as url:
        assert url is not None
        name = make_url(url).database
        engine = create_engine(url)
        try:
            with engine.begin() as conn:  # empty, and ours to write
                assert (
                    conn.execute(
                        text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                    ).scalar()
                    == 0
                )
                conn.execute(text("CREATE TABLE probe (id int)"))
        finally:
            engine.dispose()
    engine = create_engine(admin)
    try:
        with engine.connect() as conn:
            left = conn.execute(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
        assert left == 0
    finally:
        engine.dispose()


def test_without_postgresql_the_store_is_a_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(command_bench.POSTGRESQL, "url", raising=False)
    with command_bench.new_database() as url:
        assert url is None
