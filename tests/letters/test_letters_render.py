"""Rendering: strict undefined, autoescape by suffix, overrides, and every shipped kind renders
for every sample household without a hole."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from keukentafel.domain.messages import POLICIES, MessageKind
from keukentafel.domain.model import Household
from keukentafel.letters.context import EMAIL_LAYOUT, LETTER_LAYOUT, build_context
from keukentafel.letters.preview import render_kind_for
from keukentafel.letters.render import (
    TemplateProblem,
    available_kinds,
    get_environment,
    html_with_summary,
    kind_meta,
    make_environment,
    render,
    shipped_templates,
)
from keukentafel.letters.samples import (
    SAMPLE_DATE,
    sample_households,
    sample_letters_config,
    sample_project,
)

FIXTURES = Path(__file__).parent / "fixtures" / "templates"
SECRET = b"test-secret-0123456789abcdef"
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
HOUSEHOLDS = sample_households()
SHIPPED_KINDS = available_kinds(shipped_templates())
SUMMARY_KINDS = {kind for kind, policy in POLICIES.items() if policy.summary_languages}


def _ctx(household: Household, **kw: object) -> dict[str, object]:
    project = kw.pop("project", sample_project())
    return build_context(
        "greeting",
        household,
        letters_config=sample_letters_config(),
        project=project,  # type: ignore[arg-type]
        on=date(2026, 11, 28),
        **kw,  # type: ignore[arg-type]
    )


def _hostile() -> Household:
    return next(h for h in HOUSEHOLDS if h.unit.code == "0018")


def _obrien() -> Household:
    return next(h for h in HOUSEHOLDS if h.unit.code == "0020")


def test_html_is_escaped_and_text_is_not() -> None:
    env = make_environment(FIXTURES)
    rendered = render("greeting", _ctx(_hostile()), env=env)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    # plain text is not HTML: it keeps the characters as they are
    assert "<script>alert(1)</script>" in rendered.text
    # data never becomes template source
    assert "484" not in rendered.html + rendered.text
    # the address block (without the title: "De heer" and "Dhr." would not fit the window)
    assert "<p>{{ 22*22 }} &lt;script&gt;alert(1)&lt;/script&gt;</p>" in rendered.html

    rendered = render("greeting", _ctx(_obrien()), env=env)
    assert "Ö&#39;Brien &amp; Zn." in rendered.html
    assert "Beste medewerker van Ö'Brien & Zn.," in rendered.text


def test_missing_context_key_is_an_error_not_a_hole() -> None:
    env = make_environment(FIXTURES)
    ctx = _ctx(HOUSEHOLDS[0])
    del ctx["contact"]
    with pytest.raises(UndefinedError):
        render("greeting", ctx, env=env)


def test_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(TemplateProblem, match="unknown message kind"):
        render("no_such_kind", _ctx(HOUSEHOLDS[0]), env=make_environment(FIXTURES))


def test_corporation_override_wins() -> None:
    ctx = _ctx(HOUSEHOLDS[0])
    plain = render("greeting", ctx, env=make_environment(FIXTURES))
    overridden = render("greeting", ctx, env=make_environment(FIXTURES, "WSO"))
    assert plain.subject == "Welkom bij Renovatie Zonnehof"
    assert overridden.subject == "Welkom (WSO) bij Renovatie Zonnehof"
    # files the override does not have come from the common folder
    assert overridden.text == plain.text
    # render() picks the corporation's environment from the context by itself
    assert render("greeting", ctx, templates_dir=FIXTURES).subject == overridden.subject


def test_environment_is_made_once_per_folder_and_corporation() -> None:
    assert get_environment(str(FIXTURES), "WSO") is get_environment(str(FIXTURES), "WSO")
    assert get_environment(str(FIXTURES), "WSO") is not get_environment(str(FIXTURES), "")


def test_summary_in_the_residents_language_and_dutch_fallback() -> None:
    env = make_environment(FIXTURES)
    owner = next(h for h in HOUSEHOLDS if h.unit.code == "0022")  # reads English
    turkish = next(h for h in HOUSEHOLDS if h.unit.code == "0002")  # no Turkish summary here
    english = render("greeting", _ctx(owner, summary_languages={"en"}), env=env)
    assert english.summary_language == "en"
    assert english.summary is not None
    assert english.summary.startswith("No rights can be derived from this translation.")
    html = html_with_summary(english, new_page=True)
    assert 'lang="en"' in html and "break-before: page" in html
    section = html[html.index('<section class="kt-summary"') :]
    assert "<p>No rights can be derived from this translation.</p>" in section
    assert "&lt;br&gt;" not in section
    assert section.index("</section>") < section.index("</body>")
    fallback = render("greeting", _ctx(turkish, summary_languages={"en"}), env=env)
    assert (fallback.summary, fallback.summary_language) == (None, "nl")


def test_arabic_summary_is_right_to_left_and_escaped() -> None:
    arabic = next(h for h in HOUSEHOLDS if h.unit.code == "0014")
    rendered = render_kind_for("home_visit", arabic, on=SAMPLE_DATE, secret=SECRET, now=NOW)
    assert rendered.summary_language == "ar"
    html = html_with_summary(rendered, new_page=True)
    assert 'lang="ar" dir="rtl"' in html
    assert "<br>" in html[html.index("kt-summary") :]
    assert "&lt;br&gt;" not in html


def test_kind_meta_is_the_registry_and_a_contradicting_meta_yaml_stops_rendering(
    tmp_path: Path,
) -> None:
    env = make_environment(FIXTURES)
    assert kind_meta("consent_reached", env) == POLICIES[MessageKind.CONSENT_REACHED]  # no file
    with pytest.raises(TemplateProblem, match="unknown message kind 'greeting'"):
        kind_meta("greeting", env)
    override = tmp_path / "overrides" / "WSO" / "proposal"
    override.mkdir(parents=True)
    (override / "meta.yaml").write_text("asks_response: false\nregistered_mail: false\n")
    assert kind_meta("proposal", make_environment(tmp_path)).asks_response
    with pytest.raises(TemplateProblem, match="asks_response: false here, but the message-kind"):
        kind_meta("proposal", make_environment(tmp_path, "WSO"))


def test_subject_is_one_line() -> None:
    env = make_environment(FIXTURES)
    ctx = _ctx(HOUSEHOLDS[0])
    ctx["project"] = {**ctx["project"], "name": "Zonnehof\r\nBcc: x@example.nl"}  # type: ignore[dict-item]
    assert "\n" not in render("greeting", ctx, env=env).subject


def test_every_contract_kind_is_shipped() -> None:
    missing = sorted(set(MessageKind) - set(SHIPPED_KINDS))
    assert not missing, f"kinds without templates: {missing}"


HOLES = ("Beste ,", "Beste  ", ",,", "None", "{{", "}}", "{%", "Undefined")


@pytest.mark.parametrize("kind", SHIPPED_KINDS)
def test_every_shipped_kind_renders_for_every_sample_household(kind: str) -> None:
    for household in HOUSEHOLDS:
        for layout in (LETTER_LAYOUT, EMAIL_LAYOUT):
            rendered = render_kind_for(
                kind, household, on=SAMPLE_DATE, secret=SECRET, now=NOW, layout=layout
            )
            hostile = household.unit.code == "0018"  # its name literally contains "{{ 22*22 }}"
            for part_name, part in (
                ("subject", rendered.subject),
                ("text", rendered.text),
                ("html", rendered.html),
                ("summary", rendered.summary or ""),
            ):
                for hole in HOLES:
                    if hostile and hole in ("{{", "}}"):
                        continue
                    assert hole not in part, (
                        f"{kind}/{part_name} for {household.unit.code}: {hole!r}"
                    )
            assert rendered.subject.strip()
            assert "<script>" not in rendered.html
            salutation_line = next(
                line for line in rendered.text.splitlines() if line.startswith("Beste ")
            )
            assert len(salutation_line) > len("Beste ,")
            summary_kind = kind in SUMMARY_KINDS
            if summary_kind and household.unit.code in ("0002", "0014", "0022"):  # tr, ar, en
                assert rendered.summary is not None, f"{kind}: no summary"


@pytest.mark.parametrize("kind", SHIPPED_KINDS)
def test_summaries_start_with_a_non_binding_notice(kind: str) -> None:
    notices = {
        "en": "No rights can be derived",
        "tr": "hak",
        "ar": "",
    }
    for household in HOUSEHOLDS:
        rendered = render_kind_for(kind, household, on=SAMPLE_DATE, secret=SECRET, now=NOW)
        if rendered.summary is None:
            continue
        first_paragraph = rendered.summary.strip().split("\n\n")[0]
        assert notices[rendered.summary_language] in first_paragraph
        assert first_paragraph.strip()
