"""Operations over amounts, ranks, counts and dates found in sentences: components of a total,
shares between two amounts, years between two dated events.

Every operation is a function of one frozen ``Request`` (``context``); which one answers a question
is decided by ``registry.STEPS``.
"""

from __future__ import annotations

import re

from chatbot.facts.context import Request, coverage, off_topic, scope_title, sentence_around
from chatbot.facts.extract import YEAR
from chatbot.facts.numbers import fmt_money, fmt_number, fmt_scaled, unit_label
from chatbot.facts.question import (
    AMOUNT_INTENT,
    COUNT_INTENT,
    GENERIC,
    OPS,
    PART_WORDS,
    RANK_INTENT,
    WHEN_INTENT,
    Evidence,
    NumericAnswer,
    fact_evidence,
    fold_question,
)
from chatbot.text import content_terms
from chatbot.types import Fact

SHARE = dict(OPS)["share"]
SUM = dict(OPS)["sum"]
COMPARES = (dict(OPS)["ratio"], dict(OPS)["difference"])
TOGETHER = re.compile(r"\badd(?:ed)? up\b|\btogether\b|\bcombined\b|\btotal of\b")
AMOUNT_KINDS = ("part", "mention", "curated")


def _subject_terms(f: Fact) -> set[str]:
    return set(content_terms(fold_question(f.subject))) - GENERIC


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def _low(s: str) -> str:
    return s[0].lower() + s[1:]


# ---- two amounts, two dates ----------------------------------------------------------------------------


def share_of_mentions(r: Request) -> NumericAnswer | None:
    """"What share of the country's total exports went to X?" → the smaller of the two
    best-matching amounts (same unit and period) over the larger, when both are in the text."""
    cands = _amounts_named(r, ("", "count", "rank", "year"), undated=False)
    pair = next(((a, b) for i, (_, a) in enumerate(cands) for _, b in cands[i + 1 :]
                 if a.unit == b.unit and a.period == b.period and a.value != b.value), None)
    if pair is None:
        return None
    part, whole = sorted(pair, key=lambda f: f.value or 0.0)
    pct = (part.value or 0.0) / (whole.value or 1.0) * 100
    s = 1e6 if (part.value or 0) >= 1e5 else 1.0
    arith = [f"{fmt_scaled(part.value or 0, s)} / {fmt_scaled(whole.value or 0, s)} × 100 = {fmt_number(pct, 3 if pct < 1 else 1)}%"]
    text = (f"{_cap(part.quote)} {{0}}; {whole.quote} {{1}}. "
            f"The first is {fmt_number(pct, 3 if pct < 1 else 1)}% of the second.")
    return NumericAnswer(text, [fact_evidence(part), fact_evidence(whole)], arith, operation="share")


def _amounts_named(r: Request, skip_units: tuple[str, ...], undated: bool) -> list[tuple[float, Fact]]:
    """Sentence amounts whose subject and quote the question names (a quarter of its terms or
    more), best first; of the years asked when it asks some (``undated``: a fact with no year too)."""
    q_terms, years = r.ask.key_terms, r.ask.years
    cands = []
    for f in r.view.facts:
        if f.kind not in ("mention", "curated") or f.value is None or f.unit in skip_units:
            continue
        if years and f.period not in years and not (undated and not f.period):
            continue
        cov = coverage(q_terms, f"{f.subject} {f.quote}")
        if cov >= 0.25:
            cands.append((cov, f))
    cands.sort(key=lambda x: -x[0])
    return cands


def years_apart(r: Request) -> NumericAnswer | None:
    """"How many years after the 1990 treaty was the Council set up?" → 1998 − 1990 = 8."""
    q_terms, idf, years = r.ask.key_terms, r.view.idf, r.ask.years
    events = [f for f in r.view.facts if f.kind == "event" and f.period]
    scored = []
    for f in events:
        subj = _subject_terms(f)
        if subj:
            cover = sum(idf.get(x, 1.0) for x in subj & q_terms) / sum(idf.get(x, 1.0) for x in subj)
            scored.append((cover, f))
    # the event the question names (not one it dates by a year it gives), best match first
    named = sorted((x for x in scored if x[0] >= 0.2 and x[1].period not in years), key=lambda x: -x[0])
    if not named:
        return None
    first = named[0][1]
    # a year the question gives must be a date the article has
    other = next((f for y in years for f in events if f.period == y and f is not first), None)
    if other is None and not years and len(named) > 1:
        other = named[1][1]
    if other is None:
        return None
    a, b = sorted((int(first.period), int(other.period)))
    other_name = other.subject if other.subject.lower().startswith(("the ", "since ")) else f"the {other.subject}"
    text = (f"{first.subject} dates from {first.period} {{0}}, and {other_name} from {other.period} {{1}}: "
            f"{b - a} years apart.")
    return NumericAnswer(text, [fact_evidence(first), fact_evidence(other)], [f"{b} − {a} = {b - a} years"], operation="years_apart")


# ---- components of a total ("steel pipes ($12.4 million)") ---------------------------------------------


def _group_for(r: Request) -> tuple[Fact, tuple[Fact, ...]] | None:
    """The total (and its listed components) that the question names best."""
    best: tuple[float, Fact, tuple[Fact, ...]] | None = None
    for parent_id, parts in r.view.part_groups.items():
        parent = r.view.by_id.get(parent_id)
        if parent is None:
            continue
        cov = coverage(r.ask.key_terms, f"{parent.quote} {parent.period}")
        if cov > 0 and (best is None or cov > best[0]):
            best = (cov, parent, parts)
    return (best[1], best[2]) if best else None


def list_parts(r: Request) -> NumericAnswer | None:
    """"Which products dominated …?" → the components listed after a total, when the question
    names that listing (half or more of its words occur there)."""
    q_terms, docs = r.ask.key_terms, r.view.documents
    best: tuple[float, Fact, tuple[Fact, ...]] | None = None
    for parent_id, parts in r.view.part_groups.items():
        parent = r.view.by_id.get(parent_id)
        if parent is None or parent.doc_id not in docs:
            continue
        text = docs[parent.doc_id][parent.start : max(p.end for p in parts)]
        ctx = set(content_terms(fold_question(f"{text} {parent.period}")))
        cov = len(q_terms & ctx) / max(1, len(q_terms))
        if cov >= 0.45 and (best is None or cov > best[0]):
            best = (cov, parent, parts)
    if best is None:
        return None
    _, parent, listed = best
    ordered = sorted(listed, key=lambda f: f.start)
    listing = "; ".join(f"{f.subject} ({f.text_value}) {{{k + 1}}}" for k, f in enumerate(ordered))
    text = f"{_cap(parent.subject)} ({parent.text_value}) {{0}} are led by: {listing}."
    return NumericAnswer(text, [fact_evidence(parent)] + [fact_evidence(f) for f in ordered], operation="list")


def extreme_part(r: Request) -> NumericAnswer | None:
    """The largest / smallest component of a total listed in the text."""
    group = _group_for(r)
    if group is None:
        return None
    op = r.ask.op
    parent, parts = group[0], [f for f in group[1] if f.value is not None]
    pick = (max if op == "max" else min)(parts, key=lambda f: f.value or 0.0)
    listing = ", ".join(f"{f.subject} {f.text_value}" for f in parts)
    text = (f"The {'largest' if op == 'max' else 'smallest'} item listed is {pick.subject} ({pick.text_value}) {{0}}, "
            f"among {listing} in {_low(parent.subject)} ({parent.text_value}) {{1}}.")
    return NumericAnswer(text, [fact_evidence(pick), fact_evidence(parent)], operation=op or "max")


def _named_parts(r: Request) -> list[tuple[float, Fact]]:
    """Components whose name the question mostly gives (idf-weighted), with how much of it."""
    q_terms, idf = r.ask.key_terms, r.view.idf
    found = []
    for f in r.view.facts:
        if f.kind != "part":
            continue
        subj = _subject_terms(f)
        if not subj:
            continue
        cover = sum(idf.get(x, 1.0) for x in subj & q_terms) / sum(idf.get(x, 1.0) for x in subj)
        if cover >= 0.5:
            found.append((cover, f))
    return found


def parts(r: Request) -> NumericAnswer | None:
    """Amounts of named components, one or several: compared, added up, or listed."""
    q = r.ask.q
    if not (AMOUNT_INTENT.search(q) or any(p.search(q) for p in COMPARES) or SHARE.search(q) or re.search(r"\beach\b|\bvalue", q)):
        return None
    found = _named_parts(r)
    wants_sum = bool(SUM.search(q) or TOGETHER.search(q))
    if wants_sum and PART_WORDS.search(q) and len(found) < 2:
        group = _group_for(r)
        if group:
            found = [(1.0, f) for f in group[1]]
    if not found:
        return None
    if r.ask.op in ("growth", "difference", "ratio") and len(found) >= 2:
        return _compare_parts([f for _, f in sorted(found, key=lambda x: -x[0])[:2]], r.ask.op or "")
    if wants_sum and len(found) >= 2:
        return _sum_parts([f for _, f in sorted(found, key=lambda x: x[1].start) if f.value is not None])
    if len(found) == 1 or SHARE.search(q):
        return _one_part(r, found[0][1] if len(found) == 1 else max(found, key=lambda x: x[0])[1])
    facts = [f for _, f in sorted(found, key=lambda x: x[1].start)]
    text = "; ".join(f"{_cap(f.subject)}: {f.text_value} {{{k}}}" for k, f in enumerate(facts)) + "."
    return NumericAnswer(text, [fact_evidence(f) for f in facts], operation="parts")


def _compare_parts(facts: list[Fact], op: str) -> NumericAnswer | None:
    """Two named components: which is larger, by how much and how many times."""
    a, b = sorted(facts, key=lambda f: -(f.value or 0.0))
    if a.value is None or b.value is None or a.unit != b.unit or not b.value:
        return None
    scale = 1e6 if min(a.value, b.value) >= 1e5 else 1.0
    diff, times = a.value - b.value, a.value / b.value
    arith = [f"{fmt_scaled(a.value, scale)} − {fmt_scaled(b.value, scale)} = {fmt_scaled(diff, scale)} ({unit_label(a.unit, scale)})",
             f"{fmt_scaled(a.value, scale)} / {fmt_scaled(b.value, scale)} = {fmt_number(times, 2)}"]
    text = (f"{_cap(a.subject)} ({a.text_value}) {{0}} is larger than {b.subject} ({b.text_value}) {{1}}: "
            f"by {fmt_money(diff, a.unit, scale)}, or {fmt_number(times, 2)} times.")
    return NumericAnswer(text, [fact_evidence(a), fact_evidence(b)], arith, operation="ratio" if op == "ratio" else "difference")


def _sum_parts(facts: list[Fact]) -> NumericAnswer:
    """Named components added up."""
    values = [f.value for f in facts if f.value is not None]  # one per fact, in order
    scale = 1e6 if all(v >= 1e5 for v in values) else 1.0
    total = sum(values)
    unit = facts[0].unit
    arith = [" + ".join(fmt_scaled(v, scale) for v in values) + f" = {fmt_scaled(total, scale)} ({unit_label(unit, scale)})"]
    listing = "; ".join(f"{f.subject} {f.text_value} {{{k}}}" for k, f in enumerate(facts))
    text = f"Together they come to {fmt_money(total, unit, scale)} ({listing})."
    return NumericAnswer(text, [fact_evidence(f) for f in facts], arith, operation="sum")


def _one_part(r: Request, pick: Fact) -> NumericAnswer | None:
    """One component: its amount (or its share of the total); a year it is not given for is refused."""
    years = r.ask.years
    if years and pick.period and pick.period not in years:
        return NumericAnswer(
            f"The article gives {pick.subject} only for {pick.period}: {pick.text_value} {{0}}; nothing for {', '.join(years)}.",
            [fact_evidence(pick)], operation="out_of_range", abstain=True,
        )
    return mentions(r, kinds=("part",), only=pick)


# ---- one fact from a sentence ----------------------------------------------------------------------------


def dated_counted_ranked(r: Request) -> NumericAnswer | None:
    """"When …", "how many …", "what rank …": an event's date, a count or a rank from a sentence."""
    return mentions(r, kinds=("event", "count", "rank"))


def amount(r: Request) -> NumericAnswer | None:
    """An amount (or a date, count or rank) a sentence gives for what the question names."""
    return mentions(r)


def _intents(q: str, share: bool) -> list[str]:
    """The kinds of sentence fact a question asks for."""
    intents = []
    if WHEN_INTENT.search(q):
        intents.append("event")
    if COUNT_INTENT.search(q):
        intents.append("count")
    if RANK_INTENT.search(q):
        intents.append("rank")
    if AMOUNT_INTENT.search(q) or share:
        intents.extend(AMOUNT_KINDS)
    return intents


def _best_mention(r: Request, intents: list[str]) -> Fact | None:
    """The fact of those kinds whose subject the question names best (idf-weighted); amounts need all of it."""
    q_terms, idf, years = r.ask.key_terms, r.view.idf, r.ask.years
    best: tuple[tuple[bool, float], Fact] | None = None
    for f in r.view.facts:
        if f.kind not in intents or (years and f.period and f.period not in years):
            continue
        if years and not f.period and _other_years_only(r, f, years):
            continue  # "4,820 homes … in 2024, up from 2,950 in 2023" is no answer for 2025
        subj = _subject_terms(f)
        if not subj:
            continue
        matched = sum(idf.get(x, 1.0) for x in subj & q_terms)
        cover = matched / sum(idf.get(x, 1.0) for x in subj)
        need = 0.99 if f.kind in AMOUNT_KINDS else 0.6
        key = (bool(years) and f.period in years, matched)  # the year asked for first
        if cover >= need and len(subj & q_terms) >= min(2, len(subj)) and (best is None or key > best[0]):
            best = (key, f)
    return best[1] if best else None


def _other_years_only(r: Request, f: Fact, years: tuple[str, ...]) -> bool:
    """The fact's sentence names years, none of them asked for."""
    found = set(YEAR.findall(_wrapped_sentence(r, f)))
    return bool(found) and not found & set(years)


def _wrapped_sentence(r: Request, f: Fact) -> str:
    """The whole sentence around a fact, across the line breaks of hard-wrapped text."""
    text = r.view.documents.get(f.doc_id, "")
    if not text:
        return f.quote
    start = max(text.rfind(". ", 0, f.start), text.rfind("\n\n", 0, f.start)) + 1
    ends = [i for i in (text.find(". ", f.end), text.find("\n\n", f.end)) if i >= 0]
    return text[start : min(ends) if ends else len(text)]


def mentions(r: Request, kinds: tuple[str, ...] | None = None, only: Fact | None = None) -> NumericAnswer | None:
    """The sentence fact of the kinds asked for (or ``only`` that one) as an answer."""
    q = r.ask.q
    if not r.ask.key_terms:
        return None
    share = bool(SHARE.search(q))
    intents = [k for k in _intents(q, share) if kinds is None or k in kinds]
    if not intents:
        return None
    f = only if only is not None else _best_mention(r, intents)
    if f is None:
        return None
    if only is None and off_topic(r.ask, r.view, f"{f.subject} {sentence_around(r.view, f)} {f.period} {scope_title(r.view, f)}"):
        return None
    if r.ask.op == "sum" and not r.ask.years and len(set(YEAR.findall(_wrapped_sentence(r, f)))) >= 2:
        return None  # a total over several years is not the one figure of one of them
    if share and f.kind == "part" and f.parent_id:
        ans = _share_of_total(r, f)
        if ans is not None:
            return ans
    return _stated(f)


def _share_of_total(r: Request, f: Fact) -> NumericAnswer | None:
    """A component as a percentage of the total it is part of."""
    parent = next((p for p in r.view.facts if p.id == f.parent_id), None)
    if parent is None or not parent.value or f.value is None:
        return None
    pct = f.value / parent.value * 100
    s = 1e6 if parent.value >= 1e6 else 1.0
    arith = [f"{fmt_scaled(f.value, s)} / {fmt_scaled(parent.value, s)} × 100 = {fmt_number(pct, 1)}%"]
    text = (f"{_cap(f.subject)} ({f.text_value}) {{0}} made up {fmt_number(pct, 1)}% of "
            f"{_low(parent.subject)} ({parent.text_value}) {{1}}.")
    return NumericAnswer(text, [fact_evidence(f), fact_evidence(parent)], arith, operation="share")


def _stated(f: Fact) -> NumericAnswer:
    """A fact as the sentence states it, cited."""
    if f.kind == "event":
        text = f"{f.subject}: {f.text_value} {{0}}."
    elif f.kind in ("count", "rank"):
        text = f"\"{f.quote}\" {{0}}."
    else:
        period = f" in {f.period}" if f.period and f.period not in f.quote else ""
        text = f"{_cap(f.subject)}: {f.text_value}{period} {{0}}."
        if f.kind == "part" and f.parent_id:
            text = text[:-1] + f", part of {f.source_note.removeprefix('part of: ')}."
    return NumericAnswer(text, [fact_evidence(f)], operation=f.kind)


# what is left of an amount once part of it is used ("how much of the budget was left?"); general English
REMAINDER = re.compile(r"\b(?:left|left over|leftover|remain(?:ed|s|ing)?|unspent|not spent|unused|to spare)\b")


def remainder_of_mentions(r: Request) -> NumericAnswer | None:
    """"How much of the budget was left?" → the larger of two amounts one sentence gives in the same
    unit ("a budget of €48,000, of which €39,500 was spent") minus the smaller."""
    cands = _amounts_named(r, ("", "count", "rank", "year", "percent"), undated=True)
    pair = next(((a, b) for i, (_, a) in enumerate(cands) for _, b in cands[i + 1 :]
                 if a.unit == b.unit and a.value != b.value and _one_sentence(r, a, b)), None)
    if pair is None:
        return None
    part, whole = sorted(pair, key=lambda f: f.value or 0.0)
    a, b = sorted(pair, key=lambda f: f.start)
    text_of = r.view.documents.get(a.doc_id, "")
    quote = text_of[a.start : max(a.end, b.end)] if text_of else whole.quote
    left = (whole.value or 0.0) - (part.value or 0.0)
    s = 1e6 if (part.value or 0) >= 1e6 else 1.0  # millions when the sentence speaks in millions
    shown = fmt_money(left, whole.unit, s)
    arith = [f"{fmt_scaled(whole.value or 0, s)} − {fmt_scaled(part.value or 0, s)} = {fmt_scaled(left, s)} ({unit_label(whole.unit, s)})"]
    text = f"{_cap(quote)} {{0}}. That leaves {shown}."
    return NumericAnswer(text, [Evidence(a.doc_id, a.start, max(a.end, b.end), quote)], arith, operation="difference")


def _one_sentence(r: Request, a: Fact, b: Fact) -> bool:
    """Two amounts of one sentence of one document."""
    if a.doc_id != b.doc_id:
        return False
    text = r.view.documents.get(a.doc_id, "")
    lo, hi = sorted((a, b), key=lambda f: f.start)
    if hi.start < lo.end:
        return True  # the quotes overlap: one clause holds the other
    return bool(text) and not re.search(r"[.!?]\s", text[lo.start : hi.start])


def change_in_one_sentence(r: Request) -> NumericAnswer | None:
    """"By how much did ticket revenue rise in 2024?" → one sentence gives the amount of the year asked
    and the amount it rose (or fell) from ("€11.8 million in 2024, up from €10.9 million in 2023")."""
    q_terms, years = r.ask.key_terms, r.ask.years
    cands = [(coverage(q_terms, f"{f.subject} {f.quote}"), f) for f in r.view.facts
             if f.kind == "mention" and f.value is not None and f.period and f.unit not in ("", "count", "rank", "year")]
    cands = sorted((c for c in cands if c[0] >= 0.5), key=lambda c: -c[0])
    for _, later in cands:
        if years and later.period not in years:
            continue
        earlier = next((f for _, f in cands if f is not later and f.unit == later.unit and f.period and f.period < later.period
                        and _one_sentence(r, f, later)), None)
        if earlier is None or not earlier.value or later.value is None:
            continue
        d = later.value - earlier.value
        s = 1e6 if min(abs(later.value), abs(earlier.value)) >= 1e6 else 1.0  # millions when the sentence speaks in millions
        pct = d / earlier.value * 100
        a, b = sorted((earlier, later), key=lambda f: f.start)
        text_of = r.view.documents.get(a.doc_id, "")
        quote = text_of[a.start : max(a.end, b.end)] if text_of else later.quote
        word = "up" if d > 0 else "down" if d < 0 else "unchanged"
        text = (f"{_cap(quote)} {{0}}. From {earlier.period} to {later.period}: {word} {fmt_money(abs(d), later.unit, s)} "
                f"({'+' if pct > 0 else '−' if pct < 0 else ''}{fmt_number(abs(pct), 1)}%).")
        arith = [f"{fmt_scaled(later.value, s)} − {fmt_scaled(earlier.value, s)} = {fmt_scaled(d, s)} ({unit_label(later.unit, s)})",
                 f"{fmt_scaled(d, s)} / {fmt_scaled(earlier.value, s)} = {fmt_number(pct, 1)}%"]
        return NumericAnswer(text, [Evidence(a.doc_id, a.start, max(a.end, b.end), quote)], arith, operation="growth")
    return None
