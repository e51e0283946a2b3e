"""keukentafel/bootstrap_warm.py: which commands start the sync's second process ahead."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.erp import second_process
from keukentafel.bootstrap_warm import warm_up


@pytest.fixture(autouse=True)
def _none_left() -> Iterator[None]:
    yield
    second_process.discard()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["register", "--config", "sync"],
        ["--help"],
        ["sync", "--help"],
        ["-v", "sync", "-h"],
        ["mailing", "sync"],
    ],
)
def test_only_a_sync_starts_the_second_process_ahead(argv: list[str]) -> None:
    assert warm_up(argv) is False
    assert second_process.waiting() is None


@pytest.mark.skipif(second_process.cpus() < 2, reason="one core: nothing is started ahead")
@pytest.mark.parametrize("argv", [["sync"], ["-v", "sync", "--config", "wsd.yaml"]])
def test_a_sync_starts_one_second_process_ahead(argv: list[str]) -> None:
    assert warm_up(argv) is True
    ahead = second_process.waiting()
    assert ahead is not None
    assert warm_up(argv) is True and second_process.waiting() == ahead  # one, not two
    second_process.discard()
    assert second_process.waiting() is None
