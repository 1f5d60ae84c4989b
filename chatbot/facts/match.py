"""Which rows and columns of a table a question names, using the table's own words.

Rows: a label occurs in the question as a phrase (case-insensitive), or all its content words do
(by stem), or a word only this label has does ("timber" → "Sawn timber"). Columns: the header's
content words by stem or as a prefix ("max" ↔ "maximum"), an acronym ("SD" ↔ "standard
deviation", "OS" ↔ "operating system"), or general words for extremes and averages ("highest" ↔
"Max", "average" ↔ "Mean"). Nothing here knows a document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatbot.facts.extract import TableData
from chatbot.text import STOPWORDS, stem

MAX_WORDS = {"max", "maximum", "highest", "largest", "biggest", "greatest", "top", "most", "longest", "heaviest", "peak", "upper"}
MIN_WORDS = {"min", "minimum", "lowest", "smallest", "least", "fewest", "shortest", "lightest", "bottom", "lower"}
# English adjectives for the low end of a scale: their superlatives ("slowest", "cheapest") ask for a
# minimum; every other superlative ("fastest", "busiest", "best") for a maximum.
LOW_END = {"slow", "small", "low", "short", "few", "little", "cheap", "light", "weak", "thin", "narrow", "young",
           "poor", "bad", "near", "early", "quiet", "cool", "cold", "soft", "tiny", "least", "min", "minimum"}
ORDINALS = {"second": 2, "third": 3, "fourth": 4, "fifth": 5, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5}
FOOTNOTE_MARK = re.compile(r"\s*(?:[*†‡§¹²³⁴⁵⁶⁷⁸⁹]+|\[\w{1,3}\])$")
SAME_MEANING = ({"mean", "average", "avg"}, {"count", "number"}, {"price", "cost"})
PARTIAL = 0.8  # strength of a column named by half its words
RATE_WORDS = {"per", "each", "every"}
# Words that say what to do with a column ("average", "total") rather than which column it is.
OPERATION_WORDS = {"average", "mean", "total", "number", "count", "sum", "share", "percent", "percentage", "rate"}


@dataclass(frozen=True)
class Hit:
    index: int
    start: int  # where the question names it
    end: int
    strength: float  # 2 phrase, 1.5 all words, 1 a distinctive word; columns: 1 direct, 0.8 half its words, 0.5 by an extreme word
    head: bool = True  # a column named by half its words: the half holds its head word (or a verb it measures)


def _words(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(0).lower()) for m in re.finditer(r"[A-Za-z0-9][A-Za-z0-9_\-/.]*[A-Za-z0-9]|[A-Za-z0-9]", text)]


def _content(words: list[str]) -> list[str]:
    return [w for w in words if w not in STOPWORDS]


LINK = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\[[^\]]*\])?")  # a Markdown link: "[zlib]", "[zlib](https://…)"


def label_key(label: str) -> str:
    return re.sub(r"\s*\([^)]*\)\s*", " ", LINK.sub(r"\1", FOOTNOTE_MARK.sub("", label))).strip().lower()


def clean_label(label: str) -> str:
    """A row label as shown in an answer: without a footnote mark ("Elmsford*" → "Elmsford") or
    link brackets ("[zlib] 1.2.11" → "zlib 1.2.11")."""
    return LINK.sub(r"\1", FOOTNOTE_MARK.sub("", label)).strip()


def match_rows(t: TableData, q: str) -> list[Hit]:
    """Rows the question names, best first; overlapping mentions keep the longest label."""
    low = q.lower()
    qwords = _words(q)
    qstems = {stem(w): (a, b) for a, b, w in qwords}
    label_words = [set(_content([w for _, _, w in _words(label_key(lab))])) for lab in t.labels]
    counts: dict[str, int] = {}
    for ws in label_words:
        for w in ws:
            counts[w] = counts.get(w, 0) + 1
    hits: list[Hit] = []
    for i, lab in enumerate(t.labels):
        key = label_key(lab)
        if not key:
            continue
        m = re.search(rf"(?<![\w\-]){re.escape(key)}(?![\w\-])", low) or re.search(rf"(?<![\w\-]){re.escape(lab.lower())}(?![\w\-])", low)
        if m:
            hits.append(Hit(i, m.start(), m.end(), 2.0 + len(key) / 100))
            continue
        ws = label_words[i]
        found = [qstems[stem(w)] for w in ws if stem(w) in qstems]
        if ws and len(found) == len(ws):
            hits.append(Hit(i, min(a for a, _ in found), max(b for _, b in found), 1.5))
            continue
        unique = [qstems[stem(w)] for w in ws if counts[w] == 1 and (len(w) >= 4 or len(w) == 3 and not w.isalpha()) and stem(w) in qstems]
        words = [w for w in ws if not _qualifier(w)] or ws  # "Courier 40", "Volta L2": model numbers qualify a name
        if unique and len(unique) * 2 >= len(words):  # a head word names a short label, not one word of a long one
            hits.append(Hit(i, unique[0][0], unique[0][1], 1.0))
            continue
        name = [qstems[stem(w)] for w in ws if counts[w] == 1 and stem(w) in qstems and _proper_name(w, lab)]
        if name:  # "the Arvo": a name no dictionary knows, capitalised in this label only
            hits.append(Hit(i, name[0][0], name[0][1], 1.0))
    hits.sort(key=lambda h: (-h.strength, -(h.end - h.start)))
    kept: list[Hit] = []
    for h in hits:
        same_label = any(label_key(t.labels[k.index]) == label_key(t.labels[h.index]) for k in kept)
        if same_label or not any(h.start < k.end and k.start < h.end for k in kept):
            kept.append(h)
    return kept + _shared_word_rows(t, qwords, label_words, counts, kept)


GROUP = 0.9  # strength of the rows a word several labels share names together ("the zstd entries")


def _shared_word_rows(t: TableData, qwords: list[tuple[int, int, str]], label_words: list[set[str]], counts: dict[str, int],
                      kept: list[Hit]) -> list[Hit]:
    """A question word several labels share ("zstd" of "zstd 1.5.1 -1", "zstd 1.5.1 --fast=3"): the one
    label whose other words (versions, options) the question also uses best, else all of them."""
    asked = {w for _, _, w in qwords} | {stem(w) for _, _, w in qwords}
    out: list[Hit] = []
    describing = _describing(" ".join(x for _, _, x in qwords)) if qwords else set()
    for a, b, x in qwords:
        if len(x) < 3 or x in STOPWORDS or x in describing or any(k.start < b and a < k.end for k in (*kept, *out)):
            continue
        cands = [i for i, ws in enumerate(label_words) if any(stem(w) == stem(x) and counts[w] >= 2 for w in ws)]
        if len(cands) < 2:
            continue
        shares = {}
        for i in cands:
            others = [w for _, _, w in _words(label_key(t.labels[i])) if stem(w) != stem(x)]
            shares[i] = sum(w in asked or stem(w) in asked for w in others) / max(1, len(others))
        best = max(shares.values())
        top = [i for i in cands if shares[i] == best]
        if best > 0 and len(top) == 1:
            out.append(Hit(top[0], a, b, 1.0))
        else:
            out += [Hit(i, a, b, GROUP) for i in cands]
    return out


def _qualifier(w: str) -> bool:
    """A word that qualifies a name rather than naming it: a number, a model code ("L2"), one letter."""
    return len(w) < 2 or (len(w) <= 3 and any(c.isdigit() for c in w)) or w.replace(".", "").isdigit()


def _proper_name(w: str, label: str) -> bool:
    """``w`` is written capitalised in ``label`` and is no English word (WordNet knows no form of it):
    a brand or place name ("Arvo", "Brisa"), which alone names its row."""
    from chatbot.understanding.wordnet_seek import is_dictionary_word

    if len(w) < 3 or not w.isalpha() or w in STOPWORDS:
        return False
    if not re.search(rf"(?<![A-Za-z]){re.escape(w[0].upper() + w[1:])}(?![A-Za-z])", label):
        return False
    return not is_dictionary_word(w)


def match_columns(t: TableData, q: str, skip: tuple[int, ...] = ()) -> list[Hit]:
    """Columns (after the label column) the question names, in the order it names them."""
    qwords = _words(q)
    hits: list[Hit] = []
    partial: list[Hit] = []
    column_words: dict[str, int] = {}  # how many column names use each word: a shared word names none of them
    for col in t.columns[1:]:
        for w in set(_content([w for _, _, w in _words(re.sub(r"\([^)]*\)", " ", col))])):
            column_words[w] = column_words.get(w, 0) + 1
    for j, col in enumerate(t.columns):
        if j == 0 or j in skip or not col.strip():
            continue
        head = [w for _, _, w in _words(re.sub(r"\([^)]*\)", " ", col))]
        content = [w for w in _content(head) if w not in RATE_WORDS] or head  # "per" in "Opening hours per week" asks nothing
        content = [w for w in content if not _qualifier(w)] or content  # "DC charge 10–80%" is named by "charge"
        found: list[tuple[int, int]] = []
        found_by_word: list[tuple[int, int] | None] = []
        extreme = False
        for w in content:
            pos = _find_word(qwords, w)
            if pos is None and w in MAX_WORDS | MIN_WORDS:
                group = MAX_WORDS if w in MAX_WORDS else MIN_WORDS
                pos = next(((a, b) for a, b, x in qwords if x in group), None)
                extreme = pos is not None
            if pos is not None:
                found.append(pos)
            found_by_word.append(pos)
        if content and len(found) == len(content):
            hits.append(Hit(j, min(a for a, _ in found), max(b for _, b in found), 0.5 if extreme else 1.0))
            continue
        acro = _acronym_hit(head, col, qwords)
        if acro is not None:
            hits.append(Hit(j, acro[0], acro[1], 1.0))
            continue
        named = [pos for w, pos in zip(content, found_by_word, strict=True)
                 if pos is not None and w not in OPERATION_WORDS and column_words.get(w, 0) == 1]
        # the half that names a column is its head word ("range" of "Tested range"), or a verb the
        # column measures ("quicker to boil" of "Boil time"); not a modifier used as a noun ("during testing")
        heads = [pos for w, pos in zip(content, found_by_word, strict=True)
                 if pos is not None and (w == _head_word(col) or pos[0] in _verbs(q))]
        if not extreme and len(content) >= 2 and named and len(named) * 2 >= len(content):
            partial.append(Hit(j, min(a for a, _ in named), max(b for _, b in named), PARTIAL, head=bool(heads)))
    # a column named by half its words ("wait" → "Average wait (days)", "patients" → "Patients seen"),
    # when no column is named in full by the same words
    hits += [h for h in partial if not any(k.start <= h.start and h.end <= k.end for k in hits)]
    hits.sort(key=lambda h: h.start)
    return _without_modifiers(hits, q)


def _head_word(column: str) -> str:
    """The word a column's name is about. English compounds are head-final: the last word of its first
    run of words, before a preposition or a number, leaving out a trailing participle ("range" in
    "Tested range", "charge" in "DC charge 10–80%", "hours" in "Opening hours per week", "patients"
    in "Patients seen")."""
    from chatbot.understanding.nlp import parse

    run = []
    for tok in parse(re.sub(r"\([^)]*\)", " ", column).strip()):
        if tok.pos_ in ("ADP", "NUM", "PUNCT", "SYM", "CCONJ") or not tok.is_alpha:
            break
        run.append(tok)
    while len(run) > 1 and (run[-1].tag_ in ("VBN", "VBD") or _participle(run[-1].lower_)):
        run.pop()
    return run[-1].lower_ if run else ""


def _describing(q: str) -> set[str]:
    """Words the question uses as adjectives or adverbs ("how fast"): they describe, they do not
    name rows ("--fast=1")."""
    from chatbot.understanding.nlp import parse

    return {tok.lower_ for tok in parse(q) if tok.pos_ in ("ADJ", "ADV")}


def _verbs(q: str) -> set[int]:
    """Where the question's verbs start (spaCy tags)."""
    from chatbot.understanding.nlp import parse

    return {tok.idx for tok in parse(q) if tok.pos_ == "VERB"}


def _participle(word: str) -> bool:
    """"observed", not "speed": ends in -ed and is no noun (a title-case header hides the tag)."""
    from chatbot.understanding.wordnet_seek import has_sense

    return word.endswith("ed") and not has_sense(word, "noun") and has_sense(word, "verb")


def _without_modifiers(hits: list[Hit], q: str) -> list[Hit]:
    """Drop a column named only as a modifier of another named column's word: in "compression
    ratio" the question asks for the ratio (the spaCy parse: a compound or adjective on its head)."""
    if len(hits) < 2:
        return hits
    from chatbot.understanding.nlp import parse

    doc = parse(q)
    by_start = {t.idx: t for t in doc}
    out = []
    for h in hits:
        tok = by_start.get(h.start)
        modifies = tok is not None and tok.dep_ in ("compound", "amod", "nmod") and any(
            k is not h and k.start <= tok.head.idx < k.end for k in hits)
        if not modifies:
            out.append(h)
    return out


def _find_word(qwords: list[tuple[int, int, str]], w: str) -> tuple[int, int] | None:
    """Where the question uses the word: itself or its stem first, then a prefix, then a word of the
    same meaning ("the trial average price" names Price at "price", not at an earlier "cost")."""
    sw = stem(w)
    tests = (
        lambda x: x == w or stem(x) == sw,
        lambda x: len(w) >= 3 and len(x) >= 3 and (x.startswith(w) or w.startswith(x)) and x not in STOPWORDS and not _agent_of(x, w),
        lambda x: any(w in g and x in g for g in SAME_MEANING),
        lambda x: _same_root(w, x),  # "compressor" ↔ "Compression"
    )
    for test in tests:
        for a, b, x in qwords:
            if test(x):
                return a, b
    return None


def _agent_of(x: str, w: str) -> bool:
    """``x`` is the person who does ``w`` ("picker" of "pick", "visitor" of "visit"): another thing."""
    return any(x in (w + end, w + w[-1] + end) for end in ("er", "ers", "or", "ors"))


def _same_root(a: str, b: str) -> bool:
    """Two words of one root with different endings: a shared start of six letters or more that is
    three quarters of the shorter word ("compressor" / "compression")."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n >= 6 and n >= 0.75 * min(len(a), len(b))


def _acronym_hit(head: list[str], col: str, qwords: list[tuple[int, int, str]]) -> tuple[int, int] | None:
    raw = col.strip()
    if re.fullmatch(r"[A-Z]{2,5}", raw):  # "SD" ← "standard deviation"
        n = len(raw)
        for k in range(len(qwords) - n + 1):
            if "".join(x[0] for _, _, x in qwords[k : k + n]) == raw.lower():
                return qwords[k][0], qwords[k + n - 1][1]
    if len(head) >= 2:  # "Operating System" ← "OS"
        initials = "".join(w[0] for w in head)
        for a, b, x in qwords:
            if x == initials and len(x) >= 2 and x not in STOPWORDS:  # "no" is not "Nights Observed"
                return a, b
    return None


COUNTERPART = re.compile(r"\b(to|from|with)\s+(?:the\s+)?([A-Z][\w\-]+)")


def other_counterpart(column: str, q: str) -> bool:
    """The column is about one counterpart ("Exports to Norland") and the (lower-case) question asks
    about another after the same preposition ("exports to all countries")."""
    from chatbot.facts.flows import aliases

    m = COUNTERPART.search(column)
    if m is None:
        return False
    asked = re.search(rf"\b{m.group(1)}\s+((?:the\s+)?[a-z][\w\-]*(?:\s+[a-z][\w\-]*)?)", q)
    if asked is None:
        return False
    names = aliases(m.group(2))
    return not any(re.search(rf"\b{re.escape(a)}", asked.group(1)) for a in names)


def matching_cells(t: TableData, q: str, columns: list[int] | None = None) -> list[tuple[int, int, int, int]]:
    """(row, column, start, end) of text cells (not labels) whose text the question names."""
    low = q.lower()
    out = []
    seen: dict[str, tuple[int, int] | None] = {}
    for i, row in enumerate(t.cells):
        for j, cell in enumerate(row):
            if j == 0 or (columns and j not in columns) or not cell.strip() or t.values[i][j] is not None:
                continue
            key = cell.strip().lower()
            if key not in seen:
                m = re.search(rf"(?<![\w\-/]){re.escape(key)}(?![\w\-/])", low)
                seen[key] = m.span() if m else None
            span = seen[key]
            if span:
                out.append((i, j, *span))
    # a longer cell text wins over one inside it ("Big Studio C" over "Studio")
    return [x for x in out if not any(y[2] <= x[2] and x[3] <= y[3] and (y[3] - y[2]) > (x[3] - x[2]) for y in out)]
