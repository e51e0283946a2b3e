"""The one Dutch vocabulary for tenure, role, channel, language, needs and yes/no."""

from __future__ import annotations

import pytest

from keukentafel.domain.model import PartyRole, PracticalNeed, Tenure
from keukentafel.domain.vocabulary import (
    PreferredChannel,
    Privately,
    channel_word,
    language_code,
    need_word,
    role_word,
    tenure_word,
    word_key,
    yes_no,
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Oekraïens ", "oekraiens"),
        ("Sociale-huur", "sociale huur"),
        ("E-mail", "e mail"),
        ("eigenaar_bewoner", "eigenaar bewoner"),
        ("  Met   Z'N tweeën", "met z'n tweeen"),
        ("-", ""),
    ],
)
def test_one_normaliser_folds_accents_case_and_separators(text: str, key: str) -> None:
    assert word_key(text) == key


@pytest.mark.parametrize(
    ("lookup", "text", "value"),
    [
        (tenure_word, "Privé", Privately.OWNED),  # accents folded: no second spelling needed
        (tenure_word, "vrije-sector", Tenure.CORPORATION_RENTAL),
        (tenure_word, "erfpacht", None),
        (role_word, "MDH", PartyRole.CO_TENANT),
        (role_word, "onderhuurder", None),
        (channel_word, "e-mail", PreferredChannel.EMAIL),
        (channel_word, "GSM", PreferredChannel.MOBILE),  # once only the spreadsheet knew it
        (channel_word, "huisbezoek", PreferredChannel.VISIT),  # once only the team lists did
        (channel_word, "duif", None),
        (language_code, "Oekraïens", "uk"),
        (language_code, "Hongaars", "hu"),  # once only the spreadsheet knew it
        (language_code, "dari", "fa"),  # once only the team lists did
        (language_code, "TR", "tr"),
        (language_code, "Klingon", None),
        (need_word, "tolk nodig", PracticalNeed.INTERPRETER),
        (need_word, "extra_time", PracticalNeed.EXTRA_TIME),
        (need_word, "dementie", None),
    ],
)
def test_one_table_per_vocabulary_and_none_for_an_unknown_word(
    lookup: object, text: str, value: object
) -> None:
    assert callable(lookup)
    assert lookup(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("Ja", True), ("✓", True), ("x", True), ("", False), ("-", False), ("?", None)],
)
def test_yes_no(text: str, value: bool | None) -> None:
    assert yes_no(text) is value
