"""Effect once under kill -9: the dispatcher is killed mid-run, again and again, then finishes.

The fake tenant (real msal, Graph over https) runs in this process; the dispatcher runs in its own
process against a SQLite store, and is killed with SIGKILL at moments spread over its run. At the
end every message is in Sent Items exactly once: none lost, none duplicated.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from connectors.fakes.m365 import FakeMicrosoft365
from keukentafel.bootstrap import open_store
from keukentafel.usecases.outbox import enqueue, outbox_counts
from tests.builders import messages
from tests.m365_fixtures import MAILBOX, make_m365_config

pytestmark = pytest.mark.slow  # dispatcher processes killed with SIGKILL

ROOT = Path(__file__).resolve().parents[2]


def header_ids(fake: FakeMicrosoft365) -> Counter[str]:
    found: Counter[str] = Counter()
    for message in fake.state.messages(MAILBOX, "SentItems"):
        for header in message.get("internetMessageHeaders") or []:
            if header["name"].lower() == "x-keukentafel-message-id":
                found[header["value"]] += 1
    return found


def test_kill_9_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, fake_m365: FakeMicrosoft365, m365_env: dict[str, str]
) -> None:
    database_url = f"sqlite:///{tmp_path / 'outbox.db'}"
    sessions = open_store(database_url)
    batch = messages(60, mailing="CRASH/announcement/2026-11-28")
    assert enqueue(sessions, "TST", batch) == 60
    config_json = make_m365_config(fake_m365, send_pace_per_minute=600).model_dump_json()
    env = {**os.environ, **m365_env, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.outbox_worker", database_url, config_json, "TST"]

    kills = 0
    for _ in range(4):  # kill it four times, each time once it has sent a few more messages
        before = sum(header_ids(fake_m365).values())
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if sum(header_ids(fake_m365).values()) >= before + 7:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.005)
        proc.wait()
    assert kills == 4
    assert 28 <= sum(header_ids(fake_m365).values()) < 60
    final = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert "failed=0" in final.stdout

    sent = header_ids(fake_m365)
    expected = {m.message_id for m in batch}
    assert set(sent) == expected  # none lost
    assert max(sent.values()) == 1  # none twice
    assert outbox_counts(sessions, "TST") == {
        "pending": 0,
        "waiting": 0,
        "sending": 0,
        "sent": 60,
        "failed": 0,
    }
