"""Command line: ``chatbot index | search | facts | ask | chat | serve | eval | settings``.

Domain errors become one-line messages with exit code 2; nothing here decides answers.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path

from chatbot.errors import ChatbotError
from chatbot.settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


def cmd_index(args: argparse.Namespace) -> int:
    from chatbot.index import IndexManager

    mgr = IndexManager(_settings())
    built, reason = mgr.ensure(rebuild=args.rebuild)
    m = mgr.read_manifest()
    assert m is not None, "ensure() leaves a current index"
    state = "built" if built else "up to date, nothing to do"
    print(f"Index {state} ({reason}): {m.passages} passages, {m.facts} facts, model {m.model_id}, backend {m.vector_backend}")
    print(f"  {mgr.current.resolve()}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from chatbot.bot import Chatbot

    bot = Chatbot.load(_settings())
    hits = bot.search(args.query, args.k)
    if args.json:
        print(json.dumps(
            [{**h.passage.metadata(), "score": h.score, "dense": h.dense, "bm25": h.bm25, "text": h.passage.text} for h in hits],
            indent=2, ensure_ascii=False,
        ))
        return 0
    for rank, h in enumerate(hits, 1):
        p = h.passage
        print(f"{rank}. [{p.id}] score={h.score:.4f} dense={h.dense:.3f} bm25={h.bm25:.2f}  § {p.section}  ({p.doc_id} {p.start}–{p.end})")
        print("   " + p.text.replace("\n", "\n   ")[:400])
    return 0


def cmd_facts(args: argparse.Namespace) -> int:
    from chatbot.facts.store import FactsDB
    from chatbot.index import IndexManager

    mgr = IndexManager(_settings())
    idx = mgr.load()
    db = FactsDB.load(idx.root / "facts.sqlite")
    rows = [f.to_dict() for f in db.facts]
    if args.json:
        print(json.dumps({"facts": rows, "tables": [asdict(t) for t in db.tables]}, indent=2, ensure_ascii=False))
    elif args.csv:
        w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["id"])
        w.writeheader()
        w.writerows(rows)
    else:
        for t in db.tables:
            print(f"Table ({t.doc_id}): " + " | ".join(t.columns))
            for cells in t.cells:
                print("  " + " | ".join(cells))
            for c in t.checks:
                print(f"  check: {c}")
            print()
        print(f"{'kind':8} {'subject':45} {'value':>16} {'unit':6} {'period':8} quote")
        for f in db.facts:
            val = "" if f.value is None else f"{f.value:,.2f}"
            print(f"{f.kind:8} {f.subject[:45]:45} {val:>16} {f.unit[:6]:6} {f.period[:8]:8} {f.quote[:70]}")
    return 0


def _print_answer(ans, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        print(json.dumps(ans.to_dict(), indent=2, ensure_ascii=False))
        return
    print(ans.text)
    for c in ans.citations:
        print(f"  [{c.n}] “{c.quote}” — {c.doc_id} {c.start}–{c.end}, § {c.section}")
    for n in ans.notes:
        print(f"  note: {n}")


def cmd_ask(args: argparse.Namespace) -> int:
    from chatbot.bot import Chatbot

    bot = Chatbot.load(_settings())
    _print_answer(bot.ask(args.question), args.json)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from chatbot.bot import Chatbot

    bot = Chatbot.load(_settings())
    history: list[dict[str, str]] = []
    print("Ask about the document. Empty line or Ctrl-D to quit; /new starts a new conversation.")
    while True:
        try:
            q = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not q:
            return 0
        if q == "/new":
            history = []
            continue
        try:
            ans = bot.ask(q, history)
        except ChatbotError as exc:
            print(f"error: {exc}")
            continue
        _print_answer(ans, False)
        history += [{"role": "user", "content": q}, {"role": "assistant", "content": ans.text}]


def cmd_serve(args: argparse.Namespace) -> int:
    from chatbot.web.server import serve

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port), ("root_path", args.root_path), ("workers", args.workers)) if v is not None}
    if args.no_ui:
        overrides["ui"] = False
    serve(_settings().replace(**overrides))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.suite:
        from chatbot.suite import run_cli as run_suite_cli

        return run_suite_cli(args)
    from chatbot.evaluation import run_cli

    return run_cli(args)


def cmd_settings(args: argparse.Namespace) -> int:
    for key, default, desc in Settings.describe():
        print(f"{key:34} {default:28} {desc}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="chatbot", description="Question answering over the documents in corpus/, with citations.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("index", help="build the index if the corpus or model changed")
    s.add_argument("--rebuild", action="store_true", help="build even when up to date")
    s.set_defaults(func=cmd_index)
    s = sub.add_parser("search", help="ranked passages for a query")
    s.add_argument("query")
    s.add_argument("-k", type=int, default=4)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_search)
    s = sub.add_parser("facts", help="print the structured facts table")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true")
    g.add_argument("--csv", action="store_true")
    s.set_defaults(func=cmd_facts)
    s = sub.add_parser("ask", help="answer one question")
    s.add_argument("question")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ask)
    s = sub.add_parser("chat", help="terminal conversation with history")
    s.set_defaults(func=cmd_chat)
    s = sub.add_parser("serve", help="start the web chat, JSON API and embed page")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--root-path")
    s.add_argument("--workers", type=int, help="server processes, each with the index loaded read-only (CHATBOT_WORKERS)")
    s.add_argument("--no-ui", action="store_true", help="JSON API, embed page and widget only: no Gradio (CHATBOT_UI=false)")
    s.set_defaults(func=cmd_serve)
    s = sub.add_parser("eval", help="answer-accuracy evaluation over a question set")
    s.add_argument("--set", default=str(Path("eval") / "questions.jsonl"), help="question set (JSONL)")
    s.add_argument("--out", default=str(Path("eval") / "reports" / "latest"), help="report folder")
    s.add_argument("--compare", help="an earlier report.json to diff against")
    s.add_argument("--gate", action="store_true", help="exit 1 below eval/thresholds.json (with --suite: eval/suite_thresholds.json)")
    s.add_argument("--suite", help="a suite folder (eval/docs): index each document on its own and score its questions")
    s.add_argument("--doc", action="append", help="with --suite: only this document folder (repeatable)")
    s.add_argument("--split", choices=("all", "dev", "held-out"), default="all", help="with --suite: which documents")
    s.add_argument("--reveal-held-out", action="store_true", help="with --suite: write held-out items too (they become dev)")
    s.set_defaults(func=cmd_eval)
    s = sub.add_parser("settings", help="list every setting with its default")
    s.set_defaults(func=cmd_settings)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = os.environ.get("CHATBOT_LOG_LEVEL", "WARNING").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        print(f"error: CHATBOT_LOG_LEVEL={level!r} is invalid: choose one of DEBUG, INFO, WARNING, ERROR.", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else level, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("bm25s", "sentence_transformers", "httpx", "chromadb", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except ChatbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    finally:
        if argv is None:  # the program itself (not a caller in a longer-lived process) ends here: the
            gc.freeze()  # interpreter's last collections then skip every loaded object (≈ 0.6 s of `chatbot ask`)


if __name__ == "__main__":
    sys.exit(main())
