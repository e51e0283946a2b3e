"""Effect once under kill -9 for webhooks: the deliverer is killed mid-run, again and again,
then finishes. The fake contractor runs in this process and applies each ``webhook-id`` once;
at the end every change reached it exactly once and none was lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from connectors.fakes.contractor import FakeContractor
from keukentafel.bootstrap import open_store
from keukentafel.config.feeds import ContractorConfig
from keukentafel.domain.planning.webhooks import secret_text
from keukentafel.usecases.feeds import (
    ContractorFeed,
    TallyGate,
    feed_counts,
    no_tally,
    refresh_feed,
)
from tests.builders import CORP, RENOVATION, register, run

pytestmark = pytest.mark.slow  # deliverer processes killed with SIGKILL

ROOT = Path(__file__).resolve().parents[2]
SECRET = secret_text(b"c" * 32)
UNITS = 120


def test_kill_9_loses_no_webhook_and_applies_none_twice(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'feeds.db'}"
    sessions = open_store(database_url)
    run(sessions, register(UNITS))
    feed = ContractorFeed("BOUW", (RENOVATION,), batch_size=2, webhooks=True)
    report = refresh_feed(sessions, CORP, feed, TallyGate(no_tally), on=register_day())
    assert report.webhooks_queued == UNITS // 2
    with FakeContractor([SECRET]) as fake:
        config = ContractorConfig.model_validate(
            {
                "code": "BOUW",
                "name": "Bouw",
                "projects": ["P"],
                "webhook": {"url": fake.hook_url, "secret_envs": ["KT_CRASH_WHSEC"]},
            }
        )
        env = {**os.environ, "KT_CRASH_WHSEC": SECRET, "PYTHONPATH": str(ROOT)}
        command = [
            sys.executable,
            "-m",
            "tests.webhook_worker",
            database_url,
            config.model_dump_json(),
            CORP,
        ]
        kills = 0
        for _ in range(4):  # kill it four times, each time once a few more webhooks arrived
            before = len(fake.deliveries)
            proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                if len(fake.deliveries) >= before + 5:
                    os.kill(proc.pid, signal.SIGKILL)
                    kills += 1
                    break
                time.sleep(0.002)
            proc.wait()
        assert kills == 4
        assert len(fake.applied) < UNITS // 2
        final = subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
        )
        assert "failed=0" in final.stdout
        assert sorted(fake.sequence_log) == list(range(1, UNITS + 1))  # none lost, none twice
        assert len(fake.applied) == UNITS // 2
    assert feed_counts(sessions, CORP, "BOUW").webhooks == {
        "pending": 0,
        "sent": UNITS // 2,
        "failed": 0,
    }


def register_day() -> date:
    return date(2027, 5, 1)
