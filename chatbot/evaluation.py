"""Answer-accuracy evaluation over ``Chatbot.ask()``: metrics as pure functions, reports.

Question set format (JSONL, one item per line)::

    {"id", "type", "turns": [..], "reference", "required": [[alternatives], ..],
     "evidence": [verbatim quotes], "must_abstain": bool}

Only the last turn is scored; earlier turns are asked first, with the bot's own answers as history.
"""

from __future__ import annotations

import json
import logging
import math
import re
import statistics
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatbot.errors import ChatbotError
from chatbot.types import Answer

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from chatbot.bot import Chatbot

SCALE_WORDS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "m": 1e6, "bn": 1e9, "b": 1e9, "k": 1e3}
SHORT_ALTERNATIVE = 4
AMOUNT = re.compile(
    r"(?<![\w.])[-−]?\$?\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?(thousand|million|billion|trillion|bn|[mbk](?![a-z]))?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Item:
    id: str
    type: str
    turns: list[str]
    reference: str
    required: list[list[str]]
    evidence: list[str]
    must_abstain: bool
    abstain_ok: bool = False  # a false premise: "the document does not say that" is also right


class Verdict:
    """How an answer to one item is classed (strings, so reports stay plain JSON)."""

    RIGHT = "right"
    PARTIAL = "partial"
    CONFIDENTLY_WRONG = "confidently_wrong"
    WRONG_ABSTENTION = "wrong_abstention"
    RIGHT_ABSTENTION = "right_abstention"
    ALL = (RIGHT, PARTIAL, CONFIDENTLY_WRONG, WRONG_ABSTENTION, RIGHT_ABSTENTION)


@dataclass
class ItemResult:
    id: str
    type: str
    question: str
    answer: str
    abstained: bool
    must_abstain: bool
    correct: bool
    missing: list[str]
    citations: int
    citation_hits: int
    evidence_total: int
    evidence_covered: int
    hit_at_1: bool | None
    hit_at_3: bool | None
    latency_ms: float
    route: str
    error: str = ""
    contexts: list[str] = field(default_factory=list)
    reference: str = ""
    verdict: str = ""
    unsure: str = ""  # why the automatic verdict deserves a human look ("" when it is clear)
    doc: str = ""


OPTIONAL_KEYS = {"abstain_ok"}


def load_items(path: Path) -> list[Item]:
    if not path.is_file():
        raise ChatbotError(f"Question set {path} does not exist. Give a JSONL file with --set (see eval/README.md).")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            items.append(Item(**{k: d[k] for k in Item.__dataclass_fields__ if k in d or k not in OPTIONAL_KEYS}))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ChatbotError(f"{path}:{n} is not a valid question item ({exc}).") from exc
    return items


# ---- pure metric functions ---------------------------------------------------------------------
def amounts(text: str) -> list[tuple[float, float]]:
    """(mantissa, value-with-scale) for each number in ``text``."""
    out = []
    for m in AMOUNT.finditer(text):
        num = float(m.group(1).replace(",", ""))
        scale = SCALE_WORDS.get((m.group(2) or "").lower(), 1.0)
        out.append((num, num * scale))
    return out


def _tolerance(alt_number: str) -> float:
    decimals = len(alt_number.split(".")[1]) if "." in alt_number else 0
    return 0.5 * 10 ** (-decimals) + 1e-9


def matches_alternative(answer: str, alt: str) -> bool:
    """Substring match (whole words for alternatives of four characters or fewer: "no" is not in
    "Norland"), or — when ``alt`` is a number — numeric match within its stated rounding."""
    if len(alt.strip()) <= SHORT_ALTERNATIVE:
        if re.search(rf"(?<!\w){re.escape(alt.strip())}(?!\w)", answer, re.IGNORECASE):
            return True
    elif alt.lower() in answer.lower():
        return True
    m = AMOUNT.fullmatch(alt.strip().replace("US$", "$").replace("%", "").strip())
    if not m:
        return False
    num_text = m.group(1).replace(",", "")
    num = float(num_text)
    scale = SCALE_WORDS.get((m.group(2) or "").lower(), 1.0)
    tol = _tolerance(num_text)
    for mantissa, value in amounts(answer):
        if scale != 1.0:
            if abs(value - num * scale) <= tol * scale:
                return True
        elif abs(mantissa - num) <= tol:
            return True
    # "$2.45 billion" in the answer for "2,450.75 million"
    if scale != 1.0:
        for _, value in amounts(answer):
            if value >= 1e3 and abs(value - num * scale) <= max(tol * scale, 0.005 * num * scale):
                return True
    return False


def required_missing(answer: str, required: list[list[str]]) -> list[str]:
    return [" | ".join(group) for group in required if not any(matches_alternative(answer, a) for a in group)]


def is_correct(item: Item, ans: Answer) -> tuple[bool, list[str]]:
    if item.abstain_ok and ans.abstained:
        return True, []
    if item.must_abstain:
        return ans.abstained, ([] if ans.abstained else ["should have abstained"])
    missing = required_missing(ans.text, item.required)
    if ans.abstained and not missing and item.required:
        return True, []  # e.g. "not for 2021, but the table covers ..." with the required facts
    if ans.abstained:
        return False, missing or ["abstained"]
    return not missing, missing


def verdict(item: Item, ans: Answer, missing: list[str]) -> str:
    """Right, partial, confidently wrong (answered, gold not in it), wrong or right abstention."""
    if ans.abstained:
        if item.must_abstain or item.abstain_ok:
            return Verdict.RIGHT_ABSTENTION
        return Verdict.RIGHT if item.required and not missing else Verdict.WRONG_ABSTENTION
    if item.must_abstain:
        return Verdict.CONFIDENTLY_WRONG
    if not missing:
        return Verdict.RIGHT
    return Verdict.PARTIAL if len(missing) < len(item.required) else Verdict.CONFIDENTLY_WRONG


def unsure_reason(item: Item, ans: Answer, verdict_: str, citations: tuple[int, int, int, int]) -> str:
    """Why a human should look at this automatic verdict, or "" when it is clear-cut."""
    n_cites, cite_hits, n_gold, _ = citations
    if verdict_ == Verdict.PARTIAL:
        return "some required parts matched, others not"
    if verdict_ == Verdict.RIGHT and not ans.abstained and n_gold and n_cites and not cite_hits:
        return "the required words are there, but no citation overlaps the evidence"
    if verdict_ == Verdict.CONFIDENTLY_WRONG and cite_hits:
        return "cites the gold evidence, yet the required wording is missing"
    if verdict_ == Verdict.WRONG_ABSTENTION and item.required and len(required_missing(ans.text, item.required)) < len(item.required):
        return "abstained, but the text holds part of the answer"
    return ""


def gold_spans(item: Item, documents: dict[str, str]) -> list[tuple[str, int, int]]:
    spans = []
    for quote in item.evidence:
        for doc_id, text in documents.items():
            i = text.find(quote)
            if i >= 0:
                spans.append((doc_id, i, i + len(quote)))
                break
    return spans


def citation_scores(ans: Answer, gold: list[tuple[str, int, int]]) -> tuple[int, int, int, int]:
    """(citations, citations overlapping gold, gold spans, gold spans covered)."""

    def overlap(a: tuple[str, int, int], b: tuple[str, int, int]) -> bool:
        return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]

    cites = [(c.doc_id, c.start, c.end) for c in ans.citations]
    hits = sum(any(overlap(c, g) for g in gold) for c in cites)
    covered = sum(any(overlap(g, c) for c in cites) for g in gold)
    return len(cites), hits, len(gold), covered


def citation_scores_total(results: list[ItemResult]) -> tuple[int, int]:
    """(citations, citations overlapping gold evidence) over answered, answerable items with evidence."""
    scored = [r for r in results if not r.must_abstain and not r.abstained and r.evidence_total]
    return sum(r.citations for r in scored), sum(r.citation_hits for r in scored)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def aggregate(results: list[ItemResult]) -> dict[str, Any]:
    def block(rs: list[ItemResult]) -> dict[str, Any]:
        n = len(rs)
        pred_abs = [r for r in rs if r.abstained]
        gold_abs = [r for r in rs if r.must_abstain]
        cites = sum(r.citations for r in rs if not r.must_abstain)
        cite_hits = sum(r.citation_hits for r in rs if not r.must_abstain)
        ev = sum(r.evidence_total for r in rs if not r.must_abstain)
        ev_cov = sum(r.evidence_covered for r in rs if not r.must_abstain)
        h1 = [r.hit_at_1 for r in rs if r.hit_at_1 is not None]
        h3 = [r.hit_at_3 for r in rs if r.hit_at_3 is not None]
        lat = [r.latency_ms for r in rs]
        return {
            "n": n,
            "accuracy": round(sum(r.correct for r in rs) / n, 4) if n else 0.0,
            "abstention_precision": round(sum(r.must_abstain for r in pred_abs) / len(pred_abs), 4) if pred_abs else 1.0,
            "abstention_recall": round(sum(r.abstained for r in gold_abs) / len(gold_abs), 4) if gold_abs else 1.0,
            "citation_precision": round(cite_hits / cites, 4) if cites else 0.0,
            "citation_recall": round(ev_cov / ev, 4) if ev else 0.0,
            "hit_at_1": round(sum(h1) / len(h1), 4) if h1 else None,
            "hit_at_3": round(sum(h3) / len(h3), 4) if h3 else None,
            "latency_p50_ms": round(percentile(lat, 50), 2),
            "latency_p95_ms": round(percentile(lat, 95), 2),
            "errors": sum(1 for r in rs if r.error),
        }

    by_type: dict[str, list[ItemResult]] = defaultdict(list)
    for r in results:
        by_type[r.type].append(r)
    return {"overall": block(results), "by_type": {t: block(rs) for t, rs in sorted(by_type.items())}}


# ---- running -----------------------------------------------------------------------------------
def evaluate(bot: Chatbot, items: list[Item]) -> list[ItemResult]:
    documents = {d: doc.text for d, doc in bot.index.documents.items()}
    passages = bot.index.passages
    results = []
    for item in items:
        history: list[dict[str, str]] = []
        try:
            for turn in item.turns[:-1]:
                prev = bot.ask(turn, history)
                history += [{"role": "user", "content": turn}, {"role": "assistant", "content": prev.text}]
            t0 = time.perf_counter()
            ans = bot.ask(item.turns[-1], history)
            latency = (time.perf_counter() - t0) * 1000
            error = ""
        except ChatbotError as exc:
            ans, latency, error = Answer(text=f"error: {exc}", abstained=True), 0.0, str(exc)
        except Exception as exc:  # noqa: BLE001 - a fault in one answer is counted as an error, the run goes on
            log.exception("item %s failed", item.id)
            ans, latency, error = Answer(text=f"error: {type(exc).__name__}: {exc}", abstained=True), 0.0, f"{type(exc).__name__}: {exc}"
        correct, missing = is_correct(item, ans)
        gold = gold_spans(item, documents)
        scores = citation_scores(ans, gold)
        n_c, c_hits, n_g, g_cov = scores
        verdict_ = verdict(item, ans, required_missing(ans.text, item.required))
        gold_pids = {p.id for p in passages for g in gold if p.doc_id == g[0] and p.start < g[2] and g[1] < p.end}
        hit1 = hit3 = None
        if gold_pids and ans.retrieved:
            hit1 = ans.retrieved[0] in gold_pids
            hit3 = bool(set(ans.retrieved[:3]) & gold_pids)
        results.append(
            ItemResult(
                id=item.id, type=item.type, question=" → ".join(item.turns), answer=ans.text, abstained=ans.abstained,
                must_abstain=item.must_abstain, correct=correct, missing=missing, citations=n_c, citation_hits=c_hits,
                evidence_total=n_g, evidence_covered=g_cov, hit_at_1=hit1, hit_at_3=hit3, latency_ms=round(latency, 2),
                route=ans.route, error=error, contexts=list(ans.contexts), reference=item.reference,
                verdict=verdict_, unsure=unsure_reason(item, ans, verdict_, scores),
            )
        )
    return results


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    was = {r["id"]: r["correct"] for r in old.get("items", [])}
    now = {r["id"]: r["correct"] for r in new.get("items", [])}
    return {
        "regressions": sorted(i for i in now if was.get(i) is True and not now[i]),
        "fixes": sorted(i for i in now if was.get(i) is False and now[i]),
        "new": sorted(i for i in now if i not in was),
    }


def write_reports(out: Path, summary: dict[str, Any], results: list[ItemResult], meta: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report = {"meta": meta, "summary": summary, "items": [asdict(r) for r in results]}
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    with (out / "ragas.jsonl").open("w", encoding="utf-8") as f:
        for r in results:
            f.write(json.dumps({"question": r.question, "answer": r.answer, "contexts": r.contexts, "ground_truth": r.reference}, ensure_ascii=False) + "\n")
    lines = ["# Evaluation report", "", f"Question set: `{meta['set']}` ({len(results)} items), {meta['when']}", ""]
    lines += [
        "| type | n | accuracy | abst. P | abst. R | cite P | cite R | hit@1 | hit@3 | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = [("**overall**", summary["overall"])] + list(summary["by_type"].items())
    for name, b in rows:
        lines.append(
            f"| {name} | {b['n']} | {b['accuracy']:.1%} | {b['abstention_precision']:.1%} | {b['abstention_recall']:.1%} | "
            f"{b['citation_precision']:.1%} | {b['citation_recall']:.1%} | {_pct(b['hit_at_1'])} | {_pct(b['hit_at_3'])} | "
            f"{b['latency_p50_ms']} | {b['latency_p95_ms']} |"
        )
    wrong = [r for r in results if not r.correct]
    if wrong:
        lines += ["", "## Wrong answers", ""]
        for r in wrong:
            lines.append(f"- **{r.id}** ({r.type}) {r.question}\n  - missing: {', '.join(r.missing)}\n  - answer: {r.answer[:300]!r}")
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _chart(out / "report.png", summary, results)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _chart(path: Path, summary: dict[str, Any], results: list[ItemResult]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    types = list(summary["by_type"])
    a.barh(types, [summary["by_type"][t]["accuracy"] * 100 for t in types], color="#3b7dd8")
    a.set_xlim(0, 100)
    a.set_xlabel("answer accuracy (%)")
    a.set_title(f"Accuracy by question type (overall {summary['overall']['accuracy']:.1%})")
    lat = [r.latency_ms for r in results if r.latency_ms > 0]
    b.hist(lat, bins=30, color="#59a14f")
    b.set_xlabel("ask() latency (ms)")
    b.set_title(f"Latency p50 {summary['overall']['latency_p50_ms']} ms, p95 {summary['overall']['latency_p95_ms']} ms")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_summary(summary: dict[str, Any]) -> None:
    hdr = f"{'type':14} {'n':>4} {'acc':>7} {'absP':>7} {'absR':>7} {'citeP':>7} {'citeR':>7} {'hit@1':>7} {'hit@3':>7} {'p50ms':>7} {'p95ms':>7}"
    print(hdr)
    for name, b in [("OVERALL", summary["overall"])] + list(summary["by_type"].items()):
        print(
            f"{name:14} {b['n']:>4} {b['accuracy']:>7.1%} {b['abstention_precision']:>7.1%} {b['abstention_recall']:>7.1%} "
            f"{b['citation_precision']:>7.1%} {b['citation_recall']:>7.1%} {_pct(b['hit_at_1']):>7} {_pct(b['hit_at_3']):>7} "
            f"{b['latency_p50_ms']:>7} {b['latency_p95_ms']:>7}"
        )


def gate(summary: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    failures = []
    for key, minimum in thresholds.items():
        if key.startswith("_"):
            continue
        got = summary["overall"].get(key)
        if got is None or got < minimum:
            failures.append(f"{key} = {got} is below the gate {minimum}")
    return failures


def run_cli(args: Any) -> int:
    from chatbot.bot import Chatbot

    items = load_items(Path(args.set))
    if args.compare and not Path(args.compare).is_file():
        raise ChatbotError(f"--compare {args.compare}: no such report.json (run chatbot eval --out DIR first).")
    bot = Chatbot.load()
    for item in items[:3]:  # warm caches outside the measurement
        bot.ask(item.turns[0])
    bot.chain.index.embedder.clear_cache()
    results = evaluate(bot, items)
    summary = aggregate(results)
    meta = {"set": str(args.set), "when": time.strftime("%Y-%m-%d %H:%M:%S"), "health": bot.health()}
    out = Path(args.out)
    write_reports(out, summary, results, meta)
    print_summary(summary)
    print(f"\nReports: {out}/report.json, report.md, report.png, ragas.jsonl")
    if args.compare:
        old = json.loads(Path(args.compare).read_text(encoding="utf-8"))
        diff = compare(old, json.loads((out / "report.json").read_text(encoding="utf-8")))
        print(f"Compared with {args.compare}: {len(diff['regressions'])} regressions, {len(diff['fixes'])} fixes")
        for key in ("regressions", "fixes"):
            for i in diff[key]:
                print(f"  {'regression' if key == 'regressions' else 'fix'}: {i}")
    if args.gate:
        thresholds = json.loads((Path(__file__).resolve().parent.parent / "eval" / "thresholds.json").read_text(encoding="utf-8"))
        failures = gate(summary, thresholds)
        if failures:
            print("EVAL GATE FAILED: " + "; ".join(failures))
            return 1
        print("Eval gate passed: " + ", ".join(f"{k} ≥ {v}" for k, v in thresholds.items() if not k.startswith("_")))
    return 0


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else 0.0
