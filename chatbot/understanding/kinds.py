"""WordNet looked up in place while answering: whether a word is general English at all, and the
kind of named thing a general English noun stands for — a person, an organisation, a place or
a time — from WordNet 3.0's hypernyms: "maintainer" is a kind of person, "firm" of organisation,
"city" of location, "year" of time period; a group whose members are persons ("people", "staff")
counts as persons.

A question's noun that the documents never use ("how many people are named …?") is still answered
when the evidence holds things of that kind (spaCy's PERSON entities, years). Only the commonest
sense of a noun counts. Lookups binary-search WordNet's sorted ``index.noun`` in place and read
synsets from ``data.noun`` (the files of ``lexicon.default_folder()``), read on first use.

    >>> noun_kind("maintainers")
    <Kind.PERSON: 'person'>
"""

from __future__ import annotations

import mmap
import re
import threading
from enum import Enum
from functools import lru_cache
from pathlib import Path

from chatbot.understanding.lexicon import DETACH, default_folder


class Kind(Enum):
    PERSON = "person"
    ORGANISATION = "organisation"
    PLACE = "place"
    TIME = "time"


# The synsets (lemma, sense number) whose hyponyms are of each kind; checked in this order, so a
# body of persons ("company") is an organisation before it is a group of persons.
ROOTS = (
    (Kind.PERSON, "person", 1),
    (Kind.ORGANISATION, "organization", 1),
    (Kind.PLACE, "location", 1),
    (Kind.TIME, "time_period", 1),
    (Kind.TIME, "time_unit", 1),  # "day", "date"
)
# spaCy (OntoNotes) entity labels that are things of each kind.
LABELS = {
    Kind.PERSON: frozenset({"PERSON"}),
    Kind.ORGANISATION: frozenset({"ORG", "GPE", "NORP"}),
    Kind.PLACE: frozenset({"GPE", "LOC", "FAC"}),
    Kind.TIME: frozenset({"DATE", "TIME"}),
}
HYPERNYM = ("@", "@i")  # a synset's hypernym, or the class of an instance
MEMBER = "%m"  # a group's members ("people" has member "person")
MAX_DEPTH = 20
YEAR = re.compile(r"(?<![\d.,])(1[5-9]\d\d|20\d\d)(?![\d.,])")


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


class NounKinds:
    """Seeks in one WordNet folder; safe to share between threads."""

    def __init__(self, folder: Path | None) -> None:
        self._index: SortedIndex | None = None
        self._data = b""
        self._exceptions: dict[str, list[str]] = {}
        if folder is None or not (folder / "index.noun").is_file():
            return
        self._index = SortedIndex(folder / "index.noun")
        self._data = (folder / "data.noun").read_bytes().replace(b"\r\n", b"\n")  # byte offsets count LF endings
        self._exceptions = _read_exceptions(folder / "noun.exc")
        self._roots = [(kind, off) for kind, lemma, sense in ROOTS for off in [self._offsets(lemma)[sense - 1 : sense]] if off]

    @property
    def available(self) -> bool:
        return self._index is not None

    def kind(self, word: str) -> Kind | None:
        """The kind of thing the commonest sense of ``word`` (or of its singular) names, if any."""
        if not self.available:
            return None
        for base in base_forms(word.lower().replace(" ", "_"), "noun", self._exceptions):
            offsets = self._offsets(base)
            if offsets:
                return self._kind_of(offsets[0])
        return None

    def _kind_of(self, offset: int) -> Kind | None:
        ancestors = self._ancestors(offset)
        for kind, root in self._roots:
            if root[0] in ancestors:
                return kind
        members = [t for symbol, t in self._pointers(offset) if symbol == MEMBER]
        return Kind.PERSON if any(self._roots_of(m) & {Kind.PERSON} for m in members) else None

    def _roots_of(self, offset: int) -> set[Kind]:
        ancestors = self._ancestors(offset)
        return {kind for kind, root in self._roots if root[0] in ancestors}

    def _ancestors(self, offset: int) -> set[int]:
        seen, todo = {offset}, [offset]
        for _ in range(MAX_DEPTH):
            todo = [t for o in todo for symbol, t in self._pointers(o) if symbol in HYPERNYM and t not in seen]
            if not todo:
                break
            seen.update(todo)
        return seen

    def _offsets(self, lemma: str) -> list[int]:
        """The synset offsets of a lemma, commonest sense first (a binary search of the sorted index)."""
        line = self._find(lemma.encode("utf-8"))
        if line is None:
            return []
        f = line.split()
        n_synsets, n_pointers = int(f[2]), int(f[3])
        return [int(o) for o in f[4 + n_pointers + 2 :][:n_synsets]]

    def _find(self, key: bytes) -> bytes | None:
        assert self._index is not None
        return self._index.find(key)

    def _pointers(self, offset: int) -> list[tuple[str, int]]:
        """(pointer symbol, target offset) of the noun synset at ``offset``, nouns only."""
        data = self._data
        end = data.find(b"\n", offset)
        fields = data[offset:end].split(b" | ", 1)[0].decode("utf-8", "replace").split()
        k = 4 + 2 * int(fields[3], 16)
        out = []
        for i in range(int(fields[k])):
            symbol, target, pos = fields[k + 1 + 4 * i : k + 4 + 4 * i]
            if pos == "n":
                out.append((symbol, int(target)))
        return out


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
                self._exceptions[pos] = _read_exceptions(folder / f"{pos}.exc")

    @property
    def available(self) -> bool:
        return bool(self._indexes)

    def __contains__(self, word: str) -> bool:
        word = word.lower()
        return any(index.find(b.encode("utf-8")) is not None
                   for pos, index in self._indexes.items() for b in base_forms(word, pos, self._exceptions[pos]))


def _read_exceptions(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            words = line.split()
            if len(words) >= 2:
                out[words[0]] = words[1:]
    return out


@lru_cache(maxsize=2)
def _english(folder: str) -> EnglishWords:
    return EnglishWords(Path(folder) if folder else None)


MIN_COMPOUND_PART = 3  # "dataset" is "data" + "set"; "gdbm" splits into no two words of three letters


def is_english_word(word: str) -> bool:
    """Is ``word`` a general English word, or two run together ("dataset", "workflow")? True too when
    WordNet is not installed: then nothing is known."""
    words = _english(str(default_folder() or ""))
    if not words.available or word in words:
        return True
    cuts = range(MIN_COMPOUND_PART, len(word) - MIN_COMPOUND_PART + 1)
    return any(word[:i] in words and word[i:] in words for i in cuts)


@lru_cache(maxsize=2)
def _kinds(folder: str) -> NounKinds:
    return NounKinds(Path(folder) if folder else None)


@lru_cache(maxsize=4096)
def noun_kind(word: str) -> Kind | None:
    """The kind of named thing ``word`` stands for (None: not one, or WordNet is not installed)."""
    return _kinds(str(default_folder() or "")).kind(word)


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
