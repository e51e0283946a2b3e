"""Templates cannot read secrets: every template renders in Jinja2's sandbox.

A corporation's override is written outside the development team. The known ways out of a Jinja2
template (Python internals through ``__globals__``, ``__class__``, ``__mro__``, names that start
with ``_``) and the known bombs (``range``, repetition) must stop with a template error that names
the file, and must never print a secret of the process.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from keukentafel.letters.context import build_context
from keukentafel.letters.render import TemplateProblem, make_environment, render
from keukentafel.letters.samples import sample_households, sample_letters_config, sample_project

FIXTURES = Path(__file__).parent / "fixtures" / "templates"
SECRET_NAME = "KT_SANDBOX_TEST_SECRET"
SECRET = "s3cr3t-value-that-must-never-print-7f1c"

ESCAPES = [
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ cycler.__init__.__globals__.os.environ['KT_SANDBOX_TEST_SECRET'] }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__['os'].environ }}",
    "{{ joiner.__init__.__globals__.os.environ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ corporation.__class__.__init__ }}",
    "{{ (cycler|attr('__init__')).__globals__ }}",
    "{{ '{0.__class__.__init__.__globals__}'.format(cycler) }}",
    "{% set bomb = range(100000000) %}{{ bomb|length }}",
    "{{ 'x' * 1000000000 }}",
    "{{ [1] * 1000000000 }}",
    "{{ 9 ** 999999999 }}",
]


@pytest.fixture
def hostile_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture templates with an override folder for the sample corporation (WSO)."""
    monkeypatch.setenv(SECRET_NAME, SECRET)
    root = tmp_path / "templates"
    shutil.copytree(FIXTURES, root)
    return root


def _context() -> dict[str, object]:
    return build_context(
        "greeting",
        sample_households()[0],
        letters_config=sample_letters_config(),
        project=sample_project(),
        on=date(2026, 11, 28),
    )


@pytest.mark.parametrize("payload", ESCAPES)
def test_a_hostile_override_fails_with_an_error_naming_its_file(
    hostile_templates: Path, payload: str
) -> None:
    override = hostile_templates / "overrides" / "WSO" / "greeting" / "body.txt"
    override.write_text(f"Beste bewoner,\n{payload}\n", encoding="utf-8")
    env = make_environment(hostile_templates, "WSO")
    with pytest.raises(TemplateProblem) as caught:
        render("greeting", _context(), env=env)
    message = str(caught.value)
    assert str(override) in message  # the file, so the operator knows what to fix
    assert "unsafe" in message
    assert SECRET not in message


def test_the_shipped_and_fixture_templates_still_render(hostile_templates: Path) -> None:
    env = make_environment(hostile_templates, "WSO")
    rendered = render("greeting", _context(), env=env)
    assert rendered.subject and rendered.text and rendered.html
    assert SECRET not in rendered.html + rendered.text


def test_data_that_looks_like_an_escape_stays_data(hostile_templates: Path) -> None:
    ctx = _context()
    corporation = dict(ctx["corporation"])  # type: ignore[call-overload]
    corporation["name"] = "{{ cycler.__init__.__globals__.os.environ }}"
    ctx["corporation"] = corporation
    rendered = render("greeting", ctx, env=make_environment(hostile_templates, "WSO"))
    assert SECRET not in rendered.html + rendered.text


def test_a_missing_templates_folder_is_reported_as_such(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(TemplateProblem, match=r"templates folder .*no-such-folder does not exist"):
        make_environment(missing, "WSO")
