"""Corporation files: validated on load, errors name the file, the key and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from keukentafel.config import ConfigError, load_config, read_secret

ROOT = Path(__file__).resolve().parents[1]


def test_demo_config_loads() -> None:
    config = load_config(ROOT / "config" / "demo.yaml")
    assert config.corporation.code == "WSD"
    assert config.complexes() == ["CPX-0001", "CPX-0002", "CPX-0003"]
    assert [p.kind.value for p in config.domain_projects()] == ["renovation_occupied", "demolition"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "corp.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = """
corporation: {code: X, name: X}
source:
  kind: vera
  vera:
    base_url: http://127.0.0.1:1
    auth: {mode: api_key, api_key_env: VERA_KEY}
projects:
  - {code: P, name: P, kind: demolition, complexes: [C1]}
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("kind: demolition", "kind: knocking_down"), "projects.0.kind"),
        (("api_key_env: VERA_KEY", "api_key_env: my secret"), "source.vera.auth.api_key_env"),
        (
            ("{mode: api_key, api_key_env: VERA_KEY}", "{mode: oauth2}"),
            "mode oauth2 needs token_url",
        ),
        (("complexes: [C1]", "complexes: []"), "projects.0.complexes"),
        (("base_url: http://127.0.0.1:1", "base_url: ftp://x"), "source.vera.base_url"),
        (("kind: vera\n", "kind: spreadsheet\n"), "the 'spreadsheet' section is missing"),
    ],
)
def test_errors_name_file_key_and_problem(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = write(tmp_path, BASE.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"corporation\.colour"):
        load_config(write(tmp_path, BASE.replace("name: X}", "name: X, colour: red}")))


def test_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "corporation: [unclosed"))


def test_secret_read_by_name_and_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KT_TEST_SECRET", "s3cr3t")
    assert read_secret("KT_TEST_SECRET", "VERA api key") == "s3cr3t"
    monkeypatch.delenv("KT_TEST_SECRET")
    with pytest.raises(ConfigError, match="KT_TEST_SECRET is not set") as err:
        read_secret("KT_TEST_SECRET", "VERA api key")
    assert "s3cr3t" not in str(err.value)


def test_sections_for_letters_and_m365_are_validated_on_load(tmp_path: Path) -> None:
    from keukentafel.bootstrap import letters_config, load_corporation

    demo = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
    config = load_corporation(ROOT / "config" / "demo.yaml")
    assert letters_config(config, ROOT / "config" / "demo.yaml").envelope.width == 90
    cases = [
        (('colour: "#1f5c99"', 'colour: "blue"'), "letters.branding.colour"),
        (
            ("graph_base_url: https://graph.microsoft.com/v1.0", "graph_base_url: http://graph"),
            "m365.graph_base_url",
        ),
        (
            ("client_secret_env: KEUKENTAFEL_DEMO_M365_SECRET", "client_secret: hunter2"),
            "m365.client_secret",
        ),
    ]
    for (old, new), where in cases:
        path = write(tmp_path, demo.replace(old, new))
        with pytest.raises(ConfigError) as err:
            load_corporation(path)
        assert str(path) in str(err.value) and where in str(err.value)
        assert "hunter2" not in str(err.value)
