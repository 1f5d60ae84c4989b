"""Deterministic follow-up rewriting: a follow-up becomes a standalone question using the history.

- ellipsis ("And in 2024?", "What about exports?"): the previous question with its year or
  metric replaced;
- pronouns and references ("What is his title?", "How did that change the next year?"): the
  previous question is carried along as context, relative years are resolved;
- a self-contained question is used as-is.
"""

from __future__ import annotations

import re

from chatbot.facts.qa import METRIC_SYNONYMS, OPS
from chatbot.facts.question import YEAR_RE as YEAR
from chatbot.text import content_terms

INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.?!]{0,40}\b(?:instructions?|rules?|prompts?|article|context|document|above|previous|prior|system|sources?)\b"
    r"|\byou are now\b|\bact as\b|\bsystem prompt\b|\bnew instructions?\b|\bpretend (?:to be|you)\b|\bjailbreak\b"
    r"|\b(?:answer|respond|reply)(?: \w+)? (?:accordingly|as if|regardless)\b|\bfrom now on\b"
    r"|\bnote (?:from|to) the (?:editor|assistant|system|model)\b"
    r"|\b(?:the )?(?:article|document|text|source) (?:has been|was|is now|has now been) (?:corrected|updated|changed|revised)\b"
    r"|\b(?:tell|write|give) me (?:a |an )?(?:joke|poem|story|song)\b|\brespond only with\b|\bsay (?:that|exactly)\b",
    re.IGNORECASE,
)
# A sentence ends at . ? ! followed by a space or the end; "3.4.4", "v2.0" and "BeOpen.com" stay whole.
SENTENCE = re.compile(r"(?:[^.?!]|[.?!](?=\S))+(?:[.?!]+|$)")
LEAD_QUESTION = re.compile(
    r"^\s*(?:and\s+)?(?:when|what|which|who|whom|whose|where|why|how(?:\s+(?:much|many|large|big))?)\b"
    r"(?:\s+(?:was|were|is|are|did|does|do|has|have|had|will|would|can))?\s*",
    re.IGNORECASE,
)
ELLIPSIS_START = re.compile(r"^\s*(?:and|what about|how about|and what about|same for|also|then|or)\b", re.I)
PRONOUN = re.compile(r"\b(he|she|his|her|him|it|its|they|their|them|that|this|those|these|there|the same|such)\b", re.I)
DEMONSTRATIVE = re.compile(
    r"\b(?:that|this|those|these|the same)\s+(?:column|row|figure|figures|number|numbers|value|values|year|period|table|"
    r"one|ones|amount|item|items|agreement|company|companies|product|products|project|projects|sector|body|group|person|man|woman)\b",
    re.I,
)
PERSONAL = re.compile(r"\b(he|she|his|her|him|hers|himself|herself)\b", re.I)
NAME = re.compile(r"\b[A-Z][\w’'\-]*(?:\s+(?:(?:of|on|and|for|the)\s+)*[A-Z][\w’'\-]*)+")
LATER = re.compile(r"\b(?:how many years|how long) (?:later|after|before|earlier|apart|passed)\b|\b(?:after|before) that\b", re.I)
NEXT_YEAR = re.compile(r"\b(?:the )?(?:next|following|subsequent) year\b|\ba year later\b", re.I)
PREV_YEAR = re.compile(r"\b(?:the )?(?:previous|prior|preceding) year\b|\bthe year before\b|\ba year earlier\b", re.I)


def strip_injection(question: str) -> tuple[str, bool]:
    """Drop sentences that give the assistant instructions; the rest is the real question."""
    kept, dropped = [], False
    for m in SENTENCE.finditer(question):
        sentence = m.group(0)
        if INJECTION.search(sentence):
            dropped = True
            # keep a real question that shares the sentence after "and" / a comma
            tail = re.split(r"(?:,|\band\b)\s*(?=(?:what|which|who|when|where|how|why)\b)", sentence, flags=re.I)
            if len(tail) > 1 and not INJECTION.search(tail[-1]):
                kept.append(tail[-1])
            continue
        kept.append(sentence)
    cleaned = re.sub(r"\s+", " ", " ".join(kept)).strip()
    return cleaned, dropped


def context_of(previous: str) -> str:
    """The subject matter of an earlier question, without its question words."""
    core = LEAD_QUESTION.sub("", previous).strip().rstrip("?").strip()
    return core or previous.rstrip("?")


def _metric_groups(text: str) -> set[str]:
    low = text.lower()
    return {k for k, syns in METRIC_SYNONYMS.items() if any(re.search(rf"\b{re.escape(s)}\b", low) for s in syns)} | (
        {"balance"} if re.search(r"\b(deficit|surplus|balance)\b", low) else set()
    )


def is_follow_up(question: str) -> bool:
    terms = content_terms(question)
    years = YEAR.findall(question)
    if ELLIPSIS_START.match(question):
        return True
    if NEXT_YEAR.search(question) or PREV_YEAR.search(question) or LATER.search(question) or DEMONSTRATIVE.search(question):
        return True
    substantive = [t for t in terms if not YEAR.fullmatch(t)]
    if PRONOUN.search(question) and len(substantive) <= 4:
        return True
    return not substantive and bool(years)


def first_name(text: str) -> str:
    """The first multi-word proper name of a text ("Jane Doe"), skipping a sentence-initial article."""
    for m in NAME.finditer(text):
        words = m.group(0).split()
        if words[0] in ("The", "A", "An", "In", "On", "Within", "While", "Since", "According"):
            words = words[1:]
            while words and words[0] in ("of", "on", "and", "for", "the"):
                words = words[1:]
        if len(words) >= 2:
            return " ".join(words)
    return ""


ONE_REFERENCE = re.compile(r"\b(?:that|this|the same) one\b", re.I)
ASKS_WHICH = re.compile(r"^\s*(?:and\s+)?(?:which|who|what)\b", re.I)


def answered_name(previous: str, last_answer: str) -> str:
    """The thing a which/who/what question's answer named: the answer's first proper name that the
    question itself did not name ("Kestrel Volta L2" for "Which model is the fallback?")."""
    if not last_answer or not ASKS_WHICH.match(previous):
        return ""
    low = previous.lower()
    for m in NAME.finditer(last_answer):
        name = first_name(m.group(0))
        if name and name.lower() not in low:
            return name
    return ""


def dangling_follow_up(question: str) -> bool:
    """"And in 2024?" with nothing before it: an ellipsis with no subject of its own."""
    if not ELLIPSIS_START.match(question):
        return False
    core = ELLIPSIS_START.sub("", question)
    return not [t for t in content_terms(core) if not YEAR.fullmatch(t)]


def condense(question: str, previous: list[str], last_answer: str = "") -> str:
    """Standalone form of ``question`` given earlier standalone user questions (oldest first) and
    the last answer (whose first proper name is what "he", "it" or "there" most likely points at)."""
    if not previous or not is_follow_up(question):
        return question
    prev = previous[-1]
    q = question.strip()
    named = answered_name(prev, last_answer)
    if named and ONE_REFERENCE.search(q):
        # "how much does that one cost?" after "which model is the fallback?": the one the answer named
        return ONE_REFERENCE.sub(named, q, count=1)
    prev_years = YEAR.findall(prev)
    if NEXT_YEAR.search(q) or PREV_YEAR.search(q):
        if prev_years:
            base = int(prev_years[-1])
            q = NEXT_YEAR.sub(f"in {base + 1}", q)
            q = PREV_YEAR.sub(f"in {base - 1}", q)
    new_years = YEAR.findall(q)
    has_op = any(pat.search(q.lower()) for _, pat in OPS)
    core = ELLIPSIS_START.sub("", q).strip(" ?,.")
    new_metrics = _metric_groups(core)
    if has_op:
        # "How did that change the next year?" → keep the earlier year, add the new one.
        return f"{q.rstrip('?')} ({context_of(prev)})?"
    rewritten = prev
    if new_years:
        rewritten = YEAR.sub("\x00", rewritten)
        for y in new_years[:1]:
            rewritten = rewritten.replace("\x00", y, 1)
        rewritten = rewritten.replace("\x00", "").replace("  ", " ")
        if "\x00" not in prev and not prev_years:
            rewritten = f"{rewritten.rstrip('?')} in {new_years[0]}?"
    if new_metrics:
        old_metrics = _metric_groups(prev)
        for group in old_metrics - new_metrics:
            for syn in sorted(METRIC_SYNONYMS.get(group, ()), key=len, reverse=True):
                rewritten = re.sub(rf"\b{re.escape(syn)}\b", "\x01", rewritten, flags=re.I)
        if "\x01" in rewritten:
            rewritten = re.sub(r"\x01(\s*\x01)*", _first_metric_word(core), rewritten, count=1).replace("\x01", "")
        else:
            # "And the revenue in 2019?" after "What was the container traffic in 2019?"
            lead = LEAD_QUESTION.match(prev)
            years = "" if new_years or not prev_years else f" in {prev_years[-1]}"
            own = LEAD_QUESTION.match(core)
            if own and own.group(0).strip():
                lead = None  # "how much does it cost?" asks for itself: no "Which" of the earlier question before it
                rewritten = f"{core}{years} ({context_of(prev)})?"
            else:
                rewritten = f"{lead.group(0) if lead and lead.group(0).strip() else 'What was '}{core}{years}?"
    swapped = swap_like(prev, core) if not new_years and not new_metrics and ELLIPSIS_START.match(q) else ""
    if swapped:
        return swapped
    if not new_years and not new_metrics:
        extra = ""
        if PERSONAL.search(q) and last_answer:
            name = first_name(last_answer)
            extra = f"; {name}" if name and name.lower() not in prev.lower() else ""
        rewritten = f"{q.rstrip('?')} ({_without_names(context_of(prev)) if _own_name(q) else context_of(prev)}{extra})?"
    return re.sub(r"\s+", " ", rewritten).strip()


OWN_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][\w’'\-]+")
NAMED = re.compile(r"\b[A-Z][\w\-]*(?:\s+[A-Z][\w\-]*)*(?:'s|’s)?")


def _own_name(question: str) -> bool:
    """Does a follow-up name a party of its own ("and what did the Norland minister say?")?"""
    return bool(OWN_NAME.search(ELLIPSIS_START.sub("", question.strip()).strip()[1:]))


def _without_names(context: str) -> str:
    """An earlier question's subject matter without its names: a follow-up naming another party asks
    the same of that party, not of the earlier one ("Ilse Marenko's reaction to the numbers")."""
    return re.sub(r"\s+", " ", NAMED.sub(" ", context)).strip()


POSSESSIVE_NP = re.compile(r"\b(?:the\s+)?(?:[A-Z][\w\-]*\s+)*[\w\-]+(?:'s|’s|s'|s’)(?=\s)")
CODE_LIKE = re.compile(r"\b(?=[\w.\-]*\d)(?=[\w.\-]*[A-Za-z])[\w.\-]+\b")  # "m68k", "3.4.4", "ARM64"


def swap_like(previous: str, core: str) -> str:
    """"And the board's?" after "What was the union's position?" → "What was the board's position?";
    "what about m88k?" after "who ported it to m68k?" → "who ported it to m88k?"; "what about Norland?"
    after "how much did Kestavia export?" → "how much did Norland export?". The new thing replaces the
    one of the same shape in the earlier question: a possessive, a code, or a proper name. "" if none."""
    words = core.split()
    if not words or len(words) > 4:
        return ""
    if re.search(r"(?:'s|’s|s'|s’)$", core):
        old = POSSESSIVE_NP.search(previous)
        return _replaced(previous, old, core) if old else ""
    if len(words) == 1 and CODE_LIKE.fullmatch(core) and not YEAR.fullmatch(core):
        old = next((m for m in CODE_LIKE.finditer(previous) if not YEAR.fullmatch(m.group(0))), None)
        return _replaced(previous, old, core) if old else ""
    if all(w[:1].isupper() for w in words if w.lower() not in ("of", "the", "and")) and core[:1].isupper():
        names = [m for m in NAME_OR_WORD.finditer(previous) if m.start() > 0]
        return _replaced(previous, names[-1], core) if len(names) == 1 else ""
    return ""


NAME_OR_WORD = re.compile(r"\b[A-Z][\w’'\-]*(?:\s+(?:(?:of|on|and|for|the)\s+)*[A-Z][\w’'\-]*)*")


def _replaced(previous: str, old: re.Match[str], new: str) -> str:
    if old.group(0).lower() == new.lower():
        return ""
    return previous[: old.start()] + new + previous[old.end() :]


def _first_metric_word(text: str) -> str:
    low = text.lower()
    best = None
    for syns in METRIC_SYNONYMS.values():
        for s in syns:
            m = re.search(rf"\b{re.escape(s)}\b", low)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), text[m.start() : m.end()])
    for w in ("deficit", "surplus", "balance"):
        m = re.search(rf"\b{w}\b", low)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), f"trade {w}")
    return best[1] if best else text


def condense_history(
    history_user_turns: list[str], question: str, last_answer: str = ""
) -> tuple[str, list[str]]:
    """Standalone form of every earlier user turn, then of ``question``."""
    standalone: list[str] = []
    for turn in history_user_turns:
        standalone.append(condense(strip_injection(turn)[0] or turn, standalone))
    return condense(question, standalone, last_answer), standalone
