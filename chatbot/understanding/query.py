"""One analysis of a question, made once from a spaCy parse and read by every later step.

    >>> q = analyse("Did Kestavia have a surplus with Norland in 2023?")
    >>> q.answer_type, q.is_yes_no, q.years
    (<AnswerType.YES_NO: 'yes_no'>, True, ('2023',))

What is decided from grammar here (wh-words, auxiliary inversion, coordination, entities) is general
English; nothing in this module knows any document's subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from chatbot.understanding.nlp import DEFAULT_MODEL, parse

WH_TAGS = {"WDT", "WP", "WP$", "WRB"}
# Requests to continue the conversation rather than questions about a new thing (general English).
ELABORATION = re.compile(
    r"^\s*(?:(?:please|ok(?:ay)?|and|so|yes|sure)[\s,]+)*(?:(?:can|could|would) you\s+)?"
    r"(?:tell me (?:a (?:bit|little) )?more|(?:say|explain) more|elaborate|go on|continue|keep going|more details?|"
    r"(?:give me |any )?more (?:info(?:rmation)?|details?|context)|expand(?: on that)?|what else)\b"
    r"(?:\s+(?:about|on)\s+(?:that|this|it))?[\s,]*(?:please)?\s*[?.!]*\s*$",
    re.IGNORECASE,
)
SUMMARY = re.compile(
    r"\bsummar(?:y|ise|ize)\b|\b(?:main|key|central)\s+(?:topic|point|points|idea|ideas|message|argument|takeaways?)\b"
    r"|\bwhat(?:'s| is)\s+(?:the|this)\s+(?:article|document|text|piece|report|story|readme|page)\s+about\b"
    r"|\boverview\b|\bgist\b|\btl;?dr\b",
    re.IGNORECASE,
)


class AnswerType(Enum):
    PERSON = "person"
    ORGANISATION = "organisation"
    PLACE = "place"
    DATE = "date"
    YEAR = "year"
    AMOUNT = "amount"
    VALUE = "value"  # "how much is/was X": a sum, number or share, never a length of time
    COUNT = "count"
    PERCENT = "percent"
    LIST = "list"
    REASON = "reason"
    METHOD = "method"
    YES_NO = "yes_no"
    DEFINITION = "definition"
    SUMMARY = "summary"
    ELABORATION = "elaboration"
    THING = "thing"

    @classmethod
    def from_str(cls, value: str) -> AnswerType:
        try:
            return cls(value.lower())
        except ValueError as exc:
            raise ValueError(f"Unknown answer type {value!r}; choose one of {', '.join(t.value for t in cls)}.") from exc


# "Which country …", "what company …": the kind of thing a general English head noun names.
KIND_OF_NOUN = {
    **dict.fromkeys(("country", "nation", "state", "city", "town", "region", "place", "location", "capital", "port"), AnswerType.PLACE),
    **dict.fromkeys(("company", "firm", "organisation", "organization", "agency", "body", "institution", "corporation",
                     "ministry", "department", "university", "bank"), AnswerType.ORGANISATION),
    **dict.fromkeys(("person", "man", "woman", "official", "minister", "author", "founder", "leader", "chair",
                     "president", "director", "engineer"), AnswerType.PERSON),
}


@dataclass(frozen=True)
class Query:
    text: str
    answer_type: AnswerType
    focus: str = ""  # the lemma of the head noun of what is asked for ("tool" in "what tools do I need")
    focus_text: str = ""  # that noun as the question writes it ("tools")
    entities: tuple[tuple[str, str], ...] = ()  # (text, spaCy label)
    years: tuple[str, ...] = ()
    negated: bool = False
    content_lemmas: tuple[str, ...] = ()
    # words of an adverbial clause ("after the cooperative took over"): when or under what condition,
    # not what is asked about
    circumstance: tuple[str, ...] = ()
    # the things a question offers to choose between ("…, Carl Edman or Fabrizio Polacco?"): the answer is one of them
    choices: tuple[str, ...] = ()
    verb: str = ""  # the main verb as the question writes it ("wrote" in "who wrote this report?")

    @property
    def is_yes_no(self) -> bool:
        return self.answer_type is AnswerType.YES_NO

    @property
    def is_elaboration(self) -> bool:
        return self.answer_type is AnswerType.ELABORATION


MIN_PART_WORDS = 2  # content words each piece of a split question needs to stand on its own
CONTENT_POS = {"NOUN", "PROPN", "VERB", "ADJ", "NUM", "ADV"}
YEAR = re.compile(r"\b(1[5-9]\d{2}|20\d{2})\b")


def analyse(text: str, model: str = DEFAULT_MODEL) -> Query:
    """The ``Query`` of one (standalone) question."""
    return _analysed(text, model)  # one cache entry whether the model is given or defaulted


@lru_cache(maxsize=4096)
def _analysed(text: str, model: str) -> Query:
    if ELABORATION.match(text):
        return Query(text, AnswerType.ELABORATION)
    doc = parse(text, model)
    answer_type, focus = _answer_type(doc, text)
    return Query(
        text=text,
        answer_type=answer_type,
        focus=focus,
        focus_text=next((t.lower_ for t in doc if focus and t.lemma_.lower() == focus), focus),
        entities=tuple((e.text, e.label_) for e in doc.ents),
        years=tuple(YEAR.findall(text)),
        negated=any(t.dep_ == "neg" for t in doc),
        content_lemmas=tuple(
            t.lemma_.lower() for t in doc if t.pos_ in CONTENT_POS and not t.is_stop and t.tag_ not in WH_TAGS
        ),
        circumstance=_circumstance(doc),
        choices=_choices(doc),
        verb=next((t.text for t in doc if t.dep_ == "ROOT" and t.pos_ == "VERB"), ""),
    )


def _choices(doc) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    """The names or nouns an "or" joins ("the Arvo or the Brisa"), each as its named entity when it is in one."""
    out: list[str] = []
    for cc in (t for t in doc if t.dep_ == "cc" and t.lower_ == "or" and t.head.pos_ in ("NOUN", "PROPN")):
        for t in (cc.head, *(c for c in cc.head.children if c.dep_ == "conj")):
            ent = next((e.text for e in doc.ents if e.start <= t.i < e.end), t.text)
            out.append(ent)
    return tuple(dict.fromkeys(out))


def _circumstance(doc) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    """The words of the question's adverbial clauses, unless the main clause uses them too."""
    inside = {t.i for t in doc if t.dep_ == "advcl" for t in t.subtree}
    main = {t.lower_ for t in doc if t.i not in inside}
    return tuple(dict.fromkeys(t.lower_ for t in doc if t.i in inside and t.lower_ not in main and not t.is_punct))


def asks_summary(doc) -> bool:  # type: ignore[no-untyped-def]
    """A verb of summing up, by WordNet's synonyms of "summarize" ("sum up", "recap", "boil down"), or a
    noun asked for that WordNet files under "summary" ("a quick rundown", "an overview")."""
    from chatbot.understanding.wordnet_seek import noun_is_a, same_verb

    for t in doc:
        if t.pos_ == "NOUN" and t.dep_ in ("dobj", "attr", "ROOT", "nsubj") and noun_is_a(t.lemma_.lower(), "summary"):
            return True
        if t.pos_ != "VERB":
            continue
        particle = next((c.lower_ for c in t.children if c.dep_ == "prt"), "")
        if same_verb(f"{t.lemma_.lower()} {particle}".strip(), "summarize"):
            return True
    return False


def _answer_type(doc, text: str) -> tuple[AnswerType, str]:  # type: ignore[no-untyped-def]
    if SUMMARY.search(text) or asks_summary(doc):
        return AnswerType.SUMMARY, ""
    tokens = [t for t in doc if not t.is_punct]
    if not tokens:
        return AnswerType.THING, ""
    first = tokens[0] if tokens[0].lower_ not in ("and", "so", "but", "also", "then", "ok", "okay") or len(tokens) < 2 else tokens[1]
    wh = next((t for t in tokens if t.tag_ in WH_TAGS), None)
    if wh is None or (first.pos_ == "AUX" and wh.i > first.i + 1 and first.dep_ in ("aux", "ROOT", "auxpass")):
        if first.pos_ == "AUX" or (first.tag_ == "MD"):
            return AnswerType.YES_NO, ""
        if first.lemma_.lower() in ("list", "name", "enumerate"):
            return AnswerType.LIST, _head_noun(first)
        return AnswerType.THING, ""
    word = wh.lower_
    nxt = doc[wh.i + 1] if wh.i + 1 < len(doc) else None
    if word in ("who", "whom", "whose"):
        return AnswerType.PERSON, ""
    if word == "when":
        return AnswerType.DATE, ""
    if word == "where":
        return AnswerType.PLACE, ""
    if word == "why":
        return AnswerType.REASON, ""
    if word == "how":
        if nxt is not None and nxt.lower_ == "much" and nxt.dep_ in ("acomp", "attr") and nxt.head.lemma_ == "be":
            return AnswerType.VALUE, ""
        if nxt is not None and nxt.lower_ in ("much", "many"):
            return (AnswerType.COUNT if nxt.lower_ == "many" else AnswerType.AMOUNT), _head_noun(nxt)
        if nxt is not None and nxt.pos_ in ("ADJ", "ADV") and nxt.lower_ not in ("come",):
            return AnswerType.AMOUNT, ""  # "how long", "how old": a measure, not a thing asked about
        return AnswerType.METHOD, ""
    # what / which: the noun it governs says what is asked for
    head = wh.head if wh.dep_ == "det" else None
    noun = head.lemma_.lower() if head is not None and head.pos_ in ("NOUN", "PROPN") else ""
    if noun in ("year",):
        return AnswerType.YEAR, noun
    if noun in ("date", "day", "month"):
        return AnswerType.DATE, noun
    if noun in ("percentage", "percent", "share", "proportion"):
        return AnswerType.PERCENT, noun
    if noun in KIND_OF_NOUN and not (head is not None and head.tag_ in ("NNS", "NNPS")):
        return KIND_OF_NOUN[noun], noun
    if head is not None and head.tag_ in ("NNS", "NNPS"):
        return AnswerType.LIST, noun
    if not noun:
        attr = next((t for t in doc if t.dep_ in ("attr", "nsubj") and t.pos_ == "NOUN" and t.i > wh.i), None)
        if attr is not None and attr.tag_ == "NNS" and wh.dep_ in ("attr", "nsubj"):
            return AnswerType.LIST, attr.lemma_.lower()
        if attr is None:
            return AnswerType.DEFINITION, ""
        # "what is the population of X" asks for the population; "what does the makeup reveal" does not
        # ask for the makeup (the subject of another verb is not the thing asked for)
        asked = attr.dep_ == "attr" or attr.head.lemma_ == "be"
        return AnswerType.THING, attr.lemma_.lower() if asked else ""
    return AnswerType.THING, noun


def _head_noun(tok) -> str:  # type: ignore[no-untyped-def]
    """The noun a quantifier or verb governs ("many rows" → "row")."""
    for t in (tok.head, *tok.children, *tok.head.children):
        if t.pos_ in ("NOUN", "PROPN") and t.i >= tok.i:
            return str(t.lemma_.lower())
    return ""


def split_parts(text: str, model: str = DEFAULT_MODEL) -> list[str]:
    """A question asking two things ("When did X, and what did Y?") as its separate questions.

    Splits at a coordinating "and" (or a "?" ending a sentence) that starts a new wh-clause or an
    inverted yes/no clause; pieces with fewer than two content words stay joined.
    """
    doc = parse(text, model)
    cuts = []
    for t in doc:
        if t.i == 0:
            continue
        prev = doc[t.i - 1]
        starts_clause = t.tag_ in WH_TAGS or (t.pos_ == "AUX" and t.dep_ in ("ROOT", "conj", "aux", "auxpass") and _has_subject_after(t))
        after_join = prev.lower_ == "and" or prev.text == "?" or (prev.text == "," and t.tag_ in WH_TAGS)
        if starts_clause and after_join:
            cut = prev.idx if prev.lower_ == "and" else t.idx
            if prev.lower_ == "and" and t.i >= 2 and doc[t.i - 2].text == ",":
                cut = doc[t.i - 2].idx
            cuts.append((cut, t.idx))
    if not cuts:
        return [text]
    parts, start = [], 0
    for cut, nxt in cuts:
        parts.append(text[start:cut])
        start = nxt
    parts.append(text[start:])
    parts = [p.strip(" ,;") for p in parts]
    if not all(_stands_alone(parse(p, model)) for p in parts):
        return [text]  # "which census is it from? what year": the second piece leans on the first
    return [p if p.endswith("?") else p + "?" for p in parts]


def _stands_alone(doc) -> bool:  # type: ignore[no-untyped-def]
    """A piece of a split question is a question of its own ("According to the piece, what …" is one
    question): it asks (a wh-word, or an auxiliary first), and has a verb or enough content words."""
    words = [t for t in doc if not t.is_punct]
    if not words or not (any(t.tag_ in WH_TAGS for t in words) or words[0].pos_ == "AUX" or words[0].tag_ == "MD"):
        return False
    if any(t.pos_ in ("VERB", "AUX") for t in doc):
        return True
    return sum(1 for t in doc if t.pos_ in CONTENT_POS and not t.is_stop) >= MIN_PART_WORDS


def _has_subject_after(tok) -> bool:  # type: ignore[no-untyped-def]
    """An auxiliary that starts a question: a subject follows it ("are any values missing")."""
    head = tok.head if tok.dep_ != "ROOT" else tok
    return any(c.dep_ in ("nsubj", "nsubjpass", "expl") and c.i > tok.i for c in head.children) or any(
        c.dep_ in ("nsubj", "nsubjpass", "expl", "attr") and c.i > tok.i for c in tok.children
    )
