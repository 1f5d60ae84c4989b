"""The offline answerer (default, no generative model): facts-table answers for numeric
questions, otherwise the best evidence sentences, quoted, with [n] citations."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace

from chatbot.answering.evidence import EvidenceScorer, ScoredSentence, matches
from chatbot.facts.qa import NumericAnswer
from chatbot.text import content_terms
from chatbot.types import Passage, Span
from chatbot.understanding import AnswerType, Query, analyse
from chatbot.understanding.entities import SentenceEntities
from chatbot.understanding.kinds import kind_held, noun_kind
from chatbot.understanding.wordnet_seek import is_english_word, verbs_related

LIST_INTENT = re.compile(
    r"^\s*(?:which|what)\s+(?:\w+\s+){0,2}(?:are|were|companies|sectors|products|areas|agreements|countries|firms|goods|items|projects|corporations)\b"
    r"|\blist\b|\bname (?:the|all|some)\b"
    r"|\bwhich\b.*\b(?:companies|sectors|products|areas|agreements|items|goods|firms|projects)\b",
    re.I,
)
LEAD_ADVERBIAL = re.compile(
    r"^(?:However|Notably|Moreover|Furthermore|Historically|Additionally|In addition|In conclusion|Over time|Meanwhile|Indeed|Also)"
    r",\s+"
)
YEAR = re.compile(r"\b(1[89]\d{2}|20\d{2})\b")
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
WANTS_YEAR = re.compile(r"\b(?:what|which|in what|in which) year\b", re.I)
WANTS_DATE = re.compile(r"^\s*(?:and\s+)?when\b|\b(?:what|which|exact) (?:date|day)\b|\bsince when\b|\bon what date\b", re.I)
WANTS_NUMBER = re.compile(
    r"\bhow (?:much|many)\b|\bwhat (?:percentage|percent|share|number|amount|value)\b"
    r"|\b(?:cost|costs|price|priced|tariffs?|duty|duties|salary|budget|revenues?|valued)\b",
    re.I,
)
NOT_FOCUS = {"is", "was", "are", "were", "did", "does", "do", "has", "have", "had", "the", "a", "an", "will", "would",
             "can", "could", "should", "of", "in", "on", "about", "to", "for", "its", "his", "her", "their", "it", "this", "that"}


NAME_OR_CODE = re.compile(
    r"(?<![.?!]\s)(?<!^)\b(?:[A-Z][\w’'\-]+(?:\s+[A-Z][\w’'\-]+)*|(?=[\w.\-]*\d)[a-z][\w.\-]*[a-z0-9])\b"
)
CAPITALISED = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][\w’'\-]+(?:\s+[A-Z][\w’'\-]+)*")


# A name the document uses in few passages (at most this many, or this share of them) is what the
# question is about: the evidence must name it. Names used throughout (the parties of a trade report)
# are context, not the topic.
RARE_NAME_PASSAGES = 3
RARE_NAME_SHARE = 0.05
RARE_NAME_CANDIDATES = 8  # how far down the ranked sentences a sentence naming it is looked for


LOWER_WORD = re.compile(r"(?<![\w.\-])[a-z][a-z0-9_]*(?![\w\-])")


def rare_names(question: str, scorer: EvidenceScorer) -> list[str]:
    """Proper names and codes in the question ("LoongArch64", "Moxie"), and words that are no English
    word ("gdbm", "nroff"), that the document uses, but rarely."""
    out = []
    q = question.strip()
    limit = max(RARE_NAME_PASSAGES, RARE_NAME_SHARE * len(scorer.index.passages))

    def rare(text: str) -> bool:
        terms = content_terms(text)
        return bool(terms) and all(t in scorer.df for t in terms) and min(scorer.df[t] for t in terms) <= limit

    for m in NAME_OR_CODE.finditer(q):
        if rare(m.group(0)):
            out.append(m.group(0))
    for m in LOWER_WORD.finditer(q):
        word = m.group(0)
        if word not in out and not any(word in n for n in out) and rare(word) and not is_english_word(word):
            out.append(word)
    return out


def _names_in(text: str, names: list[str]) -> bool:
    """Does the text name one of them? (A follow-up carries earlier names along as context.)"""
    have = set(content_terms(text))
    return any(set(content_terms(n)) <= have for n in names)


def unknown_names(question: str, scorer: EvidenceScorer) -> list[str]:
    """Proper names in the question (not its first word) that the document never uses."""
    out = []
    q = question.strip()
    for m in CAPITALISED.finditer(q):
        name = m.group(0)
        if q[m.end() : m.end() + 2] == " (":
            continue  # an acronym the normaliser spelled out: "AI (artificial intelligence)"
        if all(not scorer.knows(w) for w in name.split()) and name.lower() not in NOT_FOCUS:
            out.append(name)
    return out


WANTS_PERSON = re.compile(r"^\s*(?:and\s+)?who\b(?!se)(?!\s+(?:is|was|are|were)\s+(?-i:[A-Z]))", re.I)  # not "Who is <Name>?"
SUMMARY = re.compile(
    r"\bsummar(?:y|ise|ize)\b|\b(?:main|key|central)\s+(?:topic|point|points|idea|ideas|message|argument|takeaways?)\b"
    r"|\bwhat(?:'s| is)\s+(?:the|this)\s+(?:article|document|text|piece)\s+about\b|\boverview\b|\bgist\b|\btl;?dr\b",
    re.I,
)


MIN_PROSE_WORDS = 6  # shorter "sentences" are headings, labels, datelines or markup, not a summary


def _is_prose(text: str) -> bool:
    """A sentence of running text: enough words, mostly letters (not ``.. _label:`` or ``*Feature — …*``)."""
    words = re.findall(r"[A-Za-z][a-z’'\-]+", text)
    letters = sum(ch.isalpha() for ch in text)
    return len(words) >= MIN_PROSE_WORDS and letters >= 0.6 * len(text.replace(" ", "")) and text.rstrip()[-1:] in ".!?\"'”"


SECTION_CANDIDATES = 1  # the section's opening prose sentence stands for it (its topic sentence)
EARLY = 2.0  # weight of a section's place (1 / its position) beside its centrality; on the dev suite 0.5 and 2.0 gain one summary, 1.0 also loses one
NOTE_LINE = re.compile(r"^\s*(?:\\?[*†‡§¹²³⁴⁵⁶⁷⁸⁹]|\[\w{1,3}\])")  # a footnote under a table


def summarize(passages: list[Passage], max_sentences: int = 5) -> Draft:
    """An extractive overview: the document's opening sentence, then, from the sections whose best
    sentence is most central to the document (its words the ones the document uses most, Luhn's
    measure), that sentence; quoted in document order."""
    sections: dict[tuple[str, str], list[Span]] = {}
    order: list[tuple[str, str]] = []
    tf: Counter[str] = Counter()
    for p in passages:
        if p.kind != "text" or not p.sentences:
            continue
        key = (p.doc_id, p.section)
        if key not in sections:
            sections[key] = []
            order.append(key)
        for sp in p.sentences:
            if _is_prose(sp.text) and not NOTE_LINE.match(sp.text):
                tf.update(content_terms(sp.text))
                if len(sections[key]) < SECTION_CANDIDATES:
                    sections[key].append(trim(sp))

    def central(sp: Span) -> float:
        terms = content_terms(sp.text)
        return sum(math.log1p(tf[t]) for t in terms) / (len(terms) + 4) if terms else 0.0

    picked: list[tuple[tuple[str, str], Span]] = []
    firsts = [(k, sections[k][0]) for k in order if sections[k]]
    if firsts:
        picked.append(firsts[0])  # the opening sentence says what the document is
        best = [(k, max(sections[k], key=central)) for k in order if sections[k] and k != firsts[0][0]]
        # earlier sections weigh more: a report puts what matters first ("The year in brief")
        best.sort(key=lambda ks: central(ks[1]) + EARLY / (1 + order.index(ks[0])), reverse=True)
        picked += best[: max_sentences - 1]
    picked.sort(key=lambda ks: (order.index(ks[0]), ks[1].start))
    spans = [(k[0], sp.start, sp.end, sp.text) for k, sp in picked]
    text = "In short, the article says: " + " ".join(f"{sp[3]} {{{i}}}" for i, sp in enumerate(spans))
    return Draft(text, spans, route="summary", support=1.0)


HAS_DATE = re.compile(
    rf"\b(?:1[89]\d{{2}}|20\d{{2}})\b|\b(?:{MONTHS})\b|\b(?:last|next|this|previous) (?:month|year|week)\b"
    r"|\b(?:end|beginning|start) of\b",
    re.I,
)
NAME = re.compile(r"\b[A-Z][a-z’'\-]+(?:\s+(?:[A-Z]\.\s*)*[A-Z][a-z’'\-]+)+")  # "Graeme W. Wilford" too


MARKUP_LINE = re.compile(r"^\s*\.\.\s")  # a reStructuredText directive or comment (".. dropdown:: References")
WHY = re.compile(r"^\s*(?:and\s+)?why\b|\bhow come\b|\bwhat explains\b|\bfor what reason\b|\bwhy\b", re.I)


def _with_following(passage: Passage, span: Span, n: int, max_chars: int = 700) -> Span:
    """The span extended over up to ``n`` following sentences of its passage (a why-answer's reasons)."""
    sentences = list(passage.sentences)
    idx = next((k for k, s in enumerate(sentences) if s.start <= span.start < s.end), None)
    if idx is None:
        return span
    end = span.end
    for s in sentences[idx + 1 : idx + 1 + n]:
        if s.end - span.start > max_chars:
            break
        end = s.end
    text = passage.text[span.start - passage.start : end - passage.start]
    return Span(text, span.start, end)


def answer_type_ok(question: str, text: str, choices: tuple[str, ...] = ()) -> tuple[bool, str]:
    """Does the evidence hold the kind of thing asked for (a year, a date, a number, a name)? A name
    the question offers as a choice ("…, Carl Edman or Fabrizio Polacco?") answers it."""
    if WANTS_YEAR.search(question):
        return bool(YEAR.search(text)), "a year"
    if WANTS_DATE.search(question):
        return bool(HAS_DATE.search(text)), "a date"
    if WANTS_NUMBER.search(question):
        return bool(re.search(r"(?<![\w\-])\d[\d,.]*(?![\w\-])", YEAR.sub(" ", text))), "a figure"
    if WANTS_PERSON.search(question):
        q = question.lower()
        names = [n for n in NAME.findall(text) if not re.fullmatch(rf"(?:{MONTHS})", n.split()[0])]
        offered = any(c.lower() in text.lower() for c in choices)
        return offered or any(not all(w.lower() in q for w in n.split()) for n in names), "a name"
    return True, ""


@dataclass
class Draft:
    """An answer before citation numbering: text with {i} placeholders for ``spans[i]``."""

    text: str
    spans: list[tuple[str, int, int, str]]  # (doc_id, start, end, quote)
    abstained: bool = False
    route: str = "text"
    notes: list[str] = field(default_factory=list)
    support: float = 0.0
    arithmetic: list[str] = field(default_factory=list)
    confidence: float | None = None  # calibrated probability that a text answer is right
    features: dict[str, float] = field(default_factory=dict)  # what the probability was computed from


def from_numeric(ans: NumericAnswer) -> Draft:
    text = ans.text
    if ans.arithmetic:
        text += "\n\nCalculation" + ("s" if len(ans.arithmetic) > 1 else "") + ":\n" + "\n".join(f"- {a}" for a in ans.arithmetic)
    return Draft(
        text=text,
        spans=[(e.doc_id, e.start, e.end, e.quote) for e in ans.evidence],
        abstained=ans.abstain,
        route="facts",
        notes=list(ans.notes),
        support=1.0,
        arithmetic=list(ans.arithmetic),
    )


NOT_IN_ARTICLE = "The article does not contain the answer to this question."
MAX_SECTIONS_LISTED = 12  # an abstention names what the corpus covers, not every section of a big one


def abstain(
    scorer: EvidenceScorer, uncovered: list[str], passages: list[Passage], reason: str = "", lead: str = NOT_IN_ARTICLE
) -> Draft:
    sections = scorer.sections
    shown = sections[:MAX_SECTIONS_LISTED]
    more = f"; and {len(sections) - len(shown)} more sections" if len(sections) > len(shown) else ""
    text = lead
    if reason:
        text += f" {reason}"
    text += " It covers: " + "; ".join(shown) + more + "."
    return Draft(text, [], abstained=True, notes=[f"not covered: {', '.join(uncovered)}"] if uncovered else [])


def trim(span: Span) -> Span:
    m = LEAD_ADVERBIAL.match(span.text)
    if not m:
        return span
    text = span.text[m.end() :]
    if not text[:1].isupper():
        return span
    return Span(text, span.start + m.end(), span.end)


ASKED_MAX_CHARS = 40


def asked_about(names: list[str], limit: int = ASKED_MAX_CHARS) -> str:
    """The user's own words, quoted and shortened: never asserted in the bot's voice."""
    return " or ".join(f"“{n if len(n) <= limit else n[: limit - 1] + '…'}”" for n in names)


@dataclass(frozen=True)
class Proposal:
    """The best answer the evidence offers, whether or not it should be given.

    ``answer`` is None only when there is no evidence at all. ``gated`` is the abstention the rule
    checks would give (its message names why), or None when they pass. ``features`` feed the
    calibrated answerability score (``answering/answerability.py``), which makes the decision.
    """

    answer: Draft | None
    gated: Draft | None
    features: dict[str, float]


def _kind_in_evidence(noun: str, about: tuple[str, ...], chosen: list[ScoredSentence], entities: SentenceEntities | None) -> bool:
    """A noun naming a kind of thing ("people", "years", "companies") that the evidence holds things of
    (persons, years, organisations), though the document never uses the noun itself."""
    kind = noun_kind(noun)
    if kind is None:
        return False
    found = entities.of([(c.passage.doc_id, c.span.start, c.span.text) for c in chosen]) if entities is not None else [()] * len(chosen)
    return any(kind_held(kind, ents, c.span.text, about) for ents, c in zip(found, chosen, strict=True))


AGENT = re.compile(r"\b([A-Za-z]+)\W{0,4}\s*by\b")  # "written by", "**Prepared by:**"


def _agent_sentence(query: Query, scorer: EvidenceScorer, scored: list[ScoredSentence]) -> tuple[ScoredSentence, str] | None:
    """For "who <verb> …?" whose verb the document never uses: a close candidate naming an agent
    with a verb WordNet relates to it ("Prepared by: …" for "who wrote …"), and that verb."""
    if query.answer_type is not AnswerType.PERSON or not query.verb or scorer.knows(query.verb):
        return None
    for c in scored[:RARE_NAME_CANDIDATES]:
        for m in AGENT.finditer(c.span.text):
            if verbs_related(query.verb.lower(), m.group(1).lower()):
                return c, m.group(1)
    return None


def _about(query: Query) -> tuple[str, ...]:
    """The question's own words besides the noun asked for and its wh-word."""
    return tuple(w for w in query.content_lemmas if w != query.focus)


def answer_from_text(
    question: str,
    scorer: EvidenceScorer,
    scored: list[ScoredSentence],
    passages: list[Passage],
    min_support: float,
    dense_paraphrase: float = 0.55,
    wants_figure: bool = False,
    entities: SentenceEntities | None = None,
    own: str = "",
    earlier: str = "",
) -> Proposal:
    """The best text answer to ``question`` (standalone); ``own`` is the user's own words for it and
    ``earlier`` their earlier questions, whose names a follow-up carries along."""
    keys = scorer.key_terms(question)
    if not scored:
        return Proposal(None, abstain(scorer, keys, passages), {"no_evidence": 1.0})
    gated: Draft | None = None
    scored = [c for c in scored if not MARKUP_LINE.match(c.span.text)] or scored
    best = scored[0]
    if LIST_INTENT.search(question):
        # Prefer a sentence that enumerates (commas) among the close candidates.
        close = [s for s in scored[:4] if s.score >= best.score - 0.12]
        best = max(close, key=lambda s: (s.span.text.count(",") >= 3, s.score))
    chosen = [best]
    if best.span.text.rstrip().endswith(":"):
        # "Original Owners:" introduces what follows (perhaps under a heading of its own); alone it answers nothing
        chosen += [replace(best, passage=p, span=sp) for p, sp in scorer.following(best.passage, best.span, 2)]
    intro = scorer.introduction(best.passage, best.span)
    if intro is not None:  # a block read with the line that introduces it ("… are defined in `config.h`:")
        chosen.insert(0, replace(best, passage=intro[0], span=intro[1]))
    support, uncovered = scorer.support(question, [c.span for c in chosen])  # with what a line ending in ":" introduces
    if support < 0.999:
        for cand in scored[1:6]:
            if cand.span == best.span:
                continue
            s2, unc2 = scorer.support(question, [best.span, cand.span])
            if s2 > support + 0.1 and cand.score >= best.score * 0.6:
                chosen.append(cand)
                if cand.span.text.rstrip().endswith(":"):  # with what it introduces, as the best sentence is
                    chosen += [replace(cand, passage=p, span=sp) for p, sp in scorer.following(cand.passage, cand.span, 1)]
                support, uncovered = s2, unc2
                break
    # a name only the earlier turns carried along ("… (on Harwick's order)") is context, not what is asked
    agent = _agent_sentence(analyse(question), scorer, scored) if support < min_support else None
    if agent is not None:
        # "who wrote this report?" and "**Prepared by:** Ingrid Posthuma": a related verb names the same relation
        c, participle = agent
        question = question.replace(analyse(question).verb, participle)
        support, uncovered = scorer.support(question, [c.span])
        best = replace(c, lexical=support)
        chosen = [best]
    rare = [n for n in rare_names(question, scorer) if n in own or n not in earlier]
    name_missing = bool(rare) and not _names_in(" ".join(c.span.text for c in chosen), rare)
    if name_missing:
        # "Who worked on the LoongArch64 port?": evidence that never names it is about something else
        alt = next((c for c in scored[:RARE_NAME_CANDIDATES] if _names_in(c.span.text, rare)), None)
        if alt is not None:
            best, chosen, name_missing = alt, [alt], False
            support, uncovered = scorer.support(question, [alt.span])
    max_dense = max(c.dense for c in scored)
    unknown = unknown_names(question, scorer)
    if unknown:
        # "What part did Acme Corp play in building the satellites?": the article never
        # names them; say so, and show what it does say on the rest of the question when it says something.
        rest = question
        for name in unknown:
            rest = rest.replace(name, " ")
        rest_support, rest_missing = scorer.support(rest, [best.span])
        covered = [t for t in scorer.key_terms(rest) if t not in rest_missing]
        if best.lexical > 0 and rest_support >= min_support and len(covered) >= 2 and best.dense >= 0.45:
            span = trim(best.span)
            gated = Draft(
                f"You asked about {asked_about(unknown)}; the article does not mention that. What it says on the rest "
                f"of the question: {span.text} {{0}}",
                [(best.passage.doc_id, span.start, span.end, span.text)],
                abstained=True,
                notes=[f"not in the article: {', '.join(unknown)}"],
                support=rest_support,
            )
        else:
            gated = abstain(scorer, uncovered, passages, f"You asked about {asked_about(unknown)}; the article never mentions that.")
    low_support = best.lexical == 0 or (support < min_support and not (max_dense >= dense_paraphrase and support >= 0.15))
    if gated is None and low_support:
        gated = abstain(scorer, uncovered, passages)
    query = analyse(question)
    # the noun the question asks about; "what year", "what share" name the kind of answer, not a topic
    focus = query.focus_text if query.answer_type not in (AnswerType.YEAR, AnswerType.DATE, AnswerType.PERCENT) else ""
    focus_unknown = bool(focus) and not scorer.knows(focus) and not _kind_in_evidence(focus, _about(query), chosen, entities)
    if gated is None and name_missing:
        gated = abstain(scorer, uncovered, passages, f"The passages found do not say this of {asked_about(rare)}.")
    if gated is None and focus_unknown:
        gated = abstain(scorer, uncovered, passages, f"You asked about {asked_about([focus])}; the article never mentions that.")
    ok, wanted = answer_type_ok(question, " ".join(c.span.text for c in chosen), query.choices)
    if wants_figure and not wanted:  # "What were imports in the first half of 2024?"
        ok, wanted = answer_type_ok("how much " + question, " ".join(c.span.text for c in chosen), query.choices)
        question_for_type = "how much " + question
    else:
        question_for_type = question

    def holds_answer(c: ScoredSentence) -> bool:
        """The asked-for value stands in a sentence that is itself about the question — and, for a
        figure, one that leaves out nothing the document speaks of elsewhere ("how many … in oil")."""
        if not answer_type_ok(question_for_type, c.span.text, query.choices)[0]:
            return False
        sup, missing = scorer.support(question, [c.span])
        if sup < min_support * 0.75:
            return False
        if wanted == "a figure":
            return len([t for t in missing if t in scorer.corpus_terms]) <= (1 if len(keys) >= 5 else 0)
        return True

    if wanted:
        ok = any(holds_answer(c) for c in chosen)
    type_fit = 1.0 if ok else 0.0
    if not ok:
        alt = next((c for c in scored[:8] if holds_answer(c) and scorer.support(question, [c.span])[0] >= min_support), None)
        if alt is None:
            if gated is None:
                gated = abstain(scorer, uncovered, passages, f"The closest passages do not give {wanted} for this.")
        else:
            chosen = [alt]
            support, uncovered = scorer.support(question, [alt.span])
            type_fit = 1.0
    notes = []
    prefix = ""
    q_years = set(YEAR.findall(question))
    ev_years = {y for c in chosen for y in YEAR.findall(c.span.text)}
    # a sentence's year may stand in its paragraph or heading ("Why the gap blew out in 2022 / … the
    # deficit more than doubled"): the premise is corrected only when none of them names the year asked
    context_years = {y for c in chosen for y in YEAR.findall(c.passage.text + " " + c.passage.section)}
    if q_years and ev_years and not (q_years & ev_years) and not (q_years & context_years):
        prefix = f"The article does not tie this to {', '.join(sorted(q_years))}; it says {', '.join(sorted(ev_years))}: "
        notes.append("premise corrected")
    chosen.sort(key=lambda c: (c.passage.doc_id, c.span.start))
    spans = []
    parts = []
    # a why-answer gives the reasons that follow; a how-to answer the steps, and what a line ending in
    # ":" introduces ("… use the wrapper script like so:" and the command after it)
    explain = bool(WHY.search(question)) or query.answer_type is AnswerType.METHOD
    extra: list[tuple[Passage, Span]] = []
    for i, c in enumerate(chosen):
        if c.passage.kind == "table":  # a table is cited whole
            span = Span(c.passage.text, c.passage.start, c.passage.end)
        elif explain and i == len(chosen) - 1:
            span = _with_following(c.passage, trim(c.span), 2)
            ends_passage = span.end >= c.passage.sentences[-1].end
            if query.answer_type is AnswerType.METHOD and (span.text.rstrip().endswith(":") or ends_passage):
                # the steps a line introduces, or that the next paragraph of the section gives ("It is possible
                # to build it elsewhere. …" / "To enable this, run configure from there.")
                extra = [(p, sp) for p, sp in scorer.following(c.passage, span, 1) if p.id != c.passage.id and p.section == c.passage.section]
        else:
            span = trim(c.span)
        for passage, sp in [(c.passage, span), *extra]:
            key = (passage.doc_id, sp.start, sp.end, sp.text)
            if key in spans:  # two rows of one table are one citation
                continue
            spans.append(key)
            parts.append(f"{sp.text} {{{len(spans) - 1}}}")
        extra = []
    answer = Draft(prefix + " ".join(parts), spans, route="text", notes=notes, support=support)
    top = chosen[0]
    unknown_keys = [t for t in uncovered if t not in scorer.corpus_terms and not matches(t, scorer.corpus_terms)]
    features = {
        "support": support,
        "lexical": best.lexical,
        "dense": max(c.dense for c in chosen),
        "max_dense": max_dense,
        "type_fit": type_fit,
        "wants_type": 1.0 if wanted else 0.0,
        "focus_unknown": 1.0 if focus_unknown else 0.0,
        "unknown_names": float(len(unknown)),
        "name_missing": 1.0 if name_missing and gated is not None else 0.0,
        "unknown_terms": float(len(unknown_keys)),
        "uncovered_known": float(len(uncovered) - len(unknown_keys)),
        "key_terms": float(len(keys)),
        "rank": float(top.rank),
        "rules_pass": 0.0 if gated is not None else 1.0,
    }
    return Proposal(answer, gated, features)
