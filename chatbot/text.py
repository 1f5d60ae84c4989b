"""Tokenising for lexical search and evidence matching: lower-case words, stop words out, stemmed."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves tell please according article document text say says said
    give show list name many much whether""".split()
)
_STEMMER = Stemmer.Stemmer("english")


# Common spellings of one country name, folded so "US", "U.S." and "United States" match.
ALIASES = re.compile(r"\b(?:the )?(?:united states(?: of america)?|u\.s\.a?\.?|usa|america|americans?)(?![a-z])")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-").lower()
    return ALIASES.sub("us", text)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (numbers keep their separators: 2,450.75)."""
    return WORD.findall(normalise(text))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def content_terms(text: str) -> list[str]:
    """Stemmed tokens with stop words removed (order kept, duplicates kept)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and not (len(w) == 1 and w.isalpha())]
