"""A year-keyed table read against one question: the metrics (columns, or a balance or total
derived from two) and the rows it names, and the values and their display.

``read_table`` makes the frozen ``TableRequest`` that every table operation (``table_ops``) reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from chatbot.facts.context import Ask, FactsView, Request
from chatbot.facts.extract import TableData
from chatbot.facts.flows import ask_flows
from chatbot.facts.numbers import fmt_money, fmt_scaled, unit_label
from chatbot.facts.question import (
    BALANCE_WORDS,
    FIRST_WORDS,
    LAST_WORDS,
    METRIC_SYNONYMS,
    QUALIFIERS,
    YEAR_RE,
    Metric,
)
from chatbot.text import content_terms, stem, words

TWO_WAY = re.compile(r"\b(?:two-way|turnover|bilateral|combined|overall|total)\b")
ALL_YEARS = re.compile(r"\ball (?:the |\w+ )?years\b|\bacross all\b|\bevery year\b")
YEAR_SPAN = re.compile(r"\b(?:(?:from\s+)?(\d{4})\s*(?:to|through|until|-|–)|between\s+(\d{4})\s*(?:and|-|–)|(\d{4})\s*(?:-|–|through))\s*(\d{4})\b")
BALANCE_NAMES = {"deficit": "Trade deficit", "surplus": "Trade surplus", "balance": "Trade balance"}


@dataclass(frozen=True)
class TableRequest:
    """One question put to one year-keyed table."""

    ask: Ask
    view: FactsView
    table: TableData
    metrics: tuple[Metric, ...]  # never empty
    from_flow: bool  # the metrics were resolved from a party's side of a flow table
    qualifier: str  # a qualifier the question uses and the table does not ("quarterly", "per capita"), or ""
    named: tuple[int, ...]  # the rows the question names, in its order
    missing: tuple[str, ...]  # years it names that the table lacks
    op: str | None  # the question's operation; "sum" for "total <metric> over <years>"
    rows: tuple[int, ...]  # the rows operated on: the named ones, or every row for "… across all years"

    @property
    def metric(self) -> Metric:
        return self.metrics[0]

    @property
    def every_row(self) -> list[int]:
        return list(range(len(self.table.labels)))

    @property
    def one_row(self) -> int:
        """The row named, or else the latest."""
        return self.rows[0] if self.rows else len(self.table.labels) - 1


def read_table(r: Request, t: TableData) -> TableRequest | None:
    """The question read against one table; ``None`` when it names none of its metrics."""
    flow = flow_metrics(r.view, t, r.ask)
    found = flow or named_metrics(t, r.ask)
    if not found:
        return None
    q = r.ask.q
    named, missing = table_rows(t, q)
    op = r.ask.op
    if op is None and len(named) >= 2 and re.search(r"\btotal\b", q) and len(found) == 1:
        op = "sum"  # "total exports to B over 2022-2024"
    rows = list(range(len(t.labels))) if op in ("sum", "average") and ALL_YEARS.search(q) else named
    known = set(content_terms(t.caption + " " + " ".join(t.columns)))
    qualifier = next((w for w in words(q) if w in QUALIFIERS and stem(w) not in known), "")
    return TableRequest(r.ask, r.view, t, tuple(found), bool(flow), qualifier, tuple(named), tuple(missing), op, tuple(rows))


# ---- which metrics and rows a question names -------------------------------------------------------


def metrics(view: FactsView, t: TableData, ask: Ask) -> list[Metric]:
    return flow_metrics(view, t, ask) or named_metrics(t, ask)


def flow_metrics(view: FactsView, t: TableData, ask: Ask) -> list[Metric]:
    """Columns of a flow table resolved from the asker's side ("what did B sell to A")."""
    ft = view.flow_tables.get(t.id)
    if ft is None:
        return []
    q = ask.q
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
    out += [m for m in named_metrics(t, ask) if m.kind == "column" and m.cols[0] not in flow_cols]
    return out


def _column_for(t: TableData, key: str) -> int | None:
    for j, c in enumerate(t.columns[1:], start=1):
        low = c.lower()
        if key in low or stem(key) in {stem(w) for w in re.findall(r"[a-z]+", low)}:
            return j
    return None


def _balance(t: TableData, q: str) -> Metric | None:
    """Exports minus imports, when the question asks for a deficit, surplus or balance."""
    if not any(w in q for w in BALANCE_WORDS):
        return None
    e, i = _column_for(t, "export"), _column_for(t, "import")
    if e is None or i is None:
        return None
    kind = "deficit" if "deficit" in q else "surplus" if "surplus" in q else "balance"
    return Metric(BALANCE_NAMES[kind], (e, i), kind)


def _names_column(col: str, ask: Ask) -> bool:
    """The question names the column: all its words, or a synonym of a metric key it contains."""
    col_terms = set(content_terms(re.sub(r"\([^)]*\)", " ", col)))
    if col_terms and col_terms <= ask.terms:
        return True
    # "total" alone names a total column only when no other metric is asked for
    return any((key in col.lower() or stem(key) in col_terms) and any(re.search(rf"\b{re.escape(s)}\b", ask.q) for s in syns)
               for key, syns in METRIC_SYNONYMS.items())


def named_metrics(t: TableData, ask: Ask) -> list[Metric]:
    balance = _balance(t, ask.q)
    if balance is not None:
        return [balance]
    found = [Metric(re.sub(r"\s*\([^)]*\)", "", col).strip() or col, (j,))
             for j, col in enumerate(t.columns[1:], start=1) if _names_column(col, ask)]
    # "e-book loans" names the "E-book loans" column, not also "Loans", whose words it holds
    if len(found) > 1:
        terms = {m.cols[0]: set(content_terms(re.sub(r"\([^)]*\)", " ", t.columns[m.cols[0]]))) for m in found if m.kind == "column"}
        found = [m for m in found if not any(terms.get(m.cols[0], set()) < terms.get(o.cols[0], set()) for o in found)]
    # "total exports" is the export column, not the total column
    if len(found) > 1:
        specific = [m for m in found if not re.search(r"\b(total|turnover|sum)\b", t.columns[m.cols[0]], re.I)
                    or any(re.search(rf"\b{re.escape(s)}\b", ask.q) for s in METRIC_SYNONYMS["turnover"] if s != "total")]
        found = specific or found
    return found


def table_rows(t: TableData, q: str) -> tuple[list[int], list[str]]:
    """Row indexes named in the question, and named years the table lacks."""
    idx: list[int] = []
    missing: list[str] = []
    labels = [lab.lower() for lab in t.labels]
    for y in YEAR_RE.findall(q):
        if y not in labels:
            missing.append(y)
        elif labels.index(y) not in idx:
            idx.append(labels.index(y))
    idx += [j for j, lab in enumerate(labels) if not YEAR_RE.fullmatch(lab) and re.search(rf"\b{re.escape(lab)}\b", q) and j not in idx]
    if not idx and not missing:
        if LAST_WORDS.search(q):
            idx.append(len(labels) - 1)
        elif FIRST_WORDS.search(q):
            idx.append(0)
    # "from 2022 to 2024", "between 2022 and 2024", "2022-2024" name every year in between ("2022 and 2024" does not)
    rng = YEAR_SPAN.search(q)
    if rng:
        first = rng.group(1) or rng.group(2) or rng.group(3)
        if first in labels and rng.group(4) in labels and len(set(YEAR_RE.findall(q))) == 2:
            a, b = labels.index(first), labels.index(rng.group(4))
            idx = list(range(min(a, b), max(a, b) + 1))
    return idx, missing


# ---- values ----------------------------------------------------------------------------------------


def value(t: TableData, m: Metric, i: int) -> float | None:
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


def show(t: TableData, m: Metric, i: int) -> str:
    v = value(t, m, i)
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


def derive(t: TableData, m: Metric, i: int) -> str | None:
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
