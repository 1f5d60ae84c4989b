"""Pure rendering helpers for the web faces: answers, sources and the highlighted article as HTML.

Every piece of user or document text goes through :func:`esc` before it becomes HTML; nothing here
decides an answer. No Gradio import, so the helpers are cheap to test.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from chatbot.types import Answer, Citation, Document, Passage

_MARKER = re.compile(r"\[(\d+)\]")


def esc(text: str) -> str:
    """HTML-escape ``text`` (quotes too), and neutralise characters that templating or Markdown
    layers could still interpret (``$``, ``{``, ``}``, backticks, ``*``, ``_``, ``~``, ``|``,
    backslash).

    The result is inert in an HTML element, in an attribute value, and inside a Markdown HTML
    block.
    """
    out = html.escape(text, quote=True)
    return (
        out.replace("\\", "&#92;")
        .replace("$", "&#36;")
        .replace("{", "&#123;")
        .replace("}", "&#125;")
        .replace("`", "&#96;")
        .replace("*", "&#42;")
        .replace("_", "&#95;")
        .replace("~", "&#126;")
        .replace("|", "&#124;")
    )


def _paragraphs(escaped: str) -> str:
    """Escaped text → HTML with <p>, <br> and bullet lists, and no blank line (a blank line would
    end the Markdown HTML block and let Markdown parse the rest)."""
    blocks = []
    for para in re.split(r"\n\s*\n", escaped.strip()):
        lines = para.split("\n")
        items = [ln for ln in lines if ln.lstrip().startswith("- ")]
        if items and len(items) == len(lines):
            blocks.append("<ul>" + "".join(f"<li>{ln.lstrip()[2:]}</li>" for ln in lines) + "</ul>")
        elif items and not lines[0].lstrip().startswith("- ") and all(ln.lstrip().startswith("- ") for ln in lines[1:]):
            blocks.append(f"<p>{lines[0]}</p><ul>" + "".join(f"<li>{ln.lstrip()[2:]}</li>" for ln in lines[1:]) + "</ul>")
        else:
            blocks.append("<p>" + "<br>".join(lines) + "</p>")
    return "".join(blocks)


def user_html(question: str) -> str:
    """A user's message as inert HTML (shown exactly as typed)."""
    return f'<div class="cb-user">{_paragraphs(esc(question))}</div>'


def _markers(escaped: str, citations: Sequence[Citation]) -> str:
    by_n = {c.n: c for c in citations}

    def repl(m: re.Match[str]) -> str:
        c = by_n.get(int(m.group(1)))
        if c is None:
            return m.group(0)
        return f'<sup class="cb-cite" title="{esc(c.quote)}">[{c.n}]</sup>'

    return _MARKER.sub(repl, escaped)


def sources_html(citations: Sequence[Citation], open_: bool = False) -> str:
    if not citations:
        return ""
    items = "".join(
        f'<li value="{c.n}"><span class="cb-quote">“{esc(c.quote)}”</span>'
        + (f' <span class="cb-section">— {esc(c.section)}</span>' if c.section else "")
        + "</li>"
        for c in citations
    )
    return f'<details class="cb-sources"{" open" if open_ else ""}><summary>Sources</summary><ol>{items}</ol></details>'


def answer_html(answer: Answer) -> str:
    """The final chat message: the answer with [n] markers, then a collapsible Sources list."""
    body = _markers(_paragraphs(esc(answer.text)), answer.citations)
    cls = "cb-answer cb-abstained" if answer.abstained else "cb-answer"
    return f'<div class="{cls}">{body}{sources_html(answer.citations)}</div>'


def partial_html(text: str) -> str:
    """A message still being streamed (plain text so far)."""
    return f'<div class="cb-answer cb-streaming">{_paragraphs(esc(text))}<span class="cb-caret">▍</span></div>'


def error_html(message: str) -> str:
    return f'<div class="cb-error">{_paragraphs(esc(message))}</div>'


def chunks(text: str, size: int = 3) -> Iterator[str]:
    """``text`` cut into growing prefixes of ``size`` words, for showing progress."""
    parts = re.split(r"(\s+)", text)
    for i in range(0, len(parts), size * 2):
        yield "".join(parts[: i + size * 2])


# ---- the article with highlighted citations ----------------------------------------------------
def article_html(
    documents: dict[str, Document],
    passages: Iterable[Passage],
    citations: Sequence[Citation] = (),
) -> str:
    """The cited documents (or the first one when nothing is cited) as escaped text, each cited
    span wrapped in ``<mark>`` and section titles in ``<strong>``."""
    if not documents:
        return '<div class="cb-article"><p>No document loaded.</p></div>'
    cited_docs = [d for d in dict.fromkeys(c.doc_id for c in citations) if d in documents]
    doc_ids = cited_docs or [next(iter(documents))]
    passages = list(passages)
    out = []
    for doc_id in doc_ids:
        doc = documents[doc_id]
        spans = _merge([(c.start, c.end, c.n) for c in citations if c.doc_id == doc_id], len(doc.text))
        headings = _headings(doc, [p for p in passages if p.doc_id == doc_id], spans)
        out.append(
            f'<section class="cb-doc"><h3 class="cb-doc-title">{esc(doc.title or doc.doc_id)}</h3>'
            f'<div class="cb-doc-text">{_highlight(doc.text, spans, headings)}</div></section>'
        )
    note = "" if citations else '<p class="cb-hint">Ask a question: the passages an answer cites are highlighted here.</p>'
    return f'<div class="cb-article">{note}{"".join(out)}</div>'


def _merge(spans: list[tuple[int, int, int]], limit: int) -> list[tuple[int, int, list[int]]]:
    merged: list[tuple[int, int, list[int]]] = []
    for start, end, n in sorted((max(0, s), min(limit, e), n) for s, e, n in spans if s < e):
        if merged and start < merged[-1][1]:
            s0, e0, ns = merged[-1]
            merged[-1] = (s0, max(e0, end), sorted({*ns, n}))
        else:
            merged.append((start, end, [n]))
    return merged


def _headings(doc: Document, passages: list[Passage], marks: list[tuple[int, int, list[int]]]) -> list[tuple[int, int]]:
    """Offsets of lines that are exactly a section title (and not inside a cited span)."""
    titles = {p.section.strip() for p in passages if p.section.strip()}
    found = []
    pos = 0
    for line in doc.text.split("\n"):
        s, e = pos, pos + len(line)
        pos = e + 1
        if line.strip() in titles and not any(a < e and s < b for a, b, _ in marks):
            found.append((s, e))
    return found


def _highlight(text: str, marks: list[tuple[int, int, list[int]]], headings: list[tuple[int, int]]) -> str:
    events: list[tuple[int, int, str, Any]] = [(s, e, "mark", ns) for s, e, ns in marks]
    events += [(s, e, "strong", None) for s, e in headings]
    events.sort()
    out, pos = [], 0
    for start, end, tag, ns in events:
        if start < pos:  # overlaps what is already emitted
            continue
        out.append(esc(text[pos:start]))
        inner = esc(text[start:end])
        if tag == "mark":
            label = ",".join(str(n) for n in ns)
            out.append(f'<mark id="cb-cite-{ns[0]}" data-cite="{label}"><sup class="cb-mark-n">[{label}]</sup>{inner}</mark>')
        else:
            out.append(f'<strong class="cb-heading">{inner}</strong>')
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


# ---- facts ---------------------------------------------------------------------------------------
FACT_COLUMNS = ["kind", "subject", "attribute", "value", "unit", "period", "text_value", "quote"]


def fact_rows(facts: Iterable[Any]) -> list[list[Any]]:
    rows = []
    for f in facts:
        d = f.to_dict()
        rows.append(["" if d.get(k) is None else d.get(k) for k in FACT_COLUMNS])
    return rows


def checks_markdown(tables: Sequence[Any]) -> str:
    """Table consistency checks as Markdown (escaped)."""
    if not tables:
        return "No tables were found in the documents."
    lines = []
    for i, t in enumerate(tables, 1):
        caption = getattr(t, "caption", "") or f"Table {i}"
        lines.append(f"**Table {i}** ({esc(t.doc_id)}): {esc(caption)}")
        checks = list(getattr(t, "checks", []) or [])
        if not checks:
            lines.append("- no total/sum checks apply")
        for c in checks:
            ok = "(ok)" in c or c.endswith("ok")
            lines.append(f"- {'✅' if ok else '⚠️'} {esc(c)}")
        lines.append("")
    return "\n".join(lines)
