"""Evidence sentences: scoring sentences of retrieved passages against a question, and support.

Support is the idf-weighted share of the question's key terms found in the chosen sentences;
terms the corpus never uses weigh most, so a question about something absent scores low.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from chatbot.corpus_stats import RELATED_WEIGHT, passage_stats
from chatbot.index import LoadedIndex
from chatbot.text import STOPWORDS, content_terms, stem
from chatbot.types import Passage, Span
from chatbot.understanding import analyse

# General question vocabulary that says what is asked, not what about.
QUESTION_FILLER = {
    stem(w)
    for w in (
        "mention", "mentioned", "describe", "described", "explain", "happen", "happened", "kind", "type", "key",
        "main", "role", "specific", "specifically", "exactly", "article", "author", "piece", "report", "name", "named",
        "involve", "involved", "detail", "details", "state", "stated", "note", "noted", "reason", "reasons", "way", "ways",
        "thing", "things", "part", "happening", "mean", "means", "do", "doe", "did", "done", "get", "go",
        "value", "amount", "number", "size", "figure", "scope", "sort",
    )
}
CIRCUMSTANCE_WEIGHT = 0.5  # a key term of an adverbial clause, in choosing the evidence sentence
LEXICAL_WEIGHT = 0.6  # sentence choice: word overlap vs sentence-embedding similarity (measured, eval/README.md)
HEAD_OF = re.compile(r"^\s*(?:what|who|which)(?:'s|\s+is|\s+was|\s+are|\s+were)\s+(?:the\s+|a\s+|an\s+)?([a-z][a-z\-]+) of ")
OF_PAIR = re.compile(r"\b([a-z][a-z\-]+) of (?:the |a |an )?([a-z][a-z\-]+)\b")


@dataclass(frozen=True)
class ScoredSentence:
    passage: Passage
    span: Span
    score: float
    lexical: float
    dense: float
    rank: int  # rank of its passage in retrieval


class EvidenceScorer:
    def __init__(self, index: LoadedIndex) -> None:
        self.index = index
        self.offsets: dict[str, int] = {}
        pos = 0
        for p in index.passages:
            self.offsets[p.id] = pos
            pos += len(p.sentences)
        self.position = {p.id: i for i, p in enumerate(index.passages)}
        self.sections = list(dict.fromkeys(p.section for p in index.passages))  # in reading order
        # derived at index build (``chatbot.corpus_stats``), or here when the index carries none
        stats = index.stats.passages if index.stats is not None else passage_stats(index.passages)
        n = len(index.passages)
        self.df = stats.df  # in how many passages each term occurs
        self.idf = {t: math.log(1 + n / c) for t, c in self.df.items()}
        self.unknown_idf = math.log(1 + n / 0.5)
        # words of the headings count as used: "PARVUS" may stand only in a section title
        self.corpus_terms = set(self.df) | stats.section_terms
        # a word the documents never use may stand for words they do ("shortfall" for "deficit")
        self.related = {t: set(own) for t, own in stats.related.items() if t not in self.corpus_terms}
        self._sentence_terms: dict[tuple[str, int], set[str]] = {}  # tokenised when first scored

    def sentence_terms(self, passage: Passage, k: int) -> set[str]:
        """The terms of the ``k``-th sentence of ``passage`` (a passage's last line ending in ":" with
        the first line it introduces)."""
        key = (passage.id, k)
        terms = self._sentence_terms.get(key)
        if terms is None:
            span = passage.sentences[k]
            terms = set(content_terms(span.text))
            if k == len(passage.sentences) - 1 and span.text.rstrip().endswith(":"):
                terms |= {t for _, sp in self.following(passage, span, 1) for t in content_terms(sp.text)}  # what it introduces
            self._sentence_terms[key] = terms
        return terms

    def following(self, passage: Passage, span: Span, n: int) -> list[tuple[Passage, Span]]:
        """Up to ``n`` sentences after ``span`` in reading order, into the document's next passage; a
        heading met on the way is one of them ("Known not to require it:" followed by a line the
        document set as a heading, "Linux, SunOS")."""
        out: list[tuple[Passage, Span]] = []
        i = self.position.get(passage.id)
        after = span.end
        while i is not None and i < len(self.index.passages) and len(out) < n:
            p = self.index.passages[i]
            if p.doc_id != passage.doc_id:
                break
            heading = self._heading_before(p, after) if p.id != passage.id and p.section != passage.section else None
            out += [(p, heading)] if heading is not None else []
            out += [(p, sp) for sp in p.sentences if sp.start >= span.end][: n - len(out)]
            after = max(after, p.end)
            i += 1
        return out[:n]

    def introduction(self, passage: Passage, span: Span) -> tuple[Passage, Span] | None:
        """The line ending in ":" that introduces ``span`` when ``span`` opens its passage ("… the
        following are defined in `manconfig.h`:" before the block it introduces), else None."""
        i = self.position.get(passage.id)
        if i is None or i == 0 or not passage.sentences or passage.sentences[0].start != span.start:
            return None
        before = self.index.passages[i - 1]
        if before.doc_id != passage.doc_id or before.section != passage.section or not before.sentences:
            return None
        last = before.sentences[-1]
        return (before, last) if last.text.rstrip().endswith(":") else None

    def _heading_before(self, passage: Passage, after: int) -> Span | None:
        """The span of ``passage``'s section title when it stands between ``after`` and the passage."""
        doc = self.index.documents.get(passage.doc_id)
        title = passage.section.strip()
        if doc is None or not title or after >= passage.start:
            return None
        at = doc.text.rfind(title, after, passage.start)
        return Span(title, at, at + len(title)) if at >= 0 else None

    def covers(self, term: str, terms: set[str]) -> float:
        """1 when ``terms`` hold the key term or a form of it; RELATED_WEIGHT when they hold, for a
        word the documents never use, a word of theirs that WordNet relates to it (a word has many
        senses, so this is weaker evidence); else 0."""
        if matches(term, terms):
            return 1.0
        return RELATED_WEIGHT if self.related.get(term, set()) & terms else 0.0

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.unknown_idf)

    def knows(self, word: str) -> bool:
        """Does the corpus use this word (or a word of the same stem) at all?"""
        if word.startswith("percent"):
            return any("%" in p.text or "percent" in p.text.lower() for p in self.index.passages)
        terms = content_terms(word)
        return all(t in self.corpus_terms or t in QUESTION_FILLER or matches(t, self.corpus_terms) for t in terms)

    def key_terms(self, question: str) -> list[str]:
        seen: list[str] = []
        for t in content_terms(question):
            if t not in QUESTION_FILLER and t not in seen:
                seen.append(t)
        return seen

    def score(self, question: str, qvec: list[float] | None, passages: list[Passage]) -> list[ScoredSentence]:
        keys = self.key_terms(question)
        # the circumstance ("after the cooperative took over") weighs less than what is asked about
        aside = {t for w in analyse(question).circumstance for t in content_terms(w)}
        weights = {t: self.weight(t) * (CIRCUMSTANCE_WEIGHT if t in aside else 1.0) for t in keys}
        total = sum(weights.values()) or 1.0
        q = np.asarray(qvec, dtype=np.float32) if qvec is not None else None
        out = []
        for rank, p in enumerate(passages):
            base = self.offsets[p.id]
            for k, span in enumerate(p.sentences):
                terms = self.sentence_terms(p, k)
                lex = sum(weights[t] * self.covers(t, terms) for t in keys) / total
                dense = float(self.index.sentence_vectors[base + k] @ q) if q is not None else 0.0
                score = LEXICAL_WEIGHT * lex + (1 - LEXICAL_WEIGHT) * max(0.0, dense) + 0.05 / (rank + 1)
                out.append(ScoredSentence(p, span, score, lex, dense, rank))
        out.sort(key=lambda s: -s.score)
        return out

    def support(self, question: str, spans: list[Span]) -> tuple[float, list[str]]:
        """(idf-weighted share of key terms covered, the uncovered key terms)."""
        keys = self.key_terms(question)
        if not keys:
            return 0.0, []
        text_terms: set[str] = set()
        for s in spans:
            text_terms |= set(content_terms(s.text))
        share = {t: self.covers(t, text_terms) for t in keys}
        covered = {t for t, c in share.items() if c > 0}
        # "president of X": both words must stand near each other in the evidence.
        names = {stem(w.lower()) for w in re.findall(r"\b[A-Z][\w\-]+", question[1:])}
        m = HEAD_OF.match(question.lower())
        head = m.group(1) if m else ""
        for a, b in OF_PAIR.findall(question.lower()):
            sa, sb = stem(a), stem(b)
            if sa in QUESTION_FILLER or sb in QUESTION_FILLER or a in STOPWORDS or b in STOPWORDS:
                continue
            if sa not in covered:
                if sa not in self.corpus_terms and sb in names and a == head:
                    covered.discard(sb)  # "What is the population of Paris?": the document never speaks of it
                continue
            if sb not in covered or not any(_near(s.text, sa, sb) for s in spans):
                covered.discard(sa)
                covered.discard(sb)
        total = sum(self.weight(t) for t in keys)
        got = sum(self.weight(t) * share[t] for t in covered)
        return got / total, [t for t in keys if t not in covered]


def matches(term: str, terms: set[str]) -> bool:
    """Exact stem, or one stem a prefix of the other (partner ~ partnership), 5+ letters."""
    if term in terms:
        return True
    if len(term) < 5:
        return False
    return any(len(t) >= 5 and (t.startswith(term) or term.startswith(t)) for t in terms)


def _near(text: str, a: str, b: str, window: int = 8) -> bool:
    toks = content_terms(text)
    pa = [i for i, t in enumerate(toks) if matches(t, {a})]
    pb = [i for i, t in enumerate(toks) if matches(t, {b})]
    return any(abs(i - j) <= window for i in pa for j in pb)
