"""The structured facts table in SQLite: facts with provenance, parsed tables, consistency checks."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from chatbot.corpus import Table, content_id
from chatbot.errors import CuratedFactError
from chatbot.facts.extract import (
    TableData,
    check_totals,
    field_facts,
    mention_facts,
    table_data,
    table_facts,
)
from chatbot.table_layouts import inline_tables
from chatbot.text import STOPWORDS
from chatbot.types import Document, Fact, Passage

CURATED_KINDS = ("curated", "rank", "count", "event", "mention")
FACT_COLUMNS = ", ".join(f'"{f.name}"' for f in fields(Fact))  # in the order Fact takes them
SCHEMA = """
CREATE TABLE facts (
    id TEXT PRIMARY KEY, subject TEXT NOT NULL, attribute TEXT NOT NULL, value REAL, unit TEXT,
    period TEXT, quote TEXT NOT NULL, doc_id TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    text_value TEXT, kind TEXT NOT NULL, source_note TEXT, parent_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX facts_subject ON facts(subject);
CREATE INDEX facts_period ON facts(period);
CREATE TABLE tables (id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE checks (table_id TEXT NOT NULL, result TEXT NOT NULL);
"""


@dataclass
class FactsDB:
    """The facts table loaded in memory (it is small)."""

    facts: list[Fact] = field(default_factory=list)
    tables: list[TableData] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> FactsDB:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            facts = [Fact(*r) for r in con.execute(f"SELECT {FACT_COLUMNS} FROM facts ORDER BY doc_id, start")]
            tables = [table_from_dict(json.loads(data)) for (data,) in con.execute("SELECT data FROM tables")]
        finally:
            con.close()
        return cls(facts, tables)


def table_from_dict(d: dict[str, Any]) -> TableData:
    """A ``TableData`` from its JSON form (``asdict``), tuples restored."""
    d = dict(d)
    for key in ("columns", "labels", "units", "scales"):
        d[key] = tuple(d[key])
    for key in ("cells", "values", "row_spans"):
        d[key] = tuple(tuple(x) for x in d[key])
    d["row_quotes"] = tuple(d["row_quotes"])
    d["exact"] = tuple(tuple(x) for x in d.get("exact", ()))
    d["cell_spans"] = tuple(tuple(tuple(c) for c in row) for row in d.get("cell_spans", ()))
    return TableData(**d)


@dataclass(frozen=True)
class DocumentFacts:
    """What one document yields (curated facts are added corpus-wide): kept per document in a
    build so that the next build reuses it while the document is unchanged."""

    doc_id: str
    tables: tuple[TableData, ...]
    table_facts: tuple[Fact, ...]
    mention_facts: tuple[Fact, ...]
    field_facts: tuple[Fact, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "tables": [vars(t) for t in self.tables],  # flat or tuples of plain values: what asdict gives, 10x sooner
            **{key: [vars(f) for f in getattr(self, key)] for key in ("table_facts", "mention_facts", "field_facts")},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DocumentFacts:
        return cls(
            doc_id=d["doc_id"],
            tables=tuple(table_from_dict(t) for t in d["tables"]),
            table_facts=tuple(Fact(**f) for f in d["table_facts"]),
            mention_facts=tuple(Fact(**f) for f in d["mention_facts"]),
            field_facts=tuple(Fact(**f) for f in d["field_facts"]),
        )


def extract_document(doc: Document, passages: list[Passage], tables: list[Table]) -> DocumentFacts:
    """Facts and typed tables of one document from its passages and parsed tables."""
    typed: list[TableData] = []
    if tables:
        table_passages = [p for p in passages if p.kind == "table"]
        for p, t in zip(table_passages, tables, strict=True):
            td = table_data(doc, p, t)
            td.checks = check_totals(td)
            typed.append(td)
    for p in passages:  # enumerations of named numbers in running text ("class_0 (59), class_1 (71), …")
        if p.kind == "text":
            for t in inline_tables(p.text, p.start, STOPWORDS):
                td = table_data(doc, p, t)
                td.id = content_id(doc.doc_id, t.row_spans[0][0], t.row_spans[-1][1], "inline table")
                td.caption = td.columns[1]
                typed.append(td)
    return DocumentFacts(
        doc_id=doc.doc_id,
        tables=tuple(typed),
        table_facts=tuple(f for td in typed for f in table_facts(td)),
        mention_facts=tuple(f for p in passages if p.kind == "text" for f in mention_facts(doc, p)),
        field_facts=tuple(field_facts(doc)),
    )


def combine(parts: list[DocumentFacts]) -> tuple[list[Fact], list[TableData]]:
    """The corpus's facts in one order whatever the documents' origin: every table fact, then every
    mention, then every field fact, each in document order (the first of two equal ids is kept)."""
    facts = [f for part in parts for f in part.table_facts]
    facts += [f for part in parts for f in part.mention_facts]
    facts += [f for part in parts for f in part.field_facts]
    return facts, [t for part in parts for t in part.tables]


def extract_all(
    docs: list[Document], passages: list[Passage], tables_by_doc: dict[str, list[Table]]
) -> tuple[list[Fact], list[TableData]]:
    from chatbot.facts.batch import extract_documents

    by_doc: dict[str, list[Passage]] = {d.doc_id: [] for d in docs}
    for p in passages:
        by_doc[p.doc_id].append(p)
    return combine(extract_documents([(d, by_doc[d.doc_id], tables_by_doc.get(d.doc_id, [])) for d in docs]))


def curated_facts(path: Path, docs: list[Document]) -> list[Fact]:
    """Facts from ``facts.yaml``; every quote must occur verbatim in its document."""
    if not path.is_file():
        return []
    try:
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        raise CuratedFactError(f"{path.name} is not valid YAML: {exc}") from exc
    by_doc = {d.doc_id: d for d in docs}
    out = []
    for i, item in enumerate(items, 1):
        name = item.get("subject", f"item {i}")
        doc = by_doc.get(item.get("doc_id", ""))
        if doc is None:
            raise CuratedFactError(f"Curated fact {i} ({name!r}) in {path.name}: unknown doc_id {item.get('doc_id')!r}.")
        quote = str(item.get("quote", ""))
        start = doc.text.find(quote) if quote else -1
        if start < 0:
            raise CuratedFactError(
                f"Curated fact {i} ({name!r}) in {path.name}: its quote does not occur verbatim in {doc.path}: {quote!r}. "
                "Copy the exact text from the document."
            )
        out.append(
            Fact(
                id=content_id(doc.doc_id, start, start + len(quote), name, "curated"),
                subject=str(name), attribute=str(item.get("attribute", "value")),
                value=float(item["value"]) if item.get("value") is not None else None,
                unit=str(item.get("unit", "")), period=str(item.get("period", "")), quote=quote,
                doc_id=doc.doc_id, start=start, end=start + len(quote),
                text_value=str(item.get("text_value", item.get("value", ""))),
                kind=str(item.get("kind", "curated")) if item.get("kind") in CURATED_KINDS else "curated",
                source_note=str(item.get("note", "")),
            )
        )
    return out



def write_facts_db(docs: list[Document], facts: list[Fact], tables: list[TableData], path: Path, curated: Path) -> list[Fact]:
    """Write the facts table (with the curated facts of ``curated``); returns the facts written."""
    facts = [*facts, *curated_facts(curated, docs)]
    by_doc = {d.doc_id: d for d in docs}
    for f in facts:  # provenance invariant
        assert by_doc[f.doc_id].text[f.start : f.end] == f.quote, f
    seen: set[str] = set()
    written = []
    for f in facts:
        if f.id not in seen:
            seen.add(f.id)
            written.append(f)
    rows = [vars(f) for f in written]  # a flat dataclass: its fields as asdict would give them
    con = sqlite3.connect(path)
    try:
        con.executescript(SCHEMA)
        con.executemany(
            'INSERT INTO facts VALUES (:id,:subject,:attribute,:value,:unit,:period,:quote,:doc_id,:start,:end,:text_value,:kind,:source_note,:parent_id)',
            rows,
        )
        for t in tables:
            con.execute("INSERT INTO tables VALUES (?,?,?)", (t.id, t.doc_id, json.dumps(vars(t))))
            con.executemany("INSERT INTO checks VALUES (?,?)", [(t.id, c) for c in t.checks])
        con.commit()
    finally:
        con.close()
    return written
