"""The regression gate: the full dev question set through ``Chatbot.ask()`` must stay above the
thresholds in eval/thresholds.json (set just under today's measured values)."""

from __future__ import annotations

import json
from pathlib import Path

from chatbot.evaluation import aggregate, evaluate, gate, load_items, write_reports

ROOT = Path(__file__).resolve().parents[1]


def test_eval_gate(bot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    items = load_items(ROOT / "eval" / "questions.jsonl")
    results = evaluate(bot, items)
    summary = aggregate(results)
    write_reports(tmp_path, summary, results, {"set": "eval/questions.jsonl", "when": "test"})
    thresholds = json.loads((ROOT / "eval" / "thresholds.json").read_text(encoding="utf-8"))
    failures = gate(summary, thresholds)
    wrong = [f"{r.id}: missing {r.missing}" for r in results if not r.correct]
    assert not failures, f"{failures}; wrong answers: {wrong}"
    assert summary["overall"]["errors"] == 0
