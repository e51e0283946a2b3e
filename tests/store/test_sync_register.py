"""The sync use case against the real store (SQLite and PostgreSQL), with an in-memory source."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connectors.erp.vera.client import VeraClient
from connectors.erp.vera.snapshot import read_snapshot
from connectors.fakes.vera_data import VeraDataset, generate_dataset
from connectors.fakes.vera_server import FakeVeraServer, Fault
from keukentafel.config import VeraConfig
from keukentafel.domain.model import LeaseStatus
from keukentafel.domain.register import (
    DigestMismatch,
    EntityKind,
    RejectedRow,
    RejectReason,
    Snapshot,
    SnapshotStats,
)
from keukentafel.domain.runs import RunKind, RunOutcome
from keukentafel.store.models import (
    ChangeEventRow,
    RejectedRowRow,
    ResidentRow,
    SourcePageRow,
    SyncRunRow,
    UnitRow,
)
from keukentafel.store.repositories import (
    RegisterRepository,
    SourcePageRepository,
    SyncRunRepository,
)
from keukentafel.usecases.page_memo import PageMemo
from keukentafel.usecases.sync_register import (
    ProgressFn,
    SyncFailed,
    SyncRefused,
    sync_register,
)
from tests import builders
from tests.builders import (
    CORP,
    StaticSource,
    run,
)


def test_first_sync_adds_everything_and_second_writes_nothing(
    sessions: sessionmaker[Session],
) -> None:
    first = run(sessions, builders.register(20))
    assert first.outcome == "succeeded"
    assert first.counts["unit_added"] == 20
    assert first.counts["resident_added"] == 20
    assert first.counts["lease_added"] == 20
    assert first.counts["move_in"] == 0
    assert first.rows_written == 60

    with sessions() as s:
        stamps = dict(s.execute(select(UnitRow.code, UnitRow.updated_at)).all())

    second = run(sessions, builders.register(20))
    assert second.rows_written == 0
    assert sum(second.counts.values()) == 0
    with sessions() as s:
        assert dict(s.execute(select(UnitRow.code, UnitRow.updated_at)).all()) == stamps
        runs = s.scalars(select(SyncRunRow).order_by(SyncRunRow.id)).all()
        assert [r.outcome for r in runs] == ["succeeded", "succeeded"]
        assert runs[0].counts["unit_added"] == 20 and runs[1].rows_written == 0


def test_changes_become_events(sessions: sessionmaker[Session]) -> None:
    run(sessions, builders.register(20))
    snap = builders.register(20)
    snap.residents[0] = builders.with_email(
        snap.residents[0], "nieuw@example.org"
    )  # contact change
    snap.leases[1] = builders.lease(2, LeaseStatus.ENDED)  # move-out
    snap.units.append(builders.unit(21))  # new unit with a new tenant: move-in
    snap.residents.append(builders.resident(21))
    snap.leases.append(builders.lease(21))
    snap.units[2] = replace(snap.units[2], address=replace(snap.units[2].address, town="Elders"))

    result = run(sessions, snap)
    kinds = {(e.kind.value, e.entity_id) for e in result.events}
    assert ("contact_changed", "R1") in kinds
    assert ("move_out", "L2") in kinds
    assert ("move_in", "L21") in kinds
    assert ("unit_added", "VHE00021") in kinds
    assert ("unit_changed", "VHE00003") in kinds
    changed = next(e for e in result.events if e.entity_id == "VHE00003")
    assert changed.fields == ("address",)
    # R2 is no longer party to a current lease but the ended lease still names it: kept.
    with sessions() as s:  # the first load stored none (it is counted only): these are all
        assert s.scalar(select(func.count()).select_from(ChangeEventRow)) == len(result.events)
        email = RegisterRepository(s, CORP).residents(["R1"])["R1"].contacts[0].value
        assert email == "nieuw@example.org"


def test_new_tenant_on_existing_unit_is_move_out_and_move_in(
    sessions: sessionmaker[Session],
) -> None:
    run(sessions, builders.register(10))
    snap = builders.register(10)
    snap.leases[4] = builders.lease(5, LeaseStatus.ENDED)
    newer = replace(builders.lease(5, relation=99), lease_id="L5-new", start_date=date(2026, 2, 1))
    snap.leases.append(newer)
    snap.residents.append(builders.resident(99))
    result = run(sessions, snap)
    assert result.counts["move_out"] == 1 and result.counts["move_in"] == 1
    assert result.counts["resident_added"] == 1


def test_rejected_row_is_kept_aside_and_stored_version_untouched(
    sessions: sessionmaker[Session],
) -> None:
    run(sessions, builders.register(10))
    snap = builders.register(10)
    bad = snap.units.pop(3)  # VHE00004 arrives broken this time
    snap.rejected.append(
        RejectedRow(
            EntityKind.UNIT,
            bad.vera_id,
            bad.code,
            RejectReason.INVALID_POSTCODE,
            "postcode 12AB",
            {"id": "E4"},
        )
    )
    result = run(sessions, snap)
    assert result.outcome == "succeeded"
    assert result.counts["unit_removed"] == 0 and result.counts["move_out"] == 0
    assert [r.reason for r in result.rejected] == [RejectReason.INVALID_POSTCODE]
    with sessions() as s:
        assert "VHE00004" in RegisterRepository(s, CORP).units()
        kept = s.scalars(select(RejectedRowRow)).one()
        assert (kept.unit_code, kept.reason, kept.raw) == (
            "VHE00004",
            "invalid_postcode",
            {"id": "E4"},
        )


def test_conflicting_duplicate_is_kept_aside(sessions: sessionmaker[Session]) -> None:
    run(sessions, builders.register(10))
    snap = builders.register(10)
    snap.residents.append(builders.with_email(builders.resident(3), "ander@example.org"))
    result = run(sessions, snap)
    reasons = {(r.source_id, r.reason) for r in result.rejected}
    assert ("R3", RejectReason.CONFLICTING_DUPLICATE) in reasons
    assert result.rows_written == 0  # R3's stored row stays; its lease L3 is held too
    with sessions() as s:
        assert (
            RegisterRepository(s, CORP).residents(["R3"])["R3"].contacts[0].value
            == "r3@example.org"
        )


def test_shrink_guard_refuses_and_changes_nothing(sessions: sessionmaker[Session]) -> None:
    run(sessions, builders.register(50))
    snap = builders.register(44)  # 6 of 50 units gone: 12% > 10%
    with pytest.raises(SyncRefused, match="6 of 50 units"):
        run(sessions, snap)
    with sessions() as s:
        assert (
            s.scalar(select(func.count()).select_from(UnitRow).where(UnitRow.removed_at.is_(None)))
            == 50
        )
        latest = SyncRunRepository(s, CORP).latest()
        assert latest is not None and latest.outcome == "refused" and "6 of 50" in latest.message
    # a smaller shrink passes; a configured larger share lets a real change through
    assert run(sessions, builders.register(46)).counts["unit_removed"] == 4
    assert run(sessions, builders.register(40), max_shrink=0.2).counts["unit_removed"] == 6


def test_shrink_guard_counts_households_lost_by_status(sessions: sessionmaker[Session]) -> None:
    run(sessions, builders.register(20))
    snap = builders.register(20)
    for n in range(5):
        snap.leases[n] = builders.lease(n + 1, LeaseStatus.ENDED)
    with pytest.raises(SyncRefused, match="5 of 20 households"):
        run(sessions, snap)


def test_failing_source_records_failure_and_changes_nothing(
    sessions: sessionmaker[Session],
) -> None:
    run(sessions, builders.register(5))
    broken = StaticSource(
        None, error=RuntimeError("page 3 of /relaties still failing after 5 retries")
    )
    with pytest.raises(SyncFailed, match="page 3"):
        sync_register(sessions, CORP, broken)
    with sessions() as s:
        latest = SyncRunRepository(s, CORP).latest()
        assert latest is not None and latest.outcome == "failed" and "page 3" in latest.message
        assert (
            s.scalar(
                select(func.count())
                .select_from(ResidentRow)
                .where(ResidentRow.removed_at.is_(None))
            )
            == 5
        )


def test_interrupted_run_is_closed_by_the_next_of_its_kind(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        runs = SyncRunRepository(s, CORP)
        runs.start(RunKind.REGISTER_SYNC, "vera", builders_now())
        runs.start(RunKind.TEAM_PULL, "m365_list", builders_now())  # running right now
    run(sessions, builders.register(3))
    with sessions() as s:
        found = [(r.kind, r.outcome) for r in s.scalars(select(SyncRunRow).order_by(SyncRunRow.id))]
    assert found == [
        (RunKind.REGISTER_SYNC, RunOutcome.INTERRUPTED),
        (RunKind.TEAM_PULL, RunOutcome.RUNNING),
        (RunKind.REGISTER_SYNC, RunOutcome.SUCCEEDED),
    ]
    with sessions() as s:  # stored by value, read back as members
        stored = s.connection().exec_driver_sql("SELECT kind, outcome FROM sync_runs ORDER BY id")
        assert tuple(stored.first() or ()) == ("register_sync", "interrupted")


def test_relations_without_a_lease_in_scope_are_not_stored(sessions: sessionmaker[Session]) -> None:
    snap = builders.register(3)
    snap.residents.append(builders.resident(500))  # a relation of another complex
    result = run(sessions, snap)
    assert result.out_of_scope == 1
    with sessions() as s:
        assert "R500" not in RegisterRepository(s, CORP).residents()


def builders_now():  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime(2026, 11, 27, 3, 0)


def test_unit_kept_aside_keeps_its_household_and_their_updates(
    sessions: sessionmaker[Session],
) -> None:
    run(sessions, builders.register(10))
    snap = builders.register(10)
    bad = snap.units.pop(1)  # VHE00002 arrives broken; its tenant R2 changes e-mail meanwhile
    snap.rejected.append(
        RejectedRow(
            EntityKind.UNIT, bad.vera_id, bad.code, RejectReason.MISSING_ADDRESS, "adres missing"
        )
    )
    snap.residents[1] = builders.with_email(snap.residents[1], "r2-nieuw@example.org")
    result = run(sessions, snap)
    assert result.counts["resident_removed"] == 0 and result.counts["move_out"] == 0
    assert result.counts["contact_changed"] == 1
    with sessions() as s:
        repo = RegisterRepository(s, CORP)
        assert "L2" in repo.leases()
        assert repo.residents(["R2"])["R2"].contacts[0].value == "r2-nieuw@example.org"


def test_unit_kept_aside_keeps_a_lease_that_did_not_arrive(sessions: sessionmaker[Session]) -> None:
    run(sessions, builders.register(10))
    snap = builders.register(10)
    bad = snap.units.pop(4)  # VHE00005's rows are unreadable: no unit, no lease, no resident
    snap.leases.pop(4)
    snap.residents.pop(4)
    snap.rejected.append(
        RejectedRow(EntityKind.UNIT, "", bad.code, RejectReason.INVALID_DATE, "row 7: start date")
    )
    result = run(sessions, snap)
    assert result.rows_written == 0
    assert result.counts["move_out"] == 0 and result.counts["resident_removed"] == 0


# --- VERA with the page memo: a new client and source per run, as the nightly sync has ------


@dataclass
class FreshVeraSource:
    """Reads the fake VERA server with a new client each run: nothing survives in the process.

    ``stats`` are the page counts of the last read (pages parsed include those parsed later, when
    validation or the diff needed a value of a page known from the memo).
    """

    url: str
    name: str = "vera"
    stats: SnapshotStats | None = None

    def read(self, progress: ProgressFn | None = None, memo: PageMemo | None = None) -> Snapshot:
        config = VeraConfig.model_validate(
            {
                "base_url": self.url,
                "auth": {"mode": "api_key", "api_key_env": "VERA_KEY"},
                "timeout_seconds": 5,
                "max_retries": 1,
            }
        )
        with VeraClient(config, env={"VERA_KEY": "k"}, backoff_base=0.001) as client:
            snapshot = read_snapshot(client, [], progress=progress, memo=memo)
        self.stats = snapshot.stats
        return snapshot

    @property
    def parsed(self) -> Counter[str]:
        """Pages parsed (and so mapped) per endpoint in the last run."""
        assert self.stats is not None
        return Counter(self.stats.pages_parsed)


@pytest.fixture
def vera_data() -> VeraDataset:
    return generate_dataset(300, seed=7, complexes=4)


@pytest.fixture
def fake_vera(vera_data: VeraDataset) -> Iterator[FakeVeraServer]:
    with FakeVeraServer(vera_data, api_key="k") as fake:
        yield fake


@pytest.fixture
def vera(fake_vera: FakeVeraServer) -> FreshVeraSource:
    return FreshVeraSource(fake_vera.url)


def vera_sync(sessions: sessionmaker[Session], source: FreshVeraSource, **kw: object):  # type: ignore[no-untyped-def]
    return sync_register(sessions, CORP, source, **kw)  # type: ignore[arg-type]


def stored_pages(sessions: sessionmaker[Session]) -> dict[str, bytes]:
    with sessions() as s:
        return SourcePageRepository(s, CORP, "vera").load()


def test_vera_re_sync_skips_unchanged_pages_but_sees_a_changed_item(
    sessions: sessionmaker[Session], fake_vera: FakeVeraServer, vera: FreshVeraSource
) -> None:
    first = vera_sync(sessions, vera)
    assert first.rows_written > 0 and first.rejected == []
    pages = sum(vera.parsed.values())
    assert vera.stats is not None and sum(vera.stats.pages_read.values()) == pages
    assert len(stored_pages(sessions)) == pages  # every page summarised, in the store

    again = vera_sync(sessions, vera)
    assert again.rows_written == 0 and sum(again.counts.values()) == 0
    assert sum(vera.parsed.values()) == 0  # nothing parsed or mapped
    assert sum(vera.stats.pages_read.values()) == pages  # but every page was read

    # one relation in the middle of an otherwise unchanged page gets a new e-mail address
    relation = fake_vera.dataset.relations[150]
    with sessions() as s:
        assert relation["id"] in RegisterRepository(s, CORP).residents()
    relation["contactgegevens"] = [
        {"soort": {"code": "EMA"}, "waarde": "nieuw@example.org", "voorkeur": {"code": "EER"}}
    ]
    changed = vera_sync(sessions, vera)
    assert vera.parsed == Counter({"/relaties": 1})  # only its page
    assert changed.rows_written == 1
    assert [(e.kind.value, e.entity_id) for e in changed.events] == [
        ("contact_changed", relation["id"])
    ]
    with sessions() as s:
        resident = RegisterRepository(s, CORP).residents([relation["id"]])[relation["id"]]
        assert resident.contacts[0].value == "nieuw@example.org"
    assert vera_sync(sessions, vera).rows_written == 0


def test_vera_re_sync_sees_a_removal_and_keeps_the_shrink_guard(
    sessions: sessionmaker[Session], fake_vera: FakeVeraServer, vera: FreshVeraSource
) -> None:
    vera_sync(sessions, vera)
    data = fake_vera.dataset
    gone = data.leases.pop(40)  # an agreement disappears from the ERP
    result = vera_sync(sessions, vera)
    assert ("move_out", gone["id"]) in {(e.kind.value, e.entity_id) for e in result.events}
    with sessions() as s:
        assert gone["id"] not in RegisterRepository(s, CORP).leases()

    memo_before = stored_pages(sessions)
    kept = list(data.units)
    del data.units[::4]  # the ERP lost a quarter of its units
    with pytest.raises(SyncRefused, match="units"):
        vera_sync(sessions, vera)
    assert stored_pages(sessions) == memo_before  # a refused run leaves the memo alone
    with sessions() as s:
        assert len(RegisterRepository(s, CORP).units()) == len(kept)
    data.units[:] = kept
    assert vera_sync(sessions, vera).rows_written == 0
    assert sum(vera.parsed.values()) == 0


def test_vera_kept_aside_row_still_holds_on_every_re_sync(
    sessions: sessionmaker[Session], fake_vera: FakeVeraServer, vera: FreshVeraSource
) -> None:
    vera_sync(sessions, vera)
    unit = fake_vera.dataset.units[120]
    before = unit["adres"]["postcode"]
    unit["adres"]["postcode"] = "12AB"  # broken in the ERP
    for _ in range(2):  # and it stays broken: the second run must still keep it aside
        result = vera_sync(sessions, vera)
        assert [(r.unit_code, r.reason) for r in result.rejected] == [
            (unit["code"], RejectReason.INVALID_POSTCODE)
        ]
        assert result.rows_written == 0 and sum(result.counts.values()) == 0
        assert vera.parsed["/eenheden"] == 1  # a page with a row kept aside is always mapped
        with sessions() as s:
            stored = RegisterRepository(s, CORP).units([unit["code"]])[unit["code"]]
            assert stored.address.postcode.replace(" ", "") == before.replace(" ", "")
            latest = SyncRunRepository(s, CORP).latest()
            assert latest is not None and latest.rejected_count == 1
    unit["adres"]["postcode"] = before
    assert vera_sync(sessions, vera).rejected == []


def test_vera_incomplete_read_changes_nothing_and_keeps_the_memo(
    sessions: sessionmaker[Session], fake_vera: FakeVeraServer, vera: FreshVeraSource
) -> None:
    vera_sync(sessions, vera)
    memo = stored_pages(sessions)
    fake_vera.dataset.relations[5]["achternaam"] = "Anders"
    fake_vera.faults.add(Fault("status", endpoint="/overeenkomsten", page=2, times=None))
    with pytest.raises(SyncFailed):
        vera_sync(sessions, vera)
    assert stored_pages(sessions) == memo
    fake_vera.faults.clear()
    assert vera_sync(sessions, vera).counts["resident_changed"] == 1


def test_vera_a_memo_that_disagrees_with_its_page_fails_the_run_safely(
    sessions: sessionmaker[Session], vera: FreshVeraSource
) -> None:
    vera_sync(sessions, vera)
    with sessions() as s:
        events_before = s.scalar(select(func.count()).select_from(ChangeEventRow))
    # Corrupt one stored summary: it now claims another content hash for a unit.
    with sessions.begin() as s:
        row = s.scalars(select(SourcePageRow).order_by(SourcePageRow.id)).first()
        assert row is not None
        summary = orjson.loads(row.summary)
        summary["i"][0][1] = "0" * 24
        row.summary = orjson.dumps(summary)
    with pytest.raises(DigestMismatch):
        vera_sync(sessions, vera)
    with sessions() as s:
        latest = SyncRunRepository(s, CORP).latest()
        assert latest is not None and latest.outcome == "failed"
        assert s.scalar(select(func.count()).select_from(ChangeEventRow)) == events_before


def test_a_first_load_is_counted_without_an_event_per_row(
    sessions: sessionmaker[Session],
) -> None:
    """Every row of a first load is added and nobody moves in: the run counts them per kind (an
    ended agreement too is ``lease_added``) and stores no event per row."""
    snap = builders.register(20)
    snap.leases[3] = builders.lease(4, LeaseStatus.ENDED)
    result = run(sessions, snap)
    assert result.events == [] and result.rows_written == 60
    assert {k: n for k, n in result.counts.items() if n} == {
        "unit_added": 20,
        "resident_added": 20,
        "lease_added": 20,
    }
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ChangeEventRow)) == 0
        recorded = SyncRunRepository(s, CORP).latest()
        assert recorded is not None and recorded.counts["lease_added"] == 20


def test_homes_that_come_back_after_all_were_removed_are_logged_as_changes(
    sessions: sessionmaker[Session],
) -> None:
    """Only a register that never held a row has a first load: when every home was removed
    (here by an allowed shrink) and they come back, each is a change with its event."""
    run(sessions, builders.register(3))
    emptied = run(sessions, Snapshot(source="static"), max_shrink=1.0)
    assert emptied.counts["unit_removed"] == 3 and len(emptied.events) == 9
    back = run(sessions, builders.register(3))
    assert back.counts["unit_added"] == 3 and back.counts["move_in"] == 3
    with sessions() as s:
        stored = s.scalar(select(func.count()).select_from(ChangeEventRow))
    assert stored == len(emptied.events) + len(back.events) == 9 + 9


def test_a_large_run_lists_its_first_events_and_stores_and_counts_them_all(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run with many changes stores and counts every event; the result lists only the first
    ``KEPT_EVENTS`` (here 7) so that they need not all be held at once."""
    import keukentafel.usecases.sync_register as use_case

    run(sessions, builders.register(3))  # the first load: no events
    monkeypatch.setattr(use_case, "KEPT_EVENTS", 7)
    result = run(sessions, builders.register(23))
    assert len(result.events) == 7
    assert result.events[0].kind.value == "unit_added"
    with sessions() as s:
        stored = s.scalar(select(func.count()).select_from(ChangeEventRow))
    assert stored == sum(result.counts.values()) == 60
    assert result.counts["unit_added"] == 20 and result.counts["move_in"] == 20
