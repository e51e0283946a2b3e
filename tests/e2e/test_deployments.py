"""Deployment definitions: schedules in Amsterdam time, one run at a time, compose file complete."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from flows.deployments import deployments, plan
from keukentafel.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_each_corporation_gets_its_scheduled_flows() -> None:
    settings = Settings.from_env({"KEUKENTAFEL_CONFIG_DIR": str(ROOT / "config")})
    found = {d.name: d for d in deployments(settings)}
    assert set(found) == {
        "sync-register-wsd",
        "purge-personal-data-wsd",
        "pull-team-contacts-wsd",
        "dispatch-outbox-wsd",
        "consent-tally-wsd",
        "contractor-feeds-wsd",
        "mailing-wsd",
        "pull-replies-wsd",
    }
    assert found["mailing-wsd"].schedules == []  # started from the UI, with a review step
    assert found["mailing-wsd"].entrypoint == "flows.mailing_review.mailing_review_flow"
    purge = found["purge-personal-data-wsd"].schedules[0].schedule
    assert purge.cron == "30 5 * * *" and purge.timezone == "Europe/Amsterdam"
    assert found["contractor-feeds-wsd"].schedules[0].schedule.cron == "*/15 6-22 * * *"
    sync = found["sync-register-wsd"]
    schedule = sync.schedules[0].schedule
    assert schedule.cron == "0 6 * * *" and schedule.timezone == "Europe/Amsterdam"
    assert sync.concurrency_limit == 1
    assert sync.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    assert sync.parameters == {"corporation": "WSD"}
    # the same tags as a run started from the command line (flows/naming.py), and the mark
    # `keukentafel deploy` finds its own deployments by
    assert sync.tags == ["register", "WSD", "keukentafel"]
    assert found["dispatch-outbox-wsd"].tags == ["outbox", "WSD", "keukentafel"]
    assert found["pull-team-contacts-wsd"].schedules[0].schedule.cron == "30 6 * * *"
    assert found["dispatch-outbox-wsd"].schedules[0].schedule.cron == "*/10 7-21 * * *"
    assert found["consent-tally-wsd"].schedules[0].schedule.cron == "0 7 * * *"


def test_schedules_come_from_the_settings_and_a_bad_file_stops_only_its_own(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    demo = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
    (tmp_path / "wsd.yaml").write_text(demo, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(
        demo.replace("code: WSD", "code: BAD").replace("kind: demolition", "kind: knock_down"),
        encoding="utf-8",
    )
    settings = Settings.from_env(
        {
            "KEUKENTAFEL_CONFIG_DIR": str(tmp_path),
            "KEUKENTAFEL_SYNC_CRON": "15 5 * * *",
            "KEUKENTAFEL_TEAM_CRON": "45 5 * * *",
            "KEUKENTAFEL_DISPATCH_CRON": "*/5 8-18 * * *",
            "KEUKENTAFEL_CONSENT_CRON": "30 7 * * 1-5",
        }
    )
    with caplog.at_level(logging.ERROR, logger="flows.deployments"):
        found = {d.name: d for d in deployments(settings)}
    crons = {name: d.schedules[0].schedule.cron for name, d in found.items() if d.schedules}
    assert crons == {
        "sync-register-wsd": "15 5 * * *",
        "purge-personal-data-wsd": "30 5 * * *",
        "pull-team-contacts-wsd": "45 5 * * *",
        "dispatch-outbox-wsd": "*/5 8-18 * * *",
        "consent-tally-wsd": "30 7 * * 1-5",
        "contractor-feeds-wsd": "*/15 6-22 * * *",
        "pull-replies-wsd": "*/10 7-21 * * *",
    }
    assert "bad.yaml" in caplog.text and "projects.1.kind" in caplog.text
    # the bad file keeps its sync and purge, whose runs fail with its error (and alert)
    found_plan = plan(settings)
    assert [d.name for d in found_plan.failing] == ["sync-register-bad", "purge-personal-data-bad"]
    assert list(found_plan.invalid) == [str(tmp_path / "bad.yaml")]


def test_only_the_sync_without_microsoft_365(tmp_path: Path) -> None:
    demo = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
    (tmp_path / "wsd.yaml").write_text(demo[: demo.index("m365:")], encoding="utf-8")
    shutil.copy(ROOT / "config" / "corporations" / "README.md", tmp_path / "README.md")
    settings = Settings.from_env({"KEUKENTAFEL_CONFIG_DIR": str(tmp_path)})
    # neither the purge nor the consent tally needs Microsoft 365
    assert [d.name for d in deployments(settings)] == [
        "sync-register-wsd",
        "purge-personal-data-wsd",
        "consent-tally-wsd",
        "mailing-wsd",
    ]
