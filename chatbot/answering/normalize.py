"""Query normalising against the corpus itself: spelling fixed to the document's own words, and
acronyms the document spells out ("WTO" → "World Trade Organization") expanded.

Both maps come from the corpus's own words (``chatbot.corpus_stats``, derived at index build time),
so they fit whatever document is indexed.
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache

from chatbot.corpus_stats import WORD, NormaliserStats, derive_normaliser
from chatbot.errors import ConfigError
from chatbot.resources import once
from chatbot.text import STOPWORDS, stem
from chatbot.types import Document


def _edit_distance_le(a: str, b: str, limit: int) -> bool:
    if abs(len(a) - len(b)) > limit:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            best = min(best, cur[j])
        if best > limit:
            return False
        prev = cur
    return prev[-1] <= limit


MIN_ENGLISH_FIX = 4  # shorter words are left alone ("wat" may be a name, an acronym or slang)


def english():  # type: ignore[no-untyped-def]
    """English word frequencies (pyspellchecker), loaded once per process on first need."""
    from spellchecker import SpellChecker

    return once("spellchecker:en", lambda: SpellChecker(distance=1))


def _load_wordpieces() -> frozenset[str]:
    from chatbot.embeddings import resolve_model_path

    try:
        vocab = (resolve_model_path("packaged") / "vocab.txt").read_text(encoding="utf-8").split()
    except (OSError, ConfigError):
        return frozenset()  # another embedding model: no vocabulary to consult
    return frozenset(w for w in vocab if w.isalpha())


def wordpieces() -> frozenset[str]:
    """Whole words of the embedding model's WordPiece vocabulary (about 22,500): real words and
    common short forms ("tech", "folks") that a frequency list may lack, never to be "corrected"."""
    return once("wordpieces", _load_wordpieces)


@lru_cache(maxsize=8192)
def english_correction(word: str) -> str:
    """A misspelt common English word corrected by one edit ("avergae" → "average", "adress" →
    "address"); known words, and words with no English neighbour, are returned as they are."""
    spell = english()
    if word in spell or word in wordpieces():
        return word
    candidates = spell.candidates(word) or ()
    if not candidates:
        return word
    return max(candidates, key=lambda c: (c[:1] == word[:1], spell.word_usage_frequency(c)))


class QueryNormalizer:
    def __init__(self, documents: list[Document], stats: NormaliserStats | None = None) -> None:
        """``stats``: the corpus's statistics as the index build derived them (else derived here
        from ``documents``, the same way)."""
        if stats is None:
            stats = derive_normaliser(d.text for d in documents)
        self.vocab = stats.vocab
        self.acronyms = stats.acronyms
        self.lower_acronyms = stats.lower_acronyms
        self.stems = stats.stems

    @cached_property
    def by_length(self) -> dict[int, list[str]]:
        """The vocabulary by word length (made on the first word to correct)."""
        out: dict[int, list[str]] = {}
        for w in self.vocab:
            out.setdefault(len(w), []).append(w)
        return out

    @lru_cache(maxsize=4096)  # noqa: B019 - one normaliser per loaded index
    def correct(self, word: str) -> str:
        low = word.lower()
        if low in self.vocab or low in STOPWORDS or not low.isalpha() or stem(low) in self.stems:
            return word
        if len(low) < 6:
            return english_correction(low) if len(low) >= MIN_ENGLISH_FIX and word[:1].islower() else word
        if re.search(r"(?:s|ed|ing|er|ers|est|ly)$", low) and len(low) >= 7 and (low in english() or low in wordpieces()):
            return word  # an inflected form of a real word ("ministers", "builders"), not a typo
        limit = 1 if len(low) < 9 or word[:1].isupper() else 2  # a name gets one typo at most
        for n in range(len(low) - limit, len(low) + limit + 1):
            for cand in sorted(self.by_length.get(n, ())):
                if cand[0] == low[0] and cand not in STOPWORDS and _edit_distance_le(low, cand, limit):
                    return cand[:1].upper() + cand[1:] if word[:1].isupper() else cand
        return english_correction(low) if word[:1].islower() else word

    def join_split_words(self, question: str) -> str:
        """"ferro alloys" → "ferroalloys" when the document writes it as one word."""
        words = question.split()
        out: list[str] = []
        i = 0
        while i < len(words):
            if i + 1 < len(words):
                a, b = words[i], words[i + 1]
                joined = (a + b).strip("?,.!;:").lower()
                if len(joined) >= 7 and joined in self.vocab and a.lower() not in self.vocab - STOPWORDS | {""}:
                    out.append(a + b)
                    i += 2
                    continue
                if len(joined) >= 7 and joined in self.vocab and stem(b.strip("?,.!;:").lower()) not in self.stems:
                    out.append(a + b)
                    i += 2
                    continue
            out.append(words[i])
            i += 1
        return " ".join(out)

    def __call__(self, question: str) -> str:
        question = self.join_split_words(question)
        def fix(m: re.Match[str]) -> str:
            w = m.group(0)
            low = w.lower()
            if low not in self.vocab and low in self.acronyms and (w.isupper() or any(c.isupper() for c in w[1:])):
                return f"{w} ({self.acronyms[low]})"
            return self.correct(w)

        return WORD.sub(fix, question)
