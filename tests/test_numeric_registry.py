"""The numeric answerer as a registry of small operations over a frozen per-question context.

Every operation function is registered, every registered operation decides some question, and one
answerer serves many threads at once, keeping nothing about a question between calls.
"""

from __future__ import annotations

import dataclasses
import inspect
import random
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import get_type_hints

import pytest
from test_table_operations import BRANCHES
from test_table_operations import _document as observatories
from test_tables import BIKES, FLEET, MARKDOWN, MUSEUM, PLANTS, RESIZERS, RST, TRADE, VANS, _qa

from chatbot.corpus import parse_document, read_document
from chatbot.facts import keyed, mention_ops, registry, table_ops, year_columns
from chatbot.facts.context import Request, read_question
from chatbot.facts.qa import NumericQA
from chatbot.facts.store import FactsDB, extract_all
from chatbot.facts.table_read import flow_metrics, read_table
from chatbot.types import Document
from conftest import CORPUS, DATA

PATHS = (CORPUS / "us-azerbaijan-trade.txt", DATA / "harbor-report.md")
HARBOUR = (DATA / "harbor-report.md").read_text(encoding="utf-8")


def _answerer(paths: tuple[Path, ...]) -> NumericQA:
    docs = [read_document(p) for p in paths]
    passages, tables = [], {}
    for d in docs:
        ps, ts = parse_document(d)
        passages.extend(ps)
        tables[d.doc_id] = ts
    facts, table_data = extract_all(docs, passages, tables)
    return NumericQA(FactsDB(facts, table_data), {d.doc_id: d.text for d in docs}, {d.doc_id: d.title for d in docs})


def _answerer_of(doc: Document) -> NumericQA:
    passages, tables = parse_document(doc)
    facts, typed = extract_all([doc], passages, {doc.doc_id: tables})
    return NumericQA(FactsDB(facts, typed), {doc.doc_id: doc.text}, {doc.doc_id: doc.title})


@pytest.fixture(scope="module")
def answerers() -> dict[str, NumericQA]:
    return {"trade+port": _answerer(PATHS), "vans": _qa("vans", VANS)[1], "boards": _qa("boards", MARKDOWN)[1],
            "sensors": _qa("sensors", RST, ".rst")[1], "plants": _qa("plants", PLANTS)[1],
            "bikes": _qa("bikes", BIKES)[1],
            "museum": _qa("museum", MUSEUM)[1], "velsk": _qa("velsk", TRADE)[1], "resizers": _qa("resizers", RESIZERS)[1],
            "launches": _qa("launches", FLEET)[1],
            "observatories": _answerer_of(observatories()),
            "branches": _answerer_of(Document(doc_id="branches", path="branches.txt", text=BRANCHES, title="branches"))}


# ---- the registry covers every operation ---------------------------------------------------------------

REGISTRIES = {"question": registry.STEPS, "year table": registry.TABLE_OPERATIONS, "keyed table": registry.KEYED_OPERATIONS}


def _operation_functions() -> set[Callable[..., object]]:
    """Public functions of the operation modules taking one context and returning an answer (or nothing)."""
    out = set()
    for module in (table_ops, mention_ops, keyed, year_columns):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            hints = get_type_hints(fn)
            params = list(inspect.signature(fn).parameters)
            if len(params) == 1 and "NumericAnswer" in str(hints.get("return")):
                out.add(fn)
    return out


def test_every_operation_function_is_registered() -> None:
    registered = {op.run for ops in REGISTRIES.values() for op in ops}
    functions = _operation_functions()
    assert len(functions) >= 25  # the introspection found them
    assert functions - registered == set()
    for ops in REGISTRIES.values():
        assert len({op.name for op in ops}) == len(ops)  # names are unique within a registry
    names = " | ".join(op.name for ops in REGISTRIES.values() for op in ops)
    for kind in ("lookup", "compare two rows", "max/min", "rank", "difference", "change", "ratio", "sum", "average", "share",
                 "trend", "count", "components", "years between events", "amount"):
        assert kind in names, kind


# (answerer, registry, question, the operation that decides it)
DECIDES = [
    ("trade+port", "question", "Why is the port important?", "reason asked"),
    ("trade+port", "question", "What were imports from Zembla in 2023?", "unknown name"),
    ("vans", "question", "Which van has the longest range?", "name-keyed tables"),
    ("trade+port", "question", "According to the OEC, what was Azerbaijan's largest export item to the US?", "largest/smallest component"),
    ("trade+port", "question", "Which came first, the commercial relations agreement or the investment protection one, and how many years apart were they?",
     "years between events"),
    ("trade+port", "question", "Where does azerbaijan rank worldwide as an exporter?", "date, count or rank"),
    ("trade+port", "question", "Where did the roundtable with the US business delegation take place?", "rank not found"),
    ("trade+port", "question", "How much explosive ammunition did azerbaijan sell the us?", "components"),
    ("trade+port", "question", "Which products dominated Exports to the United States?", "list of components"),
    ("trade+port", "question", "Who led the delegation?", "entity asked"),
    ("trade+port", "question", "How much revenue did the port make in 2019?", "year-keyed tables"),
    ("trade+port", "question", "Using the OEC figures, what percentage of Azerbaijan's total 2024 exports went to the United States?",
     "share of two amounts"),
    ("bikes", "question", "How much of the trial budget remained unspent?", "remainder of two amounts"),
    ("launches", "question", "By how much did fare revenue rise in 2024?", "change one sentence gives"),
    ("trade+port", "question", "How much is the dredging programme going to cost?", "amount"),
    ("trade+port", "year table", "What was quarterly revenue in 2020?", "qualifier the table lacks"),
    ("trade+port", "year table", "Which railway did the cooperative buy its railcars from?", "about something else"),
    ("trade+port", "year table", "What were the port's container figures for 2022?", "years the table lacks"),
    ("trade+port", "year table", "By how much did revenue grow between 2018 and 2020?", "some years the table lacks"),
    ("museum", "year table", "Did visitors in 2024 beat the 2019 level?", "a year from the text"),
    ("velsk", "year table", "What were Velsk's exports to all countries in 2023?", "about another counterpart"),
    ("trade+port", "year table", "By how much did export exceed import in 2024?", "difference of two metrics"),
    ("trade+port", "year table", "In 2023 the US exported how many times more to Azerbaijan than it imported?", "ratio of two metrics"),
    ("trade+port", "year table", "What share of 2024 trade turnover did imports account for?", "share"),
    ("trade+port", "year table", "Which year in the table had the highest trade turnover?", "max/min"),
    ("trade+port", "year table", "Add up the revenue for all three years in the table - what's the total?", "sum"),
    ("trade+port", "year table", "What was the average annual trade turnover over the three years in the table?", "average"),
    ("trade+port", "year table", "How did trade turnover evolve over time?", "trend"),
    ("trade+port", "year table", "Roughly how many times larger was 2024 turnover than 2022 turnover?", "ratio of two years"),
    ("trade+port", "year table", "By what percentage did trade turnover grow from 2023 to 2024?", "change between years"),
    ("trade+port", "year table", "Why did the port's revenue fall in 2021?", "change from the year before"),
    ("trade+port", "year table", "How much did port revenue grow?", "growth over all years"),
    ("trade+port", "year table", "What does the US mainly sell to Azerbaijan?", "metric without a year"),
    ("trade+port", "year table", "How many times larger was revenue?", "every year"),
    ("trade+port", "year table", "What was export and import combined in 2023?", "sum of metrics"),
    ("trade+port", "year table", "What was the container count for 2021, in TEU?", "lookup"),
    ("observatories", "keyed table", "Which telescopes have adaptive optics?", "flagged rows"),
    ("boards", "keyed table", "How many rows use a toolchain other than Clang?", "count"),
    ("observatories", "keyed table", "How many nights observed per metre of aperture at Pelorin?", "row ratio"),
    ("observatories", "keyed table", "What share of all nights observed came from Kelmer?", "share"),
    ("observatories", "keyed table", "How many nights were observed in total across the network?", "sum/average"),
    ("branches", "keyed table", "How many visits did the whole network get?", "total row"),
    ("observatories", "keyed table", "How many times larger is Pelorin's aperture than Kelmer's?", "times"),
    ("sensors", "keyed table", "What's the range of wind speed, high minus low?", "column difference"),
    ("sensors", "keyed table", "Which reading has the highest high divided by mean?", "ratio extreme"),
    ("vans", "keyed table", "Which van has the longest range?", "max/min"),
    ("resizers", "keyed table", "What is the total memory of the top two resizers by memory?", "top rows"),
    ("resizers", "keyed table", "What throughput did magick get in the benchmark table?", "a row the table lacks"),
    ("vans", "keyed table", "What is the price gap between the most expensive and the cheapest van?", "gap between highest and lowest"),
    ("vans", "keyed table", "Is Alder 2 or Cedar X cheaper, by price?", "compare two rows"),
    ("plants", "keyed table", "How much did Dunmere's volume rise from 2022 to 2023?", "change between year columns"),
    ("plants", "keyed table", "Which plant grew least between 2023 and 2024?", "largest change between year columns"),
    ("plants", "keyed table", "Which plants dropped between 2023 and 2024?", "rows that rose or fell between year columns"),
    ("plants", "keyed table", "Which plants treated less than 900 ML in 2023?", "rows within a bound"),
    ("plants", "keyed table", "When did Ashgrove treat the least water?", "a row's highest or lowest year column"),
    ("plants", "keyed table", "What was Ashgrove's average volume over the years?", "a row's average or total over the year columns"),
    ("vans", "keyed table", "What is the price of Birch L?", "lookup"),
]


def _decisions(qa: NumericQA, level: str, question: str) -> list[str]:
    """The operation that decides the question in this registry (for a table registry: in each table)."""
    r = Request(read_question(question), qa.view)
    if level == "question":
        decided = [registry.decide(registry.STEPS, r)]
    elif level == "year table":
        decided = [registry.decide(registry.TABLE_OPERATIONS, tr) for t in qa.view.tables if t.year_keyed and (tr := read_table(r, t))]
    else:
        asks = [keyed.read_keyed(t, r.ask.q, flow_metrics(qa.view, t, r.ask), qa.view.documents) for t in qa.view.tables if not t.year_keyed]
        decided = [registry.decide(registry.KEYED_OPERATIONS, a) for a in asks if a is not None]
    return [d[0] for d in decided if d is not None]


@pytest.mark.parametrize(("who", "level", "question", "expected"), DECIDES, ids=[f"{lv}: {name}" for _, lv, _, name in DECIDES])
def test_registered_operation_decides_a_question(answerers: dict[str, NumericQA], who: str, level: str, question: str, expected: str) -> None:
    assert expected in _decisions(answerers[who], level, question)


def test_every_registered_operation_is_exercised() -> None:
    exercised = {(level, name) for _, level, _, name in DECIDES}
    assert exercised == {(level, op.name) for level, ops in REGISTRIES.items() for op in ops}


# ---- one answerer, many threads ---------------------------------------------------------------------------

THREAD_QUESTIONS = (
    "How much revenue did the port make in 2019?",
    "What was the container count for 2021, in TEU?",
    "What was the trade deficit in 2023?",
    "By what percentage did trade turnover grow from 2023 to 2024?",
    "Which year in the table had the highest trade turnover?",
    "What was the average annual trade turnover over the three years in the table?",
    "How did trade turnover evolve over time?",
    "Roughly how many times larger was 2024 turnover than 2022 turnover?",
    "What share of 2024 trade turnover did imports account for?",
    "By how much did export exceed import in 2024?",
    "What were the port's container figures for 2022?",
    "What was quarterly revenue in 2020?",
    "How much explosive ammunition did azerbaijan sell the us?",
    "Where does azerbaijan rank worldwide as an exporter?",
    "Which came first, the commercial relations agreement or the investment protection one, and how many years apart were they?",
    "Which products dominated Exports to the United States?",
)


def _harbour_value(column: str, year: str) -> str:
    """A cell of the port report's table, read here from its Markdown."""
    lines = [ln for ln in HARBOUR.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    row = next([c.strip() for c in ln.strip("|").split("|")] for ln in lines if ln.strip("| ").startswith(year))
    return row[next(j for j, h in enumerate(header) if column in h.lower())]


def test_one_answerer_answers_16_threads_each_with_its_own_question(answerers: dict[str, NumericQA]) -> None:
    qa = answerers["trade+port"]
    assert len(THREAD_QUESTIONS) == 16
    alone = {q: qa.answer(q) for q in THREAD_QUESTIONS}
    assert all(a is not None for a in alone.values())
    assert len({a.text for a in alone.values() if a is not None}) == 16  # a mix-up would show
    # two of them checked against the document itself
    assert _harbour_value("revenue", "2019") in (alone[THREAD_QUESTIONS[0]] or pytest.fail()).text
    assert _harbour_value("container", "2021") in (alone[THREAD_QUESTIONS[1]] or pytest.fail()).text
    before = {k: (id(v), len(v) if hasattr(v, "__len__") else None) for k, v in vars(qa).items()}
    asks = [q for _ in range(8) for q in THREAD_QUESTIONS]
    random.Random(3).shuffle(asks)
    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(qa.answer, asks))
    for q, ans in zip(asks, got, strict=True):
        assert ans == alone[q], q
    # nothing about a question was kept on the answerer
    assert {k: (id(v), len(v) if hasattr(v, "__len__") else None) for k, v in vars(qa).items()} == before


def test_the_context_is_frozen(answerers: dict[str, NumericQA]) -> None:
    qa = answerers["trade+port"]
    r = Request(read_question("What was the trade deficit in 2023?"), qa.view)
    tr = next(x for t in qa.view.tables if (x := read_table(r, t)) is not None)
    for obj, field in ((r, "ask"), (r.ask, "q"), (qa.view, "facts"), (tr, "rows")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, field, None)
    with pytest.raises(TypeError):
        qa.view.doc_df["x"] = 1  # type: ignore[index]
    assert re.search(r"\d", (qa.answer(r.ask.question) or pytest.fail()).text)
