"""Facts from passages and tables, each with the exact quote and span it came from.

Kinds:
- ``table``: one fact per numeric cell; quote = the row line, period = the row label;
- ``mention``: an amount with a currency in a sentence; subject = the words it qualifies
  ("steel pipes ($12.4 million)" → "steel pipes"), period = a year in the clause or,
  failing that, the sentence or the sentence before; bracketed amounts listed after a total
  are its parts (``parent``);
- ``rank`` / ``count``: "ranking 71st globally", "over 250 US-invested companies";
- ``event``: a full date or a year tied to a named thing ("the 1990 Treaty on …",
  "…Council, established in 1998").

A number is a fact only when the sentence's grammar makes it one (``chatbot.facts.grammar``): not a
piece of a version or wrapped decimal, not across a line break, not an address; a year only as a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from chatbot.corpus import Table, content_id
from chatbot.facts import grammar
from chatbot.facts.cells import header_unit, type_cell
from chatbot.facts.numbers import find_money, unit_from_text
from chatbot.text import STOPWORDS
from chatbot.types import Document, Fact, Passage, Span

YEAR = re.compile(r"(?<![\d$€£,.])(1[89]\d{2}|20\d{2})(?![\d%]|,\d)")
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
DATE = re.compile(rf"\b(?:(?:{MONTHS})\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+(?:{MONTHS})\s+\d{{4}})\b")
RANK = re.compile(r"\b(?:rank(?:ing|ed|s)?|placed|placing)\s+(?:at\s+)?(\d+)(?:st|nd|rd|th)\b(?:\s+(?:globally|worldwide|in the world))?")
COUNT = re.compile(
    r"(?<![\w\-])(over|more than|about|nearly|almost|around|at least|some|roughly)?\s?"
    r"(\d{1,3}(?:,\d{3})+|\d+)\s+((?:[A-Za-z][\w\-]*)(?:\s+[a-z][\w\-]*){0,2})"
)
CAP = r"[A-Z][\w’'\-–/]*"
NAME = re.compile(rf"{CAP}(?:\s+(?:(?:of|on|and|for|the|to|in)\s+)*{CAP})*")
EVENT_VERB = re.compile(
    r"\b(signed|established|founded|created|launched|adopted|regained|ratified|opened|concluded|agreed|formed)\b"
    r"(?:\s+\w+){0,3}?\s+(?:in|on)\s+$"
)
CLAUSE_BREAK = re.compile(r"[,;:]\s|\s[-–—]\s|\(|\)")
LEAD_CONJ = re.compile(r"^(?:while|whereas|and|but|as|with)\s+", re.I)
LEAD_IN = re.compile(r"^(?:and|or|including|such as|dominated by|led by|notably|mainly|with)\s+", re.I)
FILLER_TAIL = re.compile(r"\s+(?:a total of|totaled|totalled|totaling|reached|amounted to|was|were|stood at|of|at|worth|about|around|nearly|over|some)$", re.I)
SOURCE = re.compile(r"\b(?:According to|Data from|Figures from|Per)\s+(?:the\s+)?([^,]+)")
COUNT_STOP = {"years", "year", "months", "days", "percent", "times", "million", "billion", "thousand", "st", "nd", "rd", "th"}


@dataclass
class TableData:
    """A table with typed cells, keyed by its label column (any key: years, names, versions).

    ``values`` are floats for arithmetic, ``exact`` the same values as decimal strings (display),
    ``cell_spans`` the exact span of every cell (``document[start:end] == cells[i][j]``).
    """

    id: str
    doc_id: str
    passage_id: str
    columns: tuple[str, ...]
    labels: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]
    values: tuple[tuple[float | None, ...], ...]
    units: tuple[str, ...]
    scales: tuple[float, ...]
    row_spans: tuple[tuple[int, int], ...]
    row_quotes: tuple[str, ...]
    caption: str = ""
    checks: list[str] = field(default_factory=list)
    exact: tuple[tuple[str | None, ...], ...] = ()
    cell_spans: tuple[tuple[tuple[int, int], ...], ...] = ()
    layout: str = ""

    @property
    def year_keyed(self) -> bool:
        return bool(self.labels) and all(YEAR.fullmatch(lab.strip()) for lab in self.labels)


def _fact_id(doc_id: str, start: int, end: int, subject: str, attribute: str) -> str:
    return content_id(doc_id, start, end, subject, attribute)


def table_data(doc: Document, passage: Passage, table: Table) -> TableData:
    caption = doc.text[passage.start : table.header_span[0]].strip()
    cap_unit, cap_float = unit_from_text(caption)
    cap_scale = Decimal(str(int(cap_float)))
    ncol = len(table.columns)
    col_units = []
    for col in table.columns:
        u, sc = header_unit(col) if "(" in col else ("", Decimal(1))
        col_units.append((u or cap_unit, sc if sc != 1 else cap_scale))
    typed = [[type_cell(cell, *col_units[j]) if j > 0 else type_cell("") for j, cell in enumerate(row)] for row in table.rows]
    units, scales = [""] * ncol, [1.0] * ncol
    for j in range(1, ncol):
        found = [c for row in typed for c in [row[j]] if c.is_number]
        if found:
            units[j] = max({c.unit for c in found}, key=lambda u: sum(c.unit == u for c in found))
            scales[j] = float(max({c.scale for c in found}, key=lambda x: sum(c.scale == x for c in found)))
    values = tuple(tuple(float(c.value) if c.value is not None else None for c in row) for row in typed)
    exact = tuple(tuple(str(c.value) if c.value is not None else None for c in row) for row in typed)
    spans = table.cell_spans or tuple(tuple((a, a) for _ in row) for row, (a, _) in zip(table.rows, table.row_spans, strict=True))
    return TableData(
        id=content_id(doc.doc_id, passage.start, passage.end, "table"),
        doc_id=doc.doc_id,
        passage_id=passage.id,
        columns=table.columns,
        labels=tuple(r[0] for r in table.rows),
        cells=table.rows,
        values=values,
        units=tuple(units),
        scales=tuple(scales),
        row_spans=table.row_spans,
        row_quotes=tuple(doc.text[a:b] for a, b in table.row_spans),
        caption=caption,
        exact=exact,
        cell_spans=spans,
        layout=table.layout,
    )


def table_facts(t: TableData) -> list[Fact]:
    out = []
    for i, label in enumerate(t.labels):
        start, end = t.row_spans[i]
        for j, col in enumerate(t.columns[1:], start=1):
            v = t.values[i][j]
            if v is None:
                continue
            out.append(
                Fact(
                    id=_fact_id(t.doc_id, start, end, col, label),
                    subject=col,
                    attribute=col.lower(),
                    value=v,
                    unit=t.units[j],
                    period=label,
                    quote=t.row_quotes[i],
                    doc_id=t.doc_id,
                    start=start,
                    end=end,
                    text_value=t.cells[i][j],
                    kind="table",
                    source_note=t.caption,
                )
            )
    return out


def check_totals(t: TableData) -> list[str]:
    """Where a column is a total (total, turnover, sum), check that the other amounts add up."""
    results = []
    for j, col in enumerate(t.columns):
        if j == 0 or not re.search(r"\b(total|turnover|sum|overall)\b", col, re.I):
            continue
        parts = [k for k in range(1, len(t.columns)) if k != j and t.units[k] == t.units[j] and t.units[k] != "percent"]
        if len(parts) < 2:
            continue
        for i, label in enumerate(t.labels):
            vals = [t.values[i][k] for k in parts]
            total = t.values[i][j]
            if total is None or any(v is None for v in vals):
                continue
            s = sum(v for v in vals if v is not None)
            ok = abs(s - total) <= max(1.0, abs(total)) * 1e-6 + t.scales[j] * 0.011
            names = " + ".join(t.columns[k] for k in parts)
            results.append(f"{label}: {names} {'=' if ok else '≠'} {col} ({'ok' if ok else 'MISMATCH'})")
    return results


FIELD_NOTE = "field list"
FIELD = re.compile(r"(?m)^:([A-Za-z][^:\n]{0,60}):[ \t]+(\d{1,3}(?:,\d{3})+|\d+)(?![\d.,]\d)[^\n]*$")


def field_facts(doc: Document) -> list[Fact]:
    """Counts in reStructuredText field lists (":Number of Instances: 178")."""
    out = []
    for m in FIELD.finditer(doc.text):
        subject = re.sub(r"^(?:number|count|no\.?) of\s+", "", m.group(1).strip(), flags=re.I)
        start, end = m.start(), m.end()
        out.append(Fact(
            id=_fact_id(doc.doc_id, start, end, subject, "count"), subject=subject, attribute="count",
            value=float(m.group(2).replace(",", "")), unit="count", period="", quote=doc.text[start:end],
            doc_id=doc.doc_id, start=start, end=end, text_value=m.group(2), kind="count", source_note=FIELD_NOTE,
        ))
    return out


def _clause_bounds(sentence: str, pos: int) -> tuple[int, int]:
    start = 0
    for m in CLAUSE_BREAK.finditer(sentence, 0, pos):
        start = m.end()
    after = CLAUSE_BREAK.search(sentence, pos)
    end = after.start() if after else len(sentence.rstrip(". "))
    return start, end


AMOUNT_YEAR = re.compile(r"\s*(?:in|for|during|by)\s+(?:the\s+)?(?:year\s+)?(1[89]\d{2}|20\d{2})\b")


def _years(text: str) -> list[str]:
    return YEAR.findall(text)


def mention_facts(doc: Document, passage: Passage) -> list[Fact]:
    out: list[Fact] = []
    prev_year = ""
    for sent in passage.sentences:
        s = sent.text
        sent_years = _years(s)
        sent_year = sent_years[0] if len(set(sent_years)) == 1 else ""
        source = SOURCE.search(s)
        source_note = source.group(1).strip() if source else ""
        money = [a for a in find_money(s) if grammar.is_amount(s, a.start, a.end)]
        parent: Fact | None = None
        for a in money:
            bracketed = a.start > 0 and s[a.start - 1] == "(" and s[a.end : a.end + 1] == ")"
            if bracketed:
                cs, _ = _clause_bounds(s, a.start - 1)
                subj_text = s[cs : a.start - 1].strip()
                subj_text = LEAD_IN.sub("", subj_text)
                subj_text = re.sub(r"^.*\b(?:dominated by|including|such as|led by|notably)\s+", "", subj_text)
                q_start = s.index(subj_text, cs) if subj_text else a.start - 1
                q_end = a.end + 1
            else:
                cs, ce = _clause_bounds(s, a.start)
                subj_text = FILLER_TAIL.sub("", s[cs : a.start].strip())
                subj_text = FILLER_TAIL.sub("", subj_text)
                subj_text = LEAD_CONJ.sub("", subj_text)
                q_start = cs + (len(s[cs:]) - len(s[cs:].lstrip()))
                if cs > 0 and subj_text[:1].islower() and not re.match(r"^(?:while|whereas|and|but)\b", s[cs:], re.I):
                    head = s[: _clause_bounds(s, 0)[1]].strip()  # "Fish landings, a smaller business, brought in"
                    subj_text = f"{head} {subj_text}"
                    q_start = 0
                q_end = max(a.end, ce)
            clause = s[q_start:q_end]
            # the year right after the amount ("… up from €10.9 million in 2023") is its own
            own = AMOUNT_YEAR.match(s, a.end)
            period = own.group(1) if own else (_years(clause) or [sent_year or prev_year or ""])[0]
            if not subj_text:
                continue
            fact = Fact(
                id=_fact_id(doc.doc_id, sent.start + q_start, sent.start + q_end, subj_text, "amount"),
                subject=subj_text,
                attribute="amount",
                value=a.value,
                unit=a.unit,
                period=period,
                quote=clause,
                doc_id=doc.doc_id,
                start=sent.start + q_start,
                end=sent.start + q_end,
                text_value=a.text,
                kind="part" if bracketed and parent else "mention",
                source_note=(f"part of: {parent.subject} ({parent.text_value})" if bracketed and parent else source_note),
                parent_id=parent.id if bracketed and parent else "",
            )
            out.append(fact)
            if not bracketed:
                parent = fact
        for m in RANK.finditer(s):
            cs, _ = _clause_bounds(s, m.start())
            subject = ""
            for f in out:
                if f.start <= sent.start + m.start() and f.start >= sent.start and f.kind == "mention":
                    subject = f.subject
            subject = subject or s[cs : m.start()].strip() or "rank"
            out.append(
                Fact(
                    id=_fact_id(doc.doc_id, sent.start + m.start(), sent.start + m.end(), subject, "rank"),
                    subject=subject, attribute="rank", value=float(m.group(1)), unit="rank",
                    period=sent_year, quote=m.group(0), doc_id=doc.doc_id,
                    start=sent.start + m.start(), end=sent.start + m.end(), text_value=m.group(1), kind="rank",
                )
            )
        for m in COUNT.finditer(s):
            num = m.group(2)
            words = m.group(3).split()
            if YEAR.fullmatch(num) or any(a.start <= m.start(2) < a.end for a in money) or s[m.end(2):m.end(2)+1] in "%":
                continue
            noun: list[str] = []
            for w in words:
                if w.lower() in COUNT_STOP or w.lower() in STOPWORDS or (noun and w.endswith("ed")):
                    break
                noun.append(w)
            end = m.start(3) + len(" ".join(noun))
            if not noun or not grammar.is_count(s, m.start(2), m.end(2), m.start(3), end):
                continue
            start = m.start(1) if m.group(1) else m.start(2)
            out.append(
                Fact(
                    id=_fact_id(doc.doc_id, sent.start + start, sent.start + end, " ".join(noun), "count"),
                    subject=" ".join(noun), attribute="count", value=float(num.replace(",", "")), unit="count",
                    period=sent_year, quote=s[start:end], doc_id=doc.doc_id, start=sent.start + start,
                    end=sent.start + end, text_value=(m.group(1) + " " if m.group(1) else "") + num, kind="count",
                )
            )
        out.extend(event_facts(doc, sent, money))
        prev_year = sent_year or prev_year
    return out


def event_facts(doc: Document, sent: Span, money: list) -> list[Fact]:  # type: ignore[type-arg]
    s = sent.text
    out: list[Fact] = []
    taken: list[tuple[int, int]] = []
    for m in DATE.finditer(s):
        if not grammar.is_date(s, m.end() - 4, m.end()):
            continue
        name_start = _first_name_before(s, m.start())
        q_start = name_start if name_start is not None else _clause_bounds(s, m.start())[0]
        subject = s[q_start : m.start()].strip()
        subject = re.sub(r"\s+(?:signed|established|held|adopted|launched)?\s*(?:on|in)?$", "", subject) or "event"
        out.append(_event(doc, sent, q_start, m.end(), subject, m.group(0), YEAR.findall(m.group(0))[0]))
        taken.append((m.start(), m.end()))
    for m in YEAR.finditer(s):
        if any(a <= m.start() < b for a, b in taken) or any(a.start <= m.start() < a.end for a in money):
            continue
        after = NAME.match(s, m.end() + 1) if s[m.end() : m.end() + 1] == " " else None
        before_text = s[: m.start()]
        if after and len(after.group(0).split()) >= 2:  # "the 1990 Treaty on Fisheries"
            if not grammar.year_modifies(s, m.start(), m.end(), after.start(), after.end()):
                continue
            out.append(_event(doc, sent, m.start(), after.end(), after.group(0), m.group(0), m.group(0)))
        elif EVENT_VERB.search(before_text) and grammar.is_date(s, m.start(), m.end()):  # "... Council, established in 1998"
            cs, _ = _clause_bounds(s, m.start())
            name_start = _name_before(s, cs - 2) if cs >= 2 else None
            q_start = name_start if name_start is not None else cs
            subject = s[q_start : cs].strip(" ,") or re.sub(r"\s+(?:in|on)$", "", s[cs : m.start()].strip())
            q_start = min(q_start, cs)
            out.append(_event(doc, sent, q_start, m.end(), subject, m.group(0), m.group(0)))
    return out


def _first_name_before(s: str, pos: int) -> int | None:
    """Start of the first multi-word capitalised name in the clause that ends at ``pos``."""
    cs, _ = _clause_bounds(s, max(0, pos - 1))
    for m in NAME.finditer(s, cs, pos):
        if len(m.group(0).split()) >= 2 and not m.group(0).startswith(("The ", "A ", "An ")):
            return m.start()
    return _name_before(s, pos)


def _name_before(s: str, pos: int) -> int | None:
    """Start of the last capitalised name ending at or before ``pos`` within the same clause."""
    best = None
    cs, _ = _clause_bounds(s, max(0, pos - 1))
    for m in NAME.finditer(s, cs, pos):
        if len(m.group(0)) > 3:
            best = m.start()
    return best


def _event(doc: Document, sent: Span, a: int, b: int, subject: str, text_value: str, year: str) -> Fact:
    quote = sent.text[a:b]
    return Fact(
        id=_fact_id(doc.doc_id, sent.start + a, sent.start + b, subject, "date"),
        subject=subject.strip(), attribute="date", value=float(year), unit="year", period=year, quote=quote,
        doc_id=doc.doc_id, start=sent.start + a, end=sent.start + b, text_value=text_value, kind="event",
    )
