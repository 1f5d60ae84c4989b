"""The structured facts table in SQLite: facts with provenance, parsed tables, consistency checks."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path

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
from chatbot.types import Document, Fact, Passage

CURATED_KINDS = ("curated", "rank", "count", "event", "mention")
SCHEMA = """
CREATE TABLE facts (
    id TEXT PRIMARY KEY, subject TEXT NOT NULL, attribute TEXT NOT NULL, value REAL, unit TEXT,
    period TEXT, quote TEXT NOT NULL, doc_id TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    text_value TEXT, kind TEXT NOT NULL, source_note TEXT
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
            con.row_factory = sqlite3.Row
            facts = [Fact(**dict(r)) for r in con.execute("SELECT * FROM facts ORDER BY doc_id, start")]
            tables = []
            for r in con.execute("SELECT data FROM tables"):
                d = json.loads(r["data"])
                for key in ("columns", "labels", "units", "scales"):
                    d[key] = tuple(d[key])
                for key in ("cells", "values", "row_spans"):
                    d[key] = tuple(tuple(x) for x in d[key])
                d["row_quotes"] = tuple(d["row_quotes"])
                d["exact"] = tuple(tuple(x) for x in d.get("exact", ()))
                d["cell_spans"] = tuple(tuple(tuple(c) for c in row) for row in d.get("cell_spans", ()))
                tables.append(TableData(**d))
        finally:
            con.close()
        return cls(facts, tables)


def extract_all(
    docs: list[Document], passages: list[Passage], tables_by_doc: dict[str, list[Table]]
) -> tuple[list[Fact], list[TableData]]:
    by_doc = {d.doc_id: d for d in docs}
    facts: list[Fact] = []
    tables: list[TableData] = []
    for doc_id, doc_tables in tables_by_doc.items():
        table_passages = [p for p in passages if p.doc_id == doc_id and p.kind == "table"]
        for p, t in zip(table_passages, doc_tables, strict=True):
            td = table_data(by_doc[doc_id], p, t)
            td.checks = check_totals(td)
            tables.append(td)
            facts.extend(table_facts(td))
    for p in passages:
        if p.kind == "text":
            facts.extend(mention_facts(by_doc[p.doc_id], p))
    for doc in docs:
        facts.extend(field_facts(doc))
    return facts, tables


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


def build_facts_db(
    docs: list[Document], passages: list[Passage], tables_by_doc: dict[str, list[Table]], path: Path, curated: Path
) -> int:
    facts, tables = extract_all(docs, passages, tables_by_doc)
    facts.extend(curated_facts(curated, docs))
    by_doc = {d.doc_id: d for d in docs}
    for f in facts:  # provenance invariant
        assert by_doc[f.doc_id].text[f.start : f.end] == f.quote, f
    seen: set[str] = set()
    con = sqlite3.connect(path)
    try:
        con.executescript(SCHEMA)
        for f in facts:
            if f.id in seen:
                continue
            seen.add(f.id)
            con.execute(
                'INSERT INTO facts VALUES (:id,:subject,:attribute,:value,:unit,:period,:quote,:doc_id,:start,:end,:text_value,:kind,:source_note)',
                asdict(f),
            )
        for t in tables:
            con.execute("INSERT INTO tables VALUES (?,?,?)", (t.id, t.doc_id, json.dumps(asdict(t))))
            for c in t.checks:
                con.execute("INSERT INTO checks VALUES (?,?)", (t.id, c))
        con.commit()
    finally:
        con.close()
    return len(seen)
