"""The kind of named thing a general English noun stands for — a person, an organisation, a place or
a time, or money — from WordNet 3.0's hypernyms: "maintainer" is a kind of person, "firm" of organisation,
"city" of location, "year" of time period; a group whose members are persons ("people", "staff")
counts as persons.

A question's noun that the documents never use ("how many people are named …?") is still answered
when the evidence holds things of that kind (spaCy's PERSON entities, years). Only the commonest
sense of a noun counts. WordNet is looked up in place (``wordnet_seek``).

    >>> noun_kind("maintainers")
    <Kind.PERSON: 'person'>
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache

from chatbot.understanding.wordnet_seek import Synsets, synsets


class Kind(Enum):
    PERSON = "person"
    ORGANISATION = "organisation"
    PLACE = "place"
    TIME = "time"
    MONEY = "money"


# The synsets (lemma, sense number) whose hyponyms are of each kind; checked in this order, so a
# body of persons ("company") is an organisation before it is a group of persons.
ROOTS = (
    (Kind.PERSON, "person", 1),
    (Kind.ORGANISATION, "organization", 1),
    (Kind.PLACE, "location", 1),
    (Kind.TIME, "time_period", 1),
    (Kind.TIME, "time_unit", 1),  # "day", "date"
    (Kind.MONEY, "medium_of_exchange", 1),  # "cash", "money", "currency"
)
# spaCy (OntoNotes) entity labels that are things of each kind.
LABELS = {
    Kind.PERSON: frozenset({"PERSON"}),
    Kind.ORGANISATION: frozenset({"ORG", "GPE", "NORP"}),
    Kind.PLACE: frozenset({"GPE", "LOC", "FAC"}),
    Kind.TIME: frozenset({"DATE", "TIME"}),
    Kind.MONEY: frozenset({"MONEY"}),
}
MEMBER = "%m"  # a group's members ("people" has member "person")
YEAR = re.compile(r"(?<![\d.,])(1[5-9]\d\d|20\d\d)(?![\d.,])")


class NounKinds:
    """The kind of each noun, from the noun synsets; safe to share between threads."""

    def __init__(self, nouns: Synsets) -> None:
        self.nouns = nouns
        self._roots = [(kind, senses[sense - 1]) for kind, lemma, sense in ROOTS if len(senses := nouns.senses(lemma)) >= sense]

    def kind(self, word: str) -> Kind | None:
        """The kind of thing the commonest sense of ``word`` (or of its singular) names, if any."""
        senses = self.nouns.senses(word)
        if not senses:
            return None
        kinds = self._kinds_of(senses[0])
        if kinds:
            return kinds[0]
        members = [t for symbol, t in self.nouns.pointers(senses[0]) if symbol == MEMBER]
        return Kind.PERSON if any(Kind.PERSON in self._kinds_of(m) for m in members) else None

    def _kinds_of(self, offset: int) -> list[Kind]:
        ancestors = self.nouns.ancestors(offset)
        return [kind for kind, root in self._roots if root in ancestors]


@lru_cache(maxsize=1)
def _kinds() -> NounKinds | None:
    nouns = synsets("noun")
    return NounKinds(nouns) if nouns is not None else None


@lru_cache(maxsize=4096)
def noun_kind(word: str) -> Kind | None:
    """The kind of named thing ``word`` stands for (None: not one, or WordNet is not installed)."""
    kinds = _kinds()
    return kinds.kind(word) if kinds is not None else None


# A thing of the kind answers only near the question's own words ("what company does Bo Thorsen work
# for?" is not answered by another row's company, twenty lines down a table of ports).
NEAR_CHARS = 200


def kind_held(kind: Kind, entities: tuple[tuple[str, str], ...], text: str, about: tuple[str, ...] = ()) -> bool:
    """Does a sentence (its spaCy entities as (label, text), and its text) hold a thing of ``kind``
    within ``NEAR_CHARS`` of one of the question's words (``about``) that it uses?"""
    low = text.lower()
    anchors = [m.start() for w in about if len(w) > 2 for m in re.finditer(rf"\b{re.escape(w.lower())}", low)]
    found = [m.start() for m in YEAR.finditer(text)] if kind is Kind.TIME else []  # a listed year has no entity of its own
    found += [m.start() for label, ent in entities if label in LABELS[kind] for m in re.finditer(re.escape(ent.lower()), low)]
    return any(not anchors or any(abs(f - a) <= NEAR_CHARS for a in anchors) for f in found)
