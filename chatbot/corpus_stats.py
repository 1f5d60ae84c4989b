"""What the answering steps know about the corpus's words, derived once at index build time.

The query normaliser's vocabulary and acronyms, the evidence scorer's passage frequencies and the
facts answerer's paragraph and fact-subject frequencies are pure functions of the documents (their
passages, their facts).
A build derives them per document (``DocumentStats``), merges them in corpus order (``CorpusStats``)
and stores both in the build folder, as JSON::

    corpus_stats.json   the merged statistics: read once at load
    doc_stats.json      per document: read by the next build, which derives only new or edited documents

Both files carry ``STATS_FORMAT`` and ``code_key()`` (a hash of the code that derives them); the
manifest records the same key, so a build made by other deriving code is stale and is rebuilt
(its documents' passages and vectors reused, their statistics derived again). Loading checks the
file against its build (corpus hash, key, counts): a missing or damaged file is an unusable index.

Merging gives exactly what deriving over the whole corpus at once gives (``derive_normaliser`` and
the others below are also what the answerers run when given no stored statistics, e.g. over a few
documents at query time).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatbot.errors import IndexBuildError
from chatbot.facts.question import fold_question
from chatbot.text import STOPWORDS, alias_signature, content_terms, normalise, stem
from chatbot.types import Passage
from chatbot.understanding.lexicon import Lexicon

STATS_FORMAT = 2
STATS_FILE = "corpus_stats.json"
DOC_STATS_FILE = "doc_stats.json"
# The code whose behaviour the statistics depend on (tokenising, folding, this module).
STATS_CODE = ("corpus_stats.py", "text.py", "facts/question.py", "understanding/lexicon.py")

NAME = re.compile(r"\b[A-Z][\w’'\-]*(?:\s+(?:(?:of|on|and|for|the)\s+)*[A-Z][\w’'\-]*)+")
WORD = re.compile(r"[A-Za-z][A-Za-z’'\-]*")
PAREN_ACRONYM = re.compile(r"\s*\(([A-Z][A-Za-z]{1,9})\)")
LOWER_WORD = re.compile(r"[a-z][a-z\-]+")
PARAGRAPH_SPLIT = re.compile(r"\n\s*\n|\n")
ANY_WORD = re.compile(r"[A-Za-z][\w\-]*")
CAPITALISED = re.compile(r"\b[A-Z][a-z][\w\-]*")
VERB_FORM = re.compile(r"[a-z][\w\-]*(?:ed|ing)")


def code_key() -> str:
    """A hash of the deriving code: statistics made by other code are not used."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256(f"{STATS_FORMAT}\0".encode())
    for name in STATS_CODE:
        h.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return h.hexdigest()[:32]


def reuse_key() -> str:
    """Per-document statistics are reused only with the same code and the same alias folding."""
    return hashlib.sha256(f"{code_key()}\0{alias_signature()}".encode()).hexdigest()[:32]


# ---- the query normaliser ------------------------------------------------------------------------
@dataclass
class NormaliserPart:
    """One document's words (as written and as folded), the names it spells whose initials may be
    an acronym, the acronyms it defines in parentheses, and its most frequent lower-case phrase of
    two or three words per initials."""

    vocab: list[str]
    names: dict[str, str]
    explicit: dict[str, str]
    phrases: dict[str, str]


def normaliser_part(text: str) -> NormaliserPart:
    vocab = {w.lower().strip("'’-") for w in WORD.findall(text)}  # each word as written, and as folded
    vocab |= {w.strip("'’-") for w in WORD.findall(normalise(text))}
    names: dict[str, str] = {}
    explicit: dict[str, str] = {}
    for m in NAME.finditer(text):
        name = m.group(0)
        words = name.split()
        if len(words) < 2:
            continue
        for initials in ("".join(w[0] for w in words), "".join(w[0] for w in words if w[0].isupper())):
            if len(initials) >= 2:
                names.setdefault(initials.lower(), name)
        paren = PAREN_ACRONYM.match(text[m.end() : m.end() + 12])
        if paren:
            explicit[paren.group(1).lower()] = name
    # lower-case terms of two or three words ("artificial intelligence" for "AI"), most frequent first
    counts: dict[str, dict[str, int]] = {}
    toks = LOWER_WORD.findall(text)
    for n in (2, 3):
        for i in range(len(toks) - n + 1):
            phrase = toks[i : i + n]
            if any(w in STOPWORDS for w in phrase):
                continue
            initials = "".join(w[0] for w in phrase)
            key = " ".join(phrase)
            found = counts.setdefault(initials, {})
            found[key] = found.get(key, 0) + 1
    phrases = {initials: max(found.items(), key=lambda kv: kv[1])[0] for initials, found in counts.items()}
    return NormaliserPart(sorted(vocab), names, explicit, phrases)


@dataclass
class NormaliserStats:
    vocab: set[str]
    stems: set[str]
    acronyms: dict[str, str]
    lower_acronyms: dict[str, str]


def merge_normaliser(parts: Iterable[NormaliserPart]) -> NormaliserStats:
    """The corpus's statistics from its documents' parts, in corpus order: a name's initials are
    taken from the first document using them, a lower-case phrase from the last one whose
    initials no earlier name has; acronyms defined in parentheses win."""
    vocab: set[str] = set()
    acronyms: dict[str, str] = {}
    lower: dict[str, str] = {}
    explicit: dict[str, str] = {}
    for part in parts:
        vocab.update(part.vocab)
        for initials, name in part.names.items():
            acronyms.setdefault(initials, name)
        explicit.update(part.explicit)
        for initials, phrase in part.phrases.items():
            if initials not in acronyms:
                lower[initials] = phrase
    acronyms.update(explicit)
    for k, v in lower.items():
        acronyms.setdefault(k, v)
    return NormaliserStats(vocab, {stem(w) for w in vocab}, acronyms, lower)


def derive_normaliser(texts: Iterable[str]) -> NormaliserStats:
    return merge_normaliser(normaliser_part(t) for t in texts)


# ---- the evidence scorer -------------------------------------------------------------------------
@dataclass
class PassageStats:
    df: dict[str, int]  # in how many passages each term occurs
    section_terms: set[str]  # the terms of the section headings
    passages: int
    # a term the documents do not use → the terms they do use that mean the same or are its derived
    # forms (general English, from WordNet: "shortfal" → ["deficit"], "creat" → ["creator"])
    related: dict[str, list[str]] = field(default_factory=dict)


# A question's word matched only through a word WordNet relates to it counts this much of a match
# (in evidence support and in BM25): a word has many senses. Measured on the dev suite: 1.0 made
# more confidently wrong answers than it gained right ones.
RELATED_WEIGHT = 0.5


def passage_stats(passages: Sequence[Passage]) -> PassageStats:
    df: dict[str, int] = {}
    for p in passages:
        for term in set(content_terms(p.text)):
            df[term] = df.get(term, 0) + 1
    sections = {t for s in dict.fromkeys(p.section for p in passages) for t in content_terms(s)}
    words = {w for p in passages for w in LOWER_WORD.findall(p.text.lower())} | {
        w for s in dict.fromkeys(p.section for p in passages) for w in LOWER_WORD.findall(s.lower())
    }
    return PassageStats(df, sections, len(passages), related_terms(words))


def related_terms(words: Iterable[str], lexicon: Lexicon | None = None) -> dict[str, list[str]]:
    """For the words a document uses, the stems of the words WordNet relates to them, each mapped
    to the stems of the document's words it stands for."""
    lex = lexicon or Lexicon.load()
    out: dict[str, set[str]] = {}
    if not lex.available:
        return {}
    for w in sorted(words):
        if len(w) < 3 or w in STOPWORDS:
            continue
        own = stem(w)
        for r in lex.related(w):
            rs = stem(r)
            if rs != own and r not in STOPWORDS:
                out.setdefault(rs, set()).add(own)
    return {k: sorted(v) for k, v in out.items()}


def merge_passage_stats(parts: Iterable[PassageStats]) -> PassageStats:
    out = PassageStats({}, set(), 0)
    related: dict[str, set[str]] = {}
    for part in parts:
        for term, n in part.df.items():
            out.df[term] = out.df.get(term, 0) + n
        out.section_terms |= part.section_terms
        out.passages += part.passages
        for term, own in part.related.items():
            related.setdefault(term, set()).update(own)
    out.related = {k: sorted(v) for k, v in related.items()}
    return out


# ---- the facts answerer --------------------------------------------------------------------------
@dataclass
class ParagraphStats:
    df: dict[str, int]  # in how many paragraphs each (folded) term occurs
    paragraphs: int
    capitalised: set[str]  # words written capitalised (names such as "Boeing"), lower-cased
    verb_stems: set[str]  # stems written only in lower-case verb forms ("handled") …
    other_stems: set[str]  # … and stems written in any other form somewhere

    @property
    def verb_only(self) -> set[str]:
        """Stems the corpus uses only in lower-case verb forms: they say how, not what."""
        return self.verb_stems - self.other_stems


def paragraph_stats(text: str) -> ParagraphStats:
    df: dict[str, int] = {}
    forms: dict[str, set[str]] = {}
    paragraphs = [p for p in PARAGRAPH_SPLIT.split(text) if p.strip()]
    for para in paragraphs:
        for term in set(content_terms(fold_question(para))):
            df[term] = df.get(term, 0) + 1
        for w in ANY_WORD.findall(para):
            forms.setdefault(stem(w.lower()), set()).add(w)
    verb = {t for t, fs in forms.items() if all(VERB_FORM.fullmatch(f) for f in fs)}
    return ParagraphStats(df, len(paragraphs), {w.lower() for w in CAPITALISED.findall(text)}, verb, set(forms) - verb)


def merge_paragraph_stats(parts: Iterable[ParagraphStats]) -> ParagraphStats:
    out = ParagraphStats({}, 0, set(), set(), set())
    for part in parts:
        for term, n in part.df.items():
            out.df[term] = out.df.get(term, 0) + n
        out.paragraphs += part.paragraphs
        out.capitalised |= part.capitalised
        out.verb_stems |= part.verb_stems
        out.other_stems |= part.other_stems
    return out


def derive_paragraph_stats(texts: Iterable[str]) -> ParagraphStats:
    return merge_paragraph_stats(paragraph_stats(t) for t in texts)


# ---- the facts table ------------------------------------------------------------------------------
@dataclass
class FactStats:
    df: dict[str, int]  # in how many facts' subjects each term occurs
    facts: int

    def idf(self) -> dict[str, float]:
        """The facts answerer's term weights (``MentionOps._idf``), from these counts."""
        n = max(1, self.facts)
        return {t: math.log(1 + n / c) for t, c in self.df.items()}


def fact_stats(subjects: Sequence[str]) -> FactStats:
    """Subject term frequencies of the facts table (one subject per fact): each distinct subject tokenised once."""
    df: dict[str, int] = {}
    for subject, n in Counter(subjects).items():
        for term in set(content_terms(subject)):
            df[term] = df.get(term, 0) + n
    return FactStats(df, len(subjects))


# ---- per document, merged, stored ----------------------------------------------------------------
@dataclass
class DocumentStats:
    doc_id: str
    normaliser: NormaliserPart
    passages: PassageStats
    paragraphs: ParagraphStats

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "normaliser": dict(vars(self.normaliser)),  # flat: no deep copy (``asdict`` is most of a re-index)
            "passages": _passage_dict(self.passages),
            "paragraphs": _paragraph_dict(self.paragraphs),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DocumentStats:
        return cls(d["doc_id"], NormaliserPart(**d["normaliser"]), _passage_stats(d["passages"]), _paragraph_stats(d["paragraphs"]))


def document_stats(doc_id: str, text: str, passages: Sequence[Passage]) -> DocumentStats:
    return DocumentStats(doc_id, normaliser_part(text), passage_stats(passages), paragraph_stats(text))


@dataclass
class CorpusStats:
    """The merged statistics of one build."""

    normaliser: NormaliserStats
    passages: PassageStats
    paragraphs: ParagraphStats
    facts: FactStats
    documents: list[str] = field(default_factory=list)  # doc ids, in corpus order

    @classmethod
    def merge(cls, parts: Sequence[DocumentStats], facts: FactStats) -> CorpusStats:
        return cls(
            merge_normaliser(p.normaliser for p in parts),
            merge_passage_stats(p.passages for p in parts),
            merge_paragraph_stats(p.paragraphs for p in parts),
            facts,
            [p.doc_id for p in parts],
        )


def write(folder: Path, corpus_hash: str, parts: Sequence[DocumentStats], facts: FactStats) -> CorpusStats:
    """Both files of a build whose documents are ``parts`` in corpus order and whose facts table
    ``facts`` counts; returns the merge."""
    stats = CorpusStats.merge(parts, facts)
    n = stats.normaliser
    merged = {
        "format": STATS_FORMAT,
        "key": code_key(),
        "corpus_hash": corpus_hash,
        "documents": stats.documents,
        "normaliser": {"vocab": sorted(n.vocab), "stems": sorted(n.stems), "acronyms": n.acronyms, "lower_acronyms": n.lower_acronyms},
        "passages": _passage_dict(stats.passages),
        "paragraphs": _paragraph_dict(stats.paragraphs),
        "facts": {"df": facts.df, "facts": facts.facts},
    }
    (folder / STATS_FILE).write_text(json.dumps(merged, ensure_ascii=False), encoding="utf-8")
    per_doc = {"format": STATS_FORMAT, "key": reuse_key(), "documents": [p.to_dict() for p in parts]}
    (folder / DOC_STATS_FILE).write_text(json.dumps(per_doc, ensure_ascii=False), encoding="utf-8")
    return stats


def load(build: Path, corpus_hash: str, documents: Sequence[str], passages: int, facts: int) -> CorpusStats:
    """The merged statistics of ``build``, checked against it; ``IndexBuildError`` when missing,
    damaged, made by other code or for another corpus."""
    path = build / STATS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != STATS_FORMAT or data.get("key") != code_key():
            raise IndexBuildError(f"{STATS_FILE} was derived by other code (format {data.get('format')})")
        if data.get("corpus_hash") != corpus_hash or data.get("documents") != list(documents):
            raise IndexBuildError(f"{STATS_FILE} does not belong to this build's corpus")
        n = data["normaliser"]
        normaliser = NormaliserStats(set(n["vocab"]), set(n["stems"]), dict(n["acronyms"]), dict(n["lower_acronyms"]))
        fact_counts = FactStats(dict(data["facts"]["df"]), int(data["facts"]["facts"]))
        stats = CorpusStats(normaliser, _passage_stats(data["passages"]), _paragraph_stats(data["paragraphs"]), fact_counts, data["documents"])
    except FileNotFoundError:
        raise IndexBuildError(f"{STATS_FILE} is missing") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexBuildError(f"{STATS_FILE} is unreadable ({exc.__class__.__name__}: {exc})") from None
    if stats.passages.passages != passages or stats.facts.facts != facts:
        raise IndexBuildError(
            f"{STATS_FILE} counts {stats.passages.passages} passages and {stats.facts.facts} facts, the build has {passages} and {facts}"
        )
    return stats


def read_parts(build: Path) -> dict[str, DocumentStats]:
    """The per-document statistics of ``build`` by doc id (empty when absent or made otherwise):
    a build takes an unchanged document's from here."""
    path = build / DOC_STATS_FILE
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != STATS_FORMAT or data.get("key") != reuse_key():
        return {}
    return {d["doc_id"]: DocumentStats.from_dict(d) for d in data["documents"]}


def _passage_dict(s: PassageStats) -> dict[str, Any]:
    return {"df": s.df, "section_terms": sorted(s.section_terms), "passages": s.passages, "related": s.related}


def _passage_stats(d: dict[str, Any]) -> PassageStats:
    return PassageStats(dict(d["df"]), set(d["section_terms"]), int(d["passages"]), dict(d["related"]))


def _paragraph_dict(s: ParagraphStats) -> dict[str, Any]:
    return {"df": s.df, "paragraphs": s.paragraphs, "capitalised": sorted(s.capitalised),
            "verb_stems": sorted(s.verb_stems), "other_stems": sorted(s.other_stems)}


def _paragraph_stats(d: dict[str, Any]) -> ParagraphStats:
    return ParagraphStats(dict(d["df"]), int(d["paragraphs"]), set(d["capitalised"]), set(d["verb_stems"]), set(d["other_stems"]))
