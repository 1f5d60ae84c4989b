"""The evaluation suite: many documents, each with its own questions, each indexed on its own.

Layout (``eval/docs``)::

    <name>/<document file>     the document, byte for byte as published
    <name>/meta.json           title, source, licence, why, split ("dev" | "held-out"), origin, document
    <name>/questions.jsonl     the question items (format in chatbot/evaluation.py)

``run_suite`` copies each document into a fresh corpus folder under a temporary folder, builds its
index through the same ``IndexManager`` a user's corpus goes through, asks every item through
``Chatbot.ask()`` and classes each answer (right, partial, confidently wrong, wrong abstention, right
abstention). Held-out documents report totals only: their items are never written out unless the
caller asks to reveal them (which, by the protocol in eval/README.md, makes the document dev).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chatbot.errors import ChatbotError
from chatbot.evaluation import (
    Item,
    ItemResult,
    Verdict,
    citation_scores_total,
    evaluate,
    load_items,
    percentile,
)
from chatbot.settings import Settings

SPLITS = ("dev", "held-out")
SUITE_THRESHOLDS = Path(__file__).resolve().parent.parent / "eval" / "suite_thresholds.json"
META_KEYS = ("title", "source", "licence", "why", "split", "origin", "document")


@dataclass(frozen=True)
class SuiteDoc:
    name: str
    folder: Path
    meta: dict[str, str]
    items: tuple[Item, ...]

    @property
    def split(self) -> str:
        return self.meta["split"]

    @property
    def path(self) -> Path:
        return self.folder / self.meta["document"]

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def load_suite(root: Path, names: list[str] | None = None, split: str = "all") -> list[SuiteDoc]:
    """Every document folder under ``root`` (optionally only ``names`` or one split), validated."""
    if not root.is_dir():
        raise ChatbotError(f"Suite folder {root} does not exist (see eval/README.md for its layout).")
    docs = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if names and folder.name not in names:
            continue
        meta_path = folder / "meta.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ChatbotError(f"{meta_path} is missing or not valid JSON ({exc}).") from exc
        missing = [k for k in META_KEYS if not meta.get(k)]
        if missing:
            raise ChatbotError(f"{meta_path} lacks {', '.join(missing)}.")
        if meta["split"] not in SPLITS:
            raise ChatbotError(f"{meta_path}: split must be one of {', '.join(SPLITS)}, not {meta['split']!r}.")
        if not (folder / meta["document"]).is_file():
            raise ChatbotError(f"{meta_path} names {meta['document']}, which is not in {folder}.")
        if split != "all" and meta["split"] != split:
            continue
        docs.append(SuiteDoc(folder.name, folder, meta, tuple(load_items(folder / "questions.jsonl"))))
    if names and len(docs) != len(set(names)):
        known = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise ChatbotError(f"Unknown suite document(s) {sorted(set(names) - {d.name for d in docs})}; known: {', '.join(known)}.")
    return docs


def doc_settings(base: Settings, work: Path) -> Settings:
    """The user's settings, with corpus, index and data folders moved under ``work``."""
    return base.replace(corpus_dir=work / "corpus", index_dir=work / "index", data_dir=work / "data")


def shared_embedder(settings: Settings, folder: Path) -> Any:
    """One query embedder for every document of a run (the variant the settings choose): the ONNX
    export made once into ``folder``, which every document's index build copies, or the torch model."""
    from chatbot.embeddings import SentenceTransformerEmbedder, plan_embedder

    plan = plan_embedder(settings)
    if plan.backend == "onnx":
        from chatbot.onnx_embedder import OnnxEmbedder, export_onnx

        return OnnxEmbedder(export_onnx(plan.model_path, folder, int8=plan.int8, model_id=plan.model_id), threads=settings.embedding_threads)
    return SentenceTransformerEmbedder(settings.embedding_model, settings.embedding_threads, quantize=plan.int8)


def ask_document(doc: SuiteDoc, settings: Settings, work: Path, embedder: Any = None) -> list[ItemResult]:
    """Index one document in ``work`` (a fresh corpus folder of its own) and answer its items."""
    from chatbot.bot import Chatbot

    s = doc_settings(settings, work)
    s.corpus_dir.mkdir(parents=True)
    shutil.copyfile(doc.path, s.corpus_dir / doc.path.name)
    sidecar = {"title": doc.meta["title"], "source": doc.meta["source"]}
    (s.corpus_dir / f"{doc.path.stem}.meta.json").write_text(json.dumps(sidecar), encoding="utf-8")
    bot = Chatbot.load(s, embedder=embedder)
    results = evaluate(bot, list(doc.items))
    for r in results:
        r.doc = doc.name
    return results


def run_suite(
    docs: list[SuiteDoc], settings: Settings | None = None, embedder: Any = None, keep: Path | None = None
) -> dict[str, list[ItemResult]]:
    """Results per document name. Indexes live in a temporary folder (or under ``keep``)."""
    settings = settings or Settings.from_env()
    out: dict[str, list[ItemResult]] = {}
    with tempfile.TemporaryDirectory(prefix="chatbot-suite-") as tmp:
        base = keep or Path(tmp)
        if embedder is None:
            embedder = shared_embedder(settings, base / "embedder")
        for doc in docs:
            out[doc.name] = ask_document(doc, settings, base / doc.name, embedder)
    return out


# ---- summaries (pure) --------------------------------------------------------------------------
def block(results: list[ItemResult]) -> dict[str, Any]:
    """Counts of each verdict, accuracy (right + right abstentions), citation precision, p50."""
    n = len(results)
    counts = Counter(r.verdict for r in results)
    cites, hits = citation_scores_total(results)
    good = counts[Verdict.RIGHT] + counts[Verdict.RIGHT_ABSTENTION]
    return {
        "n": n,
        **{v: counts[v] for v in Verdict.ALL},
        "accuracy": round(good / n, 4) if n else 0.0,
        "confidently_wrong_rate": round(counts[Verdict.CONFIDENTLY_WRONG] / n, 4) if n else 0.0,
        "citation_precision": round(hits / cites, 4) if cites else None,
        "latency_p50_ms": round(percentile([r.latency_ms for r in results], 50), 2),
        "unsure": sum(1 for r in results if r.unsure),
        "errors": sum(1 for r in results if r.error),
    }


# Question types answered from a table: their totals are reported per split (held-out ones as a
# total only, like every held-out number), for the target "table questions right on held-out documents".
TABLE_TYPES = frozenset({"table_lookup", "table_compute"})


def summarize(docs: list[SuiteDoc], results: dict[str, list[ItemResult]]) -> dict[str, Any]:
    split_of = {d.name: d.split for d in docs}
    per_doc = {d.name: {"split": d.split, "origin": d.meta["origin"], **block(results[d.name])} for d in docs if d.name in results}
    totals, table_totals = {}, {}
    for split in SPLITS:
        rs = [r for name, rr in results.items() if split_of[name] == split for r in rr]
        if rs:
            totals[split] = block(rs)
        tables = [r for r in rs if r.type in TABLE_TYPES]
        if tables:
            table_totals[split] = block(tables)
    by_type: dict[str, list[ItemResult]] = {}
    for name, rr in results.items():
        if split_of[name] == "dev":
            for r in rr:
                by_type.setdefault(r.type, []).append(r)
    return {
        "documents": per_doc,
        "totals": totals,
        "table_totals": table_totals,
        "dev_by_type": {t: block(rs) for t, rs in sorted(by_type.items())},
    }


def gate(summary: dict[str, Any], thresholds: dict[str, Any]) -> list[str]:
    """Failures against per-document floors: {"docs": {name: {"accuracy": x, "confidently_wrong": n}}}."""
    failures = []
    for name, floor in thresholds.get("docs", {}).items():
        got = summary["documents"].get(name)
        if got is None:
            failures.append(f"{name}: not run")
            continue
        if got["accuracy"] < floor.get("accuracy", 0):
            failures.append(f"{name}: accuracy {got['accuracy']} is below the gate {floor['accuracy']}")
        if "confidently_wrong" in floor and got[Verdict.CONFIDENTLY_WRONG] > floor["confidently_wrong"]:
            failures.append(
                f"{name}: {got[Verdict.CONFIDENTLY_WRONG]} confidently wrong answers, the gate allows {floor['confidently_wrong']}"
            )
        if got["errors"]:
            failures.append(f"{name}: {got['errors']} errors")
    return failures


# ---- reports -----------------------------------------------------------------------------------
def write_suite_reports(
    out: Path, docs: list[SuiteDoc], results: dict[str, list[ItemResult]], summary: dict[str, Any],
    meta: dict[str, Any], reveal_held_out: bool = False,
) -> None:
    """report.json, report.md and report.png. Held-out items stay out unless ``reveal_held_out``."""
    out.mkdir(parents=True, exist_ok=True)
    shown = {d.name for d in docs if d.split == "dev" or reveal_held_out}
    items = [asdict(r) for name, rr in results.items() if name in shown for r in rr]
    report = {"meta": {**meta, "held_out_items_revealed": reveal_held_out}, "summary": summary, "items": items}
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    (out / "report.md").write_text(render_markdown(summary, results, shown, meta), encoding="utf-8")
    _chart(out / "report.png", summary)


def _row(name: str, b: dict[str, Any], split: str = "") -> str:
    cp = "–" if b["citation_precision"] is None else f"{b['citation_precision']:.1%}"
    return (
        f"| {name} | {split} | {b['n']} | {b['accuracy']:.1%} | {b[Verdict.RIGHT]} | {b[Verdict.PARTIAL]} | "
        f"{b[Verdict.CONFIDENTLY_WRONG]} | {b[Verdict.WRONG_ABSTENTION]} | {b[Verdict.RIGHT_ABSTENTION]} | {cp} | "
        f"{b['latency_p50_ms']} | {b['unsure']} |"
    )


def render_markdown(summary: dict[str, Any], results: dict[str, list[ItemResult]], shown: set[str], meta: dict[str, Any]) -> str:
    head = [
        "| document | split | n | right + right abst. | right | partial | confidently wrong | wrong abst. | right abst. | cite P | p50 ms | unsure |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines = ["# Evaluation suite report", "", f"Suite: `{meta.get('suite', '')}`, {meta.get('when', '')}", "", "## Totals", ""]
    lines += head + [_row(f"**{s}**", b) for s, b in summary["totals"].items()]
    lines += [_row(f"table questions, {s}", b) for s, b in summary.get("table_totals", {}).items()]
    lines += ["", "## Per document", ""] + head
    lines += [_row(name, b, b["split"]) for name, b in summary["documents"].items()]
    if summary["dev_by_type"]:
        lines += ["", "## Dev documents by question type", "", *head]
        lines += [_row(t, b) for t, b in summary["dev_by_type"].items()]
    misses = [r for name, rr in results.items() if name in shown for r in rr if r.verdict != Verdict.RIGHT and r.verdict != Verdict.RIGHT_ABSTENTION]
    if misses:
        lines += ["", "## Misses (dev documents)", ""]
        for r in misses:
            lines.append(f"- **{r.id}** ({r.type}, {r.verdict}) {r.question}\n  - missing: {', '.join(r.missing)}\n  - answer: {r.answer[:300]!r}")
    unsure = [r for name, rr in results.items() if name in shown for r in rr if r.unsure]
    if unsure:
        lines += ["", "## For a human look (the automatic verdict may be wrong)", ""]
        lines += [f"- **{r.id}** ({r.verdict}: {r.unsure}) {r.question}\n  - answer: {r.answer[:300]!r}" for r in unsure]
    hidden = sorted(set(results) - shown)
    if hidden:
        lines += ["", f"Held-out documents ({', '.join(hidden)}) report totals only, by protocol (eval/README.md)."]
    return "\n".join(lines) + "\n"


def _chart(path: Path, summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary["documents"])
    colours = {Verdict.RIGHT: "#4e9a4e", Verdict.RIGHT_ABSTENTION: "#9ccf8f", Verdict.PARTIAL: "#e0b040",
               Verdict.WRONG_ABSTENTION: "#8aa4c8", Verdict.CONFIDENTLY_WRONG: "#c8443a"}
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(names) + 1.5))
    left = [0.0] * len(names)
    for v in (Verdict.RIGHT, Verdict.RIGHT_ABSTENTION, Verdict.PARTIAL, Verdict.WRONG_ABSTENTION, Verdict.CONFIDENTLY_WRONG):
        share = [100 * summary["documents"][n][v] / max(summary["documents"][n]["n"], 1) for n in names]
        ax.barh([f"{n} ({summary['documents'][n]['split']})" for n in names], share, left=left, color=colours[v], label=v.replace("_", " "))
        left = [a + b for a, b in zip(left, share, strict=True)]
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of items")
    ax.invert_yaxis()
    ax.legend(ncol=5, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    ax.set_title("Evaluation suite: verdicts per document")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_suite_summary(summary: dict[str, Any]) -> None:
    hdr = f"{'document':28} {'split':9} {'n':>4} {'acc':>7} {'right':>6} {'part':>5} {'cwrong':>6} {'wabst':>6} {'rabst':>6} {'citeP':>7} {'p50ms':>7}"
    print(hdr)

    def line(name: str, b: dict[str, Any], split: str = "") -> None:
        cp = "–" if b["citation_precision"] is None else f"{b['citation_precision']:.1%}"
        print(
            f"{name[:28]:28} {split:9} {b['n']:>4} {b['accuracy']:>7.1%} {b[Verdict.RIGHT]:>6} {b[Verdict.PARTIAL]:>5} "
            f"{b[Verdict.CONFIDENTLY_WRONG]:>6} {b[Verdict.WRONG_ABSTENTION]:>6} {b[Verdict.RIGHT_ABSTENTION]:>6} {cp:>7} {b['latency_p50_ms']:>7}"
        )

    for name, b in summary["documents"].items():
        line(name, b, b["split"])
    for split, b in summary["totals"].items():
        line(f"TOTAL {split}", b)
    for split, b in summary.get("table_totals", {}).items():
        line(f"TABLES {split}", b)


def run_cli(args: Any) -> int:
    docs = load_suite(Path(args.suite), args.doc or None, args.split)
    if not docs:
        raise ChatbotError(f"No documents in {args.suite} match the selection.")
    if args.reveal_held_out:
        print("Revealing held-out items: by protocol those documents become dev (eval/README.md).")
    t0 = time.perf_counter()
    results = run_suite(docs)
    summary = summarize(docs, results)
    meta = {"suite": str(args.suite), "when": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": round(time.perf_counter() - t0, 1)}
    out = Path(args.out)
    write_suite_reports(out, docs, results, summary, meta, args.reveal_held_out)
    print_suite_summary(summary)
    print(f"\nReports: {out}/report.json, report.md, report.png")
    if args.gate:
        thresholds = json.loads(SUITE_THRESHOLDS.read_text(encoding="utf-8"))
        failures = gate(summary, thresholds)
        if failures:
            print("SUITE GATE FAILED: " + "; ".join(failures))
            return 1
        print("Suite gate passed.")
    return 0
