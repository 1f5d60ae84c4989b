"""Retrieval benchmark: hit@1 / hit@3 of the hybrid retriever against baselines, the fusion
grid that chose the default weights, warm search latency and the cold index build.

    .venv/bin/python eval/bench_retrieval.py [--set eval/questions.jsonl] [--out eval/reports/retrieval.json]

Gold passage of a question = the passage holding its evidence quote. Questions that must
abstain are skipped; follow-ups are condensed with the earlier user turns first, as the chain does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CHATBOT_PROGRESS", "0")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot.answering.condense import condense_history, strip_injection  # noqa: E402
from chatbot.bot import Chatbot  # noqa: E402
from chatbot.evaluation import load_items, percentile  # noqa: E402
from chatbot.retrieval import HybridSearcher  # noqa: E402
from chatbot.settings import Settings  # noqa: E402


def queries(bot: Chatbot, path: Path) -> list[tuple[str, set[str], list[tuple[int, int]]]]:
    out = []
    doc = next(iter(bot.index.documents.values()))
    for it in load_items(path):
        if it.must_abstain or not it.evidence:
            continue
        spans = [(doc.text.find(e), doc.text.find(e) + len(e)) for e in it.evidence if doc.text.find(e) >= 0]
        gold = {p.id for p in bot.index.passages for a, b in spans if p.start < b and a < p.end}
        q = bot.chain.normalizer(condense_history([strip_injection(t)[0] for t in it.turns[:-1]], strip_injection(it.turns[-1])[0])[0])
        out.append((q, gold, spans))
    return out


def score(ranked: list[list[str]], golds: list[set[str]]) -> tuple[float, float]:
    h1 = sum(bool(r[:1] and r[0] in g) for r, g in zip(ranked, golds, strict=True)) / len(golds)
    h3 = sum(bool(set(r[:3]) & g) for r, g in zip(ranked, golds, strict=True)) / len(golds)
    return round(h1, 4), round(h3, 4)


def tutorial_baseline(bot: Chatbot, qs: list[tuple[str, set[str], list[tuple[int, int]]]]) -> tuple[float, float, float]:
    """RecursiveCharacterTextSplitter(500/50) + MiniLM + Chroma, k=4, over the raw file."""
    import chromadb
    from chromadb.config import Settings as CS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from chatbot.embeddings import SentenceTransformerEmbedder

    doc = next(iter(bot.index.documents.values()))
    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50, add_start_index=True)
    chunks = splitter.create_documents([doc.text])
    spans = [(c.metadata["start_index"], c.metadata["start_index"] + len(c.page_content)) for c in chunks]
    emb = SentenceTransformerEmbedder("packaged", threads=1, quantize=False)  # the tutorial's plain MiniLM
    client = chromadb.EphemeralClient(settings=CS(anonymized_telemetry=False))
    col = client.create_collection("tutorial", embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
    col.add(ids=[str(i) for i in range(len(chunks))], embeddings=emb.embed_documents([c.page_content for c in chunks]),
            documents=[c.page_content for c in chunks])
    h1 = h3 = 0
    for q, _, gold_spans in qs:
        res = col.query(query_embeddings=[emb.embed_query(q)], n_results=4)["ids"][0]
        good = {str(i) for i, (a, b) in enumerate(spans) for ga, gb in gold_spans if a < gb and ga < b}
        h1 += res[0] in good
        h3 += bool(set(res[:3]) & good)
    return round(h1 / len(qs), 4), round(h3 / len(qs), 4), len(chunks)


def cold_build(settings: Settings) -> float:
    tmp = Path(tempfile.mkdtemp(prefix="bench-index-"))
    try:
        env = {**os.environ, "CHATBOT_INDEX_DIR": str(tmp), "CHATBOT_CORPUS_DIR": str(settings.corpus_dir)}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "chatbot.cli", "index"], env=env, check=True, capture_output=True)
        return round(time.perf_counter() - t0, 2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default=str(ROOT / "eval" / "questions.jsonl"))
    ap.add_argument("--out", default=str(ROOT / "eval" / "reports" / "retrieval.json"))
    ap.add_argument("--no-cold", action="store_true")
    args = ap.parse_args()
    settings = Settings.from_env()
    bot = Chatbot.load(settings)
    qs = queries(bot, Path(args.set))
    golds = [g for _, g, _ in qs]
    idx = bot.index
    vecs = {q: idx.embedder.embed_query(q) for q, _, _ in qs}
    report: dict = {"questions": len(qs)}

    def run(dw: float, bw: float, k: int, depth: int) -> tuple[float, float]:
        s = HybridSearcher(idx, dw, bw, k, depth)
        return score([[h.passage.id for h in s.search(q, 4, vecs[q])] for q, _, _ in qs], golds)

    report["bm25_only"] = run(0.0, 1.0, 10, 10)
    report["dense_only"] = run(1.0, 0.0, 10, 10)
    report["equal_rrf_k60"] = run(1.0, 1.0, 60, 10)
    grid = {}
    for dw in (0.2, 0.35, 0.5, 0.75, 1.0):
        for k in (5, 10, 30, 60):
            for depth in (5, 10):
                grid[f"dense={dw} bm25=1 k={k} depth={depth}"] = run(dw, 1.0, k, depth)
    report["grid_top5"] = sorted(grid.items(), key=lambda kv: (-kv[1][0] - kv[1][1], kv[0]))[:5]
    report["chosen"] = {"settings": f"dense={settings.dense_weight} bm25={settings.bm25_weight} k={settings.rrf_k} depth={settings.candidate_depth}",
                        "hit_at_1_3": run(settings.dense_weight, settings.bm25_weight, settings.rrf_k, settings.candidate_depth)}
    t1, t3, n_chunks = tutorial_baseline(bot, qs)
    report["tutorial_baseline"] = {"hit_at_1_3": (t1, t3), "chunks": n_chunks}
    # warm latency: distinct queries, query-embedding cache cleared before each
    searcher = bot.chain.searcher
    lat = []
    for _ in range(3):
        for q, _, _ in qs:
            idx.embedder.clear_cache()
            t0 = time.perf_counter()
            searcher.search(q, 4)
            lat.append((time.perf_counter() - t0) * 1000)
    report["warm_search_ms"] = {"p50": round(statistics.median(lat), 2), "p95": round(percentile(lat, 95), 2), "n": len(lat)}
    if not args.no_cold:
        report["cold_index_build_s"] = cold_build(settings)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
