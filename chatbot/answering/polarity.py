"""Yes or no: decided only when the evidence plainly states (or plainly denies) what was asked.

The question's content words must be covered by the evidence (idf-weighted support, or a close
paraphrase by sentence similarity) and every number the question names must stand in the evidence;
then a negation on one side only means "No", none (or both) means "Yes". Anything less clear gets
no verdict: the quote alone, which the user can judge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from chatbot.facts.question import LESS_WORDS, MORE_WORDS
from chatbot.understanding.nlp import DEFAULT_MODEL, parse

# Fitted on the suite's dev documents (yes/no items): below these the evidence is about the topic but
# does not settle the question, and a "Yes" there was wrong more often than right.
MIN_SUPPORT = 0.8
MIN_SUPPORT_PARAPHRASE = 0.5
MIN_DENSE_PARAPHRASE = 0.62
NUMBER = re.compile(r"\d[\d,.]*")


NEGATORS = {"no", "not", "never", "none", "nothing", "neither", "nor", "without", "n't"}


def negated(text: str, about: set[str], model: str = DEFAULT_MODEL) -> bool:
    """A negation in ``text`` that bears on the question: it modifies one of the question's words
    (``about``, lemmas) or the main verb of its clause."""
    for t in parse(text, model):
        if t.dep_ != "neg" and t.lower_ not in NEGATORS:
            continue
        near = {t.head.lemma_.lower(), t.head.head.lemma_.lower(), *(c.lemma_.lower() for c in t.head.children)}
        if near & about or _main_predicate(t.head):
            return True
    return False


def _main_predicate(tok) -> bool:  # type: ignore[no-untyped-def]
    """The clause's main verb, or the clause it governs ("Known not to require X": "require")."""
    return bool(tok.dep_ == "ROOT" or (tok.dep_ in ("xcomp", "ccomp") and tok.head.dep_ == "ROOT"))


MODIFIERS = ("amod", "compound")


def contrasted(question: str, evidence: str, document: str, model: str = DEFAULT_MODEL) -> bool:
    """The question names a thing the document never names ("standard output") where the evidence
    names another of the same modifier ("… are directed to standard error"): the evidence answers no."""
    low = document.lower()
    asked = [(t.lemma_.lower(), t.head.lemma_.lower(), f"{t.lower_} {t.head.lower_}") for t in parse(question, model)
             if t.dep_ in MODIFIERS and t.head.pos_ == "NOUN" and t.i + 1 == t.head.i]
    asked = [a for a in asked if a[2] not in low]
    if not asked:
        return False
    found = {(t.lemma_.lower(), t.head.lemma_.lower()) for t in parse(evidence, model) if t.dep_ in MODIFIERS and t.head.pos_ == "NOUN"}
    return any(mod == m and head != h for mod, head, _ in asked for m, h in found)


def verdict(
    question: str, question_negated: bool, evidence: str | Sequence[str], support: float, dense: float, about: set[str],
    model: str = DEFAULT_MODEL, document: str = "",
) -> str:
    """"Yes", "No" or "" (undecided). ``evidence`` is the quoted text, or its quotes one by one (each
    parsed on its own: two list items run together do not parse as one sentence)."""
    quotes = [evidence] if isinstance(evidence, str) else list(evidence)
    text = " ".join(quotes)
    if not (support >= MIN_SUPPORT or (support >= MIN_SUPPORT_PARAPHRASE and dense >= MIN_DENSE_PARAPHRASE)):
        return ""
    q_numbers = {n.strip(".,") for n in NUMBER.findall(question)}
    ev_numbers = {n.strip(".,") for n in NUMBER.findall(text)}
    if not q_numbers <= ev_numbers:
        return ""
    if contrasted(question, text, document, model):
        return "No"
    return "No" if any(negated(q, about, model) for q in quotes) != question_negated else "Yes"


def compared_verdict(question: str, negated_question: bool, compared: tuple[float, float]) -> str:
    """"Yes" or "No" for "was A higher than B?" from the two values, in the order the question names
    them; "" when the question does not ask one way ("higher or lower?", both or no comparative)."""
    words = set(re.findall(r"[a-z]+", question.lower()))
    more, less = bool(words & MORE_WORDS), bool(words & LESS_WORDS)
    if more == less or "or" in words or negated_question:
        return ""
    first, second = compared
    return "Yes" if (first > second if more else first < second) else "No"


# Verbs of coming out above or below another (general English), beside the comparatives.
ABOVE_VERBS = {"beat", "outperform", "exceed", "surpass", "top", "outscore", "outsell", "overtake"}
BELOW_VERBS = {"trail", "lag"}


def named_values_verdict(question: str, quotes: Sequence[str], model: str = DEFAULT_MODEL) -> tuple[str, tuple[float, float]] | None:
    """"Did LDA beat QDA?" against "(RDA: 100%, QDA 99.4%, LDA 98.9%)": the two things the question
    names each stand next to a number in one quote; the verdict compares them in the question's
    order. ``None`` when the question compares no two such things or a quote does not settle it."""
    doc = parse(question, model)
    lemmas = {t.lemma_.lower() for t in doc}
    words = {t.lower_ for t in doc}
    up = bool(lemmas & ABOVE_VERBS or words & MORE_WORDS)
    down = bool(lemmas & BELOW_VERBS or words & LESS_WORDS)
    if up == down or "or" in words:
        return None
    names = [t.text for t in doc if t.pos_ in ("PROPN", "NOUN", "X") and not t.is_stop and len(t.text) > 1]
    for quote in quotes:
        found: list[tuple[int, str, float]] = []
        for name in dict.fromkeys(names):
            m = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])[\s:=]{{0,3}}(-?\d[\d,]*(?:\.\d+)?)(?![\d])", quote, re.I)
            if m is not None:
                found.append((question.lower().find(name.lower()), name, float(m.group(1).replace(",", ""))))
        if len(found) == 2:
            (_, _, a), (_, _, b) = sorted(found)
            word = "Yes" if (a > b if up else a < b) else "No"
            return ("" if a == b else word), (a, b)
    return None
