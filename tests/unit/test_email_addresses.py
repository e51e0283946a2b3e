"""E-mail addresses at import: email-validator's verdict, and the fast path pinned to it."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email

from connectors.email_addresses import _plain, check_email
from connectors.fakes.vera_data import generate_dataset

EDGES = [
    "jan@example.com",
    "Jan.Jansen+post@Example.COM",
    "o'brien@example.co.uk",
    "a!#$%&'*+/=?^_`{|}~-b@example.nl",
    "x@a-b.example",
    "x@a--b.example",  # hyphens in the third and fourth place: IDNA rules
    "x@xn--bcher-kva.example",
    "x@xn--abc.example",
    "x@bücher.example",
    "ayşe@example.com",
    "x@example.test",
    "x@sub.example.local",
    "x@localhost",
    "x@example",
    "x@example.c",
    "x@example.123",
    "x@-example.com",
    "x@example-.com",
    ".x@example.com",
    "x.@example.com",
    "x..y@example.com",
    "x@example..com",
    "x@.example.com",
    "x@example.com.",
    "x@exa_mple.com",
    "X@EXAMPLE.COM",
    "x@example.c0m",
    "x@example.-com",
    "x@1.2.3.4",
    "x@@example.com",
    "x@ex@ample.com",
    '"x y"@example.com',
    "x@[192.0.2.1]",
    "x" * 64 + "@example.com",
    "x" * 65 + "@example.com",
    "x@" + "a" * 63 + ".example",
    "x@" + "a" * 64 + ".example",
    "x@" + ".".join(["a" * 60] * 4) + ".com",
    "",
    "@example.com",
    "x@",
    "x y@example.com",
    "x@example.com; y@example.com",
    "<script>alert(1)</script>@example.com",
    "{{ user }}@example.com",
]


def _reference(text: str) -> tuple[str, bool]:
    """What email-validator alone says: the stored form, and whether it is usable."""
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return text, False
    return f"{checked.local_part}@{checked.ascii_domain}", True


def test_the_fast_path_gives_exactly_what_email_validator_gives() -> None:
    generated = [
        contact["waarde"]
        for relation in generate_dataset(3000, seed=5).relations
        for contact in relation.get("contactgegevens", [])
        if contact["soort"]["code"] == "EMA"
    ]
    assert len(generated) > 1000
    fast = 0
    for text in [*generated, *EDGES]:
        value, problem = check_email(text)
        assert (value, not problem) == _reference(text), text
        fast += _plain(text) is not None
    assert fast >= len(generated)  # the generated ones all take the fast path


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("geen", "it has no @-sign"),
        ("x@example.test", "its domain is a reserved name that cannot receive e-mail"),
        ("x y@example.com", "the part before the @-sign is not valid"),
        ("x@example", "the part after the @-sign is not a valid domain"),
        ("x@example.com; y@example.com", "the part after the @-sign is not a valid domain"),
    ],
)
def test_a_problem_says_why_without_the_address(text: str, reason: str) -> None:
    value, problem = check_email(text)
    assert value == text
    assert problem == "e-mail address not usable: " + reason
