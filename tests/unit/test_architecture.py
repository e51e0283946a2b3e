"""The layout of docs/architecture.md, checked against the code.

Dependencies point one way: entry points (CLI, flows, web) → use cases → pure domain; store and
connectors are adapters wired in the composition root. These tests read every import statement
(lazy ones inside functions included) and fail on an arrow that points the wrong way. They also
hold the house rules that are easy to break by accident: only ``keukentafel/settings.py`` reads
the environment, and a function over 60 lines or a cyclomatic complexity over 15 says why.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[2]
CODE = ("keukentafel", "connectors", "flows")
DOC = ROOT / "docs" / "architecture.md"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources(*packages: str) -> Iterator[Path]:
    for package in packages:
        for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            for alias in node.names:  # `from keukentafel import letters` names a module too
                yield node.lineno, f"{base}.{alias.name}"


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _violations(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in _sources(*packages):
        for line, module in _imports(path):
            if _within(module, forbidden):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return sorted(set(found))


ENTRY_POINTS = ("keukentafel.cli", "keukentafel.demo", "keukentafel.web", "flows")


def test_the_domain_imports_the_standard_library_only() -> None:
    stdlib = sys.stdlib_module_names
    found = []
    for path in _sources("keukentafel.domain"):
        for line, module in _imports(path):
            top = module.split(".")[0]
            if top not in stdlib and not _within(module, ("keukentafel.domain",)):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not sorted(set(found))


def test_use_cases_import_no_adapter_entry_point_or_sqlalchemy_construct() -> None:
    forbidden = (
        "connectors",
        "keukentafel.letters",
        "keukentafel.bootstrap",
        "keukentafel.store.models",
        "keukentafel.store.db",
        "prefect",
        "requests",
        "msal",
        *ENTRY_POINTS,
    )
    assert not _violations(("keukentafel.usecases",), forbidden)
    # SQLAlchemy: the session factory's types only (Session, sessionmaker), nothing else.
    found = []
    for path in _sources("keukentafel.usecases"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(
                a.name.startswith("sqlalchemy") for a in node.names
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                names = {a.name for a in node.names}
                if node.module != "sqlalchemy.orm" or not names <= {"Session", "sessionmaker"}:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module} {names}")
    assert not found


def test_connectors_import_no_flow_cli_or_composition_root() -> None:
    assert not _violations(("connectors",), ("keukentafel.bootstrap", *ENTRY_POINTS))


def test_the_store_and_letters_import_no_use_case_connector_or_entry_point() -> None:
    forbidden = ("connectors", "keukentafel.usecases", "keukentafel.bootstrap", *ENTRY_POINTS)
    assert not _violations(("keukentafel.store",), (*forbidden, "keukentafel.letters"))
    # letters implement the use case's MailingWriter port, and may name its types only
    letters = [
        v
        for v in _violations(("keukentafel.letters",), forbidden)
        if not v.endswith(
            ("keukentafel.usecases.mailing", "keukentafel.usecases.mailing.MailingWriter")
        )
    ]
    assert not letters


def test_configuration_imports_no_connector_or_entry_point() -> None:
    forbidden = ("connectors", "keukentafel.usecases", "keukentafel.bootstrap", *ENTRY_POINTS)
    assert not _violations(("keukentafel.config",), forbidden)


def test_only_the_settings_module_reads_the_environment() -> None:
    found = []
    for path in _sources(*CODE):
        if path == ROOT / "keukentafel" / "settings.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.split("#", 1)[0]
            if re.search(r"\bos\.(environ|getenv|putenv)\b|\bgetenv\(", code):
                found.append(f"{path.relative_to(ROOT)}:{number}")
    assert not found


KEPT_WHOLE = "# Kept whole:"


def _shape_exceptions(path: Path) -> Iterator[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    for block in cc_visit("\n".join(lines)):
        for function in [block, *getattr(block, "methods", [])]:
            if type(function).__name__ == "Class":
                continue
            length = function.endline - function.lineno + 1
            if length <= 60 and function.complexity <= 15:
                continue
            start = function.lineno - 1
            while start > 0 and lines[start - 1].lstrip().startswith("@"):
                start -= 1
            above = lines[max(0, start - 3) : start]
            if not any(KEPT_WHOLE in line for line in above):
                yield (
                    f"{path.relative_to(ROOT)}:{function.lineno} {function.name}: "
                    f"{length} lines, complexity {function.complexity}"
                )


def test_long_or_complex_functions_say_why() -> None:
    """Over 60 lines or a cyclomatic complexity over 15 needs a ``# Kept whole: <why>`` comment
    right above the ``def`` (or its decorators)."""
    found = sorted({f for path in _sources(*CODE) for f in _shape_exceptions(path)})
    assert not found, "\n".join(found)


def _named_paths(text: str) -> set[str]:
    names = set(
        re.findall(
            r"`((?:keukentafel|connectors|flows|templates|tests|bench|config)/[\w/.-]*)`", text
        )
    )
    return {name.rstrip("/") for name in names if "*" not in name and "<" not in name}


def test_the_architecture_document_names_only_what_exists() -> None:
    named = _named_paths(DOC.read_text(encoding="utf-8"))
    assert len(named) > 20, "docs/architecture.md should name the modules it draws"
    missing = sorted(n for n in named if not (ROOT / n).exists())
    assert not missing


@pytest.mark.parametrize("package", ["keukentafel", "connectors", "flows"])
def test_every_package_folder_is_documented(package: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    folders = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / package).rglob("__init__.py")
        if "migrations" not in p.parts and "__pycache__" not in p.parts
        for p in [p.parent]
    )
    assert [f for f in folders if f"`{f}/`" not in text and f"`{f}`" not in text] == []
