"""WordNet 3.0 looked up in place while answering: one word at a time, by binary search in the sorted
``index.*`` files of ``lexicon.default_folder()`` (nothing is loaded whole; a part of speech's
``data.*`` file is read on its first lookup). ``lexicon`` reads the whole database at index builds.

    >>> is_english_word("gdbm"), is_english_word("dataset")
    (False, True)
"""

from __future__ import annotations

import mmap
import os
import threading
from functools import lru_cache
from pathlib import Path

from chatbot.understanding.lexicon import DETACH, default_folder, read_exceptions

MAX_DEPTH = 20


class SortedIndex:
    """One of WordNet's ``index.*`` files, searched in place (its lines are sorted by lemma)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)

    def find(self, key: bytes) -> bytes | None:
        """The line of ``key`` (a lemma, words joined by "_"), or None."""
        index = self._map
        with self._lock:
            lo, hi = 0, len(index)
            while lo < hi:
                mid = (lo + hi) // 2
                start = index.rfind(b"\n", 0, mid) + 1
                end = index.find(b"\n", start)
                end = len(index) if end < 0 else end
                line = index[start:end].rstrip(b"\r")
                lemma = line.split(b" ", 1)[0]
                if line.startswith(b" ") or lemma < key:  # the licence header (indented lines) sorts first
                    lo = end + 1
                elif lemma > key:
                    hi = start
                else:
                    return line
        return None


class Synsets:
    """The synsets of one part of speech ("noun", "verb"): a lemma's senses and a synset's pointers."""

    def __init__(self, folder: Path, pos: str) -> None:
        self.pos = pos
        self._index = SortedIndex(folder / f"index.{pos}")
        self._data_path = folder / f"data.{pos}"
        self._data = b""
        self._lock = threading.Lock()
        self.exceptions = read_exceptions(folder / f"{pos}.exc")

    def senses(self, word: str) -> list[int]:
        """The synset offsets of the first dictionary form of ``word`` that WordNet has, commonest sense first."""
        for lemma in base_forms(word.lower().replace(" ", "_"), self.pos, self.exceptions):
            line = self._index.find(lemma.encode("utf-8"))
            if line is not None:
                f = line.split()
                n_synsets, n_pointers = int(f[2]), int(f[3])
                return [int(o) for o in f[4 + n_pointers + 2 :][:n_synsets]]
        return []

    def pointers(self, offset: int) -> list[tuple[str, int]]:
        """(pointer symbol, target offset) of the synset at ``offset``, within this part of speech."""
        with self._lock:
            if not self._data:
                self._data = self._data_path.read_bytes().replace(b"\r\n", b"\n")  # byte offsets count LF endings
        data = self._data
        end = data.find(b"\n", offset)
        fields = data[offset:end].split(b" | ", 1)[0].decode("utf-8", "replace").split()
        k = 4 + 2 * int(fields[3], 16)
        own = self.pos[0]
        out = []
        for i in range(int(fields[k])):
            symbol, target, pos = fields[k + 1 + 4 * i : k + 4 + 4 * i]
            if pos == own:
                out.append((symbol, int(target)))
        return out

    def words(self, offset: int) -> list[str]:
        """The lemmas of the synset at ``offset`` (lower case, words joined by "-")."""
        with self._lock:
            if not self._data:
                self._data = self._data_path.read_bytes().replace(b"\r\n", b"\n")
        data = self._data
        fields = data[offset : data.find(b"\n", offset)].split(b" | ", 1)[0].decode("utf-8", "replace").split()
        return [fields[4 + 2 * i].lower().split("(")[0].replace("_", "-") for i in range(int(fields[3], 16))]

    def lexname(self, offset: int) -> str:
        """The lexicographer file of the synset at ``offset`` without its part of speech ("possession",
        "time", "group")."""
        with self._lock:
            if not self._data:
                self._data = self._data_path.read_bytes().replace(b"\r\n", b"\n")
        data = self._data
        number = int(data[offset : data.find(b"\n", offset)].split(b" ", 2)[1])
        names = LEXNAMES.get(self.pos, ())
        return names[number - names_start(self.pos)] if 0 <= number - names_start(self.pos) < len(names) else ""

    def derived(self, offset: int, pos: str) -> list[int]:
        """Offsets, in the ``pos`` part of speech, of the forms WordNet derives from the synset at
        ``offset`` ("generate" → "generation", "output")."""
        with self._lock:
            if not self._data:
                self._data = self._data_path.read_bytes().replace(b"\r\n", b"\n")
        data = self._data
        fields = data[offset : data.find(b"\n", offset)].split(b" | ", 1)[0].decode("utf-8", "replace").split()
        k = 4 + 2 * int(fields[3], 16)
        out = []
        for i in range(int(fields[k])):
            symbol, target, target_pos = fields[k + 1 + 4 * i : k + 4 + 4 * i]
            if symbol == "+" and target_pos == pos[0]:
                out.append(int(target))
        return out

    def ancestors(self, offset: int, depth: int = MAX_DEPTH) -> set[int]:
        """The synset and its hypernyms (and an instance's classes), up to ``depth`` steps."""
        seen, todo = {offset}, [offset]
        for _ in range(depth):
            todo = [t for o in todo for symbol, t in self.pointers(o) if symbol in HYPERNYM and t not in seen]
            if not todo:
                break
            seen.update(todo)
        return seen


HYPERNYM = ("@", "@i")  # a synset's hypernym, or the class of an instance

# WordNet 3.0's lexicographer files by number (``lexnames``): nouns are 03-28, verbs 29-43.
LEXNAMES = {
    "noun": ("Tops", "act", "animal", "artifact", "attribute", "body", "cognition", "communication", "event", "feeling", "food",
             "group", "location", "motive", "object", "person", "phenomenon", "plant", "possession", "process", "quantity",
             "relation", "shape", "state", "substance", "time"),
    "verb": ("body", "change", "cognition", "communication", "competition", "consumption", "contact", "creation", "emotion",
             "motion", "perception", "possession", "social", "stative", "weather"),
}


def names_start(pos: str) -> int:
    return 3 if pos == "noun" else 29


@lru_cache(maxsize=8)
def synsets(pos: str, folder: str = "") -> Synsets | None:
    """The ``pos`` synsets of the packaged WordNet (None when it is not installed)."""
    path = Path(folder) if folder else default_folder()
    return Synsets(path, pos) if path is not None and (path / f"index.{pos}").is_file() else None


def base_forms(word: str, pos: str, exceptions: dict[str, list[str]]) -> list[str]:
    """Candidate dictionary forms of ``word`` as a ``pos`` (Morphy's detachment rules and exceptions)."""
    out = [word, *exceptions.get(word, [])]
    out += [word[: len(word) - len(end)] + base for end, base in DETACH[pos] if word.endswith(end) and len(word) > len(end) + 1]
    return list(dict.fromkeys(out))


class EnglishWords:
    """Whether a word is in WordNet as any part of speech (in some inflected form)."""

    def __init__(self, folder: Path | None) -> None:
        self._indexes: dict[str, SortedIndex] = {}
        self._exceptions: dict[str, dict[str, list[str]]] = {}
        if folder is None:
            return
        for pos in DETACH:
            if (folder / f"index.{pos}").is_file():
                self._indexes[pos] = SortedIndex(folder / f"index.{pos}")
                self._exceptions[pos] = read_exceptions(folder / f"{pos}.exc")

    @property
    def available(self) -> bool:
        return bool(self._indexes)

    def __contains__(self, word: str) -> bool:
        word = word.lower()
        return any(index.find(b.encode("utf-8")) is not None
                   for pos, index in self._indexes.items() for b in base_forms(word, pos, self._exceptions[pos]))




@lru_cache(maxsize=2)
def _english(folder: str) -> EnglishWords:
    return EnglishWords(Path(folder) if folder else None)


@lru_cache(maxsize=4)
def _folder(setting: str) -> str:
    """``default_folder()`` found once per value of its setting (the key): it searches the import path."""
    return str(default_folder() or "")


MIN_COMPOUND_PART = 3  # "dataset" is "data" + "set"; "gdbm" splits into no two words of three letters


def is_english_word(word: str) -> bool:
    """Is ``word`` a general English word, or two run together ("dataset", "workflow")? True too when
    WordNet is not installed: then nothing is known."""
    words = _english(_folder(os.environ.get("CHATBOT_WORDNET_DIR", "")))
    if not words.available or word in words:
        return True
    cuts = range(MIN_COMPOUND_PART, len(word) - MIN_COMPOUND_PART + 1)
    return any(word[:i] in words and word[i:] in words for i in cuts)




def is_dictionary_word(word: str) -> bool:
    """Is ``word`` (lower case) a form of a WordNet lemma of any part of speech? True when WordNet is not
    installed: then no word is taken for a name."""
    words = _english(_folder(os.environ.get("CHATBOT_WORDNET_DIR", "")))
    return not words.available or word in words


def has_sense(word: str, pos: str) -> bool:
    """Does WordNet know ``word`` as a ``pos`` ("noun", "verb")? False without WordNet."""
    found = synsets(pos)
    return found is not None and bool(found.senses(word))


NOUN_SENSES = 3  # a noun's commoner senses


@lru_cache(maxsize=4096)
def nearby_nouns(word: str, levels: int = 2) -> frozenset[str]:
    """Words of a noun's commoner senses and of their broader senses up to ``levels`` steps ("booze" →
    "liquor", "alcohol", "beverage"): what a word the document never uses may stand for."""
    nouns = synsets("noun")
    if nouns is None:
        return frozenset()
    out: set[str] = set()
    for offset in nouns.senses(word)[:NOUN_SENSES]:
        for target in nouns.ancestors(offset, levels):
            out.update(nouns.words(target))
    out.discard(word)
    return frozenset(w for w in out if w.isalpha() or "-" in w)


@lru_cache(maxsize=4096)
def noun_class(word: str) -> str:
    """The lexicographer class of a noun's commonest sense ("cash" → "possession", "year" → "time",
    "members" → "group"); "" when WordNet does not know it as a noun."""
    nouns = synsets("noun")
    senses = nouns.senses(word) if nouns is not None else []
    return nouns.lexname(senses[0]) if nouns is not None and senses else ""


@lru_cache(maxsize=4096)
def means_money(word: str) -> bool:
    """Is one of a noun's two commonest senses money itself or a kind of it ("money", "cash",
    "currency"), WordNet's medium of exchange? A payment or a cost ("wage", "fee") is not."""
    nouns = synsets("noun")
    if nouns is None:
        return False
    roots = {o for w in ("money", "medium of exchange") for o in nouns.senses(w)[:1]}
    return any(roots & nouns.ancestors(o) for o in nouns.senses(word)[:2])


VERB_SENSES = 3  # a verb's commoner senses; the rarer ones relate it to verbs a reader would not take it for
VERB_STEPS = 2  # hypernym steps from each verb to a shared one ("write" → create verbally → make; "prepare" → make)


@lru_cache(maxsize=4096)
def verbs_related(a: str, b: str) -> bool:
    """Do two verbs name closely related actions: one of their commoner senses shares a hypernym within
    ``VERB_STEPS`` steps ("wrote" and "prepared" are both ways to make)? False without WordNet."""
    verbs = synsets("verb")
    if verbs is None:
        return False
    near_a = set().union(*(verbs.ancestors(o, VERB_STEPS) for o in verbs.senses(a)[:VERB_SENSES]))
    return any(near_a & verbs.ancestors(o, VERB_STEPS) for o in verbs.senses(b)[:VERB_SENSES])


@lru_cache(maxsize=4096)
def same_verb(a: str, b: str) -> bool:
    """Are two verbs (a phrasal verb as "sum up") synonyms: do their commoner senses share a synset
    ("sum up" and "summarize")? False without WordNet."""
    verbs = synsets("verb")
    if verbs is None:
        return False
    return bool(set(verbs.senses(a)[:VERB_SENSES]) & set(verbs.senses(b)[:VERB_SENSES]))


@lru_cache(maxsize=4096)
def noun_is_a(word: str, root: str) -> bool:
    """Is a noun's commonest sense ``root``'s commonest sense or a kind of it ("rundown" and
    "overview" are kinds of "summary")? False without WordNet."""
    nouns = synsets("noun")
    if nouns is None:
        return False
    top, senses = nouns.senses(root)[:1], nouns.senses(word)[:1]
    return bool(top and senses and top[0] in nouns.ancestors(senses[0]))


@lru_cache(maxsize=4096)
def nouns_of_verb(verb: str) -> frozenset[str]:
    """The nouns WordNet derives from a verb's commoner senses, with their synonyms ("generate" →
    "generation", "output", "yield"; "spend" → "spending", "expenditure")."""
    verbs, nouns = synsets("verb"), synsets("noun")
    if verbs is None or nouns is None:
        return frozenset()
    return frozenset(w for o in verbs.senses(verb)[:VERB_SENSES] for t in verbs.derived(o, "noun") for w in nouns.words(t))
