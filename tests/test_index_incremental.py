"""Incremental builds with the real model, real spaCy and embedded Chroma: a rebuild after adding,
editing or removing one document embeds only that document's texts, and the index it makes holds
exactly what a full build of the same corpus holds (passages, vectors, facts, Chroma records,
answers)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from chatbot.bot import Chatbot
from chatbot.corpus import parse_document, read_document
from chatbot.corpus_stats import DOC_STATS_FILE, STATS_FILE
from chatbot.facts.store import FactsDB
from chatbot.incremental import DOC_FACTS_FILE, DOCUMENTS_FILE, PASSAGE_VECTORS_FILE, TOKENS_FILE
from chatbot.index import IndexManager, _embedding_text, _sentence_text
from chatbot.vectorstore import open_vector_store
from conftest import CORPUS, DATA, make_settings

MILL = """# Brenholt Paper Mill yearly summary

The Brenholt Paper Mill, based in Osterby, reported higher output for the third year running.
Its operations manager, Hana Duarte, said a second drying line had opened in 2022.

| Year | Output (tonnes) | Staff (people) |
|------|-----------------|----------------|
| 2021 | 118,000 | 410 |
| 2022 | 131,500 | 436 |
| 2023 | 140,200 | 452 |

The mill signed a supply agreement with Kowal Forestry worth €7.5 million.
"""
MILL_QUESTION = "What was the output of the Brenholt Paper Mill in 2022?"
ARTICLE_QUESTION = "What was the trade turnover in 2024?"
HARBOR_QUESTION = "Who is the harbour master of the Port of Velmora?"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The article (with its sidecars and curated facts) and the harbour report."""
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    shutil.copy(DATA / "harbor-report.md", folder / "harbor-report.md")
    return folder


def texts_of(path: Path) -> int:
    """How many distinct texts (passages with their section, sentences) one document has to embed."""
    passages, _ = parse_document(read_document(path))
    return len({_embedding_text(p) for p in passages} | {_sentence_text(p, s) for p in passages for s in p.sentences})


def build(root: Path, corpus: Path, embedder, full: bool = False) -> IndexManager:  # type: ignore[no-untyped-def]
    mgr = IndexManager(make_settings(root, corpus=corpus), embedder)
    built, _ = mgr.ensure(rebuild=full)
    assert built
    return mgr


def collection_of(mgr: IndexManager) -> str:
    manifest = mgr.read_manifest()
    assert manifest is not None
    return manifest.collection


def chroma_of(mgr: IndexManager, index):  # type: ignore[no-untyped-def]
    """The build's Chroma collection (the loaded index may search its vectors exactly instead)."""
    return open_vector_store(mgr.settings, index.root / "chroma", index.manifest.collection, create=False).collection  # type: ignore[attr-defined]


def contents(mgr: IndexManager) -> dict[str, object]:
    """Everything a build holds that answers depend on, in comparable form."""
    root = mgr.current_build()
    assert root is not None
    index = mgr.load()
    con = sqlite3.connect(root / "facts.sqlite")
    try:
        facts = con.execute("SELECT * FROM facts ORDER BY id").fetchall()
        tables = con.execute("SELECT * FROM tables ORDER BY id").fetchall()
        checks = con.execute("SELECT * FROM checks ORDER BY table_id, result").fetchall()
    finally:
        con.close()
    stored = chroma_of(mgr, index).get(include=["embeddings", "metadatas", "documents"])
    order = np.argsort(stored["ids"])
    return {
        "passages": json.loads((root / "passages.json").read_text(encoding="utf-8")),
        "sentences": np.load(root / "sentences.npy"),
        "passage_vectors": np.load(root / PASSAGE_VECTORS_FILE),
        "documents": json.loads((root / DOCUMENTS_FILE).read_text(encoding="utf-8")),
        "doc_facts": [json.loads(line) for line in (root / DOC_FACTS_FILE).read_text(encoding="utf-8").splitlines()],
        "tokens": [json.loads(line) for line in (root / TOKENS_FILE).read_text(encoding="utf-8").splitlines()],
        "corpus_stats": json.loads((root / STATS_FILE).read_text(encoding="utf-8")),
        "doc_stats": json.loads((root / DOC_STATS_FILE).read_text(encoding="utf-8")),
        "facts": facts,
        "facts_as_loaded": [(f.id, f.doc_id) for f in FactsDB.load(root / "facts.sqlite").facts],  # the order answers meet them
        "tables_as_loaded": [t.id for t in FactsDB.load(root / "facts.sqlite").tables],
        "tables": tables,
        "checks": checks,
        "chroma_ids": sorted(stored["ids"]),
        "chroma_vectors": np.asarray(stored["embeddings"])[order],
        "chroma_meta": [stored["metadatas"][i] for i in order],
        "chroma_texts": [stored["documents"][i] for i in order],
        "manifest_passages": index.manifest.passages,
        "manifest_facts": index.manifest.facts,
    }


def assert_same(a: dict[str, object], b: dict[str, object]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert np.array_equal(a[key], b[key]), key  # type: ignore[arg-type]
        else:
            assert a[key] == b[key], key


def answers(mgr: IndexManager, embedder, questions: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    bot = Chatbot.load(mgr.settings, embedder=embedder)
    return [bot.ask(q).text for q in questions]


def test_adding_a_document_embeds_only_it_and_matches_a_full_build(  # type: ignore[no-untyped-def]
    tmp_path: Path, corpus: Path, embedder, embed_calls: list[int]
) -> None:
    mgr = build(tmp_path / "site", corpus, embedder)
    first = sum(embed_calls)
    assert first > texts_of(corpus / "harbor-report.md")
    collection = collection_of(mgr)
    (corpus / "brenholt-mill.md").write_text(MILL, encoding="utf-8")
    embed_calls.clear()
    build(tmp_path / "site", corpus, embedder)
    assert embed_calls == [texts_of(corpus / "brenholt-mill.md")]
    assert collection_of(mgr) == collection  # a copy of the previous store, patched
    assert 0 < embed_calls[0] < first / 2

    full = build(tmp_path / "full", corpus, embedder, full=True)
    assert sum(embed_calls[1:]) > first  # the full build embedded every document again
    incremental = contents(mgr)
    assert "brenholt-mill" in {p["doc_id"] for p in incremental["passages"]["passages"]}  # type: ignore[index]
    assert_same(incremental, contents(full))
    questions = [MILL_QUESTION, ARTICLE_QUESTION, HARBOR_QUESTION]
    got = answers(mgr, embedder, questions)
    assert got == answers(full, embedder, questions)
    assert "Brenholt" in got[0]  # answered from the added document


def test_editing_a_document_replaces_its_passages(  # type: ignore[no-untyped-def]
    tmp_path: Path, corpus: Path, embedder, embed_calls: list[int]
) -> None:
    mgr = build(tmp_path / "site", corpus, embedder)
    old = {p.id: p.text for p in mgr.load().passages if p.doc_id == "harbor-report"}
    collection = collection_of(mgr)
    harbor = corpus / "harbor-report.md"
    text = harbor.read_text(encoding="utf-8")
    assert "Ingrid Solberg" in text and "about 640 people" in text
    harbor.write_text(text.replace("Ingrid Solberg", "Marta Kowal").replace("about 640 people", "about 655 people"), encoding="utf-8")
    embed_calls.clear()
    build(tmp_path / "site", corpus, embedder)
    assert embed_calls == [texts_of(harbor)]
    assert collection_of(mgr) == collection

    index = mgr.load()
    texts = " ".join(p.text for p in index.passages)
    assert "Ingrid Solberg" not in texts and "Marta Kowal" in texts
    stored = set(chroma_of(mgr, index).get(include=[])["ids"])
    assert stored == {p.id for p in index.passages}
    assert not {pid for pid, t in old.items() if "Ingrid Solberg" in t or "640" in t} & stored
    assert index.vectors.count() == index.manifest.passages
    con = sqlite3.connect(index.root / "facts.sqlite")
    try:
        quotes = [q for (q,) in con.execute("SELECT quote FROM facts WHERE doc_id = 'harbor-report'")]
    finally:
        con.close()
    assert any("655" in q for q in quotes) and not any("640" in q for q in quotes)
    assert_same(contents(mgr), contents(build(tmp_path / "full", corpus, embedder, full=True)))


def test_removing_a_document_drops_its_passages_and_facts(  # type: ignore[no-untyped-def]
    tmp_path: Path, corpus: Path, embedder, embed_calls: list[int]
) -> None:
    mgr = build(tmp_path / "site", corpus, embedder)
    assert any(p.doc_id == "harbor-report" for p in mgr.load().passages)
    collection = collection_of(mgr)
    (corpus / "harbor-report.md").unlink()
    embed_calls.clear()
    build(tmp_path / "site", corpus, embedder)
    assert embed_calls == []  # nothing new to embed
    assert collection_of(mgr) == collection

    index = mgr.load()
    assert index.manifest.documents == ["us-azerbaijan-trade"]
    assert not any(p.doc_id == "harbor-report" for p in index.passages)
    stored = chroma_of(mgr, index).get(include=["metadatas"])
    assert set(stored["ids"]) == {p.id for p in index.passages}
    assert {m["doc_id"] for m in stored["metadatas"]} == {"us-azerbaijan-trade"}
    con = sqlite3.connect(index.root / "facts.sqlite")
    try:
        assert con.execute("SELECT count(*) FROM facts WHERE doc_id = 'harbor-report'").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM tables WHERE doc_id = 'harbor-report'").fetchone() == (0,)
    finally:
        con.close()
    assert_same(contents(mgr), contents(build(tmp_path / "full", corpus, embedder, full=True)))


def test_a_build_with_other_code_reuses_nothing(  # type: ignore[no-untyped-def]
    tmp_path: Path, corpus: Path, embedder, embed_calls: list[int]
) -> None:
    mgr = build(tmp_path / "site", corpus, embedder)
    root = mgr.current_build()
    assert root is not None
    meta = json.loads((root / DOCUMENTS_FILE).read_text(encoding="utf-8"))
    (root / DOCUMENTS_FILE).write_text(json.dumps({**meta, "key": "made-by-other-code"}), encoding="utf-8")
    first = sum(embed_calls)
    (corpus / "brenholt-mill.md").write_text(MILL, encoding="utf-8")
    embed_calls.clear()
    build(tmp_path / "site", corpus, embedder)
    assert sum(embed_calls) > first  # every document embedded again


def test_batched_parses_give_the_facts_of_one_parse_per_sentence(corpus: Path) -> None:
    """The build parses the gate's sentences in batches (``chatbot.facts.batch``): the facts equal
    those of parsing each sentence alone when the gate asks."""
    from chatbot.facts.batch import extract_documents
    from chatbot.facts.store import extract_document

    items = [(doc, *parse_document(doc)) for doc in (read_document(p) for p in sorted(corpus.glob("*.*")) if p.suffix in (".txt", ".md"))]
    assert len(items) == 2
    batched = extract_documents(items, show_progress=False)
    one_by_one = [extract_document(*item) for item in items]
    assert batched == one_by_one
    assert sum(len(d.mention_facts) for d in batched) > 5
