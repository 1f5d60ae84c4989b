"""Operations over tables keyed by names (attributes, products, models, architectures), not years.

A question is read once into a frozen ``TableAsk`` (rows and columns it names, the operation);
a registry of small functions answers it: the first whose ``applies`` holds and that returns an
answer wins. Values are exact decimals from the table; every row used is cited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from chatbot.facts.currency import currency_symbol
from chatbot.facts.extract import TableData
from chatbot.facts.match import MAX_WORDS, MIN_WORDS, Hit, match_columns, match_rows, matching_cells
from chatbot.facts.numbers import SCALE_NAMES
from chatbot.facts.question import (
    COUNT_INTENT,
    LESS_WORDS,
    MORE_WORDS,
    OPS,
    Metric,
    NumericAnswer,
    row_evidence,
)

SPREAD = re.compile(r"\bminus\b|\brange\b|\bspread\b|\bhow wide\b|\bdifference\b|\bgap\b|\bhow far apart\b")
DIVISION = re.compile(r"\bdivided by\b|\bover\b|\bper\b")
DIVIDED = re.compile(r"\bdivided by\b|\brelative to\b|\bratio\b|\bper\b|\bover\b")
NEGATION = re.compile(r"\b(?:other than|not|except|besides|apart from|excluding|without)\s+(?:the\s+|a\s+)?$")
SHARE = dict(OPS)["share"]
TABLE_WORDS = re.compile(r"\btable\b|\brows?\b|\blisted\b|\bentries\b|\bin total\b")
MAX_CITED_ROWS = 12


@dataclass(frozen=True)
class TableAsk:
    table: TableData
    q: str  # lower-case question
    rows: tuple[Hit, ...]
    columns: tuple[Hit, ...]
    flow: tuple[Metric, ...]  # columns or a balance resolved from a party's side
    extreme: str  # "max" | "min" | ""
    counting: bool

    @property
    def measures(self) -> list[Metric]:
        if self.flow:
            return list(self.flow)
        return [Metric(self.table.columns[h.index], (h.index,)) for h in self.columns]


def read_ask(t: TableData, q: str, flow: list[Metric]) -> TableAsk:
    rows = tuple(match_rows(t, q))
    cols = match_columns(t, q)
    direct = [h for h in cols if h.strength >= 1.0]
    # an extreme word after a verb ("benefited most", "grew the most") asks about a change, not a level
    words = set(re.findall(r"[a-z]+", re.sub(r"\b\w+ed\s+(?:the\s+)?(?:most|least)\b", " ", q)))
    extreme = "max" if words & MAX_WORDS else "min" if words & MIN_WORDS else ""
    if direct and not rows:
        cols = direct  # "which attribute has the highest mean": "highest" is the operation
    elif any(h.strength < 1.0 for h in cols):
        extreme = ""  # "the max <row>", "from lowest to highest": the extreme words name columns
    label_spans = [(h.start, h.end) for h in rows]
    cols = [h for h in cols if not any(a <= h.start and h.end <= b for a, b in label_spans)]
    return TableAsk(t, q, rows, tuple(cols), tuple(flow), extreme, bool(COUNT_INTENT.search(q)))


# ---- values and display --------------------------------------------------------------------------


def value(t: TableData, m: Metric, i: int) -> Decimal | None:
    ex = t.exact[i] if t.exact else ()
    if m.kind == "column":
        v = ex[m.cols[0]] if ex else None
        return Decimal(v) if v is not None else None
    e, imp = (ex[c] if ex else None for c in m.cols)
    if e is None or imp is None:
        return None
    if m.kind == "total":
        return Decimal(e) + Decimal(imp)
    surplus = Decimal(e) - Decimal(imp)
    surplus = -surplus if m.partner_side else surplus
    return -surplus if m.kind == "deficit" else surplus


def places(t: TableData, j: int, rows: list[int]) -> int:
    """Decimal places the cells a value comes from are written with."""
    most = 0
    for i in rows:
        m = re.search(r"\d\.(\d+)", t.cells[i][j])
        if m:
            most = max(most, len(m.group(1)))
    return most


def scaled(v: Decimal, t: TableData, j: int, rows: list[int] | None = None) -> Decimal:
    scale = Decimal(repr(t.scales[j])).normalize()
    x = v / scale if scale else v
    return x.quantize(Decimal(1).scaleb(-places(t, j, rows if rows is not None else list(range(len(t.labels))))))


def show(t: TableData, m: Metric, v: Decimal, rows: list[int] | None = None) -> str:
    j = m.cols[0]
    unit, scale = t.units[j], Decimal(repr(t.scales[j])).normalize()
    x = scaled(v, t, j, rows)
    body = f"{abs(x):,f}"
    sign = "−" if v < 0 else ""
    if unit == "percent":
        return f"{sign}{body}%"
    sym = currency_symbol(unit)
    words = SCALE_NAMES.get(float(scale), "")
    tail = f" {words}" if words else ""
    if sym:
        return f"{sign}{sym}{body}{tail}"
    return f"{sign}{body}{tail}" + (f" {unit}" if unit else "")


def plain(v: Decimal, t: TableData, m: Metric, rows: list[int] | None = None) -> str:
    x = scaled(v, t, m.cols[0], rows)
    return ("−" if x < 0 else "") + f"{abs(x):,f}"


def _label(t: TableData, i: int) -> str:
    return t.labels[i] or f"row {i + 1}"


def _cite(rows: list[int]) -> str:
    return "".join(f"{{{k}}}" for k in range(min(len(rows), MAX_CITED_ROWS)))


def _evidence(t: TableData, rows: list[int]) -> list:  # type: ignore[type-arg]
    return [row_evidence(t, i) for i in rows[:MAX_CITED_ROWS]]


def _row_indexes(ask: TableAsk) -> list[int]:
    """Named rows; where a label repeats, the ones whose other cells the question also names."""
    rows = list(dict.fromkeys(h.index for h in ask.rows))
    cells = {i for i, *_ in matching_cells(ask.table, ask.q)}
    narrowed = [i for i in rows if i in cells]
    return narrowed or rows


# ---- operations ----------------------------------------------------------------------------------


def count_rows(ask: TableAsk) -> NumericAnswer | None:
    """"How many configurations use X / are for label Y / use something other than Z?"."""
    t = ask.table
    rows = list(range(len(t.labels)))
    what = []
    if ask.rows:
        keys = {t.labels[h.index] for h in ask.rows}
        rows = [i for i in rows if t.labels[i] in keys]
        what.append(f"{t.columns[0] or 'label'} {' or '.join(sorted(keys))}")
    for j, hits in _cell_filters(ask).items():
        drop = {ask.q[a:b] for a, b in hits if NEGATION.search(ask.q[:a])}
        keep = {ask.q[a:b] for a, b in hits} - drop
        rows = [i for i in rows if (not keep or t.cells[i][j].lower() in keep) and t.cells[i][j].lower() not in drop]
        names = {c.lower(): c for c in (r[j] for r in t.cells)}
        if keep:
            what.append(f"{t.columns[j]} {' or '.join(sorted(names[k] for k in keep))}")
        if drop:
            what.append(f"{t.columns[j]} other than {', '.join(sorted(names[k] for k in drop))}")
    n = len(rows)
    scope = f" with {' and '.join(what)}" if what else ""
    text = f"The table lists {n} rows{scope} {_cite(rows or [0])}."
    arith = [f"rows counted{scope}: {n} of {len(t.labels)}"]
    return NumericAnswer(text, _evidence(t, rows or [0]), arith, operation="count")


def _text_only(ask: TableAsk) -> bool:
    """Every column the question names holds text (counting rows makes sense there)."""
    t = ask.table
    return all(all(t.values[i][m.cols[0]] is None for i in range(len(t.labels))) for m in ask.measures if m.kind == "column")


def _cell_filters(ask: TableAsk) -> dict[int, list[tuple[int, int]]]:
    out: dict[int, list[tuple[int, int]]] = {}
    for _, j, a, b in matching_cells(ask.table, ask.q):
        if (a, b) not in out.setdefault(j, []):
            out[j].append((a, b))
    return out


def column_difference(ask: TableAsk) -> NumericAnswer | None:
    """One row, two columns: "range of <row>, max minus min"."""
    t, (i,) = ask.table, _row_indexes(ask)[:1]
    a, b = ask.measures[:2]
    va, vb = value(t, a, i), value(t, b, i)
    if va is None or vb is None:
        return None
    hi, lo = (a, b) if va >= vb else (b, a)
    vh, vl = max(va, vb), min(va, vb)
    d = vh - vl
    r = [i]
    arith = [f"{_label(t, i)}: {t.columns[hi.cols[0]]} − {t.columns[lo.cols[0]]} = {plain(vh, t, hi, r)} − {plain(vl, t, lo, r)} = {plain(d, t, hi, r)}"]
    text = (f"For {_label(t, i)}, {t.columns[hi.cols[0]]} is {show(t, hi, vh, r)} and {t.columns[lo.cols[0]]} is "
            f"{show(t, lo, vl, r)}: a difference of {show(t, hi, d, r)} {{0}}.")
    return NumericAnswer(text, [row_evidence(t, i)], arith, operation="difference")


def ratio_extreme(ask: TableAsk) -> NumericAnswer | None:
    """No row, two columns divided, an extreme: "highest SD divided by mean"."""
    t = ask.table
    at = DIVISION.search(ask.q)
    if at is not None:  # "SD divided by mean": the column named last before it is divided
        before = [h for h in ask.columns if h.start < at.start()]
        num = max(before, key=lambda h: h.start) if before else ask.columns[0]
        den = next(h for h in ask.columns if h.index != num.index)
    else:  # "relative to its mean": the column named right after it divides
        rel = DIVIDED.search(ask.q)
        after = [h for h in ask.columns if rel and h.start >= rel.end()]
        den = min(after, key=lambda h: h.start) if after else ask.columns[-1]
        num = next(h for h in ask.columns if h.index != den.index)
    mn, md = Metric(t.columns[num.index], (num.index,)), Metric(t.columns[den.index], (den.index,))
    ratios = []
    for i in range(len(t.labels)):
        vn, vd = value(t, mn, i), value(t, md, i)
        if vn is not None and vd:
            ratios.append((vn / vd, i))
    if not ratios:
        return None
    r, i = (max if ask.extreme == "max" else min)(ratios)
    lines = [f"{_label(t, k)}: {plain(value(t, mn, k) or Decimal(0), t, mn, [k])} / {plain(value(t, md, k) or Decimal(0), t, md, [k])} = {_round(x)}"
             for x, k in ratios]
    text = (f"{_label(t, i)} has the {'highest' if ask.extreme == 'max' else 'lowest'} {mn.name} / {md.name}: "
            f"{_round(r)} {{0}}.")
    return NumericAnswer(text, [row_evidence(t, i)], lines, operation=f"ratio_{ask.extreme}")


def extreme_rows(ask: TableAsk) -> NumericAnswer | None:
    """Which row has the highest / lowest value of a column ("which model has the longest range")."""
    t, m = ask.table, ask.measures[0]
    candidates = _row_indexes(ask) if len(ask.rows) >= 3 else list(range(len(t.labels)))
    vals = [(v, i) for i in candidates if (v := value(t, m, i)) is not None]
    if len(vals) < 2:
        return None
    v, i = (max if ask.extreme == "max" else min)(vals)
    ranked = sorted(vals, key=lambda x: x[0], reverse=ask.extreme == "max")[:3]
    others = "; ".join(f"{_label(t, k)} {show(t, m, x, [k])}" for x, k in ranked[1:])
    text = (f"{_label(t, i)} has the {'highest' if ask.extreme == 'max' else 'lowest'} {m.name}: {show(t, m, v, [i])} {{0}}"
            + (f" (next: {others})" if others else "") + ".")
    return NumericAnswer(text, [row_evidence(t, i)], operation=ask.extreme)


def compare_rows(ask: TableAsk) -> NumericAnswer | None:
    """Two named rows on one column: which is higher, and by how much."""
    t, m = ask.table, ask.measures[0]
    low = ask.q.lower()
    rows = sorted(_row_indexes(ask)[:2], key=lambda i: (low.find(t.labels[i].lower()) % (len(low) + 1), i))  # as asked
    va, vb = value(t, m, rows[0]), value(t, m, rows[1])
    if va is None or vb is None:
        return None
    words = set(re.findall(r"[a-z]+", ask.q))
    want_less = bool(words & LESS_WORDS) and not words & MORE_WORDS
    pick = min if want_less else max
    (vw, w), (vo, o) = pick((va, rows[0]), (vb, rows[1])), (min if pick is max else max)((va, rows[0]), (vb, rows[1]))
    d = abs(va - vb)
    r = [w, o]
    arith = [f"{_label(t, w)} − {_label(t, o)} = {plain(vw, t, m, [w])} − {plain(vo, t, m, [o])} = {plain(vw - vo, t, m, r)}"]
    text = (f"{_label(t, w)} has the {'lower' if want_less else 'higher'} {m.name}: {show(t, m, vw, [w])} {{0}} against "
            f"{show(t, m, vo, [o])} for {_label(t, o)} {{1}}, a difference of {show(t, m, d, r)}.")
    return NumericAnswer(text, [row_evidence(t, w), row_evidence(t, o)], arith, operation="compare", compared=(float(va), float(vb)))


def lookup(ask: TableAsk) -> NumericAnswer | None:
    """Named rows × named columns: the cells, or for text tables the distinct values."""
    t = ask.table
    rows = _row_indexes(ask)
    parts, arith, cited = [], [], []
    for m in ask.measures:
        for i in rows:
            if m.kind == "column":
                cell = t.cells[i][m.cols[0]]
                if not cell.strip():
                    continue
                v = value(t, m, i)
                shown = show(t, m, v, [i]) if v is not None and currency_symbol(t.units[m.cols[0]]) else cell
            else:
                v = value(t, m, i)
                if v is None:
                    continue
                e, imp = m.cols
                first, second = (imp, e) if (m.kind == "deficit") != m.partner_side else (e, imp)
                sign = "+" if m.kind == "total" else "−"
                arith.append(f"{_label(t, i)}: {t.columns[first]} {sign} {t.columns[second]} = "
                             f"{plain(value(t, Metric('', (first,)), i) or Decimal(0), t, m, [i])} {sign} "
                             f"{plain(value(t, Metric('', (second,)), i) or Decimal(0), t, m, [i])} = {plain(v, t, m, [i])}")
                shown = show(t, m, v, [i])
            if i not in cited:
                cited.append(i)
            parts.append(f"{m.name} for {_label(t, i)}: {shown} {{{cited.index(i)}}}")
    if not parts:
        return None
    return NumericAnswer("; ".join(parts) + ".", _evidence(t, cited), arith, operation="value")


def _round(x: Decimal) -> str:
    return f"{x.quantize(Decimal('0.001')):f}"


Operation = tuple[str, Callable[[TableAsk], bool], Callable[[TableAsk], NumericAnswer | None]]
OPERATIONS: list[Operation] = [
    ("count", lambda a: a.counting and _text_only(a) and (bool(a.rows) or bool(_cell_filters(a)) or bool(TABLE_WORDS.search(a.q))), count_rows),
    ("column difference", lambda a: len(a.rows) >= 1 and len(a.measures) >= 2 and bool(SPREAD.search(a.q))
     and len(set(a.table.labels[h.index] for h in a.rows)) == 1, column_difference),
    ("ratio extreme", lambda a: not a.rows and len(a.columns) >= 2 and bool(a.extreme) and bool(DIVIDED.search(a.q)), ratio_extreme),
    ("extreme", lambda a: not SHARE.search(a.q) and (not a.rows or len(a.rows) >= 3) and len(a.measures) >= 1 and bool(a.extreme), extreme_rows),
    ("compare", lambda a: len({a.table.labels[h.index] for h in a.rows}) == 2 and len(a.measures) == 1
     and a.measures[0].kind == "column" and any(t.values[h.index][a.measures[0].cols[0]] is not None for t in [a.table] for h in a.rows), compare_rows),
    ("lookup", lambda a: bool(a.rows) and bool(a.measures), lookup),
]


def answer_keyed(t: TableData, q: str, flow: list[Metric]) -> NumericAnswer | None:
    """Answer a question from one name-keyed table, or None when it asks nothing of it."""
    ask = read_ask(t, q, flow)
    for _name, applies, run in OPERATIONS:
        if applies(ask):
            ans = run(ask)
            if ans is not None:
                return ans
    return None
