"""Tokenising for lexical search and evidence matching: lower-case words, stop words out, stemmed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
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


def _letters(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def trie_pattern(phrases: Iterable[str]) -> str:
    """One regex alternation for many literal phrases, factored by common prefix so that matching tries
    one branch per character rather than every phrase in turn; longer phrases win."""
    trie: dict = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}

    def walk(node: dict) -> str:
        ends = "" in node
        alts = [re.escape(ch) + walk(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if ends else body

    return walk(trie)


# English adjective / demonym endings ("Cuban", "Iraqi", "Iranian", "Japanese"), tried on one-word
# country names; a form two countries could make (Niger / Nigeria: "Nigerian") is dropped as ambiguous.
DEMONYM_ENDINGS = ("n", "ns", "an", "ans", "ian", "ians", "i", "is", "ese")


def _short_forms(c) -> set[str]:  # type: ignore[no-untyped-def]
    """"Bolivia" of "Bolivia, Plurinational State of"; a one-word tail of an official name after "of"."""
    out = set()
    if "," in c.name:
        out.add(c.name.split(",")[0])
    official = getattr(c, "official_name", None) or ""
    if " of " in official:
        tail = official.rsplit(" of ", 1)[1]
        if " " not in tail:
            out.add(tail)
    return {n.lower() for n in out}


def _demonyms(name: str) -> set[str]:
    """"-i" joins a whole name ending in a consonant (Iraqi, Omani); the other endings may also
    replace a final vowel (Italian, Chinese)."""
    out = {name + end for end in DEMONYM_ENDINGS if not (end.startswith("i") and len(end) <= 2 and name[-1] in "aeiouy")}
    if name[-1] in "aeiouy":
        out |= {name[:-1] + end for end in DEMONYM_ENDINGS if not end.startswith("i") or len(end) > 2}
    return out - {name}


@lru_cache(maxsize=1)
def _country_aliases() -> dict[str, str]:
    """Every way ``pycountry`` writes a country (name, official and common name, the short form of a
    long name, dotted codes such as "u.s.a.") and the adjectives of one-word names, lower-cased, mapped
    to one token per country; a form two countries share is left out."""
    import pycountry

    found: dict[str, set[str]] = {}
    for c in pycountry.countries:
        canonical = _letters(getattr(c, "common_name", None) or c.name)
        names = {n.lower() for n in (getattr(c, a, None) for a in ("name", "official_name", "common_name")) if n}
        names |= _short_forms(c)
        spelled = names | {".".join(c.alpha_2.lower()) + ".", ".".join(c.alpha_3.lower()) + "."}
        spelled |= {d for n in names if n.isalpha() for d in _demonyms(n)}
        for alias in spelled:
            found.setdefault(alias, set()).add(canonical)
    return {alias: next(iter(c)) for alias, c in found.items() if len(c) == 1 and alias != next(iter(c))}


def country_code_groups(texts: list[str]) -> list[list[str]]:
    """Country codes a corpus uses as names: an upper-case code ("US", "GBR") that stands in the texts
    beside a name of its country ("United Kingdom" for "GB"), as one alias group each. "AI" is not Anguilla in a
    corpus that never names Anguilla."""
    import pycountry

    codes = {w for t in texts for w in re.findall(r"\b[A-Z]{2,3}\b", t)}
    if not codes:
        return []
    table = _country_aliases()
    wanted: dict[str, list[str]] = {}  # canonical → [display name, code, …]
    for code in sorted(codes):
        c = pycountry.countries.get(alpha_2=code) if len(code) == 2 else pycountry.countries.get(alpha_3=code)
        if c is not None:
            display = getattr(c, "common_name", None) or c.name
            wanted.setdefault(_letters(display), [display]).append(code)
    if not wanted:
        return []
    names = {a: k for a, k in table.items() if k in wanted and (" " in a or a.isalpha()) and len(a) > 3}
    names.update({k: k for k in wanted if len(k) > 3})
    # one pass over the corpus for every candidate name (a search per name is minutes on a big corpus)
    pattern = re.compile(r"(?<![\w])(?:" + trie_pattern(sorted(names)) + r")(?![\w])")
    seen = {names[m.group(0)] for t in texts for m in pattern.finditer(t.lower()) if m.group(0) in names}
    return [group for canonical, group in wanted.items() if canonical in seen]


class _Folder:
    """Country names (general, from ``pycountry``) and the corpus's own alias groups folded to one token
    each, so "the United Kingdom" and its official name — and, when the corpus says so, "UK" and "Britain" —
    match one another."""

    def __init__(self, groups: tuple[tuple[str, ...], ...] = ()) -> None:
        table = dict(_country_aliases())
        for group in groups:
            canonical = _letters(group[0])
            for alias in group:
                low = unicodedata.normalize("NFKC", alias).lower().strip()
                if low and low != canonical:
                    table[low] = canonical
        self.table = table
        self.pattern = re.compile(r"(?<![\w.])" + trie_pattern(sorted(table)) + r"(?![\w])") if table else None

    def __call__(self, text: str) -> str:
        if self.pattern is None:
            return text
        return self.pattern.sub(lambda m: self.table.get(m.group(0), m.group(0)), text)


_folder: _Folder | None = None
_groups: frozenset[tuple[str, ...]] = frozenset()


def add_aliases(groups: list[list[str]] | tuple[tuple[str, ...], ...]) -> None:
    """Fold a corpus's alias groups (``corpus/aliases.yaml``, country codes it uses) from now on, in
    every tokenising step of this process. Groups only accumulate: an index loaded earlier in the
    process (a test, the evaluation suite) keeps matching the way it was built."""
    global _folder, _groups
    new = {tuple(g) for g in groups} - _groups
    if not new and _folder is not None:
        return
    _groups = _groups | new
    _folder = _Folder(tuple(sorted(_groups)))
    _fold_cached.cache_clear()


def alias_signature() -> str:
    """The corpus alias groups in effect, as text: what tokenising depends on beyond this code."""
    folder = _current()
    return "\n".join(f"{a}={c}" for a, c in sorted(folder.table.items()) if a not in _country_aliases())


def _current() -> _Folder:
    global _folder
    if _folder is None:
        _folder = _Folder()
    return _folder


@lru_cache(maxsize=4096)  # questions and short sentences repeat; a corpus's passages need not be kept
def _fold_cached(text: str) -> str:
    return _current()(text)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-").lower()
    return _fold_cached(text) if len(text) < 2000 else _current()(text)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (numbers keep their separators: 2,450.75)."""
    return WORD.findall(normalise(text))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return _STEMMER.stemWord(word)


def content_terms(text: str) -> list[str]:
    """Stemmed tokens with stop words removed (order kept, duplicates kept)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and not (len(w) == 1 and w.isalpha())]
