"""The command benchmark: its PostgreSQL store (``--postgresql URL``: a database of its own per
pair of runs, where the command can migrate and sync, dropped afterwards), the checkouts and
modes it times, and the fake ERP it starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_the_before_mode_runs_the_program_its_checkout_declares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Earlier code runs through its own entry point (its pyproject.toml), whatever the installed
    program is called now: the app itself before keukentafel/cli/program.py, the program after."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "keukentafel"\n[project.scripts]\nkeukentafel = "keukentafel.cli.app:app"\n',
        encoding="utf-8",
    )
    monkeypatch.setitem(command_bench.BEFORE, "dir", tmp_path)
    record = command_bench.Record(units=10, started="", machine={})
    bench = command_bench.Bench(
        command_bench.SHAPES["id-500x160"], tmp_path / "bench.yaml", tmp_path, record
    )
    argv = bench.argv("before")
    assert argv[:3] == [sys.executable, "-c", "from keukentafel.cli.app import app; app()"]
    assert argv[3:5] == ["sync", "--config"]
    assert command_bench.entry_point(command_bench.ROOT) == "keukentafel.cli.program:main"


def test_a_checkout_is_timed_from_bytecode_even_where_python_may_not_write_it(
    tmp_path: Path,
) -> None:
    """``compile_bytecode`` gives a checkout the bytecode an installed package has, so that a
    command started with PYTHONDONTWRITEBYTECODE=1 loads it instead of compiling the source."""
    (tmp_path / "keukentafel").mkdir()
    (tmp_path / "keukentafel" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "keukentafel" / "probe.py").write_text("ANSWER = 42\n", encoding="utf-8")
    command_bench.compile_bytecode(tmp_path)
    program = "import keukentafel.probe as p; print(p.ANSWER, p.__cached__)"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [
            sys.executable,
            "-P",
            "-c",
            f"import sys; sys.path.insert(0, {str(tmp_path)!r}); {program}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[0] == "42"
    assert Path(out[1]).is_file()  # the bytecode it was loaded from is there
    (tmp_path / "keukentafel" / "broken.py").write_text("def (:\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="could not compile"):
        command_bench.compile_bytecode(tmp_path)


def test_the_overhead_turn_by_turn_compares_runs_of_the_same_turn() -> None:
    """On a machine that slows down for minutes, the difference of two medians measures the
    drift; the same-turn differences do not (the numbers are the seventh round's, rounded)."""
    record = command_bench.Record(units=10, started="", machine={})
    use_case = [(16.6, 5.0), (17.5, 5.9), (22.9, 6.4)]
    prefect = [(17.8, 7.2), (23.6, 9.2), (24.3, 9.0)]
    for turn, ((uf, ur), (pf, pr)) in enumerate(zip(use_case, prefect, strict=True)):
        for mode, full, again in (("use-case", uf, ur), ("prefect-server", pf, pr)):
            record.runs.append(command_bench.Run("s", mode, "full sync", full, 0, turn=turn))
            record.runs.append(command_bench.Run("s", mode, "re-sync", again, 0, turn=turn))
    record.runs.append(command_bench.Run("s", "-", "fetch only", 3.0))
    row = next(r for r in command_bench.summary(record) if r["mode"] == "prefect-server")
    assert row["overhead_s"] == round(23.6 - 17.5, 2)  # medians of different turns: the drift
    assert row["turn_overhead_s"] == round(24.3 - 22.9, 2)  # median of 1.2, 6.1, 1.4
    assert row["turn_overhead_share"] == round((17.8 - 16.6) / 17.8, 3)  # of 6.7%, 26%, 5.8%
    assert row["turn_resync_overhead_s"] == round(9.0 - 6.4, 2)
    base = next(r for r in command_bench.summary(record) if r["mode"] == "use-case")
    assert base["turn_overhead_s"] == 0.0
    assert base["fetch_new_process_s"] is None  # not timed: no ratio to it


def test_the_fetch_floor_from_a_new_python_reads_every_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bench/fetch_process.py pages through the whole fake ERP in a process of its own, timed as
    the command is; the summary sets the re-sync against it as well as against the floor."""
    from bench.sync_bench import start_fake

    monkeypatch.setenv(command_bench.KEY_ENV, "key")
    proc, url = start_fake(300, "key", "--complexes", "3", "--refs", "id")
    try:
        config = command_bench.write_config(tmp_path, url, ["CPX-0001", "CPX-0002", "CPX-0003"])
        record = command_bench.Record(units=300, started="", machine={})
        shape = command_bench.SHAPES["id-500x160"]
        bench = command_bench.Bench(shape, config, tmp_path, record)
        bench.fetch(command_bench.corporation(url, ["CPX-0001", "CPX-0002", "CPX-0003"]))
        bench.fetch_in_new_process()
    finally:
        proc.kill()
        proc.wait()
    floor, fresh = record.runs
    assert fresh.step == command_bench.NEW_PROCESS_FETCH and fresh.ok, fresh.note
    assert fresh.note == floor.note and floor.note.endswith(" items")
    assert int(floor.note.split()[0]) > 300  # units, relations and agreements
    for turn, again in enumerate((2.0, 2.4)):
        record.runs.append(command_bench.Run(shape.name, "plain", "full sync", 5.0, 9, turn=turn))
        record.runs.append(command_bench.Run(shape.name, "plain", "re-sync", again, 0, turn=turn))
    (row,) = command_bench.summary(record)
    assert row["fetch_new_process_s"] == round(fresh.seconds, 2)
    assert row["resync_x_fetch_new_process"] == round(2.4 / fresh.seconds, 2)
    assert row["resync_x_fetch"] == round(2.4 / floor.seconds, 2)


def test_the_fake_erp_starts_whatever_its_generated_key_looks_like() -> None:
    """A generated key (``secrets.token_urlsafe``) starts with "-" once in 64 keys: the fake
    ERP's process must still take it as the key, not as an option (it once ended a benchmark)."""
    import requests

    from bench.sync_bench import start_fake

    proc, url = start_fake(50, "-starts-like-an-option")
    try:
        answer = requests.get(f"{url}/eenheden", headers={"X-API-KEY": "-starts-like-an-option"})
        refused = requests.get(f"{url}/eenheden", headers={"X-API-KEY": "another key"})
    finally:
        proc.kill()
        proc.wait()
    assert answer.status_code == 200 and answer.json()
    assert refused.status_code == 401


def test_the_summary_sets_the_overhead_beside_prefects_own_floor() -> None:
    """Prefect's floor is the median empty flow run's process minus the median process without
    Prefect; the prefect-server row gets it, its share of the full sync and the turn-by-turn
    overhead beyond it. Other modes get none of it, and a shape without the floor neither."""
    record = command_bench.Record(units=10, started="", machine={})
    for turn, (base, command) in enumerate(((10.0, 11.5), (10.4, 11.7))):
        for mode, full in (("use-case", base), ("prefect-server", command)):
            record.runs.append(command_bench.Run("s", mode, "full sync", full, 9, turn=turn))
            record.runs.append(command_bench.Run("s", mode, "re-sync", full / 4, 0, turn=turn))
    record.runs.append(command_bench.Run("s", "-", "fetch only", 1.0))
    for seconds in (1.30, 1.10, 1.20):
        record.runs.append(command_bench.Run("s", "-", command_bench.PREFECT_FLOW, seconds))
        record.runs.append(command_bench.Run("s", "-", command_bench.PREFECT_NO_FLOW, 0.05))
    record.runs.append(command_bench.Run("s", "-", command_bench.PREFECT_FLOW, 0.1, ok=False))
    rows = {r["mode"]: r for r in command_bench.summary(record)}
    served = rows["prefect-server"]
    assert served["prefect_floor_s"] == 1.15  # 1.20 - 0.05: the failed run is not counted
    assert served["prefect_floor_share"] == round(1.15 / 11.7, 3)
    assert served["turn_overhead_s"] == 1.4  # median of 1.5 and 1.3 (of two, the mean)
    assert served["turn_overhead_beyond_floor_s"] == round(1.4 - 1.15, 2)
    assert served["turn_resync_overhead_beyond_floor_s"] == round(0.35 - 1.15, 2)
    assert "prefect_floor_s" not in rows["use-case"]
    without = command_bench.Record(units=10, started="", machine={}, runs=record.runs[:9])
    assert "prefect_floor_s" not in command_bench.summary(without)[1]


@pytest.mark.slow
def test_prefects_floor_runs_an_empty_flow_on_the_server_and_the_same_process_without_it(
    tmp_path: Path,
) -> None:
    """bench/prefect_floor.py, as the benchmark runs it in the prefect-server mode's turn: each
    empty flow run completes on the server; the process without Prefect runs none."""
    import asyncio

    from prefect.client.orchestration import get_client

    from tests.prefect_server import prefect_server

    record = command_bench.Record(units=0, started="", machine={})
    bench = command_bench.Bench(command_bench.SHAPES["mixed-1"], tmp_path, tmp_path, record)

    async def flow_runs() -> list[str]:
        async with get_client() as client:
            return [str(run.state_name) for run in await client.read_flow_runs()]

    with prefect_server(tmp_path / "prefect") as server:
        bench.prefect_floor(server.api_url, turn=1)
        with server.using():
            states = asyncio.run(flow_runs())
    pairs = command_bench.PREFECT_FLOOR_PAIRS
    assert states == ["Completed"] * pairs
    flows = [r for r in record.runs if r.step == command_bench.PREFECT_FLOW]
    bare = [r for r in record.runs if r.step == command_bench.PREFECT_NO_FLOW]
    assert len(flows) == len(bare) == pairs
    assert all(r.ok and r.turn == 1 for r in flows + bare), [r.note for r in record.runs]
    assert min(r.seconds for r in flows) > max(r.seconds for r in bare)  # Prefect was imported


def test_the_fake_erp_can_answer_every_page_late_as_across_a_network() -> None:
    """``--latency-ms`` (``--erp-latency-ms`` of the benchmark): every page is answered that
    late, also when several are asked at once; the data is the same."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from bench.sync_bench import start_fake

    def timed(url: str) -> tuple[float, list[object]]:
        started = time.perf_counter()
        answer = requests.get(f"{url}/eenheden", headers={"X-API-KEY": "key"}, timeout=10)
        answer.raise_for_status()
        return time.perf_counter() - started, answer.json()

    prompt, prompt_url = start_fake(50, "key")
    late, late_url = start_fake(50, "key", "--latency-ms=300")
    try:
        quick, items = timed(prompt_url)
        with ThreadPoolExecutor(4) as pool:
            started = time.perf_counter()
            answers = list(pool.map(timed, [late_url] * 4))
            together = time.perf_counter() - started
    finally:
        for proc in (prompt, late):
            proc.kill()
            proc.wait()
    assert all(seconds >= 0.3 for seconds, _ in answers)
    assert all(page == items for _, page in answers)
    assert quick < 0.3
    assert together < 4 * 0.3  # answered side by side, not one after the other


def test_the_summary_says_how_busy_the_machine_was_during_the_floor_and_the_syncs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Busy CPU seconds over wall clock times the processors, the median of a step's runs; a
    failed run and a run without the count are left out, and a mode gets its own runs only."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    record = command_bench.Record(units=10, started="", machine={})

    def run(mode: str, step: str, seconds: float, busy: float | None, ok: bool = True) -> None:
        timed = command_bench.Run("s", mode, step, seconds, 0, ok=ok)
        timed.machine_cpu_s = busy
        record.runs.append(timed)

    run("-", "fetch only", 2.0, 3.2)  # 80%
    run("-", "fetch only", 2.0, 2.0)  # 50%
    run("-", "fetch only", 2.0, 3.6)  # 90%
    run("-", command_bench.NEW_PROCESS_FETCH, 2.5, 4.0)  # 80%
    for mode, full, again in (("plain", (10.0, 15.0), (3.0, 5.7)), ("use-case", (9.0, 9.0), None)):
        run(mode, "full sync", *full)
        if again is not None:
            run(mode, "re-sync", *again)
        else:
            run(mode, "re-sync", 3.0, None)
    run("plain", "re-sync", 3.0, 6.0, ok=False)  # failed: not counted
    rows = {r["mode"]: r for r in command_bench.summary(record)}
    assert rows["plain"]["fetch_machine_busy"] == 0.8
    assert rows["plain"]["fetch_new_process_machine_busy"] == 0.8
    assert rows["plain"]["full_machine_busy"] == 0.75
    assert rows["plain"]["resync_machine_busy"] == 0.95
    assert rows["use-case"]["full_machine_busy"] == 0.5
    assert rows["use-case"]["resync_machine_busy"] is None  # not counted: no share


def test_the_machine_count_sees_a_process_that_keeps_a_processor_busy() -> None:
    """Half a second of a busy child shows as at least most of half a CPU second (the machine
    may be busier: the count is of every process)."""
    before = command_bench.machine_cpu_seconds()
    assert before is not None  # this machine has /proc/stat
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5: pass",
        ],
        check=True,
    )
    busy = command_bench.busy_since(before)
    assert busy is not None and busy >= 0.4
