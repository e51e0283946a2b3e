"""Rendering of one message kind from its templates: subject, HTML, plain text and summary.

This module owns the Jinja2 environment: one per (templates folder, corporation) per process,
made by a factory on first use (never at import), with ``StrictUndefined`` so a missing name is
an error instead of "Beste ,", autoescape for ``.html``/``.htm``/``.xml`` only (``select_autoescape``
decides by suffix), and an override loader: ``templates/overrides/<CORPORATION>/<kind>/<file>``
wins over ``templates/<kind>/<file>``. Templates are only ever loaded from files; data is
always passed as context, never turned into template source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)
from markupsafe import escape

from keukentafel.letters.context import (
    EVENT_KINDS,
    LETTER_LAYOUT,
    SUMMARY_LANGUAGES,
    nl_date,
)

SHIPPED_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
_RESERVED = frozenset({"_base", "overrides"})
_RTL = frozenset({"ar", "fa", "he", "ur"})


class TemplateProblem(Exception):
    """A kind that cannot be rendered: unknown, missing a file, or a broken meta.yaml."""


@dataclass(frozen=True, slots=True)
class KindMeta:
    asks_response: bool
    registered_mail: bool
    attach_ics: bool


_DEFAULT_ASKS = frozenset({*EVENT_KINDS, "proposal", "reminder"})
_DEFAULT_ICS = frozenset({*EVENT_KINDS, "appointment_confirmation", "appointment_change"})


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


def make_environment(templates_dir: Path | None = None, corporation_code: str = "") -> Environment:
    """A new environment over the templates folder, with the corporation's overrides first."""
    root = Path(templates_dir or SHIPPED_TEMPLATES)
    loaders = []
    if corporation_code:
        loaders.append(FileSystemLoader(root / "overrides" / corporation_code))
    loaders.append(FileSystemLoader(root))
    env = Environment(
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
    return env


@lru_cache(maxsize=32)
def get_environment(templates_dir: str = "", corporation_code: str = "") -> Environment:
    """The process-wide environment for a templates folder and corporation (made on first use)."""
    return make_environment(Path(templates_dir) if templates_dir else None, corporation_code)


def templates_root(templates_dir: str | Path | None = None) -> Path:
    return Path(templates_dir) if templates_dir else SHIPPED_TEMPLATES


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


@lru_cache(maxsize=512)
def kind_meta(kind: str, env: Environment) -> KindMeta:
    """The kind's meta.yaml, with contract defaults for anything it does not say.

    Cached per environment like the templates themselves (environments do not auto-reload)."""
    source = _source(env, f"{kind}/meta.yaml")
    data: Any = {}
    if source is not None:
        try:
            data = yaml.safe_load(source) or {}
        except yaml.YAMLError as exc:
            raise TemplateProblem(f"{kind}/meta.yaml is not valid YAML") from exc
        if not isinstance(data, dict):
            raise TemplateProblem(f"{kind}/meta.yaml must be a mapping")
    return KindMeta(
        asks_response=bool(data.get("asks_response", kind in _DEFAULT_ASKS)),
        registered_mail=bool(data.get("registered_mail", kind == "consent_reached")),
        attach_ics=bool(data.get("attach_ics", kind in _DEFAULT_ICS)),
    )


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
    subject = one_line(env.get_template(f"{kind}/subject.txt").render(values))
    html = env.get_template(f"{kind}/body.html").render(values)
    text = tidy_text(env.get_template(f"{kind}/body.txt").render(values))
    language = str(values.get("household", {}).get("language", "nl"))
    summary = None
    if language != "nl":
        name = f"{kind}/summary.{language}.txt"
        if _source(env, name) is not None:
            summary = tidy_text(env.get_template(name).render(values))
    return Rendered(kind, subject, html, text, summary, language if summary else "nl")


def html_with_summary(rendered: Rendered, *, new_page: bool) -> str:
    """The HTML body with the translated summary appended (escaped), on its own page for print."""
    if rendered.summary is None:
        return rendered.html
    lang = rendered.summary_language
    direction = "rtl" if lang in _RTL else "ltr"
    style = "overflow-wrap: anywhere;" + (" break-before: page;" if new_page else "")
    # escape first, then add the line breaks (Markup.replace would escape the "<br>" too)
    paragraphs = "".join(
        "<p>" + str(escape(block)).replace("\n", "<br>") + "</p>"
        for block in rendered.summary.strip().split("\n\n")
    )
    section = (
        f'<section class="kt-summary" lang="{lang}" dir="{direction}" style="{style}">'
        f"{paragraphs}</section>"
    )
    marker = rendered.html.rfind("</body>")
    if marker == -1:
        return rendered.html + section
    return rendered.html[:marker] + section + rendered.html[marker:]


def text_with_summary(rendered: Rendered) -> str:
    if rendered.summary is None:
        return rendered.text
    return f"{rendered.text}\n----\n\n{rendered.summary}"
