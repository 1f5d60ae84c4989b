"""Reading and cutting documents: boilerplate, exact offsets, tables, sections, stable ids, errors.

Real documents only: the article in corpus/ and the second test document tests/data/harbor-report.md.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from chatbot.corpus import load_corpus, parse_document, read_corpus, read_document
from chatbot.errors import CorpusError
from chatbot.types import Document, Passage
from conftest import CORPUS, DATA

ARTICLE = CORPUS / "us-azerbaijan-trade.txt"
HARBOR = DATA / "harbor-report.md"
YEAR_ROW = re.compile(r"^\s*\|?\s*(19|20)\d\d\b")


@pytest.fixture(scope="module")
def article() -> tuple[Document, list[Passage], list]:
    doc = read_document(ARTICLE)
    passages, tables = parse_document(doc)
    return doc, passages, tables


@pytest.fixture(scope="module")
def harbor() -> tuple[Document, list[Passage], list]:
    doc = read_document(HARBOR)
    passages, tables = parse_document(doc)
    return doc, passages, tables


def _data_rows(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if YEAR_ROW.match(ln)]


def _check_offsets(doc: Document, passages: list[Passage]) -> None:
    assert passages
    for p in passages:
        assert doc.text[p.start : p.end] == p.text, p.id
        assert p.text == p.text.strip() and p.text, p.id
        assert p.sentences, p.id
        for s in p.sentences:
            assert doc.text[s.start : s.end] == s.text, (p.id, s)
            assert p.start <= s.start < s.end <= p.end, (p.id, s)
    # Passages come in document order and never overlap.
    for a, b in zip(passages, passages[1:], strict=False):
        assert a.end <= b.start


# ---- the article -------------------------------------------------------------------------------
def test_article_metadata_from_sidecar(article) -> None:  # type: ignore[no-untyped-def]
    doc, _, _ = article
    assert doc.doc_id == "us-azerbaijan-trade"
    assert doc.title == "US-Azerbaijan trade relations"
    assert doc.language == "en"


def test_boilerplate_is_stripped(article) -> None:  # type: ignore[no-untyped-def]
    doc, passages, _ = article
    # The raw document really has the boilerplate this test is about.
    assert doc.text.lstrip().startswith("|")
    assert doc.text.rstrip().endswith("Print version")
    for p in passages:
        assert p.text.strip() not in {"|", "Print version"}
        assert not re.fullmatch(r"[\s|]*", p.text)
        assert "Print version" not in p.text
        for s in p.sentences:
            assert s.text.strip() not in {"|", "Print version"}
    assert passages[0].text.startswith("US-Azerbaijani trade relations")
    assert passages[-1].text.startswith("In conclusion")
    assert passages[-1].text.endswith("shared strategic interests.")


def test_article_offsets_are_exact(article) -> None:  # type: ignore[no-untyped-def]
    doc, passages, _ = article
    _check_offsets(doc, passages)
    assert sum(len(p.sentences) for p in passages) > len(passages)  # paragraphs are split


def test_article_table_is_one_passage(article) -> None:  # type: ignore[no-untyped-def]
    doc, passages, tables = article
    table_passages = [p for p in passages if p.kind == "table"]
    assert len(table_passages) == 1
    t = table_passages[0]
    assert "Year Import Export Trade turnover" in t.text
    rows = _data_rows(t.text)
    assert [r.split()[0] for r in rows] == ["2022", "2023", "2024"]
    assert "$1,617.93M" in t.text and "$1,752.96M" in t.text
    # No other passage holds a piece of the table.
    for p in passages:
        if p is not t:
            assert "Year Import Export" not in p.text
            assert not _data_rows(p.text)
    # The parsed table agrees with the passage.
    assert len(tables) == 1
    table = tables[0]
    assert table.columns == ("Year", "Import", "Export", "Trade turnover")
    assert [r[0] for r in table.rows] == ["2022", "2023", "2024"]
    assert all(len(r) == 4 for r in table.rows)
    for row, (a, b) in zip(table.rows, table.row_spans, strict=True):
        assert doc.text[a:b].split()[0] == row[0]
        assert t.start <= a < b <= t.end
    a, b = table.header_span
    assert doc.text[a:b] == "Year Import Export Trade turnover"


def test_article_sections(article) -> None:  # type: ignore[no-untyped-def]
    doc, passages, _ = article
    sections = [p.section for p in passages]
    assert sections[0] == doc.title  # text before the first heading
    for title in (
        "Trade structure and current dynamics",
        "Trade trends: Rapid growth, structural imbalance",
        "Beyond trade: Technology and energy security",
    ):
        assert title in sections
        # A heading is a section, never a passage of its own.
        assert all(p.text != title for p in passages)
    first = sections.index("Trade structure and current dynamics")
    assert passages[first].text.startswith("Despite the growing political")
    assert all(p.section != "Trade structure and current dynamics" for p in passages[:first])
    table = next(p for p in passages if p.kind == "table")
    assert table.section == "Trade trends: Rapid growth, structural imbalance"
    assert passages[-1].section == "Beyond trade: Technology and energy security"
    # Sections appear in document order, each once as a contiguous run.
    runs = [s for i, s in enumerate(sections) if i == 0 or sections[i - 1] != s]
    assert len(runs) == len(set(runs)) == 4


def test_ids_are_stable_and_unique(tmp_path: Path) -> None:
    first = [p for d in load_corpus(CORPUS) for p in parse_document(d)[0]]
    # A second parse, from a copy in another folder, gives identical passages and ids.
    copy = tmp_path / "corpus"
    shutil.copytree(CORPUS, copy)
    second = [p for d in load_corpus(copy) for p in parse_document(d)[0]]
    assert [p.id for p in first] == [p.id for p in second]
    assert first == second
    assert len({p.id for p in first}) == len(first)


def test_load_corpus_reads_the_folder() -> None:
    docs = load_corpus(CORPUS)
    assert [d.doc_id for d in docs] == ["us-azerbaijan-trade"]
    assert docs[0].path == "us-azerbaijan-trade.txt"


# ---- the second document: markdown headings, pipe table, hard-wrapped paragraphs ---------------
def test_harbor_offsets_are_exact(harbor) -> None:  # type: ignore[no-untyped-def]
    doc, passages, _ = harbor
    _check_offsets(doc, passages)


def test_harbor_headings_become_sections(harbor) -> None:  # type: ignore[no-untyped-def]
    doc, passages, _ = harbor
    sections = [p.section for p in passages]
    assert sections[0] == "Port of Velmora annual review"
    assert "Cargo and revenue" in sections
    assert "Investment and agreements" in sections
    for p in passages:
        assert not p.text.lstrip().startswith("#"), p.text
    by_start = {p.text.split()[0]: p.section for p in passages}
    assert by_start["Traffic"] == "Cargo and revenue"  # the paragraph that introduces the table (ends with ":")
    assert by_start["Fish"] == "Cargo and revenue"
    assert next(p for p in passages if "Concession Agreement" in p.text).section == "Investment and agreements"
    assert passages[-1].section == "Investment and agreements"


def test_harbor_hard_wrapped_paragraphs_are_whole(harbor) -> None:  # type: ignore[no-untyped-def]
    doc, passages, _ = harbor
    texts = [p for p in passages if p.kind == "text"]
    # Each blank-line-separated paragraph is one passage, wrapped lines and all.
    first = texts[0]
    assert first.text.startswith("The Port of Velmora handled more containers")
    assert first.text.endswith("at the northern quay.")
    assert first.text.count("\n") >= 2
    # A sentence that crosses a line break is still one sentence.
    assert any("annual review." in s.text and "\n" in s.text for s in first.sentences)
    concession = next(p for p in texts if "Concession Agreement" in p.text)
    assert concession.text.endswith("planned for 2023.")
    assert len(texts) == 4  # the paragraph ending in ":" went with the table it introduces
    table = next(p for p in passages if p.kind == "table")
    assert table.text.startswith("Traffic dipped") and table.text.rstrip().endswith("41.2 |")


def test_harbor_table_is_one_passage(harbor) -> None:  # type: ignore[no-untyped-def]
    doc, passages, tables = harbor
    table_passages = [p for p in passages if p.kind == "table"]
    assert len(table_passages) == 1
    t = table_passages[0]
    assert t.section == "Cargo and revenue"
    assert "| Year | Containers (TEU) |" in t.text
    assert [r.strip("| ").split()[0] for r in _data_rows(t.text)] == ["2019", "2020", "2021"]
    assert len(tables) == 1
    assert tables[0].columns == ("Year", "Containers (TEU)", "Bulk cargo (tonnes)", "Revenue (EUR million)")
    assert tables[0].rows[-1] == ("2021", "448,200", "1,305,000", "41.2")
    for p in passages:
        if p is not t:
            assert not _data_rows(p.text) and "|" not in p.text


def test_corpus_folder_with_two_documents(tmp_path: Path, other_corpus: Path) -> None:
    folder = tmp_path / "both"
    shutil.copytree(CORPUS, folder)
    shutil.copy(other_corpus / "harbor-report.md", folder)
    docs = load_corpus(folder)
    assert [d.doc_id for d in docs] == ["harbor-report", "us-azerbaijan-trade"]
    harbor_doc = docs[0]
    assert harbor_doc.title == "Harbor Report"  # no sidecar: title from the file name
    ids = [p.id for d in docs for p in parse_document(d)[0]]
    assert len(ids) == len(set(ids))


# ---- errors -------------------------------------------------------------------------------------
def test_non_utf8_file_is_skipped_with_an_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    bad = folder / "latin1-notes.txt"
    bad.write_bytes("Caf\u00e9 r\u00e9sum\u00e9 na\u00efve\n".encode("latin-1"))
    found = read_corpus(folder)
    assert [d.doc_id for d in found.documents] == ["us-azerbaijan-trade"]
    assert len(found.skipped) == 1 and "latin1-notes.txt" in found.skipped[0] and "UTF-8" in found.skipped[0]
    with pytest.raises(CorpusError, match="latin1-notes.txt"):
        read_document(bad)


def test_empty_corpus_folder_raises(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(CorpusError, match=r"No \.txt/\.md/\.rst/.* documents"):
        load_corpus(folder)
    # Files of other kinds do not count as documents.
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    (folder / "orphan.meta.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CorpusError):
        load_corpus(folder)


def test_missing_corpus_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nowhere")


def test_invalid_sidecar_raises(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    (folder / "us-azerbaijan-trade.meta.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorpusError, match="us-azerbaijan-trade.meta.json"):
        load_corpus(folder)  # the only document skipped: nothing left to index


def test_field_list_items_and_initials_make_whole_sentences() -> None:
    """A dataset card's fields are one statement each; initials and "no. 92" do not end a sentence."""
    from chatbot.corpus import sentence_spans

    text = (
        ":Number of Instances: 412\n:Attribute Information:\n    - Width\n    - Depth\n"
        ":Creator: J.K. Oduya\n:Date: May, 2003.\n"
        "Compiled by T. Hallam (2004). See Tech. Rep. no. 17-3 for details. The survey ended in 2003."
    )
    got = [s.text for s in sentence_spans(text, 10)]
    assert got == [
        ":Number of Instances: 412",
        ":Attribute Information:\n    - Width\n    - Depth",
        ":Creator: J.K. Oduya",
        ":Date: May, 2003.",
        "Compiled by T. Hallam (2004).",
        "See Tech.",
        "Rep. no. 17-3 for details.",
        "The survey ended in 2003.",
    ]
    assert all(text[s.start - 10 : s.end - 10] == s.text for s in sentence_spans(text, 10))


def test_a_line_that_runs_on_is_not_a_heading() -> None:
    text = (
        "Survey of river gauges\n\nThe gauges were read weekly by volunteers along the whole river.\n\n"
        "It can be fetched with the\n:func:`gauges.fetch` helper, which caches the readings locally.\n\n"
        "Original owners:\n\nHallam, T. et al, GAUGEKIT -\nA package of programs for reading river gauges by hand.\n"
    )
    doc = Document(doc_id="gauges", path="gauges.rst", text=text, title="Gauges")
    sections = {p.section for p in parse_document(doc)[0]}
    assert "It can be fetched with the" not in sections
    assert not any(s.endswith("-") for s in sections)


def test_each_field_of_a_field_list_is_a_passage() -> None:
    text = (
        "River gauges\n============\n\n"
        "The gauges along the river were read weekly by a team of volunteers from three villages, who\n"
        "kept the readings in paper ledgers until the survey moved online in the spring of 2004.\n\n"
        ":Number of Gauges: 412\n:Attribute Information:\n    - Width\n    - Depth\n:Creator: J.K. Oduya\n:Date: May, 2003\n"
    )
    doc = Document(doc_id="gauges", path="gauges.rst", text=text, title="Gauges")
    texts = [p.text for p in parse_document(doc)[0]]
    assert ":Creator: J.K. Oduya" in texts
    assert ":Attribute Information:\n    - Width\n    - Depth" in texts
