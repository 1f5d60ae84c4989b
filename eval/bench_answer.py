"""Warm ``Chatbot.ask()`` latency in offline mode over the eval questions.

    .venv/bin/python eval/bench_answer.py [--rounds 3] [--out eval/reports/answer_latency.json]

Each question is asked with an empty query-embedding cache, so every call embeds its query
(the realistic cost of a new question). Multi-turn items are asked with their history.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot.bot import Chatbot  # noqa: E402
from chatbot.evaluation import load_items, percentile  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default=str(ROOT / "eval" / "questions.jsonl"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "eval" / "reports" / "answer_latency.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    bot = Chatbot.load()
    load_s = time.perf_counter() - t0
    items = load_items(Path(args.set))
    cases = []
    for it in items:
        history: list[dict[str, str]] = []
        for turn in it.turns[:-1]:
            a = bot.ask(turn, history)
            history += [{"role": "user", "content": turn}, {"role": "assistant", "content": a.text}]
        cases.append((it.turns[-1], history))
    lat: list[float] = []
    by_route: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for q, h in cases:
            bot.index.embedder.clear_cache()
            s = time.perf_counter()
            ans = bot.ask(q, h)
            ms = (time.perf_counter() - s) * 1000
            lat.append(ms)
            by_route.setdefault(ans.route, []).append(ms)
    report = {
        "questions": len(cases),
        "calls": len(lat),
        "load_s": round(load_s, 2),
        "ask_ms": {"p50": round(statistics.median(lat), 2), "p95": round(percentile(lat, 95), 2), "max": round(max(lat), 2)},
        "by_route_p50_ms": {r: round(statistics.median(v), 2) for r, v in by_route.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "embedding_threads": bot.settings.embedding_threads,
        "embedding_model": bot.index.manifest.model_id,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
