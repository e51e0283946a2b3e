"""What a resident reads in a rendered HTML letter or e-mail, as plain text (pure).

The B1 check and the template tests read the HTML a resident gets, not only its plain-text
twin: a tag that swallows a newline or a space (``sociaal-plan.Wilt u``) shows only here.
Blocks (paragraphs, headings, lists, tables, boxes) become paragraphs separated by a blank
line; list items, table rows and line breaks become lines; a table's header cell or a
definition term becomes a label (``Wanneer: dinsdag 12 januari 2027``). What a reader does not
see is left out: the head, styles, scripts, inline SVG (the QR code) and anything marked
``aria-hidden="true"`` (the invisible line that feeds the footer). Text is unescaped and its
white space collapsed as a browser would.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_HIDDEN = frozenset({"head", "style", "script", "title", "svg", "template"})
_PARAGRAPHS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "table",
        "dl",
        "blockquote",
        "header",
        "footer",
        "main",
        "form",
        "body",
        "html",
    }
)
_LINES = frozenset({"li", "tr", "dt", "br"})
_LABELS = frozenset({"th", "dt"})
_VOID = frozenset({"br", "img", "meta", "link", "hr", "input", "wbr", "col", "source"})
_SPACES = re.compile(r"[ \t\r\n\f\u00a0]+")
_LABEL_END = "\x00"  # where a label ends: a colon right after its last word


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        self.labels: list[bool] = []  # per open th/dt: whether it ends in a colon

    @property
    def hidden(self) -> bool:
        return any(hides for _, hides in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        hides = tag in _HIDDEN or dict(attrs).get("aria-hidden") == "true"
        if tag not in _VOID:
            self.stack.append((tag, hides))
        if self.hidden and not (tag in _VOID and not hides):
            return
        if tag in _PARAGRAPHS:
            self._break(2)
        elif tag in _LINES:
            self._break(1)
        if tag == "li":
            self.out.append("- ")
        elif tag in ("td", "th", "dd"):
            self.out.append(" ")
        if tag in _LABELS:  # a column header is no label of the cell beside it
            self.labels.append(dict(attrs).get("scope") != "col")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        was_hidden = self.hidden
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break
        if was_hidden:
            return
        if tag in _LABELS:
            self.out.append(_LABEL_END if self.labels and self.labels.pop() else " ")
        elif tag == "dd":
            self._break(1)
        elif tag in _PARAGRAPHS:
            self._break(2)
        elif tag in _LINES:
            self._break(1)

    def _break(self, lines: int) -> None:
        """End the current line, and leave ``lines - 1`` blank lines (never more in a row)."""
        tail = "".join(self.out[-3:])
        have = len(tail) - len(tail.rstrip("\n")) if tail.strip(" ") else lines
        if have < lines:
            self.out.append("\n" * (lines - have))

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        text = _SPACES.sub(" ", data)
        if text == " " and (not self.out or self.out[-1].endswith(("\n", " "))):
            return  # white space between blocks is no text
        self.out.append(text)


def html_text(html: str) -> str:
    """The text of an HTML document as a reader sees it (see the module docstring)."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    raw = re.sub(r"[ ]*\x00[ ]*", ": ", "".join(reader.out))
    text = "\n".join(" ".join(line.split()) for line in raw.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
