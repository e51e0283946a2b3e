"""The consent ledger is append-only in fact (SQLite and PostgreSQL).

Three checks that hold independently: the database refuses every UPDATE and DELETE of a ledger
row (triggers made by migration 0012, tried on a freshly migrated database and through the ORM);
no code in the package can issue one (a scan of every statement and SQL text); and the use cases,
run through their paths (record, correct, exclude, notice, re-load), send the database no such
statement (every statement they execute is watched). Parties are forgotten without touching the
ledger.
"""

from __future__ import annotations

import ast
import os
import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from keukentafel.domain.consent import Channel, Evidence, local_moment
from keukentafel.store.db import downgrade, make_engine, session_factory, upgrade
from keukentafel.store.models import ConsentEntryRow
from keukentafel.store.repositories import ConsentRepository
from keukentafel.usecases import consent
from keukentafel.usecases.consent import AnswerInput, CorrectionInput, ExclusionInput
from tests import builders
from tests.builders import CONSENT, CORP, clock_at, consent_register, run

ROOT = Path(__file__).resolve().parents[2]
CLOCK = clock_at(datetime(2027, 3, 1, 12))
SHA = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of its own, migrated by Alembic and never emptied by the test fixtures."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL store tests skipped")
    url = make_url(base)
    name = f"kt_ledger_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _answer(unit: int, day: int = 10) -> AnswerInput:
    return AnswerInput(
        unit_code=f"VHE{unit:05d}",
        answer="agree",
        at=local_moment(date(2027, 2, day)),
        channel=Channel.PAPER,
        evidence=Evidence(f"scan-{unit}.pdf", SHA),
    )


def _stored_rows(sessions: sessionmaker[Session]) -> list[tuple[object, ...]]:
    with sessions() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    ConsentEntryRow.seq,
                    ConsentEntryRow.entry_id,
                    ConsentEntryRow.parties,
                    ConsentEntryRow.unit_code,
                    ConsentEntryRow.evidence_sha256,
                ).order_by(ConsentEntryRow.seq)
            )
        ]


def test_the_database_refuses_to_change_or_remove_a_ledger_row(fresh_engine: Engine) -> None:
    sessions = session_factory(fresh_engine)
    run(sessions, consent_register(12))
    consent.record(sessions, CONSENT, [_answer(1), _answer(2)], recorded_by="clerk", clock=CLOCK)
    before = _stored_rows(sessions)
    assert len(before) == 2
    for statement in (
        "UPDATE consent_entries SET unit_code = 'VHE00009'",
        "UPDATE consent_entries SET parties = '[]' WHERE seq = 1",
        "DELETE FROM consent_entries WHERE seq = 1",
        "DELETE FROM consent_entries",
    ):
        with pytest.raises(DatabaseError, match="append-only"), fresh_engine.begin() as conn:
            conn.execute(text(statement))
    with sessions() as session:
        row = session.scalars(select(ConsentEntryRow)).first()
        assert row is not None
        row.unit_code = "VHE00009"  # the ORM's own UPDATE
        with pytest.raises(DatabaseError, match="append-only"):
            session.commit()
        session.rollback()
        session.delete(session.scalars(select(ConsentEntryRow)).first())
        with pytest.raises(DatabaseError, match="append-only"):
            session.commit()
    assert _stored_rows(sessions) == before


def test_the_migration_goes_down_and_up_with_its_guard(fresh_engine: Engine) -> None:
    downgrade(fresh_engine, "0006")
    assert "consent_entries" not in inspect(fresh_engine).get_table_names()
    upgrade(fresh_engine)
    sessions = session_factory(fresh_engine)
    run(sessions, consent_register(12))
    consent.record(sessions, CONSENT, [_answer(1)], recorded_by="clerk", clock=CLOCK)
    with pytest.raises(DatabaseError, match="append-only"), fresh_engine.begin() as conn:
        conn.execute(text("DELETE FROM consent_entries"))


# --- no code path: the package's code, statement by statement ------------------------------------

_LEDGER_WRITE = re.compile(
    r"\b(UPDATE\s+consent_entries|DELETE\s+FROM\s+consent_entries|TRUNCATE\b[^;]*consent_entries)",
    re.IGNORECASE,
)


def _code_files() -> Iterator[Path]:
    for package in ("keukentafel", "connectors", "flows"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:  # 0012 makes (and its downgrade drops) the table
                yield path


def ledger_writes(source: str) -> list[str]:
    """Lines of ``source`` that could change or remove a ledger row: SQL text that updates,
    deletes or truncates ``consent_entries``; ``update``/``delete`` of ``ConsentEntryRow``; and,
    in a module that names ``ConsentEntryRow``, a session's ``delete``/``merge``, ``setattr`` or
    an assignment to an attribute of anything but ``self`` (an ORM row changed in place)."""
    found: list[str] = []
    names_rows = "ConsentEntryRow" in source
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _LEDGER_WRITE.search(node.value)
        ):
            found.append(f"{line}: SQL text writes consent_entries")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in {"update", "delete"} and "ConsentEntryRow" in map(ast.unparse, node.args):
                found.append(f"{line}: {name}(ConsentEntryRow)")
            elif names_rows and name in {"delete", "merge", "setattr"}:
                found.append(f"{line}: {name}() in a module that names ConsentEntryRow")
        elif names_rows and isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += [
                f"{line}: assigns {ast.unparse(t)} in a module that names ConsentEntryRow"
                for t in targets
                if isinstance(t, ast.Attribute)
                and not (isinstance(t.value, ast.Name) and t.value.id in {"self", "cls"})
            ]
    return found


@pytest.mark.parametrize(
    "source",
    [
        "session.execute(text('UPDATE consent_entries SET unit_code = 1'))",
        "conn.exec_driver_sql('delete from consent_entries where seq = 2')",
        "op.execute('TRUNCATE TABLE consent_entries')",
        "session.execute(update(ConsentEntryRow).values(reason=''))",
        "session.execute(delete(ConsentEntryRow))",
        "row = session.get(ConsentEntryRow, 1)\nrow.reason = 'fixed'",
        "session.delete(session.get(ConsentEntryRow, 1))",
    ],
)
def test_the_scan_finds_a_ledger_write(source: str) -> None:
    assert ledger_writes(source)


def test_no_code_can_update_or_delete_a_ledger_row() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _code_files()
        for line in ledger_writes(path.read_text(encoding="utf-8"))
    ]
    assert not found, "\n".join(found)
    # and the scan did read the ledger's own modules
    assert "ConsentEntryRow" in (ROOT / "keukentafel/store/repositories/consent.py").read_text()


def test_the_repository_has_append_and_read_methods_only() -> None:
    public = {name for name in vars(ConsentRepository) if not name.startswith("_")}
    assert public == {"lock", "append", "last_seq", "entries", "projects", "forget_parties"}


def test_the_use_cases_send_no_update_or_delete_of_a_ledger_row(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    statements: list[str] = []

    def watch(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    run(sessions, consent_register(14, owners=(13,), vacant=(14,), co_tenants=(3,)))
    event.listen(engine, "before_cursor_execute", watch)
    try:
        books = consent.ConsentBooks()
        report = consent.record(
            sessions,
            CONSENT,
            [
                *(_answer(n) for n in range(1, 11)),
                ExclusionInput(
                    unit_code="VHE00012",
                    at=local_moment(date(2027, 2, 1)),
                    reason="temporary contract",
                    decided_by="legal team",
                ),
            ],
            recorded_by="clerk",
            clock=CLOCK,
            books=books,
        )
        consent.record(
            sessions,
            CONSENT,
            [CorrectionInput(corrects=report.admitted[0].id, reason="wrong form")],
            recorded_by="clerk",
            clock=CLOCK,
        )
        consent.send_notice(
            sessions,
            CONSENT,
            builders.MemoryWriter(),
            on=date(2027, 3, 1),
            mailing_id="zeventig",
            started_by="cli:test",
            clock=CLOCK,
            books=books,
        )
        consent.consent_report(sessions, CONSENT, date(2027, 3, 1))
        with sessions.begin() as session:
            ConsentRepository(session, CORP).forget_parties(["R2"], datetime(2027, 3, 2))
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert any("INSERT INTO consent_entries" in s for s in statements)
    assert not [s for s in statements if _LEDGER_WRITE.search(s)]


def test_a_forgotten_party_leaves_the_ledger_as_written(sessions: sessionmaker[Session]) -> None:
    run(sessions, consent_register(12, co_tenants=(2,)))
    consent.record(sessions, CONSENT, [_answer(1), _answer(2)], recorded_by="clerk", clock=CLOCK)
    before = _stored_rows(sessions)
    with sessions.begin() as session:
        assert ConsentRepository(session, CORP).forget_parties(["R2B", "R7"], CLOCK()) == 1
    assert _stored_rows(sessions) == before
    with sessions() as session:
        entries, _ = ConsentRepository(session, CORP).entries(CONSENT.project.code)
    parties = [getattr(e, "parties", ()) for e in entries]
    assert parties[0] == ("R1",)
    assert parties[1][0] == "R2" and parties[1][1].startswith("forgotten-")
