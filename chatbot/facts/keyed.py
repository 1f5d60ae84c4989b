"""Operations over tables keyed by names (attributes, products, models, architectures), not years.

A question is read once into a frozen ``TableAsk`` (rows and columns it names, the operation);
a registry of small functions answers it (``registry.KEYED_OPERATIONS``): the first that applies
and returns an answer wins. Values are exact decimals from the table; every row used is cited.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from chatbot.facts.column_words import (
    better_asked,
    better_directions,
    by_broader_words,
    column_by_definition,
    column_by_dimension,
    column_by_verb,
    header_unit,
    lead_in,
    same_dimension,
    speed_of_time,
    stems,
    topic_stems,
    without_other_counterparts,
    without_other_heads,
)
from chatbot.facts.currency import currency_symbol, is_currency_unit
from chatbot.facts.extract import TableData
from chatbot.facts.match import (
    GROUP,
    LOW_END,
    MAX_WORDS,
    MIN_WORDS,
    ORDINALS,
    PARTIAL,
    Hit,
    clean_label,
    label_key,
    match_columns,
    match_rows,
    matching_cells,
)
from chatbot.facts.numbers import SCALE_NAMES
from chatbot.facts.question import (
    COUNT_INTENT,
    LESS_WORDS,
    MORE_WORDS,
    OPS,
    Evidence,
    Metric,
    NumericAnswer,
    row_evidence,
)
from chatbot.text import STOPWORDS, stem
from chatbot.understanding import analyse

SPREAD = re.compile(r"\bminus\b|\brange\b|\bspread\b|\bhow wide\b|\bdifference\b|\bgap\b|\bhow far apart\b")
DIVISION = re.compile(r"\bdivided by\b|\bover\b|\bper\b")
PER = re.compile(r"\bper\b|\bdivided by\b|\bfor (?:each|every)\b")
DIVIDED = re.compile(r"\bdivided by\b|\brelative to\b|\bratio\b|\bper\b|\bover\b")
NEGATION = re.compile(r"\b(?:other than|not|except|besides|apart from|excluding|without)\s+(?:the\s+|a\s+)?$")
# a row the question sets aside ("leaving out the Pellucid", "excluding Total", "apart from X")
EXCLUDED = re.compile(r"\b(?:other than|except(?: for)?|besides|apart from|excluding|without|leaving out|leave out|left out|omitting|"
                      r"ignoring|not counting|not including)\s+(?:the\s+|a\s+)?$")
SHARE = dict(OPS)["share"]
LIST_NAMES = 12  # a count names the rows it counts when there are at most this many
TABLE_WORDS = re.compile(r"\btable\b|\brows?\b|\blisted\b|\bentries\b|\bin total\b")
SUM = dict(OPS)["sum"]
AVERAGE = re.compile(r"\baverage\b|\bmean\b|\bper (?:row|item|entry)\b")
TIMES = re.compile(r"\bhow many times\b|\btimes (?:as|more|larger|bigger|higher|greater|better|faster)\b|\btwice\b|\bfold\b")
LISTING = re.compile(r"^\s*(?:which|what|name|list)\b|\blist\b")
# Cell words that say yes or no (general English and the usual marks).
AFFIRM = {"yes", "y", "true", "✓", "✔", "x", "supported", "available", "included"}
NEGATE = {"no", "n", "false", "✗", "✘", "none", "not supported", "unsupported", "not available"}
NEGATED_ASK = re.compile(r"\b(?:not|no|without|lack|lacks|lacking|cannot|can't|don't|doesn't|isn't|aren't|never)\b")
WHOLE = re.compile(r"\b(?:total|whole|entire|overall|altogether|combined|all)\b")
MAX_CITED_ROWS = 12
YEARS = re.compile(r"\b(?:1[89]|20)\d{2}\b")


@dataclass(frozen=True)
class TableAsk:
    table: TableData
    q: str  # lower-case question
    rows: tuple[Hit, ...]
    columns: tuple[Hit, ...]
    flow: tuple[Metric, ...]  # columns or a balance resolved from a party's side
    extreme: str  # "max" | "min" | ""
    counting: bool
    rank: int = 1  # "the second largest": 2
    free: str = ""  # the question with the rows and columns it names blanked out: what it asks of them
    excluded: tuple[int, ...] = ()  # rows the question sets aside ("leaving out the Pellucid")
    where: tuple[int, str, Decimal] | None = None  # a bound on another column: (column, "ge", 240) for "that meet 240 km"
    top: int = 0  # "the top three", "its three biggest": that many rows from the top of the ranked column
    whole: tuple[Decimal, int, TableData] | None = None  # the same measure's total for the year asked, from a table of years
    lower_better: frozenset[int] = frozenset()  # columns the document says are better low ("lower is better")
    higher_better: frozenset[int] = frozenset()  # … better high ("so higher is better")

    @property
    def measures(self) -> list[Metric]:
        if self.flow:
            return list(self.flow)
        return [Metric(self.table.columns[h.index], (h.index,)) for h in self.columns]


def read_ask(t: TableData, q: str, flow: list[Metric]) -> TableAsk:
    rows = tuple(match_rows(t, q))
    cols = match_columns(t, q)
    direct = [h for h in cols if h.strength >= PARTIAL]
    # an extreme word after a verb ("benefited most", "grew the most") asks about a change, not a level
    # ("treated the most water" asks for a level: "most" there goes with the noun)
    words = set(re.findall(r"[a-z]+", CHANGE_EXTREME.sub(lambda m: m.group(0) if _of_noun(q, m.start(1)) else " ", AT_MOST.sub(" ", q))))
    extreme = "max" if words & MAX_WORDS else "min" if words & MIN_WORDS else _superlative(q)
    if direct and not rows:
        cols = direct  # "which attribute has the highest mean": "highest" is the operation
    elif any(h.strength < PARTIAL for h in cols):
        extreme = ""  # "the max <row>", "from lowest to highest": the extreme words name columns
    label_spans = [(h.start, h.end) for h in rows]
    cols = [h for h in cols if not any(a <= h.start and h.end <= b for a, b in label_spans)]
    free = q
    for h in (*rows, *cols):
        free = free[: h.start] + " " * (h.end - h.start) + free[h.end :]
    if (extreme or SPREAD.search(q)) and any(h.strength >= 1 for h in cols):
        cols = [h for h in cols if h.strength >= 1 or h.strength < PARTIAL]  # one column is named in full: the extreme is of it
    rank = next((ORDINALS[w] for w in re.findall(r"[a-z0-9]+", q) if w in ORDINALS), 1) if extreme else 1
    excluded = tuple(dict.fromkeys(h.index for h in rows if EXCLUDED.search(q[: h.start])))
    rows = tuple(h for h in rows if h.index not in excluded)
    return TableAsk(t, q, rows, tuple(cols), tuple(flow), extreme, bool(COUNT_INTENT.search(q)), rank, free, excluded, top=_top(q))


NUMERALS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
TOP = re.compile(r"\b(?:top|largest|biggest|leading|highest|main)\s+(\d{1,2}|two|three|four|five|six|seven|eight|nine|ten)\b"
                 r"|\b(\d{1,2}|two|three|four|five|six|seven|eight|nine|ten)\s+(?:top|largest|biggest|leading|highest|main)\b")


def _top(q: str) -> int:
    """N of "the top three" / "its three biggest", or 0."""
    m = TOP.search(q)
    if m is None:
        return 0
    word = m.group(1) or m.group(2)
    n = int(word) if word.isdigit() else NUMERALS[word]
    return n if n >= 2 else 0


AT_MOST = re.compile(r"\bat (?:least|most)\b")  # a bound ("at least 240 km"), not an extreme
CHANGE_EXTREME = re.compile(r"\b\w+ed\s+(?:the\s+)?(most|least)\b")


def _of_noun(q: str, at: int) -> bool:
    """Does the "most" / "least" at ``at`` go with a noun after it (spaCy parse)?"""
    from chatbot.understanding.nlp import parse

    tok = next((t for t in parse(q) if t.idx == at), None)
    return tok is not None and tok.head.pos_ in ("NOUN", "PROPN") and tok.head.i > tok.i


LOSS = re.compile(r"\b(?:loss(?:es)?|lost|lose[sr]?|losing|declines?|declined|drops?|dropped|falls?|fell|decreases?|decreased|"
                  r"reductions?|reduced|shr[iau]nk|cuts?)\b")
COMPARES = re.compile(r"\b(?:more|less|fewer|higher|lower|bigger|smaller|larger)\b")
QUANTITY = re.compile(r"\bhow (?:much|many|big|large|high|long|far)\b|\b(?:amount|number|level|rate|value|figure|total|count)\b")
TOTAL = re.compile(r"\btotal\b")  # "the total capacity": a sum, when the table has no total row to read
ASKS_WHOLE = re.compile(r"\b(?:total|overall|whole|entire|combined|altogether)\b")
AGE = re.compile(r"\b(newest|latest|youngest|most recent|oldest|earliest|first)\b")


def _year_valued(t: TableData, j: int) -> bool:
    """Every value of the column is a whole number that reads as a year (built, opened, founded)."""
    vals = [x for v in t.values if (x := v[j]) is not None]
    return len(vals) >= 2 and all(float(x).is_integer() and 1500 <= x <= 2100 for x in vals)


RANGE = re.compile(r"\brange\b|\bspread\b")
PER_UNIT = re.compile(r"\bper\s+([a-z][a-z0-9/²³]*)")
def _superlative(q: str) -> str:
    """"max" or "min" for a superlative adjective or adverb ("fastest", "slowest", "best"), by the
    spaCy tag and lemma; "" when there is none."""
    if not re.search(r"[a-z]{2}est\b|\bbest\b|\bworst\b", q):
        return ""
    from chatbot.understanding.nlp import parse

    for tok in parse(q):
        if tok.tag_ in ("JJS", "RBS"):
            return "min" if tok.lemma_.lower() in LOW_END or tok.lower_ == "worst" else "max"
    return ""


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


def scaled(v: Decimal, t: TableData, j: int, rows: list[int] | None = None, extra: int = 0) -> Decimal:
    """``v`` in the column's scale, with the decimal places its cells use (``extra`` more for a mean)."""
    scale = Decimal(repr(t.scales[j])).normalize()
    x = v / scale if scale else v
    digits = places(t, j, rows if rows is not None else list(range(len(t.labels)))) + extra
    x = x.quantize(Decimal(1).scaleb(-digits))
    return x.normalize() if extra and x == x.to_integral_value() else x


def show(t: TableData, m: Metric, v: Decimal, rows: list[int] | None = None, extra: int = 0) -> str:
    j = m.cols[0]
    if not t.units[j] and _year_valued(t, j) and v == v.to_integral_value():
        return str(int(v))  # a year: 2021, not 2,021
    unit, scale = t.units[j], Decimal(repr(t.scales[j])).normalize()
    x = scaled(v, t, j, rows, extra)
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


def plain(v: Decimal, t: TableData, m: Metric, rows: list[int] | None = None, extra: int = 0) -> str:
    x = scaled(v, t, m.cols[0], rows, extra)
    return ("−" if x < 0 else "") + f"{abs(x):,f}"


def _label(t: TableData, i: int) -> str:
    return clean_label(t.labels[i]) or f"row {i + 1}"


def _cite(rows: list[int]) -> str:
    return "".join(f"{{{k}}}" for k in range(min(len(rows), MAX_CITED_ROWS)))


def _evidence(t: TableData, rows: list[int]) -> list:  # type: ignore[type-arg]
    return [row_evidence(t, i) for i in rows[:MAX_CITED_ROWS]]


def _row_indexes(ask: TableAsk) -> list[int]:
    """Named rows; where a label repeats, the ones whose other cells the question also names."""
    rows = list(dict.fromkeys(h.index for h in ask.rows))
    keys = [label_key(ask.table.labels[i]) for i in rows]
    if len(set(keys)) == len(keys):
        return rows
    cells = {i for i, *_ in matching_cells(ask.table, ask.q)}
    narrowed = [i for i in rows if i in cells]
    return narrowed or rows


# ---- operations ----------------------------------------------------------------------------------


def count_rows(ask: TableAsk) -> NumericAnswer | None:
    """"How many configurations use X / are for label Y / use something other than Z?"."""
    t = ask.table
    rows = [i for i in range(len(t.labels)) if not is_summary(t.labels[i]) and i not in ask.excluded]  # a Total row is not one of them
    what = []
    if ask.rows:
        keys = {t.labels[h.index] for h in ask.rows}
        rows = [i for i in rows if t.labels[i] in keys]
        spans = {(h.start, h.end) for h in ask.rows}
        if all(h.strength == GROUP for h in ask.rows) and len(spans) == 1:  # "the zstd settings": the rows sharing a word
            a, b = next(iter(spans))
            what.append(f"“{ask.q[a:b]}” in {t.columns[0] or 'the label'}")
        else:
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
    listed = f": {', '.join(t.labels[i] for i in rows)}" if 0 < n <= LIST_NAMES else ""
    text = f"The table lists {n} rows{scope}{listed} {_cite(rows or [0])}."
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
    """Which row has the highest / lowest value of a column ("which model has the longest range"),
    or the n-th ("the second largest"); of several columns named, the one the extreme word is nearest."""
    t = ask.table
    m = _nearest_measure(ask)
    checked = ask.rows[0].index if _checks_one(ask) else None
    candidates = _row_indexes(ask) if len(ask.rows) >= 3 else [i for i in range(len(t.labels))
                                                                if not is_summary(t.labels[i]) and i not in ask.excluded]
    candidates = [i for i in candidates if _passes(ask, i)]
    vals = [(v, i) for i in candidates if (v := value(t, m, i)) is not None]
    if len(vals) < max(2, ask.rank):
        return None
    # a column of losses written as negative numbers ("Range loss −12.8%"): "lost the most" is the largest loss
    losses = all(x <= 0 for x, _ in vals) and bool(LOSS.search(ask.q + " " + m.name.lower()))
    better = better_asked(ask, m)  # "the best ratio" where the text says higher is better
    high = better == "max" if better else (ask.extreme == "max") != speed_of_time(ask, m)  # "the quickest to charge": the fewest minutes
    ranked = sorted(vals, key=lambda x: abs(x[0]) if losses else x[0], reverse=high)
    v, i = ranked[ask.rank - 1]
    word = ("largest" if high else "smallest") if losses else "highest" if high else "lowest"
    if ask.rank > 1:
        word = f"{next(w for w, n in ORDINALS.items() if n == ask.rank)} {word}"
        before = "; ".join(f"{_label(t, k)} {show(t, m, x, [k])}" for x, k in ranked[: ask.rank - 1])
        text = f"{_label(t, i)} has the {word} {m.name}: {show(t, m, v, [i])} {{0}} (after {before})."
    else:
        others = "; ".join(f"{_label(t, k)} {show(t, m, x, [k])}" for x, k in ranked[1:3])
        age = AGE.search(ask.q)
        said = f"is the {age.group(1)}, {m.name}" if age and _year_valued(t, m.cols[0]) else f"has the {word} {m.name}"
        text = f"{_label(t, i)} {said}: {show(t, m, v, [i])} {{0}}" + (f" (next: {others})" if others else "") + "."
    if ask.where is not None:
        j = ask.where[0]
        kept = "; ".join(f"{_label(t, k)} {show(t, Metric(t.columns[j], (j,)), x, [k])}" for k in candidates
                         if (x := value(t, Metric(t.columns[j], (j,)), k)) is not None)
        said_where = _where_said(ask)
        return NumericAnswer(said_where + text, [row_evidence(t, i)], [f"{said_where.rstrip(', ')}: {kept}"], operation=ask.extreme)
    ans = NumericAnswer(text, [row_evidence(t, i)], operation=ask.extreme)
    if checked is not None:
        if ask.rank == 1 and len([x for x, _ in vals if x == v]) > 1:
            return None  # a tie: neither yes nor no
        ans.verdict = "Yes" if checked == i else "No"
    return ans


def _wants_less(q: str) -> bool:
    """The question asks which is lower ("less", "fewer", "cheaper", "slower"): the comparative's lemma
    is the low end of its scale."""
    words = set(re.findall(r"[a-z]+", q))
    if words & MORE_WORDS:
        return False
    if words & LESS_WORDS:
        return True
    from chatbot.understanding.nlp import parse

    return any(tok.tag_ in ("JJR", "RBR") and tok.lemma_.lower() in LOW_END for tok in parse(q))


def _directions(q: str) -> set[str]:
    """Every extreme the question names: {"max", "min"} for "between the most expensive and the cheapest"."""
    words = set(re.findall(r"[a-z]+", AT_MOST.sub(" ", q)))
    out = {"max"} if words & MAX_WORDS else set()
    out |= {"min"} if words & MIN_WORDS else set()
    if re.search(r"[a-z]{2}est\b|\bbest\b|\bworst\b", q):
        from chatbot.understanding.nlp import parse

        for tok in parse(q):
            if tok.tag_ in ("JJS", "RBS") and tok.lower_ not in MAX_WORDS | MIN_WORDS:
                out.add("min" if tok.lemma_.lower() in LOW_END or tok.lower_ == "worst" else "max")
    return out


def spread_of_extremes(ask: TableAsk) -> NumericAnswer | None:
    """The gap between the highest and the lowest row of one column ("the price gap between the most
    expensive and the cheapest"), both rows cited."""
    t, m = ask.table, ask.measures[0]
    vals = [(v, i) for i in range(len(t.labels)) if not is_summary(t.labels[i]) and i not in ask.excluded
            and (v := value(t, m, i)) is not None]
    if len(vals) < 2:
        return None
    (vh, hi), (vl, lo) = max(vals), min(vals)
    r = [hi, lo]
    arith = [f"{_label(t, hi)} − {_label(t, lo)} = {plain(vh, t, m, [hi])} − {plain(vl, t, m, [lo])} = {plain(vh - vl, t, m, r)}"]
    text = (f"The highest {m.name} is {_label(t, hi)}'s {show(t, m, vh, [hi])} {{0}} and the lowest {_label(t, lo)}'s "
            f"{show(t, m, vl, [lo])} {{1}}: a difference of {show(t, m, vh - vl, r)}.")
    return NumericAnswer(text, [row_evidence(t, hi), row_evidence(t, lo)], arith, operation="difference")


def _nearest_measure(ask: TableAsk) -> Metric:
    if len(ask.measures) < 2 or ask.flow or not ask.columns:
        return ask.measures[0]
    at = re.search(rf"\b(?:{'|'.join(sorted(MAX_WORDS | MIN_WORDS))})\b|[a-z]{{2}}est\b|\bbest\b|\bworst\b", ask.q)
    if at is None:
        return ask.measures[0]
    h = min(ask.columns, key=lambda h: min(abs(h.start - at.end()), abs(at.start() - h.end)))
    return Metric(ask.table.columns[h.index], (h.index,))


def is_total(label: str) -> bool:
    """A row that sums the others ("Total", "All regions", "Overall")."""
    raw = label.strip().lower()
    words = label_key(label).split()
    if not words:
        return False
    if len(words) == 1:
        return words[0] in ("total", "totals", "overall", "sum", "all")
    # "Grand total", "All regions", "Total, all branches" — not "Total phenols" (a measure's name)
    return words[:2] == ["grand", "total"] or (words[0] == "all" and len(words) == 2) or bool(re.match(r"total\s*[,:(–-]", raw))


SUMMARY_WORDS = ("average", "mean", "median", "avg")


def is_summary(label: str) -> bool:
    """A row that sums or averages the others ("Total", "All regions", "Average", "Mean (all sites)"):
    never one of the rows an operation counts, ranks or adds up."""
    words = label_key(label).split()
    return is_total(label) or (bool(words) and words[0].strip("*_:") in SUMMARY_WORDS and len(words) <= 3)


def _summary_row(t: TableData, m: Metric) -> int | None:
    """The table's own average row holding a value of ``m``."""
    return next((i for i in range(len(t.labels)) if is_summary(t.labels[i]) and not is_total(t.labels[i])
                 and value(t, m, i) is not None), None)


def _rows_for_total(ask: TableAsk, m: Metric) -> list[tuple[Decimal, int]]:
    t = ask.table
    rows = _row_indexes(ask) if len({label_key(t.labels[h.index]) for h in ask.rows}) >= 2 else range(len(t.labels))
    return [(v, i) for i in rows if not is_summary(t.labels[i]) and i not in ask.excluded and (v := value(t, m, i)) is not None]


def aggregate(ask: TableAsk) -> NumericAnswer | None:
    """Sum or mean of a column over every row (or the rows named): "how many beds in total",
    "the average ratio of the five tools"."""
    t, m = ask.table, ask.measures[0]
    vals = _rows_for_total(ask, m)
    if len(vals) < 2:
        return None
    rows = [i for _, i in vals]
    total = sum((v for v, _ in vals), Decimal(0))
    terms = " + ".join(plain(v, t, m, [i]) for v, i in vals)
    if AVERAGE.search(ask.free):
        mean = total / len(vals)
        arith = [f"({terms}) / {len(vals)} = {plain(total, t, m, rows)} / {len(vals)} = {plain(mean, t, m, rows, extra=2)}"]
        text = f"The average {m.name} over the {len(vals)} rows{_leaving_out(ask)} is {show(t, m, mean, rows, extra=2)} {_cite(rows)}."
        return NumericAnswer(text, _evidence(t, rows), arith, operation="average")
    arith = [f"{terms} = {plain(total, t, m, rows)} ({len(vals)} rows)"]
    text = f"The {m.name} of the {len(vals)} rows{_leaving_out(ask)} add up to {show(t, m, total, rows)} {_cite(rows)}."
    return NumericAnswer(text, _evidence(t, rows), arith, operation="sum")


def _leaving_out(ask: TableAsk) -> str:
    return f" (leaving out {', '.join(_label(ask.table, i) for i in ask.excluded)})" if ask.excluded else ""


def row_share(ask: TableAsk) -> NumericAnswer | None:
    """One row's part of a column's total: "what share of all patients did X see"."""
    t, m = ask.table, ask.measures[0]
    (i,) = _row_indexes(ask)[:1]
    vals = _rows_for_total(ask, m)  # one row named: every row is the whole
    v = value(t, m, i)
    total = sum((x for x, _ in vals), Decimal(0))
    if v is None or not total or i not in [k for _, k in vals]:
        return None
    pct = v / total * 100
    rows = [i] + [k for _, k in vals if k != i]
    arith = [f"{plain(v, t, m, [i])} / ({' + '.join(plain(x, t, m, [k]) for x, k in vals)}) = "
             f"{plain(v, t, m, [i])} / {plain(total, t, m, rows)} = {_pct(pct)}% ({len(vals)} rows)"]
    text = (f"{_label(t, i)} has {_pct(pct)}% of the {m.name} total: {show(t, m, v, [i])} {{0}} of {show(t, m, total, rows)} "
            f"across the {len(vals)} rows {''.join(f'{{{k}}}' for k in range(1, min(len(rows), MAX_CITED_ROWS)))}.")
    return NumericAnswer(text, _evidence(t, rows), arith, operation="share")


def _total_row(ask: TableAsk) -> int | None:
    t = ask.table
    return next((i for i in range(len(t.labels)) if is_total(t.labels[i])), None)


def total_row(ask: TableAsk) -> NumericAnswer | None:
    """A column asked of no row, in a table with a total row: the table's own total ("how many staff
    does the whole service have?")."""
    t, m, i = ask.table, ask.measures[0], _total_row(ask)
    v = value(t, m, i) if i is not None else None
    if i is None or v is None:
        return None
    return NumericAnswer(f"{m.name}, {_label(t, i)}: {show(t, m, v, [i])} {{0}}.", [row_evidence(t, i)], operation="value")


def _pct(x: Decimal) -> str:
    return f"{x.quantize(Decimal('0.1')):f}"


def row_ratio(ask: TableAsk) -> NumericAnswer | None:
    """One row, one column per another: "how many patients per bed did X treat"."""
    t, (i,) = ask.table, _row_indexes(ask)[:1]
    # the "per" that divides, not one inside a column's name ("how many picks per hour is that per robot")
    at = next((m for m in PER.finditer(ask.q) if not any(h.start <= m.start() < h.end for h in ask.columns)), None)
    if at is None:
        return None
    before = [h for h in ask.columns if h.end <= at.start()]
    after = [h for h in ask.columns if h.start >= at.end()]
    if not before or not after:
        return None
    num, den = max(before, key=lambda h: h.start), min(after, key=lambda h: h.start)
    mn, md = Metric(t.columns[num.index], (num.index,)), Metric(t.columns[den.index], (den.index,))
    vn, vd = value(t, mn, i), value(t, md, i)
    if vn is None or not vd:
        return None
    r = vn / vd
    arith = [f"{_label(t, i)}: {mn.name} / {md.name} = {plain(vn, t, mn, [i])} / {plain(vd, t, md, [i])} = {_nice(r)}"]
    text = f"For {_label(t, i)}, {mn.name} per {md.name}: {plain(vn, t, mn, [i])} / {plain(vd, t, md, [i])} = {_nice(r)} {{0}}."
    return NumericAnswer(text, [row_evidence(t, i)], arith, operation="ratio")


def times_rows(ask: TableAsk) -> NumericAnswer | None:
    """Two named rows on one column, as a multiple: "how many times higher is A's ratio than B's"."""
    t, m = ask.table, ask.measures[0]
    rows = _as_asked(ask)
    if len(rows) < 2:
        return None
    a, b = rows
    va, vb = value(t, m, a), value(t, m, b)
    if va is None or not vb:
        return None
    r = va / vb
    arith = [f"{_label(t, a)} / {_label(t, b)} = {plain(va, t, m, [a])} / {plain(vb, t, m, [b])} = {_nice(r)}"]
    text = (f"{_label(t, a)}'s {m.name} is {_nice(r)} times {_label(t, b)}'s: {show(t, m, va, [a])} {{0}} against "
            f"{show(t, m, vb, [b])} {{1}}.")
    return NumericAnswer(text, [row_evidence(t, a), row_evidence(t, b)], arith, operation="ratio", compared=(float(va), float(vb)))


def _nice(x: Decimal) -> str:
    """A computed ratio: two decimals, trailing zeros dropped."""
    y = x.quantize(Decimal("0.01"))
    return f"{y.normalize():f}" if y == y.to_integral_value() else f"{y:f}"


def _as_asked(ask: TableAsk) -> list[int]:
    """The first two named rows, in the order the question names them."""
    at: dict[int, int] = {}
    for h in ask.rows:
        at[h.index] = min(at.get(h.index, h.start), h.start)
    return sorted(_row_indexes(ask)[:2], key=lambda i: (at.get(i, len(ask.q)), i))


# ---- yes/no columns ------------------------------------------------------------------------------


def _flag(t: TableData, i: int, j: int) -> bool | None:
    cell = t.cells[i][j].strip().lower()
    return True if cell in AFFIRM else False if cell in NEGATE else None


def flag_column(ask: TableAsk) -> int | None:
    """The yes/no column the question names (every filled cell says yes or no), if any."""
    t = ask.table
    for m in ask.measures:
        j = m.cols[0]
        cells = [t.cells[i][j].strip() for i in range(len(t.labels)) if t.cells[i][j].strip()]
        if m.kind == "column" and len(cells) >= 2 and all(_flag(t, i, j) is not None for i in range(len(t.labels)) if t.cells[i][j].strip()):
            return j
    return None


def flagged_rows(ask: TableAsk) -> NumericAnswer | None:
    """Which rows, or how many, say yes in a yes/no column ("which ones support streaming?", "how many
    clinics have an emergency unit?"); asked negatively ("which have no …"), the rows that say no."""
    t, j = ask.table, flag_column(ask)
    if j is None:
        return None
    want = not NEGATED_ASK.search(ask.free)
    rows = [i for i in range(len(t.labels)) if _flag(t, i, j) is want and not is_summary(t.labels[i])]
    said = "yes" if want else "no"
    names = ", ".join(_label(t, i) for i in rows) or "none"
    arith = [f"rows with {t.columns[j]} {said}: {len(rows)} of {len(t.labels)}"]
    if ask.counting:
        text = f"{len(rows)} of the {len(t.labels)} rows have {t.columns[j]}: {said} ({names}) {_cite(rows or [0])}."
    else:
        text = f"{t.columns[j]}: {said} for {names} {_cite(rows or [0])}."
    return NumericAnswer(text, _evidence(t, rows or [0]), arith, operation="count" if ask.counting else "list")


def compare_rows(ask: TableAsk) -> NumericAnswer | None:
    """Two named rows on one column: which is higher, and by how much."""
    t, m = ask.table, ask.measures[0]
    rows = _as_asked(ask)
    if len(rows) < 2:
        return None
    va, vb = value(t, m, rows[0]), value(t, m, rows[1])
    if va is None or vb is None:
        return None
    better = better_asked(ask, m)  # "is zq's ratio better than pakk's?" where the text says higher is better
    want_less = better == "min" if better else _wants_less(ask.q) != speed_of_time(ask, m)  # "quicker to charge": fewer minutes
    pick = min if want_less else max
    (vw, w), (vo, o) = pick((va, rows[0]), (vb, rows[1])), (min if pick is max else max)((va, rows[0]), (vb, rows[1]))
    d = abs(va - vb)
    r = [w, o]
    arith = [f"{_label(t, w)} − {_label(t, o)} = {plain(vw, t, m, [w])} − {plain(vo, t, m, [o])} = {plain(vw - vo, t, m, r)}"]
    text = (f"{_label(t, w)} has the {'lower' if want_less else 'higher'} {m.name}: {show(t, m, vw, [w])} {{0}} against "
            f"{show(t, m, vo, [o])} for {_label(t, o)} {{1}}, a difference of {show(t, m, d, r)}.")
    if better:  # the first row named is the one asked about: is it the better (or worse) one?
        ans = NumericAnswer(text, [row_evidence(t, w), row_evidence(t, o)], arith, operation="compare")
        ans.verdict = "Yes" if w == rows[0] else "No"
        return ans
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
    ans = NumericAnswer("; ".join(parts) + ".", _evidence(t, cited), arith, operation="value")
    j = flag_column(ask)
    if j is not None and len(rows) == 1 and len(ask.measures) == 1 and not NEGATED_ASK.search(ask.free):
        ans.verdict = "Yes" if _flag(t, rows[0], j) else "No"  # "does B support streaming?" — "no" in its row
    return ans


def _round(x: Decimal) -> str:
    """Three decimals, or three significant figures for a smaller ratio (0.0245, not 0.025)."""
    if x == 0 or abs(x) >= 1:
        return f"{x.quantize(Decimal('0.001')):f}"
    digits = -abs(x).adjusted() + 2  # 0.0245: adjusted −2 → 4 decimals
    return f"{x.quantize(Decimal(1).scaleb(-max(3, digits))):f}"


def _years_elsewhere(t: TableData, q: str, documents: Mapping[str, str] | None) -> bool:
    """The question names years, the table and the text above it name years, but not all of those."""
    asked = set(YEARS.findall(q))
    if not asked:
        return False
    held = set(YEARS.findall(" ".join((*t.labels, *t.columns, lead_in(t, documents)))))
    return bool(held) and not asked <= held


def _other_years(a: TableAsk) -> bool:
    """The question names years this table does not hold ("average over 2020–2024" of a product table)."""
    years = set(re.findall(r"\b(?:1[89]|20)\d{2}\b", a.q))
    held = " ".join((*a.table.labels, *a.table.columns, a.table.caption))
    return bool(years) and not all(y in held for y in years)


def _distinct_rows(a: TableAsk) -> int:
    return len({label_key(a.table.labels[h.index]) for h in a.rows})


def _one_column(a: TableAsk) -> bool:
    return len(a.measures) == 1 and a.measures[0].kind == "column"


def _repeated_label(a: TableAsk) -> bool:
    keys = [label_key(lab) for lab in a.table.labels]
    return any(keys.count(label_key(a.table.labels[h.index])) > 1 for h in a.rows)


# ---- when each operation applies (the order they are tried in is ``registry.KEYED_OPERATIONS``) -------


def flags_asked(a: TableAsk) -> bool:
    """"Which / how many rows support X?" of a yes/no column, naming no row."""
    return not a.rows and (a.counting or bool(LISTING.search(a.q))) and flag_column(a) is not None


def counts_rows(a: TableAsk) -> bool:
    """"How many …" over text columns, naming repeated rows, cells or the table itself, or the
    things its label column names ("how many plants are there?" of a table keyed by Plant)."""
    return a.counting and _text_only(a) and ((_repeated_label(a) or bool(a.measures)) and bool(a.rows) or bool(_cell_filters(a))
                                             or bool(TABLE_WORDS.search(a.q)) or _names_label_column(a))


def _names_label_column(a: TableAsk) -> bool:
    head = a.table.columns[0]
    return not a.rows and not a.columns and bool(head.strip()) and stems(head) <= stems(a.q)


def one_row_per(a: TableAsk) -> bool:
    """One row, two columns, one per the other ("cost per seat")."""
    return _distinct_rows(a) == 1 and len(a.columns) >= 2 and not a.flow and bool(PER.search(a.q))


def one_row_share(a: TableAsk) -> bool:
    """One row's share of a column (not of a column of percentages, which do not add up to a whole)."""
    return (_distinct_rows(a) == 1 and _one_column(a) and bool(SHARE.search(a.free))
            and not (a.columns and a.table.units[a.columns[0].index] == "percent"))


def aggregate_asked(a: TableAsk) -> bool:
    """A sum or mean of one column over the rows (not one row, not an extreme, no years the table lacks)."""
    return (_distinct_rows(a) != 1 and _one_column(a) and not a.extreme and not _other_years(a)
            and bool(SUM.search(a.free) or AVERAGE.search(a.free) or (TOTAL.search(a.free) and _total_row(a) is None)))


def whole_asked(a: TableAsk) -> bool:
    """One column of no row, "the whole …", in a table with a total row."""
    return not a.rows and _one_column(a) and not a.extreme and bool(WHOLE.search(a.free)) and _total_row(a) is not None


def two_rows_times(a: TableAsk) -> bool:
    """Two rows, one column, "how many times"."""
    return _distinct_rows(a) == 2 and _one_column(a) and bool(TIMES.search(a.free))


def one_row_spread(a: TableAsk) -> bool:
    """One row label, two columns, and a spread asked for ("range", "minus")."""
    return len(a.rows) >= 1 and len(a.measures) >= 2 and bool(SPREAD.search(a.q)) and len(set(a.table.labels[h.index] for h in a.rows)) == 1


def _ranked_top(ask: TableAsk, m: Metric) -> tuple[list[tuple[Decimal, int]], list[tuple[Decimal, int]]] | None:
    """The top ``ask.top`` rows of a column, and every row (summary rows left out), or None."""
    t = ask.table
    vals = [(v, i) for i in range(len(t.labels)) if not is_summary(t.labels[i]) and i not in ask.excluded
            and (v := value(t, m, i)) is not None]
    if len(vals) <= ask.top:
        return None
    return sorted(vals, key=lambda x: x[0], reverse=True)[: ask.top], vals


def top_rows_asked(a: TableAsk) -> bool:
    """No row named, one numeric column, "the top three …" (their list, sum or share of the whole)."""
    return bool(a.top) and not a.rows and _one_column(a) and a.where is None


def top_rows(ask: TableAsk) -> NumericAnswer | None:
    """"The top three product groups": which they are, what they add up to, and their share of all rows."""
    t, m = ask.table, ask.measures[0]
    ranked = _ranked_top(ask, m)
    if ranked is None:
        return None
    top, vals = ranked
    rows = [i for _, i in top]
    part = sum((v for v, _ in top), Decimal(0))
    whole = sum((v for v, _ in vals), Decimal(0))
    names = "; ".join(f"{_label(t, i)} {show(t, m, v, [i])} {{{k}}}" for k, (v, i) in enumerate(top))
    arith = [f"{' + '.join(plain(v, t, m, [i]) for v, i in top)} = {plain(part, t, m, rows)} (the top {len(top)} of {len(vals)} rows)"]
    text = f"The top {len(top)} by {m.name}: {names}; together {show(t, m, part, rows)}"
    evidence = _evidence(t, rows)
    if SHARE.search(ask.q) and ask.whole is not None:  # the whole the document gives for the year asked, in its table of years
        total, k, yt = ask.whole
        pct = part / total * 100
        jm = Metric(yt.columns[_same_column(yt, t, m)], (_same_column(yt, t, m),))
        arith.append(f"{plain(part, t, m, rows)} / {plain(total, yt, jm, [k])} = {_pct(pct)}%")
        text += f", {_pct(pct)}% of the {yt.columns[m.cols[0]] if m.kind == 'column' else m.name} total for {yt.labels[k]}, " \
                f"{yt.cells[k][_same_column(yt, t, m)]} {{{len(rows)}}}"
        evidence.append(row_evidence(yt, k))
    elif SHARE.search(ask.q) and whole:
        pct = part / whole * 100
        arith.append(f"{plain(part, t, m, rows)} / ({' + '.join(plain(v, t, m, [i]) for v, i in vals)}) = "
                     f"{plain(part, t, m, rows)} / {plain(whole, t, m, [i for _, i in vals])} = {_pct(pct)}%")
        text += f", {_pct(pct)}% of the {show(t, m, whole, [i for _, i in vals])} across all {len(vals)} rows"
    return NumericAnswer(text + ".", evidence, arith, operation="share" if SHARE.search(ask.q) else "sum")


def _same_column(yt: TableData, t: TableData, m: Metric) -> int:
    """The column of a table of years named like the measure of a name-keyed table (-1 when none)."""
    name = label_key(t.columns[m.cols[0]]) if m.kind == "column" else ""
    return next((j for j in range(1, len(yt.columns)) if name and label_key(yt.columns[j]) == name and yt.units[j] == t.units[m.cols[0]]), -1)


def whole_for_year(ask: TableAsk, tables: Sequence[TableData], years: tuple[str, ...]) -> TableAsk:
    """Give "the top three's share of 2024 exports" the whole of that year: the same column of a table of
    years in the same document (a breakdown's rows need not add up to the total)."""
    m = ask.measures[0] if ask.measures else None
    if not ask.top or m is None or m.kind != "column" or len(years) != 1:
        return ask
    for yt in tables:
        if yt is ask.table or yt.doc_id != ask.table.doc_id or not yt.year_keyed:
            continue
        j = _same_column(yt, ask.table, m)
        k = next((i for i, lab in enumerate(yt.labels) if lab.strip() == years[0]), None)
        if j >= 0 and k is not None and yt.exact and yt.exact[k][j] is not None:
            return replace(ask, whole=(Decimal(yt.exact[k][j] or "0"), k, yt))
    return ask


def spread_of_extremes_asked(a: TableAsk) -> bool:
    """No row, one numeric column, a gap asked between its highest and its lowest."""
    return not a.rows and a.where is None and _one_column(a) and bool(SPREAD.search(a.q)) and _directions(a.q) == {"max", "min"}


def extreme_of_ratio(a: TableAsk) -> bool:
    """No row, two columns divided, an extreme."""
    return not a.rows and len(a.columns) >= 2 and bool(a.extreme) and bool(DIVIDED.search(a.q))


def extreme_asked(a: TableAsk) -> bool:
    """An extreme of a column over all rows (or three or more named), not a share."""
    return not SHARE.search(a.q) and (not a.rows or len(a.rows) >= 3 or _checks_one(a)) and len(a.measures) >= 1 and bool(a.extreme)


def _checks_one(a: TableAsk) -> bool:
    """A yes/no question whether one named row is the extreme ("is class_1 the biggest class?")."""
    return len({a.table.labels[h.index] for h in a.rows}) == 1 and analyse(a.q).is_yes_no


def two_rows_one_column(a: TableAsk) -> bool:
    """Two row labels and one numeric column."""
    return (len({a.table.labels[h.index] for h in a.rows}) == 2 and len(a.measures) == 1 and a.measures[0].kind == "column"
            and any(a.table.values[h.index][a.measures[0].cols[0]] is not None for h in a.rows))


def rows_and_columns(a: TableAsk) -> bool:
    # a column named only by a modifier ("during testing" → "Tested range") is asked for only with a quantity
    weak = bool(a.columns) and not a.flow and all(h.strength == PARTIAL and not h.head for h in a.columns)
    return bool(a.rows) and bool(a.measures) and not _asks_kind(a) and not (weak and not QUANTITY.search(a.q))


def _asks_kind(a: TableAsk) -> bool:
    """"What fuel does the Skua run on?" asks which fuel, not how much of it: "what"/"which" governs
    the word that named a numeric column, and nothing in the question asks for a quantity."""
    if QUANTITY.search(a.q):
        return False
    from chatbot.understanding.nlp import parse

    spans = [(h.start, h.end) for h in a.columns if any(a.table.values[i][h.index] is not None for i in range(len(a.table.labels)))]
    doc = parse(a.q)
    root = next((tok.lemma_.lower() for tok in doc if tok.dep_ == "ROOT"), "")
    for tok in doc:
        if tok.tag_ == "WDT" and tok.dep_ == "det" and any(s <= tok.head.idx < e for s, e in spans):
            # "what payload does X have?", "what ratio does X reach?": the verb holds or attains the figure
            return root not in HOLDING_VERBS
    return False


# Verbs whose object is a figure the subject holds or attains (general English).
HOLDING_VERBS = {"have", "be", "get", "reach", "achieve", "attain", "offer", "score", "record", "hit", "manage", "post", "show"}


# "that meet the 240 km requirement", "with at least 250 km", "over 1.2 t": a number whose unit names one column
UNIT_BOUND = re.compile(r"\b(meets?|meeting|satisf(?:y|ies|ying)|reach(?:es|ing)?|exceeds?|exceeding|more than|over|above|at least|"
                        r"less than|under|below|at most)\s+(?:the\s+|a\s+)?[^\d\s]{0,2}(\d[\d,]*(?:\.\d+)?)\s?([a-z%][a-z/]*)")


def _unit_bound(t: TableData, q: str) -> tuple[int, str, Decimal] | None:
    m = UNIT_BOUND.search(q)
    if m is None:
        return None
    unit = m.group(3)
    cols = [j for j in range(1, len(t.columns)) if unit in (t.units[j].lower(), header_unit(t.columns[j]))]
    if len(cols) != 1:
        return None
    word = m.group(1)
    op = ("lt" if word in ("less than", "under", "below") else "le" if word == "at most"
          else "gt" if word in ("more than", "over", "above") or word.startswith("exceed") else "ge")
    return cols[0], op, Decimal(m.group(2).replace(",", ""))


def _passes(ask: TableAsk, i: int) -> bool:
    if ask.where is None:
        return True
    j, op, n = ask.where
    v = value(ask.table, Metric(ask.table.columns[j], (j,)), i)
    return v is not None and {"gt": v > n, "ge": v >= n, "lt": v < n, "le": v <= n}[op]


def _where_said(ask: TableAsk) -> str:
    if ask.where is None:
        return ""
    j, op, n = ask.where
    t = ask.table
    return f"Of the rows with {t.columns[j]} {dict(gt='>', ge='≥', lt='<', le='≤')[op]} {n.normalize():,f} {t.units[j]}".rstrip() + ", "


def read_keyed(t: TableData, q: str, flow: list[Metric], documents: Mapping[str, str] | None = None) -> TableAsk | None:
    """The question read against one name-keyed table (``read_ask``), where a table of one measure
    named only by the text above it ("Electricity used per site" → Power) takes that measure;
    ``None`` when the question names years the table and the text above it do not ("fertiliser
    sales in 2023" of a table of 2024)."""
    if _years_elsewhere(t, q, documents):
        return None
    ask = read_ask(t, q, flow)
    text = (documents or {}).get(t.doc_id, "")
    other = [h for h in ask.rows if h.strength <= 1.0 and _part_of_other_name(t.labels[h.index], q, h, text)]
    if other:  # "the Lennerdale Bird Trust" is not the row "Lennerdale Mountain Rescue"
        ask = replace(ask, rows=tuple(h for h in ask.rows if h not in other))
    per = PER_UNIT.search(q)
    if per is not None:  # "energy cost per km": the column measured in km divides
        unit = per.group(1)
        j = next((j for j in range(1, len(t.columns)) if unit in (t.units[j].lower(), header_unit(t.columns[j]))), None)
        if j is not None and all(h.index != j for h in ask.columns):
            ask = replace(ask, columns=(*ask.columns, Hit(j, per.start(1), per.end(1), PARTIAL)))
    age = AGE.search(q)
    if age is not None and not ask.columns:  # "the newest vessel": the column of years it was built, latest first
        years = [j for j in range(1, len(t.columns)) if _year_valued(t, j)]
        if len(years) == 1:
            newest = age.group(1) in ("newest", "latest", "youngest", "most recent", "last")
            ask = replace(ask, columns=(Hit(years[0], age.start(), age.end(), PARTIAL),), extreme="max" if newest else "min")
    ask = without_other_heads(ask, documents)
    low, high = better_directions(t.columns, (documents or {}).get(t.doc_id, ""))
    ask = replace(ask, lower_better=low, higher_better=high)
    if not ask.rows and not ask.columns and not flow:  # "the strongest booze": a word the document never uses, for its "Alcohol"
        ask = by_broader_words(ask, (documents or {}).get(t.doc_id, ""))
    if ask.rows and not ask.columns and not flow and ask.extreme:  # "the strongest alcohol": the row's Max column
        edge = [j for j in range(1, len(t.columns)) if t.columns[j].strip().lower().rstrip(".") in (MAX_WORDS if ask.extreme == "max" else MIN_WORDS)]
        if len(edge) == 1 and len({label_key(t.labels[h.index]) for h in ask.rows}) == 1:
            ask = replace(ask, columns=(Hit(edge[0], 0, 0, PARTIAL),), extreme="")
    ask = without_other_counterparts(ask)
    if not ask.columns and not flow:  # "how much more did North Ridge generate?": the Output column, a noun of the verb
        j = column_by_verb(t, ask.free)
        if j is not None:
            ask = replace(ask, columns=(Hit(j, 0, 0, PARTIAL),), extreme=ask.extreme or _superlative(q))
    if not ask.columns and not flow:  # "how many passengers can the Gannet carry?": the text defines Capacity by passengers
        j = column_by_definition(t, q, (documents or {}).get(t.doc_id, ""))
        if j is not None:
            ask = replace(ask, columns=(Hit(j, 0, 0, PARTIAL),))
    if HOW_MANY.search(q) and ask.columns and not flow and not ask.extreme and all(is_currency_unit(t.units[h.index]) for h in ask.columns):
        j = _counted_column(t, q)  # "how many freshers get the bursary": the Recipients, not the sums in pounds
        if j is not None:
            ask = replace(ask, columns=(Hit(j, 0, 0, PARTIAL),))
    if PERCENT_ASKED.search(q) and ask.columns and not flow:  # "what % of applicants got an offer": the Offer rate column
        j = _percent_column(t, ask)
        if j is not None:
            ask = replace(ask, columns=(Hit(j, 0, 0, PARTIAL),))
    where = _unit_bound(t, q)
    if where is not None and (ask.extreme or _superlative(q)):  # "of those that meet 240 km, the cheapest": a filter, then the extreme
        ask = replace(ask, where=where, columns=tuple(h for h in ask.columns if h.index != where[0]))
    elif where is not None and not ask.columns:  # "which hold at least 1.5 l": the unit names the column bounded
        ask = replace(ask, columns=(Hit(where[0], 0, 0, PARTIAL),))
    if ask.columns and ask.extreme and not flow and not ask.rows:  # "where were the robots out of action the longest": hours, not robots
        j = column_by_dimension(t, ask.free)
        if j is not None and all(h.index != j and not same_dimension(t, h.index, j) for h in ask.columns):
            ask = replace(ask, columns=(Hit(j, 0, 0, PARTIAL),))
    if not ask.columns and not flow:  # "which is cheaper": the one column of prices
        j = column_by_dimension(t, ask.free, nouns=True)  # the names blanked: "Hauler" is no verb of carrying
        if j is not None:
            ask = replace(ask, columns=(Hit(j, 0, 0, PARTIAL),), extreme=ask.extreme or _superlative(q))
    if RANGE.search(q) and len(ask.columns) < 2:  # "the range of nitrogen": its Max minus its Min column
        ends = [next((j for j in range(1, len(t.columns)) if t.columns[j].strip().lower().rstrip(".") in words), None)
                for words in (MAX_WORDS | {"high"}, MIN_WORDS | {"low"})]
        if all(j is not None for j in ends):
            ask = replace(ask, columns=tuple(Hit(j, 0, 0, PARTIAL) for j in ends if j is not None))
    # a total row ("All routes") is asked for by its name or a word for the whole, not by the noun
    # its label shares with the table ("which route carried the most")
    named = tuple(h for h in ask.rows if not is_total(t.labels[h.index]) or t.labels[h.index].lower() in q or ASKS_WHOLE.search(q))
    if len(named) < len(ask.rows):
        ask = replace(ask, rows=named)
    if ask.excluded or _average_bound(q):  # "the average, leaving out X" / "above the average": computed, not read
        summary = [h for h in ask.rows if is_summary(t.labels[h.index])]
        free = ask.free
        for h in summary:  # the word that named the row asks for the operation again
            free = free[: h.start] + q[h.start : h.end] + free[h.end :]
        ask = replace(ask, rows=tuple(h for h in ask.rows if h not in summary), free=free)
    parts = tuple(h for h in ask.rows if not is_total(t.labels[h.index]))
    if SHARE.search(q) and parts and len(parts) < len(ask.rows):
        ask = replace(ask, rows=parts)  # "Corran Bridge's share of the total": the total is the whole, not a row asked about
    values = [j for j in range(1, len(t.columns)) if any(v[j] is not None for v in t.values)]
    # a table of one measure: a question naming the text above it, or naming its rows and asking for a
    # quantity ("is class_1 the biggest?", not "what does qhash.c do?"), asks for that measure
    if not ask.columns and not flow and len(values) == 1 and (
        (ask.rows and bool(QUANTITY.search(q) or ask.extreme or SHARE.search(q) or COMPARES.search(q)))
        or topic_stems(q) & (stems(lead_in(t, documents)) - stems(" ".join(t.labels)))
    ):
        ask = replace(ask, columns=(Hit(values[0], 0, 0, PARTIAL),))
    return ask


HOW_MANY = re.compile(r"\bhow many\s+([a-z\-]{3,})(?:\s+([a-z]{3,}))?")


def _counted_column(t: TableData, q: str) -> int | None:
    """The one numeric column, not in a currency, whose name is a noun of the same kind (WordNet: persons,
    organisations, places) as the noun "how many" counts."""
    from chatbot.understanding.kinds import noun_kind

    m = HOW_MANY.search(q)  # "how many freshers", "how many new students"
    kind = next((k for w in (m.groups() if m else ()) if w and (k := noun_kind(w)) is not None), None)
    if kind is None:
        return None
    hits = [j for j in range(1, len(t.columns)) if any(v[j] is not None for v in t.values) and not is_currency_unit(t.units[j])
            and t.units[j] != "percent" and any(noun_kind(w) is kind for w in re.findall(r"[a-z]{3,}", t.columns[j].lower()))]
    return hits[0] if len(hits) == 1 else None


PERCENT_ASKED = re.compile(r"%|\bper ?cent(?:age)?\b|\bproportion\b")


def _percent_column(t: TableData, ask: TableAsk) -> int | None:
    """The one column in percent sharing a word with the columns the question names, when none of
    them is in percent ("what % of applicants got an offer" names Applications and Offers: Offer rate)."""
    if any(t.units[h.index] == "percent" for h in ask.columns):
        return None
    named = stems(" ".join(t.columns[h.index] for h in ask.columns))
    hits = [j for j in range(1, len(t.columns)) if t.units[j] == "percent" and stems(t.columns[j]) & named]
    return hits[0] if len(hits) == 1 else None


def _part_of_other_name(label: str, q: str, h: Hit, text: str) -> bool:
    """The question's word for a row goes on, with its neighbour, into a longer name the document uses
    and the row's label does not ("Lennerdale Bird Trust" against the row "Lennerdale Mountain Rescue")."""
    if not text:
        return False
    lab = label_key(label)
    word = q[h.start : h.end].lower()
    after = re.match(r"\s+([A-Za-z][a-z\-]+)", q[h.end :])
    before = re.search(r"([A-Za-z][a-z\-]+)\s+$", q[: h.start])
    for first, second, extra in ((word, after.group(1).lower(), after.group(1).lower()) if after else ("", "", ""),
                                 (before.group(1).lower(), word, before.group(1).lower()) if before else ("", "", "")):
        if not extra or extra in STOPWORDS or extra in lab:
            continue
        # both words capitalised in the document: one name ("Lennerdale Bird Trust")
        if re.search(rf"\b{re.escape(first.capitalize())}\s+{re.escape(second.capitalize())}\b", text):
            return True
    return False


# "which rows have a negative X", "which drove more than 15,000 km": rows kept by a bound on a column
SIGN = re.compile(r"\b(negative|positive|below zero|above zero|less than zero|greater than zero|more than zero)\b")
BOUND = re.compile(r"\b(more than|greater than|higher than|larger than|above|over|at least|less than|fewer than|lower than|"
                   r"smaller than|below|under|at most)\s+[^\d\s]{0,2}(\d[\d,]*(?:\.\d+)?)")
BOUND_ABOVE = ("more than", "greater than", "higher than", "larger than", "above", "over", "at least")


def _bound(q: str) -> tuple[str, Decimal] | None:
    """("gt" | "ge" | "lt" | "le", the number) of the question's bound, or None."""
    m = SIGN.search(q)
    if m:
        return ("lt" if m.group(1) in ("negative", "below zero", "less than zero") else "gt", Decimal(0))
    m = BOUND.search(q)
    if m is None or YEAR_ONLY.fullmatch(m.group(2)):
        return None
    word, n = m.group(1), Decimal(m.group(2).replace(",", ""))
    if word in BOUND_ABOVE:
        return ("ge" if word == "at least" else "gt", n)
    return ("le" if word == "at most" else "lt", n)


YEAR_ONLY = re.compile(r"1[89]\d{2}|20\d{2}")
# "which cost more than the (trial) average (price)": the bound is the column's own average
AVERAGE_BOUND = re.compile(r"\b(more than|greater than|higher than|larger than|above|over|less than|fewer than|lower than|"
                           r"smaller than|below|under)\s+(?:the\s+)?(?:[a-z]+\s+){0,2}?(?:average|mean)\b")


def _average_bound(q: str) -> str:
    """"gt" or "lt" when the question bounds rows by the average ("above the average price"), else ""."""
    m = AVERAGE_BOUND.search(q)
    if m is None:
        return ""
    return "gt" if m.group(1) in BOUND_ABOVE else "lt"


def _average_of(ask: TableAsk, m: Metric) -> tuple[Decimal, list[int], str] | None:
    """The column's average: the table's own average row when it has one (cited), else the mean of its rows."""
    t = ask.table
    k = _summary_row(t, m)
    if k is not None:
        v = value(t, m, k)
        return (v, [k], f"the {_label(t, k)} row's {show(t, m, v, [k])}") if v is not None else None
    vals = [(v, i) for i in range(len(t.labels)) if not is_summary(t.labels[i]) and (v := value(t, m, i)) is not None]
    if len(vals) < 2:
        return None
    mean = sum((v for v, _ in vals), Decimal(0)) / len(vals)
    return mean, [], f"the mean of the {len(vals)} rows, {show(t, m, mean, [i for _, i in vals], extra=2)}"


def _unknown_name(a: TableAsk) -> str:
    """A name in the question that no dictionary knows and the table does not hold ("lzma")."""
    from chatbot.understanding.wordnet_seek import is_dictionary_word

    held = stems(" ".join((*a.table.labels, *a.table.columns, *(c for row in a.table.cells for c in row))))
    for m in re.finditer(r"[a-z][a-z0-9]{2,}", a.free):
        w = m.group(0)
        if w not in STOPWORDS and stem(w) not in held and not is_dictionary_word(w) and not is_dictionary_word(stem(w)):
            return w
    return ""


def no_such_row_asked(a: TableAsk) -> bool:
    """The question asks the table ("in the benchmark table") for a column of a row it does not have."""
    return not a.rows and bool(a.columns) and bool(TABLE_WORDS.search(a.q)) and bool(_unknown_name(a))


def no_such_row(ask: TableAsk) -> NumericAnswer | None:
    t = ask.table
    shown = ", ".join(_label(t, i) for i in range(min(len(t.labels), LIST_NAMES)))
    text = f"The table has no row for “{_unknown_name(ask)}”: its rows are {shown} {{0}}."
    return NumericAnswer(text, [row_evidence(t, 0)], operation="not_in_table", abstain=True)


def bounded_rows_asked(a: TableAsk) -> bool:
    """No row named, one numeric column, and a bound on it ("which … have a negative correlation")."""
    ms = [m for m in a.measures if m.kind == "column" and any(a.table.values[i][m.cols[0]] is not None for i in range(len(a.table.labels)))]
    return (not a.rows and len(ms) == 1 and a.where is None and bool(re.search(r"\b(?:which|what|how many)\b", a.q))
            and (_bound(a.q) is not None or bool(_average_bound(a.q))))


def bounded_rows(ask: TableAsk) -> NumericAnswer | None:
    t = ask.table
    m = next(m for m in ask.measures if m.kind == "column")
    bound = _bound(ask.q)
    said, extra = "", []
    if bound is None and _average_bound(ask.q):
        avg = _average_of(ask, m)
        if avg is None:
            return None
        bound, extra, said = (_average_bound(ask.q), avg[0]), avg[1], avg[2]
    if bound is None:
        return None
    op, n = bound
    test = {"gt": lambda v: v > n, "ge": lambda v: v >= n, "lt": lambda v: v < n, "le": lambda v: v <= n}[op]
    seen = [(i, v) for i in range(len(t.labels)) if not is_summary(t.labels[i]) and i not in ask.excluded
            and (v := value(t, m, i)) is not None]
    kept = [(i, v) for i, v in seen if test(v)]
    if len(seen) < 2:
        return None
    sign = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}[op]
    rule = f"{m.name} {sign} {said}" if said else f"{m.name} {sign} {n.normalize():,f}"
    if not kept:
        text = f"None of the {len(seen)} rows has {rule} " + "".join(f"{{{k}}}" for k in range(len(seen))) + "."
        return NumericAnswer(text, [row_evidence(t, i) for i, _ in seen], [f"rows with {rule}: 0 of {len(seen)}"], operation="count")
    parts = "; ".join(f"{_label(t, i)} {show(t, m, v, [i])} {{{k}}}" for k, (i, v) in enumerate(kept))
    text = f"{len(kept)} of {len(seen)} rows have {rule}{''.join(f' {{{len(kept) + k}}}' for k in range(len(extra)))}: {parts}."
    return NumericAnswer(text, [row_evidence(t, i) for i, _ in kept] + [row_evidence(t, i) for i in extra],
                         [f"rows with {rule}: {len(kept)} of {len(seen)}"], operation="count")


CELL_MARK = re.compile(r"\s*([*†‡§¹²³⁴⁵⁶⁷⁸⁹]+|\[\w{1,3}\])$")
NOTES_AFTER = 1500  # how far below a table its footnotes are looked for (characters)
FOOTNOTE_NOTE = "footnote quoted"  # the answer explains its figure: it answers a "why" too


def with_footnotes(ans: NumericAnswer, ask: TableAsk, text: str) -> NumericAnswer:
    """A cell the answer shows that carries a footnote mark ("191.7*") comes with its footnote from
    below the table ("\\* Low Moss was switched off for six weeks in 2021 …"), quoted and cited."""
    t = ask.table
    if not text or not t.row_spans or not t.cells:
        return ans
    cited = [i for i, (a, b) in enumerate(t.row_spans) if any(e.doc_id == t.doc_id and e.start == a and e.end == b for e in ans.evidence)]
    base = t.row_spans[-1][1]
    below = text[base : base + NOTES_AFTER]
    seen: set[str] = set()
    for i in cited:
        for cell in t.cells[i][1:]:
            m = CELL_MARK.search(cell)
            bare = cell[: m.start()].strip() if m else ""
            if m is None or not bare or m.group(1) in seen or bare not in ans.text:
                continue
            mark = m.group(1)
            # the note's line begins with the mark (escaped in Markdown: "\*"); its first sentence is quoted
            note = re.search(rf"(?m)^[ \t]*\\?{re.escape(mark)}[ \t]*(\S(?:[^.\n]|\n(?![ \t]*\n)|\.(?!\s))*\.)", below)
            if note is None:
                continue
            seen.add(mark)
            a, b = base + note.start(1), base + note.end(1)
            ans.text += f" {mark} {text[a:b]} {{{len(ans.evidence)}}}"
            ans.evidence.append(Evidence(t.doc_id, a, b, text[a:b]))
            ans.notes.append(FOOTNOTE_NOTE)
    return ans
