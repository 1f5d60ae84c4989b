"""The query path's shortcuts give what the long way gives (real index, real embeddings): exact dense
search over a build's passage vectors ranks as its Chroma store does; the chain's steps called in
order answer as its LCEL runnable does, and the LangChain retriever finds what the searcher finds;
the text embedded while spaCy parses a question is the one retrieval then searches for. Timings are
measured in eval/bench_answer.py and eval/bench_cold.py, not here."""

from __future__ import annotations

import numpy as np
import pytest

from chatbot.chain import Ahead, State
from chatbot.evaluation import load_items
from chatbot.settings import PROJECT_ROOT
from chatbot.types import Answer
from chatbot.vectorstore import ExactSearch, open_vector_store

ITEMS = load_items(PROJECT_ROOT / "eval" / "questions.jsonl")
SINGLE = [it.turns[0] for it in ITEMS if len(it.turns) == 1]


def _history(bot, turns: list[str]) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    history: list[dict[str, str]] = []
    for turn in turns:
        history += [{"role": "user", "content": turn}, {"role": "assistant", "content": bot.ask(turn, history).text}]
    return history


def _same(a: Answer, b: Answer) -> None:
    assert (a.text, a.citations, a.abstained, a.route, a.notes, a.confidence, a.retrieved, a.standalone_question) == (
        b.text, b.citations, b.abstained, b.route, b.notes, b.confidence, b.retrieved, b.standalone_question)


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


# ---- the chain's steps, called directly -----------------------------------------------------------
def test_the_chain_answers_as_its_lcel_runnable_does(bot) -> None:  # type: ignore[no-untyped-def]
    items = [it for it in ITEMS if len(it.turns) == 1][:30] + [it for it in ITEMS if len(it.turns) > 1][:8]
    for it in items:
        history = _history(bot, it.turns[:-1])
        direct = bot.chain.invoke(State(question=it.turns[-1], history=history))
        lcel = bot.chain.runnable.invoke(State(question=it.turns[-1], history=history)).answer
        _same(direct, lcel)
        asked = bot.ask(it.turns[-1], history)  # with the question embedded beside its parse
        if asked.route != "parts":  # a question asking two things is answered part by part
            _same(asked, direct)


def test_the_langchain_retriever_finds_what_the_searcher_finds(bot) -> None:  # type: ignore[no-untyped-def]
    from chatbot.langchain_retriever import hit_from_document

    for q in SINGLE[:20]:
        docs = bot.chain.retriever.invoke(q)
        assert [hit_from_document(d, bot.index.by_id) for d in docs] == bot.chain.searcher.search(q, bot.settings.top_k)


# ---- the question embedded beside its parse ---------------------------------------------------------
@pytest.fixture
def embedded(bot, monkeypatch: pytest.MonkeyPatch) -> list[str]:  # type: ignore[no-untyped-def]
    """The texts the query embedder runs the model on (cache misses), in order."""
    texts: list[str] = []
    real = bot.index.embedder._encode_one

    def counting(text: str) -> list[float]:
        texts.append(text)
        return real(text)  # type: ignore[no-any-return]

    monkeypatch.setattr(bot.index.embedder, "_encode_one", counting)
    bot.index.embedder.clear_cache()
    return texts


def test_the_text_embedded_before_the_parse_is_the_one_retrieval_searches_for(bot) -> None:  # type: ignore[no-untyped-def]
    found = 0
    for it in ITEMS:
        history = _history(bot, it.turns[:-1])
        ans = bot.ask(it.turns[-1], history)
        text = bot.chain.search_text(it.turns[-1], history)
        if ans.route != "parts" and text:  # "" only for "tell me more" and instructions alone
            assert text == ans.standalone_question, it.id
            found += 1
    assert found >= 0.9 * len(ITEMS)


def test_a_question_is_embedded_once_beside_its_parse(bot, embedded: list[str]) -> None:  # type: ignore[no-untyped-def]
    ans = bot.ask("Which companies took part in the business mission?")
    assert embedded == [ans.standalone_question] and ans.timings["embed_ms"] > 0
    history = [{"role": "user", "content": "What were US exports to Azerbaijan in 2024?"}, {"role": "assistant", "content": "…"}]
    follow = bot.ask("And in 2023?", history)
    assert follow.standalone_question != "And in 2023?" and embedded[1:] == [follow.standalone_question]
    more = bot.ask("Tell me more", history)  # continues the earlier question: nothing to embed ahead
    assert bot.chain.search_text("Tell me more", history) == "" and embedded[2:] == [more.standalone_question]


def test_no_embedding_ahead_without_dense_search(bot, embedded: list[str], monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(bot.chain, "settings", bot.settings.replace(dense_weight=0.0))
    monkeypatch.setattr(bot.chain.searcher, "dense_weight", 0.0)
    bot.ask("Who led the delegation?")
    assert embedded == []


def test_what_is_worked_out_ahead_is_used_only_for_its_text(bot) -> None:  # type: ignore[no-untyped-def]
    """BM25 scores and (one document) the facts answer worked out beside the embedding are used when
    they are of the text retrieval searches for, and only then."""
    q = "What were US exports to Azerbaijan in 2024?"
    expected = bot.chain.invoke(State(question=q, history=[]))
    text = bot.chain.search_text(q, [])
    assert expected.route == "facts" and text == expected.standalone_question and len(bot.index.documents) == 1
    no_figures = Ahead(text, bot.index.bm25_scores(text), None, True)
    assert bot.chain.invoke(State(question=q, history=[], ahead=no_figures)).route == "text"  # used
    other = Ahead("Who led the delegation?", np.zeros(len(bot.index.passages), np.float32), None, True)
    _same(bot.chain.invoke(State(question=q, history=[], ahead=other)), expected)  # not used
    _same(bot.ask(q), expected)
