"""Corpus statistics derived at build time (``chatbot.corpus_stats``) give the answerers exactly what
deriving them from the loaded corpus gives: over a real index of three documents (real model, real
spaCy), merged per document, stored, and loaded again."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

from chatbot.answering.evidence import EvidenceScorer
from chatbot.answering.normalize import QueryNormalizer
from chatbot.corpus_stats import NAME, WORD, CorpusStats, DocumentStats, read_parts
from chatbot.facts.qa import NumericQA
from chatbot.facts.store import FactsDB
from chatbot.index import IndexManager
from chatbot.text import STOPWORDS, normalise, stem
from chatbot.types import Document
from conftest import CORPUS, DATA, make_settings

MILL = """# Brenholt Paper Mill (BPM) yearly summary

The Brenholt Paper Mill, based in Osterby, reported higher output for the third year running.
Its operations manager, Hana Duarte, said a second drying line had opened in 2022 and handled
more pulp. The paper mill signed a supply agreement with Kowal Forestry worth €7.5 million.

| Year | Output (tonnes) | Staff (people) |
|------|-----------------|----------------|
| 2021 | 118,000 | 410 |
| 2022 | 131,500 | 436 |
"""


def one_pass_normaliser(documents: list[Document]) -> tuple[set[str], dict[str, str], dict[str, str]]:
    """The normaliser's vocabulary and acronyms as one pass over the whole corpus finds them (the
    way the normaliser derived them at load before the build stored them)."""
    vocab: set[str] = set()
    acronyms: dict[str, str] = {}
    lower: dict[str, str] = {}
    explicit: dict[str, str] = {}
    for d in documents:
        vocab |= {w.lower().strip("'’-") for w in WORD.findall(d.text)}
        vocab |= {w.strip("'’-") for w in WORD.findall(normalise(d.text))}
        for m in NAME.finditer(d.text):
            words = m.group(0).split()
            if len(words) < 2:
                continue
            for initials in ("".join(w[0] for w in words), "".join(w[0] for w in words if w[0].isupper())):
                if len(initials) >= 2:
                    acronyms.setdefault(initials.lower(), m.group(0))
            paren = re.match(r"\s*\(([A-Z][A-Za-z]{1,9})\)", d.text[m.end() : m.end() + 12])
            if paren:
                explicit[paren.group(1).lower()] = m.group(0)
        counts: dict[str, dict[str, int]] = {}
        toks = re.findall(r"[a-z][a-z\-]+", d.text)
        for n in (2, 3):
            for i in range(len(toks) - n + 1):
                phrase = toks[i : i + n]
                if not any(w in STOPWORDS for w in phrase):
                    found = counts.setdefault("".join(w[0] for w in phrase), {})
                    found[" ".join(phrase)] = found.get(" ".join(phrase), 0) + 1
        for initials, phrases in counts.items():
            if initials not in acronyms:
                lower[initials] = max(phrases.items(), key=lambda kv: kv[1])[0]
    acronyms.update(explicit)
    for k, v in lower.items():
        acronyms.setdefault(k, v)
    return vocab, acronyms, lower


def test_stored_statistics_equal_those_derived_from_the_loaded_corpus(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    shutil.copy(DATA / "harbor-report.md", corpus / "harbor-report.md")
    (corpus / "brenholt-mill.md").write_text(MILL, encoding="utf-8")
    mgr = IndexManager(make_settings(tmp_path, corpus=corpus), embedder)
    index = mgr.load()
    assert index.stats is not None and index.stats.documents == list(index.documents) and len(index.documents) == 3
    documents = list(index.documents.values())

    stored = QueryNormalizer(documents, index.stats.normaliser)
    vocab, acronyms, lower = one_pass_normaliser(documents)
    assert stored.vocab == vocab and stored.stems == {stem(w) for w in vocab}
    assert list(stored.acronyms.items()) == list(acronyms.items())
    assert list(stored.lower_acronyms.items()) == list(lower.items())
    assert {n: sorted(ws) for n, ws in stored.by_length.items()} == {n: sorted(ws) for n, ws in QueryNormalizer(documents).by_length.items()}

    scorer, derived = EvidenceScorer(index), EvidenceScorer(replace(index, stats=None))
    assert scorer.df == derived.df and scorer.idf == derived.idf and scorer.corpus_terms == derived.corpus_terms
    assert sum(scorer.df.values()) > len(index.passages)

    texts = {d: doc.text for d, doc in index.documents.items()}
    facts = FactsDB.load(index.root / "facts.sqlite")
    qa, plain = NumericQA(facts, texts, None, index.stats.paragraphs, index.stats.facts).view, NumericQA(facts, texts).view
    for name in ("doc_df", "n_paragraphs", "capitalised", "verb_only", "idf"):
        assert getattr(qa, name) == getattr(plain, name), name
    assert len(qa.idf) > 10 and qa.verb_only and qa.capitalised


def test_per_document_statistics_merge_to_the_stored_ones(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    shutil.copy(DATA / "harbor-report.md", corpus / "harbor-report.md")
    index = IndexManager(make_settings(tmp_path, corpus=corpus), embedder).load()
    parts = read_parts(index.root)
    assert list(parts) == list(index.documents)
    assert index.stats is not None
    merged = CorpusStats.merge([DocumentStats.from_dict(p.to_dict()) for p in parts.values()], index.stats.facts)
    assert merged == index.stats
