"""Pure rendering helpers for the web faces: answers, sources and the highlighted article as HTML.

Every piece of user or document text goes through :func:`esc` before it becomes HTML; nothing here
decides an answer. No Gradio import, so the helpers are cheap to test.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
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


def _ref(turn: int, n: int) -> str:
    """The class that ties a citation control to its spans in the article (the chat's sanitizer
    keeps ``class`` but drops ``data-*`` and ``aria-*`` attributes)."""
    return f"cb-go cb-ref-{turn}-{n}"


def _where(c: Citation, titles: dict[str, str] | None) -> str:
    parts = [c.section] if c.section else []
    if titles and len(titles) > 1:
        parts.append(titles.get(c.doc_id, c.doc_id))
    return " · ".join(parts)


def _markers(escaped: str, citations: Sequence[Citation], turn: int, titles: dict[str, str] | None) -> str:
    by_n = {c.n: c for c in citations}

    def repl(m: re.Match[str]) -> str:
        c = by_n.get(int(m.group(1)))
        if c is None:
            return m.group(0)
        where = _where(c, titles)
        tip = f"“{esc(c.quote)}”" + (f" <span class=\"cb-tip-where\">— {esc(where)}</span>" if where else "")
        return (
            f'<button type="button" class="cb-cite {_ref(turn, c.n)}">[{c.n}]'
            f'<span class="cb-sr"> Source {c.n}, show in the article: </span>'
            f'<span class="cb-tip">{tip}</span></button>'
        )

    return _MARKER.sub(repl, escaped)


def sources_html(citations: Sequence[Citation], turn: int = 0, titles: dict[str, str] | None = None, open_: bool = False) -> str:
    if not citations:
        return ""
    items = []
    for c in citations:
        where = _where(c, titles)
        items.append(
            f'<li value="{c.n}"><button type="button" class="cb-src {_ref(turn, c.n)}">'
            f'<span class="cb-sr">Show source {c.n} in the article: </span>'
            f'<span class="cb-quote">“{esc(c.quote)}”</span></button>'
            + (f' <span class="cb-section">— {esc(where)}</span>' if where else "")
            + "</li>"
        )
    return (
        f'<details class="cb-sources"{" open" if open_ else ""}><summary>Sources ({len(citations)})</summary>'
        f'<ol>{"".join(items)}</ol></details>'
    )


def answer_markdown(answer: Answer, titles: dict[str, str] | None = None) -> str:
    """The answer with its sources as Markdown, for "Copy with sources"."""
    lines = [answer.text.strip()]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            where = _where(c, titles)
            quote = " ".join(c.quote.split())
            lines.append(f"[{c.n}] “{quote}”" + (f" — {where}" if where else ""))
    return "\n".join(lines)


def answer_html(answer: Answer, turn: int = 0, titles: dict[str, str] | None = None) -> str:
    """The final chat message: the answer with focusable [n] controls (their quote shows on hover
    or focus), a collapsible Sources list, and "Copy with sources" (the Markdown rides along in a
    hidden element, newlines as entities so the chat's Markdown layer leaves it alone)."""
    body = _markers(_paragraphs(esc(answer.text)), answer.citations, turn, titles)
    cls = "cb-answer cb-abstained" if answer.abstained else "cb-answer"
    md = esc(answer_markdown(answer, titles)).replace("\n", "&#10;")
    tools = (
        '<div class="cb-tools"><button type="button" class="cb-copy">Copy with sources</button>'
        f'<span hidden class="cb-md">{md}</span></div>'
    )
    return f'<div class="{cls}">{body}{sources_html(answer.citations, turn, titles)}{tools}</div>'


def pending_html() -> str:
    """The answer's place while it is being made (replaced as soon as it is ready)."""
    return '<div class="cb-answer cb-streaming"><span class="cb-caret">▍</span></div>'


def partial_html(text: str) -> str:
    """A message still being streamed (LLM tokens so far)."""
    return f'<div class="cb-answer cb-streaming">{_paragraphs(esc(text))}<span class="cb-caret">▍</span></div>'


def error_html(message: str) -> str:
    return f'<div class="cb-error">{_paragraphs(esc(message))}</div>'


# ---- the article with highlighted citations ----------------------------------------------------
Key = tuple[int, int]  # (turn, citation number)


def article_html(
    documents: dict[str, Document],
    passages: Iterable[Passage],
    turns: Sequence[Sequence[Citation]] = (),
    active: int | None = None,
) -> str:
    """The cleaned text of the cited documents (or of the first one when nothing is cited): from
    the first passage to the last, without the page's boilerplate lines, section titles in
    ``<strong>``. Every span cited by any answer is a ``<mark>`` carrying the classes ``cb-t{turn}``
    and ``cb-k{turn}-{n}``; the spans of turn ``active`` (default: the last turn with citations)
    carry ``cb-on`` and are the ones highlighted. Clicking a citation moves ``cb-on`` (page script)."""
    if not documents:
        return '<div class="cb-article" tabindex="0"><p>No document loaded.</p></div>'
    spans = [(c.doc_id, c.start, c.end, (t, c.n)) for t, cites in enumerate(turns) for c in cites]
    if active is None:
        active = max((t for t, cites in enumerate(turns) if cites), default=-1)
    ordered = [s[0] for s in spans if s[3][0] == active] + [s[0] for s in spans]  # the lit answer's documents first
    cited_docs = [d for d in dict.fromkeys(ordered) if d in documents]
    doc_ids = cited_docs or [next(iter(documents))]
    passages = list(passages)
    out = []
    for doc_id in doc_ids:
        doc = documents[doc_id]
        doc_passages = [p for p in passages if p.doc_id == doc_id]
        marks = [(max(0, s), min(len(doc.text), e), k) for d, s, e, k in spans if d == doc_id and s < e]
        out.append(
            f'<section class="cb-doc"><h3 class="cb-doc-title">{esc(doc.title or doc.doc_id)}</h3>'
            f'<div class="cb-doc-text">{_doc_text(doc.text, doc_passages, marks, active)}</div></section>'
        )
    note = "" if spans else '<p class="cb-hint">Ask a question: the passages an answer cites are highlighted here.</p>'
    return f'<div class="cb-article" tabindex="0" role="region" aria-label="Article">{note}{"".join(out)}</div>'


def _doc_text(text: str, passages: list[Passage], marks: list[tuple[int, int, Key]], active: int) -> str:
    """Lines from the first passage to the last (or the whole text), page junk dropped."""
    lo = min((p.start for p in passages), default=0)
    hi = max((p.end for p in passages), default=len(text))
    lo = min([lo, *(s for s, _, _ in marks)])
    hi = max([hi, *(e for _, e, _ in marks)])
    titles = {p.section.strip() for p in passages if p.section.strip()}
    lines = []
    pos = 0
    for line in text.split("\n"):
        s, e = pos, pos + len(line)
        pos = e + 1
        if e < lo or s > hi or not any(ch.isalnum() for ch in line):
            continue
        s, e = max(s, lo), min(e, hi)
        inside = [(max(a, s), min(b, e), k) for a, b, k in marks if a < e and s < b]
        heading = line.strip() in titles and not inside
        html_line = _line(text, s, e, inside, {k: a for a, _, k in marks}, active)
        lines.append(f'<strong class="cb-heading">{html_line}</strong>' if heading else html_line)
    return "\n".join(lines)


def _line(text: str, s: int, e: int, marks: list[tuple[int, int, Key]], starts: dict[Key, int], active: int) -> str:
    cuts = sorted({s, e, *(a for a, _, _ in marks), *(b for _, b, _ in marks)})
    out = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        keys = sorted({k for x, y, k in marks if x <= a and b <= y})
        piece = esc(text[a:b])
        if not keys:
            out.append(piece)
            continue
        cls = " ".join(sorted({f"cb-t{t}" for t, _ in keys} | {f"cb-k{t}-{n}" for t, n in keys}))
        on = " cb-on" if any(t == active for t, _ in keys) else ""
        labels = "".join(
            f'<sup class="cb-mark-n cb-t{t}{" cb-on" if t == active else ""}">[{n}]</sup>'
            for t, n in keys
            if starts.get((t, n)) == a
        )
        out.append(f'<mark class="cb-mark {cls}{on}">{labels}{piece}</mark>')
    return "".join(out)


# ---- facts ---------------------------------------------------------------------------------------
FACT_COLUMNS = ["kind", "subject", "attribute", "value", "unit", "period", "text_value", "quote"]


FACT_WIDTHS: list[str | int] = ["8%", "17%", "11%", "11%", "7%", "8%", "10%", "28%"]


def number(value: Any) -> str:
    """A stored float as a person would write it: 8130000.000000001 → "8,130,000", 2025.0 → "2025"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else str(value)
    return format(value, ",.12g" if abs(value) >= 10_000 else ".12g")  # years stay 2025


def fact_rows(facts: Iterable[Any]) -> list[list[Any]]:
    rows = []
    for f in facts:
        d = f.to_dict()
        rows.append([number(d.get(k)) if k == "value" else "" if d.get(k) is None else d.get(k) for k in FACT_COLUMNS])
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
