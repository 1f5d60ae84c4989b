"""Deterministic numeric answers over the facts table, with the arithmetic written out.

The parser knows only general vocabulary (``chatbot.facts.question``); the metrics, years and values
come from the tables and facts extracted at index time. ``NumericQA`` holds a read-only view of them
(``context.FactsView``, built once); each question is read once into a frozen ``Request`` and answered
by the operations ``registry`` lists, in the order written there. Nothing about a question is kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from chatbot.corpus_stats import FactStats, ParagraphStats
from chatbot.facts import registry
from chatbot.facts.context import FactsView, Request, build_view, read_question
from chatbot.facts.extract import TableData
from chatbot.facts.flows import FlowTable
from chatbot.facts.question import (
    METRIC_SYNONYMS,
    OPS,
    YEAR_RE,
    Evidence,
    Metric,
    NumericAnswer,
)
from chatbot.facts.store import FactsDB
from chatbot.facts.table_read import metrics
from chatbot.types import Fact

__all__ = ["METRIC_SYNONYMS", "OPS", "Evidence", "Metric", "NumericAnswer", "NumericQA"]

# How many answerers over a set of retrieved documents are kept. Making one for 1-6 documents of the
# 1 MB bench_scale corpus took 2.3 ms (p50; 12.7 ms for the first, which indexes facts by document).
SCOPE_CACHE = 128


class NumericQA:
    """Numeric answers over one facts store and its documents' text (``titles``: document id → title)."""

    def __init__(self, db: FactsDB, documents: Mapping[str, str] | None = None, titles: Mapping[str, str] | None = None,
                 stats: ParagraphStats | None = None, fact_stats: FactStats | None = None) -> None:
        """``stats``, ``fact_stats``: the statistics the index build derived (``chatbot.corpus_stats``)."""
        self.db = db
        self.view: FactsView = build_view(db, documents or {}, titles or {}, stats, fact_stats)
        self._scopes: OrderedDict[frozenset[str], NumericQA] = OrderedDict()
        self._scope_lock = threading.Lock()
        self._facts_by_doc: dict[str, list[Fact]] = {}
        self._tables_by_doc: dict[str, list[TableData]] = {}
        for f in db.facts:
            self._facts_by_doc.setdefault(f.doc_id, []).append(f)
        for t in db.tables:
            self._tables_by_doc.setdefault(t.doc_id, []).append(t)

    @property
    def documents(self) -> Mapping[str, str]:
        return self.view.documents

    @property
    def titles(self) -> Mapping[str, str]:
        return self.view.titles

    @property
    def flow_tables(self) -> Mapping[str, FlowTable]:
        return self.view.flow_tables

    # ---- scope ---------------------------------------------------------------------------------

    def scoped(self, doc_ids: Iterable[str] | None) -> NumericQA:
        """The answerer over only these documents' facts, tables and words (the documents of the
        retrieved passages), so a question's cost follows what it touches, not the corpus size.
        ``None``, no document, or every document of the corpus is this answerer itself."""
        if doc_ids is None:
            return self
        key = frozenset(d for d in doc_ids if d in self.documents)
        if not key or key == frozenset(self.documents):
            return self  # nothing retrieved (never with passages in the index) or the whole corpus
        with self._scope_lock:
            qa = self._scopes.get(key)
            if qa is not None:
                self._scopes.move_to_end(key)
                return qa
        qa = NumericQA(
            FactsDB([f for f in self.db.facts if f.doc_id in key], [t for t in self.db.tables if t.doc_id in key])
            if len(key) * 4 > len(self.documents) else self._by_doc(key),
            {d: self.documents[d] for d in key},
            {d: t for d, t in self.titles.items() if d in key},
        )
        with self._scope_lock:
            self._scopes[key] = qa
            while len(self._scopes) > SCOPE_CACHE:
                self._scopes.popitem(last=False)
        return qa

    def _by_doc(self, key: frozenset[str]) -> FactsDB:
        """The facts and tables of a few documents, from the per-document index."""
        order = [d for d in self.documents if d in key]  # the corpus order, as a full scan meets them
        return FactsDB([f for d in order for f in self._facts_by_doc.get(d, [])],
                       [t for d in order for t in self._tables_by_doc.get(d, [])])

    # ---- answering -----------------------------------------------------------------------------

    def answer(self, question: str) -> NumericAnswer | None:
        return registry.answer(Request(read_question(question), self.view))

    def asks_for_figure(self, question: str) -> bool:
        """A question about a table's metric in one of its years wants a figure."""
        ask = read_question(question)
        return any(metrics(self.view, t, ask) and any(y in t.labels for y in YEAR_RE.findall(ask.q)) for t in self.view.tables)
