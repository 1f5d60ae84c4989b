"""Structural checks for the answer-accuracy evaluation set (eval/questions.jsonl)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "eval" / "questions.jsonl"
CORPUS = ROOT / "corpus" / "us-azerbaijan-trade.txt"

KEYS = {"id", "type", "turns", "reference", "required", "evidence", "must_abstain"}
TYPES = {
    "factoid",
    "table",
    "computed",
    "list",
    "synthesis",
    "multi_turn",
    "unanswerable",
    "false_premise",
    "paraphrase",
    "injection",
}
MIN_ITEMS = 80
MIN_PER_TYPE = 4


def _load_lines() -> list[tuple[int, str]]:
    text = QUESTIONS.read_text(encoding="utf-8")
    return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


@pytest.fixture(scope="module")
def items() -> list[dict]:
    out = []
    for n, line in _load_lines():
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - reported as failure
            pytest.fail(f"line {n} is not valid JSON: {exc}")
        assert isinstance(obj, dict), f"line {n} is not a JSON object"
        out.append(obj)
    return out


@pytest.fixture(scope="module")
def corpus() -> str:
    return CORPUS.read_text(encoding="utf-8")


def test_files_exist():
    assert QUESTIONS.is_file(), QUESTIONS
    assert CORPUS.is_file(), CORPUS


def test_every_line_is_valid_json_object():
    for n, line in _load_lines():
        obj = json.loads(line)
        assert isinstance(obj, dict), f"line {n} is not a JSON object"


def test_schema_keys_and_types(items):
    for it in items:
        ident = it.get("id")
        assert set(it) == KEYS, f"{ident}: keys {sorted(it)} != {sorted(KEYS)}"
        assert isinstance(it["id"], str) and it["id"], ident
        assert isinstance(it["type"], str), ident
        assert isinstance(it["turns"], list), ident
        assert isinstance(it["reference"], str) and it["reference"].strip(), ident
        assert isinstance(it["required"], list), ident
        for group in it["required"]:
            assert isinstance(group, list) and group, f"{ident}: empty alternatives group"
            for alt in group:
                assert isinstance(alt, str) and alt.strip(), f"{ident}: bad alternative {alt!r}"
        assert isinstance(it["evidence"], list), ident
        for quote in it["evidence"]:
            assert isinstance(quote, str) and quote.strip(), f"{ident}: bad evidence {quote!r}"
        assert isinstance(it["must_abstain"], bool), ident


def test_ids_unique(items):
    counts = Counter(it["id"] for it in items)
    dupes = [i for i, c in counts.items() if c > 1]
    assert not dupes, f"duplicate ids: {dupes}"


def test_types_allowed(items):
    bad = [(it["id"], it["type"]) for it in items if it["type"] not in TYPES]
    assert not bad, f"unknown types: {bad}"


def test_turns_non_empty_strings(items):
    for it in items:
        assert it["turns"], f"{it['id']}: no turns"
        for t in it["turns"]:
            assert isinstance(t, str) and t.strip(), f"{it['id']}: empty turn"


def test_multi_turn_has_history(items):
    for it in items:
        if it["type"] == "multi_turn":
            assert len(it["turns"]) >= 2, f"{it['id']}: multi_turn needs >= 2 turns"


def test_abstain_items_have_no_required_or_evidence(items):
    for it in items:
        if it["must_abstain"]:
            assert it["required"] == [], f"{it['id']}: abstain item has required"
            assert it["evidence"] == [], f"{it['id']}: abstain item has evidence"


def test_unanswerable_items_must_abstain(items):
    for it in items:
        if it["type"] == "unanswerable":
            assert it["must_abstain"] is True, f"{it['id']}: unanswerable must abstain"


def test_answerable_items_have_required_and_evidence(items):
    for it in items:
        if not it["must_abstain"]:
            assert len(it["required"]) >= 1, f"{it['id']}: no required items"
            assert len(it["evidence"]) >= 1, f"{it['id']}: no evidence"


def test_evidence_is_verbatim(items, corpus):
    missing = [
        (it["id"], quote)
        for it in items
        for quote in it["evidence"]
        if quote not in corpus
    ]
    assert not missing, f"evidence not found verbatim in corpus: {missing}"


def test_minimum_size(items):
    assert len(items) >= MIN_ITEMS, f"only {len(items)} items"


def test_each_type_present(items):
    counts = Counter(it["type"] for it in items)
    thin = {t: counts.get(t, 0) for t in TYPES if counts.get(t, 0) < MIN_PER_TYPE}
    assert not thin, f"types with fewer than {MIN_PER_TYPE} items: {thin}"
