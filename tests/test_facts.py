"""Facts table: extraction with provenance, consistency checks, numeric answers with arithmetic.

Expected values are computed here from the corpus text with an independent parser, never typed in.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from chatbot.errors import CuratedFactError
from chatbot.facts.numbers import fmt_money, parse_cell
from chatbot.facts.qa import NumericQA
from conftest import CORPUS, make_settings

ARTICLE = (CORPUS / "us-azerbaijan-trade.txt").read_text(encoding="utf-8")


def table_rows(text: str) -> dict[str, tuple[float, float, float]]:
    """Independent reading of the 'Year Import Export Trade turnover' block: year → values in millions."""
    rows = {}
    for m in re.finditer(r"^(\d{4}) \$([\d,.]+)M \$([\d,.]+)M \$([\d,.]+)M$", text, re.M):
        rows[m.group(1)] = tuple(float(m.group(i).replace(",", "")) for i in (2, 3, 4))
    return rows


ROWS = table_rows(ARTICLE)
YEARS = sorted(ROWS)


def test_independent_parser_sees_three_rows() -> None:
    assert len(ROWS) == 3


def test_table_extracted_with_exact_values(bot) -> None:  # type: ignore[no-untyped-def]
    (t,) = bot.facts_db.tables
    assert [c.lower() for c in t.columns] == ["year", "import", "export", "trade turnover"]
    assert list(t.labels) == YEARS
    for i, year in enumerate(YEARS):
        assert t.values[i][1:] == pytest.approx(tuple(v * 1e6 for v in ROWS[year]))
        assert ARTICLE[t.row_spans[i][0] : t.row_spans[i][1]] == t.row_quotes[i]
        assert t.row_quotes[i].startswith(year)


def test_totals_checked(bot) -> None:  # type: ignore[no-untyped-def]
    (t,) = bot.facts_db.tables
    assert len(t.checks) == 3 and all("(ok)" in c for c in t.checks)


def test_every_fact_quote_is_at_its_offsets(bot) -> None:  # type: ignore[no-untyped-def]
    docs = bot.index.documents
    assert bot.facts_db.facts
    for f in bot.facts_db.facts:
        assert docs[f.doc_id].text[f.start : f.end] == f.quote, f


def test_product_amounts_extracted_with_names(bot) -> None:  # type: ignore[no-untyped-def]
    expected = {
        re.sub(r"^and ", "", m.group(1)): float(m.group(2)) * 1e6
        for m in re.finditer(r"([a-z]+(?: [a-z]+)?) \(\$([\d.]+) million\)", ARTICLE)
    }
    assert len(expected) == 5
    parts = {f.subject: f.value for f in bot.facts_db.facts if f.kind == "part"}
    for name, value in expected.items():
        assert parts[name] == pytest.approx(value), name


def test_money_normalised() -> None:
    assert parse_cell("$1,617.93M").value == pytest.approx(1_617_930_000)
    assert parse_cell("€3.4 bn").unit == "EUR"
    assert fmt_money(-1_482_900_000, "USD", 1e6) == "−$1,482.90 million"


def test_events_and_mentions(bot) -> None:  # type: ignore[no-untyped-def]
    events = {f.period: f for f in bot.facts_db.facts if f.kind == "event"}
    for year in re.findall(r"the (\d{4}) Agreement", ARTICLE):
        assert year in events
    mou = re.search(r"signed on (\w+ \d+, (\d{4}))", ARTICLE)
    assert events[mou.group(2)].text_value == mou.group(1)
    assert any(f.kind == "rank" and f.value == float(re.search(r"ranking (\d+)", ARTICLE).group(1)) for f in bot.facts_db.facts)


@pytest.fixture(scope="module")
def qa(bot) -> NumericQA:  # type: ignore[no-untyped-def]
    return bot.chain.facts


def _num(s: str) -> float:
    return float(s.replace(",", "").replace("−", "-"))


@pytest.mark.parametrize("year", YEARS)
def test_deficit_each_year(qa: NumericQA, year: str) -> None:
    imp, exp, _ = ROWS[year]
    ans = qa.answer(f"What was the trade deficit in {year}?")
    assert ans is not None and not ans.abstain
    expected = f"{imp - exp:,.2f}"
    assert expected in ans.text
    assert any(f"= {expected}" in a for a in ans.arithmetic)
    assert ans.evidence[0].quote.startswith(year)


def test_growth_between_last_two_years(qa: NumericQA) -> None:
    a, b = YEARS[-2], YEARS[-1]
    ans = qa.answer(f"By what percentage did trade turnover grow from {a} to {b}?")
    pct = (ROWS[b][2] - ROWS[a][2]) / ROWS[a][2] * 100
    assert f"{pct:.1f}%" in ans.text
    assert any("growth:" in line for line in ans.arithmetic)
    assert [e.quote[:4] for e in ans.evidence] == [a, b]


def test_ratio_last_to_first_year(qa: NumericQA) -> None:
    ans = qa.answer(f"How many times larger was turnover in {YEARS[-1]} than in {YEARS[0]}?")
    assert f"{ROWS[YEARS[-1]][2] / ROWS[YEARS[0]][2]:.2f}" in ans.text


def test_product_share_of_exports(qa: NumericQA) -> None:
    part = float(re.search(r"aluminum plating \(\$([\d.]+) million\)", ARTICLE).group(1))
    total = float(re.search(r"Exports to the United States totaled \$([\d.]+) million", ARTICLE).group(1))
    ans = qa.answer("What share of exports to the US was aluminum plating?")
    assert f"{part / total * 100:.1f}%" in ans.text
    assert len(ans.evidence) == 2


def test_conflicting_sources_both_shown(qa: NumericQA) -> None:
    ans = qa.answer(f"How much did Azerbaijan export to the US in {YEARS[-1]}?")
    table_value = f"{ROWS[YEARS[-1]][1]:,.2f}"
    oec = re.search(r"Exports to the United States totaled \$([\d.]+ million)", ARTICLE).group(1)
    assert table_value in ans.text and oec in ans.text
    assert "conflicting sources" in ans.notes
    assert len(ans.evidence) == 2


def test_year_outside_table(qa: NumericQA) -> None:
    before = str(int(YEARS[0]) - 1)
    ans = qa.answer(f"What was the trade turnover in {before}?")
    assert ans.abstain
    assert f"{YEARS[0]}–{YEARS[-1]}" in ans.text
    assert not re.search(r"\$\d", ans.text)


def test_metric_the_table_lacks(qa: NumericQA) -> None:
    assert qa.answer(f"What was the GDP in {YEARS[-1]}?") is None


def test_false_premise_rise(qa: NumericQA) -> None:
    falling = next(b for a, b in zip(YEARS, YEARS[1:], strict=False) if ROWS[b][1] < ROWS[a][1])
    ans = qa.answer(f"Why did exports rise in {falling}?")
    assert "premise" in ans.text.lower() and "fell" in ans.text


def test_second_document_parser(other_bot) -> None:  # type: ignore[no-untyped-def]
    text = next(iter(other_bot.index.documents.values())).text
    rows = {m.group(1): [float(x.replace(",", "")) for x in m.groups()[1:]]
            for m in re.finditer(r"^\| (\d{4}) \| ([\d,]+) \| ([\d,]+) \| ([\d.]+) \|$", text, re.M)}
    years = sorted(rows)
    qa = other_bot.chain.facts
    ans = qa.answer(f"What was the revenue in {years[1]}?")
    assert f"{rows[years[1]][2]}" in ans.text and "EUR" in ans.text
    ans = qa.answer(f"How much did revenue grow from {years[1]} to {years[2]}?")
    pct = (rows[years[2]][2] - rows[years[1]][2]) / rows[years[1]][2] * 100
    assert f"{pct:.1f}%" in ans.text
    low = min(years, key=lambda y: rows[y][1])
    assert qa.answer("Which year had the lowest bulk cargo?").text.startswith(f"Bulk cargo was lowest in {low}")
    assert qa.answer(f"What was the revenue in {int(years[0]) - 1}?").abstain


def test_curated_fact_with_bad_quote_fails_and_keeps_index(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from chatbot.bot import Chatbot
    from chatbot.index import IndexManager

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = make_settings(tmp_path, corpus=corpus)
    Chatbot.load(settings, embedder=embedder, warm=False)
    before = (settings.index_dir / "current").resolve()
    (corpus / "facts.yaml").write_text(
        "- doc_id: us-azerbaijan-trade\n  subject: invented figure\n  value: 1\n  quote: \"a sentence the article never wrote\"\n",
        encoding="utf-8",
    )
    with pytest.raises(CuratedFactError, match="invented figure.*does not occur verbatim"):
        IndexManager(settings, embedder).ensure()
    assert (settings.index_dir / "current").resolve() == before
    assert not list((settings.index_dir / "builds").glob(".tmp-*"))
    good = re.search(r"over \d+ US-invested companies", ARTICLE).group(0)
    (corpus / "facts.yaml").write_text(
        f"- doc_id: us-azerbaijan-trade\n  subject: US-invested companies\n  attribute: count\n  value: 250\n  quote: \"{good}\"\n",
        encoding="utf-8",
    )
    bot = Chatbot.load(settings, embedder=embedder, warm=False)
    curated = [f for f in bot.facts_db.facts if f.kind == "curated"]
    assert len(curated) == 1 and ARTICLE[curated[0].start : curated[0].end] == good


def test_part_facts_link_their_whole_by_a_typed_id(bot) -> None:  # type: ignore[no-untyped-def]
    facts = {f.id: f for f in bot.chain.facts.db.facts}
    parts = [f for f in facts.values() if f.kind == "part"]
    assert parts, "the article's product amounts are parts of its export total"
    for f in parts:
        parent = facts[f.parent_id]
        assert parent.kind != "part" and parent.doc_id == f.doc_id
        assert "|" not in f.source_note and parent.subject in f.source_note
    assert all(not f.parent_id for f in facts.values() if f.kind != "part")
