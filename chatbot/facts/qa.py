"""Deterministic numeric answers over the facts table, with the arithmetic written out.

The parser knows only general vocabulary (``chatbot.facts.question``); the metrics, years and values
come from the tables and facts extracted at index time. Table operations live in ``table_ops``,
sentence-fact operations in ``mention_ops``; this module routes a question to them.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable

from chatbot.corpus_stats import FactStats, ParagraphStats, derive_paragraph_stats
from chatbot.facts.currency import currencies
from chatbot.facts.flows import find_flow_table
from chatbot.facts.keyed import answer_keyed
from chatbot.facts.mention_ops import MentionOps
from chatbot.facts.question import (
    COUNT_INTENT,
    ENTITY_Q,
    GENERIC,
    LIST_Q,
    METRIC_SYNONYMS,
    METRIC_TERMS,
    NAME_WORD,
    OPS,
    PART_WORDS,
    QUALIFIERS,
    RANK_INTENT,
    SCOPE_FILLER,
    WHEN_INTENT,
    YEAR_RE,
    YEARS_APART,
    Evidence,
    Metric,
    NumericAnswer,
    fold_question,
)
from chatbot.facts.store import FactsDB
from chatbot.facts.table_ops import TableOps
from chatbot.text import STOPWORDS, content_terms, stem, words

REASON_Q = re.compile(r"^\s*(?:why|how (?:did|does|do|come|could|can|has|have|was|were|is|are)\b)")

__all__ = ["METRIC_SYNONYMS", "OPS", "Evidence", "Metric", "NumericAnswer", "NumericQA"]

# How many answerers over a set of retrieved documents are kept. Making one for 1-6 documents of the
# 1 MB bench_scale corpus took 2.3 ms (p50; 12.7 ms for the first, which indexes facts by document).
SCOPE_CACHE = 128


class NumericQA(TableOps, MentionOps):
    def __init__(
        self, db: FactsDB, documents: dict[str, str] | None = None, stats: ParagraphStats | None = None, fact_stats: FactStats | None = None
    ) -> None:
        """``stats``, ``fact_stats``: the documents' paragraph statistics and the facts' subject
        statistics as the index build derived them (else derived here, the same way)."""
        self.db = db
        self.titles: dict[str, str] = {}
        self.documents = documents or {}
        self._scopes: OrderedDict[frozenset[str], NumericQA] = OrderedDict()
        self._scope_lock = threading.Lock()
        self.flow_tables = {t.id: ft for t in db.tables if (ft := find_flow_table(t, self.documents.get(t.doc_id, "")))}
        self._doc_lower = " ".join(self.documents.values()).lower()
        if stats is None:
            stats = derive_paragraph_stats(self.documents.values())
        self.doc_df: dict[str, int] = stats.df  # in how many paragraphs each term occurs
        self.n_paragraphs = stats.paragraphs
        # words the document writes capitalised (names such as "Boeing"): never mere verbs
        self.capitalised = stats.capitalised
        # stems the document uses only in lower-case verb forms ("handled"): they say how, not what
        self.verb_only: set[str] = stats.verb_only
        self._idf_cache: dict[str, float] | None = fact_stats.idf() if fact_stats is not None else None
        self._idf()

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
        )
        qa.titles = {d: t for d, t in self.titles.items() if d in key}
        with self._scope_lock:
            self._scopes[key] = qa
            while len(self._scopes) > SCOPE_CACHE:
                self._scopes.popitem(last=False)
        return qa

    def _by_doc(self, key: frozenset[str]) -> FactsDB:
        """The facts and tables of a few documents, from a per-document index made once."""
        if getattr(self, "_facts_by_doc", None) is None:
            facts: dict[str, list] = {}
            tables: dict[str, list] = {}
            for f in self.db.facts:
                facts.setdefault(f.doc_id, []).append(f)
            for t in self.db.tables:
                tables.setdefault(t.doc_id, []).append(t)
            self._facts_by_doc, self._tables_by_doc = facts, tables
        order = [d for d in self.documents if d in key]  # the corpus order, as a full scan meets them
        return FactsDB([f for d in order for f in self._facts_by_doc.get(d, [])],
                       [t for d in order for t in self._tables_by_doc.get(d, [])])

    # ---- parsing -------------------------------------------------------------------------------

    def answer(self, question: str) -> NumericAnswer | None:
        q = fold_question(question)
        op = self.operation(q)
        if REASON_Q.match(q) and op is None:
            return None  # "how did X end up with a surplus?" asks for the reason, which the text gives
        names = {w.lower() for w in NAME_WORD.findall(question.strip()[1:])}
        if any(not self._doc_knows(n) for n in names):
            return None  # "imports from China": the document never names it, so no figure here is about it
        for t in self.db.tables:
            if not t.year_keyed:
                keyed = answer_keyed(t, q, self.flow_metrics(t, q))
                if keyed is not None:
                    return keyed
        if op in ("max", "min") and PART_WORDS.search(q):
            extreme = self._extreme_part(q, op)
            if extreme is not None:
                return extreme
        if YEARS_APART.search(q):
            apart = self._years_apart(q)
            if apart is not None:
                return apart
        if WHEN_INTENT.search(q) or COUNT_INTENT.search(q) or RANK_INTENT.search(q):
            special = self._answer_mentions(q, kinds=("event", "count", "rank"))
            if special is not None:
                return special
            if RANK_INTENT.search(q) and not (op in ("max", "min") and not PART_WORDS.search(q)):
                return None  # a ranking question is not answered with an amount
        parts = self._answer_parts(q)
        if parts is not None:
            return parts
        if LIST_Q.search(q) and PART_WORDS.search(q):
            listing = self._list_parts(q)
            if listing is not None:
                return listing
        if op is None and ENTITY_Q.search(q):
            return None
        for t in self.db.tables:
            ans = self._answer_table(t, q) if t.year_keyed else None
            if ans is not None:
                return ans
        if op == "share":
            share = self._share_of_mentions(q)
            if share is not None:
                return share
        return self._answer_mentions(q)

    def asks_for_figure(self, question: str) -> bool:
        """A question about a table's metric in one of its years wants a figure."""
        q = fold_question(question)
        return any(self.metrics(t, q) and any(y in t.labels for y in YEAR_RE.findall(q)) for t in self.db.tables)

    def _doc_knows(self, word: str) -> bool:
        """Does the document use this word (any case, or as a spelling of a name it uses)?"""
        if stem(word) in self.doc_df or " ".join(content_terms(fold_question(word))) in self.doc_df:
            return True
        return re.search(rf"\b{re.escape(word.lower())}", self._doc_lower) is not None

    def _off_topic(self, q: str, context: str, rare_only: bool = False) -> bool:
        """Does the question name something the document mentions elsewhere but this source does not?
        ("How much oil …" must not be answered with a total that says nothing of oil.)"""
        ctx = set(content_terms(fold_question(context)))
        op = self.operation(q)
        if op is not None:  # the words that name the operation ("add up", "compared with") are not the topic
            q = dict(OPS)[op].sub(" ", q)
        for word in words(q):
            if word in STOPWORDS or (rare_only and re.search(r"(?:ed|ing|ly)$", word) and word not in self.capitalised):
                continue  # verbs and adverbs ("handled", "shipping") say how, not what; names ("Airbus") count
            term = stem(word)
            if rare_only and (word in QUALIFIERS or word in currencies().by_name) and term not in ctx:
                return True  # "first half of 2024", "in euros", "per capita": not what the table measures
            if term in GENERIC or term in SCOPE_FILLER or term in METRIC_TERMS:
                continue
            if term in ctx or YEAR_RE.fullmatch(term) or term not in self.doc_df or (rare_only and term in self.verb_only):
                continue
            if not rare_only or self.doc_df[term] <= max(2, self.n_paragraphs // 5):
                return True
        return False

    def _coverage(self, q_terms: set[str], context: str) -> float:
        ctx = set(content_terms(fold_question(context)))
        return len(q_terms & ctx) / max(1, len(q_terms))
