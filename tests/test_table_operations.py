"""Operations over name-keyed tables: sums, means, shares, n-th ranks, per-row ratios, multiples,
yes/no columns, and the choice between two tables with the same rows.

The document is written here, with invented names and values, so nothing in ``chatbot/`` can know
it; every expected number is computed by the test from the cells it wrote.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from chatbot.corpus import parse_document
from chatbot.facts.qa import NumericQA
from chatbot.facts.store import FactsDB, extract_all
from chatbot.types import Document

ROWS = [  # name, aperture (m), nights observed, staff, adaptive optics
    ("Pelorin", "8.2", "241", "36", "yes"),
    ("Vashti Ridge", "4.1", "198", "22", "no"),
    ("Ostrava Peak", "6.5", "263", "30", "yes"),
    ("Kelmer", "2.4", "175", "11", "no"),
]
SITE = """# Observatory network review

## Telescopes

| Telescope | Aperture (m) | Nights observed | Adaptive optics |
|---|---:|---:|---|
{rows}

## People

Staff per site, end of year:

    Telescope       Staff     Night
                    (FTE)     support
{staff}

## Power

Electricity used per site:

+--------------+-----------+
| Telescope    | Power     |
+==============+===========+
{power}
"""
POWER = {"Pelorin": "410 kW", "Vashti Ridge": "95 kW", "Ostrava Peak": "220 kW", "Kelmer": "60 kW"}


def _document() -> Document:
    rows = "\n".join(f"| {n}{'*' if n == 'Kelmer' else ''} | {a} | {nights} | {ao} |" for n, a, nights, _, ao in ROWS)
    staff = "\n".join(f"    {n:<16}{s:<10}{'full' if float(a) > 5 else 'on call'}" for n, a, _, s, _ in ROWS)
    power = "\n".join(f"| {n:<12} | {POWER[n]:<9} |\n+--------------+-----------+" for n, *_ in ROWS)
    text = SITE.format(rows=rows, staff=staff, power=power)
    return Document(doc_id="observatories", path="observatories.md", text=text, title="Observatory network review")


@pytest.fixture(scope="module")
def qa() -> NumericQA:
    doc = _document()
    passages, tables = parse_document(doc)
    facts, typed = extract_all([doc], passages, {doc.doc_id: tables})
    return NumericQA(FactsDB(facts, typed), {doc.doc_id: doc.text})


def _ask(qa: NumericQA, question: str) -> str:
    ans = qa.answer(question)
    assert ans is not None, question
    return ans.text


def test_the_three_layouts_are_typed_tables(qa: NumericQA) -> None:
    by_layout = {t.layout: t for t in qa.db.tables}
    assert set(by_layout) == {"markdown", "whitespace", "grid"}
    staff = by_layout["whitespace"]  # an indented table with a two-line header and text cells
    assert staff.columns == ("Telescope", "Staff (FTE)", "Night support")
    assert [row[2] for row in staff.cells] == ["full", "on call", "full", "on call"]


def test_sum_and_mean_of_a_column(qa: NumericQA) -> None:
    nights = [int(r[2]) for r in ROWS]
    assert f"{sum(nights)}" in _ask(qa, "How many nights were observed in total across the network?")
    mean = Decimal(sum(nights)) / len(nights)
    assert f"{mean.quantize(Decimal('0.01')).normalize():f}" in _ask(qa, "On average, how many nights did a telescope observe?")
    assert f"{sum(int(r[3]) for r in ROWS)}" in _ask(qa, "How many staff does the network employ altogether?")


def test_share_of_one_row(qa: NumericQA) -> None:
    nights = {r[0]: int(r[2]) for r in ROWS}
    share = Decimal(nights["Kelmer"]) / sum(nights.values()) * 100
    text = _ask(qa, "What share of all nights observed came from Kelmer?")
    assert f"{share.quantize(Decimal('0.1'))}%" in text and text.startswith("Kelmer")  # the footnote mark is not shown


def test_nth_rank_and_superlatives(qa: NumericQA) -> None:
    by_aperture = sorted(ROWS, key=lambda r: float(r[1]), reverse=True)
    assert _ask(qa, "Which telescope has the second largest aperture?").startswith(by_aperture[1][0])
    fewest = min(ROWS, key=lambda r: int(r[2]))[0]
    assert _ask(qa, "Which telescope observed on the fewest nights?").startswith(fewest)


def test_per_row_ratio_and_multiple(qa: NumericQA) -> None:
    p = next(r for r in ROWS if r[0] == "Pelorin")
    per = (Decimal(p[2]) / Decimal(p[1])).quantize(Decimal("0.01"))
    assert f"{per}" in _ask(qa, "How many nights observed per metre of aperture at Pelorin?")
    k = next(r for r in ROWS if r[0] == "Kelmer")
    times = (Decimal(p[1]) / Decimal(k[1])).quantize(Decimal("0.01"))
    assert f"{times}" in _ask(qa, "How many times larger is Pelorin's aperture than Kelmer's?")


def test_yes_no_column(qa: NumericQA) -> None:
    with_ao = [r[0] for r in ROWS if r[4] == "yes"]
    text = _ask(qa, "Which telescopes have adaptive optics?")
    assert all(n in text for n in with_ao) and not any(r[0] in text for r in ROWS if r[0] not in with_ao)
    assert _ask(qa, "How many telescopes have adaptive optics?").startswith(f"{len(with_ao)} of the {len(ROWS)}")
    without = [r[0] for r in ROWS if r[4] == "no"]
    text = _ask(qa, "Which telescopes have no adaptive optics?")
    assert all(n in text for n in without) and not any(n in text for n in with_ao)
    ans = qa.answer("Does Vashti Ridge have adaptive optics?")
    assert ans is not None and ans.verdict == "No"


def test_two_tables_with_the_same_rows_are_told_apart_by_their_heading(qa: NumericQA) -> None:
    assert "95 kW" in _ask(qa, "How much power does Vashti Ridge use?")
    assert "22" in _ask(qa, "How many staff work at Vashti Ridge?")
    assert _ask(qa, "Which site uses the least electricity?").startswith(min(POWER, key=lambda n: int(POWER[n].split()[0])))


BRANCHES = """Branches in 2025

Branch          Visits     Opening hours per week
Northam         120,500    50
Quayside        80,250     40
Total           200,750    90

Loans in 2024 were counted differently.
"""


def test_total_row_rate_columns_and_measure_names_that_start_with_total() -> None:
    doc = Document(doc_id="branches", path="branches.txt", text=BRANCHES, title="branches")
    passages, tables = parse_document(doc)
    facts, typed = extract_all([doc], passages, {doc.doc_id: tables})
    qa = NumericQA(FactsDB(facts, typed), {doc.doc_id: doc.text})
    assert "200,750" in _ask(qa, "How many visits did the whole network get?")  # the table's own total row
    assert "200,750" in _ask(qa, "How many visits were there across all branches altogether?")  # summed, total row left out
    assert f"{Decimal('80250') / 40:.2f}".rstrip("0").rstrip(".") in _ask(qa, "How many visits per opening hour did Quayside have?")
    ans = qa.answer("How many visits did Northam get in 2023?")  # the table is of 2025
    assert ans is None or "120,500" not in ans.text
    from chatbot.facts.keyed import is_total

    assert is_total("Total") and is_total("All regions") and is_total("Grand total") and not is_total("Total phenols")


YEARLY = """Loans by year

Year    Loans      Audio loans
2022    500,000    120,000
2023    540,000    150,500
2024    530,000    171,250
"""


def test_year_table_column_named_in_full_and_fewest() -> None:
    doc = Document(doc_id="yearly", path="yearly.txt", text=YEARLY, title="yearly")
    passages, tables = parse_document(doc)
    facts, typed = extract_all([doc], passages, {doc.doc_id: tables})
    qa = NumericQA(FactsDB(facts, typed), {doc.doc_id: doc.text})
    assert f"{120_000 + 150_500 + 171_250:,}" in _ask(qa, "How many audio loans were there over the three years altogether?")
    assert "2022" in _ask(qa, "Which year had the fewest loans?")
