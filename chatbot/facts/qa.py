"""Deterministic numeric answers over the facts table, with the arithmetic written out.

The parser knows only general vocabulary (metric synonyms, operations, years); the metrics,
years and values come from the tables and facts extracted at index time.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from chatbot.facts.extract import TableData
from chatbot.facts.numbers import fmt_money, fmt_number, fmt_scaled, unit_label
from chatbot.facts.store import FactsDB
from chatbot.text import STOPWORDS, content_terms, normalise, stem, words
from chatbot.types import Fact

# General vocabulary: question words that name a metric, mapped to words found in column names.
METRIC_SYNONYMS: dict[str, tuple[str, ...]] = {
    "import": ("import", "imports", "imported", "importing", "purchases", "purchase", "purchased", "bought", "buy", "buys", "buying", "spend", "spent", "spending on", "inflow", "inflows", "inbound"),
    "export": ("export", "exports", "exported", "exporting", "exporters", "sales", "sold", "sell", "sells", "selling", "shipments", "shipped", "outflow", "outbound"),
    "turnover": ("turnover", "total trade", "trade volume", "volume of trade", "overall trade", "bilateral trade", "combined trade", "trade total", "total volume", "two-way trade", "trade value", "value of trade", "total"),
    "revenue": ("revenue", "revenues", "sales", "income", "turnover"),
    "profit": ("profit", "profits", "earnings", "net income"),
    "cost": ("cost", "costs", "expenses", "spending", "expenditure"),
}
BALANCE_WORDS = ("deficit", "surplus", "balance", "imbalance", "gap between", "trade gap")
OPS: list[tuple[str, re.Pattern[str]]] = [
    ("ratio", re.compile(r"how many times|\bratio\b|\btimes (?:larger|bigger|higher|greater|more|smaller|lower)\b|\bmultiple\b|\bfold\b")),
    ("growth", re.compile(r"\bhow much (?:larger|bigger|smaller|greater)\b|\bgrowth\b|\bgr[eo]w|\bincrease|\bincreas|\brise\b|\brose\b|\brisen\b|\bjump|\bfall\b|\bfell\b|\bfallen\b|\bdeclin|\bdecreas|\bdrop|\bchange|\bhow much (?:more|less|higher|lower)\b|\bby how much\b|\bpercent(?:age)? change\b|\bshr[iu]nk|\bcontract")),
    ("share", re.compile(r"\bshare\b|\bwhat percent(?:age)?\b|\bproportion\b|\bpercentage of\b|% of\b|\bportion\b|\bfraction\b")),
    ("average", re.compile(r"\baverage\b|\bmean\b|\bper year on average\b")),
    ("difference", re.compile(r"\bhow far apart\b|\bdiffer(?:ence)? between\b|\b(?:bigger|larger|higher|greater|smaller|lower)\b.*\bor\b|\bdifference\b|\bgap\b|\bmore than\b|\bless than\b|\bcompared?\b|\bversus\b|\bvs\.?\b|\bexceed")),
    ("max", re.compile(r"\bhighest\b|\bpeak(?:ed)?\b|\blargest\b|\bmaximum\b|\bbiggest\b|\brecord\b|\bmost\b|\bstrongest\b|\btop\b")),
    ("min", re.compile(r"\blowest\b|\bsmallest\b|\bminimum\b|\bleast\b|\bweakest\b|\bbottom\b")),
    ("trend", re.compile(r"\btrend|\bover the years\b|\bevolv|\bover time\b|\beach year\b|\bevery (?:single )?year\b|\bgo(?:ne)? up\b|\bwent up\b|\bgo(?:ne)? down\b|\bwent down\b|\ball (?:the )?years\b|\bby year\b|\byear by year\b|\bdevelop")),
    ("sum", re.compile(r"\btotal (?:that|this|it|them|those|up)\b|\bacross all\b|\badd(?:ed)? up\b|\bcombined\b(?! trade)|\bsum\b|\bcumulative|\baltogether\b|\bcombined over\b|\bin total (?:over|across|from|between)\b|\btotal (?:over|across|for) (?:the|all)\b")),
]
UP_WORDS = re.compile(r"\b(rise|rose|risen|increase[ds]?|grow|grew|grown|growth|jump(?:ed)?|surge[d]?|climb(?:ed)?|go up|went up|higher)\b")
DOWN_WORDS = re.compile(r"\b(fall|fell|fallen|decline[ds]?|decrease[ds]?|drop(?:ped)?|shr[iu]nk|plunge[d]?|go down|went down|lower|contract(?:ed)?)\b")
LAST_WORDS = re.compile(r"\b(latest|last|most recent|final|newest|current)\b")
FIRST_WORDS = re.compile(r"\b(first|earliest|oldest|initial|starting)\b")
AMOUNT_INTENT = re.compile(r"\bhow much\b|\bvalue\b|\bworth\b|\bamount\b|\btotal(?:ed|led)?\b|\$|\bsize\b|\bfigure\b|\bmillion\b|\bbillion\b")
COUNT_INTENT = re.compile(r"\bhow many\b|\bnumber of\b|\bcount\b")
RANK_INTENT = re.compile(r"\brank(?:ed|ing)?\b|\bposition\b|\bplace\b|\bplaced\b")
WHEN_INTENT = re.compile(r"\bwhen\b|\bwhat year\b|\bwhich year\b|\bwhat date\b|\bwhich date\b|\bdate\b|\bsince when\b|\bwhat day\b")
YEAR_RE = re.compile(r"\b(1[89]\d{2}|20\d{2})\b")
US_ALIASES = re.compile(r"\b(united states|u\.s\.a?\.?|usa|america|americans?)\b")
# Questions asking for an entity, a place or a source rather than a number.
ENTITY_Q = re.compile(r"^\s*(?:who|whom|whose|where|which\s+(?!year)\w+|what\s+(?:kind|type|sort|products?|goods|items?|sectors?|companies|organi[sz]ations?)\b)|\b(?:source|organi[sz]ation|agency|institution)\b")
YEARS_APART = re.compile(r"\bhow many years\b|\bhow long (?:after|before|ago|between)\b|\byears (?:later|after|before|apart|between)\b")
NAME_WORD = re.compile(r"(?<![.?!]\s)\b[A-Z][a-z][\w\-]*")
QUALIFIERS = {
    "half", "quarter", "quarterly", "month", "monthly", "weekly", "daily", "q1", "q2", "q3", "q4", "h1", "h2",
    "capita", "real", "nominal", "adjusted", "forecast", "forecasts", "projected", "projection", "expected",
    "target", "targets", "planned", "estimate", "estimated", "manat", "euro", "euros", "rubles", "lira", "yuan",
}
LIST_Q = re.compile(r"^\s*(?:which|what|name|list)\b|\blist\b")
PART_WORDS = re.compile(r"\b(products?|items?|goods|commodit(?:y|ies)|categor(?:y|ies)|components?)\b")
SCOPE_FILLER = {stem(w) for w in (
    "two", "both", "countries", "country", "nations", "nation", "bilateral", "between", "data", "statistics", "figures",
    "number", "annual", "annually", "year", "years", "table", "trade", "total", "value", "overall", "combined", "each",
    "compare", "comparison", "change", "growth", "grow", "rise", "fall", "increase", "decrease", "percent", "percentage",
    "share", "ratio", "times", "difference", "highest", "lowest", "average", "sum", "trend", "period", "time", "level",
    "record", "peak", "latest", "recent", "first", "last", "much", "many", "larger", "smaller", "bigger", "higher", "lower",
    "economic", "relations", "relationship", "partner", "partners", "term", "terms", "commerce", "commercial",
    "business", "flow", "flows", "volume", "volumes", "amount", "worth", "dollars", "money", "stuff", "things",
)}
METRIC_TERMS = {stem(w) for syns in METRIC_SYNONYMS.values() for s in syns for w in s.split()} | {stem(w) for w in ("deficit", "surplus", "balance", "imbalance", "gap")}
GENERIC = {stem(w) for w in ("how", "much", "many", "what", "which", "value", "amount", "total", "year", "was", "were", "did", "the", "in", "of", "figure", "level", "size", "worth")}


@dataclass(frozen=True)
class Evidence:
    doc_id: str
    start: int
    end: int
    quote: str


@dataclass
class NumericAnswer:
    """Text with ``{0}``, ``{1}`` … placeholders for citations to ``evidence[i]``."""

    text: str
    evidence: list[Evidence]
    arithmetic: list[str] = field(default_factory=list)
    operation: str = "value"
    abstain: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Metric:
    name: str
    cols: tuple[int, ...]  # one column, or (export, import) for a balance
    kind: str = "column"  # "column" | "balance" | "deficit"


def _q(question: str) -> str:
    return US_ALIASES.sub("us", normalise(question))


def _ev_row(t: TableData, i: int) -> Evidence:
    a, b = t.row_spans[i]
    return Evidence(t.doc_id, a, b, t.row_quotes[i])


def _ev_fact(f: Fact) -> Evidence:
    return Evidence(f.doc_id, f.start, f.end, f.quote)


class NumericQA:
    def __init__(self, db: FactsDB, documents: dict[str, str] | None = None) -> None:
        self.db = db
        self.titles: dict[str, str] = {}
        self.documents = documents or {}
        self.doc_df: dict[str, int] = {}  # in how many paragraphs each term occurs
        paragraphs = [p for text in (documents or {}).values() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
        self.n_paragraphs = len(paragraphs)
        for para in paragraphs:
            for term in set(content_terms(_q(para))):
                self.doc_df[term] = self.doc_df.get(term, 0) + 1

    # ---- parsing -------------------------------------------------------------------------------
    def metrics(self, t: TableData, q: str) -> list[Metric]:
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
        return imp - e if m.kind == "deficit" else e - imp

    def show(self, t: TableData, m: Metric, i: int) -> str:
        v = self.value(t, m, i)
        j = m.cols[0]
        if m.kind == "column":
            cell = t.cells[i][j]
            if re.fullmatch(r"[\d,.\s]+", cell) and (t.units[j] or t.scales[j] != 1):
                return f"{cell} ({unit_label(t.units[j], t.scales[j])})"
            return cell
        return fmt_money(v or 0.0, t.units[j], t.scales[j])

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
        if m.kind == "deficit":
            return f"{t.labels[i]}: {t.columns[imp]} − {t.columns[e]} = {fmt_scaled(iv, s)} − {fmt_scaled(ev, s)} = {fmt_scaled(iv - ev, s)} ({lab})"
        return f"{t.labels[i]}: {t.columns[e]} − {t.columns[imp]} = {fmt_scaled(ev, s)} − {fmt_scaled(iv, s)} = {fmt_scaled(ev - iv, s)} ({lab})"

    # ---- answering -----------------------------------------------------------------------------
    def answer(self, question: str) -> NumericAnswer | None:
        q = _q(question)
        op = self.operation(q)
        names = {w.lower() for w in NAME_WORD.findall(question.strip()[1:])}
        if any(not self._doc_knows(n) for n in names):
            return None  # "imports from China": the document never names it, so no figure here is about it
        self._names = names
        if op in ("max", "min") and PART_WORDS.search(q):
            extreme = self._extreme_part(q, op)
            if extreme is not None:
                return extreme
        if YEARS_APART.search(q):
            apart = self._years_apart(q)
            if apart is not None:
                return apart
        if WHEN_INTENT.search(q) or COUNT_INTENT.search(q) or RANK_INTENT.search(q):
            special = self._answer_mentions(q, kinds=("event", "count", "rank"))
            if special is not None:
                return special
            if RANK_INTENT.search(q) and not (op in ("max", "min") and not PART_WORDS.search(q)):
                return None  # a ranking question is not answered with an amount
        parts = self._answer_parts(q)
        if parts is not None:
            return parts
        if LIST_Q.search(q) and PART_WORDS.search(q):
            listing = self._list_parts(q)
            if listing is not None:
                return listing
        if op is None and ENTITY_Q.search(q):
            return None
        for t in self.db.tables:
            ans = self._answer_table(t, q)
            if ans is not None:
                return ans
        if op == "share":
            share = self._share_of_mentions(q)
            if share is not None:
                return share
        return self._answer_mentions(q)

    def asks_for_figure(self, question: str) -> bool:
        """A question about a table's metric in one of its years wants a figure."""
        q = _q(question)
        return any(self.metrics(t, q) and any(y in t.labels for y in YEAR_RE.findall(q)) for t in self.db.tables)

    def _doc_knows(self, word: str) -> bool:
        """Does the document use this word (any case, or as a spelling of a name it uses)?"""
        if stem(word) in self.doc_df or " ".join(content_terms(_q(word))) in self.doc_df:
            return True
        if not hasattr(self, "_doc_lower"):
            self._doc_lower = " ".join(self.documents.values()).lower()
        return re.search(rf"\b{re.escape(word.lower())}", self._doc_lower) is not None

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
                    return NumericAnswer(text, [_ev_fact(part), _ev_fact(whole)], arith, operation="share")
        return None

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
                [_ev_row(t, 0)], operation="out_of_scope", abstain=True,
            )
        title = self.titles.get(t.doc_id, "")
        # other sentences giving the same quantity (e.g. the same figure from another source) are in scope too
        alt = " ".join(self._sentence_around(f) for f in self.db.facts
                       if f.kind in ("mention", "curated") and any(self._same_metric(t, m, f) for m in metrics if m.kind == "column"))
        if self._off_topic(q, " ".join((title, t.caption, " ".join(t.columns), " ".join(t.labels), alt)), rare_only=True):
            return None
        rows, missing = self.rows(t, q)
        op = self.operation(q)
        if missing and not rows:
            span = f"{t.labels[0]}–{t.labels[-1]}"
            have = ", ".join(t.columns[1:])
            return NumericAnswer(
                f"The article does not give {metrics[0].name.lower()} for {', '.join(missing)}: its table covers {span} only ({have}) {{0}}.",
                [_ev_row(t, 0), _ev_row(t, len(t.labels) - 1)],
                operation="out_of_range",
                abstain=True,
            )
        if missing and rows:
            return NumericAnswer(
                f"The article's table covers {t.labels[0]}–{t.labels[-1]}; it has no figure for {', '.join(missing)} {{0}}.",
                [_ev_row(t, rows[0])], operation="out_of_range", abstain=True,
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
                    e, imp = mm.cols
                    premise.append(
                        f"There was no trade {mm.kind} in {t.labels[i]}: {t.columns[e].lower()} ({t.cells[i][e]}) "
                        f"{'exceeded' if mm.kind == 'deficit' else 'were below'} {t.columns[imp].lower()} ({t.cells[i][imp]}), "
                        f"a trade {other} of {fmt_money(-v, t.units[e], t.scales[e])}"
                    )
                    continue
                parts.append(f"{mm.name} in {t.labels[i]}: {self.show(t, mm, i)}")
            evidence.append(_ev_row(t, i))
        parts = premise + parts
        cites = "".join(f"{{{k}}}" for k in range(len(evidence)))
        text = "; ".join(parts) + f" {cites}."
        if premise:
            return NumericAnswer(text, evidence, arith, operation="value", notes=["false premise corrected"])
        if len(rows) == 1 and len(metrics) == 1 and m.kind == "column":
            better = self._better_mention(t, m, rows[0], q)
            if better is not None:
                return better
        ans = NumericAnswer(text, evidence, arith, operation="value")
        self._add_conflicts(ans, t, metrics, rows, q)
        return ans

    def _off_topic(self, q: str, context: str, rare_only: bool = False) -> bool:
        """Does the question name something the document mentions elsewhere but this source does not?
        ("How much oil …" must not be answered with a total that says nothing of oil.)"""
        ctx = set(content_terms(_q(context)))
        names = getattr(self, "_names", set())
        for word in words(q):
            if word in STOPWORDS or (rare_only and re.search(r"(?:ed|ing|ly)$", word) and word not in names):
                continue  # verbs and adverbs ("handled", "shipping") say how, not what; names ("Airbus") count
            term = stem(word)
            if rare_only and word in QUALIFIERS and term not in ctx:
                return True  # "first half of 2024", "in manat", "per capita": not what the table measures
            if term in GENERIC or term in SCOPE_FILLER or term in METRIC_TERMS:
                continue
            if term in ctx or YEAR_RE.fullmatch(term) or term not in self.doc_df:
                continue
            if not rare_only or self.doc_df[term] <= max(2, self.n_paragraphs // 5):
                return True
        return False

    @staticmethod
    def _position(q: str, column: str) -> int:
        """Where the question first names a column (directly or by a synonym)."""
        col = column.lower()
        words = [w for k, syns in METRIC_SYNONYMS.items() if k in col for w in syns] + re.findall(r"[a-z]+", col)
        hits = [m.start() for w in words for m in [re.search(rf"\b{re.escape(w)}", q)] if m]
        return min(hits) if hits else len(q)

    def _coverage(self, q_terms: set[str], context: str) -> float:
        ctx = set(content_terms(_q(context)))
        return len(q_terms & ctx) / max(1, len(q_terms))

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
        text = f"{f.quote} {{0}}" + (f" (citing {f.source_note})" if f.source_note and "|" not in f.source_note else "") + "."
        ans = NumericAnswer(text, [_ev_fact(f)], operation="value")
        tv = t.values[i][m.cols[0]]
        if tv and f.value and max(tv, f.value) / min(tv, f.value) <= 10 and abs(tv - f.value) > 1e-6 * tv:
            ans.evidence.append(_ev_row(t, i))
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
                    ans.evidence.append(_ev_fact(f))
                    src = f" (citing {f.source_note})" if f.source_note and not f.source_note.startswith("part of") else ""
                    ans.text += (
                        f" Note: the article gives a different figure elsewhere — \"{f.quote}\"{src} {{{n}}} — "
                        f"so the two sources disagree ({t.cells[i][mm.cols[0]]} in the table vs {f.text_value})."
                    )
                    ans.notes.append("conflicting sources")
                    if self.operation(q) == "difference":
                        sc = t.scales[mm.cols[0]]
                        gap = abs(tv - f.value)
                        ans.arithmetic.append(
                            f"{fmt_scaled(max(tv, f.value), sc)} − {fmt_scaled(min(tv, f.value), sc)} = {fmt_scaled(gap, sc)} ({unit_label(t.units[mm.cols[0]], sc)})"
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
            return NumericAnswer(text, [_ev_row(t, a), _ev_row(t, b)], arith, operation="cagr")
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
        return NumericAnswer(premise + text, [_ev_row(t, a), _ev_row(t, b)], arith, operation="change",
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
        return NumericAnswer(text, [_ev_row(t, a), _ev_row(t, b)], arith, operation="ratio")

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
            return NumericAnswer(text, [_ev_row(t, i)], arith, operation="ratio")
        vb, vs = max(v1, v2), min(v1, v2)
        s = t.scales[m1.cols[0]]
        r = vb / vs
        arith = [f"{t.labels[i]}: {big.name} / {small.name} = {fmt_scaled(vb, s)} / {fmt_scaled(vs, s)} = {fmt_number(r, 2)}"]
        text = (f"In {t.labels[i]}, {big.name.lower()} ({self.show(t, big, i)}) was {fmt_number(r, 2)} times "
                f"{small.name.lower()} ({self.show(t, small, i)}) {{0}}.")
        return NumericAnswer(text, [_ev_row(t, i)], arith, operation="ratio")

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
        return NumericAnswer(text, [_ev_row(t, i)], arith, operation="difference")

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
        return NumericAnswer(text, [_ev_row(t, i)], arith, operation="share")

    def _extreme(self, t: TableData, m: Metric, op: str, rows: list[int] | None = None) -> NumericAnswer | None:
        vals = [(self.value(t, m, i), i) for i in (rows if rows else range(len(t.labels)))]
        vals = [(v, i) for v, i in vals if v is not None]
        if not vals:
            return None
        v, i = (max if op == "max" else min)(vals)
        listing = ", ".join(f"{t.labels[k]}: {self.show(t, m, k)}" for _, k in sorted(vals, key=lambda x: x[1]))
        text = (f"{m.name} was {'highest' if op == 'max' else 'lowest'} in {t.labels[i]}, at {self.show(t, m, i)} "
                f"({listing}) " + "".join(f"{{{k}}}" for k in range(len(vals))) + ".")
        return NumericAnswer(text, [_ev_row(t, k) for _, k in sorted(vals, key=lambda x: x[1])],
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
            return NumericAnswer(text, [_ev_row(t, i) for i in rows], arith, operation="average")
        text = f"{m.name} over {span} adds up to {fmt_money(total, t.units[m.cols[0]], s)} {cites}."
        return NumericAnswer(text, [_ev_row(t, i) for i in rows], arith, operation="sum")

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
        return NumericAnswer(text, [_ev_row(t, i) for i in rows], arith, operation="trend")

    def _sum_metrics(self, t: TableData, metrics: list[Metric], i: int) -> NumericAnswer | None:
        vals = [self.value(t, m, i) for m in metrics]
        if any(v is None for v in vals):
            return None
        s = t.scales[metrics[0].cols[0]]
        total = sum(v for v in vals if v is not None)
        names = " + ".join(m.name for m in metrics)
        arith = [f"{t.labels[i]}: {names} = " + " + ".join(fmt_scaled(v or 0, s) for v in vals) + f" = {fmt_scaled(total, s)} ({unit_label(t.units[metrics[0].cols[0]], s)})"]
        text = f"In {t.labels[i]}, {names.lower()} add up to {fmt_money(total, t.units[metrics[0].cols[0]], s)} {{0}}."
        return NumericAnswer(text, [_ev_row(t, i)], arith, operation="sum")

    def _part_groups(self) -> dict[str, list[Fact]]:
        groups: dict[str, list[Fact]] = {}
        for f in self.db.facts:
            if f.kind == "part" and "|" in f.source_note:
                groups.setdefault(f.source_note.rsplit("|", 1)[1], []).append(f)
        return groups

    def _group_for(self, q: str) -> list[Fact]:
        """The listed components of the total that the question names best."""
        q_terms = set(content_terms(q)) - GENERIC
        by_id = {f.id: f for f in self.db.facts}
        best: tuple[float, list[Fact]] | None = None
        for parent_id, parts in self._part_groups().items():
            parent = by_id.get(parent_id)
            if parent is None:
                continue
            cov = self._coverage(q_terms, f"{parent.quote} {parent.period}")
            if cov > 0 and (best is None or cov > best[0]):
                best = (cov, parts)
        return best[1] if best else []

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
            subj = set(content_terms(_q(f.subject))) - GENERIC
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
        evidence = [_ev_fact(first), _ev_fact(other)]
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
            ctx = set(content_terms(_q(f"{text} {parent.period}")))
            cov = len(q_terms & ctx) / max(1, len(q_terms))
            if cov >= 0.45 and (best is None or cov > best[0]):
                best = (cov, parent, parts)
        if best is None:
            return None
        _, parent, parts = best
        parts = sorted(parts, key=lambda f: f.start)
        listing = "; ".join(f"{f.subject} ({f.text_value}) {{{k + 1}}}" for k, f in enumerate(parts))
        text = f"{parent.subject[0].upper() + parent.subject[1:]} ({parent.text_value}) {{0}} are led by: {listing}."
        return NumericAnswer(text, [_ev_fact(parent)] + [_ev_fact(f) for f in parts], operation="list")

    def _extreme_part(self, q: str, op: str) -> NumericAnswer | None:
        """The largest / smallest component of a total listed in the text."""
        q_terms = set(content_terms(q)) - GENERIC
        by_id = {f.id: f for f in self.db.facts}
        best: tuple[float, str] | None = None
        for parent_id in self._part_groups():
            parent = by_id.get(parent_id)
            if parent is None:
                continue
            cov = self._coverage(q_terms, f"{parent.quote} {parent.period}")
            if cov > 0 and (best is None or cov > best[0]):
                best = (cov, parent_id)
        if best is None:
            return None
        parts = [f for f in self._part_groups()[best[1]] if f.value is not None]
        parent = by_id[best[1]]
        pick = (max if op == "max" else min)(parts, key=lambda f: f.value or 0.0)
        listing = ", ".join(f"{f.subject} {f.text_value}" for f in parts)
        text = (f"The {'largest' if op == 'max' else 'smallest'} item listed is {pick.subject} ({pick.text_value}) {{0}}, "
                f"among {listing} in {parent.subject[0].lower() + parent.subject[1:]} ({parent.text_value}) {{1}}.")
        return NumericAnswer(text, [_ev_fact(pick), _ev_fact(parent)], operation=op)

    def _answer_parts(self, q: str) -> NumericAnswer | None:
        """Amounts of named components ("steel pipes ($12.4 million)"), one or several."""
        if not (AMOUNT_INTENT.search(q) or dict(OPS)["share"].search(q) or re.search(r"\beach\b|\bvalue", q)):
            return None
        q_terms = set(content_terms(q)) - GENERIC
        idf = self._idf()
        found = []
        for f in self.db.facts:
            if f.kind != "part":
                continue
            subj = set(content_terms(_q(f.subject))) - GENERIC
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
                found = [(1.0, f) for f in group]
        if not found:
            return None
        if wants_sum and len(found) >= 2:
            facts = [f for _, f in sorted(found, key=lambda x: x[1].start) if f.value is not None]
            scale = 1e6 if all(f.value >= 1e5 for f in facts) else 1.0
            total = sum(f.value for f in facts)
            unit = facts[0].unit
            arith = [" + ".join(fmt_scaled(f.value, scale) for f in facts) + f" = {fmt_scaled(total, scale)} ({unit_label(unit, scale)})"]
            listing = "; ".join(f"{f.subject} {f.text_value} {{{k}}}" for k, f in enumerate(facts))
            text = f"Together they come to {fmt_money(total, unit, scale)} ({listing})."
            return NumericAnswer(text, [_ev_fact(f) for f in facts], arith, operation="sum")
        if len(found) == 1 or dict(OPS)["share"].search(q):
            pick = found[0][1] if len(found) == 1 else max(found, key=lambda x: x[0])[1]
            years = YEAR_RE.findall(q)
            if years and pick.period and pick.period not in years:
                return NumericAnswer(
                    f"The article gives {pick.subject} only for {pick.period}: {pick.text_value} {{0}}; nothing for {', '.join(years)}.",
                    [_ev_fact(pick)], operation="out_of_range", abstain=True,
                )
            return self._answer_mentions(q, kinds=("part",), only=pick)
        facts = [f for _, f in sorted(found, key=lambda x: x[1].start)]
        text = "; ".join(f"{f.subject[0].upper() + f.subject[1:]}: {f.text_value} {{{k}}}" for k, f in enumerate(facts)) + "."
        return NumericAnswer(text, [_ev_fact(f) for f in facts], operation="parts")

    # ---- facts from sentences ------------------------------------------------------------------
    def _idf(self) -> dict[str, float]:
        if not hasattr(self, "_idf_cache"):
            import math

            df: dict[str, int] = {}
            for f in self.db.facts:
                for term in set(content_terms(f.subject)):
                    df[term] = df.get(term, 0) + 1
            n = max(1, len(self.db.facts))
            self._idf_cache = {t: math.log(1 + n / c) for t, c in df.items()}
        return self._idf_cache

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
            subj = set(content_terms(_q(f.subject))) - GENERIC
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
        if only is None and self._off_topic(q, f"{f.subject} {self._sentence_around(f)} {f.period}"):
            return None
        if share and f.kind == "part" and "|" in f.source_note:
            parent_id = f.source_note.rsplit("|", 1)[1]
            parent = next((p for p in self.db.facts if p.id == parent_id), None)
            if parent and parent.value and f.value is not None:
                pct = f.value / parent.value * 100
                s = 1e6 if parent.value >= 1e6 else 1.0
                arith = [f"{fmt_scaled(f.value, s)} / {fmt_scaled(parent.value, s)} × 100 = {fmt_number(pct, 1)}%"]
                text = (f"{f.subject[0].upper() + f.subject[1:]} ({f.text_value}) {{0}} made up {fmt_number(pct, 1)}% of "
                        f"{parent.subject[0].lower() + parent.subject[1:]} ({parent.text_value}) {{1}}.")
                return NumericAnswer(text, [_ev_fact(f), _ev_fact(parent)], arith, operation="share")
        if f.kind == "event":
            text = f"{f.subject}: {f.text_value} {{0}}."
        elif f.kind in ("count", "rank"):
            text = f"\"{f.quote}\" {{0}}."
        else:
            period = f" in {f.period}" if f.period and f.period not in f.quote else ""
            text = f"{f.subject[0].upper() + f.subject[1:]}: {f.text_value}{period} {{0}}."
            if f.kind == "part" and "|" in f.source_note:
                text = text[:-1] + f", part of {f.source_note.split('|')[0].removeprefix('part of: ')}."
        return NumericAnswer(text, [_ev_fact(f)], operation=f.kind)
