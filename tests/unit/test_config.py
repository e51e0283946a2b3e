"""Corporation files: validated on load, errors name the file, the key and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from keukentafel.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


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


def test_sections_for_letters_and_m365_are_typed_and_validated_on_load(tmp_path: Path) -> None:
    demo = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
    config = load_config(ROOT / "config" / "demo.yaml")
    assert config.letters is not None and config.letters.envelope.width == 90
    assert config.m365 is not None and config.m365.mailbox == "project-dijkwijk@example.org"
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
            load_config(path)
        assert str(path) in str(err.value) and where in str(err.value)
        assert "hunter2" not in str(err.value)


def test_sections_are_optional(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert config.letters is None and config.m365 is None


def test_relative_paths_resolve_next_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = (ROOT / "config" / "demo.yaml").read_text(encoding="utf-8")
    folder = tmp_path / "corporations"
    folder.mkdir()
    text = demo.replace(
        "    website: www.example.org\n",
        "    website: www.example.org\n    logo_path: logo.png\n",
    ).replace(
        "  link_secret_env: KEUKENTAFEL_LINK_SECRET\n",
        "  link_secret_env: KEUKENTAFEL_LINK_SECRET\n  templates_dir: own-templates\n",
    )
    sheet = BASE.replace(
        "  kind: vera\n  vera:\n    base_url: http://127.0.0.1:1\n"
        "    auth: {mode: api_key, api_key_env: VERA_KEY}\n",
        "  kind: spreadsheet\n  spreadsheet:\n    path: export.csv\n"
        "    columns: {unit_code: a, street: b, house_number: c, postcode: d, town: e}\n",
    )
    (folder / "letters.yaml").write_text(text, encoding="utf-8")
    (folder / "sheet.yaml").write_text(sheet, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # a relative path must not depend on the working directory
    letters = load_config(Path("corporations/letters.yaml")).letters
    assert letters is not None
    assert Path(letters.branding.logo_path) == folder.resolve() / "logo.png"
    assert Path(letters.templates_dir) == folder.resolve() / "own-templates"
    spreadsheet = load_config(Path("corporations/sheet.yaml")).source.spreadsheet
    assert spreadsheet is not None and Path(spreadsheet.path) == folder.resolve() / "export.csv"


def test_project_lookup_names_the_known_codes(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert config.project("P").complex_codes == ("C1",)
    with pytest.raises(ConfigError, match=r"no project 'Q'.*known: P"):
        config.project("Q")


def test_mailing_content_validates_the_event_into_the_letters_event(tmp_path: Path) -> None:
    from keukentafel.config.mailing_content import load_mailing_content
    from keukentafel.letters.context import Event

    content = load_mailing_content(ROOT / "config" / "mailings" / "havenkwartier-info_evening.yaml")
    assert isinstance(content.event, Event)
    assert content.event.end > content.event.start and content.mailing_id
    event = """
mailing_id: m-1
event: {event_id: e1, title: T, start: 2027-01-14T19:30:00, end: END,
        location_name: L, location_address: A}
"""
    cases = [
        (event.replace("END", "2027-01-14T18:00:00"), "event: event e1: end is not after start"),
        (event.replace("END", "2027-01-14T21:00:00").replace("A}", "A, room: 4}"), "event.room"),
        (event.replace("END", "tomorrow"), "event.end"),
        ("mailing_id: 'has spaces'\n", "mailing_id"),
    ]
    for text, where in cases:
        path = tmp_path / "content.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_mailing_content(path)
        assert str(path) in str(err.value) and where in str(err.value)
