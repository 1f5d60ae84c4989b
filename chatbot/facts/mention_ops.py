"""Answers from amounts, ranks, counts and dates found in sentences: components of a total,
shares between two amounts, years between two dated events.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chatbot.facts.extract import FIELD_NOTE
from chatbot.facts.numbers import fmt_money, fmt_number, fmt_scaled, unit_label
from chatbot.facts.question import (
    AMOUNT_INTENT,
    COUNT_INTENT,
    GENERIC,
    OPS,
    PART_WORDS,
    RANK_INTENT,
    WHEN_INTENT,
    YEAR_RE,
    NumericAnswer,
    fact_evidence,
    fold_question,
)
from chatbot.text import content_terms
from chatbot.types import Fact

if TYPE_CHECKING:
    from chatbot.facts.store import FactsDB


class MentionOps:
    """Answers from amounts, ranks, counts and dates found in sentences: components of a total,"""

    # set by NumericQA, the class that mixes this in
    db: FactsDB
    titles: dict[str, str]
    documents: dict[str, str]
    _idf_cache: dict[str, float] | None

    if TYPE_CHECKING:  # defined by NumericQA

        def _coverage(self, q_terms: set[str], context: str) -> float: ...

        def _off_topic(self, q: str, context: str, rare_only: bool = False) -> bool: ...

    def _share_of_mentions(self, q: str) -> NumericAnswer | None:
        """"What share of the country's total exports went to X?" → the smaller of the two
        best-matching amounts (same unit and period) over the larger, when both are in the text."""
        q_terms = set(content_terms(q)) - GENERIC
        years = YEAR_RE.findall(q)
        cands = []
        for f in self.db.facts:
            if f.kind not in ("mention", "curated") or f.value is None or f.unit in ("", "count", "rank", "year"):
                continue
            if years and f.period not in years:
                continue
            cov = self._coverage(q_terms, f"{f.subject} {f.quote}")
            if cov >= 0.25:
                cands.append((cov, f))
        cands.sort(key=lambda x: -x[0])
        for i, (_, a) in enumerate(cands):
            for _, b in cands[i + 1 :]:
                if a.unit == b.unit and a.period == b.period and a.value != b.value:
                    part, whole = sorted((a, b), key=lambda f: f.value or 0.0)
                    pct = (part.value or 0.0) / (whole.value or 1.0) * 100
                    s = 1e6 if (part.value or 0) >= 1e5 else 1.0
                    arith = [f"{fmt_scaled(part.value or 0, s)} / {fmt_scaled(whole.value or 0, s)} × 100 = {fmt_number(pct, 3 if pct < 1 else 1)}%"]
                    text = (f"{part.quote[0].upper() + part.quote[1:]} {{0}}; {whole.quote} {{1}}. "
                            f"The first is {fmt_number(pct, 3 if pct < 1 else 1)}% of the second.")
                    return NumericAnswer(text, [fact_evidence(part), fact_evidence(whole)], arith, operation="share")
        return None

    def _part_groups(self) -> dict[str, list[Fact]]:
        groups: dict[str, list[Fact]] = {}
        for f in self.db.facts:
            if f.kind == "part" and f.parent_id:
                groups.setdefault(f.parent_id, []).append(f)
        return groups

    def _group_for(self, q: str) -> tuple[Fact, list[Fact]] | None:
        """The total (and its listed components) that the question names best."""
        q_terms = set(content_terms(q)) - GENERIC
        by_id = {f.id: f for f in self.db.facts}
        best: tuple[float, Fact, list[Fact]] | None = None
        for parent_id, parts in self._part_groups().items():
            parent = by_id.get(parent_id)
            if parent is None:
                continue
            cov = self._coverage(q_terms, f"{parent.quote} {parent.period}")
            if cov > 0 and (best is None or cov > best[0]):
                best = (cov, parent, parts)
        return (best[1], best[2]) if best else None

    def _scope_title(self, f: Fact) -> str:
        """A document's field list describes the document itself, so its title is in scope there."""
        return self.titles.get(f.doc_id, "") if f.source_note == FIELD_NOTE else ""

    def _sentence_around(self, f: Fact) -> str:
        text = self.documents.get(f.doc_id, "")
        if not text:
            return f.quote
        start = max(text.rfind(". ", 0, f.start), text.rfind("\n", 0, f.start)) + 1
        ends = [i for i in (text.find(". ", f.end), text.find("\n", f.end)) if i >= 0]
        end = min(ends) if ends else len(text)
        return text[start:end]

    def _years_apart(self, q: str) -> NumericAnswer | None:
        """"How many years after the 1990 treaty was the Council set up?" → 1998 − 1990 = 8."""
        q_terms = set(content_terms(q)) - GENERIC
        events = [f for f in self.db.facts if f.kind == "event" and f.period]
        idf = self._idf()
        scored = []
        for f in events:
            subj = set(content_terms(fold_question(f.subject))) - GENERIC
            if subj:
                cover = sum(idf.get(x, 1.0) for x in subj & q_terms) / sum(idf.get(x, 1.0) for x in subj)
                scored.append((cover, f))
        years = YEAR_RE.findall(q)
        # the event the question names (not one it dates by a year it gives), best match first
        named = sorted((x for x in scored if x[0] >= 0.2 and x[1].period not in years), key=lambda x: -x[0])
        if not named:
            return None
        first = named[0][1]
        other: Fact | None = None
        for y in years:  # a year the question gives must be a date the article has
            other = next((f for f in events if f.period == y and f is not first), None)
            if other is not None:
                break
        if other is None and not years and len(named) > 1:
            other = named[1][1]
        if other is None:
            return None
        other_year = other.period
        a, b = sorted((int(first.period), int(other_year)))
        evidence = [fact_evidence(first), fact_evidence(other)]
        other_name = other.subject if other.subject.lower().startswith(("the ", "since ")) else f"the {other.subject}"
        text = (f"{first.subject} dates from {first.period} {{0}}, and {other_name} from {other_year} {{1}}: "
                f"{b - a} years apart.")
        return NumericAnswer(text, evidence, [f"{b} − {a} = {b - a} years"], operation="years_apart")

    def _list_parts(self, q: str) -> NumericAnswer | None:
        """"Which products dominated …?" → the components listed after a total, when the question
        names that listing (half or more of its words occur there)."""
        q_terms = set(content_terms(q)) - GENERIC
        by_id = {f.id: f for f in self.db.facts}
        best: tuple[float, Fact, list[Fact]] | None = None
        for parent_id, parts in self._part_groups().items():
            parent = by_id.get(parent_id)
            if parent is None or parent.doc_id not in self.documents:
                continue
            text = self.documents[parent.doc_id][parent.start : max(p.end for p in parts)]
            ctx = set(content_terms(fold_question(f"{text} {parent.period}")))
            cov = len(q_terms & ctx) / max(1, len(q_terms))
            if cov >= 0.45 and (best is None or cov > best[0]):
                best = (cov, parent, parts)
        if best is None:
            return None
        _, parent, parts = best
        parts = sorted(parts, key=lambda f: f.start)
        listing = "; ".join(f"{f.subject} ({f.text_value}) {{{k + 1}}}" for k, f in enumerate(parts))
        text = f"{parent.subject[0].upper() + parent.subject[1:]} ({parent.text_value}) {{0}} are led by: {listing}."
        return NumericAnswer(text, [fact_evidence(parent)] + [fact_evidence(f) for f in parts], operation="list")

    def _extreme_part(self, q: str, op: str) -> NumericAnswer | None:
        """The largest / smallest component of a total listed in the text."""
        group = self._group_for(q)
        if group is None:
            return None
        parent, parts = group[0], [f for f in group[1] if f.value is not None]
        pick = (max if op == "max" else min)(parts, key=lambda f: f.value or 0.0)
        listing = ", ".join(f"{f.subject} {f.text_value}" for f in parts)
        text = (f"The {'largest' if op == 'max' else 'smallest'} item listed is {pick.subject} ({pick.text_value}) {{0}}, "
                f"among {listing} in {parent.subject[0].lower() + parent.subject[1:]} ({parent.text_value}) {{1}}.")
        return NumericAnswer(text, [fact_evidence(pick), fact_evidence(parent)], operation=op)

    def _answer_parts(self, q: str) -> NumericAnswer | None:
        """Amounts of named components ("steel pipes ($12.4 million)"), one or several."""
        compares = any(dict(OPS)[k].search(q) for k in ("ratio", "difference"))
        if not (AMOUNT_INTENT.search(q) or compares or dict(OPS)["share"].search(q) or re.search(r"\beach\b|\bvalue", q)):
            return None
        q_terms = set(content_terms(q)) - GENERIC
        idf = self._idf()
        found = []
        for f in self.db.facts:
            if f.kind != "part":
                continue
            subj = set(content_terms(fold_question(f.subject))) - GENERIC
            if not subj:
                continue
            matched = subj & q_terms
            cover = sum(idf.get(x, 1.0) for x in matched) / sum(idf.get(x, 1.0) for x in subj)
            if cover >= 0.5:
                found.append((cover, f))
        wants_sum = bool(dict(OPS)["sum"].search(q) or re.search(r"\badd(?:ed)? up\b|\btogether\b|\bcombined\b|\btotal of\b", q))
        if wants_sum and PART_WORDS.search(q) and len(found) < 2:
            group = self._group_for(q)
            if group:
                found = [(1.0, f) for f in group[1]]
        if not found:
            return None
        op = next((name for name, pat in OPS if pat.search(q)), None)
        if op in ("growth", "difference", "ratio") and len(found) >= 2:
            return _compare_parts([f for _, f in sorted(found, key=lambda x: -x[0])[:2]], op)
        if wants_sum and len(found) >= 2:
            facts = [f for _, f in sorted(found, key=lambda x: x[1].start) if f.value is not None]
            values = [f.value for f in facts if f.value is not None]  # one per fact, in order
            scale = 1e6 if all(v >= 1e5 for v in values) else 1.0
            total = sum(values)
            unit = facts[0].unit
            arith = [" + ".join(fmt_scaled(v, scale) for v in values) + f" = {fmt_scaled(total, scale)} ({unit_label(unit, scale)})"]
            listing = "; ".join(f"{f.subject} {f.text_value} {{{k}}}" for k, f in enumerate(facts))
            text = f"Together they come to {fmt_money(total, unit, scale)} ({listing})."
            return NumericAnswer(text, [fact_evidence(f) for f in facts], arith, operation="sum")
        if len(found) == 1 or dict(OPS)["share"].search(q):
            pick = found[0][1] if len(found) == 1 else max(found, key=lambda x: x[0])[1]
            years = YEAR_RE.findall(q)
            if years and pick.period and pick.period not in years:
                return NumericAnswer(
                    f"The article gives {pick.subject} only for {pick.period}: {pick.text_value} {{0}}; nothing for {', '.join(years)}.",
                    [fact_evidence(pick)], operation="out_of_range", abstain=True,
                )
            return self._answer_mentions(q, kinds=("part",), only=pick)
        facts = [f for _, f in sorted(found, key=lambda x: x[1].start)]
        text = "; ".join(f"{f.subject[0].upper() + f.subject[1:]}: {f.text_value} {{{k}}}" for k, f in enumerate(facts)) + "."
        return NumericAnswer(text, [fact_evidence(f) for f in facts], operation="parts")

    # ---- facts from sentences ------------------------------------------------------------------

    def _idf(self) -> dict[str, float]:
        cache = getattr(self, "_idf_cache", None)
        if cache is None:  # built once from the facts; never per request
            import math

            df: dict[str, int] = {}
            for f in self.db.facts:
                for term in set(content_terms(f.subject)):
                    df[term] = df.get(term, 0) + 1
            n = max(1, len(self.db.facts))
            cache = self._idf_cache = {t: math.log(1 + n / c) for t, c in df.items()}
        return cache

    def _answer_mentions(self, q: str, kinds: tuple[str, ...] | None = None, only: Fact | None = None) -> NumericAnswer | None:
        q_terms = set(content_terms(q)) - GENERIC
        if not q_terms:
            return None
        share = bool(dict(OPS)["share"].search(q))
        intents = []
        if WHEN_INTENT.search(q):
            intents.append("event")
        if COUNT_INTENT.search(q):
            intents.append("count")
        if RANK_INTENT.search(q):
            intents.append("rank")
        if AMOUNT_INTENT.search(q) or share:
            intents.extend(["part", "mention", "curated"])
        if kinds is not None:
            intents = [k for k in intents if k in kinds]
        if not intents:
            return None
        idf = self._idf()
        best: tuple[float, Fact] | None = None
        years = YEAR_RE.findall(q)
        for f in self.db.facts:
            if f.kind not in intents:
                continue
            subj = set(content_terms(fold_question(f.subject))) - GENERIC
            if not subj:
                continue
            if years and f.period and f.period not in years:
                continue
            matched = sum(idf.get(x, 1.0) for x in subj & q_terms)
            cover = matched / sum(idf.get(x, 1.0) for x in subj)
            need = 0.99 if f.kind in ("part", "mention", "curated") else 0.6
            if cover >= need and len(subj & q_terms) >= min(2, len(subj)) and (best is None or matched > best[0]):
                best = (matched, f)
        if only is not None:
            best = (1.0, only)
        if best is None:
            return None
        f = best[1]
        if only is None and self._off_topic(q, f"{f.subject} {self._sentence_around(f)} {f.period} {self._scope_title(f)}"):
            return None
        if share and f.kind == "part" and f.parent_id:
            parent = next((p for p in self.db.facts if p.id == f.parent_id), None)
            if parent and parent.value and f.value is not None:
                pct = f.value / parent.value * 100
                s = 1e6 if parent.value >= 1e6 else 1.0
                arith = [f"{fmt_scaled(f.value, s)} / {fmt_scaled(parent.value, s)} × 100 = {fmt_number(pct, 1)}%"]
                text = (f"{f.subject[0].upper() + f.subject[1:]} ({f.text_value}) {{0}} made up {fmt_number(pct, 1)}% of "
                        f"{parent.subject[0].lower() + parent.subject[1:]} ({parent.text_value}) {{1}}.")
                return NumericAnswer(text, [fact_evidence(f), fact_evidence(parent)], arith, operation="share")
        if f.kind == "event":
            text = f"{f.subject}: {f.text_value} {{0}}."
        elif f.kind in ("count", "rank"):
            text = f"\"{f.quote}\" {{0}}."
        else:
            period = f" in {f.period}" if f.period and f.period not in f.quote else ""
            text = f"{f.subject[0].upper() + f.subject[1:]}: {f.text_value}{period} {{0}}."
            if f.kind == "part" and f.parent_id:
                text = text[:-1] + f", part of {f.source_note.removeprefix('part of: ')}."
        return NumericAnswer(text, [fact_evidence(f)], operation=f.kind)


def _compare_parts(facts: list[Fact], op: str) -> NumericAnswer | None:
    """Two named components: which is larger, by how much and how many times."""
    a, b = sorted(facts, key=lambda f: -(f.value or 0.0))
    if a.value is None or b.value is None or a.unit != b.unit or not b.value:
        return None
    scale = 1e6 if min(a.value, b.value) >= 1e5 else 1.0
    diff, times = a.value - b.value, a.value / b.value
    arith = [f"{fmt_scaled(a.value, scale)} − {fmt_scaled(b.value, scale)} = {fmt_scaled(diff, scale)} ({unit_label(a.unit, scale)})",
             f"{fmt_scaled(a.value, scale)} / {fmt_scaled(b.value, scale)} = {fmt_number(times, 2)}"]
    text = (f"{a.subject[0].upper() + a.subject[1:]} ({a.text_value}) {{0}} is larger than {b.subject} ({b.text_value}) {{1}}: "
            f"by {fmt_money(diff, a.unit, scale)}, or {fmt_number(times, 2)} times.")
    return NumericAnswer(text, [fact_evidence(a), fact_evidence(b)], arith, operation="ratio" if op == "ratio" else "difference")
