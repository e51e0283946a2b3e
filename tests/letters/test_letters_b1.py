"""``letters check``: the B1 readability check (findings on a bad text, a pass on a good one,
the shipped templates) and every meta.yaml held to the message-kind registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from keukentafel.letters.b1 import (
    Severity,
    check_all,
    check_template,
    check_text,
    errors,
    is_long_word,
    report,
    sentences,
    syllables,
)
from keukentafel.letters.render import available_kinds, check_meta_files, shipped_templates

GOOD = """Beste mevrouw De Vries,

Wij gaan uw woning opknappen. U krijgt nieuwe ramen en een nieuw dak.
Het werk begint in het voorjaar. Wij komen eerst bij u langs.
Dan vertellen wij wat er gebeurt. U kunt ook vragen stellen.

Wat moet u doen?
- Lees deze brief goed.
- Bel ons als u iets niet begrijpt.

Heeft u vragen? Bel Sanne Bakker: 020 123 45 67.
Of kijk op https://www.woonstichting-voorbeeld.example/renovatie-zonnehof-uitgebreide-informatie.

Met vriendelijke groet,
Sanne Bakker
"""

BAD = """Geachte heer/mevrouw,

Middels dit schrijven delen wij u mede dat voornoemde werkzaamheden aan uw woning conform de
eerder gecommuniceerde planning zullen worden uitgevoerd, teneinde de energetische prestaties en
de wooncomfortverbeteringsmaatregelen van het gehele wooncomplex te realiseren alsmede de
instandhoudingsverplichtingen na te komen.
Uw reactie dient te worden ontvangen binnen veertien dagen na dagtekening van deze correspondentie
inzake de voorgenomen renovatiewerkzaamheden, waarbij wij ervan uitgaan dat u zulks onverwijld
zult retourneren aan de daartoe aangewezen contactpersoon van de projectorganisatie.
"""


def test_good_text_passes() -> None:
    findings = check_text(GOOD)
    assert errors(findings) == []
    assert not [f for f in findings if f.rule == "long_sentence"]


def test_bad_text_fails_with_line_numbers_and_alternatives() -> None:
    findings = check_text(BAD, passive_hints=True)
    avoid = {(f.line, f.message.split('"')[1]) for f in findings if f.rule == "avoid_word"}
    assert (3, "middels") in avoid
    assert (3, "voornoemde") in avoid
    assert (3, "conform") in avoid
    assert (4, "teneinde") in avoid
    assert (5, "alsmede") in avoid
    assert (7, "dient te") in avoid
    assert (8, "inzake") in avoid
    assert (8, "zulks") in avoid and (8, "onverwijld") in avoid
    assert any('write "met, door"' in f.message for f in findings)
    rules = {f.rule: f.severity for f in findings}
    assert rules["sentence_length"] is Severity.ERROR
    assert rules["long_sentence"] is Severity.WARNING
    assert rules["passive"] is Severity.HINT


def test_many_long_words_fail() -> None:
    text = (
        "De renovatiewerkzaamheden omvatten energiebesparende maatregelen. "
        "De huurverhoging volgt uit de woningwaardering. "
        "De bewonersbegeleider coördineert de planningsafspraken. "
        "Wij verwachten onderhoudswerkzaamheden en installatiewerkzaamheden. "
    ) * 3
    findings = [f for f in check_text(text) if f.rule == "long_words"]
    assert [f.severity for f in findings] == [Severity.ERROR]
    assert "installatiewerkzaamheden" in findings[0].message


def test_words_to_avoid_match_whole_words_only() -> None:
    assert errors(check_text("Wij hebben al gereedschap. Het gebeurt binnen een week.")) == []
    assert [f.message for f in check_text("Dat is reeds gebeurd.")] == ['avoid "reeds": write "al"']


def test_syllables_and_long_words() -> None:
    assert syllables("huis") == 1
    assert syllables("woning") == 2
    assert syllables("bewonersavond") == 5
    assert syllables("bijzonder") == 3  # "ij" is one vowel
    assert is_long_word("renovatievoorstel")
    assert is_long_word("huurverhogingen")  # more than 13 letters
    assert not is_long_word("keuken")


def test_sentences_keep_bullets_apart_and_labels_out() -> None:
    text = (
        "Wanneer: dinsdag 3 maart\nHoe laat: 19.30 uur\n\n- nieuwe ramen\n- een nieuw dak\n"
        "Het onderwerp is: de plannen.\n"
    )
    parsed = sentences(text)
    assert [s.line for s in parsed] == [4, 5, 6]  # the label lines are no sentences


def test_label_lines_do_not_shorten_the_average() -> None:
    long = " ".join(["woord"] * 22) + "."
    labels = "Wat: Bewonersavond\nWanneer: dinsdag 3 maart\nHoe laat: 19.30 uur\nWaar: De Kade\n"
    text = f"{long}\n\n{labels}\n{long}\n\n{labels}"
    findings = check_text(text)
    assert [f.rule for f in errors(findings)] == ["sentence_length"]
    assert "average sentence length 22.0 words" in errors(findings)[0].message


def test_the_check_reads_the_html_letter_and_e_mail(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    shutil.copytree(shipped_templates(), root)
    body = root / "newsletter" / "body.html"
    body.write_text(  # only the HTML says it the official way; the plain text stays plain
        body.read_text(encoding="utf-8").replace(
            "{% block content %}", "{% block content %}\n<p>Gelieve deze brief te bewaren.</p>"
        ),
        encoding="utf-8",
    )
    found = errors(check_template("newsletter", templates_dir=root))
    assert {f.source for f in found} == {"body.html (letter)", "body.html (e-mail)"}
    assert all("gelieve" in f.message for f in found)


@pytest.mark.parametrize("kind", available_kinds(shipped_templates()))
def test_shipped_templates_pass_b1(kind: str) -> None:
    problems = errors(check_template(kind))
    assert problems == [], "\n".join(f"{f.source}:{f.line} {f.message}" for f in problems)


def test_report_counts_errors_per_kind() -> None:
    bad = check_text(BAD, source="body.txt")
    text, error_count = report({"bad_kind": bad, "good_kind": check_text(GOOD)})
    assert error_count == len(errors(bad)) > 0
    assert "bad_kind: FAIL" in text
    assert "good_kind: ok" in text
    assert "body.txt:3" in text  # line numbers for the author


def test_the_shipped_meta_files_agree_with_the_registry() -> None:
    assert check_meta_files() == {}


def test_letters_check_fails_on_a_meta_yaml_that_contradicts_the_registry(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    shipped = shipped_templates()
    shutil.copytree(shipped / "_base", root / "_base")
    shutil.copytree(shipped / "info_evening", root / "info_evening")
    (root / "info_evening" / "meta.yaml").write_text("asks_response: true\nattach_ics: true\n")
    shutil.copytree(shipped / "newsletter", root / "nieuwsbrief")  # a kind nothing could send
    override = root / "overrides" / "WSO" / "consent_reached"
    override.mkdir(parents=True)
    (override / "meta.yaml").write_text("registered_mail: false\nregisterd: true\n")

    text, error_count = report(check_all(root))
    assert error_count > 0
    assert "info_evening: FAIL" in text
    assert (
        "info_evening/meta.yaml  asks_response: true here, but the message-kind registry "
        "(keukentafel/domain/messages.py) says false"
    ) in text
    assert "overrides/WSO/consent_reached/meta.yaml  registered_mail: false here" in text
    assert "registerd: not a meta.yaml key" in text
    assert "nieuwsbrief/  not in the message-kind registry" in text
    assert "newsletter/  a registered message kind without templates" in text
