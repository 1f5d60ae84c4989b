"""Answers from parsed tables: values, differences, growth, ratios, shares, sums, averages,
highest/lowest and trends, each with its arithmetic and the rows it used.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import TYPE_CHECKING

from chatbot.facts.extract import TableData
from chatbot.facts.flows import FlowTable, ask_flows
from chatbot.facts.numbers import fmt_money, fmt_number, fmt_scaled, unit_label
from chatbot.facts.question import (
    BALANCE_WORDS,
    DOWN_WORDS,
    FIRST_WORDS,
    GENERIC,
    LAST_WORDS,
    METRIC_SYNONYMS,
    OPS,
    QUALIFIERS,
    UP_WORDS,
    YEAR_RE,
    Metric,
    NumericAnswer,
    fact_evidence,
    row_evidence,
)
from chatbot.text import content_terms, stem, words
from chatbot.types import Fact

if TYPE_CHECKING:
    from chatbot.facts.store import FactsDB

TWO_WAY = re.compile(r"\b(?:two-way|turnover|bilateral|combined|overall|total)\b")


class TableOps:
    """Answers from parsed tables: values, differences, growth, ratios, shares, sums, averages,"""

    # set by NumericQA, the class that mixes this in
    db: FactsDB
    titles: dict[str, str]
    flow_tables: dict[str, FlowTable]

    if TYPE_CHECKING:  # defined by NumericQA and MentionOps

        def _coverage(self, q_terms: set[str], context: str) -> float: ...

        def _off_topic(self, q: str, context: str, rare_only: bool = False) -> bool: ...

        def _sentence_around(self, f: Fact) -> str: ...

    def metrics(self, t: TableData, q: str) -> list[Metric]:
        flow = self.flow_metrics(t, q)
        if flow:
            return flow
        return self.named_metrics(t, q)

    def flow_metrics(self, t: TableData, q: str) -> list[Metric]:
        """Columns of a flow table resolved from the asker's side ("what did B sell to A")."""
        ft = self.flow_tables.get(t.id)
        if ft is None:
            return []
        asks = ask_flows(ft, q)
        if not asks and ft.total is None and TWO_WAY.search(q) and re.search(r"\btrade\b|\bturnover\b", q):
            # "total two-way trade" where the table has no total column: exports + imports
            return [Metric(f"Total trade between {ft.reporter.name} and {ft.partner.name}", (ft.exports, ft.imports), "total")]
        if not asks:
            return []
        if asks[0].column is None:
            a = asks[0]
            return [Metric(a.name[0].upper() + a.name[1:], (ft.exports, ft.imports), a.kind, a.holder is ft.partner)]
        out = [Metric(a.name[0].upper() + a.name[1:], (a.column,)) for a in asks if a.column is not None]
        flow_cols = {ft.imports, ft.exports, ft.balance}
        out += [m for m in self.named_metrics(t, q) if m.kind == "column" and m.cols[0] not in flow_cols]
        return out

    def named_metrics(self, t: TableData, q: str) -> list[Metric]:
        found: list[Metric] = []
        low_cols = [c.lower() for c in t.columns]

        def col_for(key: str) -> int | None:
            for j, c in enumerate(low_cols[1:], start=1):
                if key in c or stem(key) in {stem(w) for w in re.findall(r"[a-z]+", c)}:
                    return j
            return None

        if any(w in q for w in BALANCE_WORDS):
            e, i = col_for("export"), col_for("import")
            if e is not None and i is not None:
                kind = "deficit" if "deficit" in q else "surplus" if "surplus" in q else "balance"
                name = {"deficit": "Trade deficit", "surplus": "Trade surplus", "balance": "Trade balance"}[kind]
                return [Metric(name, (e, i), kind)]
        taken: set[int] = set()
        q_terms = set(content_terms(q))
        for j, col in enumerate(t.columns[1:], start=1):
            col_terms = set(content_terms(re.sub(r"\([^)]*\)", " ", col)))
            hit = bool(col_terms) and col_terms <= q_terms
            if not hit:
                for key, syns in METRIC_SYNONYMS.items():
                    if (key in col.lower() or stem(key) in col_terms) and any(re.search(rf"\b{re.escape(s)}\b", q) for s in syns):
                        # "total" alone names a total column only when no other metric is asked for
                        hit = True
                        break
            if hit and j not in taken:
                taken.add(j)
                found.append(Metric(re.sub(r"\s*\([^)]*\)", "", t.columns[j]).strip() or t.columns[j], (j,)))
        # "total exports" is the export column, not the total column
        if len(found) > 1:
            specific = [m for m in found if not re.search(r"\b(total|turnover|sum)\b", t.columns[m.cols[0]], re.I)
                        or any(re.search(rf"\b{re.escape(s)}\b", q) for s in METRIC_SYNONYMS["turnover"] if s != "total")]
            found = specific or found
        return found

    def rows(self, t: TableData, q: str) -> tuple[list[int], list[str]]:
        """Row indexes named in the question, and named years the table lacks."""
        idx: list[int] = []
        missing: list[str] = []
        labels = [lab.lower() for lab in t.labels]
        for y in YEAR_RE.findall(q):
            if y in labels:
                if labels.index(y) not in idx:
                    idx.append(labels.index(y))
            else:
                missing.append(y)
        for j, lab in enumerate(labels):
            if not YEAR_RE.fullmatch(lab) and re.search(rf"\b{re.escape(lab)}\b", q) and j not in idx:
                idx.append(j)
        if not idx and not missing:
            if LAST_WORDS.search(q):
                idx.append(len(labels) - 1)
            elif FIRST_WORDS.search(q):
                idx.append(0)
        # "from 2022 to 2024", "between 2022 and 2024", "2022-2024" name every year in between ("2022 and 2024" does not)
        rng = re.search(r"\b(?:(?:from\s+)?(\d{4})\s*(?:to|through|until|-|–)|between\s+(\d{4})\s*(?:and|-|–)|(\d{4})\s*(?:-|–|through))\s*(\d{4})\b", q)
        if rng:
            first = rng.group(1) or rng.group(2) or rng.group(3)
            if first in labels and rng.group(4) in labels and len(set(YEAR_RE.findall(q))) == 2:
                a, b = labels.index(first), labels.index(rng.group(4))
                idx = list(range(min(a, b), max(a, b) + 1))
        return idx, missing

    @staticmethod
    def operation(q: str) -> str | None:
        for name, pat in OPS:
            if pat.search(q):
                return name
        return None

    # ---- values --------------------------------------------------------------------------------

    def value(self, t: TableData, m: Metric, i: int) -> float | None:
        if m.kind == "column":
            return t.values[i][m.cols[0]]
        e, imp = (t.values[i][c] for c in m.cols)
        if e is None or imp is None:
            return None
        if m.kind == "total":
            return float(Decimal(repr(e)) + Decimal(repr(imp)))
        surplus = float(Decimal(repr(e)) - Decimal(repr(imp)))  # the reporter's, exactly
        if m.partner_side:
            surplus = -surplus
        return -surplus if m.kind == "deficit" else surplus

    def show(self, t: TableData, m: Metric, i: int) -> str:
        v = self.value(t, m, i)
        j = m.cols[0]
        if m.kind == "column":
            cell = t.cells[i][j]
            if re.fullmatch(r"[\d,.\s]+", cell) and (t.units[j] or t.scales[j] != 1):
                return f"{cell} ({unit_label(t.units[j], t.scales[j])})"
            return cell
        shown = fmt_money(v or 0.0, t.units[j], t.scales[j])
        if m.kind == "balance" and v:
            shown += " (a deficit)" if v < 0 else " (a surplus)"
        return shown

    def derive(self, t: TableData, m: Metric, i: int) -> str | None:
        """Arithmetic line for a derived metric in one row."""
        if m.kind == "column":
            return None
        e, imp = m.cols
        s = t.scales[e]
        ev, iv = t.values[i][e], t.values[i][imp]
        if ev is None or iv is None:
            return None
        lab = unit_label(t.units[e], s)
        if m.kind == "total":
            return f"{t.labels[i]}: {t.columns[e]} + {t.columns[imp]} = {fmt_scaled(ev, s)} + {fmt_scaled(iv, s)} = {fmt_scaled(ev + iv, s)} ({lab})"
        if (m.kind == "deficit") != m.partner_side:
            return f"{t.labels[i]}: {t.columns[imp]} − {t.columns[e]} = {fmt_scaled(iv, s)} − {fmt_scaled(ev, s)} = {fmt_scaled(iv - ev, s)} ({lab})"
        return f"{t.labels[i]}: {t.columns[e]} − {t.columns[imp]} = {fmt_scaled(ev, s)} − {fmt_scaled(iv, s)} = {fmt_scaled(ev - iv, s)} ({lab})"

    # ---- answering -----------------------------------------------------------------------------

    def _answer_table(self, t: TableData, q: str) -> NumericAnswer | None:
        metrics = self.metrics(t, q)
        if not metrics:
            return None
        qualifier = next((w for w in words(q) if w in QUALIFIERS and stem(w) not in set(content_terms(t.caption + " " + " ".join(t.columns)))), "")
        if qualifier:
            span = f"{t.labels[0]}–{t.labels[-1]}"
            return NumericAnswer(
                f"The article's table gives {', '.join(c.lower() for c in t.columns[1:])} per {t.columns[0].lower()} for {span} {{0}}; "
                f"it has nothing matching “{qualifier}”.",
                [row_evidence(t, 0)], operation="out_of_scope", abstain=True,
            )
        title = self.titles.get(t.doc_id, "")
        # other sentences giving the same quantity (e.g. the same figure from another source) are in scope too
        alt = " ".join(self._sentence_around(f) for f in self.db.facts
                       if f.kind in ("mention", "curated") and any(self._same_metric(t, m, f) for m in metrics if m.kind == "column"))
        ft = self.flow_tables.get(t.id)
        parties = f"{ft.reporter.name} {ft.partner.name}" if ft else ""
        if self._off_topic(q, " ".join((title, t.caption, " ".join(t.columns), " ".join(t.labels), alt, parties)), rare_only=True):
            return None
        rows, missing = self.rows(t, q)
        op = self.operation(q)
        if missing and not rows:
            span = f"{t.labels[0]}–{t.labels[-1]}"
            have = ", ".join(t.columns[1:])
            return NumericAnswer(
                f"The article does not give {metrics[0].name.lower()} for {', '.join(missing)}: its table covers {span} only ({have}) {{0}}.",
                [row_evidence(t, 0), row_evidence(t, len(t.labels) - 1)],
                operation="out_of_range",
                abstain=True,
            )
        if missing and rows:
            return NumericAnswer(
                f"The article's table covers {t.labels[0]}–{t.labels[-1]}; it has no figure for {', '.join(missing)} {{0}}.",
                [row_evidence(t, rows[0])], operation="out_of_range", abstain=True,
            )
        m = metrics[0]
        if op in ("growth", "difference") and len(metrics) >= 2 and len(rows) <= 1:
            # "By how much did imports exceed exports in 2023?" compares two metrics, not two years
            return self._diff_metrics(t, metrics[0], metrics[1], rows[0] if rows else len(t.labels) - 1)
        if op == "ratio" and len(metrics) >= 2 and len(rows) <= 1:
            return self._ratio_metrics(t, metrics[0], metrics[1], rows[0] if rows else len(t.labels) - 1, q)
        if op == "share":
            if len(metrics) < 2:
                return None
            return self._share(t, metrics, rows[0] if rows else len(t.labels) - 1)
        if op in ("max", "min"):
            return self._extreme(t, m, op, rows if len(rows) >= 2 else None)
        if op is None and len(rows) >= 2 and re.search(r"\btotal\b", q) and len(metrics) == 1:
            op = "sum"  # "total exports to B over 2022-2024"
        if op in ("sum", "average") and re.search(r"\ball (?:the |\w+ )?years\b|\bacross all\b|\bevery year\b", q):
            rows = list(range(len(t.labels)))
        if op == "sum" and (len(rows) != 1):
            return self._sum(t, m, rows or list(range(len(t.labels))))
        if op == "average" and len(rows) != 1:
            return self._sum(t, m, rows or list(range(len(t.labels))), average=True)
        if op == "trend" or (not rows and op in ("growth", None) and len(metrics) == 1 and op == "trend"):
            return self._trend(t, m, rows if len(rows) > 2 else list(range(len(t.labels))))
        if op == "ratio" and len(rows) >= 2:
            return self._ratio_years(t, m, min(rows), max(rows))
        if op in ("growth", "difference") and len(rows) >= 2:
            return self._change(t, m, min(rows), max(rows), q)
        if op == "growth" and len(rows) == 1 and rows[0] > 0:
            return self._change(t, m, rows[0] - 1, rows[0], q)
        if op == "growth" and not rows:
            return self._trend(t, m, list(range(len(t.labels))))
        if op == "difference" and len(metrics) >= 2 and len(rows) <= 1:
            return self._diff_metrics(t, metrics[0], metrics[1], rows[0] if rows else len(t.labels) - 1)
        if not rows:
            if len(metrics) == 1 and m.kind == "column" and not op:
                return None  # a metric without a year: let text retrieval answer (or ask for a year)
            rows = list(range(len(t.labels)))
            if op or m.kind == "column":
                return self._trend(t, m, rows)
        if op == "sum" and len(metrics) >= 2 and len(rows) == 1:
            return self._sum_metrics(t, metrics, rows[0])
        parts, evidence, arith = [], [], []
        premise = []
        for i in rows:
            for mm in metrics:
                line = self.derive(t, mm, i)
                if line:
                    arith.append(line)
                v = self.value(t, mm, i)
                if mm.kind in ("deficit", "surplus") and v is not None and v < 0:
                    other = "surplus" if mm.kind == "deficit" else "deficit"
                    e = mm.cols[0]
                    premise.append(
                        f"No: there was no {mm.name[0].lower() + mm.name[1:]} in {t.labels[i]}; "
                        f"it was a {other} of {fmt_money(-v, t.units[e], t.scales[e])}"
                    )
                    continue
                parts.append(f"{mm.name} in {t.labels[i]}: {self.show(t, mm, i)}")
            evidence.append(row_evidence(t, i))
        parts = premise + parts
        cites = "".join(f"{{{k}}}" for k in range(len(evidence)))
        text = "; ".join(parts) + f" {cites}."
        if premise:
            return NumericAnswer(text, evidence, arith, operation="value", notes=["false premise corrected"])
        if len(rows) == 1 and len(metrics) == 1 and m.kind == "column" and not self.flow_metrics(t, q):
            better = self._better_mention(t, m, rows[0], q)
            if better is not None:
                return better
        ans = NumericAnswer(text, evidence, arith, operation="value")
        if len(rows) == 2 and len(metrics) == 1:
            first, second = self.value(t, m, rows[0]), self.value(t, m, rows[1])  # rows in the question's order
            ans.compared = (first, second) if first is not None and second is not None else None
        self._add_conflicts(ans, t, metrics, rows, q)
        return ans

    @staticmethod
    def _position(q: str, column: str) -> int:
        """Where the question first names a column (directly or by a synonym)."""
        col = column.lower()
        words = [w for k, syns in METRIC_SYNONYMS.items() if k in col for w in syns] + re.findall(r"[a-z]+", col)
        hits = [m.start() for w in words for m in [re.search(rf"\b{re.escape(w)}", q)] if m]
        return min(hits) if hits else len(q)

    def _better_mention(self, t: TableData, m: Metric, i: int, q: str) -> NumericAnswer | None:
        """A sentence fact for the same period that matches the question better than the table."""
        q_terms = set(content_terms(q)) - GENERIC
        label = t.labels[i]
        table_ctx = " ".join((t.columns[m.cols[0]], t.caption, label))
        base = self._coverage(q_terms, table_ctx)
        best: tuple[tuple[float, float], Fact] | None = None
        for f in self.db.facts:
            if f.kind not in ("mention", "curated") or f.period != label or f.value is None:
                continue
            if not self._same_metric(t, m, f):
                continue
            cov = self._coverage(q_terms, f"{f.quote} {f.period}")
            tv = t.values[i][m.cols[0]] or 0.0
            closeness = -abs(math.log(max(f.value, 1e-9) / max(tv, 1e-9))) if tv else 0.0
            if cov > base + 1e-9 and (best is None or (cov, closeness) > best[0]):
                best = ((cov, closeness), f)
        if best is None:
            return None
        f = best[1]
        text = f"{f.quote} {{0}}" + (f" (citing {f.source_note})" if f.source_note and not f.parent_id else "") + "."
        ans = NumericAnswer(text, [fact_evidence(f)], operation="value")
        row_value = t.values[i][m.cols[0]]
        if row_value and f.value and max(row_value, f.value) / min(row_value, f.value) <= 10 and abs(row_value - f.value) > 1e-6 * row_value:
            ans.evidence.append(row_evidence(t, i))
            ans.text += (f" Note: the article's trade table gives a different figure for {label}: {m.name.lower()} "
                         f"{t.cells[i][m.cols[0]]} {{1}}, so the two sources disagree ({f.text_value} vs {t.cells[i][m.cols[0]]}).")
            ans.notes.append("conflicting sources")
        return ans

    def _same_metric(self, t: TableData, m: Metric, f: Fact) -> bool:
        col = t.columns[m.cols[0]].lower()
        keys = {k for k in METRIC_SYNONYMS if k in col} | set(content_terms(col))
        subj = set(content_terms(f.subject))
        return any(stem(k) in subj for k in keys) and f.unit == t.units[m.cols[0]]

    def _add_conflicts(self, ans: NumericAnswer, t: TableData, metrics: list[Metric], rows: list[int], q: str) -> None:
        """Other facts giving the same metric for the same period with a different value."""
        for mm in metrics:
            if mm.kind != "column":
                continue
            for i in rows:
                tv = t.values[i][mm.cols[0]]
                if tv is None:
                    continue
                for f in self.db.facts:
                    if f.kind not in ("mention", "curated") or f.period != t.labels[i] or f.value is None or f.unit != t.units[mm.cols[0]]:
                        continue
                    if not self._same_metric(t, mm, f):
                        continue
                    ratio = max(f.value, tv) / max(1e-9, min(f.value, tv))
                    if ratio > 10 or abs(f.value - tv) < 1e-6 * tv:
                        continue  # a different scope (ten times off) or the same figure
                    n = len(ans.evidence)
                    ans.evidence.append(fact_evidence(f))
                    src = f" (citing {f.source_note})" if f.source_note and not f.parent_id else ""
                    ans.text += (
                        f" Note: the article gives a different figure elsewhere — \"{f.quote}\"{src} {{{n}}} — "
                        f"so the two sources disagree ({t.cells[i][mm.cols[0]]} in the table vs {f.text_value})."
                    )
                    ans.notes.append("conflicting sources")
                    if self.operation(q) == "difference":
                        sc = t.scales[mm.cols[0]]
                        gap = abs(tv - f.value)
                        ans.arithmetic.append(
                            f"{fmt_scaled(max(tv, f.value), sc)} − {fmt_scaled(min(tv, f.value), sc)} = {fmt_scaled(gap, sc)}"
                            f" ({unit_label(t.units[mm.cols[0]], sc)})"
                        )
                        ans.text += f" The two figures are {fmt_money(gap, t.units[mm.cols[0]], sc)} apart."

    def _change(self, t: TableData, m: Metric, a: int, b: int, q: str) -> NumericAnswer | None:
        va, vb = self.value(t, m, a), self.value(t, m, b)
        if va is None or vb is None:
            return None
        years = int(t.labels[b]) - int(t.labels[a]) if t.labels[a].isdigit() and t.labels[b].isdigit() else b - a
        if re.search(r"\baverage\b|\bannual(?:ly)?\b|\bper year\b|\ba year\b|\bcagr\b|\bcompound", q) and va > 0 and vb > 0 and years > 1:
            rate = ((vb / va) ** (1 / years) - 1) * 100
            s = t.scales[m.cols[0]]
            arith = [f"({fmt_scaled(vb, s)} / {fmt_scaled(va, s)})^(1/{years}) − 1 = {fmt_number(rate, 1)}% a year"]
            text = (f"{m.name} went from {self.show(t, m, a)} in {t.labels[a]} {{0}} to {self.show(t, m, b)} in {t.labels[b]} {{1}}: "
                    f"an average (compound) growth of {fmt_number(rate, 1)}% a year over {years} years.")
            return NumericAnswer(text, [row_evidence(t, a), row_evidence(t, b)], arith, operation="cagr")
        s = t.scales[m.cols[0]]
        lab = unit_label(t.units[m.cols[0]], s)
        diff = vb - va
        arith = [x for x in (self.derive(t, m, a), self.derive(t, m, b)) if x]
        arith.append(f"change: {fmt_scaled(vb, s)} − {fmt_scaled(va, s)} = {fmt_scaled(diff, s)} ({lab})")
        pct = None
        if va != 0:
            pct = diff / abs(va) * 100
            arith.append(f"growth: {fmt_scaled(diff, s)} / {fmt_scaled(abs(va), s)} × 100 = {fmt_number(pct, 1)}%")
        direction = "rose" if diff > 0 else "fell" if diff < 0 else "did not change"
        text = (
            f"{m.name} {direction} from {self.show(t, m, a)} in {t.labels[a]} {{0}} to {self.show(t, m, b)} in {t.labels[b]} {{1}}: "
            f"a change of {fmt_money(diff, t.units[m.cols[0]], s)}"
            + (f" ({'+' if pct > 0 else ''}{fmt_number(pct, 1)}%)" if pct is not None else "")
        )
        if vb > 0 and va > 0 and max(va, vb) / min(va, vb) >= 1.5:
            times = max(va, vb) / min(va, vb)
            text += f", i.e. {fmt_number(times, 2)} times {'higher' if vb > va else 'lower'}"
            big, small = (vb, va) if vb > va else (va, vb)
            arith.append(f"ratio: {fmt_scaled(big, s)} / {fmt_scaled(small, s)} = {fmt_number(times, 2)}")
        text += "."
        asked_up, asked_down = bool(UP_WORDS.search(q)), bool(DOWN_WORDS.search(q))
        premise = ""
        if diff < 0 and asked_up and not asked_down:
            premise = f"The premise is not supported: {m.name.lower()} did not rise, it fell. "
        elif diff > 0 and asked_down and not asked_up:
            premise = f"The premise is not supported: {m.name.lower()} did not fall, it rose. "
        return NumericAnswer(premise + text, [row_evidence(t, a), row_evidence(t, b)], arith, operation="change",
                             notes=["false premise corrected"] if premise else [])

    def _ratio_years(self, t: TableData, m: Metric, a: int, b: int) -> NumericAnswer | None:
        va, vb = self.value(t, m, a), self.value(t, m, b)
        if not va or vb is None:
            return None
        s = t.scales[m.cols[0]]
        r = vb / va
        arith = [f"ratio: {fmt_scaled(vb, s)} / {fmt_scaled(va, s)} = {fmt_number(r, 2)}"]
        text = (f"{m.name} in {t.labels[b]} ({self.show(t, m, b)} {{1}}) was {fmt_number(r, 2)} times "
                f"its {t.labels[a]} level ({self.show(t, m, a)} {{0}}).")
        return NumericAnswer(text, [row_evidence(t, a), row_evidence(t, b)], arith, operation="ratio")

    def _ratio_metrics(self, t: TableData, m1: Metric, m2: Metric, i: int, q: str = "") -> NumericAnswer | None:
        v1, v2 = self.value(t, m1, i), self.value(t, m2, i)
        if not v1 or not v2:
            return None
        big, small = (m1, m2) if v1 >= v2 else (m2, m1)
        if re.search(r"\bratio\b|-to-|\bto\b", q) and not re.search(r"\btimes\b", q):
            # "the export-to-import ratio" / "ratio of exports to imports": the first named over the second
            first, second = sorted((m1, m2), key=lambda m: self._position(q, t.columns[m.cols[0]]))
            vf, vsn = self.value(t, first, i) or 0.0, self.value(t, second, i) or 1.0
            r = vf / vsn
            s = t.scales[m1.cols[0]]
            arith = [f"{t.labels[i]}: {first.name} / {second.name} = {fmt_scaled(vf, s)} / {fmt_scaled(vsn, s)} = {fmt_number(r, 3 if r < 1 else 2)}"]
            text = (f"In {t.labels[i]}, the ratio of {first.name.lower()} ({self.show(t, first, i)}) to {second.name.lower()} "
                    f"({self.show(t, second, i)}) was {fmt_number(r, 3 if r < 1 else 2)} {{0}}.")
            return NumericAnswer(text, [row_evidence(t, i)], arith, operation="ratio")
        vb, vs = max(v1, v2), min(v1, v2)
        s = t.scales[m1.cols[0]]
        r = vb / vs
        arith = [f"{t.labels[i]}: {big.name} / {small.name} = {fmt_scaled(vb, s)} / {fmt_scaled(vs, s)} = {fmt_number(r, 2)}"]
        text = (f"In {t.labels[i]}, {big.name.lower()} ({self.show(t, big, i)}) was {fmt_number(r, 2)} times "
                f"{small.name.lower()} ({self.show(t, small, i)}) {{0}}.")
        return NumericAnswer(text, [row_evidence(t, i)], arith, operation="ratio")

    def _diff_metrics(self, t: TableData, m1: Metric, m2: Metric, i: int) -> NumericAnswer | None:
        v1, v2 = self.value(t, m1, i), self.value(t, m2, i)
        if v1 is None or v2 is None:
            return None
        s = t.scales[m1.cols[0]]
        lab = unit_label(t.units[m1.cols[0]], s)
        big, small = (m1, m2) if v1 >= v2 else (m2, m1)
        vb, vs = max(v1, v2), min(v1, v2)
        arith = [f"{t.labels[i]}: {big.name} − {small.name} = {fmt_scaled(vb, s)} − {fmt_scaled(vs, s)} = {fmt_scaled(vb - vs, s)} ({lab})"]
        text = (f"In {t.labels[i]}, {big.name.lower()} ({self.show(t, big, i)}) exceeded {small.name.lower()} "
                f"({self.show(t, small, i)}) by {fmt_money(vb - vs, t.units[m1.cols[0]], s)} {{0}}.")
        return NumericAnswer(text, [row_evidence(t, i)], arith, operation="difference")

    def _share(self, t: TableData, metrics: list[Metric], i: int) -> NumericAnswer | None:
        totals = [m for m in metrics if re.search(r"total|turnover|sum", t.columns[m.cols[0]], re.I)]
        parts = [m for m in metrics if m not in totals]
        if not totals or not parts:
            return None
        tot, part = totals[0], parts[0]
        vt, vp = self.value(t, tot, i), self.value(t, part, i)
        if not vt or vp is None:
            return None
        s = t.scales[tot.cols[0]]
        pct = vp / vt * 100
        arith = [f"{t.labels[i]}: {part.name} / {tot.name} × 100 = {fmt_scaled(vp, s)} / {fmt_scaled(vt, s)} × 100 = {fmt_number(pct, 1)}%"]
        text = (f"In {t.labels[i]}, {part.name.lower()} ({self.show(t, part, i)}) made up {fmt_number(pct, 1)}% of "
                f"{tot.name.lower()} ({self.show(t, tot, i)}) {{0}}.")
        return NumericAnswer(text, [row_evidence(t, i)], arith, operation="share")

    def _extreme(self, t: TableData, m: Metric, op: str, rows: list[int] | None = None) -> NumericAnswer | None:
        vals = [(self.value(t, m, i), i) for i in (rows if rows else range(len(t.labels)))]
        vals = [(v, i) for v, i in vals if v is not None]
        if not vals:
            return None
        v, i = (max if op == "max" else min)(vals)
        listing = ", ".join(f"{t.labels[k]}: {self.show(t, m, k)}" for _, k in sorted(vals, key=lambda x: x[1]))
        text = (f"{m.name} was {'highest' if op == 'max' else 'lowest'} in {t.labels[i]}, at {self.show(t, m, i)} "
                f"({listing}) " + "".join(f"{{{k}}}" for k in range(len(vals))) + ".")
        return NumericAnswer(text, [row_evidence(t, k) for _, k in sorted(vals, key=lambda x: x[1])],
                             [x for _, k in vals if (x := self.derive(t, m, k))], operation=op)

    def _sum(self, t: TableData, m: Metric, rows: list[int], average: bool = False) -> NumericAnswer | None:
        vals = [self.value(t, m, i) for i in rows]
        if any(v is None for v in vals):
            return None
        s = t.scales[m.cols[0]]
        total = sum(v for v in vals if v is not None)
        lab = unit_label(t.units[m.cols[0]], s)
        arith = [" + ".join(fmt_scaled(v or 0, s) for v in vals) + f" = {fmt_scaled(total, s)} ({lab})"]
        cites = "".join(f"{{{k}}}" for k in range(len(rows)))
        contiguous = rows == list(range(rows[0], rows[-1] + 1))
        span = f"{t.labels[rows[0]]}–{t.labels[rows[-1]]}" if contiguous else " and ".join(t.labels[i] for i in rows)
        if average:
            mean = total / len(vals)
            arith.append(f"{fmt_scaled(total, s)} / {len(vals)} = {fmt_scaled(mean, s)} ({lab})")
            text = f"{m.name} averaged {fmt_money(mean, t.units[m.cols[0]], s)} a year over {span} {cites}."
            return NumericAnswer(text, [row_evidence(t, i) for i in rows], arith, operation="average")
        text = f"{m.name} over {span} adds up to {fmt_money(total, t.units[m.cols[0]], s)} {cites}."
        return NumericAnswer(text, [row_evidence(t, i) for i in rows], arith, operation="sum")

    def _trend(self, t: TableData, m: Metric, rows: list[int]) -> NumericAnswer | None:
        if len(rows) < 2:
            return None
        s = t.scales[m.cols[0]]
        pieces, arith = [], []
        for k, i in enumerate(rows):
            pieces.append(f"{t.labels[i]}: {self.show(t, m, i)} {{{k}}}")
            line = self.derive(t, m, i)
            if line:
                arith.append(line)
        steps = []
        for a, b in zip(rows, rows[1:], strict=False):
            va, vb = self.value(t, m, a), self.value(t, m, b)
            if va is None or vb is None:
                continue
            pct = f" ({'+' if vb >= va else ''}{fmt_number((vb - va) / abs(va) * 100, 1)}%)" if va else ""
            arith.append(f"{t.labels[a]}→{t.labels[b]}: {fmt_scaled(vb, s)} − {fmt_scaled(va, s)} = {fmt_scaled(vb - va, s)}{pct}")
            steps.append(f"{'rose' if vb > va else 'fell' if vb < va else 'held steady'} from {t.labels[a]} to {t.labels[b]}{pct}")
        first, last = self.value(t, m, rows[0]), self.value(t, m, rows[-1])
        overall = ""
        if steps:
            overall = " It " + ", then ".join(steps) + "."
        if first is not None and last is not None and len(steps) > 1:
            overall += f" Overall it {'rose' if last > first else 'fell' if last < first else 'held steady'} from {t.labels[rows[0]]} to {t.labels[rows[-1]]}."
        text = f"{m.name} by year — " + "; ".join(pieces) + "." + overall
        return NumericAnswer(text, [row_evidence(t, i) for i in rows], arith, operation="trend")

    def _sum_metrics(self, t: TableData, metrics: list[Metric], i: int) -> NumericAnswer | None:
        vals = [self.value(t, m, i) for m in metrics]
        if any(v is None for v in vals):
            return None
        s = t.scales[metrics[0].cols[0]]
        total = sum(v for v in vals if v is not None)
        names = " + ".join(m.name for m in metrics)
        arith = [f"{t.labels[i]}: {names} = " + " + ".join(fmt_scaled(v or 0, s) for v in vals)
                 + f" = {fmt_scaled(total, s)} ({unit_label(t.units[metrics[0].cols[0]], s)})"]
        text = f"In {t.labels[i]}, {names.lower()} add up to {fmt_money(total, t.units[metrics[0].cols[0]], s)} {{0}}."
        return NumericAnswer(text, [row_evidence(t, i)], arith, operation="sum")
