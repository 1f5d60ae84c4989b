"""Name-keyed tables whose value columns are years ("Plant | 2022 | 2023 | 2024"): a row's change
between two years, which row changed most, and a yes/no comparison of one row's years.

    >>> # "By how much did Ashgrove's volume grow from 2022 to 2024?"
    >>> # Ashgrove: 1,240 in 2022 [1] → 1,405 in 2024 [1]: up 165 (+13.3%).

Every value is a cell of the table, cited by its row; the arithmetic is shown.
"""

from __future__ import annotations

import re
from decimal import Decimal

from chatbot.facts.extract import YEAR
from chatbot.facts.keyed import TableAsk, _label, is_total, plain, show, value
from chatbot.facts.question import DOWN_WORDS, UP_WORDS, Metric, NumericAnswer, row_evidence

# a change asked about ("grow", "fell", "by how much", "increase"); general English
CHANGE = re.compile(r"\b(?:grow|grew|grown|growth|rise|rose|risen|fall|fell|fallen|drop|dropped|increase[sd]?|decrease[sd]?|"
                    r"change[sd]?|climb(?:ed)?|decline[sd]?|gain(?:ed)?|shr[iau]nk|by how much|up|down)\b")
RATE = re.compile(r"\b(?:fast|faster|fastest|quick|quickest|slowest|slow|rate|percent|percentage|%)")


def _pct(x: Decimal) -> str:
    return f"{x * 100:+.1f}%".replace("-", "−")


def _signed(t, m: Metric, d: Decimal, rows: list[int]) -> str:  # type: ignore[no-untyped-def]
    return ("+" if d > 0 else "−" if d < 0 else "") + show(t, m, abs(d), rows)


def year_columns(ask: TableAsk) -> list[tuple[str, int]]:
    """(year, column) of the years the question names that are columns of the table, earliest first."""
    t = ask.table
    cols = {c.strip(): j for j, c in enumerate(t.columns) if j > 0 and YEAR.fullmatch(c.strip())}
    asked = dict.fromkeys(YEAR.findall(ask.q))
    return sorted(((y, cols[y]) for y in asked if y in cols), key=lambda yc: yc[0])


def _one_row(ask: TableAsk) -> int | None:
    labels = {ask.table.labels[h.index] for h in ask.rows}
    return ask.rows[0].index if len(labels) == 1 else None


def row_change_asked(ask: TableAsk) -> bool:
    """One named row, two year columns, and a change or a comparison of them; or one year column and
    a change ("how much did output go up in 2024?": from the year column before it)."""
    if _one_row(ask) is None:
        return False
    named = year_columns(ask)
    if len(named) == 1:
        return bool(CHANGE.search(ask.q)) and _previous_year(ask, named[0]) is not None
    return len(named) >= 2 and (bool(CHANGE.search(ask.q)) or _compares(ask))


def _previous_year(ask: TableAsk, year: tuple[str, int]) -> tuple[str, int] | None:
    """The year column just before ``year`` (the one a change "in 2024" is counted from)."""
    before = [yc for yc in _all_year_columns(ask.table) if yc[0] < year[0]]
    return before[-1] if before else None


def _change_years(ask: TableAsk) -> list[tuple[str, int]]:
    named = year_columns(ask)
    prev = _previous_year(ask, named[0]) if len(named) == 1 else None
    return [prev, named[0]] if prev is not None else named


def _compares(ask: TableAsk) -> bool:
    return bool(re.search(r"\b(?:more|less|fewer|higher|lower|bigger|smaller|larger)\b.*\bthan\b", ask.q))


def row_change(ask: TableAsk) -> NumericAnswer | None:
    t, i = ask.table, _one_row(ask)
    years = _change_years(ask)
    if i is None or len(years) < 2:
        return None
    (y1, j1), (y2, j2) = years[0], years[-1]
    m1, m2 = Metric(t.columns[j1], (j1,)), Metric(t.columns[j2], (j2,))
    v1, v2 = value(t, m1, i), value(t, m2, i)
    if v1 is None or v2 is None:
        return None
    d = v2 - v1
    pct = f" ({_pct(d / v1)})" if v1 else ""
    word = "up" if d > 0 else "down" if d < 0 else "unchanged"
    amount = "" if d == 0 else f" {show(t, m1, abs(d), [i])}{pct}"
    text = f"{_label(t, i)}: {show(t, m1, v1, [i])} in {y1} {{0}} → {show(t, m2, v2, [i])} in {y2} {{0}}: {word}{amount}."
    arith = [f"{y2} − {y1} = {plain(v2, t, m2, [i])} − {plain(v1, t, m1, [i])} = {plain(d, t, m1, [i])}"]
    if v1:
        arith.append(f"{plain(d, t, m1, [i])} / {plain(v1, t, m1, [i])} = {_pct(d / v1)}")
    # the values in the order the question names the years ("more in 2023 than in 2022")
    order = [y for y in dict.fromkeys(YEAR.findall(ask.q)) if y in (y1, y2)]
    first, second = (v1, v2) if order[0] == y1 or len(order) < 2 else (v2, v1)
    return NumericAnswer(text, [row_evidence(t, i)], arith, operation="growth", compared=(float(first), float(second)))


def change_extreme_asked(ask: TableAsk) -> bool:
    """No row named, two year columns, and which changed most or least ("grew fastest")."""
    return not ask.rows and len(year_columns(ask)) >= 2 and bool(ask.extreme or re.search(r"\b(?:most|least)\b", ask.q))


def _first_and_last(ask: TableAsk) -> tuple[str, Metric, str, Metric]:
    """The earliest and latest year columns the question names, as (year, measure) twice."""
    t = ask.table
    years = year_columns(ask)
    (y1, j1), (y2, j2) = years[0], years[-1]
    return y1, Metric(t.columns[j1], (j1,)), y2, Metric(t.columns[j2], (j2,))


def change_extreme(ask: TableAsk) -> NumericAnswer | None:
    t = ask.table
    y1, m1, y2, m2 = _first_and_last(ask)
    by_rate = bool(RATE.search(ask.q))
    changes = []
    for i in range(len(t.labels)):
        v1, v2 = value(t, m1, i), value(t, m2, i)
        if is_total(t.labels[i]) or v1 is None or v2 is None or (by_rate and not v1):
            continue
        d = v2 - v1
        changes.append(((d / v1 if by_rate else d), d, i, v1, v2))
    if len(changes) < 2:
        return None
    low = ask.extreme == "min" or bool(re.search(r"\bleast\b", ask.q))
    changes.sort(key=lambda c: c[0], reverse=not low)
    key, d, i, v1, v2 = changes[0]
    measure = "change in percent" if by_rate else "change"
    others = "; ".join(
        f"{_label(t, k)} {_pct(kk) if by_rate else _signed(t, m1, dd, [k])}" for kk, dd, k, _, _ in changes[1:3]
    )
    shown = _pct(key) if by_rate else _signed(t, m1, d, [i])
    text = (f"{_label(t, i)} had the {'smallest' if low else 'largest'} {measure} from {y1} to {y2}: {shown}, "
            f"{show(t, m1, v1, [i])} {{0}} → {show(t, m2, v2, [i])}" + (f" (next: {others})" if others else "") + ".")
    arith = [
        f"{_label(t, k)}: {plain(b, t, m2, [k])} − {plain(a, t, m1, [k])} = {plain(dd, t, m1, [k])}"
        + (f" ({_pct(dd / a)})" if a else "")
        for _, dd, k, a, b in changes
    ]
    return NumericAnswer(text, [row_evidence(t, i)], arith, operation="growth " + ("min" if low else "max"))


WHICH_YEAR = re.compile(r"\b(?:which|what) year\b|\bwhen\b")
ASKS_YEAR = re.compile(r"\b(?:which|what) years?\b|\bin what year\b")


def can_name_a_year(t) -> bool:  # type: ignore[no-untyped-def]
    """Does the table hold years to answer "which year …" with: year columns, year labels or a column of years?"""
    return (len(_all_year_columns(t)) >= 2 or any(YEAR.fullmatch(lab.strip()) for lab in t.labels)
            or any(all(c is None or (YEAR.fullmatch(f"{c:.0f}") and float(c).is_integer()) for c in col) and any(c is not None for c in col)
                   for col in list(zip(*t.values, strict=True))[1:]))


def _all_year_columns(t) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return sorted((c.strip(), j) for j, c in enumerate(t.columns) if j > 0 and YEAR.fullmatch(c.strip()))


def row_year_extreme_asked(ask: TableAsk) -> bool:
    """One named row, which of the year columns holds its highest or lowest value ("in which year
    did Corran Bridge treat the most water?")."""
    return (_one_row(ask) is not None and len(_all_year_columns(ask.table)) >= 2 and not year_columns(ask)
            and bool(WHICH_YEAR.search(ask.q)) and bool(ask.extreme or re.search(r"\b(?:most|least|peak(?:ed)?)\b", ask.q)))


def row_year_extreme(ask: TableAsk) -> NumericAnswer | None:
    t, i = ask.table, _one_row(ask)
    if i is None:
        return None
    found = [(v, y, j) for y, j in _all_year_columns(t) if (v := value(t, Metric(t.columns[j], (j,)), i)) is not None]
    if len(found) < 2:
        return None
    low = ask.extreme == "min" or bool(re.search(r"\bleast\b", ask.q))
    v, y, j = (min if low else max)(found)
    if sum(1 for x, _, _ in found if x == v) > 1:
        return None  # a tie: no one year
    others = "; ".join(f"{yy}: {show(t, Metric(t.columns[jj], (jj,)), x, [i])}" for x, yy, jj in found if yy != y)
    text = (f"{_label(t, i)} was {'lowest' if low else 'highest'} in {y}: {show(t, Metric(t.columns[j], (j,)), v, [i])} {{0}} "
            f"({others}).")
    return NumericAnswer(text, [row_evidence(t, i)], [f"{'min' if low else 'max'} over {len(found)} years: {y}"],
                         operation="min" if low else "max")


def rows_changed_asked(ask: TableAsk) -> bool:
    """Which rows went up (or down) between two year columns ("which plant's volume fell …?")."""
    return (not ask.rows and len(year_columns(ask)) >= 2 and not ask.extreme and bool(re.search(r"\bwhich\b", ask.q))
            and bool(DOWN_WORDS.search(ask.q)) != bool(UP_WORDS.search(ask.q)))


def rows_changed(ask: TableAsk) -> NumericAnswer | None:
    t = ask.table
    y1, m1, y2, m2 = _first_and_last(ask)
    down = bool(DOWN_WORDS.search(ask.q))
    moved, seen = [], []
    for i in range(len(t.labels)):
        v1, v2 = value(t, m1, i), value(t, m2, i)
        if is_total(t.labels[i]) or v1 is None or v2 is None:
            continue
        seen.append(i)
        if (v2 < v1) if down else (v2 > v1):
            moved.append((i, v1, v2))
    if len(seen) < 2:
        return None
    word = "fell" if down else "rose"
    if not moved:
        text = f"None of the {len(seen)} rows {word} from {y1} to {y2} " + "".join(f"{{{k}}}" for k in range(len(seen))) + "."
        return NumericAnswer(text, [row_evidence(t, i) for i in seen], [], operation="growth")
    parts = [f"{_label(t, i)} {show(t, m1, a, [i])} → {show(t, m2, b, [i])} ({_signed(t, m1, b - a, [i])}) {{{k}}}"
             for k, (i, a, b) in enumerate(moved)]
    text = f"{len(moved)} of {len(seen)} rows {word} from {y1} to {y2}: " + "; ".join(parts) + "."
    arith = [f"{_label(t, i)}: {plain(b, t, m2, [i])} − {plain(a, t, m1, [i])} = {plain(b - a, t, m1, [i])}" for i, a, b in moved]
    return NumericAnswer(text, [row_evidence(t, i) for i, _, _ in moved], arith, operation="growth")


def row_years_aggregate_asked(ask: TableAsk) -> bool:
    """One named row, no year column named, and its average or total over the years ("the average
    wind speed over the five years")."""
    from chatbot.facts.keyed import AVERAGE, SUM

    return (_one_row(ask) is not None and not year_columns(ask) and len(_all_year_columns(ask.table)) >= 2
            and not ask.extreme and bool(AVERAGE.search(ask.free) or SUM.search(ask.free)))


def row_years_aggregate(ask: TableAsk) -> NumericAnswer | None:
    from chatbot.facts.keyed import AVERAGE

    t, i = ask.table, _one_row(ask)
    if i is None:
        return None
    found = [(y, j, v) for y, j in _all_year_columns(t) if (v := value(t, Metric(t.columns[j], (j,)), i)) is not None]
    if len(found) < 2:
        return None
    m = Metric(t.columns[found[0][1]], (found[0][1],))
    total = sum((v for _, _, v in found), Decimal(0))
    terms = " + ".join(plain(v, t, m, [i]) for _, _, v in found)
    span = f"{found[0][0]}–{found[-1][0]}"
    skipped = [y for y, _ in _all_year_columns(t) if y not in {f[0] for f in found}]
    gap = f" (no figure for {', '.join(skipped)})" if skipped else ""
    if AVERAGE.search(ask.free):
        mean = total / len(found)
        arith = [f"({terms}) / {len(found)} = {plain(total, t, m, [i])} / {len(found)} = {plain(mean, t, m, [i], extra=2)}"]
        text = (f"The average {_label(t, i)} over the {len(found)} years {span}{gap} is {show(t, m, mean, [i], extra=2)} {{0}}.")
        return NumericAnswer(text, [row_evidence(t, i)], arith, operation="average")
    arith = [f"{terms} = {plain(total, t, m, [i])} ({len(found)} years)"]
    text = f"{_label(t, i)} over the {len(found)} years {span}{gap} adds up to {show(t, m, total, [i])} {{0}}."
    return NumericAnswer(text, [row_evidence(t, i)], arith, operation="sum")
