"""Named entities of document sentences, found once per sentence on first need and kept.

Only spaCy's token-to-vector and entity components run (no parser): about a millisecond a sentence.
"""

from __future__ import annotations

import calendar
import threading

from chatbot.understanding.nlp import DEFAULT_MODEL, NLP_LOCK, pipeline
from chatbot.understanding.query import AnswerType

# spaCy entity labels that can hold each kind of answer (OntoNotes labels, general English).
LABELS_FOR = {
    AnswerType.PERSON: frozenset({"PERSON", "ORG", "NORP", "GPE"}),  # "who organised it?" may be a body
    AnswerType.ORGANISATION: frozenset({"ORG"}),
    AnswerType.PLACE: frozenset({"GPE", "LOC", "FAC"}),
    AnswerType.DATE: frozenset({"DATE"}),
    AnswerType.YEAR: frozenset({"DATE"}),
    AnswerType.AMOUNT: frozenset({"MONEY", "QUANTITY", "CARDINAL", "PERCENT"}),
    AnswerType.COUNT: frozenset({"CARDINAL", "QUANTITY"}),
    AnswerType.PERCENT: frozenset({"PERCENT"}),
}


class SentenceEntities:
    """(label, text) pairs per sentence, keyed by (doc_id, start); safe to share between threads."""

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self.model = model
        self._cache: dict[tuple[str, int], tuple[tuple[str, str], ...]] = {}
        self._lock = threading.Lock()

    def of(self, items: list[tuple[str, int, str]]) -> list[tuple[tuple[str, str], ...]]:
        """Entities of each (doc_id, start, text), parsing only the sentences not seen before."""
        todo = [(d, s, t) for d, s, t in items if (d, s) not in self._cache]
        if todo:
            nlp = pipeline(self.model)
            skip = [p for p in nlp.pipe_names if p not in ("tok2vec", "ner")]
            with NLP_LOCK:
                docs = list(nlp.pipe([t for _, _, t in todo], disable=skip))
            with self._lock:
                for (d, s, _), doc in zip(todo, docs, strict=True):
                    self._cache[(d, s)] = tuple((e.label_, e.text) for e in doc.ents)
        return [self._cache[(d, s)] for d, s, _ in items]


MONTHS = {m.lower() for m in (*calendar.month_name[1:], *calendar.month_abbr[1:])}


def _specific(label: str, text: str) -> bool:
    """A date that pins a time ("8 August 2025", "1993", "in March"), not "last month" or "recently"."""
    if label != "DATE":
        return True
    return any(ch.isdigit() for ch in text) or bool(MONTHS & {w.strip(".,").lower() for w in text.split()})


def holds_type(entities: tuple[tuple[str, str], ...], answer_type: AnswerType, question: str) -> bool:
    """Does a sentence hold an entity of the asked type that the question does not already name?"""
    labels = LABELS_FOR.get(answer_type)
    if not labels:
        return False
    q = question.lower()
    return any(label in labels and text.lower() not in q and _specific(label, text) for label, text in entities)
