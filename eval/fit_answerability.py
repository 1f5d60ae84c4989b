"""Fit the calibrated answerability model (chatbot/answering/answerability.json) on dev data only.

    .venv/bin/python eval/fit_answerability.py            # fit, choose the threshold, write the model
    .venv/bin/python eval/fit_answerability.py --dry-run  # print the measurements only

Rows: every text-route answer (the proposal, answered with the threshold at 0) to the suite's dev
documents and to the article's dev and generalisation sets. Label 1 when the proposal is right (every
required group matched), 0 when it is wrong or the question must be abstained on. Held-out
documents are never read. The threshold is the one that maximises right + right abstentions over
the rows while the answered rows stay right at least TARGET_PRECISION of the time; leave-one-
document-out figures are printed beside it so the fit is not judged on its own training data.

The threshold maximises right + right abstentions minus confidently wrong answers, on the
leave-one-document-out probabilities: a confidently wrong answer costs as much as a right one gains
(the product's first rule), and the choice is made on documents each model did not see.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CHATBOT_PROGRESS", "0")

from chatbot.answering.answerability import FEATURES, MODEL_FILE, TARGET_PRECISION, fit  # noqa: E402
from chatbot.bot import Chatbot  # noqa: E402
from chatbot.evaluation import Item, load_items, required_missing  # noqa: E402
from chatbot.settings import PROJECT_ROOT, Settings  # noqa: E402
from chatbot.suite import doc_settings, load_suite, shared_embedder  # noqa: E402

ROOT = PROJECT_ROOT


def rows_for(bot: Chatbot, items: list[Item], group: str) -> list[dict]:
    out = []
    for item in items:
        history: list[dict[str, str]] = []
        for turn in item.turns[:-1]:
            prev = bot.ask(turn, history)
            history += [{"role": "user", "content": turn}, {"role": "assistant", "content": prev.text}]
        ans = bot.ask(item.turns[-1], history)
        if ans.route != "text" or not ans.features:
            continue
        missing = required_missing(ans.text, item.required)
        right = (not item.must_abstain) and not missing
        wrong = item.must_abstain or len(missing) == len(item.required)  # confidently wrong if answered
        out.append({"group": group, "id": item.id, "features": dict(ans.features), "label": int(right),
                    "wrong": int(wrong), "abstain_is_right": int(item.must_abstain or item.abstain_ok)})
    return out


def collect() -> list[dict]:
    base = Settings.from_env().replace(answer_threshold=0.0)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="chatbot-fit-") as tmp:
        embedder = shared_embedder(base, Path(tmp) / "embedder")
        for doc in load_suite(ROOT / "eval" / "docs", split="dev"):
            work = Path(tmp) / doc.name
            s = doc_settings(base, work)
            s.corpus_dir.mkdir(parents=True)
            (s.corpus_dir / doc.path.name).write_bytes(doc.path.read_bytes())
            rows += rows_for(Chatbot.load(s, embedder=embedder), list(doc.items), doc.name)
            print(f"{doc.name}: {len(rows)} rows so far", file=sys.stderr)
        article = Chatbot.load(doc_settings(base, Path(tmp) / "article").replace(corpus_dir=ROOT / "corpus"), embedder=embedder)
        for name in ("questions.jsonl", "generalisation.jsonl"):
            rows += rows_for(article, load_items(ROOT / "eval" / name), f"article:{name}")
    return rows


def outcome(rows: list[dict], probs: list[float], t: float) -> tuple[float, float]:
    """(share right + right abstentions, share of the answered that are not confidently wrong) at t."""
    good, wrong, answered = _counts(rows, probs, t)
    return good / len(rows), (1 - wrong / answered if answered else 1.0)


def utility(rows: list[dict], probs: list[float], t: float) -> float:
    """Right + right abstentions minus confidently wrong answers, per row, at t."""
    good, wrong, _ = _counts(rows, probs, t)
    return (good - wrong) / len(rows)


def _counts(rows: list[dict], probs: list[float], t: float) -> tuple[int, int, int]:
    good = answered = answered_wrong = 0
    for r, p in zip(rows, probs, strict=True):
        if p >= t:
            answered += 1
            answered_wrong += r["wrong"]
            good += r["label"]
        else:
            good += r["abstain_is_right"]
    return good, answered_wrong, answered


def best_threshold(rows: list[dict], probs: list[float], floor: float) -> float:
    """The threshold with the highest ``utility`` among those whose answered rows are not confidently
    wrong at least ``floor`` of the time (TARGET_PRECISION, or the rule checks' share when higher)."""
    grid = [i / 100 for i in range(5, 96)]
    ok = [(round(utility(rows, probs, t), 4), -t, t) for t in grid if outcome(rows, probs, t)[1] >= floor]
    return max(ok)[2] if ok else 0.5


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--reuse", action="store_true", help="reuse the rows of the last run (same code and data)")
    args = ap.parse_args()
    cache = Path(tempfile.gettempdir()) / "chatbot-fit-rows.json"
    if args.reuse and cache.is_file():
        rows = json.loads(cache.read_text(encoding="utf-8"))
    else:
        rows = collect()
        cache.write_text(json.dumps(rows), encoding="utf-8")
    labels = [r["label"] for r in rows]
    model = fit([r["features"] for r in rows], labels)
    probs = [model.probability(r["features"]) for r in rows]
    rules = [1.0 if r["features"].get("rules_pass") else 0.0 for r in rows]
    acc_rules, prec_rules = outcome(rows, rules, 0.5)
    # leave one document (group) out: fit without it, score it
    groups = sorted({r["group"] for r in rows})
    lodo_probs = [0.0] * len(rows)
    for g in groups:
        train = [r for r in rows if r["group"] != g]
        m = fit([r["features"] for r in train], [r["label"] for r in train])
        for i, r in enumerate(rows):
            if r["group"] == g:
                lodo_probs[i] = m.probability(r["features"])
    t = best_threshold(rows, lodo_probs, max(TARGET_PRECISION, prec_rules))
    acc, prec = outcome(rows, probs, t)
    lodo_acc, lodo_prec = outcome(rows, lodo_probs, t)
    measured = (
        f"{len(rows)} text-route rows ({sum(labels)} right) from {len(groups)} dev groups; threshold {t}: "
        f"right+right-abstention {acc:.1%} (leave-one-document-out {lodo_acc:.1%}), answered not confidently wrong "
        f"{prec:.1%} (LODO {lodo_prec:.1%}); rule checks alone {acc_rules:.1%} / {prec_rules:.1%}"
    )
    print(measured)
    for tt in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        a, pr = outcome(rows, probs, tt)
        la, lp = outcome(rows, lodo_probs, tt)
        print(f"  t={tt}: {a:.1%} / {pr:.1%}   LODO {la:.1%} / {lp:.1%}, utility {utility(rows, lodo_probs, tt):.3f}")
    for name, w in sorted(zip(FEATURES, model.weights, strict=True), key=lambda kv: -abs(kv[1])):
        print(f"  {name:16} {w:+.3f}")
    if not args.dry_run:
        data = {"features": list(FEATURES), "weights": list(model.weights), "bias": model.bias, "means": list(model.means),
                "scales": list(model.scales), "threshold": t, "measured": measured}
        MODEL_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {MODEL_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
