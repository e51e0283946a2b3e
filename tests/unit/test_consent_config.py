"""The consent profile per project in the corporation file (``projects[].consent``): read by the
consent domain's parser on load, errors naming the file and the key inside the section."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from keukentafel.config import ConfigError, load_config
from keukentafel.domain.consent import ConsentMode, Denominator, PackageKind

ROOT = Path(__file__).resolve().parents[2]

BASE = """
corporation: {code: X, name: X}
source:
  kind: vera
  vera:
    base_url: http://127.0.0.1:1
    auth: {mode: api_key, api_key_env: VERA_KEY}
projects:
  - code: R
    name: Renovatie
    kind: renovation_occupied
    complexes: [C1]
    consent:
      threshold: 0.75
      denominator: respondents
      legal_basis: "announced change: 70% of the tenants who respond"
      min_homes: 12
      consent: per_package
      packages:
        - {code: GEVEL, kind: renovation, title: Gevel}
        - {code: DAK, kind: maintenance, title: Dak}
  - {code: S, name: Sloop, kind: demolition, complexes: [C2]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "corp.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_profile_is_read_into_the_domains_profile(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    profile = config.consent_profile("R")
    assert profile.threshold == Fraction(3, 4)  # exact, never the float 0.75
    assert profile.denominator is Denominator.RESPONDENTS
    assert (profile.min_homes, profile.mode) == (12, ConsentMode.PER_PACKAGE)
    assert [(p.code, p.kind) for p in profile.packages] == [
        ("GEVEL", PackageKind.RENOVATION),
        ("DAK", PackageKind.MAINTENANCE),
    ]
    assert profile.ballots == ("GEVEL",)  # only renovation is voted on
    assert [p.code for p, _ in config.consent_projects()] == ["R"]
    with pytest.raises(ConfigError, match=r"project S has no consent profile: add projects\.1"):
        config.consent_profile("S")
    assert config.model_dump()["projects"][0]["consent"]["threshold"] == "3/4"


def test_the_demo_renovation_project_has_a_profile() -> None:
    config = load_config(ROOT / "config" / "demo.yaml")
    profile = config.consent_profile("DIJK-RENO")
    assert profile.threshold == Fraction(7, 10) and profile.legal_basis


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (("code: DAK, kind", "code: '', kind"), "projects.0.consent.packages.1.code", "empty"),
        (("code: DAK, kind", "code: GEVEL, kind"), "projects.0.consent.packages.1.code", "twice"),
        (("threshold: 0.75", "threshold: 0.6"), "projects.0.consent.threshold", "0.70 and 1.00"),
        (("threshold: 0.75", "threshold: lots"), "projects.0.consent.threshold", "0.70"),
        (
            ('legal_basis: "announced change: 70% of the tenants who respond"', "legal_basis: ''"),
            "projects.0.consent.legal_basis",
            "required",
        ),
        (("min_homes: 12", "min_homes: ten"), "projects.0.consent.min_homes", "whole number"),
        (
            ("denominator: respondents", "denominator: everyone"),
            "projects.0.consent.denominator",
            "all_tenants | respondents",
        ),
        (("kind: maintenance, title", "kind: cosmetic, title"), "packages.1.kind", "renovation"),
        (
            ("min_homes: 12", "min_homes: 12\n      quorum: 3"),
            "projects.0.consent.quorum",
            "unknown",
        ),
        (
            (
                "{code: GEVEL, kind: renovation, title: Gevel}",
                "{code: GEVEL, kind: maintenance, title: Gevel}",
            ),
            "projects.0.consent.packages",
            "at least one package of kind renovation",
        ),
        (
            ("complexes: [C2]}", "complexes: [C2], consent: {legal_basis: x}}"),
            "projects.1.consent",
            "a demolition project has no consent track",
        ),
        (
            ("consent:\n      threshold", "consent: yes\n    other:\n      threshold"),
            "projects.0.consent",
            "must be a mapping",
        ),
    ],
)
def test_errors_name_the_file_and_the_key_inside_the_section(
    tmp_path: Path, change: tuple[str, str], key: str, message: str
) -> None:
    text = BASE.replace(*change)
    assert text != BASE
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    line = next(line for line in str(err.value).splitlines() if key in line)
    assert message in line, str(err.value)
