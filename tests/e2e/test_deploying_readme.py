"""The README's "Deploying" steps without Docker, followed line by line: a Prefect server behind
a password, `keukentafel deploy`, a worker on the pool, and the sync deployment run to completion
against the fake ERP on 127.0.0.1."""

from __future__ import annotations

import re
import secrets
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from connectors.fakes.vera_data import generate_dataset
from connectors.fakes.vera_server import FakeVeraServer
from tests.prefect_server import BIN, PrefectServer, Process, free_port, start, wait_for

pytestmark = pytest.mark.slow  # a Prefect server, a worker and a flow run in subprocesses

ROOT = Path(__file__).resolve().parents[2]


def readme_steps() -> list[str]:
    """The command lines of the block after ``<!-- deploying-steps -->`` in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- deploying-steps -->\n```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no deploying-steps block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_names_the_commands_this_test_runs() -> None:
    steps = readme_steps()
    assert steps[-1].startswith("prefect deployment run sync-register/sync-register-")
    assert "keukentafel deploy" in steps
    assert any(s.startswith("prefect worker start --pool keukentafel") for s in steps)


def test_following_the_deploying_steps_completes_a_sync(tmp_path: Path) -> None:
    key = secrets.token_urlsafe(16)
    port = free_port()
    home = tmp_path / "prefect"
    home.mkdir()
    harness = PrefectServer(home, port)
    env = harness.env()
    env.pop("PREFECT_API_URL")  # the steps export it
    data = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    data.pop("m365"), data.pop("feeds", None)  # the sync alone: the fake ERP is enough
    folder = tmp_path / "corporations"
    folder.mkdir()
    store = tmp_path / "store.db"
    env.update(
        KEUKENTAFEL_CONFIG_DIR=str(folder),
        KEUKENTAFEL_DATABASE_URL=f"sqlite:///{store}",
        KEUKENTAFEL_OUTPUT_DIR=str(tmp_path / "out"),
        KEUKENTAFEL_DEMO_VERA_API_KEY=key,
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        PREFECT_UI_ENABLED="false",
    )
    background: list[Process] = []
    with FakeVeraServer(generate_dataset(60, seed=5, complexes=5), api_key=key) as vera:
        data["source"]["vera"]["base_url"] = vera.url
        (folder / "wsd.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        try:
            for number, line in enumerate(readme_steps()):
                line = re.sub(r"\b4200\b", str(port), line)  # a free port, not the default
                words = shlex.split(line.removesuffix("&"))
                if words[0] == "export":
                    env.update(w.split("=", 1) for w in words[1:])  # type: ignore[misc]
                    continue
                command = [str(BIN / words[0]), *words[1:]]
                if line.endswith("&"):
                    background.append(start(command, env, tmp_path / f"step-{number}.log"))
                    if words[:3] == ["prefect", "server", "start"]:
                        harness.process = background[-1]
                        wait_for(harness._healthy, timeout=60, what="the Prefect server")
                    continue
                done = subprocess.run(
                    command, env=env, capture_output=True, text=True, timeout=120, check=False
                )
                logs = "\n".join(p.output()[-2000:] for p in background)
                assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}\n{logs}"
                if words[:2] == ["keukentafel", "deploy"]:
                    assert "deployed sync-register-wsd: 0 6 * * *" in done.stdout
                    assert "password" not in done.stdout.lower()
            assert "Completed" in done.stdout, done.stdout
        finally:
            for process in reversed(background):
                process.stop()
    # the sync ran on the worker, into the store the steps configured, and was recorded
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{store}")
    with engine.connect() as conn:
        outcomes = conn.execute(text("SELECT outcome FROM sync_runs")).scalars().all()
        units = conn.execute(text("SELECT count(*) FROM units")).scalar_one()
    engine.dispose()
    assert outcomes == ["succeeded"] and units > 0


def test_the_server_refuses_a_client_without_the_password(tmp_path: Path) -> None:
    """What `PREFECT_SERVER_API_AUTH_STRING` buys: the API answers 401 to anyone else."""
    import urllib.error
    import urllib.request

    from tests.prefect_server import prefect_server

    with prefect_server(tmp_path, PREFECT_SERVER_API_AUTH_STRING="admin:s3cret") as server:
        url = f"{server.api_url}/flows/filter"  # http on 127.0.0.1, made here
        request = urllib.request.Request(url, data=b"{}", method="POST")  # noqa: S310
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 - http on 127.0.0.1
        assert refused.value.code == 401
