"""Exact dense search over a build's passage vectors ranks as its Chroma store does (real index,
real embeddings). Timings are measured in eval/bench_answer.py and eval/bench_cold.py, not here."""

from __future__ import annotations

import numpy as np
import pytest

from chatbot.evaluation import load_items
from chatbot.settings import PROJECT_ROOT
from chatbot.vectorstore import ExactSearch, open_vector_store

ITEMS = load_items(PROJECT_ROOT / "eval" / "questions.jsonl")
SINGLE = [it.turns[0] for it in ITEMS if len(it.turns) == 1]


# ---- exact dense search -------------------------------------------------------------------------------
def test_exact_search_ranks_best_first_with_ties_in_passage_order() -> None:
    rows = np.array([[1, 0], [0.6, 0.8], [0, 1], [0.6, 0.8], [-1, 0]], dtype=np.float32)
    search = ExactSearch(rows, ["a", "b", "c", "d", "e"])
    assert search.count() == 5
    assert [pid for pid, _ in search.query([0.6, 0.8], 3)] == ["b", "d", "c"]  # b and d tie: passage order
    assert [pid for pid, _ in search.query([1.0, 0.0], 10)] == ["a", "b", "d", "c", "e"]  # k beyond the passages
    assert search.query([1.0, 0.0], 1) == [("a", pytest.approx(1.0))]
    assert ExactSearch(np.zeros((0, 2), np.float32), []).query([1.0, 0.0], 4) == []
    with pytest.raises(Exception, match="one row per passage"):
        ExactSearch(rows, ["a", "b"])


def test_an_embedded_index_answers_dense_queries_as_its_chroma_store_does(bot, settings, embedder) -> None:  # type: ignore[no-untyped-def]
    exact = bot.index.vectors
    assert isinstance(exact, ExactSearch) and exact.count() == bot.index.manifest.passages
    chroma = open_vector_store(settings, bot.index.root / "chroma", bot.index.manifest.collection, create=False)
    for q in SINGLE:
        vector = embedder.embed_query(q)
        mine, theirs = exact.query(vector, 10), chroma.query(vector, 10)
        assert [pid for pid, _ in mine] == [pid for pid, _ in theirs], q
        assert [s for _, s in mine] == pytest.approx([s for _, s in theirs], abs=1e-5)
