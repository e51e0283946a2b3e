"""Keukentafel installed as users install it: ``pip install .`` into a clean virtualenv, no
extras, not editable, run from outside the source tree.

It syncs a register from a fake VERA server and sends a real mailing (``keukentafel mailing
send``) through a fake Microsoft 365 mailbox: templates, the sample content, PDF merging (pypdf)
and every runtime dependency must come from the installed distribution.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from connectors.fakes.m365 import FakeMicrosoft365
from connectors.fakes.vera_data import generate_dataset
from connectors.fakes.vera_server import FakeVeraServer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv with Keukentafel installed from this checkout (no extras, not editable)."""
    venv = tmp_path_factory.mktemp("clean") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            "--no-compile",
            "--disable-pip-version-check",
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def _run(venv: Path, cwd: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(venv / "bin" / "keukentafel"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-3000:])
    return done.stdout


def test_the_package_comes_from_site_packages(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import keukentafel, pypdf, trustme;"
            "from keukentafel.letters.render import shipped_templates;"
            "from keukentafel.demo import sample_config;"
            "print(keukentafel.__file__); print(shipped_templates()); print(sample_config())",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all("site-packages" in line and str(ROOT) not in line for line in where)
    assert (Path(where[1]) / "info_evening" / "body.html").is_file()
    assert (Path(where[2]) / "demo.yaml").is_file()


def test_a_plain_install_syncs_and_sends_a_real_mailing(installed: Path, tmp_path: Path) -> None:
    dataset = generate_dataset(150, seed=5, complexes=3)
    api_key, m365_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    config = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text(encoding="utf-8"))
    m365 = config["m365"]
    tenant = FakeMicrosoft365(
        tenant_id=m365["tenant_id"], client_id=m365["client_id"], client_secret=m365_secret
    )
    tenant.state.add_mailbox(m365["mailbox"])
    with FakeVeraServer(dataset, api_key=api_key) as vera, tenant:
        config["source"]["vera"]["base_url"] = vera.url
        m365.update(
            authority_host=tenant.authority_host,
            graph_base_url=tenant.graph_base_url,
            ca_bundle=tenant.ca_bundle_path,
            client_secret_env="KT_M365_SECRET",
        )
        m365.pop("contact_list", None)
        config_path = tmp_path / "corporation.yaml"
        config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "KEUKENTAFEL_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
            "KEUKENTAFEL_OUTPUT_DIR": str(tmp_path / "out"),
            "PREFECT_HOME": str(tmp_path / ".prefect"),
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            config["source"]["vera"]["auth"]["api_key_env"]: api_key,
            "KT_M365_SECRET": m365_secret,
            "KEUKENTAFEL_LINK_SECRET": secrets.token_urlsafe(32),
        }
        _run(installed, tmp_path, env, "sync", "--config", str(config_path), "--no-progress")
        content = tmp_path / "content.yaml"
        content.write_text(
            (ROOT / "config" / "mailings" / "havenkwartier-info_evening.yaml").read_text(
                encoding="utf-8"
            ),
            encoding="utf-8",
        )
        project = "HAVEN-SLOOP"  # complex CPX-0003 of the demo's corporation file
        printed = _run(
            installed,
            tmp_path,
            env,
            "mailing",
            "send",
            "info_evening",
            "--project",
            project,
            "--content",
            str(content),
            "--config",
            str(config_path),
        )
        sent = tenant.state.messages(m365["mailbox"], "SentItems")
    batches = list((tmp_path / "out" / "mailings").rglob("*-drukwerk.pdf"))
    assert len(batches) == 1 and batches[0].read_bytes().startswith(b"%PDF")
    emails = list((tmp_path / "out" / "mailings").rglob("*.eml"))
    assert len(sent) == len(emails) > 0, printed
