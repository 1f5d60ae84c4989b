"""Documents in other formats (.rst, .html, .pdf, .docx) become text with exact spans; bad files are skipped."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter

from chatbot.corpus import parse_document, read_corpus, read_document
from chatbot.errors import CorpusError
from chatbot.types import Document


def _check_spans(doc: Document) -> tuple[list, list]:  # type: ignore[type-arg]
    passages, tables = parse_document(doc)
    assert passages
    for p in passages:
        assert doc.text[p.start : p.end] == p.text
        for s in p.sentences:
            assert doc.text[s.start : s.end] == s.text
    for t in tables:
        for row, spans in zip(t.rows, t.cell_spans, strict=True):
            for cell, (a, b) in zip(row, spans, strict=True):
                assert doc.text[a:b] == cell
    return passages, tables


def _pdf(path: Path, lines: list[str], title: str = "") -> None:
    """A minimal one-page PDF with one text line per entry (Helvetica), offsets computed here."""
    ops = ["BT", "/F1 11 Tf", "14 TL", "72 720 Td"]
    for ln in lines:
        ops.append("(" + ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (" + title.encode("latin-1") + b") >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{k} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))


def test_rst_titles_field_lists_and_grid_tables(tmp_path: Path) -> None:
    path = tmp_path / "drives.rst"
    path.write_text(
        "Storage drives\n==============\n\n"
        ":Number of Drives: 3\n\n"
        "Throughput\n----------\n\n"
        "The drives were measured in one lab.\n\n"
        "+--------+-----------+--------+\n"
        "| Drive  | Read      | Price  |\n"
        "+========+===========+========+\n"
        "| Alpha  | 530 MB/s  | €120   |\n"
        "+--------+-----------+--------+\n"
        "| Beta   | 3,500 MB/s| €210   |\n"
        "+--------+-----------+--------+\n\n"
        "Beta is the fastest.\n",
        encoding="utf-8",
    )
    doc = read_document(path)
    passages, tables = _check_spans(doc)
    assert len(tables) == 1 and tables[0].layout == "grid"
    assert tables[0].columns == ("Drive", "Read", "Price")
    assert tables[0].rows == (("Alpha", "530 MB/s", "€120"), ("Beta", "3,500 MB/s", "€210"))
    sections = {p.section for p in passages}
    assert "Throughput" in sections
    assert not any(p.text.strip() in ("Storage drives", "Throughput") for p in passages)  # titles are not passages
    table_passage = next(p for p in passages if p.kind == "table")
    assert table_passage.section == "Throughput"


def test_html_main_text_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Drive report</title><style>p {color: red}</style></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/x'>Other</a></nav>"
        "<main><h1>Drive report</h1><p>The <b>Alpha</b> drive reads at 530 MB/s.\nIt costs less.</p>"
        "<h2>Prices</h2><table><tr><th>Drive</th><th>Price</th></tr>"
        "<tr><td>Alpha</td><td>€120</td></tr><tr><td>Beta</td><td>€210</td></tr></table>"
        "<ul><li>Two drives were tested.</li></ul>"
        "<pre>\n               Read      Write\nDrive          (MB/s)    (MB/s)\n"
        "Gamma            550       520\nDelta            560       530\n</pre></main>"
        "<footer>Copyright</footer><script>var x = 1;</script></body></html>",
        encoding="utf-8",
    )
    doc = read_document(path)
    assert doc.title == "Drive report"
    assert "Home" not in doc.text and "Copyright" not in doc.text and "var x" not in doc.text
    assert "The Alpha drive reads at 530 MB/s. It costs less." in doc.text
    passages, tables = _check_spans(doc)
    assert tables and tables[0].columns == ("Drive", "Price")
    assert tables[0].rows == (("Alpha", "€120"), ("Beta", "€210"))
    assert tables[1].columns == ("Drive", "Read (MB/s)", "Write (MB/s)")  # a <pre> keeps its alignment
    assert tables[1].rows[1] == ("Delta", "560", "530")
    assert any(p.section == "Prices" for p in passages if p.kind == "table")
    assert any("Two drives were tested." in p.text for p in passages)


def test_docx_paragraphs_headings_and_tables(tmp_path: Path) -> None:
    d = docx.Document()
    d.core_properties.title = "Fleet notes"
    d.add_heading("Fleet notes", level=1)
    d.add_paragraph("The fleet grew to 14 vans in 2024.")
    d.add_heading("Mileage", level=2)
    table = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Van", "Kilometres"), ("Kestrel", "41,200"), ("Osprey", "38,950")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    d.add_paragraph("Osprey was serviced twice.")
    path = tmp_path / "fleet.docx"
    d.save(str(path))
    doc = read_document(path)
    assert doc.title == "Fleet notes"
    passages, tables = _check_spans(doc)
    assert tables[0].columns == ("Van", "Kilometres")
    assert tables[0].rows[1] == ("Osprey", "38,950")
    text_passages = [p for p in passages if p.kind == "text"]
    assert [p.text for p in text_passages] == ["The fleet grew to 14 vans in 2024.", "Osprey was serviced twice."]
    assert text_passages[0].section == "Fleet notes"
    assert doc.text.index("Fleet notes") < doc.text.index("The fleet") < doc.text.index("Kestrel") < doc.text.index("Osprey was")


def test_pdf_text_paragraphs_and_spans(tmp_path: Path) -> None:
    path = tmp_path / "memo.pdf"
    lines = ["Depot memo",
             "The northern depot opened in 2019 with twelve staff and two vans that",
             "served the valley towns every weekday morning.",
             "It moved to a larger site in 2023.",
             "Staffing",
             "The depot employs 18 people today, of whom six work part time and the",
             "rest full time across two shifts, with a manager on each shift and one",
             "dispatcher."]
    _pdf(path, lines, title="Depot memo")
    doc = read_document(path)
    assert doc.title == "Depot memo"
    passages, _ = _check_spans(doc)
    assert [p.text.replace("\n", " ") for p in passages] == [
        " ".join(lines[1:3]), lines[3], " ".join(lines[5:]),
    ]  # paragraphs rebuilt from the page's lines; the short title lines are headings
    assert passages[-1].section == "Staffing"


def test_bad_and_encrypted_files_are_skipped_and_the_rest_indexes(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "good.md").write_text("# Notes\n\nThe depot opened in 2019.\n", encoding="utf-8")
    (folder / "broken.docx").write_bytes(b"this is not a zip file")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really\n")
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    with (folder / "locked.pdf").open("wb") as fh:
        writer.write(fh)
    found = read_corpus(folder)
    assert [d.doc_id for d in found.documents] == ["good"]
    assert len(found.skipped) == 3
    assert "not a valid DOCX file" in found.skipped[0]
    for name, message in zip(["broken.docx", "broken.pdf", "locked.pdf"], found.skipped, strict=True):
        assert message.startswith(name) or name in message
        assert "\n" not in message
    assert "encrypted" in found.skipped[2]
    with pytest.raises(CorpusError, match="broken.docx"):
        read_document(folder / "broken.docx")


@pytest.mark.slow
def test_mixed_corpus_with_a_broken_file_indexes_and_answers_with_exact_citations(
    tmp_path: Path, embedder, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    from chatbot.bot import Chatbot
    from chatbot.index import IndexManager
    from conftest import make_settings

    folder = tmp_path / "corpus"
    folder.mkdir()
    d = docx.Document()
    d.add_heading("Fleet mileage", level=1)
    d.add_paragraph("The cooperative runs two vans between the depots.")
    table = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Van", "Kilometres"), ("Kestrel", "41,200"), ("Osprey", "38,950")]):
        table.cell(r, 0).text, table.cell(r, 1).text = a, b
    d.save(str(folder / "fleet.docx"))
    _pdf(folder / "depot.pdf", ["The northern depot opened in 2019 with 12 staff."])
    (folder / "notes.html").write_text("<html><body><p>The southern depot closed in 2021.</p></body></html>", encoding="utf-8")
    (folder / "broken.docx").write_bytes(b"not a zip")
    settings = make_settings(tmp_path, corpus=folder)
    with caplog.at_level("WARNING"):
        built, _ = IndexManager(settings, embedder).ensure()
    assert built and any("broken.docx" in r.getMessage() for r in caplog.records)
    bot = Chatbot.load(settings, embedder=embedder)
    texts = {doc.doc_id: read_document(folder / doc.path).text for doc in read_corpus(folder).documents}
    ans = bot.ask("How many kilometres did Osprey drive?")
    assert "38,950" in ans.text and ans.citations
    for c in ans.citations:
        assert texts[c.doc_id][c.start : c.end] == c.quote
