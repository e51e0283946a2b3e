"""The mailing archive and the access export folder: exact folders and files only; escaped PDF."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from keukentafel.domain.access_export import AccessExport, ExportField, ExportItem, ExportSection
from keukentafel.letters.access_export import AccessExportFolder, export_html
from keukentafel.letters.archive import MailingFolders
from keukentafel.letters.output import MailingEmail, MailingLetter, write_files


def _mailing(root: Path, name: str, units: list[str]) -> Path:
    letters = [
        MailingLetter(u, False, b"%PDF", 1, None, (MailingEmail("", "", b"eml"),)) for u in units
    ]
    write_files(root / name, name, [b"%PDF"], letters)
    return root / name


def test_only_the_projects_own_folders_and_the_units_own_files_are_touched(tmp_path: Path) -> None:
    ours = _mailing(tmp_path, "P-info_evening-2024-01-10", ["VHE1", "VHE10", "VHE2"])
    other = _mailing(tmp_path, "P-2-info_evening-2024-01-10", ["VHE1"])  # project "P-2"
    stray = _mailing(tmp_path, "P-party-2024-01-10", ["VHE1"])  # no such message kind
    folders = MailingFolders(tmp_path)

    (letter,) = folders.letters_of(["P"], "VHE1")
    assert (letter.project_code, letter.kind, letter.on) == ("P", "info_evening", date(2024, 1, 10))
    assert letter.pdf == ours / "archief" / "0001-VHE1.pdf" and letter.ics is None
    assert {x.project_code for x in folders.letters_of(["P", "P-2"], "VHE1")} == {"P", "P-2"}

    removal = folders.remove(["P"], ["VHE1"])
    assert removal.per_kind == {
        "letters": {"VHE1": 1},
        "emails": {"VHE1": 1},
        "print_batches": {"VHE1": 1},
    }
    left = sorted(str(p.relative_to(ours)) for p in ours.rglob("*") if p.is_file())
    assert left == [
        "P-info_evening-2024-01-10-manifest.csv",
        "archief/0002-VHE10.pdf",
        "archief/0003-VHE2.pdf",
        "email/0002-VHE10.eml",
        "email/0003-VHE2.eml",
    ]
    assert (other / "archief" / "0001-VHE1.pdf").exists()
    assert (stray / "archief" / "0001-VHE1.pdf").exists()
    assert folders.remove(["P"], ["VHE1"]).per_kind == {}  # again: nothing more
    assert MailingFolders(tmp_path / "none").letters_of(["P"], "VHE1") == []


def test_the_export_pdf_escapes_what_it_shows_and_its_folder_is_removed(tmp_path: Path) -> None:
    item = ExportItem("<b>Naam</b>", (ExportField("surname", "Achternaam", "<script>x</script>"),))
    export = AccessExport(
        "WSD",
        "Woonstichting & Co",
        "VHE1",
        datetime(2024, 5, 1, 8, 0),
        (
            ExportSection("residents", "Bewoners", "Intro.", (item,)),
            ExportSection("messages", "Berichten", "Intro.", ()),
        ),
    )
    html = export_html(export)
    assert "&lt;script&gt;" in html and "<script>" not in html and "&lt;b&gt;Naam" in html
    assert "Woonstichting &amp; Co" in html and "Hierover hebben wij geen gegevens van u." in html
    letter = tmp_path / "brief.pdf"
    letter.write_bytes(b"%PDF-brief")
    store = AccessExportFolder(tmp_path / "exports")
    files = store.write(export, [("brieven/m.pdf", letter)])
    assert files.pdf.read_bytes().startswith(b"%PDF") and files.letters == 1
    assert files.folder == tmp_path / "exports" / "WSD" / "VHE1" / "20240501T080000"
    assert store.remove("WSD", ["VHE1", "VHE2"]).per_kind == {"access_exports": {"VHE1": 1}}
    assert not (tmp_path / "exports" / "WSD" / "VHE1").exists()
