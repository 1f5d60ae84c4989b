"""Prose answers over a README-like document written for the tests (real index, spaCy, embeddings):
nouns naming a kind of thing, headings a list line introduces, yes/no answers the evidence contradicts."""

from __future__ import annotations

import pytest

from chatbot.answering.condense import condense
from chatbot.answering.offline import answer_type_ok
from chatbot.answering.polarity import contrasted, verdict
from chatbot.understanding import analyse
from chatbot.understanding.kinds import Kind, kind_held, noun_kind
from chatbot.understanding.wordnet_seek import is_english_word, verbs_related


@pytest.fixture(scope="module")
def readme_bot(session_dir, embedder):  # type: ignore[no-untyped-def]
    from conftest import bot_of_test_document

    return bot_of_test_document(session_dir, embedder, "quillon-readme.md", "quillon")


@pytest.mark.parametrize(
    ("noun", "kind"),
    [("people", Kind.PERSON), ("maintainers", Kind.PERSON), ("years", Kind.TIME), ("date", Kind.TIME), ("cities", Kind.PLACE),
     ("firms", Kind.ORGANISATION), ("version", None), ("option", None)],
)
def test_a_noun_names_a_kind_of_thing_by_its_wordnet_hypernyms(noun: str, kind: Kind | None) -> None:
    assert noun_kind(noun) is kind


def test_a_kind_is_held_only_near_the_questions_words() -> None:
    rows = "mips    Hackers at Example Systems\n" + "arm     Ada Brook\n" * 12 + "x86     Bo Lund"
    ents = (("PERSON", "Ada Brook"), ("ORG", "Example Systems"), ("PERSON", "Bo Lund"))
    assert kind_held(Kind.PERSON, ents, rows, ("bo", "lund"))
    assert not kind_held(Kind.ORGANISATION, ents, rows, ("bo", "lund"))  # another row's company
    assert kind_held(Kind.TIME, (), "Copyright (C) 1979, 1983 Open Letters Trust", ("open", "letters"))


def test_a_year_question_is_answered_though_the_document_never_says_year(readme_bot) -> None:  # type: ignore[no-untyped-def]
    ans = readme_bot.ask("What's the earliest year in the Open Letters Trust's copyright line?")
    assert not ans.abstained and "1979" in ans.text


def test_a_list_line_ending_in_a_colon_is_answered_with_the_heading_it_introduces(readme_bot) -> None:  # type: ignore[no-untyped-def]
    ans = readme_bot.ask("Does Haiku need QUILL_FILTERS to be set?")
    assert ans.text.startswith("No") and "Plan9, Haiku" in ans.text
    for c in ans.citations:
        assert readme_bot.index.documents[c.doc_id].text[c.start : c.end] == c.quote


def test_a_negated_complement_clause_answers_no() -> None:
    evidence = "* Known not to require `QUILL_FILTERS`: Plan9, Haiku"
    assert verdict("Does Haiku need QUILL_FILTERS to be set?", False, evidence, 1.0, 0.9, {"haiku", "need", "set"}) == "No"


def test_evidence_naming_another_thing_of_the_same_modifier_answers_no(readme_bot) -> None:  # type: ignore[no-untyped-def]
    evidence = 'the "is older than" warnings are written to standard error.'
    assert contrasted("Do the warnings go to standard output?", evidence, evidence)
    assert not contrasted("Do the warnings go to standard error?", evidence, evidence)
    ans = readme_bot.ask('Do dupcheck\'s "is older than" warnings go to standard output?')
    assert ans.text.startswith("No") and "standard error" in ans.text


def test_a_rare_word_that_is_no_english_word_must_stand_in_the_evidence(readme_bot) -> None:  # type: ignore[no-untyped-def]
    assert not is_english_word("qdbx") and is_english_word("dataset") and is_english_word("libraries")
    ans = readme_bot.ask("which version of qdbx does quillon require?")
    assert ans.abstained and "version 2" not in ans.text  # not the licence's "version 2", which never names qdbx
    assert not readme_bot.ask("in what order does configure look for page database libraries?").abstained


def test_that_one_is_the_thing_the_last_answer_named() -> None:
    previous = ["Which model is the fallback if Tamsin can't deliver on time?"]
    answer = "The Kestrel Volta L2 is proposed as the reserve choice should Tamsin be unable to deliver in time. [1]"
    assert condense("how much does that one cost?", previous, answer) == "how much does Kestrel Volta L2 cost?"
    # no answer to point at: the earlier question is context, and the follow-up keeps its own question word
    assert condense("how much does that one cost?", previous).startswith("how much does that one cost (")


def test_a_name_only_the_earlier_question_carried_need_not_stand_in_the_evidence(readme_bot) -> None:  # type: ignore[no-untyped-def]
    history: list[dict[str, str]] = []
    for turn in ("When does the Open Letters Trust's lead maintainer want the 2.0 release?", "and what has the packaging team offered?"):
        ans = readme_bot.ask(turn, history)
        history += [{"role": "user", "content": turn}, {"role": "assistant", "content": ans.text}]
    assert not ans.abstained and "September" in ans.text


def test_a_question_offering_names_to_choose_from_is_answered_by_them(readme_bot) -> None:  # type: ignore[no-untyped-def]
    assert analyse("who got copyright earlier, Odile Brandt or Teodor Vance?").choices == ("Odile Brandt", "Teodor Vance")
    assert answer_type_ok("who came first, Odile Brandt or Teodor Vance?", "Copyright (C) 1987 Odile Brandt.", ("Odile Brandt", "Teodor Vance"))[0]
    ans = readme_bot.ask("who got copyright on quillon earlier, Odile Brandt or Teodor Vance?")
    assert not ans.abstained and "1987" in ans.text


def test_a_name_with_a_middle_initial_is_a_name() -> None:
    assert answer_type_ok('Who is "Wilf"?', "Copyright (C) 1994, 1995 Graeme W. Wilford.")[0]


def test_a_who_question_finds_the_agent_of_a_related_verb(readme_bot) -> None:  # type: ignore[no-untyped-def]
    assert verbs_related("wrote", "prepared") and not verbs_related("wrote", "supervised")
    assert analyse("who wrote this report?").verb == "wrote"
    ans = readme_bot.ask("who wrote this report?")  # the document never uses "write"
    assert not ans.abstained and "Maren Holt" in ans.text


def test_markdown_emphasis_does_not_hide_a_name_from_the_entity_recogniser() -> None:
    from chatbot.understanding.entities import SentenceEntities

    (ents,) = SentenceEntities().of([("doc", 0, "**Prepared by:** Ingrid Posthuma, Head of Fleet Operations")])
    assert ("PERSON", "Ingrid Posthuma") in ents


def test_a_how_to_answer_goes_on_to_the_next_paragraph_of_its_section(readme_bot) -> None:  # type: ignore[no-untyped-def]
    ans = readme_bot.ask("How do I build quillon in a different folder from the sources?")
    assert not ans.abstained and "run the\nconfigure script from there" in ans.text


def test_a_block_is_read_with_the_line_that_introduces_it(readme_bot) -> None:  # type: ignore[no-untyped-def]
    ans = readme_bot.ask("In which file is QPAGE_ROOT defined?")
    assert not ans.abstained and "paths.h" in ans.text


def test_a_second_sentence_ending_in_a_colon_comes_with_what_it_introduces(readme_bot) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from chatbot.answering.offline import answer_from_text

    chain = readme_bot.chain
    question = "which roots are defined for the old layout?"
    passages = [p for p in chain.index.passages if p.section == "Page roots"]
    by_text = {c.span.text: c for c in chain.scorer.score(question, None, passages)}
    block = next(c for t, c in by_text.items() if "#define QPAGE_ROOT" in t)
    intro = next(c for t, c in by_text.items() if t.startswith("For compatibility"))
    ordered = [replace(block, score=1.0), replace(intro, score=0.9)]  # the block first, the old layout's line second
    proposal = answer_from_text(question, chain.scorer, ordered, passages, 0.4)
    assert proposal.answer is not None and "/usr/quill" in proposal.answer.text


def test_a_follow_up_naming_its_own_party_does_not_carry_the_earlier_ones_name() -> None:
    previous = ["What was Ilse Marenko's reaction to the 2024 numbers?"]
    assert condense("and what did the Norland minister say?", previous) == "and what did the Norland minister say (reaction to the 2024 numbers)?"
    assert "Ilse Marenko" in condense("and what did he say next?", previous)  # "he" points back: the name stays


def test_a_verb_of_summing_up_asks_for_a_summary(readme_bot) -> None:  # type: ignore[no-untyped-def]
    assert analyse("can you sum up the readme for me").answer_type.value == "summary"  # WordNet: "sum up" = summarize
    assert analyse("how much does it add up to?").answer_type.value != "summary"
    ans = readme_bot.ask("could you sum up this readme for me?")
    assert not ans.abstained and len(ans.citations) >= 2


def test_money_itself_is_a_kind_of_thing_amounts_are() -> None:
    assert noun_kind("cash") is Kind.MONEY and noun_kind("money") is Kind.MONEY
    assert noun_kind("wage") is None  # a payment, not money itself
    assert kind_held(Kind.MONEY, (("MONEY", "£600"),), "Brannock pays £600 a year into the fund.", ("fund",))



def test_a_summary_skips_footnotes_and_takes_the_opening_sentence_first() -> None:
    from chatbot.answering.offline import summarize
    from chatbot.types import Passage, Span

    def passage(i: int, section: str, sentences: list[str]) -> Passage:
        text = " ".join(sentences)
        spans, at = [], 0
        for sent in sentences:
            spans.append(Span(sent, at, at + len(sent)))
            at += len(sent) + 1
        return Passage(id=f"p{i}", doc_id="d", text=text, start=0, end=len(text), section=section, kind="text", sentences=tuple(spans))

    passages = [
        passage(0, "Intro", ["The Pellow ferry company runs three crossings from the harbour at Pellow."]),
        passage(1, "Figures", ["* The Gull Point ramp was closed for repairs for nine weeks in 2021.",
                               "Passenger numbers on the ferry crossings rose for the third year running."]),
    ]
    draft = summarize(passages, max_sentences=2)
    assert [sp[3] for sp in draft.spans] == ["The Pellow ferry company runs three crossings from the harbour at Pellow.",
                                             "Passenger numbers on the ferry crossings rose for the third year running."]


def test_two_named_figures_in_one_quote_decide_a_comparison() -> None:
    from chatbot.answering.polarity import named_values_verdict

    quote = ["(Ridge: 91.2%, Lasso 88.0%, Tree 79.5%)"]
    assert named_values_verdict("Did Lasso beat Ridge on the test set?", quote) == ("No", (88.0, 91.2))
    assert named_values_verdict("Was Ridge higher than Tree?", quote) == ("Yes", (91.2, 79.5))
    assert named_values_verdict("Did Lasso score lower than Tree?", quote) == ("No", (88.0, 79.5))
    assert named_values_verdict("Was Lasso higher or lower than Ridge?", quote) is None  # asks no one way
    assert named_values_verdict("Did Lasso beat Forest?", quote) is None  # one of the two has no figure


def test_a_count_answers_only_when_it_counts_the_thing_asked_about() -> None:
    from chatbot.understanding.entities import counts_other_things, holds_type
    from chatbot.understanding.query import AnswerType

    q = "how many robots will the Hollen site get?"
    assert counts_other_things("four", "The board approved the Hollen roll-out on four conditions:", AnswerType.COUNT, q)
    assert not counts_other_things("25", "The first 25 machines went into North Hall.", AnswerType.COUNT, q)  # machines: artefacts too
    assert not counts_other_things("19", "the remaining 19 robots followed on 7 April", AnswerType.COUNT, q)
    assert counts_other_things("3", "1. no redundancies;\n3. spending is capped;", AnswerType.COUNT, q)  # a list item's number
    assert not holds_type((("DATE", "three consecutive months"),), AnswerType.COUNT, q)  # a span of time counts no robots
    assert holds_type((("DATE", "three consecutive months"),), AnswerType.COUNT, "how many months must the error rate stay low?")


def test_a_when_question_is_answered_by_a_date_not_by_a_unit_of_time() -> None:
    from chatbot.understanding.entities import holds_type
    from chatbot.understanding.query import AnswerType

    q = "when was the college founded?"
    assert not holds_type((("DATE", "the foundation year"),), AnswerType.DATE, q)
    assert not holds_type((("DATE", "each year"),), AnswerType.DATE, q)
    assert holds_type((("DATE", "spring 2026"),), AnswerType.DATE, q) and holds_type((("DATE", "in spring"),), AnswerType.DATE, q)
    assert holds_type((("DATE", "14 August"),), AnswerType.DATE, q)
