"""Writing a household's access export: the JSON, a readable PDF in plain Dutch, and copies of
the letters; and removing a unit's exports when the purge comes.

An export goes to ``<output>/privacy/exports/<corporation>/<unit>/<made at>/``:
``inzage-<unit>.json`` (every section as the use case built it), ``inzage-<unit>.pdf`` (the same
for the resident to read, rendered by WeasyPrint) and ``brieven/`` with a copy of each letter
sent. Because the folder holds the household's personal data, the purge removes
``<corporation>/<unit>/`` with everything in it (:meth:`AccessExportFolder.remove`).
The template is part of this module and every value is escaped.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment

from keukentafel.domain.access_export import NOTHING_HELD, AccessExport, ExportFiles
from keukentafel.domain.retention import FileRemoval
from keukentafel.letters.compose import safe_filename
from keukentafel.letters.pdf import render_pdf

_TEMPLATE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Uw gegevens</title>
<style>
  @page { size: A4; margin: 20mm 18mm 22mm 18mm;
          @bottom-right { content: "pagina " counter(page) " van " counter(pages); font-size: 9pt; } }
  body { font-family: sans-serif; font-size: 11pt; line-height: 1.4; color: #111; }
  h1 { font-size: 18pt; margin: 0 0 4mm; }
  h2 { font-size: 14pt; margin: 8mm 0 2mm; border-bottom: 1px solid #999; }
  h3 { font-size: 11pt; margin: 4mm 0 1mm; }
  table { border-collapse: collapse; width: 100%; }
  th { text-align: left; vertical-align: top; width: 35%; font-weight: normal; color: #444; }
  td { vertical-align: top; white-space: pre-wrap; overflow-wrap: anywhere; }
  th, td { padding: 1mm 2mm 1mm 0; }
  .empty { font-style: italic; }
</style></head><body>
<h1>Uw gegevens bij {{ export.corporation_name }}</h1>
<p>Dit overzicht laat zien welke gegevens wij bewaren over uw huishouden in woning
{{ export.unit_code }}. Wij hebben het gemaakt op {{ made_on }}.</p>
<p>Klopt er iets niet? Of wilt u dat wij gegevens verwijderen? Neem dan contact op met uw
bewonersbegeleider.</p>
{% for section in export.sections %}
<h2>{{ section.title }}</h2>
<p>{{ section.intro }}</p>
{% for item in section.items %}
<h3>{{ item.title }}</h3>
<table>{% for label, text in item.shown() %}<tr><th>{{ label }}</th><td>{{ text }}</td></tr>{% endfor %}</table>
{% else %}
<p class="empty">{{ nothing }}</p>
{% endfor %}
{% endfor %}
</body></html>
"""


def export_html(export: AccessExport) -> str:
    """The export as the HTML the PDF is made from (escaped; plain Dutch headings)."""
    template = Environment(autoescape=True).from_string(_TEMPLATE)
    made_on = export.made_at.strftime("%d-%m-%Y")
    return template.render(export=export, made_on=made_on, nothing=NOTHING_HELD)


@dataclass(frozen=True, slots=True)
class AccessExportFolder:
    """Access exports under ``folder`` (``<output>/privacy/exports``)."""

    folder: Path

    def _unit_folder(self, corporation_code: str, unit_code: str) -> Path:
        return self.folder / safe_filename(corporation_code) / safe_filename(unit_code)

    def write(self, export: AccessExport, letters: Sequence[tuple[str, Path]]) -> ExportFiles:
        """Write the JSON and the PDF, and copy ``letters`` ((name in the export, letter file))
        into the export's folder."""
        stamp = export.made_at.strftime("%Y%m%dT%H%M%S")
        out = self._unit_folder(export.corporation_code, export.unit_code) / stamp
        out.mkdir(parents=True, exist_ok=True)
        name = f"inzage-{safe_filename(export.unit_code)}"
        json_path = out / f"{name}.json"
        json_path.write_text(
            json.dumps(export.as_json(), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        pdf_path = out / f"{name}.pdf"
        pdf_path.write_bytes(render_pdf(export_html(export)))
        copied = 0
        for relative, source in letters:
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied += 1
        return ExportFiles(out, json_path, pdf_path, copied)

    def remove(self, corporation_code: str, unit_codes: Collection[str]) -> FileRemoval:
        """Remove every export of these units; per unit code, how many exports."""
        removed: dict[str, int] = {}
        for unit_code in sorted(set(unit_codes)):
            folder = self._unit_folder(corporation_code, unit_code)
            if folder.is_dir():
                removed[unit_code] = sum(1 for p in folder.iterdir() if p.is_dir())
                shutil.rmtree(folder)
        return FileRemoval({"access_exports": removed})
