"""Hybrid retrieval: dense (exact or Chroma) + lexical (stemmed BM25), fused by weighted reciprocal rank.

Weights and depth are settings; the defaults were chosen by measurement (see eval/README.md and
``eval/bench_retrieval.py``): on the article, BM25 alone beats equal-weight fusion, so BM25 carries
more weight and dense ranks break ties and catch paraphrases.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from chatbot.index import LoadedIndex
from chatbot.types import Passage


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    dense: float
    bm25: float
    dense_rank: int | None
    bm25_rank: int | None


def fuse(
    dense: list[str], lexical: list[str], dense_weight: float, bm25_weight: float, k: int
) -> dict[str, float]:
    """Weighted reciprocal-rank fusion of two ranked id lists."""
    scores: dict[str, float] = {}
    for weight, ranking in ((dense_weight, dense), (bm25_weight, lexical)):
        for rank, pid in enumerate(ranking):
            scores[pid] = scores.get(pid, 0.0) + weight / (k + rank + 1)
    return scores


FILTER_WIDENING = 4  # with a document filter, dense search looks this many times deeper before filtering


class HybridSearcher:
    """Plain-Python hybrid search over a loaded index (the chain calls it directly); the LangChain
    retriever (``chatbot.langchain_retriever``) wraps it."""

    def __init__(
        self,
        index: LoadedIndex,
        dense_weight: float = 0.2,
        bm25_weight: float = 1.0,
        rrf_k: int = 3,
        depth: int = 10,
    ) -> None:
        self.index = index
        self.dense_weight = dense_weight
        self.bm25_weight = bm25_weight
        self.rrf_k = rrf_k
        self.depth = depth
        self.by_id = index.by_id
        self.position = {p.id: i for i, p in enumerate(index.passages)}
        self._local = threading.local()  # timings of this thread's last search (the web server is threaded)

    def _mask(self, documents: frozenset[str]) -> np.ndarray:
        return np.array([p.doc_id in documents for p in self.index.passages])

    @property
    def last_timings(self) -> dict[str, float]:
        return getattr(self._local, "timings", {})

    def search(
        self, query: str, k: int = 4, query_vector: list[float] | None = None, documents: frozenset[str] | None = None,
        bm25_scores: np.ndarray | None = None,
    ) -> list[Hit]:
        """The ``k`` best passages; with ``documents``, only passages of those documents. ``bm25_scores``:
        those of ``query`` when already computed (``index.bm25_scores``)."""
        t0 = time.perf_counter()
        lex = bm25_scores if bm25_scores is not None else self.index.bm25_scores(query)
        if documents is not None:
            lex = np.where(self._mask(documents), lex, 0.0)
        order = np.argsort(-lex, kind="stable")[: self.depth]
        lexical = [self.index.passages[i].id for i in order if lex[i] > 0]
        t1 = time.perf_counter()
        dense_hits: list[tuple[str, float]] = []
        if self.dense_weight > 0:
            vec = query_vector if query_vector is not None else self.index.embedder.embed_query(query)
            t_embed = time.perf_counter()
            if documents is None:
                dense_hits = self.index.vectors.query(vec, self.depth)
            else:  # the nearest passages overall, those of the chosen documents kept
                wide = self.index.vectors.query(vec, self.depth * FILTER_WIDENING)
                dense_hits = [(pid, d) for pid, d in wide if self.by_id[pid].doc_id in documents][: self.depth]
        else:
            t_embed = t1
        t2 = time.perf_counter()
        dense_ids = [pid for pid, _ in dense_hits]
        dense_score = dict(dense_hits)
        fused = fuse(dense_ids, lexical, self.dense_weight, self.bm25_weight, self.rrf_k)
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], self.position.get(kv[0], 0)))[:k]
        hits = [
            Hit(
                passage=self.by_id[pid],
                score=score,
                dense=dense_score.get(pid, 0.0),
                bm25=float(lex[self.position[pid]]),
                dense_rank=dense_ids.index(pid) + 1 if pid in dense_score else None,
                bm25_rank=lexical.index(pid) + 1 if pid in lexical else None,
            )
            for pid, score in ranked
            if pid in self.by_id
        ]
        self._local.timings = {
            "bm25_ms": (t1 - t0) * 1000,
            "embed_ms": (t_embed - t1) * 1000,
            "dense_ms": (t2 - t_embed) * 1000,
            "search_ms": (time.perf_counter() - t0) * 1000,
        }
        return hits


def __getattr__(name: str) -> Any:
    """The LangChain adapters (``HybridRetriever``, ``to_document``, ``hit_from_document``) live in
    ``chatbot.langchain_retriever``, imported only when asked for: answering does not need LangChain."""
    if name in ("HybridRetriever", "to_document", "hit_from_document"):
        from chatbot import langchain_retriever

        return getattr(langchain_retriever, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
