"""The facts answerer bounded by retrieval: over the retrieved documents it reads only their facts,
tables and words, and answers exactly as an answerer built on those documents alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.corpus import parse_document, read_document
from chatbot.facts.qa import NumericQA
from chatbot.facts.store import FactsDB, extract_all
from conftest import CORPUS, DATA

PATHS = (CORPUS / "us-azerbaijan-trade.txt", DATA / "harbor-report.md")
QUESTIONS = (
    "What was the revenue in 2021?",
    "How many containers did the port handle in 2020?",
    "What was the trade deficit in 2023?",
    "By what percentage did trade turnover grow from 2023 to 2024?",
)


def _answerer(paths: tuple[Path, ...]) -> NumericQA:
    docs = [read_document(p) for p in paths]
    passages, tables = [], {}
    for d in docs:
        ps, ts = parse_document(d)
        passages.extend(ps)
        tables[d.doc_id] = ts
    facts, table_data = extract_all(docs, passages, tables)
    return NumericQA(FactsDB(facts, table_data), {d.doc_id: d.text for d in docs}, {d.doc_id: d.title for d in docs})


@pytest.fixture(scope="module")
def both() -> NumericQA:
    return _answerer(PATHS)


def _text(qa: NumericQA, q: str) -> str | None:
    ans = qa.answer(q)
    return None if ans is None else ans.text


def test_whole_corpus_or_no_scope_is_the_answerer_itself(both: NumericQA) -> None:
    assert both.scoped(None) is both
    assert both.scoped(set(both.documents)) is both
    assert both.scoped(set()) is both


@pytest.mark.parametrize("keep", [0, 1])
def test_scoped_answers_equal_an_answerer_over_those_documents_alone(both: NumericQA, keep: int) -> None:
    alone = _answerer((PATHS[keep],))
    (doc_id,) = alone.documents
    scoped = both.scoped({doc_id, "not-a-document"})
    assert set(scoped.documents) == {doc_id}
    assert {f.doc_id for f in scoped.db.facts} == {doc_id} and {t.doc_id for t in scoped.db.tables} <= {doc_id}
    assert len(scoped.db.facts) == len(alone.db.facts) and len(scoped.db.tables) == len(alone.db.tables)
    answered = 0
    for q in QUESTIONS:
        got = scoped.answer(q)
        assert _text(scoped, q) == _text(alone, q), q
        if got is not None:
            answered += 1
            assert all(e.doc_id == doc_id for e in got.evidence), q
    assert answered  # each document answers at least one of its own questions


def test_scopes_are_cached_and_bounded(both: NumericQA, monkeypatch: pytest.MonkeyPatch) -> None:
    both._scopes.clear()
    one = next(iter(both.documents))
    assert both.scoped({one}) is both.scoped([one])
    monkeypatch.setattr("chatbot.facts.qa.SCOPE_CACHE", 1)
    other = next(d for d in both.documents if d != one)
    both.scoped({other})
    assert len(both._scopes) == 1 and frozenset({other}) in both._scopes
