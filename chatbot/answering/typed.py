"""Answer-type fit: sentences holding an entity of the kind asked for rank higher among candidates."""

from __future__ import annotations

from dataclasses import replace

from chatbot.answering.evidence import ScoredSentence
from chatbot.understanding.entities import LABELS_FOR, SentenceEntities, holds_type
from chatbot.understanding.query import Query

# Added to a candidate sentence's score (lexical + dense, 0–1) when it holds an entity of the asked
# type. Measured on the suite's dev documents (eval/README.md): 0 / 0.05 / 0.1 / 0.15 / 0.2.
TYPE_BOOST = 0.1
CANDIDATES = 12  # only the best-scored sentences are looked at


def rerank(scored: list[ScoredSentence], query: Query, entities: SentenceEntities, boost: float = TYPE_BOOST) -> list[ScoredSentence]:
    if query.answer_type not in LABELS_FOR or not scored or boost <= 0:
        return scored
    head = scored[:CANDIDATES]
    ents = entities.of([(c.passage.doc_id, c.span.start, c.span.text) for c in head])
    lifted = [replace(c, score=c.score + boost) if holds_type(e, query.answer_type, query.text) else c for c, e in zip(head, ents, strict=True)]
    return sorted(lifted, key=lambda c: -c.score) + scored[CANDIDATES:]
