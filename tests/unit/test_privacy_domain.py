"""Retention rules, pseudonyms, audit events and the export document: pure, no store."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from keukentafel.config import ConfigError, load_config
from keukentafel.domain.access_export import (
    AccessExport,
    ExportField,
    ExportItem,
    ExportSection,
    readable_text,
)
from keukentafel.domain.audit import AuditEvent, AuditKind, InvalidAuditEvent
from keukentafel.domain.retention import (
    DEFAULT_RETENTION_MONTHS,
    ProjectRetention,
    Pseudonyms,
    PurgeTally,
    add_months,
    is_pseudonym,
    kept_complexes,
    plan_retention,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2024, 8, 31), 6, date(2025, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2024, 1, 15), 24, date(2026, 1, 15)),
        (date(2024, 11, 30), 1, date(2024, 12, 30)),
        (date(2024, 12, 31), 0, date(2024, 12, 31)),
        (date(2024, 12, 31), 14, date(2026, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_a_project_is_due_the_day_after_its_keep_until() -> None:
    project = ProjectRetention("P", ("C1",), date(2024, 3, 31), 12)
    assert project.keep_until == date(2025, 3, 31)
    assert not project.is_due(date(2025, 3, 31))
    assert project.is_due(date(2025, 4, 1))
    running = ProjectRetention("R", ("C2",))
    assert running.keep_until is None and not running.is_due(date(2100, 1, 1))
    assert running.retention_months == DEFAULT_RETENTION_MONTHS


def test_a_complex_shared_with_a_project_that_keeps_its_data_is_kept() -> None:
    closed = ProjectRetention("OLD", ("C1", "C2"), date(2020, 1, 1), 12)
    within = ProjectRetention("RECENT", ("C3",), date(2024, 6, 1), 24)
    running = ProjectRetention("NEW", ("C2", "C4"))
    plan = plan_retention([closed, within, running], date(2025, 1, 1))
    assert plan.due_codes == ("OLD",)
    assert plan.purge_complexes == {"C1"}
    assert plan.shared_complexes == {"C2"}
    assert kept_complexes([closed, within, running], date(2025, 1, 1)) == ["C3", "C2", "C4"]


def test_pseudonyms_are_stable_per_unit_and_carry_nothing_of_the_person() -> None:
    pseudonyms = Pseudonyms({"VHE1": ["R7", "R3"], "VHE2": ["R3"]})
    assert pseudonyms.of("VHE1", "R7") == "anon-1"
    assert pseudonyms.of("VHE1", "R3") == "anon-2"
    assert pseudonyms.of("VHE2", "R3") == "anon-1"
    assert pseudonyms.of("VHE1", "R9") == "anon-3"  # not on a lease: the next number, once
    assert pseudonyms.of("VHE1", "R9") == "anon-3"
    assert pseudonyms.of("VHE1", "anon-2") == "anon-2"  # pseudonymising again changes nothing
    assert pseudonyms.first_unit_of("R3") == "VHE1"
    assert is_pseudonym("anon-12") and not is_pseudonym("R12") and not is_pseudonym("anon-0")


def test_the_tally_counts_per_kind_and_names_units_only_when_something_went() -> None:
    tally = PurgeTally()
    tally.add("residents", {"VHE1": 2, "VHE2": 0})
    tally.add("leases", {})
    tally.add("kept_aside_rows_emptied", {"": 1})
    assert tally.counts == {"residents": 2, "leases": 0, "kept_aside_rows_emptied": 1}
    assert tally.units == {"VHE1"} and tally.removed == 3


BASE = """
corporation: {code: X, name: X}
source:
  kind: vera
  vera:
    base_url: http://127.0.0.1:1
    auth: {mode: api_key, api_key_env: VERA_KEY}
projects:
"""


def _config(tmp_path: Path, projects: str) -> Path:
    path = tmp_path / "corp.yaml"
    path.write_text(BASE + projects, encoding="utf-8")
    return path


def test_retention_in_the_corporation_file(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        "  - {code: OLD, name: O, kind: demolition, complexes: [C1, C2], end_date: 2020-06-30,"
        " retention_months: 6}\n"
        "  - {code: NEW, name: N, kind: demolition, complexes: [C2, C3]}\n",
    )
    config = load_config(path)
    old, new = config.retention()
    assert (old.end_date, old.retention_months, old.keep_until) == (
        date(2020, 6, 30),
        6,
        date(2020, 12, 30),
    )
    assert new.end_date is None and new.retention_months == DEFAULT_RETENTION_MONTHS
    # The sync and the team pull no longer read a complex only a due project holds.
    assert config.complexes(date(2020, 12, 30)) == ["C1", "C2", "C3"]
    assert config.complexes(date(2020, 12, 31)) == ["C2", "C3"]
    assert config.complexes() == ["C2", "C3"]


def test_the_sync_scope_counts_retention_in_amsterdam_days_whatever_the_machines_zone(
    tmp_path: Path, machine_on_another_day: date
) -> None:
    from tests.builders import local_today

    today = local_today()
    last_kept = min(today, machine_on_another_day)  # due from the next day
    path = _config(
        tmp_path,
        f"  - {{code: OLD, name: O, kind: demolition, complexes: [C1], end_date: {last_kept},"
        " retention_months: 0}\n"
        "  - {code: NEW, name: N, kind: demolition, complexes: [C2]}\n",
    )
    config = load_config(path)
    assert config.complexes() == config.complexes(today)
    assert config.complexes(today) != config.complexes(machine_on_another_day)


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("end_date: 2020-02-30", "projects.0.end_date"),
        ("end_date: soon", "projects.0.end_date"),
        ("retention_months: -1", "projects.0.retention_months"),
        ("retention_months: 121", "projects.0.retention_months"),
        ("retention: 12", "projects.0.retention"),
    ],
)
def test_a_wrong_retention_names_the_file_and_key(tmp_path: Path, extra: str, key: str) -> None:
    path = _config(
        tmp_path, f"  - {{code: P, name: P, kind: demolition, complexes: [C], {extra}}}\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(path) in str(raised.value) and key in str(raised.value)


def test_the_demo_file_keeps_every_project_running() -> None:
    config = load_config(ROOT / "config" / "demo.yaml")
    assert all(p.end_date is None for p in config.retention())


# --- audit events ---------------------------------------------------------------------------


def test_an_audit_event_holds_identifiers_and_counts_and_is_kept_in_utc() -> None:
    at = datetime(2026, 12, 8, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    event = AuditEvent(
        AuditKind.PERSONAL_DATA_EXPORTED,
        "WSD",
        "cli:jan",
        at=at,
        unit_code="VHE00012",
        subject="export:20261208T090000",
        detail={"messages": 3, "projects": ["DIJK-RENO"], "complete": True},
    )
    assert event.at == datetime(2026, 12, 8, 9, 0) and event.at.tzinfo is None
    assert event.detail["projects"] == ("DIJK-RENO",)
    assert AuditEvent("consent_changed", "WSD", "web:abc", at=datetime.now(UTC)).kind is (  # type: ignore[arg-type]
        AuditKind.CONSENT_CHANGED
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"unit_code": "Jan Jansen"}, "unit_code"),
        ({"subject": "note about Jansen"}, "subject"),
        ({"actor": ""}, "actor"),
        ({"detail": {"name": "Piet de Vries"}}, "detail.name"),
        ({"detail": {"names": ["A", "Piet de Vries"]}}, "detail.names[]"),
        ({"detail": {"when": 1.5}}, "detail.when"),
        ({"kind": "looked_around"}, "kind"),
    ],
)
def test_free_text_cannot_get_into_the_audit_log(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "kind": AuditKind.RESTRICTED_NOTE_VIEWED,
        "corporation_code": "WSD",
        "actor": "web:abc",
        "at": datetime(2026, 1, 1),
        **changes,
    }
    with pytest.raises(InvalidAuditEvent) as raised:
        AuditEvent(**values)  # type: ignore[arg-type]
    assert field in str(raised.value)
    assert "Jansen" not in str(raised.value) and "Vries" not in str(raised.value)


# --- the export document ----------------------------------------------------------------------


def test_the_export_document_as_json_and_as_shown() -> None:
    item = ExportItem(
        "Bericht",
        (
            ExportField("subject", "Onderwerp", "Uw woning"),
            ExportField("body", None, "raw"),
            ExportField("sent_at", "Verstuurd op", None),
            ExportField("contacts", "Contact", ("e-mail: a@example.org", "mobiel: 0612")),
            ExportField("registered", "Aangetekend", False),
        ),
    )
    export = AccessExport(
        "WSD",
        "Woonstichting",
        "VHE1",
        datetime(2026, 1, 2, 3, 4, 5),
        (ExportSection("messages", "Berichten", "Intro.", (item,)),),
    )
    assert export.as_json() == {
        "corporation": "WSD",
        "unit": "VHE1",
        "made_at": "2026-01-02T03:04:05Z",
        "sections": {
            "messages": [
                {
                    "subject": "Uw woning",
                    "body": "raw",
                    "sent_at": None,
                    "contacts": ["e-mail: a@example.org", "mobiel: 0612"],
                    "registered": False,
                }
            ]
        },
    }
    assert item.shown() == [
        ("Onderwerp", "Uw woning"),
        ("Contact", "e-mail: a@example.org\nmobiel: 0612"),
        ("Aangetekend", "nee"),
    ]


def test_readable_text_takes_the_plain_part_of_a_stored_email() -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = "Uw woning"
    message.set_content("Beste bewoner,\n\nwelkom.")
    message.add_alternative("<p>Beste bewoner</p>", subtype="html")
    message.add_attachment(b"%PDF-1.7", maintype="application", subtype="pdf", filename="brief.pdf")
    assert readable_text(bytes(message)) == "Beste bewoner,\n\nwelkom."
    assert readable_text(b"") == ""


# --- the only paths to restricted notes and the audit log ------------------------------------------


def _mentions(name: str) -> set[str]:
    found = set()
    for folder in ("keukentafel", "connectors", "flows"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            if re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", path.read_text(encoding="utf-8")):
                found.add(str(path.relative_to(ROOT)))
    return found


def test_restricted_notes_are_read_only_through_the_audited_repository() -> None:
    assert _mentions("RestrictedNoteRow") == {
        "keukentafel/store/models.py",
        "keukentafel/store/repositories/restricted_notes.py",
    }
    # who uses the audited repository: the purge and export (they erase and count, never show)
    # and the staff page (a guide's view, recorded in the audit log)
    assert _mentions("keukentafel.store.repositories.restricted_notes") == {
        "keukentafel/usecases/privacy.py",
        "keukentafel/usecases/staff_page.py",
    }


def test_only_the_audit_repository_writes_the_audit_log_and_it_never_updates_or_deletes() -> None:
    assert _mentions("AuditRow") == {
        "keukentafel/store/models.py",
        "keukentafel/store/repositories/audit.py",
    }
    tree = ast.parse((ROOT / "keukentafel/store/repositories/audit.py").read_text("utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
        for alias in node.names
    }
    assert imported.isdisjoint({"update", "delete", "text"})
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert attributes.isdisjoint({"delete", "merge", "update", "execute_update"})
