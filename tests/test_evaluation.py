"""Eval metrics are pure functions: check them on hand-made answers, then run the harness."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

from chatbot.evaluation import (
    Item,
    aggregate,
    citation_scores,
    compare,
    evaluate,
    gate,
    is_correct,
    load_items,
    matches_alternative,
    required_missing,
    write_reports,
)
from chatbot.types import Answer, Citation

ROOT = Path(__file__).resolve().parents[1]


def test_numbers_match_as_numbers() -> None:
    assert matches_alternative("Imports were $1,617.93M [1].", "1617.93 million")
    assert matches_alternative("Imports were 1,617.93 million dollars", "$1,617.93M")
    assert matches_alternative("about $1.62 billion", "1,617.93 million")
    assert matches_alternative("growth of 93.9%", "94")
    assert not matches_alternative("growth of 93.9%", "93.8")
    assert not matches_alternative("Imports were $888.1M", "1617.93")
    assert matches_alternative("the Ministry of Economy", "ministry of economy")


def test_required_groups() -> None:
    assert required_missing("Apple and Boeing", [["Apple"], ["Boeing", "BA"]]) == []
    assert required_missing("Apple only", [["Apple"], ["Boeing", "BA"]]) == ["Boeing | BA"]


def _item(**kw) -> Item:  # type: ignore[no-untyped-def]
    base = {"id": "x", "type": "factoid", "turns": ["q"], "reference": "", "required": [["42"]], "evidence": ["e"], "must_abstain": False}
    return Item(**{**base, **kw})


def test_correctness_and_abstention() -> None:
    assert is_correct(_item(), Answer(text="it is 42"))[0]
    assert not is_correct(_item(), Answer(text="no idea", abstained=True))[0]
    assert is_correct(_item(required=[], must_abstain=True, evidence=[]), Answer(text="not in the article", abstained=True))[0]
    assert not is_correct(_item(required=[], must_abstain=True, evidence=[]), Answer(text="42"))[0]


def test_citation_overlap_scores() -> None:
    ans = Answer(text="a [1][2]", citations=(Citation(1, "q", "d", "p", 10, 20), Citation(2, "q", "d", "p", 100, 110)))
    assert citation_scores(ans, [("d", 15, 30)]) == (2, 1, 1, 1)
    assert citation_scores(ans, [("d", 40, 50)]) == (2, 0, 1, 0)


def test_compare_and_gate() -> None:
    old = {"items": [{"id": "a", "correct": True}, {"id": "b", "correct": False}]}
    new = {"items": [{"id": "a", "correct": False}, {"id": "b", "correct": True}, {"id": "c", "correct": True}]}
    assert compare(old, new) == {"regressions": ["a"], "fixes": ["b"], "new": ["c"]}
    assert gate({"overall": {"accuracy": 0.8}}, {"accuracy": 0.9})
    assert not gate({"overall": {"accuracy": 0.95}}, {"accuracy": 0.9, "_note": "x"})


def test_harness_writes_reports(bot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    items = load_items(ROOT / "eval" / "questions.jsonl")
    sample = [i for i in items if i.type in ("table", "multi_turn", "unanswerable")][:12]
    results = evaluate(bot, sample)
    summary = aggregate(results)
    write_reports(tmp_path, summary, results, {"set": "sample", "when": "now"})
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["summary"]["overall"]["n"] == len(sample)
    assert (tmp_path / "report.png").stat().st_size > 1000
    lines = (tmp_path / "ragas.jsonl").read_text().splitlines()
    assert len(lines) == len(sample) and {"question", "answer", "contexts", "ground_truth"} <= set(json.loads(lines[0]))
    assert "| **overall** |" in (tmp_path / "report.md").read_text()


def test_cli_eval_on_a_user_set(bot, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Users bring their own question set in the same format; --compare lists changes."""
    from chatbot import evaluation

    qset = tmp_path / "mine.jsonl"
    qset.write_text(json.dumps({"id": "m1", "type": "table", "turns": ["What were imports in 2023?"], "reference": "",
                                "required": [["888.1"]], "evidence": ["2023 $888.1M"], "must_abstain": False}) + "\n")
    monkeypatch.setattr("chatbot.bot.Chatbot.load", classmethod(lambda cls, *a, **k: bot))
    out = tmp_path / "r1"
    assert evaluation.run_cli(Namespace(set=str(qset), out=str(out), compare=None, gate=False)) == 0
    assert evaluation.run_cli(Namespace(set=str(qset), out=str(tmp_path / "r2"), compare=str(out / "report.json"), gate=False)) == 0
    assert json.loads((out / "report.json").read_text())["summary"]["overall"]["accuracy"] == 1.0
