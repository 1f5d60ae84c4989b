"""Suggested follow-up questions, drawn from the document and checked to be answerable.

``follow_ups(bot, answer)`` looks at what an answer cited, takes the facts that sit near it (same
passage first, then the same section, then the rest of the document) and the other sections, turns
them into plain questions, and keeps only those the bot answers with citations — never one it
would abstain on, never one whose answer cites only what was just shown. It uses only the public
``Chatbot`` API (``bot.ask``, ``bot.facts_db.facts``, ``bot.index.passages``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from chatbot.types import Answer, Citation, Fact

if TYPE_CHECKING:
    from chatbot.bot import Chatbot

MAX_SUGGESTIONS = 3
# Each candidate costs one bot.ask (≈ 10–30 ms warm offline); this bounds the extra work per answer.
MAX_CHECKS = 8

_PARTICIPLE = re.compile(r"^(?:was\s+|were\s+)?([a-z]+ed)\b")


def follow_ups(
    bot: Chatbot, answer: Answer, asked: Iterable[str] = (), k: int = MAX_SUGGESTIONS, documents: list[str] | None = None
) -> list[str]:
    """Up to ``k`` questions about the document related to ``answer``, each verified with
    ``bot.ask`` to be answered (not abstained) with at least one citation that the answer did not
    already show. ``asked`` are questions of the conversation so far (never suggested again)."""
    if answer.abstained or not answer.citations:
        return []
    seen = {_norm(q) for q in asked} | {_norm(answer.question), _norm(answer.standalone_question)}
    shown = {(c.doc_id, c.start, c.end) for c in answer.citations}
    out: list[str] = []
    checks = 0
    for question in _candidates(bot, answer.citations):
        if len(out) >= k or checks >= MAX_CHECKS:
            break
        if _norm(question) in seen:
            continue
        seen.add(_norm(question))
        checks += 1
        try:
            reply = bot.ask(question, documents=documents)
        except Exception:  # noqa: BLE001 - a suggestion is optional; a failing one is skipped
            continue
        new = {(c.doc_id, c.start, c.end) for c in reply.citations} - shown
        if not reply.abstained and new:
            out.append(question)
            shown |= new
    return out


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _candidates(bot: Chatbot, cited: Sequence[Citation]) -> Iterator[str]:
    """Questions from related facts (nearest first), then from the other sections' titles."""
    passages = {p.id: p for p in bot.index.passages}
    cited_passages = {c.passage_id for c in cited}
    cited_sections = {passages[c.passage_id].section for c in cited if c.passage_id in passages}

    def place(f: Fact) -> tuple[str, str]:
        for p in passages.values():
            if p.doc_id == f.doc_id and p.start <= f.start and f.end <= p.end:
                return p.id, p.section
        return "", ""

    def inside_citation(f: Fact) -> bool:
        return any(c.doc_id == f.doc_id and c.start <= f.start and f.end <= c.end for c in cited)

    ranked = []
    for i, f in enumerate(bot.facts_db.facts):
        if inside_citation(f):
            continue
        pid, section = place(f)
        rank = 0 if pid in cited_passages else 1 if section in cited_sections else 2
        ranked.append((rank, i, f))
    for _, _, f in sorted(ranked, key=lambda r: (r[0], r[1])):
        q = fact_question(f)
        if q:
            yield q
    for section in dict.fromkeys(p.section for p in passages.values()):
        if section and section not in cited_sections:
            yield f"What does the document say about {section.strip().rstrip(':').lower()}?"


def fact_question(f: Fact) -> str:
    """A plain question whose answer is the fact (empty when the fact's shape has no template)."""
    subject = f.subject.strip()
    if not subject:
        return ""
    period = f" in {f.period}" if f.period else ""
    if subject.split()[-1].endswith("ed"):  # "the company exported": a clause, not a noun phrase
        return ""
    if f.kind == "table":
        return f"What was the {subject.lower()}{period}?"
    if f.attribute == "count":
        return f"How many {subject} are there?"
    if f.attribute == "rank":
        return f"What is the {subject}?" if " rank" in f" {subject.lower()}" else ""
    if f.attribute == "date":
        after = f.quote[f.quote.find(subject) + len(subject) :].strip() if subject in f.quote else ""
        m = _PARTICIPLE.match(after)
        return f"When was the {subject} {m.group(1)}?" if m else ""
    if f.attribute == "amount":
        return f"What was the value of {subject[0].lower() + subject[1:]}{period}?"
    return ""
