"""The evaluation suite (eval/docs): its data is well-formed and follows the protocol, its verdicts
are right on hand-made answers, and the runner works end to end on two tiny documents."""

from __future__ import annotations

import json
from argparse import Namespace
from collections import Counter
from pathlib import Path

import pytest

from chatbot.evaluation import Item, Verdict, verdict
from chatbot.suite import (
    SUITE_THRESHOLDS,
    load_suite,
    run_cli,
    run_suite,
    summarize,
    write_suite_reports,
)
from chatbot.types import Answer

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "eval" / "docs"
MIN_ITEMS = 15


@pytest.fixture(scope="module")
def suite():  # type: ignore[no-untyped-def]
    return load_suite(SUITE)


def test_every_evidence_quote_is_verbatim(suite) -> None:  # type: ignore[no-untyped-def]
    bad = [(d.name, it.id, q) for d in suite for it in d.items for q in it.evidence if q not in d.text()]
    assert not bad, bad


def test_items_are_well_formed(suite) -> None:  # type: ignore[no-untyped-def]
    for d in suite:
        ids = [it.id for it in d.items]
        assert len(ids) == len(set(ids)), f"{d.name}: duplicate ids"
        assert len(d.items) >= MIN_ITEMS, f"{d.name} has {len(d.items)} items"
        for it in d.items:
            assert it.turns and all(t.strip() for t in it.turns), it.id
            assert it.must_abstain == (not it.required), f"{it.id}: required iff answerable"
            assert all(group and all(a.strip() for a in group) for group in it.required), it.id
        kinds = Counter(it.type for it in d.items)
        assert kinds["unanswerable"] + kinds["unanswerable_named"] >= 2, d.name
        assert sum(it.must_abstain for it in d.items) >= 2, d.name


def test_protocol_held_out_documents(suite) -> None:  # type: ignore[no-untyped-def]
    held = [d for d in suite if d.split == "held-out"]
    assert len(held) >= 4
    assert sum(d.meta["origin"] == "real" for d in held) >= 2
    assert {d.meta["origin"] for d in suite} <= {"real", "synthetic"}


def _item(**kw) -> Item:  # type: ignore[no-untyped-def]
    base = {"id": "x", "type": "factoid", "turns": ["q"], "reference": "", "required": [["42"], ["apples"]],
            "evidence": ["e"], "must_abstain": False}
    return Item(**{**base, **kw})


def test_verdicts() -> None:
    it = _item()
    assert verdict(it, Answer("42 apples"), []) == Verdict.RIGHT
    assert verdict(it, Answer("42 pears"), ["apples"]) == Verdict.PARTIAL
    assert verdict(it, Answer("7 pears"), ["42", "apples"]) == Verdict.CONFIDENTLY_WRONG
    assert verdict(it, Answer("not in the document", abstained=True), ["42", "apples"]) == Verdict.WRONG_ABSTENTION
    gone = _item(required=[], must_abstain=True)
    assert verdict(gone, Answer("no", abstained=True), []) == Verdict.RIGHT_ABSTENTION
    assert verdict(gone, Answer("it is 42"), []) == Verdict.CONFIDENTLY_WRONG
    premise = _item(abstain_ok=True)
    assert verdict(premise, Answer("the document does not say", abstained=True), ["42", "apples"]) == Verdict.RIGHT_ABSTENTION


def _write_doc(root: Path, name: str, split: str, filename: str, text: str, items: list[dict]) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / filename).write_text(text, encoding="utf-8")
    meta = {"title": name.title(), "source": "written for this test", "licence": "CC0", "why": "runner test",
            "split": split, "origin": "synthetic", "document": filename}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    (folder / "questions.jsonl").write_text("\n".join(json.dumps(i) for i in items) + "\n", encoding="utf-8")


def _q(i: str, turn: str, required: list[list[str]], evidence: list[str]) -> dict:
    return {"id": i, "type": "factoid_who", "turns": [turn], "reference": "", "required": required,
            "evidence": evidence, "must_abstain": not required}


@pytest.mark.slow
def test_runner_end_to_end_on_two_tiny_documents(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    _write_doc(root, "lighthouse", "dev", "lighthouse.md",
               "# Brenna light\n\nThe Brenna lighthouse was built in 1872 by the engineer Tomas Vell.\n\n"
               "It stands 31 metres tall and its lamp is seen 20 nautical miles out at sea.\n",
               [_q("l1", "Who built the Brenna lighthouse?", [["Tomas Vell"]], ["built in 1872 by the engineer Tomas Vell"]),
                _q("l2", "What is the lighthouse keeper's salary?", [], [])])
    _write_doc(root, "orchard", "held-out", "orchard.txt",
               "Glenmoor Orchard grows apples and pears on 40 hectares.\n"
               "The orchard was founded in 1990 by Ada Lin, a botanist from Kelso.\n",
               [{**_q("o1", "Who founded Glenmoor Orchard?", [["Ada Lin"]], ["founded in 1990 by Ada Lin"]), "type": "table_lookup"}])
    docs = load_suite(root)
    assert [d.split for d in docs] == ["dev", "held-out"]
    results = run_suite(docs, embedder=embedder)
    summary = summarize(docs, results)
    assert summary["documents"]["lighthouse"]["n"] == 2 and summary["documents"]["orchard"]["n"] == 1
    assert summary["totals"]["dev"]["n"] == 2 and summary["totals"]["held-out"]["n"] == 1
    assert set(summary["table_totals"]) == {"held-out"} and summary["table_totals"]["held-out"]["n"] == 1
    by_id = {r.id: r for rr in results.values() for r in rr}
    assert by_id["l1"].verdict == Verdict.RIGHT, by_id["l1"].answer
    assert by_id["l1"].citation_hits >= 1  # the cited span holds the gold evidence: each doc has its own index
    assert by_id["l2"].verdict in Verdict.ALL
    write_suite_reports(tmp_path / "out", docs, results, summary, {"suite": str(root), "when": "test"})
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert {i["id"] for i in report["items"]} == {"l1", "l2"}  # held-out items stay out of the report
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "lighthouse" in md and "orchard" in md and "Who founded" not in md
    assert (tmp_path / "out" / "report.png").stat().st_size > 1000


def _gate_args(out: Path, **kw) -> Namespace:  # type: ignore[no-untyped-def]
    return Namespace(**{"suite": str(SUITE), "doc": None, "split": "dev", "out": str(out), "gate": True,
                        "reveal_held_out": False, **kw})


@pytest.mark.slow
def test_suite_gate_on_dev_documents(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Quality only ratchets up: each dev document stays at or above eval/suite_thresholds.json."""
    thresholds = json.loads(SUITE_THRESHOLDS.read_text(encoding="utf-8"))
    dev = {d.name for d in load_suite(SUITE, split="dev")}
    assert set(thresholds["docs"]) == dev, "every dev document, and only those, has a gate"
    code = run_cli(_gate_args(tmp_path / "suite"))
    assert code == 0, capsys.readouterr().out


def test_short_alternatives_match_whole_words() -> None:
    from chatbot.evaluation import matches_alternative

    assert not matches_alternative("Norland sold more", "no")
    assert matches_alternative("No, it ran a surplus.", "no")
    assert not matches_alternative("aluminium and metal goods", "meta")
    assert matches_alternative("Apple, Meta and Visa", "meta")
    assert matches_alternative("a strategic partnership", "strategic partner")
