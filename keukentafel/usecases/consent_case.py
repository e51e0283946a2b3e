"""Use case: evaluate a consent case file (YAML or JSON) with the live consent domain code.

The thin layer under ``keukentafel consent evaluate CASE.yaml [--as-of DATE] --json``: it reads
the file, takes the clock, and hands a plain mapping to ``domain.consent.case.evaluate``. The
evaluation date defaults to today in Europe/Amsterdam; entries dated after the moment of the run
are refused as in the future, as the live register would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

from keukentafel.domain.consent.case import CaseError, evaluate
from keukentafel.domain.consent.entries import local_day


def load_case_file(path: Path) -> dict[str, object]:
    """The case as a mapping; ``CaseError`` when the file is not a YAML/JSON mapping."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise CaseError(
            [f"{path.name}: not valid {path.suffix.lstrip('.') or 'YAML'}: {error}"]
        ) from None
    if not isinstance(data, dict):
        raise CaseError([f"{path.name}: the case must be a mapping at the top level"])
    return data


def evaluate_file(
    path: Path,
    as_of: date | None = None,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, object]:
    """Evaluate the case file on ``as_of`` (default: today, Europe/Amsterdam)."""
    now = clock()
    case = load_case_file(path)
    return evaluate(case, as_of or local_day(now), now=now)
