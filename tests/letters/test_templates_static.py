"""Static checks of the shipped template set in ``templates/``, with nothing but jinja2.

Owns: the folder holds exactly the kinds of the message-kind registry
(``keukentafel.domain.messages``), each ``meta.yaml`` and set of summaries as the registry says;
every template parses; every message kind renders with a complete sample context built
here to the letters contract (see ``templates/README.md``) without a hole; every translated
summary starts with its non-binding notice; HTML escapes a hostile name; owner-occupiers never
read about the 70% rule or a rent increase; the plain texts come out the same with and without
``trim_blocks``/``lstrip_blocks``. Engine-level tests live in ``tests/letters/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from markupsafe import Markup

from keukentafel.domain.messages import POLICIES, policy_of

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

# The kinds come from the registry; the sample contexts below are this test's own oracle.
KINDS = tuple(str(kind) for kind in POLICIES)
SUMMARY_KINDS = tuple(str(kind) for kind, policy in POLICIES.items() if policy.summary_languages)
EVENT_KINDS = tuple(str(kind) for kind, policy in POLICIES.items() if policy.has_slot)
LAYOUTS = ("_base/letter.html", "_base/email.html")

NOTICES = {
    "en": "No rights can be derived from this translation.",
    "tr": "Bu çeviriden hiçbir hak elde edilemez.",
    "ar": "لا يمكن استمداد أي حقوق من هذه الترجمة.",
}

HOSTILE_NAME = "<script>alert(1)</script> Ö'Brien & Zn."
QR_SVG = Markup(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'
)

HOLES = ("Beste ,", "None", "{{", "}}", "{%", "%}", "Undefined", "[]", "{'")


def make_env(*, trim: bool = False) -> jinja2.Environment:
    """An environment like the engine's: StrictUndefined, autoescape for .html only."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=trim,
        lstrip_blocks=trim,
        keep_trailing_newline=True,
    )
    env.filters["nl_date"] = lambda d: f"{d.day} {d:%m} {d.year}"
    env.filters["ltr"] = lambda text: f"\u2066{text}\u2069"
    return env


def _event(kind: str) -> dict[str, Any]:
    at_home = kind in ("home_visit", "appointment_confirmation", "appointment_change")
    return {
        "title": {
            "info_evening": "Bewonersavond renovatie",
            "home_visit": "Keukentafelgesprek",
            "workshop": "Kijken in de modelwoning",
            "milestone_talk": "Mijlpaalgesprek",
        }.get(kind, "Afspraak"),
        "date_text": "dinsdag 3 maart 2026",
        "start_text": "dinsdag 3 maart 2026 om 19.30 uur",
        "time_text": "19.30 uur",
        "end_time_text": "21.00 uur",
        "location_name": "Bij u thuis" if at_home else "Buurthuis De Linde",
        "location_address": "Dorpsstraat 12 A, Amsterdam" if at_home else "Lindelaan 4, Amsterdam",
        "online_url": "" if at_home else "https://meet.example.nl/bewonersavond",
    }


def _details(kind: str) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = {
        "announcement": {
            "works_summary": ["Nieuwe kozijnen met dubbel glas", "Isolatie van dak en gevel"],
            "start_period_text": "het voorjaar van 2027",
            "moving_out": False,
        },
        "proposal": {
            "packages": [
                {
                    "code": "ISO",
                    "title": "Isolatie van dak en gevel",
                    "description": "Uw woning wordt warmer en zuiniger.",
                    "is_renovation": True,
                    "rent_increase_text": "€ 25,00 per maand",
                },
                {
                    "code": "BAD",
                    "title": "Nieuwe badkamer",
                    "description": "Een nieuwe douche, wastafel en toilet.",
                    "is_renovation": True,
                    "rent_increase_text": "",
                },
                {
                    "code": "DAK",
                    "title": "Nieuwe dakgoten",
                    "description": "Wij vervangen de oude dakgoten.",
                    "is_renovation": False,
                    "rent_increase_text": "",
                },
            ],
            "moving_allowance_text": "€ 7.428",
            "social_plan_url": "https://www.example.nl/sociaalplan",
        },
        "reminder": {"original_letter_date_text": "2 november 2026"},
        "consent_reached": {
            "share_text": "74%",
            "notice_date_text": "28 november 2026",
            "objection_deadline_text": "23 januari 2027",
            "court_name": "kantonrechter",
        },
        "appointment_confirmation": {"purpose": "keukentafelgesprek", "previous_start_text": ""},
        "appointment_change": {
            "purpose": "opname",
            "previous_start_text": "maandag 2 maart 2026 om 10.00 uur",
        },
        "delay_notice": {
            "reason_text": "Het heeft veel geregend. Daardoor kon de aannemer niet aan het dak werken.",
            "new_period_text": "april 2027",
        },
        "newsletter": {
            "items": [
                {"title": "De modelwoning is klaar", "text": "U kunt de modelwoning bekijken."},
                {"title": "Nieuwe bewonerscommissie", "text": "Drie bewoners doen mee."},
            ]
        },
        "info_evening": {"topic": "de plannen voor uw woning"},
        "home_visit": {"topic": "uw wensen en de plannen", "reschedule_hint": True},
        "workshop": {"topic": "de nieuwe keuken en badkamer"},
        "milestone_talk": {"topic": "de oplevering van uw woning"},
    }
    return table[kind]


def asks_response(kind: str) -> bool:
    meta = TEMPLATES / kind / "meta.yaml"
    return bool(meta.is_file() and yaml.safe_load(meta.read_text()).get("asks_response"))


def make_context(
    kind: str,
    *,
    layout: str = "_base/letter.html",
    salutation: str = "Beste mevrouw De Vries",
    name_line: str = "Mevrouw J. de Vries",
    owner: bool = False,
    language: str = "nl",
    with_response: bool | None = None,
    with_event: bool | None = None,
    registered: bool = False,
    project_kind: str = "renovation_occupied",
    envelope: tuple[float, float, float, float] = (20.0, 50.0, 90.0, 35.0),
    corrected: bool = False,
) -> dict[str, Any]:
    """A complete context to the contract; every key present, as the engine must provide."""
    if with_response is None:
        with_response = asks_response(kind)
    if with_event is None:
        with_event = kind in EVENT_KINDS
    x, y, w, h = envelope
    return {
        "corporation": {
            "name": "Woonstichting Voorbeeld",
            "logo_url": "",
            "colour": "#1f5c99",
            "return_address": "Woonstichting Voorbeeld, Postbus 12, 1000 AA  AMSTERDAM",
            "website": "www.woonstichting-voorbeeld.nl",
        },
        "project": {"code": "P-2026-01", "name": "Lindebuurt", "kind": project_kind},
        "contact": {
            "name": "Fatima El Amrani",
            "role": "bewonersbegeleider",
            "phone": "020 123 45 67",
            "email": "f.elamrani@example.nl",
        },
        "household": {
            "unit_code": "VHE-0042",
            "salutation": salutation,
            "address_lines": [name_line, "Dorpsstraat 12 A", "1234 AB  AMSTERDAM"],
            "street_line": "Dorpsstraat 12 A",
            "language": language,
            "is_owner_occupier": owner,
        },
        "letter": {
            "date_text": "28 november 2026",
            "reference": "P-2026-01/VHE-0042/" + kind,
            "registered": registered,
        },
        "response": (
            {
                "url": "https://bewoners.example.nl/r/v1.abcDEF123",
                "qr_svg": QR_SVG,
                "deadline_text": "vrijdag 12 december 2026",
                "code": "KM7R4 TXHAC",
                "start_address": "bewoners.example.nl/p/P-2026-01",
            }
            if with_response
            else None
        ),
        "event": _event(kind) if with_event else None,
        "details": _details(kind),
        "correction": (
            {
                "corrects": "avond-1",
                "headline": "De datum en de tijd zijn veranderd.",
                "original_date_text": "14 november 2026",
                "rows": [
                    {
                        "label": "Datum",
                        "was": "dinsdag 8 december 2026",
                        "now": "dinsdag 15 december 2026",
                    },
                    {
                        "label": "Tijd",
                        "was": "19.30 uur tot 21.00 uur",
                        "now": "20.00 uur tot 21.30 uur",
                    },
                ],
            }
            if corrected
            else None
        ),
        "envelope": {
            "x_mm": x,
            "y_mm": y,
            "width_mm": w,
            "height_mm": h,
            "inset_mm": 4.0,
            "address_pt": 11.0,
            "line_height": 1.15,
            "return_pt": 7.0,
            "return_line_height": 1.2,
            "return_top_mm": 2.0,
        },
        "layout": layout,
    }


def render(env: jinja2.Environment, kind: str, name: str, ctx: dict[str, Any]) -> str:
    return env.get_template(f"{kind}/{name}").render(ctx)


def variants(kind: str) -> Iterator[dict[str, Any]]:
    """Contexts that flip every switch a template branches on."""
    yield make_context(kind)
    yield make_context(
        kind,
        salutation="Beste bewoner(s) van Dorpsstraat 12 A",
        name_line="De bewoner(s) van",
        with_response=not asks_response(kind),
        registered=True,
        project_kind="renovation_moved_out",
    )
    yield make_context(kind, owner=True, project_kind="demolition", envelope=(115, 45, 85, 40))
    yield make_context(kind, with_event=False, project_kind="major_maintenance", corrected=True)


def visible_text(html: str) -> str:
    """The HTML without <style>, tags and comments, to look for holes in what a reader sees."""
    html = re.sub(r"<style.*?</style>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


# --------------------------------------------------------------------------- structure


def test_the_folder_holds_exactly_the_registered_kinds() -> None:
    folders = {p.name for p in TEMPLATES.iterdir() if p.is_dir()} - {"_base", "overrides"}
    assert folders == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_its_files_and_meta_as_the_registry_says(kind: str) -> None:
    policy = policy_of(kind)
    for name in ("subject.txt", "body.html", "body.txt", "meta.yaml"):
        assert (TEMPLATES / kind / name).is_file(), f"{kind}/{name} missing"
    meta = yaml.safe_load((TEMPLATES / kind / "meta.yaml").read_text(encoding="utf-8"))
    assert meta == policy.meta()
    summaries = {p.name.split(".")[1] for p in (TEMPLATES / kind).glob("summary.*.txt")}
    assert summaries == set(policy.summary_languages)
    assert summaries <= set(NOTICES)


def test_every_template_parses() -> None:
    env = make_env()
    names = env.list_templates(filter_func=lambda n: n.endswith((".html", ".txt")))
    assert len(names) >= len(KINDS) * 3 + len(SUMMARY_KINDS) * 3 + 4
    for name in names:
        env.get_template(name)  # raises TemplateSyntaxError on a broken template


def test_meta_files_use_known_keys() -> None:
    known = {"asks_response", "registered_mail", "attach_ics"}
    for meta in TEMPLATES.glob("*/meta.yaml"):
        data = yaml.safe_load(meta.read_text())
        assert set(data) <= known, meta
        assert all(isinstance(v, bool) for v in data.values()), meta
    assert yaml.safe_load((TEMPLATES / "consent_reached" / "meta.yaml").read_text())[
        "registered_mail"
    ]


def test_letter_base_avoids_position_fixed_and_uses_margin_boxes() -> None:
    html = render(make_env(), "proposal", "body.html", make_context("proposal"))
    flat = re.sub(r"\s+", " ", html)
    assert not re.search(r"position:\s*fixed", flat)
    assert '@bottom-center { content: "Pagina " counter(page) " van " counter(pages);' in flat
    assert "string(sender)" in flat and "string-set: sender" in flat


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("kind", KINDS)
def test_kind_renders_without_holes(kind: str) -> None:
    env = make_env()
    for ctx in variants(kind):
        for layout in LAYOUTS:
            ctx = {**ctx, "layout": layout}
            html = render(env, kind, "body.html", ctx)
            text = visible_text(html)
            for hole in HOLES:
                assert hole not in text, f"{kind} {layout}: {hole!r}"
            assert "mevrouw De Vries," in text or "bewoner(s) van Dorpsstraat 12 A," in text
            assert ctx["contact"]["phone"] in text
        body = render(env, kind, "body.txt", ctx)
        subject = render(env, kind, "subject.txt", ctx).strip()
        for hole in HOLES:
            assert hole not in body, f"{kind} body.txt: {hole!r}"
            assert hole not in subject, f"{kind} subject.txt: {hole!r}"
        assert subject and "\n" not in subject
        assert ctx["household"]["salutation"] + ",\n" in body
        assert ctx["contact"]["name"] in body and ctx["contact"]["phone"] in body


@pytest.mark.parametrize("kind", SUMMARY_KINDS)
def test_summaries_start_with_the_non_binding_notice(kind: str) -> None:
    env = make_env()
    for ctx in variants(kind):
        for lang, notice in NOTICES.items():
            out = render(
                env,
                kind,
                f"summary.{lang}.txt",
                {**ctx, "household": {**ctx["household"], "language": lang}},
            )
            first = out.strip().splitlines()[0]
            assert first.startswith(notice), f"{kind}.{lang}: {first!r}"
            for hole in HOLES:
                assert hole not in out, f"{kind}.{lang}: {hole!r}"
            assert ctx["contact"]["phone"] in out
            if ctx["event"] is not None:
                assert ctx["event"]["date_text"] in out and ctx["event"]["location_name"] in out


@pytest.mark.parametrize("kind", KINDS)
def test_plain_text_is_the_same_with_and_without_trim_blocks(kind: str) -> None:
    plain, trimmed = make_env(), make_env(trim=True)
    names = ["body.txt", "subject.txt"]
    if kind in SUMMARY_KINDS:
        names += [f"summary.{lang}.txt" for lang in NOTICES]
    for ctx in variants(kind):
        for name in names:
            a = render(plain, kind, name, ctx).rstrip()
            b = render(trimmed, kind, name, ctx).rstrip()
            assert a == b, f"{kind}/{name} depends on trim_blocks"
            assert "\n\n\n" not in a, f"{kind}/{name} has a double blank line"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("kind", ["home_visit", "proposal", "consent_reached"])
def test_html_escapes_a_hostile_name(kind: str, layout: str) -> None:
    env = make_env()
    ctx = make_context(
        kind, layout=layout, salutation=f"Beste {HOSTILE_NAME}", name_line=HOSTILE_NAME
    )
    ctx["project"]["name"] = "{{ 22*22 }} <b>"
    html = render(env, kind, "body.html", ctx)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ö&#39;Brien &amp; Zn.," in html
    assert "484" not in html and "<b>" not in html  # data is never evaluated as a template
    if ctx["response"] is not None and layout.endswith("letter.html"):
        assert str(QR_SVG) in html  # the engine's marked-safe SVG stays markup


def test_letter_places_the_address_block_from_the_envelope() -> None:
    env = make_env()
    html = render(
        env, "announcement", "body.html", make_context("announcement", envelope=(22, 48, 95, 40))
    )
    # The page margins are 15 mm (top) and 20 mm (left); `.letter` starts at the page area.
    window = re.search(r"\.address-window \{([^}]*)\}", html)
    assert window is not None
    rules = re.sub(r"\s+", " ", window.group(1))
    assert "position: absolute" in rules
    assert "left: 2.00mm" in rules and "top: 33.00mm" in rules
    assert "width: 95.00mm" in rules and "height: 40.00mm" in rules
    # The return address is the first line inside the window, above the address lines.
    inside = html[html.index('<div class="address-window">') :]
    assert (
        inside.index("Postbus 12") < inside.index("Mevrouw J. de Vries") < inside.index("1234 AB")
    )


# --------------------------------------------------------------------------- legal content


def test_consent_reached_states_the_court_route_and_the_end_date() -> None:
    env = make_env()
    ctx = make_context("consent_reached", registered=True)
    for text in (
        render(env, "consent_reached", "body.txt", ctx),
        visible_text(render(env, "consent_reached", "body.html", ctx)),
    ):
        flat = re.sub(r"\s+", " ", text)
        assert "74% van de huurders" in flat
        assert "kantonrechter" in flat
        assert "8 weken" in flat
        assert "23 januari 2027" in flat  # the end of the 8 weeks
        assert "28 november 2026" in flat  # the notice date the period runs from
        assert "gebonden aan het voorstel" in flat
        assert "7:220" in flat


def test_proposal_has_one_form_per_tenancy_and_a_choice_per_renovation_package() -> None:
    env = make_env()
    ctx = make_context("proposal")
    html = render(env, "proposal", "body.html", ctx)
    text = re.sub(r"\s+", " ", visible_text(html))
    assert "Akkoordverklaring" in text
    assert "één formulier per woning" in text.lower()
    assert "medehuurder" in text
    # A ja/nee choice for each renovation package, none for maintenance.
    assert html.count('class="choice-row"') == 2
    assert "Nieuwe dakgoten" in text and "onderhoud" in text.lower()
    assert "€ 25,00 per maand" in text
    assert "vrijdag 12 december 2026" in text
    assert ctx["response"]["url"] in text
    assert "per post" in text.lower() or "envelop" in text.lower()
    assert "bel" in text.lower()


@pytest.mark.parametrize("applies", [True, False])
def test_proposal_explains_the_70_percent_rule_only_where_it_applies(applies: bool) -> None:
    env = make_env()
    ctx = make_context("proposal")
    ctx["details"] = {**ctx["details"], "presumption_applies": applies}
    for out in (
        render(env, "proposal", "body.txt", ctx),
        visible_text(render(env, "proposal", "body.html", ctx)),
    ):
        flat = re.sub(r"\s+", " ", out)
        assert ("70 procent" in flat) is applies
        assert ("de rechter beslissen" in flat) is not applies


@pytest.mark.parametrize("kind", ["proposal", "consent_reached", "reminder"])
def test_owner_occupiers_never_read_about_the_70_rule_or_rent(kind: str) -> None:
    env = make_env()
    for layout in LAYOUTS:
        ctx = make_context(kind, owner=True, layout=layout)
        bodies = (
            visible_text(render(env, kind, "body.html", ctx)),
            render(env, kind, "body.txt", ctx),
        )
        for out in (*bodies, render(env, kind, "subject.txt", ctx)):
            low = out.lower()
            assert "70" not in low and "74%" not in low
            assert "huurverhoging" not in low and "huur gaat" not in low
            assert "kantonrechter" not in low and "akkoordverklaring" not in low
        if kind != "reminder":
            assert all("VvE" in body for body in bodies)


def test_contract_date_filter_is_not_required() -> None:
    """Templates use the ready-made *_text strings; the optional filter stays optional."""
    for path in TEMPLATES.rglob("*"):
        if path.suffix in (".html", ".txt"):
            assert "nl_date" not in path.read_text(), path


def test_readme_documents_every_kind() -> None:
    readme = (TEMPLATES / "README.md").read_text()
    for kind in KINDS:
        assert f"`{kind}`" in readme, kind
