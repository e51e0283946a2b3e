"""The mailings' output folders as an archive: one household's letters, and removing them.

A mailing is written to ``<output>/mailings/<project>-<kind>-<letter date>[-<mailing id>]/`` (see
output.py): the print batch ``<name>-drukwerk.pdf`` with every letter, the manifest (unit codes and
page counts only), and per household ``archief/<seq>-<unit>.pdf``, ``email/<seq>-<unit>.eml``
(``-2``, ``-3``, ... for the household's further recipients) and ``agenda/<seq>-<unit>.ics``. The
manifest says which sequence number is which unit, so a file is found by its number, never by
guessing where a unit code with a dash ends. :class:`MailingFolders` finds a unit's files for the access export
and removes them for the purge: the household's own files, and the print batch of every mailing
whose manifest lists a purged unit (the batch holds every letter; the kept households keep their
own archive copies). The manifest stays: it holds unit codes and counts, no personal data.

Only folders of the given projects are looked at, matched on the exact folder name, so another
project's mailings (or a look-alike folder) are never touched. Paths and counts are returned,
never the files' content.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from keukentafel.domain.access_export import ArchivedLetter
from keukentafel.domain.messages import MessageKind
from keukentafel.domain.retention import FileRemoval
from keukentafel.letters.compose import safe_filename

#: Per-household files of a mailing: (sub-folder, suffix, kind counted by the purge).
_HOUSEHOLD_FILES = (
    ("archief", ".pdf", "letters"),
    ("email", ".eml", "emails"),
    ("agenda", ".ics", "invitation_files"),
)


@dataclass(frozen=True, slots=True)
class _Folder:
    path: Path
    project_code: str
    kind: str
    on: date


@dataclass(frozen=True, slots=True)
class MailingFolders:
    """The mailing folders under ``folder`` (``<output>/mailings``)."""

    folder: Path

    def _folders(self, project_codes: Sequence[str]) -> Iterator[_Folder]:
        if not project_codes or not self.folder.is_dir():
            return
        by_safe = {safe_filename(code): code for code in project_codes}
        projects = "|".join(re.escape(name) for name in sorted(by_safe, key=len, reverse=True))
        kinds = "|".join(re.escape(kind.value) for kind in MessageKind)
        pattern = re.compile(
            rf"({projects})-({kinds})-(\d{{4}}-\d{{2}}-\d{{2}})(?:-[A-Za-z0-9._-]+)?"
        )
        for path in sorted(self.folder.iterdir()):
            found = pattern.fullmatch(path.name) if path.is_dir() else None
            if found is None:
                continue
            try:
                on = date.fromisoformat(found.group(3))
            except ValueError:
                continue
            yield _Folder(path, by_safe[found.group(1)], found.group(2), on)

    @staticmethod
    def _unit_files(folder: Path, sub: str, suffix: str, unit_code: str) -> list[Path]:
        """The unit's files in ``folder/sub``: by the sequence numbers the manifest gives the
        unit; without a manifest, by the file name (``<seq>-<unit><suffix>``)."""
        directory = folder / sub
        if not directory.is_dir():
            return []
        numbers = _manifest_numbers(folder).get(unit_code)
        name = re.escape(safe_filename(unit_code))
        extra = r"(?:-\d+)?" if sub == "email" else ""
        stem = re.compile(rf"(\d{{4,}})-{name}{extra}{re.escape(suffix)}")
        found = []
        for path in sorted(directory.iterdir()):
            match = stem.fullmatch(path.name)
            if match and (numbers is None or int(match.group(1)) in numbers):
                found.append(path)
        return found

    def letters_of(self, project_codes: Sequence[str], unit_code: str) -> list[ArchivedLetter]:
        """The unit's letters in the projects' mailings, oldest letter date first."""
        letters: list[ArchivedLetter] = []
        for found in self._folders(project_codes):
            files = {
                sub: self._unit_files(found.path, sub, suffix, unit_code)
                for sub, suffix, _ in _HOUSEHOLD_FILES
            }
            if not any(files.values()):
                continue
            letters.append(
                ArchivedLetter(
                    mailing=found.path.name,
                    project_code=found.project_code,
                    kind=found.kind,
                    on=found.on,
                    pdf=next(iter(files["archief"]), None),
                    eml=next(iter(files["email"]), None),
                    ics=next(iter(files["agenda"]), None),
                )
            )
        return sorted(letters, key=lambda x: (x.on, x.mailing))

    def remove(self, project_codes: Sequence[str], unit_codes: Collection[str]) -> FileRemoval:
        """Remove the units' files from the projects' mailings, and the print batch of every
        mailing that holds a letter to one of them. Counts per kind, per unit code."""
        removed: dict[str, dict[str, int]] = {}
        wanted = set(unit_codes)
        for found in self._folders(project_codes):
            for unit_code in sorted(wanted):
                for sub, suffix, kind in _HOUSEHOLD_FILES:
                    for path in self._unit_files(found.path, sub, suffix, unit_code):
                        path.unlink()
                        per_unit = removed.setdefault(kind, {})
                        per_unit[unit_code] = per_unit.get(unit_code, 0) + 1
            listed = sorted(wanted & _manifest_units(found.path))
            batch = found.path / f"{found.path.name}-drukwerk.pdf"
            if listed and batch.exists():
                batch.unlink()
                # One batch, counted once: under the first purged unit it held a letter for.
                removed.setdefault("print_batches", {})[listed[0]] = (
                    removed.get("print_batches", {}).get(listed[0], 0) + 1
                )
        return FileRemoval(removed)


def _manifest_units(folder: Path) -> set[str]:
    """The unit codes in the mailing's manifest (``eenheid`` column); none when it is missing."""
    return set(_manifest_numbers(folder))


def _manifest_numbers(folder: Path) -> dict[str, set[int]]:
    """Per unit code in the mailing's manifest, its sequence numbers (``volgnummer``)."""
    path = folder / f"{folder.name}-manifest.csv"
    if not path.exists():
        return {}
    numbers: dict[str, set[int]] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            unit = (row.get("eenheid") or "").removeprefix("'")
            number = row.get("volgnummer") or ""
            if unit and number.isdigit():
                numbers.setdefault(unit, set()).add(int(number))
    return numbers
