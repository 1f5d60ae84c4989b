"""Text out of the document formats the corpus accepts.

Each reader turns one file into the plain text the rest of the pipeline sees — passages, tables,
spans and the article panel all work on this extracted text, so ``text[start:end] == quote`` holds
for every citation whatever the source format was.

- ``.txt`` / ``.md`` / ``.rst``: the file itself, decoded as UTF-8 (reStructuredText structure —
  section titles, field lists, simple and grid tables — is read by ``corpus`` and ``table_layouts``);
- ``.html`` / ``.htm``: the main content (``<main>`` or ``<article>`` when there is one, else
  ``<body>`` without scripts, navigation, headers and footers) via BeautifulSoup; headings become
  ``#`` lines, list items ``- `` lines, ``<table>`` a Markdown pipe table;
- ``.docx``: paragraphs and tables in document order via python-docx; ``Heading n`` styles become
  ``#`` lines, tables Markdown pipe tables;
- ``.pdf``: the text of each page via pypdf, pages separated by a blank line; a blank line also
  after each paragraph, found by its short last line (PDFs store lines, not paragraphs). An encrypted PDF
  that does not open with an empty password is refused.

A file that cannot be read raises ``CorpusError`` with one line naming it.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatbot.errors import CorpusError

__all__ = ["SUFFIXES", "Extracted", "extract"]


@dataclass(frozen=True)
class Extracted:
    """The text of a document as the pipeline sees it, and a title when the format carries one."""

    text: str
    title: str = ""


SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
# A PDF line shorter than this share of the page's full lines (80th percentile length) may end a paragraph.
PDF_PARAGRAPH_END = 0.75
HTML_DROP = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "template", "svg", "iframe")
HTML_BLOCKS = {"p", "pre", "blockquote", "dd", "dt", "figcaption", "address", "caption"}
HTML_CONTAINERS = {"div", "section", "article", "main", "body", "ul", "ol", "dl", "figure", "details", "span"}


class _Blocks:
    """Blocks of text joined by blank lines (so the corpus reads one paragraph per block)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def paragraph(self, text: str, prefix: str = "", keep_spaces: bool = False) -> None:
        """One block; ``keep_spaces`` keeps a preformatted block's alignment (a whitespace table)."""
        text = "\n".join(ln.rstrip() if keep_spaces else SPACES.sub(" ", ln).strip() for ln in text.splitlines())
        text = text.strip("\n") if keep_spaces else re.sub(r"\n{2,}", "\n", text).strip()
        if text.strip():
            self.parts.append(prefix + text)

    def heading(self, text: str, level: int) -> None:
        text = SPACES.sub(" ", text.replace("\n", " ")).strip()
        if text:
            self.parts.append("#" * max(1, min(level, 6)) + " " + text)

    def table(self, rows: list[list[str]]) -> None:
        rows = [[_cell(c) for c in r] for r in rows if any(c.strip() for c in r)]
        if not rows:
            return
        n = max(len(r) for r in rows)
        if n < 2 or len(rows) < 2:  # a one-column or one-row "table" is layout: keep it as text
            for r in rows:
                self.paragraph(" ".join(c for c in r if c))
            return
        rows = [r + [""] * (n - len(r)) for r in rows]
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(["---"] * n) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
        self.parts.append("\n".join(lines))

    def text(self) -> str:
        return "\n\n".join(self.parts) + ("\n" if self.parts else "")


def _cell(text: str) -> str:
    return SPACES.sub(" ", text.replace("\n", " ")).strip().replace("|", "\\|")


# ---- plain text ----------------------------------------------------------------------------------


def read_text(path: Path) -> Extracted:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path.name} is not valid UTF-8 (byte {exc.start}). Save it as UTF-8 and index again."
        ) from exc
    return Extracted(text[1:] if text.startswith("\ufeff") else text)


# ---- HTML ----------------------------------------------------------------------------------------


def read_html(path: Path) -> Extracted:
    from bs4 import BeautifulSoup

    raw = path.read_bytes()
    soup = BeautifulSoup(raw, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(HTML_DROP):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    out = _Blocks()
    _html_walk(root, out)
    if not title and (h1 := root.find("h1")):
        title = h1.get_text(" ", strip=True)
    return Extracted(out.text(), title)


def _html_walk(el: Any, out: _Blocks) -> None:
    from bs4 import NavigableString, Tag

    inline: list[str] = []

    def flush() -> None:
        if inline:
            out.paragraph("".join(inline))
            inline.clear()

    for child in el.children:
        if isinstance(child, NavigableString):
            if type(child) is NavigableString:  # not a comment, doctype or CDATA
                inline.append(re.sub(r"\s+", " ", str(child)))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name == "br":
            inline.append("\n")
        elif re.fullmatch(r"h[1-6]", name):
            flush()
            out.heading(_inline_text(child), int(name[1]))
        elif name == "table":
            flush()
            out.table(_html_rows(child))
        elif name == "li":
            flush()
            if child.find(["ul", "ol", "table", "p"]):
                _html_walk(child, out)
            else:
                out.paragraph(_inline_text(child), "- ")
        elif name in HTML_BLOCKS:
            flush()
            if name == "pre":
                out.paragraph(child.get_text().strip("\n"), keep_spaces=True)
            else:
                out.paragraph(_inline_text(child))
        elif name in HTML_CONTAINERS - {"span"}:
            flush()
            _html_walk(child, out)
        else:  # inline markup: a, b, em, span, code …
            inline.append(_inline_text(child))
    flush()


def _inline_text(el: Any) -> str:
    """Text as a browser shows it: runs of white space are one space, ``<br>`` is a line break."""
    from bs4 import NavigableString, Tag

    parts = []
    for node in el.descendants:
        if type(node) is NavigableString:
            parts.append(re.sub(r"\s+", " ", str(node)))
        elif isinstance(node, Tag) and node.name == "br":
            parts.append("\n")
    return "".join(parts)


def _html_rows(table: Any) -> list[list[str]]:
    rows = []
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue  # a row of a nested table
        cells = []
        for td in tr.find_all(["td", "th"], recursive=False):
            span = int(td.get("colspan", 1) or 1) if str(td.get("colspan", "1")).isdigit() else 1
            cells.append(_inline_text(td))
            cells.extend([""] * (min(span, 20) - 1))
        rows.append(cells)
    return rows


# ---- DOCX ----------------------------------------------------------------------------------------


def read_docx(path: Path) -> Extracted:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if not zipfile.is_zipfile(path):
        raise CorpusError(f"{path.name} is not a valid DOCX file (not a zip package). Save it again from the word processor.")
    document = docx.Document(str(path))
    out = _Blocks()
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            style = (item.style.name if item.style is not None else "") or ""
            level = re.fullmatch(r"Heading (\d)", style)
            if level or style == "Title":
                out.heading(item.text, int(level.group(1)) if level else 1)
            elif style.startswith("List"):
                out.paragraph(item.text, "- ")
            else:
                out.paragraph(item.text)
        elif isinstance(item, Table):
            out.table(_docx_rows(item))
    return Extracted(out.text(), document.core_properties.title or "")


def _docx_rows(table: Any) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:  # a merged cell repeats: keep its text once, leave the rest empty
            cells.append("" if id(cell._tc) in seen else cell.text)
            seen.add(id(cell._tc))
        rows.append(cells)
    return rows


# ---- PDF -----------------------------------------------------------------------------------------


def read_pdf(path: Path) -> Extracted:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted and not reader.decrypt(""):
        raise CorpusError(f"{path.name} is an encrypted PDF. Save an unencrypted copy and index again.")
    pages = []
    for page in reader.pages:
        lines = [SPACES.sub(" ", ln).strip() for ln in (page.extract_text() or "").splitlines()]
        pages.append(_pdf_paragraphs([ln for ln in lines if ln]))
    meta = reader.metadata
    return Extracted("\n\n".join(p for p in pages if p) + "\n", str(meta.title or "") if meta else "")


def _pdf_paragraphs(lines: list[str]) -> str:
    """A page's lines with a blank line after each paragraph: a line that ends a sentence and is
    clearly shorter than the page's full lines (the last line of a paragraph), or a short line
    without closing punctuation followed by a capitalised line (a heading)."""
    if len(lines) < 3:
        return "\n\n".join(lines)
    full = sorted(len(ln) for ln in lines)[int(len(lines) * 0.8)]
    out = []
    for k, ln in enumerate(lines):
        out.append(ln)
        nxt = lines[k + 1] if k + 1 < len(lines) else ""
        short = len(ln) < PDF_PARAGRAPH_END * full
        if nxt and short and (ln.endswith((".", "!", "?", ":")) or nxt[:1].isupper() and not ln.endswith(",")):
            out.append("")
    return "\n".join(out)


READERS: dict[str, Callable[[Path], Extracted]] = {
    ".txt": read_text, ".md": read_text, ".rst": read_text,
    ".html": read_html, ".htm": read_html, ".docx": read_docx, ".pdf": read_pdf,
}
SUFFIXES: tuple[str, ...] = tuple(READERS)


def extract(path: Path) -> Extracted:
    """The text of ``path``; any failure is a ``CorpusError`` of one line naming the file."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise CorpusError(f"{path.name}: unsupported format (supported: {', '.join(SUFFIXES)}).")
    try:
        found = reader(path)
    except CorpusError:
        raise
    except OSError as exc:
        raise CorpusError(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc
    except Exception as exc:  # noqa: BLE001 - a parser failing on a user's file is a reported skip
        raise CorpusError(f"{path.name} could not be read as {path.suffix.lower()[1:].upper()}: {_one_line(exc)}.") from exc
    if not found.text.strip():
        why = "no text layer (a scanned PDF?)" if path.suffix.lower() == ".pdf" else "no text"
        raise CorpusError(f"{path.name} has {why} to index.")
    return found


def _one_line(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0][:160]}" if msg else type(exc).__name__
