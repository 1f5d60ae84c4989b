"""Whether a number in a sentence is a fact: the sentence's grammar, not only its digits, decides.

Layout first (no parse needed): a number that is part of a larger token — a version (``3.4.4``),
a wrapped decimal (``0.345`` read as ``345``), a code or date (``Oct-23-2022``, ``0-442-01272-1``) —
is never a fact by itself, and a count whose noun is on the next line or across a run of spaces
(``0.345⏎concavity``, ``1      Unix-style man pages``) is layout, not a phrase.

Then spaCy's parse of the sentence (``chatbot.understanding.nlp``):
- a count's number is a ``CARDINAL`` or ``QUANTITY`` entity (or unlabelled) that modifies the
  counted noun, and that noun is not a proper noun (``51 Franklin Street`` is an address);
- a year is a fact only inside a ``DATE`` entity (or a dated ``EVENT`` / ``LAW`` name); before a
  name (``the 1990 Treaty``) it must modify that name (after a determiner an unlabelled year also
  counts), not be one of a list of years, and the name is not a person's (``Copyright 1991, 1995
  Jane Doe`` is not an event called "Jane Doe").

A build parses the sentences in batches first and hands the parses in with ``parses_from``
(``chatbot.facts.batch``); otherwise each sentence is parsed when first asked about.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from chatbot.understanding.nlp import parse

# Entity types a counted number can carry; any other (an address, a date, a product code) is not a count.
COUNT_ENTITIES = {"CARDINAL", "QUANTITY", ""}
# A year is read as a date inside a DATE entity, or inside the name of a dated event or law
# ("the 1990 Treaty on Fisheries" is one EVENT entity for the English pipeline).
DATED = {"DATE", "EVENT", "LAW"}
LAYOUT_GAP = re.compile(r"\n| {2,}|\t")

_PARSER: ContextVar[Callable[[str], Any] | None] = ContextVar("grammar_parser", default=None)


@contextmanager
def parses_from(parser: Callable[[str], Any]) -> Iterator[None]:
    """Within the block, sentences are parsed by ``parser`` (e.g. a lookup of batch-parsed Docs)."""
    token = _PARSER.set(parser)
    try:
        yield
    finally:
        _PARSER.reset(token)


def _parse(sentence: str) -> Any:
    parser = _PARSER.get()
    return parser(sentence) if parser is not None else parse(sentence)


def part_of_larger_number(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` continues a version, decimal, range code or date written without spaces."""
    before = text[max(0, start - 2) : start]
    after = text[end : end + 2]
    if len(before) == 2 and before[1] in ".,:/-" and before[0].isalnum():
        return True
    if before[-1:].isalnum():
        return True
    return bool(len(after) == 2 and after[0] in ".:/-" and after[1].isalnum()) or after[:1].isalnum()


def _tokens(doc: Any, start: int, end: int) -> list[Any]:
    return [t for t in doc if t.idx < end and t.idx + len(t.text) > start]


def is_count(sentence: str, num_start: int, num_end: int, noun_start: int, noun_end: int) -> bool:
    """The number at ``[num_start, num_end)`` counts the noun at ``[noun_start, noun_end)``: it
    modifies that noun in the parse ("Part 2 covers …" does not count "covers")."""
    if part_of_larger_number(sentence, num_start, num_end) or LAYOUT_GAP.search(sentence[num_end:noun_start]):
        return False
    doc = _parse(sentence)
    tokens = _tokens(doc, num_start, num_end)
    if not tokens:
        return False
    tok = tokens[-1]
    noun = {t.i for t in _tokens(doc, noun_start, noun_end)}
    if tok.ent_type_ not in COUNT_ENTITIES or tok.head.i not in noun:
        return False
    return tok.head.pos_ != "PROPN"  # "51 Franklin Street" is an address


def is_date(sentence: str, start: int, end: int) -> bool:
    """The year at ``[start, end)`` is part of a date the parser recognises."""
    if part_of_larger_number(sentence, start, end):
        return False
    tokens = _tokens(_parse(sentence), start, end)
    return bool(tokens) and all(t.ent_type_ in DATED for t in tokens)


def year_modifies(sentence: str, start: int, end: int, name_start: int, name_end: int) -> bool:
    """The year at ``[start, end)`` dates the name at ``[name_start, name_end)``: it modifies the name
    in the parse, and is a DATE (or part of a dated EVENT / LAW name), or follows a determiner
    ("the 1997 Agreement on …", which the small English model leaves unlabelled)."""
    if part_of_larger_number(sentence, start, end):
        return False
    doc = _parse(sentence)
    year = _tokens(doc, start, end)
    if not year:
        return False
    before = [t for t in doc[: year[0].i] if not t.is_punct and not t.is_space]
    if before and before[-1].like_num:
        return False  # one of a list of years ("1998, 2000 Jane Doe"): it dates nothing named
    name = {t.i for t in _tokens(doc, name_start, name_end)}
    if any(t.ent_type_ == "PERSON" for t in doc if t.i in name):
        return False  # a year before a person is an authorship year, not an event
    tok = year[-1]
    dated = tok.ent_type_ in DATED or (not tok.ent_type_ and bool(before) and before[-1].dep_ == "det")
    return dated and tok.head.i in name and tok.dep_ in ("nummod", "compound", "amod", "nmod")


def is_amount(sentence: str, start: int, end: int) -> bool:
    """An amount with a currency that is not a piece of a longer number or code."""
    digits = re.search(r"\d[\d,.]*\d|\d", sentence[start:end])
    if digits is None:
        return False
    return not part_of_larger_number(sentence, start + digits.start(), start + digits.end())
