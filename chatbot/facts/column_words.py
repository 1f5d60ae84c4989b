"""What a question's words mean for a table beyond its labels: the text above it, the units and
dimensions its columns measure ("cheaper" → the prices, "carries more" → the tonnes, "quicker" over
minutes is fewer), the document's own definitions of columns and of which end is better, WordNet's
senses for words the document never uses, and the words that only qualify another noun or name
another counterpart or condition. General English and the document's own sentences only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING

from chatbot.facts.context import FactsView
from chatbot.facts.currency import is_currency_unit
from chatbot.facts.extract import TableData
from chatbot.facts.match import PARTIAL, Hit, label_key, other_counterpart
from chatbot.facts.question import Metric
from chatbot.text import STOPWORDS, stem

if TYPE_CHECKING:
    from chatbot.facts.keyed import TableAsk


HEADER_UNIT = re.compile(r"\(([^()]+)\)\s*$")


def header_unit(column: str) -> str:
    m = HEADER_UNIT.search(column)
    return m.group(1).strip().lower() if m else ""


# Adjectives of speed: said of a column of durations, the quicker is the smaller number.
SPEED = {"fast", "quick", "rapid", "swift", "speedy", "slow", "prompt"}


DURATION = {"s", "sec", "secs", "second", "seconds", "ms", "min", "mins", "minute", "minutes", "h", "hr", "hrs", "hour", "hours",
            "day", "days", "week", "weeks", "month", "months"}


def speed_of_time(ask: TableAsk, m: Metric) -> bool:
    """The question compares speed ("quicker", "fastest") over a column measured in time."""
    if m.kind != "column":
        return False
    j = m.cols[0]
    if not ({ask.table.units[j].lower(), header_unit(ask.table.columns[j])} & DURATION):
        return False
    from chatbot.understanding.nlp import parse

    return any(tok.tag_ in ("JJR", "RBR", "JJS", "RBS") and tok.lemma_.lower() in SPEED for tok in parse(ask.q))


def lead_in(t: TableData, documents: Mapping[str, str] | None) -> str:
    """The text just above a table: its heading and lead-in paragraph (and the caption). A list inside
    a sentence ("Class distribution: class_0 (59), …") is named by its own lead words only."""
    if t.layout == "inline":
        return t.caption
    text = (documents or {}).get(t.doc_id, "")
    lead = text[max(0, t.row_spans[0][0] - 600) : t.row_spans[0][0]] if text and t.row_spans else ""
    return t.caption + " " + " ".join(re.split(r"\n\s*\n", lead.strip())[-3:])  # heading, lead-in, header lines


CONDITION_PREPS = {"with", "without", "on", "under", "during", "using", "via"}


def qualified_elsewhere(t: TableData, question: str, view: FactsView) -> bool:
    """The question sets a condition ("with a dictionary", "on the github-users samples") whose noun
    the document uses elsewhere and nothing about this table does (its title, lead-in, columns, rows
    and cells): the table's figures are not under that condition."""
    from chatbot.understanding.nlp import parse
    from chatbot.understanding.wordnet_seek import noun_class

    ft = view.flow_tables.get(t.id)
    parties = f"{ft.reporter.name} {ft.partner.name}" if ft else ""
    context = stems(" ".join((view.titles.get(t.doc_id, ""), lead_in(t, view.documents), " ".join(t.columns), " ".join(t.labels),
                               " ".join(c for row in t.cells for c in row), parties)))
    text = stems(view.documents.get(t.doc_id, ""))
    for tok in parse(question):
        if tok.dep_ == "pobj" and tok.head.lower_ in CONDITION_PREPS and tok.pos_ in ("NOUN", "PROPN"):
            words = stems(tok.text)
            modifiers = stems(" ".join(c.text for c in tok.children if c.dep_ in ("compound", "amod")))
            if modifiers & context:
                continue  # "with the lowest tariff points": the table's own Tariff column, not a condition
            if words and not words & context and words <= text:
                return True
        # "how much do international students pay …": an adjective of a noun the table names nothing of,
        # that the text uses elsewhere (the table is of all students, not of international ones)
        if (tok.dep_ == "amod" and tok.pos_ == "ADJ" and tok.head.pos_ == "NOUN" and tok.tag_ == "JJ"
                and (words := stems(tok.text)) and not words & context and words <= text and not stems(tok.head.text) & context
                and noun_class(tok.head.lemma_.lower()) != "time"):  # "last year" sets a time, not a kind
            return True
    return False


def stems(text: str) -> set[str]:
    from chatbot.text import STOPWORDS, stem

    return {stem(w) for w in re.findall(r"[a-z][a-z\-]+", text.lower()) if w not in STOPWORDS}


def by_affinity(tables: list[TableData], q: str, documents: Mapping[str, str] | None = None) -> list[TableData]:
    """Tables in the order the question's words point at them: words of the text above a table and
    of its column names; ties keep document order."""
    if len(tables) < 2:
        return tables
    asked = topic_stems(q)
    low = q.lower()

    def affinity(t: TableData) -> int:
        # rows the question names by their whole label ("north ridge", "cairn top") point at the table most
        named = sum(1 for lab in t.labels if (key := label_key(lab)) and len(key) > 2 and re.search(rf"\b{re.escape(key)}\b", low))
        return 2 * named + len(asked & stems(lead_in(t, documents) + " " + " ".join(t.columns)))

    return sorted(tables, key=affinity, reverse=True)


def topic_stems(q: str) -> set[str]:
    """Stems of the question's words that say what it is about: nouns, names, verbs and adjectives,
    not numbers or words of time ("year", "week"), which any table's text may share."""
    from chatbot.understanding.nlp import parse
    from chatbot.understanding.wordnet_seek import noun_class

    return {stem(tok.lower_) for tok in parse(q)
            if tok.pos_ in ("NOUN", "PROPN", "VERB", "ADJ") and not tok.like_num and tok.lower_ not in STOPWORDS
            and not (tok.pos_ == "NOUN" and noun_class(tok.lemma_.lower()) == "time")}


def without_other_counterparts(ask: TableAsk) -> TableAsk:
    """Drop a column about one counterpart ("Exports to Norland") when the question asks about another."""
    drop = [h for h in ask.columns if other_counterpart(ask.table.columns[h.index], ask.q)]
    return replace(ask, columns=tuple(h for h in ask.columns if h not in drop)) if drop else ask


def by_broader_words(ask: TableAsk, text: str) -> TableAsk:
    """Rows or columns named by a word of the question the document never uses, through its WordNet
    synonyms and broader terms ("booze" → "alcohol"): the user's word for the document's."""
    from chatbot.understanding.wordnet_seek import nearby_nouns

    if not text:
        return ask
    used = stems(text)
    t = ask.table
    rows, cols = [], []
    for m in re.finditer(r"[a-z]{3,}", ask.q):  # "booze-wise": each part
        w = m.group(0)
        if stem(w) in used or w in STOPWORDS:
            continue
        near = {stem(x) for x in nearby_nouns(w)}
        rows += [Hit(i, m.start(), m.end(), 1.0) for i, lab in enumerate(t.labels) if stems(label_key(lab)) and stems(label_key(lab)) <= near]
        cols += [Hit(j, m.start(), m.end(), PARTIAL) for j in range(1, len(t.columns))
                 if stems(re.sub(r"\([^)]*\)", " ", t.columns[j])) and stems(re.sub(r"\([^)]*\)", " ", t.columns[j])) <= near]
    if len({h.index for h in rows}) == 1:
        return replace(ask, rows=(rows[0],))
    if not rows and len({h.index for h in cols}) == 1:
        return replace(ask, columns=(cols[0],))
    return ask


# Nouns that say what a column of a unit measures (general English): "the compression speed" of a
# column in MB/s is that column, "the compression level" is not.
MEASURES = {
    "rate": {"speed", "rate", "throughput", "velocity", "pace"},
    "money": {"price", "cost", "value", "amount", "spend", "spending", "budget", "revenue", "income", "fee"},
    "percent": {"share", "rate", "percentage", "proportion", "percent"},
    "duration": {"time", "duration", "length", "wait"},
    "distance": {"distance", "length", "range"},
    "mass": {"weight", "mass", "load"},
    "any": {"value", "figure", "number", "amount", "total", "count"},
}


def _measure_nouns(t: TableData, j: int) -> set[str]:
    unit = (t.units[j] or header_unit(t.columns[j])).lower()
    kinds = {"any"}
    if "/" in unit or unit.startswith("per"):
        kinds.add("rate")
    if is_currency_unit(t.units[j]):
        kinds.add("money")
    if unit == "percent":
        kinds.add("percent")
    if unit in DURATION:
        kinds.add("duration")
    if unit in DIMENSIONS[2][1]:
        kinds.add("distance")
    if unit in DIMENSIONS[1][1]:
        kinds.add("mass")
    return {stem(w) for k in kinds for w in MEASURES[k]}


def _without_compound_heads(ask: TableAsk, text: str) -> TableAsk:
    """Drop a column whose word only modifies another noun, when the document itself uses that
    two-word term and the table has no such column: "the highest compression level" asks for a
    level, not for the Compression column, where the text speaks of "compression levels"."""
    if not ask.columns or not text:
        return ask
    from chatbot.understanding.nlp import parse

    by_start = {tok.idx: tok for tok in parse(ask.q)}
    table_words = stems(" ".join((*ask.table.columns, *ask.table.labels)))
    low = text.lower()
    drop = []
    for h in ask.columns:
        tok = by_start.get(h.start)
        if h.strength < 1 or tok is None or tok.dep_ not in ("compound", "amod") or tok.head.pos_ != "NOUN" or tok.head.i != tok.i + 1:
            continue
        head = stems(tok.head.text)
        if head & _measure_nouns(ask.table, h.index):
            continue  # "compression speed" of a column in MB/s: the noun says what the column measures
        if head and not head & table_words and re.search(rf"\b{re.escape(tok.lower_)}\s+{re.escape(tok.head.lower_.rstrip('s'))}", low):
            drop.append(h)
    return replace(ask, columns=tuple(h for h in ask.columns if h not in drop)) if drop else ask


BETTER = re.compile(r"\b(higher|larger|bigger|more|greater|lower|smaller|less|fewer)\b(?:\s+\w+){0,2}\s+(?:is|are|means)\s+better\b")


@lru_cache(maxsize=256)
def better_directions(columns: tuple[str, ...], text: str) -> tuple[frozenset[int], frozenset[int]]:
    """Columns the document's own sentences say are better low or better high ("Ratio is the original
    size divided by the compressed size, so higher is better")."""
    low: set[int] = set()
    high: set[int] = set()
    for sent in re.split(r"(?<=[.!?])\s+", text):
        m = BETTER.search(sent.lower())
        if m is None:
            continue
        for j, col in enumerate(columns[1:], start=1):
            name = label_key(col).rstrip(".")
            if name and re.search(rf"\b{re.escape(name)}", sent.lower()):
                (low if m.group(1) in ("lower", "smaller", "less", "fewer") else high).add(j)
    return frozenset(low), frozenset(high)


def better_asked(ask: TableAsk, m: Metric) -> str:
    """"max" or "min" when the question asks which is better or worse ("better", "best", "worst") of a
    column whose better end the document names; "" otherwise."""
    if m.kind != "column" or not re.search(r"\b(?:better|best|worse|worst)\b", ask.q):
        return ""
    j = m.cols[0]
    good = "min" if j in ask.lower_better else "max" if j in ask.higher_better else ""
    if not good:
        return ""
    return good if re.search(r"\b(?:better|best)\b", ask.q) else ("max" if good == "min" else "min")


def without_other_heads(ask: TableAsk, documents: Mapping[str, str] | None) -> TableAsk:
    """Drop a column named by half its words where that word only modifies another noun the text
    speaks of and the table does not ("the battery warranty" is not the Usable battery column)."""
    text = (documents or {}).get(ask.table.doc_id, "")
    ask = _without_compound_heads(ask, text)
    weak = [h for h in ask.columns if h.strength == PARTIAL]
    if not weak or not text or not ask.rows:
        return ask
    from chatbot.understanding.nlp import parse

    by_start = {tok.idx: tok for tok in parse(ask.q)}
    table_words = stems(" ".join((*ask.table.columns, *ask.table.labels)))
    names = [stems(ask.table.labels[h.index]) for h in ask.rows]
    # the sentences of the text that speak of a row the question names
    said = [ws for sent in re.split(r"(?<=[.!?])\s+|\n\s*\n", text) if any(n & (ws := stems(sent)) for n in names)]
    drop = []
    for h in weak:
        tok = by_start.get(h.start)
        if tok is None or tok.dep_ not in ("compound", "amod", "nmod") or tok.head.pos_ != "NOUN":
            continue
        head = stems(tok.head.text)
        if head and not head & table_words and any(head <= ws for ws in said):
            drop.append(h)
    return replace(ask, columns=tuple(h for h in ask.columns if h not in drop)) if drop else ask


DEFINES = r"\s+(?:is|are|means|gives|shows|counts|refers to|denotes|measures)\s+(?:the\s+|a\s+|an\s+)?"


@lru_cache(maxsize=256)
def _definitions(columns: tuple[str, ...], text: str) -> tuple[frozenset[str], ...]:
    """For each column, the words of the document's own sentence defining it ("Capacity is the number
    of passengers a vessel is licensed to carry"), as stems; empty when the text defines it nowhere."""
    out = []
    for col in columns:
        name = re.sub(r"\s*\([^)]*\)", "", col).strip()
        m = re.search(rf"(?:^|(?<=[.!?]\s)|(?<=\n)){re.escape(name)}{DEFINES}([^.!?\n]+(?:\n(?!\s*\n)[^.!?\n]+)*)", text) if name else None
        out.append(frozenset(stems(m.group(1)) - stems(name)) if m else frozenset())
    return tuple(out)


def column_by_definition(t: TableData, q: str, text: str) -> int | None:
    """The one numeric column whose definition in the text shares a noun with the question."""
    if not text:
        return None
    from chatbot.understanding.nlp import parse

    nouns = {stem(tok.lower_) for tok in parse(q) if tok.pos_ == "NOUN"}
    defs = _definitions(t.columns, text)
    hits = [j for j in range(1, len(t.columns)) if defs[j] & nouns and any(v[j] is not None for v in t.values)]
    return hits[0] if len(hits) == 1 else None


# Adjectives that measure one dimension, and the units of that dimension (general English).
DURATION_ADJECTIVES = {"long", "short", "lengthy", "brief"}


DIMENSIONS = (
    ({"cheap", "expensive", "costly", "pricey", "pricy", "affordable", "dear"}, "money"),
    ({"heavy", "light", "hefty", "carry", "haul", "lift"}, frozenset({"t", "kg", "g", "lb", "lbs", "tonnes", "tons", "tonne", "ton"})),
    ({"far", "near", "distant", "long", "short"}, frozenset({"km", "m", "mi", "miles", "cm", "mm", "nm", "metres", "meters"})),
    (DURATION_ADJECTIVES, frozenset(DURATION)),
)


def same_dimension(t: TableData, a: int, b: int) -> bool:
    """Columns in the same unit (both in hours, both in euros)."""
    return bool(t.units[a]) and t.units[a] == t.units[b]


def column_by_dimension(t: TableData, q: str, nouns: bool = False) -> int | None:
    """The one column measured in the units an adjective or verb of the question measures ("cheaper" →
    the column of prices, "heaviest" or "carries more" → the column in tonnes); with ``nouns``, also a
    noun for money itself ("the most money", "cash") → the column in a currency. None
    when none or several are."""
    from chatbot.understanding.nlp import parse
    from chatbot.understanding.wordnet_seek import means_money

    # a comparison ("cheaper", "the heaviest") or a verb ("carries more"); not "how long is the warranty"
    doc = parse(q)
    lemmas = {tok.lemma_.lower() for tok in doc if tok.tag_ in ("JJR", "JJS", "RBR", "RBS") or tok.pos_ == "VERB"}
    money = nouns and any(tok.pos_ == "NOUN" and means_money(tok.lemma_.lower()) for tok in doc)
    for words, units in DIMENSIONS:
        if not lemmas & words and not (money and units == "money"):
            continue
        cols = [j for j in range(1, len(t.columns)) if any(v[j] is not None for v in t.values)
                and (is_currency_unit(t.units[j]) if units == "money"
                     else t.units[j].lower() in units or header_unit(t.columns[j]) in units)]
        if len(cols) == 1:
            return cols[0]
    return None


def column_by_verb(t: TableData, q: str) -> int | None:
    """The one numeric column whose name is a noun WordNet derives from a verb of the question
    ("how much more did North Ridge generate" → the Output column; "which site spent most" → Spending)."""
    from chatbot.understanding.nlp import parse
    from chatbot.understanding.wordnet_seek import nouns_of_verb

    derived = {stem(w) for tok in parse(q) if tok.pos_ == "VERB" for w in nouns_of_verb(tok.lemma_.lower()) if "-" not in w}
    if not derived:
        return None
    hits = [j for j in range(1, len(t.columns)) if any(v[j] is not None for v in t.values)
            and stems(re.sub(r"\([^)]*\)", " ", t.columns[j])) & derived]
    return hits[0] if len(hits) == 1 else None
