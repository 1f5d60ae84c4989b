"""Yes or no: decided only when the evidence plainly states (or plainly denies) what was asked.

The question's content words must be covered by the evidence (idf-weighted support, or a close
paraphrase by sentence similarity) and every number the question names must stand in the evidence;
then a negation on one side only means "No", none (or both) means "Yes". Anything less clear gets
no verdict: the quote alone, which the user can judge.
"""

from __future__ import annotations

import re

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
        if near & about or t.head.dep_ == "ROOT":
            return True
    return False


def verdict(
    question: str, question_negated: bool, evidence: str, support: float, dense: float, about: set[str], model: str = DEFAULT_MODEL
) -> str:
    """"Yes", "No" or "" (undecided)."""
    if not (support >= MIN_SUPPORT or (support >= MIN_SUPPORT_PARAPHRASE and dense >= MIN_DENSE_PARAPHRASE)):
        return ""
    q_numbers = {n.strip(".,") for n in NUMBER.findall(question)}
    ev_numbers = {n.strip(".,") for n in NUMBER.findall(evidence)}
    if not q_numbers <= ev_numbers:
        return ""
    return "No" if negated(evidence, about, model) != question_negated else "Yes"


def compared_verdict(question: str, negated_question: bool, compared: tuple[float, float]) -> str:
    """"Yes" or "No" for "was A higher than B?" from the two values, in the order the question names
    them; "" when the question does not ask one way ("higher or lower?", both or no comparative)."""
    words = set(re.findall(r"[a-z]+", question.lower()))
    more, less = bool(words & MORE_WORDS), bool(words & LESS_WORDS)
    if more == less or "or" in words or negated_question:
        return ""
    first, second = compared
    return "Yes" if (first > second if more else first < second) else "No"
