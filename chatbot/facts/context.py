"""What one numeric answer reads: the question, analysed once (``Ask``), and a read-only view of the
facts store and the corpus text (``FactsView``), built once per answerer.

Both are frozen; an operation gets them as arguments and keeps nothing between calls, so one
answerer serves any number of threads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from chatbot.corpus_stats import FactStats, ParagraphStats, derive_paragraph_stats
from chatbot.facts.currency import currencies
from chatbot.facts.extract import FIELD_NOTE, TableData
from chatbot.facts.flows import FlowTable, find_flow_table
from chatbot.facts.question import (
    GENERIC,
    METRIC_TERMS,
    NAME_WORD,
    OPS,
    QUALIFIERS,
    SCOPE_FILLER,
    YEAR_RE,
    fold_question,
)
from chatbot.facts.store import FactsDB
from chatbot.text import STOPWORDS, content_terms, stem, words
from chatbot.types import Fact


@dataclass(frozen=True)
class Ask:
    """One question as the numeric operations read it, parsed once."""

    question: str  # as asked
    q: str  # folded (lower case, names folded)
    op: str | None  # the first operation of ``OPS`` the question names
    years: tuple[str, ...]  # the years it names, in order
    terms: frozenset[str]  # its content terms (stemmed)
    key_terms: frozenset[str]  # the same without the generic ones ("how", "much", "value" …)
    names: frozenset[str]  # capitalised words after the first, lower-cased: names it uses
    topic_words: tuple[str, ...]  # its words without the ones that name the operation ("add up", "compared with")
    verbs: frozenset[str] = frozenset()  # words the spaCy parse tags as verbs or adverbs ("make", "back in 2020"): how, not what


def operation(q: str) -> str | None:
    """The first operation of ``OPS`` a (folded) question names."""
    return next((name for name, pat in OPS if pat.search(q)), None)


def read_question(question: str) -> Ask:
    q = fold_question(question)
    op = operation(q)
    terms = frozenset(content_terms(q))
    return Ask(
        question=question,
        q=q,
        op=op,
        years=tuple(YEAR_RE.findall(q)),
        terms=terms,
        key_terms=terms - GENERIC,
        names=frozenset(w.lower() for w in NAME_WORD.findall(question.strip()[1:])),
        topic_words=tuple(words(dict(OPS)[op].sub(" ", q) if op is not None else q)),
        verbs=_verbs(question),
    )


def _verbs(question: str) -> frozenset[str]:
    from chatbot.understanding.nlp import parse

    return frozenset(tok.lower_ for tok in parse(question) if tok.pos_ in ("VERB", "AUX", "ADV"))


@dataclass(frozen=True)
class FactsView:
    """The facts store and corpus text an answerer reads, with the indexes derived from them once."""

    facts: tuple[Fact, ...]
    tables: tuple[TableData, ...]
    documents: Mapping[str, str]
    titles: Mapping[str, str]
    flow_tables: Mapping[str, FlowTable]  # table id → its flow columns, for tables of flows between two parties
    doc_df: Mapping[str, int]  # in how many paragraphs each term occurs
    n_paragraphs: int
    verb_only: frozenset[str]  # stems the documents use only in lower-case verb forms ("handled"): they say how, not what
    capitalised: frozenset[str]  # words the documents write capitalised (names such as "Boeing"): never mere verbs
    doc_lower: str
    idf: Mapping[str, float]  # over the facts' subjects
    by_id: Mapping[str, Fact]
    part_groups: Mapping[str, tuple[Fact, ...]]  # parent fact id → its listed components, in text order


def build_view(db: FactsDB, documents: Mapping[str, str], titles: Mapping[str, str],
               stats: ParagraphStats | None = None, fact_stats: FactStats | None = None) -> FactsView:
    """The read-only view; ``stats`` and ``fact_stats`` are the documents' paragraph statistics and the
    facts' subject statistics as the index build derived them (else derived here, the same way)."""
    if stats is None:
        stats = derive_paragraph_stats(documents.values())
    groups: dict[str, list[Fact]] = {}
    for f in db.facts:
        if f.kind == "part" and f.parent_id:
            groups.setdefault(f.parent_id, []).append(f)
    return FactsView(
        facts=tuple(db.facts),
        tables=tuple(db.tables),
        documents=MappingProxyType(dict(documents)),
        titles=MappingProxyType(dict(titles)),
        flow_tables=MappingProxyType({t.id: ft for t in db.tables if (ft := find_flow_table(t, documents.get(t.doc_id, "")))}),
        doc_df=MappingProxyType(stats.df),
        n_paragraphs=stats.paragraphs,
        verb_only=frozenset(stats.verb_only),
        capitalised=frozenset(stats.capitalised),
        doc_lower=" ".join(documents.values()).lower(),
        idf=MappingProxyType(fact_stats.idf() if fact_stats is not None else _idf(db.facts)),
        by_id=MappingProxyType({f.id: f for f in db.facts}),
        part_groups=MappingProxyType({k: tuple(v) for k, v in groups.items()}),
    )


def _idf(facts: list[Fact]) -> dict[str, float]:
    df: dict[str, int] = {}
    for f in facts:
        for term in set(content_terms(f.subject)):
            df[term] = df.get(term, 0) + 1
    n = max(1, len(facts))
    return {t: math.log(1 + n / c) for t, c in df.items()}


@dataclass(frozen=True)
class Request:
    """One question put to one answerer: what every question-level operation reads."""

    ask: Ask
    view: FactsView


# ---- reading the corpus through the view ----------------------------------------------------------


def doc_knows(view: FactsView, word: str) -> bool:
    """Does the document use this word (any case, or as a spelling of a name it uses)?"""
    if stem(word) in view.doc_df or " ".join(content_terms(fold_question(word))) in view.doc_df:
        return True
    return re.search(rf"\b{re.escape(word.lower())}", view.doc_lower) is not None


def coverage(q_terms: frozenset[str] | set[str], context: str) -> float:
    """The share of the question's terms that occur in a context."""
    ctx = set(content_terms(fold_question(context)))
    return len(q_terms & ctx) / max(1, len(q_terms))


def off_topic(ask: Ask, view: FactsView, context: str, rare_only: bool = False) -> bool:
    """Does the question name something the document mentions elsewhere but this source does not?
    ("How much oil …" must not be answered with a total that says nothing of oil.)"""
    ctx = set(content_terms(fold_question(context)))
    for word in ask.topic_words:
        if word in STOPWORDS or (rare_only and (re.search(r"(?:ed|ing|ly)$", word) or word in ask.verbs) and word not in view.capitalised):
            continue  # verbs and adverbs ("handled", "shipping", "make") say how, not what; names ("Airbus") count
        term = stem(word)
        if rare_only and (word in QUALIFIERS or word in currencies().by_name) and term not in ctx:
            return True  # "first half of 2024", "in euros", "per capita": not what the table measures
        if term in GENERIC or term in SCOPE_FILLER or term in METRIC_TERMS:
            continue
        if term in ctx or YEAR_RE.fullmatch(term) or term not in view.doc_df or (rare_only and term in view.verb_only):
            continue
        if not rare_only or view.doc_df[term] <= max(2, view.n_paragraphs // 5):
            return True
    return False


def sentence_around(view: FactsView, f: Fact) -> str:
    text = view.documents.get(f.doc_id, "")
    if not text:
        return f.quote
    start = max(text.rfind(". ", 0, f.start), text.rfind("\n", 0, f.start)) + 1
    ends = [i for i in (text.find(". ", f.end), text.find("\n", f.end)) if i >= 0]
    end = min(ends) if ends else len(text)
    return text[start:end]


def scope_title(view: FactsView, f: Fact) -> str:
    """A document's field list describes the document itself, so its title is in scope there."""
    return view.titles.get(f.doc_id, "") if f.source_note == FIELD_NOTE else ""
