"""Follow-up suggestions (``chatbot.suggest``) with the real chain over the article."""

from __future__ import annotations

from chatbot.suggest import MAX_SUGGESTIONS, fact_question, follow_ups


def test_follow_ups_are_answered_new_and_related(bot) -> None:  # type: ignore[no-untyped-def]
    answer = bot.ask("What were imports in 2024?")
    found = follow_ups(bot, answer)
    assert 2 <= len(found) <= MAX_SUGGESTIONS
    shown = {(c.start, c.end) for c in answer.citations}
    for q in found:
        reply = bot.ask(q)
        assert not reply.abstained, q  # never a question the bot would abstain on
        assert {(c.start, c.end) for c in reply.citations} - shown, q  # and not a repeat of this answer
    assert "What were imports in 2024?" not in found
    assert any("2023" in q or "2022" in q for q in found)  # nearest first: the same table


def test_no_follow_ups_after_an_abstention(bot) -> None:  # type: ignore[no-untyped-def]
    answer = bot.ask("What is the capital of France?")
    assert answer.abstained
    assert follow_ups(bot, answer) == []


def test_questions_already_asked_are_not_suggested(bot) -> None:  # type: ignore[no-untyped-def]
    answer = bot.ask("What were imports in 2024?")
    first = follow_ups(bot, answer)
    again = follow_ups(bot, answer, asked=first)
    assert not set(first) & set(again)


def test_fact_questions_read_as_questions(bot) -> None:  # type: ignore[no-untyped-def]
    questions = [q for q in (fact_question(f) for f in bot.facts_db.facts) if q]
    assert "When was the Memorandum of Understanding signed?" in questions
    assert "What was the trade turnover in 2023?" in questions
    assert all(q.endswith("?") and q[0].isupper() for q in questions)
    assert not any(" exported " in q for q in questions)  # a clause is not turned into a noun
