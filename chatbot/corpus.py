"""Reading documents and cutting them into passages with exact character offsets.

Rules (no document-specific values):
- page boilerplate: lines of only punctuation (``|``), and trailing print/share links;
- headings: markdown ``#`` lines, reStructuredText / setext titles over an underline, or short
  title-like lines without closing punctuation;
- tables (``chatbot.table_layouts``): Markdown pipe tables, reStructuredText simple tables,
  whitespace-aligned and tab-separated tables; a line ending with ``:`` right before a table
  introduces it and belongs to the same passage;
- paragraphs: one per line, or per blank-line-separated block when the document hard-wraps.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from chatbot.errors import CorpusError
from chatbot.formats import SUFFIXES, extract
from chatbot.table_layouts import (
    Line,
    Table,
    find_table,
    markdown_table_lines,
    numeric_share,
    split_cells,
)
from chatbot.text import STOPWORDS, add_aliases, country_code_groups
from chatbot.types import Document, Passage, Span

__all__ = ["ALIASES_FILE", "CorpusRead", "Line", "Table", "corpus_hash", "load_aliases", "load_corpus", "parse_document", "read_corpus", "read_document"]

log = logging.getLogger(__name__)
ALIASES_FILE = "aliases.yaml"
BOILERPLATE_LINE = re.compile(r"^[\s|\-_=*•·.]*$")
BOILERPLATE_TEXT = re.compile(
    r"^(print version|print|share( this)?( article)?|back to top|advertisement|subscribe.*|read more)$",
    re.IGNORECASE,
)
UNDERLINE_CHARS = "=-~^\"'`*+#:._"
MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
# Sentence ends: . ! ? followed by space and an upper-case letter, digit or quote.
SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]?\s+(?=[A-Z0-9\"“‘(])")
ABBREVIATIONS = ("Mr.", "Mrs.", "Ms.", "Dr.", "St.", "Inc.", "Ltd.", "Co.", "U.S.", "U.K.", "e.g.", "i.e.", "vs.", "No.",
                 "Jan.", "Feb.", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.")


def content_id(*parts: object, n: int = 16) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:n]


def read_document(path: Path) -> Document:
    """One document: its extracted text (``chatbot.formats``) and the title from a sidecar or the file."""
    found = extract(path)
    meta: dict[str, str] = {}
    sidecar = path.with_suffix(".meta.json")
    if sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CorpusError(f"{sidecar.name} is not valid JSON: {exc}.") from exc
    return Document(
        doc_id=path.stem,
        path=path.name,
        text=found.text,
        title=str(meta.get("title") or found.title or path.stem.replace("-", " ").replace("_", " ").title()),
        source=str(meta.get("source", "")),
        language=str(meta.get("language", "en")),
    )


@dataclass(frozen=True)
class CorpusRead:
    """The documents of a corpus folder and a one-line error for each file that was skipped."""

    documents: tuple[Document, ...]
    skipped: tuple[str, ...] = ()


def read_corpus(corpus_dir: Path) -> CorpusRead:
    """Every readable document of ``corpus_dir``; a file that cannot be read is skipped with its error."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"Corpus folder {corpus_dir} does not exist. Set CHATBOT_CORPUS_DIR or create it.")
    paths = sorted(p for p in corpus_dir.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
    if not paths:
        raise CorpusError(f"No {'/'.join(SUFFIXES)} documents in {corpus_dir}.")
    docs, skipped = [], []
    for p in paths:
        try:
            docs.append(read_document(p))
        except CorpusError as exc:
            skipped.append(str(exc))
    return CorpusRead(tuple(docs), tuple(skipped))


def load_corpus(corpus_dir: Path) -> list[Document]:
    """The readable documents; each skipped file is logged as a warning of one line naming it. The
    corpus's alias groups (``aliases.yaml``, and the country codes it uses beside a name of their
    country) take effect for tokenising from here on."""
    found = read_corpus(corpus_dir)
    add_aliases(load_aliases(corpus_dir / ALIASES_FILE) + country_code_groups([d.text for d in found.documents]))
    for message in found.skipped:
        log.warning("Skipped %s", message)
    if not found.documents:
        raise CorpusError(f"No readable document in {corpus_dir}: {' '.join(found.skipped)}")
    return list(found.documents)


def load_aliases(path: Path) -> list[list[str]]:
    """Alias groups from a corpus's ``aliases.yaml``: a list of lists of names, each group one thing
    ("- [United Kingdom, UK, Britain]"); the first name is the one the others fold to. No file: none."""
    if not path.is_file():
        return []
    try:
        groups = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path.name} is not valid YAML: {exc}") from exc
    if not isinstance(groups, list) or not all(
        isinstance(g, list) and len(g) >= 2 and all(isinstance(n, str) and n.strip() for n in g) for g in groups
    ):
        raise CorpusError(f"{path.name} must be a list of groups, each a list of two or more names, e.g. - [United Kingdom, UK, Britain]")
    return [[n.strip() for n in g] for g in groups]


def corpus_hash(docs: Iterable[Document], extra_files: Iterable[Path] = ()) -> str:
    h = hashlib.sha256()
    for d in sorted(docs, key=lambda d: d.doc_id):
        h.update(d.doc_id.encode() + b"\0" + d.text.encode("utf-8") + b"\0" + d.title.encode() + b"\0")
    for p in sorted(extra_files):
        if p.is_file():
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def split_lines(text: str) -> list[Line]:
    out, pos = [], 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        out.append(Line(body, pos, pos + len(body)))
        pos += len(raw)
    return out


def is_boilerplate(line: Line) -> bool:
    s = line.stripped
    return bool(BOILERPLATE_LINE.match(s)) or bool(BOILERPLATE_TEXT.match(s))


def is_underline(line: Line, title: Line) -> bool:
    """A reStructuredText (or setext Markdown) section title's underline: one punctuation mark
    repeated at least as long as the title (``Iris plants dataset`` over ``-------------------``)."""
    s, t = line.text.rstrip(), title.text.rstrip()
    return (len(s) >= max(3, len(t)) and s[0] in UNDERLINE_CHARS and s == s[0] * len(s)
            and bool(t.strip()) and not is_boilerplate(title) and len(t.split()) <= 15)


def heading_text(line: Line, next_line: Line | None) -> str | None:
    s = line.stripped
    m = MD_HEADING.match(line.text)
    if m:
        return m.group(1)
    if not s or len(s) > 80 or s[-1] in ".:;,!?\"”" or next_line is None or not next_line.stripped:
        return None
    words = s.split()
    if len(words) > 12 or not s[0].isupper() or split_cells(s) and numeric_share(split_cells(s)) > 0.3:
        return None
    if s[-1] in "-–—" or words[-1] in STOPWORDS:
        return None  # a line that runs on into the next ("… using the", "PARVUS -") is not a title
    # A heading is followed by a longer line of prose.
    return s if len(next_line.stripped) > len(s) * 1.5 else None


# A field of a field list (reStructuredText ":Creator: R.A. Fisher", a dataset card's ":Number of
# Instances: 178") starts a line of its own: each field is one statement, however it is punctuated.
FIELD_START = re.compile(r"\n(?=[ \t]*:[A-Za-z][^:\n]{0,60}:(?:\s|$))")
FIELD_LINE = re.compile(r"^[ \t]*:[A-Za-z][^:\n]{0,60}:(?:\s|$)")
# An initial ("R.A.", "M.") or a short lower-case abbreviation before a number ("no. 92-02", "pp. 291")
# does not end a sentence.
INITIAL_END = re.compile(r"(?:^|[\s(.])[A-Z]\.$")
NUMBERED_ABBREVIATION = re.compile(r"(?:^|\s)[a-z]{1,3}\.$")


def sentence_spans(text: str, offset: int) -> tuple[Span, ...]:
    """Split ``text`` (found at ``offset``) into sentences with absolute offsets."""
    cuts = [(m.start(), m.end()) for m in FIELD_START.finditer(text)]
    for m in SENTENCE_END.finditer(text):
        candidate = text[: m.start()].rstrip()
        if any(candidate.endswith(a) for a in ABBREVIATIONS) or INITIAL_END.search(candidate):
            continue
        if NUMBERED_ABBREVIATION.search(candidate) and text[m.end() : m.end() + 1].isdigit():
            continue
        cuts.append((m.start(), m.end()))
    spans: list[Span] = []
    start = 0
    for end, nxt in sorted(cuts):
        if end < start:
            continue
        _append_span(spans, text, start, end, offset)
        start = nxt
    _append_span(spans, text, start, len(text), offset)
    return tuple(spans)


def _append_span(spans: list[Span], text: str, a: int, b: int, offset: int) -> None:
    piece = text[a:b]
    lead = len(piece) - len(piece.lstrip())
    piece = piece.strip()
    if piece:
        spans.append(Span(piece, offset + a + lead, offset + a + lead + len(piece)))


def parse_document(doc: Document) -> tuple[list[Passage], list[Table]]:
    """Passages and tables of a document, every one an exact span of ``doc.text``."""
    lines = split_lines(doc.text)
    markdown_tables = markdown_table_lines(doc.text)
    wrapped = _is_hard_wrapped(lines)
    passages: list[Passage] = []
    tables: list[Table] = []
    section = doc.title
    block: list[Line] = []

    def flush() -> None:
        if block:
            start, end = block[0].start, block[-1].end
            _add(passages, doc, section, start, end, "text")
            block.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = next((ln for ln in lines[i + 1 :] if ln.stripped), None)
        if not line.stripped:
            flush()
            i += 1
            continue
        found = find_table(lines, i, markdown_tables)
        if found is None and is_boilerplate(line):
            flush()
            i += 1
            continue
        if found:
            table, j = found
            intro_start = table.header_span[0]
            if block and block[-1].stripped.endswith(":"):
                intro_start = block[0].start  # the whole introducing paragraph
                block.clear()
            flush()
            last = passages[-1] if passages else None
            if last and last.kind == "text" and last.text.rstrip().endswith(":") \
                    and not doc.text[last.end : intro_start].strip():
                intro_start = passages.pop().start
            tables.append(table)
            _add(passages, doc, section, intro_start, table.row_spans[-1][1], "table")
            i = j
            continue
        if i + 1 < len(lines) and is_underline(lines[i + 1], line):
            flush()
            section = line.stripped
            i += 2
            continue
        title = heading_text(line, nxt)
        if title:
            flush()
            section = title
            i += 1
            continue
        if block and FIELD_LINE.match(line.text):
            flush()  # each field of a field list is a passage: ":Creator: R.A. Fisher" is not about ":Date:"
        block.append(line)
        if not wrapped:
            flush()
        i += 1
    flush()
    return passages, tables


def _is_hard_wrapped(lines: list[Line]) -> bool:
    """True when paragraphs are separated by blank lines (and lines inside them are wrapped)."""
    blank = sum(1 for ln in lines if not ln.stripped)
    return blank >= 2 and any(len(ln.text) > 0 for ln in lines)


def _add(passages: list[Passage], doc: Document, section: str, start: int, end: int, kind: str) -> None:
    text = doc.text[start:end]
    sentences = sentence_spans(text, start) if kind == "text" else tuple(
        Span(ln.text, ln.start, ln.end) for ln in split_lines(text) for ln in [Line(ln.text, ln.start + start, ln.end + start)] if ln.text.strip()
    )
    passages.append(
        Passage(
            id=content_id(doc.doc_id, start, end, text),
            doc_id=doc.doc_id,
            section=section,
            text=text,
            start=start,
            end=end,
            kind=kind,
            sentences=sentences,
        )
    )
