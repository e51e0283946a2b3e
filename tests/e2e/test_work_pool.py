"""`keukentafel deploy` on a real Prefect server on 127.0.0.1: schedules survive a worker restart,
and an invalid corporation file fails its own deployment, loudly, and only its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from tests.prefect_server import PrefectServer, prefect_server, wait_for

pytestmark = pytest.mark.slow  # a Prefect server and workers in subprocesses

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    with prefect_server(tmp_path_factory.mktemp("prefect")) as found, found.using():
        yield found


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two corporation files: WSD (the demo's) and BAD (a project kind that does not exist)."""
    demo = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
    folder = tmp_path / "corporations"
    folder.mkdir()
    (folder / "wsd.yaml").write_text(demo, encoding="utf-8")
    (folder / "bad.yaml").write_text(
        demo.replace("code: WSD", "code: BAD").replace("kind: demolition", "kind: knock_down"),
        encoding="utf-8",
    )
    monkeypatch.setenv("KEUKENTAFEL_CONFIG_DIR", str(folder))
    monkeypatch.setenv("KEUKENTAFEL_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("KEUKENTAFEL_OUTPUT_DIR", str(tmp_path / "out"))
    return folder


def _deployments() -> dict[str, object]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {d.name: d for d in client.read_deployments()}


def _scheduled_times(deployment_id: UUID) -> set[str]:
    """When the deployment's scheduled runs start (redeploying re-creates them, same times)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        runs = [client.read_flow_run(i) for i in _scheduled_runs(deployment_id)]
    return {str(r.expected_start_time) for r in runs}


def _scheduled_runs(deployment_id: UUID) -> set[UUID]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            ),
        )
    return {run.id for run in runs}


def _online_workers() -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import WorkerFilter, WorkerFilterStatus

    with get_client(sync_client=True) as client:
        return len(
            client.read_workers_for_work_pool(
                "keukentafel",
                worker_filter=WorkerFilter(status=WorkerFilterStatus(any_=["ONLINE"])),
            )
        )


def test_deploy_registers_every_schedule_and_a_worker_restart_keeps_them(
    server: PrefectServer, config_dir: Path, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.deployments import run_deployment

    from keukentafel.cli.app import app

    result = CliRunner().invoke(app, ["deploy"])
    # the bad file is reported with a non-zero exit; every other deployment is registered
    assert result.exit_code == 1, result.output
    assert "bad.yaml" in result.output and "projects.1.kind" in result.output
    assert "deployed sync-register-wsd: 0 6 * * *" in result.output
    found = _deployments()
    wsd = found["sync-register-wsd"]
    assert {
        "sync-register-wsd",
        "purge-personal-data-wsd",
        "dispatch-outbox-wsd",
        "mailing-wsd",
        "sync-register-bad",
        "purge-personal-data-bad",
    } <= set(found)
    assert wsd.work_pool_name == "keukentafel" and not wsd.paused  # type: ignore[attr-defined]
    assert wsd.entrypoint == "flows.sync_register.sync_register_flow"  # type: ignore[attr-defined]
    schedule = wsd.schedules[0].schedule  # type: ignore[attr-defined]
    assert (schedule.cron, schedule.timezone) == ("0 6 * * *", "Europe/Amsterdam")
    limit = wsd.global_concurrency_limit  # type: ignore[attr-defined]
    assert limit is not None and limit.limit == 1
    assert wsd.concurrency_options.collision_strategy == "CANCEL_NEW"  # type: ignore[attr-defined]
    with get_client(sync_client=True) as client:
        assert client.read_work_pool("keukentafel").type == "process"
    before = wait_for(
        lambda: _scheduled_runs(wsd.id),  # type: ignore[attr-defined]
        timeout=30,
        what="scheduled runs of sync-register-wsd",
    )

    env = {"KEUKENTAFEL_CONFIG_DIR": str(config_dir)}
    env["KEUKENTAFEL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'store.db'}"
    worker = server.worker(**env)
    try:
        wait_for(_online_workers, timeout=60, what="an online worker")
    finally:
        worker.stop()
    assert worker.popen.returncode is not None
    # A worker that stops pauses nothing and deletes no run (a `serve` process would)
    after_stop = _deployments()
    assert not any(d.paused for d in after_stop.values())  # type: ignore[attr-defined]
    assert before <= _scheduled_runs(wsd.id)  # type: ignore[attr-defined]

    worker = server.worker("worker-2.log", **env)
    try:
        bad = run_deployment("sync-register/sync-register-bad", timeout=90)
        assert bad.state is not None
        assert bad.state.type is StateType.FAILED, worker.output()[-3000:]
        # the run fails with the file's own validation error, in the state's message
        assert "projects.1.kind" in (bad.state.message or ""), bad.state.message
        assert before <= _scheduled_runs(wsd.id)  # type: ignore[attr-defined]
        assert not _deployments()["sync-register-wsd"].paused  # type: ignore[attr-defined]
    finally:
        worker.stop()

    # the file fixed (here: removed), deploying again succeeds and drops what no file asks for
    times = _scheduled_times(wsd.id)  # type: ignore[attr-defined]
    (config_dir / "bad.yaml").unlink()
    again = CliRunner().invoke(app, ["deploy"])
    assert again.exit_code == 0, again.output
    assert "removed sync-register-bad" in again.output
    left = _deployments()
    assert "sync-register-bad" not in left and "sync-register-wsd" in left
    # updating a deployment makes Prefect re-create its future runs: the same times again
    wait_for(
        lambda: times <= _scheduled_times(wsd.id),  # type: ignore[attr-defined]
        timeout=30,
        what="the scheduled runs at the same times after deploying again",
    )


def test_deploy_says_so_without_a_prefect_server(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from keukentafel.cli.app import app

    with temporary_settings(updates={PREFECT_API_URL: None}):
        result = CliRunner().invoke(app, ["deploy"])
    assert result.exit_code == 2
    assert "PREFECT_API_URL is not set" in result.output
    assert len(result.output.strip().splitlines()) <= 3
