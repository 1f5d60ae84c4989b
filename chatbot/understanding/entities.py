"""Named entities of document sentences, found once per sentence on first need and kept.

Only spaCy's token-to-vector and entity components run (no parser): about a millisecond a sentence.
"""

from __future__ import annotations

import calendar
import re
import threading

from chatbot.understanding.nlp import DEFAULT_MODEL, NLP_LOCK, pipeline
from chatbot.understanding.query import AnswerType, analyse

# spaCy entity labels that can hold each kind of answer (OntoNotes labels, general English).
LABELS_FOR = {
    AnswerType.PERSON: frozenset({"PERSON", "ORG", "NORP", "GPE"}),  # "who organised it?" may be a body
    AnswerType.ORGANISATION: frozenset({"ORG"}),
    AnswerType.PLACE: frozenset({"GPE", "LOC", "FAC"}),
    AnswerType.DATE: frozenset({"DATE"}),
    AnswerType.YEAR: frozenset({"DATE"}),
    AnswerType.AMOUNT: frozenset({"MONEY", "QUANTITY", "CARDINAL", "PERCENT", "DATE", "TIME"}),  # "how long": 25 years
    AnswerType.VALUE: frozenset({"MONEY", "QUANTITY", "CARDINAL", "PERCENT"}),  # "how much is X paid": not "25 years"
    AnswerType.COUNT: frozenset({"CARDINAL", "QUANTITY", "DATE", "TIME"}),
    AnswerType.PERCENT: frozenset({"PERCENT"}),
}


# Markdown emphasis and code marks, read as spaces (offsets kept): "**Prepared by:** Ingrid Posthuma"
# hides the name from the entity recogniser.
MARKUP = str.maketrans({"*": " ", "`": " "})


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
                docs = list(nlp.pipe([t.translate(MARKUP) for _, _, t in todo], disable=skip))
            with self._lock:
                for (d, s, _), doc in zip(todo, docs, strict=True):
                    self._cache[(d, s)] = tuple((e.label_, e.text) for e in doc.ents)
        return [self._cache[(d, s)] for d, s, _ in items]


MONTHS = {m.lower() for m in (*calendar.month_name[1:], *calendar.month_abbr[1:])}


# Types whose absence from the evidence settles it: the document does not give what was asked. Places
# and organisations are not among them ("where does the data come from?" is rarely answered by a
# named place, and the small English model misses many organisation names).
REQUIRED_TYPES = frozenset({AnswerType.PERSON, AnswerType.DATE, AnswerType.YEAR, AnswerType.AMOUNT, AnswerType.VALUE, AnswerType.COUNT,
                            AnswerType.PERCENT})
YEAR = re.compile(r"(?<![\d.,])(1[5-9]\d\d|20\d\d)(?![\d.,])")


DURATION_UNITS = {"year", "years", "month", "months", "week", "weeks", "day", "days", "hour", "hours", "minute", "minutes", "decade", "decades"}


def _fits(label: str, text: str, answer_type: AnswerType, exact_date: bool) -> bool:
    """A DATE entity answers a "how long / how many" question only as a duration ("25 years"), and a
    "which date" question only when it pins a time ("8 August 2025", "in March"), not "last month"."""
    if answer_type is AnswerType.VALUE and label == "CARDINAL":
        return any(ch.isdigit() for ch in text)  # "two other speakers" count people; they are not a sum
    if label != "DATE":
        return True
    words = {w.strip(".,").lower() for w in text.split()}
    if answer_type in (AnswerType.AMOUNT, AnswerType.COUNT):
        return bool(words & DURATION_UNITS)
    if exact_date:
        return any(ch.isdigit() for ch in text) or bool(MONTHS & words)
    if answer_type is AnswerType.DATE:
        # "when …?" is answered by a date, a month or a named time ("in spring", "at Easter"), not by a
        # phrase that only holds a unit of time ("the foundation year", "each week")
        from chatbot.understanding.wordnet_seek import noun_class

        return (any(ch.isdigit() for ch in text) or bool(MONTHS & words)
                or any(noun_class(w) == "time" for w in words - DURATION_UNITS if w.isalpha()))
    return True


def _labels_for(answer_type: AnswerType, question: str) -> frozenset[str]:
    """The entity labels that answer: "how many robots" counts things, so a span of time ("three
    consecutive months") does not answer it, where "how many weeks" or "how many times" may."""
    labels = LABELS_FOR.get(answer_type, frozenset())
    if answer_type is AnswerType.COUNT:
        from chatbot.understanding.wordnet_seek import noun_class

        focus = analyse(question).focus
        if focus and noun_class(focus) not in ("time", ""):
            return labels - {"DATE", "TIME"}
    return labels


COUNTED = re.compile(r"\s+(?:[a-z\-]+\s+)?([a-z]{3,})")  # the noun a number counts: "four conditions", "25 new robots"


def counts_other_things(ent: str, sentence: str, answer_type: AnswerType, question: str) -> bool:
    """"how many robots" and "… on four conditions": the number counts things of another WordNet
    class (conditions are states, robots artefacts); "25 machines" still counts robots. A list item's
    number ("3. …") counts nothing."""
    if answer_type is not AnswerType.COUNT or not sentence:
        return False
    from chatbot.text import stem
    from chatbot.understanding.wordnet_seek import noun_class

    if ent.isdigit() and re.search(rf"(?m)^\s*{re.escape(ent)}[.)](?:\s|$)", sentence):
        return True  # "3. spending on the roll-out …": a list item's number counts nothing
    focus = analyse(question).focus
    pos = sentence.find(ent)
    m = COUNTED.match(sentence, pos + len(ent)) if focus and pos >= 0 else None
    if m is None:
        return False
    words = [w for w in sentence[m.start() : m.end()].split() if w.isalpha()]
    if any(stem(w) == stem(focus) for w in words):
        return False
    counted, asked = noun_class(m.group(1)), noun_class(focus)
    return bool(counted and asked and counted != asked)


def holds_type(entities: tuple[tuple[str, str], ...], answer_type: AnswerType, question: str, exact_date: bool = False,
               sentence: str = "") -> bool:
    """Does a sentence hold an entity of the asked type that the question does not already name?"""
    labels = _labels_for(answer_type, question)
    if not labels:
        return False
    q = question.lower()
    return any(label in labels and text.lower() not in q and _fits(label, text, answer_type, exact_date)
               and not counts_other_things(text, sentence, answer_type, question) for label, text in entities)


def holds_year(text: str, question: str) -> bool:
    """A year the question does not already name stands in the text (tables of years have no entities)."""
    return any(y not in question for y in YEAR.findall(text))


# Of several entity labels an answer type allows, the more specific first: a sum of money answers
# "how much" before a date or a bare number does.
SPECIFIC_FIRST = ("MONEY", "PERCENT", "QUANTITY", "DATE", "TIME", "ORDINAL", "CARDINAL")


def ranked_answer_entity(entities: tuple[tuple[str, str], ...], text: str, answer_type: AnswerType, question: str,
                  about: tuple[str, ...]) -> tuple[int, int, str] | None:
    """(label rank, distance, entity): the entity of the asked type in ``text`` that answers the question —
    of those the question does not name, the one of the most specific label, nearest to the question's
    own words; None if there is none."""
    labels = _labels_for(answer_type, question)
    if not labels:
        return None
    q = question.lower()
    low = text.lower()
    anchors = [i for w in about if len(w) > 2 for i in [low.find(w)] if i >= 0]
    if answer_type is AnswerType.PERSON:
        labels = frozenset({"PERSON"})  # a body or a country may hold the answer, but a lead names people only
    order = [lab for lab in SPECIFIC_FIRST if lab in labels] + sorted(labels - set(SPECIFIC_FIRST))
    best: tuple[int, int, str] | None = None
    for label, ent in entities:
        if label not in labels or ent.lower() in q or not _fits(label, ent, answer_type, False) or counts_other_things(ent, text, answer_type, question):
            continue
        pos = low.find(ent.lower())
        if pos < 0:
            continue
        distance = min((abs(pos - a) for a in anchors), default=0)
        key = (order.index(label) if label in order else len(order), distance, ent)
        if best is None or key < best:
            best = key
    if best is not None and best[0] < len(order) and order[best[0]] in ("MONEY", "QUANTITY", "PERCENT"):
        best = (best[0], best[1], _with_symbols(text, best[2]))
    return best


CURRENCY_BEFORE = re.compile(r"(?:US\$|[$€£¥₼₹₽]|\b[A-Z]{3}\s?)$")
SCALE_AFTER = re.compile(r"^(?:\s?(?:bn|mn|m|k|million|billion|trillion|thousand)\b|%)")


def _with_symbols(text: str, ent: str) -> str:
    """An amount as the text writes it: "39.0" inside "€39.0m" is "€39.0m"."""
    pos = text.find(ent)
    if pos < 0:
        return ent
    before = CURRENCY_BEFORE.search(text[max(0, pos - 4) : pos])
    after = SCALE_AFTER.match(text[pos + len(ent) :])
    return (before.group(0) if before else "") + ent + (after.group(0) if after else "")


def answer_entity(entities: tuple[tuple[str, str], ...], text: str, answer_type: AnswerType, question: str,
                  about: tuple[str, ...]) -> str:
    """The entity of ``ranked_answer_entity``, or "" if none."""
    best = ranked_answer_entity(entities, text, answer_type, question, about)
    return best[2] if best else ""
