"""Rendering of one message kind from its templates: subject, HTML, plain text and summary.

This module owns the Jinja2 environment: one per (templates folder, corporation) per process,
made by a factory on first use (never at import), with ``StrictUndefined`` so a missing name is
an error instead of "Beste ,", autoescape for ``.html``/``.htm``/``.xml`` only (``select_autoescape``
decides by suffix), and an override loader: ``templates/overrides/<CORPORATION>/<kind>/<file>``
wins over ``templates/<kind>/<file>``. Templates are only ever loaded from files; data is
always passed as context, never turned into template source.

Every template renders in Jinja2's sandbox (:class:`LetterSandbox`): a template, a corporation's
override included, is written by people outside the development team, and must not reach the
process's memory through Python internals (``cycler.__init__.__globals__`` leads to the ``os``
module and so to every secret in the process's environment). The sandbox refuses attributes
that start with ``_`` and the internals of functions, frames and generators; ``range`` stops at
100,000 items and so does ``*`` here (``**`` takes exponents up to 64). A template that tries is a :class:`TemplateProblem` naming its file, and the
mailing stops before anything is written.

Filters: ``nl_date`` (a date in Dutch) and ``ltr`` for the Dutch fragments of a right-to-left
summary (a URL, a time, a name): it wraps them in Unicode isolates (LRI … PDI), which the plain
text keeps and the HTML turns into ``<bdi dir="ltr">``, so "19.30 uur" and a link read the right
way round inside Arabic text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import MAX_RANGE, SandboxedEnvironment
from markupsafe import escape

from keukentafel.domain.messages import (
    SUMMARY_LANGUAGES,
    KindPolicy,
    MessageKind,
    UnknownMessageKind,
    find_policy,
    policy_of,
)
from keukentafel.letters.context import LETTER_LAYOUT, nl_date

_RESERVED = frozenset({"_base", "overrides"})
_RTL = frozenset({"ar", "fa", "he", "ur"})
_LRI, _PDI = "\u2066", "\u2069"
_ISOLATED = re.compile(f"{_LRI}([^{_LRI}{_PDI}]*){_PDI}")
# Every bidirectional embedding, override and isolate character: data never brings its own
# (an unmatched one would turn the rest of a line around)
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
#: Where a base layout wants the translated summary; without it, the summary ends the body.
SUMMARY_MARKER = "<!-- kt:summary -->"


class TemplateProblem(Exception):
    """A kind that cannot be rendered: unknown, missing a file, or a broken meta.yaml."""


@lru_cache(maxsize=1)
def shipped_templates() -> Path:
    """The templates folder shipped with Keukentafel.

    An installed package carries it as package data (``keukentafel/templates``, mapped from the
    repository's top-level ``templates/`` folder by setup.py). A checkout, or an editable
    install, has no copy inside the package: there it is the folder next to the package.
    """
    packaged = Path(str(resources.files("keukentafel") / "templates"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


@dataclass(frozen=True, slots=True)
class Rendered:
    """One rendered message. ``summary`` is the translated summary, or None for Dutch only."""

    kind: str
    subject: str
    html: str
    text: str
    summary: str | None
    summary_language: str  # "nl" when there is no summary


def _nl_date_filter(value: date | datetime) -> str:
    return nl_date(value.date() if isinstance(value, datetime) else value)


class LetterSandbox(SandboxedEnvironment):
    """Jinja2's sandbox, with the repetition operators bounded like its ``range``.

    ``'x' * 10**9`` would otherwise build a gigabyte string before anything could stop it; a
    repetition over :data:`~jinja2.sandbox.MAX_RANGE` items, or a power with an exponent over 64, is
    a ``SecurityError``, as an over-long ``range`` is.
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and _too_big_power(left, right):
            raise SecurityError("a power with an exponent over 64 is not allowed in a template")
        if operator == "*" and (_too_long(left, right) or _too_long(right, left)):
            raise SecurityError(f"a repetition over {MAX_RANGE} items is not allowed in a template")
        return super().call_binop(context, operator, left, right)


def _too_big_power(base: Any, exponent: Any) -> bool:
    return _is_number(base) and _is_number(exponent) and abs(exponent) > 64 and abs(base) > 1


def _too_long(sequence: Any, times: Any) -> bool:
    return (
        isinstance(sequence, str | list | tuple)
        and isinstance(times, int)
        and len(sequence) * times > MAX_RANGE
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def ltr(value: object) -> str:
    """A Dutch fragment inside a right-to-left text, isolated as left-to-right (LRI … PDI)."""
    return f"{_LRI}{_BIDI_CONTROLS.sub('', str(value))}{_PDI}"


def make_environment(templates_dir: Path | None = None, corporation_code: str = "") -> Environment:
    """A new sandboxed environment over the templates folder, the corporation's overrides first.

    A ``templates_dir`` that is not a folder is a :class:`TemplateProblem` saying so (and not,
    later, an unknown message kind)."""
    if templates_dir and not Path(templates_dir).is_dir():
        raise TemplateProblem(f"the templates folder {templates_dir} does not exist")
    root = Path(templates_dir or shipped_templates())
    loaders = []
    if corporation_code:
        loaders.append(FileSystemLoader(root / "overrides" / corporation_code))
    loaders.append(FileSystemLoader(root))
    env = LetterSandbox(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=select_autoescape(
            enabled_extensions=("html", "htm", "xml"), default_for_string=False, default=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["nl_date"] = _nl_date_filter
    env.filters["ltr"] = ltr
    return env


@lru_cache(maxsize=32)
def get_environment(templates_dir: str = "", corporation_code: str = "") -> Environment:
    """The process-wide environment for a templates folder and corporation (made on first use)."""
    return make_environment(Path(templates_dir) if templates_dir else None, corporation_code)


def templates_root(templates_dir: str | Path | None = None) -> Path:
    return Path(templates_dir) if templates_dir else shipped_templates()


def available_kinds(templates_dir: str | Path | None = None) -> list[str]:
    """The kinds that have a folder with a subject.txt in the templates folder, sorted."""
    root = templates_root(templates_dir)
    if not root.is_dir():
        return []
    return sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_dir() and entry.name not in _RESERVED and (entry / "subject.txt").is_file()
    )


def _source(env: Environment, name: str) -> str | None:
    assert env.loader is not None
    try:
        source, _, _ = env.loader.get_source(env, name)
    except TemplateNotFound:
        return None
    return source


def _meta_file(source: str, name: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(source) or {}
    except yaml.YAMLError as exc:
        raise TemplateProblem(f"{name} is not valid YAML") from exc
    if not isinstance(data, dict):
        raise TemplateProblem(f"{name} must be a mapping")
    return data


def meta_disagreements(policy: KindPolicy, data: Mapping[str, Any]) -> list[str]:
    """Where a meta.yaml contradicts the kind's policy in the registry (empty when it agrees).

    A key the file leaves out says nothing; an unknown key is reported (a typo would otherwise
    look like a setting)."""
    expected = policy.meta()
    problems = [
        f"{key}: {str(data[key]).lower()} here, but the message-kind registry "
        f"(keukentafel/domain/messages.py) says {str(value).lower()}"
        for key, value in expected.items()
        if key in data and data[key] is not value
    ]
    problems += [f"{key}: not a meta.yaml key" for key in sorted(set(data) - set(expected))]
    return problems


@lru_cache(maxsize=512)
def kind_meta(kind: str, env: Environment) -> KindPolicy:
    """The kind's policy, after checking that the meta.yaml the environment finds agrees with it.

    The registry decides; a meta.yaml (shipped or a corporation's override) that says otherwise
    is a TemplateProblem, so a mailing stops before anything is written. Cached per environment
    like the templates themselves (environments do not auto-reload)."""
    try:
        policy = policy_of(kind)
    except UnknownMessageKind as exc:
        raise TemplateProblem(str(exc)) from None
    name = f"{kind}/meta.yaml"
    source = _source(env, name)
    if source is not None:
        problems = meta_disagreements(policy, _meta_file(source, name))
        if problems:
            raise TemplateProblem(f"{name}: " + "; ".join(problems))
    return policy


def check_meta_files(templates_dir: str | Path | None = None) -> dict[str, list[str]]:
    """Every kind folder and meta.yaml, shipped and overrides, against the message-kind registry.

    Returns the problems per path relative to the folder: a kind folder that is not in the
    registry, a registered kind without its folder or its meta.yaml, and every meta.yaml that
    contradicts the registry. Empty when everything agrees."""
    root = templates_root(templates_dir)
    problems: dict[str, list[str]] = {}
    shipped = available_kinds(root)
    for kind in shipped:
        if find_policy(kind) is None:
            problems[f"{kind}/"] = [
                f"not in the message-kind registry (known: {', '.join(MessageKind)})"
            ]
        elif not (root / kind / "meta.yaml").is_file():
            problems[f"{kind}/meta.yaml"] = ["missing"]
    for kind in MessageKind:
        if kind not in shipped:
            problems[f"{kind}/"] = ["a registered message kind without templates"]
    files = sorted(root.glob("*/meta.yaml")) + sorted(root.glob("overrides/*/*/meta.yaml"))
    for path in files:
        name = path.relative_to(root).as_posix()
        policy = find_policy(path.parent.name)
        if policy is None:
            problems.setdefault(name, []).append("meta.yaml of a kind outside the registry")
            continue
        try:
            found = meta_disagreements(policy, _meta_file(path.read_text("utf-8"), name))
        except TemplateProblem as exc:
            found = [str(exc)]
        if found:
            problems.setdefault(name, []).extend(found)
    return problems


@lru_cache(maxsize=512)
def summary_languages(kind: str, env: Environment) -> frozenset[str]:
    """Languages with a summary.<lang>.txt for this kind (overrides included)."""
    return frozenset(
        lang for lang in SUMMARY_LANGUAGES if _source(env, f"{kind}/summary.{lang}.txt") is not None
    )


_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def tidy_text(text: str) -> str:
    """Plain text without trailing spaces and at most one blank line in a row."""
    text = _TRAILING_SPACE.sub("\n", text.replace("\r\n", "\n"))
    return _BLANK_RUNS.sub("\n\n", text).strip() + "\n"


def one_line(text: str) -> str:
    """A subject line: whitespace (and so any newline) collapsed, so no header can be injected."""
    return " ".join(text.split())


def render(
    kind: str,
    ctx: Mapping[str, Any],
    *,
    layout: str | None = None,
    env: Environment | None = None,
    templates_dir: str | Path | None = None,
) -> Rendered:
    """Render one kind. ``layout`` overrides ``ctx['layout']`` (letter or e-mail base)."""
    if env is None:
        code = str(ctx.get("corporation", {}).get("code", ""))
        env = get_environment(str(templates_dir or ""), code)
    if _source(env, f"{kind}/subject.txt") is None:
        raise TemplateProblem(f"unknown message kind {kind!r}: no {kind}/subject.txt")
    values = dict(ctx)
    values["layout"] = layout or values.get("layout") or LETTER_LAYOUT
    subject = one_line(render_file(env, f"{kind}/subject.txt", values))
    if values.get("correction"):
        subject = f"Gewijzigd: {subject}"
    html = render_file(env, f"{kind}/body.html", values)
    text = tidy_text(render_file(env, f"{kind}/body.txt", values))
    language = str(values.get("household", {}).get("language", "nl"))
    summary = None
    if language != "nl":
        name = f"{kind}/summary.{language}.txt"
        if _source(env, name) is not None:
            summary = tidy_text(render_file(env, name, values))
    return Rendered(kind, subject, html, text, summary, language if summary else "nl")


def render_file(env: Environment, name: str, values: Mapping[str, Any]) -> str:
    """One template file rendered; a template the sandbox stops is a :class:`TemplateProblem`
    that names the file (the override's path when an override was used), never a value."""
    template: Template | None = None
    try:
        template = env.get_template(name)
        return template.render(values)
    except (SecurityError, OverflowError) as exc:
        where = (template.filename if template is not None else None) or name
        raise TemplateProblem(f"{where}: the template does something unsafe: {exc}") from None


def _summary_html(block: str) -> str:
    """One paragraph of a summary as HTML: escaped, isolated fragments as ``<bdi dir="ltr">``,
    line breaks as ``<br>`` (escape first: Markup.replace would escape the tags too)."""
    text = str(escape(block))
    text = _ISOLATED.sub(r'<bdi dir="ltr">\1</bdi>', text)
    return "<p>" + _BIDI_CONTROLS.sub("", text).replace("\n", "<br>") + "</p>"


def html_with_summary(rendered: Rendered, *, new_page: bool) -> str:
    """The HTML body with the translated summary (escaped) where the layout marks it
    (``SUMMARY_MARKER``: inside the e-mail's card), else at the end of the body; on its own
    page for print."""
    if rendered.summary is None:
        return rendered.html
    lang = rendered.summary_language
    direction = "rtl" if lang in _RTL else "ltr"
    style = "overflow-wrap: anywhere;" + (" break-before: page;" if new_page else "")
    paragraphs = "".join(_summary_html(b) for b in rendered.summary.strip().split("\n\n"))
    section = (
        f'<section class="kt-summary" lang="{lang}" dir="{direction}" style="{style}">'
        f"{paragraphs}</section>"
    )
    marker = rendered.html.find(SUMMARY_MARKER)
    if marker == -1:
        marker = rendered.html.rfind("</body>")
    if marker == -1:
        return rendered.html + section
    return rendered.html[:marker] + section + rendered.html[marker:]


def text_with_summary(rendered: Rendered) -> str:
    if rendered.summary is None:
        return rendered.text
    return f"{rendered.text}\n----\n\n{rendered.summary}"
