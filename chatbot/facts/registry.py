"""Which operation answers a numeric question: the one place the dispatch order is written.

A question is read once (``context.read_question``) into a frozen ``Request``; ``STEPS`` is then
walked in order. Each entry is an ``Operation``: a name, a test on the frozen context (``applies``)
and a small function that answers (``run``). Walking stops at the first entry that applies and
answers; an entry marked ``final`` also stops the walk when it answers nothing (a refusal: the
question is not for the facts table).

Three registries, each walked in its own order:

``STEPS`` (the question):
    refusals first (a reason asked for; a name no document uses), then the name-keyed tables
    (``KEYED_OPERATIONS``), the largest/smallest component listed in a sentence, years between two
    events, a date, count or rank from a sentence (a rank not found there is refused), amounts of
    named components, a listing of components, a refusal of "who/where/which" questions with no
    operation, the year-keyed tables (``TABLE_OPERATIONS``), a share between two sentence amounts,
    and last any amount a sentence gives.

``KEYED_OPERATIONS`` (one name-keyed table, ``keyed.TableAsk``): the first that applies and answers;
the tables are asked in the order the question's words point at them (``keyed.by_affinity``), and
a table of other years than the question names is not asked (``keyed.read_keyed``).

``TABLE_OPERATIONS`` (one year-keyed table, ``table_read.TableRequest``): every entry is final —
the first that applies decides what this table says (an answer, a refusal with its reason, or
nothing); the next table is asked only when it says nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from chatbot.facts import column_words, keyed, mention_ops, table_ops, year_columns
from chatbot.facts.context import Request, doc_knows
from chatbot.facts.keyed import TableAsk
from chatbot.facts.match import other_counterpart
from chatbot.facts.question import (
    COUNT_INTENT,
    ENTITY_Q,
    LIST_Q,
    PART_WORDS,
    RANK_INTENT,
    WHEN_INTENT,
    YEARS_APART,
    NumericAnswer,
)
from chatbot.facts.table_read import TableRequest, flow_metrics, read_table

C = TypeVar("C")
REASON_Q = re.compile(r"^\s*(?:why|how (?:did|does|do|come|could|can|has|have|was|were|is|are)\b)")


@dataclass(frozen=True)
class Operation(Generic[C]):
    name: str
    applies: Callable[[C], bool]
    run: Callable[[C], NumericAnswer | None]
    final: bool = False  # when it applies, the walk stops here even if it answers nothing


def decide(operations: Sequence[Operation[C]], ctx: C) -> tuple[str, NumericAnswer | None] | None:
    """The first operation that applies and answers (or applies and is final): its name and answer."""
    for op in operations:
        if op.applies(ctx):
            ans = op.run(ctx)
            if ans is not None or op.final:
                return op.name, ans
    return None


def walk(operations: Sequence[Operation[C]], ctx: C) -> NumericAnswer | None:
    decided = decide(operations, ctx)
    return decided[1] if decided is not None else None


def _nothing(_: object) -> None:
    return None


# ---- one name-keyed table ----------------------------------------------------------------------------

KEYED_OPERATIONS: tuple[Operation[TableAsk], ...] = (
    Operation("change between year columns", year_columns.row_change_asked, year_columns.row_change),
    Operation("largest change between year columns", year_columns.change_extreme_asked, year_columns.change_extreme),
    Operation("rows that rose or fell between year columns", year_columns.rows_changed_asked, year_columns.rows_changed),
    Operation("a row's highest or lowest year column", year_columns.row_year_extreme_asked, year_columns.row_year_extreme),
    Operation("a row's average or total over the year columns", year_columns.row_years_aggregate_asked, year_columns.row_years_aggregate),
    Operation("a row the table lacks", keyed.no_such_row_asked, keyed.no_such_row),
    Operation("rows within a bound", keyed.bounded_rows_asked, keyed.bounded_rows),
    Operation("flagged rows", keyed.flags_asked, keyed.flagged_rows),
    Operation("count", keyed.counts_rows, keyed.count_rows),
    Operation("row ratio", keyed.one_row_per, keyed.row_ratio),
    Operation("share", keyed.one_row_share, keyed.row_share),
    Operation("top rows", keyed.top_rows_asked, keyed.top_rows),
    Operation("sum/average", keyed.aggregate_asked, keyed.aggregate),
    Operation("total row", keyed.whole_asked, keyed.total_row),
    Operation("times", keyed.two_rows_times, keyed.times_rows),
    Operation("column difference", keyed.one_row_spread, keyed.column_difference),
    Operation("ratio extreme", keyed.extreme_of_ratio, keyed.ratio_extreme),
    Operation("gap between highest and lowest", keyed.spread_of_extremes_asked, keyed.spread_of_extremes),
    Operation("max/min", keyed.extreme_asked, keyed.extreme_rows),
    Operation("compare two rows", keyed.two_rows_one_column, keyed.compare_rows),
    Operation("lookup", keyed.rows_and_columns, keyed.lookup),
)


# ---- one year-keyed table ----------------------------------------------------------------------------


def _rows(r: TableRequest) -> int:
    return len(r.rows)


TABLE_OPERATIONS: tuple[Operation[TableRequest], ...] = (
    Operation("qualifier the table lacks", lambda r: bool(r.qualifier), table_ops.qualifier_missing, final=True),
    Operation("about something else", table_ops.names_other_topic, _nothing, final=True),
    Operation("about another counterpart", lambda r: any(other_counterpart(r.table.columns[c], r.ask.q) for m in r.metrics for c in m.cols),
              _nothing, final=True),
    Operation("years the table lacks", lambda r: bool(r.missing) and not r.named, table_ops.years_missing, final=True),
    Operation("a year from the text", lambda r: bool(r.missing) and bool(r.named) and table_ops.text_gives_missing_years(r),
              table_ops.year_from_text),
    Operation("some years the table lacks", lambda r: bool(r.missing) and bool(r.named) and not table_ops.text_gives_missing_years(r),
              table_ops.some_years_missing, final=True),
    Operation("difference of two metrics", lambda r: r.op in ("growth", "difference") and len(r.metrics) >= 2 and _rows(r) <= 1,
              table_ops.metric_difference, final=True),
    Operation("ratio of two metrics", lambda r: r.op == "ratio" and len(r.metrics) >= 2 and _rows(r) <= 1, table_ops.metric_ratio, final=True),
    Operation("share", lambda r: r.op == "share", table_ops.share, final=True),
    Operation("max/min", lambda r: r.op in ("max", "min"), table_ops.extreme, final=True),
    Operation("sum", lambda r: r.op == "sum" and _rows(r) != 1, table_ops.total, final=True),
    Operation("average", lambda r: r.op == "average" and _rows(r) != 1, table_ops.average, final=True),
    Operation("trend", lambda r: r.op == "trend", table_ops.trend, final=True),
    Operation("ratio of two years", lambda r: r.op == "ratio" and _rows(r) >= 2, table_ops.year_ratio, final=True),
    Operation("change between years", lambda r: r.op in ("growth", "difference") and _rows(r) >= 2, table_ops.change, final=True),
    Operation("change from the year before", lambda r: r.op == "growth" and _rows(r) == 1 and r.rows[0] > 0,
              table_ops.change_from_previous, final=True),
    Operation("growth over all years", lambda r: r.op == "growth" and not r.rows, table_ops.series, final=True),
    # a metric without a year: let text retrieval answer (or ask for a year)
    Operation("metric without a year", lambda r: not r.rows and len(r.metrics) == 1 and r.metric.kind == "column" and not r.op,
              _nothing, final=True),
    Operation("every year", lambda r: not r.rows and (bool(r.op) or r.metric.kind == "column"), table_ops.series, final=True),
    Operation("sum of metrics", lambda r: r.op == "sum" and len(r.metrics) >= 2 and _rows(r) == 1, table_ops.metric_sum, final=True),
    Operation("lookup", lambda r: True, table_ops.values, final=True),
)


# ---- the question ------------------------------------------------------------------------------------


def keyed_tables(r: Request) -> NumericAnswer | None:
    """The first name-keyed table that answers, the tables the question's words point at first."""
    view, q = r.view, r.ask.q
    for t in column_words.by_affinity([t for t in view.tables if not t.year_keyed], q, view.documents):
        if column_words.qualified_elsewhere(t, r.ask.question, view):
            continue  # "… with a dictionary on the samples": a condition the text speaks of and this table does not
        if year_columns.ASKS_YEAR.search(q) and not year_columns.can_name_a_year(t):
            continue  # "which year had the lowest output": a table with no years cannot say
        ask = keyed.read_keyed(t, q, flow_metrics(view, t, r.ask), view.documents)
        ask = keyed.whole_for_year(ask, view.tables, r.ask.years) if ask is not None else None
        ans = walk(KEYED_OPERATIONS, ask) if ask is not None else None
        if ans is not None and ask is not None:
            return keyed.with_footnotes(ans, ask, view.documents.get(t.doc_id, ""))
    return None


def year_tables(r: Request) -> NumericAnswer | None:
    """The first year-keyed table naming a metric of the question that says something."""
    for t in r.view.tables:
        tr = read_table(r, t) if t.year_keyed else None
        ans = walk(TABLE_OPERATIONS, tr) if tr is not None else None
        if ans is not None:
            return ans
    return None


def _extreme_op(r: Request) -> bool:
    return r.ask.op in ("max", "min")


STEPS: tuple[Operation[Request], ...] = (
    # "how did X end up with a surplus?" asks for the reason, which the text gives
    Operation("reason asked", lambda r: bool(REASON_Q.match(r.ask.q)) and r.ask.op is None, _nothing, final=True),
    # "imports from China": the document never names it, so no figure here is about it
    Operation("unknown name", lambda r: any(not doc_knows(r.view, n) for n in r.ask.names), _nothing, final=True),
    Operation("name-keyed tables", lambda r: True, keyed_tables),
    Operation("largest/smallest component", lambda r: _extreme_op(r) and bool(PART_WORDS.search(r.ask.q)), mention_ops.extreme_part),
    Operation("years between events", lambda r: bool(YEARS_APART.search(r.ask.q)), mention_ops.years_apart),
    Operation("date, count or rank", lambda r: bool(WHEN_INTENT.search(r.ask.q) or COUNT_INTENT.search(r.ask.q) or RANK_INTENT.search(r.ask.q)),
              mention_ops.dated_counted_ranked),
    # a ranking question is not answered with an amount
    Operation("rank not found", lambda r: bool(RANK_INTENT.search(r.ask.q)) and not (_extreme_op(r) and not PART_WORDS.search(r.ask.q)),
              _nothing, final=True),
    Operation("components", lambda r: True, mention_ops.parts),
    Operation("list of components", lambda r: bool(LIST_Q.search(r.ask.q) and PART_WORDS.search(r.ask.q)), mention_ops.list_parts),
    Operation("entity asked", lambda r: r.ask.op is None and bool(ENTITY_Q.search(r.ask.q)), _nothing, final=True),
    Operation("year-keyed tables", lambda r: True, year_tables),
    Operation("change one sentence gives", lambda r: r.ask.op == "growth", mention_ops.change_in_one_sentence),
    Operation("share of two amounts", lambda r: r.ask.op == "share", mention_ops.share_of_mentions),
    Operation("remainder of two amounts", lambda r: bool(mention_ops.REMAINDER.search(r.ask.q)), mention_ops.remainder_of_mentions),
    Operation("amount", lambda r: True, mention_ops.amount),
)


def answer(r: Request) -> NumericAnswer | None:
    return walk(STEPS, r)
