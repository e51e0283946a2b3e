"""The configuration package's names are imported on first use (keukentafel/config/__init__.py).

What that is for: the VERA relations worker, a second Python that every large sync starts, must
not import the whole corporation file (and the consent rules it checks) before it reads a page.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import keukentafel.config as config

ROOT = Path(__file__).resolve().parents[2]


def test_every_public_name_resolves_to_the_object_of_its_module() -> None:
    assert sorted(config.__all__) == sorted(config._MODULES)
    for name in config.__all__:
        module = importlib.import_module(f"keukentafel.config.{config._MODULES[name]}")
        assert getattr(config, name) is getattr(module, name), name
    assert set(config.__all__) <= set(dir(config))


def test_an_unknown_name_is_an_attribute_error_that_names_it() -> None:
    with pytest.raises(AttributeError, match="'Nonsense'"):
        _ = config.Nonsense  # type: ignore[attr-defined]
    with pytest.raises(ImportError):
        exec("from keukentafel.config import Nonsense", {})  # noqa: S102 - the import statement itself


def _modules_after(statement: str) -> set[str]:
    """The modules a new Python has imported after ``statement`` (run as the worker is run)."""
    program = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); {statement}; "
        "print('\\n'.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-P", "-c", program], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_the_vera_worker_starts_without_the_corporation_file_or_the_consent_rules() -> None:
    loaded = _modules_after("from connectors.erp.vera.worker import main")
    assert "keukentafel.config.vera" in loaded  # what its job carries: the VERA settings
    assert "keukentafel.config.corporation" not in loaded
    assert not {name for name in loaded if name.startswith("keukentafel.domain.consent")}
    assert "keukentafel.config.letters" not in loaded


def test_the_package_names_still_load_their_modules_for_the_rest_of_the_program() -> None:
    loaded = _modules_after("from keukentafel.config import load_corporation, LettersConfig")
    assert {"keukentafel.config.corporation", "keukentafel.config.letters"} <= loaded
