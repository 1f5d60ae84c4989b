"""Whitespace tables with a header on two lines, and footnote marks in cells."""

from __future__ import annotations

from chatbot.corpus import parse_document
from chatbot.facts.extract import table_data
from chatbot.types import Document

DRIVES = """Drive benchmarks

The lab measured three drives in March.

               Read      Write     Price
Drive          (MB/s)    (MB/s)    (EUR)
Alpha            530       510     120*
Beta           3,500     3,000     210 [1]
Gamma            550       520     95¹

[1] Launch price.
"""


def test_two_line_header_is_joined_by_column_and_footnote_cells_are_typed() -> None:
    doc = Document("drives", "drives.txt", DRIVES, "Drives")
    passages, tables = parse_document(doc)
    assert len(tables) == 1
    t = tables[0]
    assert t.columns == ("Drive", "Read (MB/s)", "Write (MB/s)", "Price (EUR)")
    assert [r[0] for r in t.rows] == ["Alpha", "Beta", "Gamma"]
    for row, spans in zip(t.rows, t.cell_spans, strict=True):
        for cell, (a, b) in zip(row, spans, strict=True):
            assert doc.text[a:b] == cell
    passage = next(p for p in passages if p.kind == "table")
    assert passage.text.startswith("               Read") and "Launch price" not in passage.text
    assert any(p.text == "The lab measured three drives in March." for p in passages)  # prose not taken as header
    data = table_data(doc, passage, t)
    assert data.exact[1][1:] == ("3500", "3000", "210")
    assert data.exact[2][3] == "95" and data.exact[0][3] == "120"
    assert data.units[1] == "MB/s"


def test_prose_line_over_a_one_line_header_stays_prose() -> None:
    text = "Sales by region over the year\nRegion     Units   Revenue\nNorth        120     1,400\nSouth         95     1,150\n"
    doc = Document("s", "s.txt", text, "S")
    _, tables = parse_document(doc)
    assert tables and tables[0].columns == ("Region", "Units", "Revenue")
