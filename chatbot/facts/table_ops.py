"""Operations over a year-keyed table: values, differences, growth, ratios, shares, sums, averages,
highest/lowest and trends, each with its arithmetic and the rows it used.

Every operation is a function of one frozen ``TableRequest`` (``table_read``); which one answers a
question is decided by ``registry.TABLE_OPERATIONS``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from chatbot.facts.context import coverage, off_topic, sentence_around
from chatbot.facts.extract import TableData
from chatbot.facts.numbers import fmt_money, fmt_number, fmt_scaled, unit_label
from chatbot.facts.question import (
    DOWN_WORDS,
    METRIC_SYNONYMS,
    UP_WORDS,
    Evidence,
    Metric,
    NumericAnswer,
    fact_evidence,
    row_evidence,
)
from chatbot.facts.table_read import TableRequest, derive, show, value
from chatbot.text import STOPWORDS, content_terms, stem
from chatbot.types import Fact

COMPOUND = re.compile(r"\baverage\b|\bannual(?:ly)?\b|\bper year\b|\ba year\b|\bcagr\b|\bcompound")


# ---- refusals: the table does not hold what is asked -----------------------------------------------


def qualifier_missing(r: TableRequest) -> NumericAnswer | None:
    """"Quarterly exports", "in euros": the table has nothing of that kind."""
    t = r.table
    span = f"{t.labels[0]}–{t.labels[-1]}"
    return NumericAnswer(
        f"The article's table gives {', '.join(c.lower() for c in t.columns[1:])} per {t.columns[0].lower()} for {span} {{0}}; "
        f"it has nothing matching “{r.qualifier}”.",
        [row_evidence(t, 0)], operation="out_of_scope", abstain=True,
    )


def names_other_topic(r: TableRequest) -> bool:
    """The question names something the document mentions elsewhere and this table does not."""
    t, view = r.table, r.view
    title = view.titles.get(t.doc_id, "")
    # other sentences giving the same quantity (e.g. the same figure from another source) are in scope too
    alt = " ".join(sentence_around(view, f) for f in view.facts
                   if f.kind in ("mention", "curated") and any(same_metric(t, m, f) for m in r.metrics if m.kind == "column"))
    ft = view.flow_tables.get(t.id)
    parties = f"{ft.reporter.name} {ft.partner.name}" if ft else ""
    return off_topic(r.ask, view, " ".join((title, t.caption, " ".join(t.columns), " ".join(t.labels), alt, parties)), rare_only=True)


def years_missing(r: TableRequest) -> NumericAnswer | None:
    """Only years the table lacks."""
    t = r.table
    span = f"{t.labels[0]}–{t.labels[-1]}"
    have = ", ".join(t.columns[1:])
    return NumericAnswer(
        f"The article does not give {r.metric.name.lower()} for {', '.join(r.missing)}: its table covers {span} only ({have}) {{0}}.",
        [row_evidence(t, 0), row_evidence(t, len(t.labels) - 1)],
        operation="out_of_range",
        abstain=True,
    )


def _year_sentences(r: TableRequest, year: str) -> list[tuple[int, int]]:
    """Spans of the document's sentences that name ``year`` and a word of the metric."""
    text = r.view.documents.get(r.table.doc_id, "")
    words = {stem(w) for w in re.findall(r"[a-z]+", r.metric.name.lower()) if w not in STOPWORDS}
    if not text or not words:
        return []
    out = []
    for m in re.finditer(r"[^.!?\n]+(?:\n(?!\s*\n)[^.!?\n]+)*[.!?]?", text):
        s = m.group(0)
        if re.search(rf"\b{year}\b", s) and words & {stem(w) for w in re.findall(r"[a-z]+", s.lower())}:
            lead = len(s) - len(s.lstrip())
            out.append((m.start() + lead, m.end()))
    return out


def text_gives_missing_years(r: TableRequest) -> bool:
    """A sentence of the document gives the metric for every year the table lacks ("Visits in 2019,
    before the closures, were 803,000."): the text answers, not a refusal."""
    return all(_year_sentences(r, y) for y in r.missing)


AMOUNT = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\w|[.,]\d)|(?<![\w.,])\d+(?:\.\d+)?(?!\w|[.,]\d)")
ABOVE = re.compile(r"\b(?:beat|beats|exceed|exceeded|exceeds|top|topped|surpass|surpassed|pass|passed|overtake|overtook|above|higher|more|"
                   r"greater|larger|bigger|over)\b")
BELOW = re.compile(r"\b(?:below|lower|less|fewer|smaller|under|short of|behind)\b")


def year_from_text(r: TableRequest) -> NumericAnswer | None:
    """One year from the table, the other from a sentence of the text: the two figures compared
    ("did visits in 2025 beat the 2019 level?": 812,400 in the table against the 803,000 a sentence gives)."""
    if len(r.missing) != 1 or len(r.named) != 1:
        return None
    text = r.view.documents.get(r.table.doc_id, "")
    given = [(a, b, nums) for a, b in _year_sentences(r, r.missing[0])
             if len(nums := [m for m in AMOUNT.finditer(text, a, b) if not YEAR_TOKEN.fullmatch(m.group(0))]) == 1]
    if len(given) != 1:
        return None  # no sentence, or several, gives one figure for that year
    a, b, nums = given[0]
    other = float(nums[0].group(0).replace(",", ""))
    t, m, i = r.table, r.metric, r.named[0]
    v = value(t, m, i)
    if v is None:
        return None
    year, missing = t.labels[i], r.missing[0]
    d = v - other
    pct = f" ({d / other * 100:+.1f}%)".replace("-", "−") if other else ""
    text_said = f"{m.name} in {year}: {show(t, m, i)} {{0}}, against {nums[0].group(0)} in {missing} {{1}}: "
    text_said += f"{fmt_number(abs(d))} {'more' if d > 0 else 'less' if d < 0 else 'the same'}{pct if d else ''}."
    arith = [f"{fmt_number(v)} − {nums[0].group(0)} = {fmt_number(d)}"]
    if other:
        arith.append(f"{fmt_number(d)} / {nums[0].group(0)} = {pct.strip(' ()')}")
    ans = NumericAnswer(text_said, [row_evidence(t, i), Evidence(t.doc_id, a, b, text[a:b])], arith, operation="compare")
    first_is_table = r.ask.q.find(year) < r.ask.q.find(missing)
    above, below = ABOVE.search(r.ask.q), BELOW.search(r.ask.q)
    if r.ask.q.lstrip().split(" ")[0] in YES_NO_OPENERS and bool(above) != bool(below) and d:
        higher = (d > 0) == first_is_table
        ans.verdict = "Yes" if higher == bool(above) else "No"
    return ans


YEAR_TOKEN = re.compile(r"(?:1[89]|20)\d{2}")
YES_NO_OPENERS = {"did", "does", "do", "is", "was", "were", "are", "has", "have", "had"}


def some_years_missing(r: TableRequest) -> NumericAnswer | None:
    """Some of the years named are in the table, some not."""
    t = r.table
    return NumericAnswer(
        f"The article's table covers {t.labels[0]}–{t.labels[-1]}; it has no figure for {', '.join(r.missing)} {{0}}.",
        [row_evidence(t, r.named[0])], operation="out_of_range", abstain=True,
    )


# ---- two metrics in one year -------------------------------------------------------------------------


def metric_difference(r: TableRequest) -> NumericAnswer | None:
    """"By how much did imports exceed exports in 2023?" compares two metrics, not two years."""
    t, (m1, m2), i = r.table, r.metrics[:2], r.one_row
    v1, v2 = value(t, m1, i), value(t, m2, i)
    if v1 is None or v2 is None:
        return None
    s = t.scales[m1.cols[0]]
    lab = unit_label(t.units[m1.cols[0]], s)
    big, small = (m1, m2) if v1 >= v2 else (m2, m1)
    vb, vs = max(v1, v2), min(v1, v2)
    arith = [f"{t.labels[i]}: {big.name} − {small.name} = {fmt_scaled(vb, s)} − {fmt_scaled(vs, s)} = {fmt_scaled(vb - vs, s)} ({lab})"]
    text = (f"In {t.labels[i]}, {big.name.lower()} ({show(t, big, i)}) exceeded {small.name.lower()} "
            f"({show(t, small, i)}) by {fmt_money(vb - vs, t.units[m1.cols[0]], s)} {{0}}.")
    return NumericAnswer(text, [row_evidence(t, i)], arith, operation="difference")


def _position(q: str, column: str) -> int:
    """Where the question first names a column (directly or by a synonym)."""
    col = column.lower()
    names = [w for k, syns in METRIC_SYNONYMS.items() if k in col for w in syns] + re.findall(r"[a-z]+", col)
    hits = [m.start() for w in names for m in [re.search(rf"\b{re.escape(w)}", q)] if m]
    return min(hits) if hits else len(q)


def metric_ratio(r: TableRequest) -> NumericAnswer | None:
    """"How many times larger were exports than imports in 2023?", "the export-to-import ratio"."""
    t, (m1, m2), i, q = r.table, r.metrics[:2], r.one_row, r.ask.q
    v1, v2 = value(t, m1, i), value(t, m2, i)
    if not v1 or not v2:
        return None
    s = t.scales[m1.cols[0]]
    if re.search(r"\bratio\b|-to-|\bto\b", q) and not re.search(r"\btimes\b", q):
        # "the export-to-import ratio" / "ratio of exports to imports": the first named over the second
        first, second = sorted((m1, m2), key=lambda m: _position(q, t.columns[m.cols[0]]))
        vf, vsn = value(t, first, i) or 0.0, value(t, second, i) or 1.0
        x = vf / vsn
        arith = [f"{t.labels[i]}: {first.name} / {second.name} = {fmt_scaled(vf, s)} / {fmt_scaled(vsn, s)} = {fmt_number(x, 3 if x < 1 else 2)}"]
        text = (f"In {t.labels[i]}, the ratio of {first.name.lower()} ({show(t, first, i)}) to {second.name.lower()} "
                f"({show(t, second, i)}) was {fmt_number(x, 3 if x < 1 else 2)} {{0}}.")
        return NumericAnswer(text, [row_evidence(t, i)], arith, operation="ratio")
    big, small = (m1, m2) if v1 >= v2 else (m2, m1)
    vb, vs = max(v1, v2), min(v1, v2)
    x = vb / vs
    arith = [f"{t.labels[i]}: {big.name} / {small.name} = {fmt_scaled(vb, s)} / {fmt_scaled(vs, s)} = {fmt_number(x, 2)}"]
    text = (f"In {t.labels[i]}, {big.name.lower()} ({show(t, big, i)}) was {fmt_number(x, 2)} times "
            f"{small.name.lower()} ({show(t, small, i)}) {{0}}.")
    return NumericAnswer(text, [row_evidence(t, i)], arith, operation="ratio")


def share(r: TableRequest) -> NumericAnswer | None:
    """A part column as a percentage of a total column, in one year."""
    t, i = r.table, r.one_row
    totals = [m for m in r.metrics if re.search(r"total|turnover|sum", t.columns[m.cols[0]], re.I)]
    parts = [m for m in r.metrics if m not in totals]
    if len(r.metrics) < 2 or not totals or not parts:
        return None
    tot, part = totals[0], parts[0]
    vt, vp = value(t, tot, i), value(t, part, i)
    if not vt or vp is None:
        return None
    s = t.scales[tot.cols[0]]
    pct = vp / vt * 100
    arith = [f"{t.labels[i]}: {part.name} / {tot.name} × 100 = {fmt_scaled(vp, s)} / {fmt_scaled(vt, s)} × 100 = {fmt_number(pct, 1)}%"]
    text = (f"In {t.labels[i]}, {part.name.lower()} ({show(t, part, i)}) made up {fmt_number(pct, 1)}% of "
            f"{tot.name.lower()} ({show(t, tot, i)}) {{0}}.")
    return NumericAnswer(text, [row_evidence(t, i)], arith, operation="share")


def metric_sum(r: TableRequest) -> NumericAnswer | None:
    """Several metrics added up in one year."""
    t, ms, i = r.table, r.metrics, r.rows[0]
    vals = [value(t, m, i) for m in ms]
    if any(v is None for v in vals):
        return None
    s = t.scales[ms[0].cols[0]]
    total = sum(v for v in vals if v is not None)
    names = " + ".join(m.name for m in ms)
    arith = [f"{t.labels[i]}: {names} = " + " + ".join(fmt_scaled(v or 0, s) for v in vals)
             + f" = {fmt_scaled(total, s)} ({unit_label(t.units[ms[0].cols[0]], s)})"]
    text = f"In {t.labels[i]}, {names.lower()} add up to {fmt_money(total, t.units[ms[0].cols[0]], s)} {{0}}."
    return NumericAnswer(text, [row_evidence(t, i)], arith, operation="sum")


# ---- one metric over several years ---------------------------------------------------------------------


def extreme(r: TableRequest) -> NumericAnswer | None:
    """The year a metric was highest / lowest, among the years named (two or more) or all."""
    t, m, op = r.table, r.metric, r.op or "max"
    vals = [(value(t, m, i), i) for i in (r.rows if len(r.rows) >= 2 else range(len(t.labels)))]
    present = [(v, i) for v, i in vals if v is not None]
    if not present:
        return None
    _, i = (max if op == "max" else min)(present)
    in_order = sorted(present, key=lambda x: x[1])
    listing = ", ".join(f"{t.labels[k]}: {show(t, m, k)}" for _, k in in_order)
    text = (f"{m.name} was {'highest' if op == 'max' else 'lowest'} in {t.labels[i]}, at {show(t, m, i)} "
            f"({listing}) " + "".join(f"{{{k}}}" for k in range(len(present))) + ".")
    return NumericAnswer(text, [row_evidence(t, k) for _, k in in_order],
                         [x for _, k in present if (x := derive(t, m, k))], operation=op)


def _span(t: TableData, rows: list[int]) -> str:
    contiguous = rows == list(range(rows[0], rows[-1] + 1))
    return f"{t.labels[rows[0]]}–{t.labels[rows[-1]]}" if contiguous else " and ".join(t.labels[i] for i in rows)


def _added(r: TableRequest) -> tuple[list[int], list[float], list[str]] | None:
    """The rows added up (the ones named, or all), their values and the addition."""
    t, m = r.table, r.metric
    rows = list(r.rows) or r.every_row
    vals = [value(t, m, i) for i in rows]
    present = [v for v in vals if v is not None]
    if len(present) != len(vals):
        return None
    s = t.scales[m.cols[0]]
    lab = unit_label(t.units[m.cols[0]], s)
    return rows, present, [" + ".join(fmt_scaled(v, s) for v in present) + f" = {fmt_scaled(sum(present), s)} ({lab})"]


def total(r: TableRequest) -> NumericAnswer | None:
    """A metric added up over the years named (a span, several, or all)."""
    added = _added(r)
    if added is None:
        return None
    t, m, (rows, vals, arith) = r.table, r.metric, added
    s = t.scales[m.cols[0]]
    cites = "".join(f"{{{k}}}" for k in range(len(rows)))
    text = f"{m.name} over {_span(t, rows)} adds up to {fmt_money(sum(vals), t.units[m.cols[0]], s)} {cites}."
    return NumericAnswer(text, [row_evidence(t, i) for i in rows], arith, operation="sum")


def average(r: TableRequest) -> NumericAnswer | None:
    """A metric's mean over the years named (a span, several, or all)."""
    added = _added(r)
    if added is None:
        return None
    t, m, (rows, vals, arith) = r.table, r.metric, added
    s = t.scales[m.cols[0]]
    mean = sum(vals) / len(vals)
    arith.append(f"{fmt_scaled(sum(vals), s)} / {len(vals)} = {fmt_scaled(mean, s)} ({unit_label(t.units[m.cols[0]], s)})")
    cites = "".join(f"{{{k}}}" for k in range(len(rows)))
    text = f"{m.name} averaged {fmt_money(mean, t.units[m.cols[0]], s)} a year over {_span(t, rows)} {cites}."
    return NumericAnswer(text, [row_evidence(t, i) for i in rows], arith, operation="average")


def trend(r: TableRequest) -> NumericAnswer | None:
    """A metric year by year (the years named, three or more, or all), each step's change written out."""
    return _trend(r.table, r.metric, list(r.rows) if len(r.rows) > 2 else r.every_row)


def series(r: TableRequest) -> NumericAnswer | None:
    """A metric over every year of the table."""
    return _trend(r.table, r.metric, r.every_row)


def _trend(t: TableData, m: Metric, rows: list[int]) -> NumericAnswer | None:
    if len(rows) < 2:
        return None
    s = t.scales[m.cols[0]]
    pieces = [f"{t.labels[i]}: {show(t, m, i)} {{{k}}}" for k, i in enumerate(rows)]
    arith = [line for i in rows if (line := derive(t, m, i))]
    steps = []
    for a, b in zip(rows, rows[1:], strict=False):
        va, vb = value(t, m, a), value(t, m, b)
        if va is None or vb is None:
            continue
        pct = f" ({'+' if vb >= va else ''}{fmt_number((vb - va) / abs(va) * 100, 1)}%)" if va else ""
        arith.append(f"{t.labels[a]}→{t.labels[b]}: {fmt_scaled(vb, s)} − {fmt_scaled(va, s)} = {fmt_scaled(vb - va, s)}{pct}")
        steps.append(f"{_moved(va, vb)} from {t.labels[a]} to {t.labels[b]}{pct}")
    first, last = value(t, m, rows[0]), value(t, m, rows[-1])
    overall = " It " + ", then ".join(steps) + "." if steps else ""
    if first is not None and last is not None and len(steps) > 1:
        overall += f" Overall it {_moved(first, last)} from {t.labels[rows[0]]} to {t.labels[rows[-1]]}."
    text = f"{m.name} by year — " + "; ".join(pieces) + "." + overall
    return NumericAnswer(text, [row_evidence(t, i) for i in rows], arith, operation="trend")


def _moved(a: float, b: float) -> str:
    return "rose" if b > a else "fell" if b < a else "held steady"


# ---- one metric in two years ---------------------------------------------------------------------------


def year_ratio(r: TableRequest) -> NumericAnswer | None:
    """The latest of the years named as a multiple of the earliest."""
    t, m, a, b = r.table, r.metric, min(r.rows), max(r.rows)
    va, vb = value(t, m, a), value(t, m, b)
    if not va or vb is None:
        return None
    s = t.scales[m.cols[0]]
    x = vb / va
    arith = [f"ratio: {fmt_scaled(vb, s)} / {fmt_scaled(va, s)} = {fmt_number(x, 2)}"]
    text = (f"{m.name} in {t.labels[b]} ({show(t, m, b)} {{1}}) was {fmt_number(x, 2)} times "
            f"its {t.labels[a]} level ({show(t, m, a)} {{0}}).")
    return NumericAnswer(text, [row_evidence(t, a), row_evidence(t, b)], arith, operation="ratio")


def change(r: TableRequest) -> NumericAnswer | None:
    """From the earliest of the years named to the latest: the change, in amount and percent."""
    return _change(r, min(r.rows), max(r.rows))


def change_from_previous(r: TableRequest) -> NumericAnswer | None:
    """"Growth in 2023": from the year before to the year named."""
    return _change(r, r.rows[0] - 1, r.rows[0])


def _change(r: TableRequest, a: int, b: int) -> NumericAnswer | None:
    t, m = r.table, r.metric
    va, vb = value(t, m, a), value(t, m, b)
    if va is None or vb is None:
        return None
    years = int(t.labels[b]) - int(t.labels[a]) if t.labels[a].isdigit() and t.labels[b].isdigit() else b - a
    if COMPOUND.search(r.ask.q) and va > 0 and vb > 0 and years > 1:
        return _compound(t, m, a, b, years)
    s = t.scales[m.cols[0]]
    diff = vb - va
    arith = [x for x in (derive(t, m, a), derive(t, m, b)) if x]
    arith.append(f"change: {fmt_scaled(vb, s)} − {fmt_scaled(va, s)} = {fmt_scaled(diff, s)} ({unit_label(t.units[m.cols[0]], s)})")
    pct = None
    if va != 0:
        pct = diff / abs(va) * 100
        arith.append(f"growth: {fmt_scaled(diff, s)} / {fmt_scaled(abs(va), s)} × 100 = {fmt_number(pct, 1)}%")
    direction = "rose" if diff > 0 else "fell" if diff < 0 else "did not change"
    text = (
        f"{m.name} {direction} from {show(t, m, a)} in {t.labels[a]} {{0}} to {show(t, m, b)} in {t.labels[b]} {{1}}: "
        f"a change of {fmt_money(diff, t.units[m.cols[0]], s)}"
        + (f" ({'+' if pct > 0 else ''}{fmt_number(pct, 1)}%)" if pct is not None else "")
    )
    if vb > 0 and va > 0 and max(va, vb) / min(va, vb) >= 1.5:
        times = max(va, vb) / min(va, vb)
        text += f", i.e. {fmt_number(times, 2)} times {'higher' if vb > va else 'lower'}"
        arith.append(f"ratio: {fmt_scaled(max(va, vb), s)} / {fmt_scaled(min(va, vb), s)} = {fmt_number(times, 2)}")
    premise = _premise(r.ask.q, m, diff)
    return NumericAnswer(premise + text + ".", [row_evidence(t, a), row_evidence(t, b)], arith, operation="change",
                         notes=["false premise corrected"] if premise else [])


def _compound(t: TableData, m: Metric, a: int, b: int, years: int) -> NumericAnswer:
    """The average (compound) growth a year between two years."""
    va, vb = value(t, m, a) or 0.0, value(t, m, b) or 0.0
    rate = ((vb / va) ** (1 / years) - 1) * 100
    s = t.scales[m.cols[0]]
    arith = [f"({fmt_scaled(vb, s)} / {fmt_scaled(va, s)})^(1/{years}) − 1 = {fmt_number(rate, 1)}% a year"]
    text = (f"{m.name} went from {show(t, m, a)} in {t.labels[a]} {{0}} to {show(t, m, b)} in {t.labels[b]} {{1}}: "
            f"an average (compound) growth of {fmt_number(rate, 1)}% a year over {years} years.")
    return NumericAnswer(text, [row_evidence(t, a), row_evidence(t, b)], arith, operation="cagr")


def _premise(q: str, m: Metric, diff: float) -> str:
    """A correction when the question says the metric rose and it fell, or the other way round."""
    asked_up, asked_down = bool(UP_WORDS.search(q)), bool(DOWN_WORDS.search(q))
    if diff < 0 and asked_up and not asked_down:
        return f"The premise is not supported: {m.name.lower()} did not rise, it fell. "
    if diff > 0 and asked_down and not asked_up:
        return f"The premise is not supported: {m.name.lower()} did not fall, it rose. "
    return ""


# ---- the values asked for ------------------------------------------------------------------------------


def values(r: TableRequest) -> NumericAnswer | None:
    """The metrics in the years named (or all), with the arithmetic of derived ones; a deficit asked
    for where there was a surplus is corrected; a sentence that matches better, or that disagrees, is
    shown too."""
    t, metrics = r.table, r.metrics
    rows = list(r.rows) or r.every_row
    parts, arith, premise = [], [], []
    for i in rows:
        for mm in metrics:
            line = derive(t, mm, i)
            if line:
                arith.append(line)
            correction = _no_such_balance(t, mm, i)
            if correction:
                premise.append(correction)
            else:
                parts.append(f"{mm.name} in {t.labels[i]}: {show(t, mm, i)}")
    evidence = [row_evidence(t, i) for i in rows]
    text = "; ".join(premise + parts) + " " + "".join(f"{{{k}}}" for k in range(len(evidence))) + "."
    if premise:
        return NumericAnswer(text, evidence, arith, operation="value", notes=["false premise corrected"])
    if len(rows) == 1 and len(metrics) == 1 and r.metric.kind == "column" and not r.from_flow:
        better = better_mention(r, rows[0])
        if better is not None:
            return better
    ans = NumericAnswer(text, evidence, arith, operation="value")
    if len(rows) == 2 and len(metrics) == 1:
        first, second = value(t, r.metric, rows[0]), value(t, r.metric, rows[1])  # rows in the question's order
        ans.compared = (first, second) if first is not None and second is not None else None
    for mm, i, f in conflicting_facts(r, rows):
        _note_conflict(ans, t, mm, i, f, r.ask.op == "difference")
    return ans


def _no_such_balance(t: TableData, m: Metric, i: int) -> str:
    """"The deficit in 2023" when there was a surplus: the correction, or ""."""
    v = value(t, m, i)
    if m.kind not in ("deficit", "surplus") or v is None or v >= 0:
        return ""
    other = "surplus" if m.kind == "deficit" else "deficit"
    e = m.cols[0]
    return (f"No: there was no {m.name[0].lower() + m.name[1:]} in {t.labels[i]}; "
            f"it was a {other} of {fmt_money(-v, t.units[e], t.scales[e])}")


def same_metric(t: TableData, m: Metric, f: Fact) -> bool:
    """Does a sentence fact give the quantity of this column (same words, same unit)?"""
    col = t.columns[m.cols[0]].lower()
    keys = {k for k in METRIC_SYNONYMS if k in col} | set(content_terms(col))
    subj = set(content_terms(f.subject))
    return any(stem(k) in subj for k in keys) and f.unit == t.units[m.cols[0]]


def better_mention(r: TableRequest, i: int) -> NumericAnswer | None:
    """A sentence fact for the same period that matches the question better than the table."""
    t, m = r.table, r.metric
    q_terms = r.ask.key_terms
    label = t.labels[i]
    base = coverage(q_terms, " ".join((t.columns[m.cols[0]], t.caption, label)))
    tv = t.values[i][m.cols[0]] or 0.0
    best: tuple[tuple[float, float], Fact] | None = None
    for f in r.view.facts:
        if f.kind not in ("mention", "curated") or f.period != label or f.value is None or not same_metric(t, m, f):
            continue
        cov = coverage(q_terms, f"{f.quote} {f.period}")
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
        ans.text += (f" Note: the article's table gives a different figure for {label}: {m.name.lower()} "
                     f"{t.cells[i][m.cols[0]]} {{1}}, so the two sources disagree ({f.text_value} vs {t.cells[i][m.cols[0]]}).")
        ans.notes.append("conflicting sources")
    return ans


def conflicting_facts(r: TableRequest, rows: list[int]) -> Iterator[tuple[Metric, int, Fact]]:
    """Sentence facts giving the same metric for the same period with a different value (not ten times off)."""
    t = r.table
    for mm in r.metrics:
        if mm.kind != "column":
            continue
        for i in rows:
            tv = t.values[i][mm.cols[0]]
            if tv is None:
                continue
            for f in r.view.facts:
                if f.kind not in ("mention", "curated") or f.period != t.labels[i] or f.value is None or f.unit != t.units[mm.cols[0]]:
                    continue
                if not same_metric(t, mm, f):
                    continue
                ratio = max(f.value, tv) / max(1e-9, min(f.value, tv))
                if ratio <= 10 and abs(f.value - tv) >= 1e-6 * tv:
                    yield mm, i, f


def _note_conflict(ans: NumericAnswer, t: TableData, m: Metric, i: int, f: Fact, difference: bool) -> None:
    """Cite the disagreeing sentence after the table's figure (and, for a difference, how far apart)."""
    tv, fv = t.values[i][m.cols[0]] or 0.0, f.value or 0.0
    n = len(ans.evidence)
    ans.evidence.append(fact_evidence(f))
    src = f" (citing {f.source_note})" if f.source_note and not f.parent_id else ""
    ans.text += (
        f" Note: the article gives a different figure elsewhere — \"{f.quote}\"{src} {{{n}}} — "
        f"so the two sources disagree ({t.cells[i][m.cols[0]]} in the table vs {f.text_value})."
    )
    ans.notes.append("conflicting sources")
    if difference:
        sc = t.scales[m.cols[0]]
        gap = abs(tv - fv)
        ans.arithmetic.append(
            f"{fmt_scaled(max(tv, fv), sc)} − {fmt_scaled(min(tv, fv), sc)} = {fmt_scaled(gap, sc)}"
            f" ({unit_label(t.units[m.cols[0]], sc)})"
        )
        ans.text += f" The two figures are {fmt_money(gap, t.units[m.cols[0]], sc)} apart."
