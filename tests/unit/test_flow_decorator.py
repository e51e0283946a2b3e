"""Our flows store plain parameters as Prefect would, without importing FastAPI for it
(flows/decorator.py)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path

import pytest
from prefect import Flow

from flows.decorator import PlainParametersFlow, flow
from flows.sync_register import sync_register_flow

ROOT = Path(__file__).resolve().parents[2]


class Kind(StrEnum):
    LETTER = "letter"


@flow(name="probe", log_prints=False)
def probe(code: str, flag: bool = False, share: float | None = None, when: object = None) -> str:
    return code


@pytest.mark.parametrize(
    "parameters",
    [
        {"code": "WSD", "flag": True, "share": 0.5, "when": None},
        {"code": "WSD", "flag": False, "share": 3},
        {"code": "WSD", "when": date(2026, 12, 7)},  # not plain: Prefect's own encoding
        {"code": Kind.LETTER},  # a str subclass: Prefect's own encoding, its value
        {"code": "WSD", "when": ["a", 1, {"b": None}]},
    ],
)
def test_what_is_stored_is_what_prefects_own_encoding_stores(parameters: dict[str, object]) -> None:
    ours = probe.serialize_parameters(parameters)
    prefects = Flow.serialize_parameters(probe, parameters)
    assert ours == prefects
    assert [type(v) for v in ours.values()] == [type(v) for v in prefects.values()]


def test_the_decorator_keeps_prefects_options_and_the_function() -> None:
    assert isinstance(probe, PlainParametersFlow) and isinstance(probe, Flow)
    assert probe.name == "probe" and probe.log_prints is False
    assert probe.fn(code="x") == "x"
    assert isinstance(sync_register_flow, PlainParametersFlow)
    assert sync_register_flow.name == "sync-register"


def test_a_command_flows_plain_parameters_do_not_import_fastapi(tmp_path: Path) -> None:
    """What the change is for: storing a sync's parameters imported all of FastAPI (0.2-0.3 s
    of every command on a Prefect server); a date still goes through Prefect's encoding."""
    program = (
        "import sys; from flows.sync_register import sync_register_flow as f; "
        "f.serialize_parameters({'corporation': 'WSD', 'show_progress': False, "
        "'max_shrink': None}); print('fastapi' in sys.modules); "
        "import datetime; f.serialize_parameters({'corporation': datetime.date(2026, 12, 7)}); "
        "print('fastapi' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env={"DO_NOT_TRACK": "1", "PATH": "/usr/bin:/bin", "PREFECT_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["False", "True"]
