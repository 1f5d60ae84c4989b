"""``Chatbot``: the one public entry point used by the CLI, the web API, the UI and the evals.

    from chatbot import Chatbot
    bot = Chatbot.load()
    ans = bot.ask("What were imports in 2024?", history=[{"role": "user", "content": "..."}, ...])
    ans.text, ans.citations, ans.abstained, ans.to_dict()
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatbot.chain import AnswerChain
from chatbot.embeddings import Embedder
from chatbot.errors import QuestionError
from chatbot.facts.qa import NumericQA
from chatbot.facts.store import FactsDB
from chatbot.index import IndexManager, LoadedIndex, release_lease
from chatbot.resources import load_timings, timed
from chatbot.retrieval import Hit
from chatbot.settings import Settings
from chatbot.types import Answer
from chatbot.vectorstore import VectorStoreCorrupt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    """One loaded build and the chain over it. A reload replaces the whole value at once, so a
    request that took it answers entirely from one build."""

    index: LoadedIndex
    facts_db: FactsDB
    chain: AnswerChain


class Chatbot:
    def __init__(self, index: LoadedIndex, facts: FactsDB, settings: Settings) -> None:
        self.settings = settings
        self._embedder_override: Embedder | None = None
        self._loaded = self._assemble(index, facts)
        self._health: tuple[float, dict[str, Any]] | None = None
        self._health_lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._failed_build: Path | None = None
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
        self._repairing: threading.Thread | None = None

    def _assemble(self, index: LoadedIndex, facts: FactsDB) -> Loaded:
        llm = None
        if self.settings.llm_base_url:
            from chatbot.answering.llm import OpenAICompatibleModel

            llm = OpenAICompatibleModel(self.settings)
        stats = index.stats  # derived at build (None: derived by the answerer)
        qa = NumericQA(facts, {d: doc.text for d, doc in index.documents.items()}, {d: doc.title for d, doc in index.documents.items()},
                       stats.paragraphs if stats else None, stats.facts if stats else None)
        return Loaded(index, facts, AnswerChain(index, qa, self.settings, llm))

    # The build currently answering (each read may see a newer one after a reload).
    @property
    def index(self) -> LoadedIndex:
        return self._loaded.index

    @property
    def facts_db(self) -> FactsDB:
        return self._loaded.facts_db

    @property
    def chain(self) -> AnswerChain:
        return self._loaded.chain

    @classmethod
    def load(cls, settings: Settings | None = None, warm: bool = True, embedder: Embedder | None = None) -> Chatbot:
        """Load the index (building it when missing, stale or corrupt) and warm the model."""
        settings = settings or Settings.from_env()
        t0 = time.perf_counter()
        with collector_paused(), timed("index"):
            index = IndexManager(settings, embedder).load()
        with collector_paused(), timed("facts"):
            facts = FactsDB.load(index.root / "facts.sqlite")
            bot = cls(index, facts, settings)
            bot._embedder_override = embedder
        if warm:
            with timed("embedder"):
                index.embedder.embed_query("warm-up")
            threading.Thread(target=_warm_language, args=(settings.spacy_model,), name="warm-spacy", daemon=True).start()
        log.info(
            "Chatbot ready in %.1f s: %d passages, %d facts (load ms: %s)",
            time.perf_counter() - t0, len(index.passages), len(facts.facts), load_timings(),
        )
        return bot

    # ---- validation ----------------------------------------------------------------------------
    def check_question(self, question: Any) -> str:
        if not isinstance(question, str):
            raise QuestionError("The question must be text.")
        q = question.strip()
        if not _encodable(q):
            raise QuestionError("The question contains characters that are not valid text (unpaired surrogates).")
        if not q:
            raise QuestionError("The question is empty: type a question about the article.")
        if len(q) > self.settings.max_question_chars:
            raise QuestionError(
                f"The question is {len(q):,} characters long; the limit is {self.settings.max_question_chars:,} "
                "(CHATBOT_MAX_QUESTION_CHARS). Shorten it."
            )
        return q

    def check_history(self, history: Any) -> list[dict[str, str]]:
        if history is None:
            return []
        if not isinstance(history, list):
            raise QuestionError("history must be a list of {role, content} messages.")
        out = []
        for i, m in enumerate(history):
            if not isinstance(m, dict) or m.get("role") not in ("user", "assistant") or not isinstance(m.get("content"), str):
                raise QuestionError(f"history[{i}] must be {{'role': 'user'|'assistant', 'content': str}}.")
            if not _encodable(m["content"]):
                raise QuestionError(f"history[{i}] contains characters that are not valid text (unpaired surrogates).")
            out.append({"role": m["role"], "content": m["content"][: self.settings.max_question_chars * 4]})
        return out[-self.settings.max_history_turns :]

    # ---- asking --------------------------------------------------------------------------------
    def ask(self, question: str, history: list[dict[str, str]] | None = None, documents: Any = None,
            cancel: threading.Event | None = None) -> Answer:
        """Answer ``question``; ``documents`` (doc ids) limits the answer to those documents. Setting
        ``cancel`` stops the work at the next step with ``Cancelled`` (the web API sets it when the
        client leaves or the time budget runs out)."""
        q = self.check_question(question)
        try:
            return self._loaded.chain.run(q, self.check_history(history), documents=self.check_documents(documents), cancel=cancel)
        except VectorStoreCorrupt:
            self.repair()
            raise

    def stream(self, question: str, history: list[dict[str, str]] | None = None, documents: Any = None) -> Iterator[str | Answer]:
        """LLM tokens as they arrive (LLM mode only), then the verified ``Answer``."""
        q = self.check_question(question)
        yield from self._loaded.chain.stream(q, self.check_history(history), self.check_documents(documents))

    def documents(self) -> dict[str, str]:
        """doc_id → title of every document in the index, in corpus order."""
        return {d: doc.title or d for d, doc in self.index.documents.items()}

    def check_documents(self, documents: Any) -> frozenset[str] | None:
        """A document filter: None or empty for the whole corpus, else known doc ids."""
        if documents is None or documents == [] or documents == ():
            return None
        if isinstance(documents, str) or not all(isinstance(d, str) for d in documents):
            raise QuestionError("documents must be a list of document ids.")
        unknown = sorted(set(documents) - set(self.index.documents))
        if unknown:
            raise QuestionError(f"Unknown document(s) {', '.join(unknown)}; known: {', '.join(self.index.documents)}.")
        return frozenset(documents)

    def search(self, query: str, k: int = 4) -> list[Hit]:
        return self._loaded.chain.searcher.search(self.check_question(query), k)

    # ---- health --------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """A readiness probe: a tiny query through each backend (embedder, vector store, BM25,
        facts), cached ``settings.health_cache_s``. ``status`` is "ok" or "unavailable", and
        ``failed`` names the component that failed with its reason."""
        now = time.monotonic()
        with self._health_lock:
            if self._health and now - self._health[0] < self.settings.health_cache_s:
                return self._health[1]
            result = self._probe(self._loaded)
            self._health = (time.monotonic(), result)
            return result

    def _probe(self, loaded: Loaded) -> dict[str, Any]:
        index = loaded.index
        checks: dict[str, str] = {}
        failed: dict[str, str] = {}

        def check(name: str, fn: Any) -> None:
            t0 = time.perf_counter()
            try:
                fn()
                checks[name] = f"ok ({(time.perf_counter() - t0) * 1000:.0f} ms)"
            except Exception as exc:  # noqa: BLE001 - reported, never raised
                failed[name] = f"{exc.__class__.__name__}: {exc}"
                checks[name] = "failed"

        vector: list[list[float]] = []
        check("embedder", lambda: vector.append(index.embedder.embed_query("health check")))
        check("vector_store", lambda: vector and index.vectors.query(vector[0], 1))
        check("bm25", lambda: index.bm25_scores("health check"))
        check("facts", lambda: len(loaded.facts_db.facts))
        m = index.manifest
        return {
            "status": "unavailable" if failed else "ok",
            "index_loaded": True,
            "checks": checks,
            "failed": failed,
            "build": index.root.name,
            "passages": len(index.passages),
            "facts": len(loaded.facts_db.facts),
            "documents": m.documents,
            "model": m.model_id,
            "vector_backend": m.vector_backend,
            "corpus_hash": m.corpus_hash[:12],
            "llm": bool(self.settings.llm_base_url),
            "version": version(),
            "load_ms": load_timings(),  # what this process loaded and how long each took
        }

    # ---- reloading -------------------------------------------------------------------------------
    def reload(self, force: bool = False) -> bool:
        """Load the build ``current`` points at when it differs from the one answering (or always,
        with ``force``), then switch to it at once; requests already running finish on the old one.
        A build that cannot be loaded is logged once and the old one keeps serving. Returns whether
        it switched."""
        with self._reload_lock:
            mgr = IndexManager(self.settings, self._embedder_override)
            target = mgr.current_build()
            old = self._loaded
            if target is None or (not force and (target == old.index.root or target == self._failed_build)):
                return False
            try:
                with collector_paused():
                    index = mgr.open_build(target)
                    facts = FactsDB.load(index.root / "facts.sqlite")
                    new = self._assemble(index, facts)
                new.chain.run("What is this document about?", [])  # warm the new build before it serves
            except Exception as exc:  # noqa: BLE001 - keep serving the last good build
                self._failed_build = target
                log.error("The new index %s cannot be loaded (%s); still serving %s.", target, exc, old.index.root)
                return False
            self._loaded = new
            self._failed_build = None
            with self._health_lock:
                self._health = None
            if old.index.root != target:
                release_lease(old.index.root)
            log.info("Switched to the index build %s (was %s).", target.name, old.index.root.name)
            return True

    def repair(self) -> None:
        """The embedded store of the build in use fails: rebuild the index in a child process, once
        at a time, in the background; the watcher switches to the new build when it is ready."""
        with self._reload_lock:
            if self._repairing is not None and self._repairing.is_alive():
                return
            log.error("The index build %s is damaged; rebuilding it in the background.", self.index.root.name)

            def rebuild() -> None:
                import os
                import subprocess
                import sys

                proc = subprocess.run(
                    [sys.executable, "-m", "chatbot.cli", "index", "--rebuild"],
                    env={**os.environ, **self.settings.to_env()}, capture_output=True, text=True,
                )
                if proc.returncode != 0:
                    log.error("Rebuilding the damaged index failed: %s", (proc.stderr or proc.stdout).strip()[-500:])
                elif self._watcher is None:
                    self.reload()

            self._repairing = threading.Thread(target=rebuild, name="index-repair", daemon=True)
            self._repairing.start()

    def watch_index(self, interval_s: float | None = None) -> None:
        """Check ``index_dir/current`` every ``interval_s`` seconds in a background thread and
        reload when it points at a new build; also retry a build found damaged while serving."""
        interval = self.settings.reload_interval_s if interval_s is None else interval_s
        if interval <= 0 or self._watcher is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.reload()
                except Exception:  # noqa: BLE001 - the watcher must never die
                    log.exception("index reload check failed")

        self._watcher = threading.Thread(target=loop, name="index-watcher", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop the background watcher (the index stays loaded)."""
        self._stop.set()


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while an index is read: loading makes hundreds of thousands
    of long-lived objects (passages, spans, facts), and each collection the allocations trigger
    would walk all of them again — a quarter of the load time of a large corpus. Nothing loading
    makes is garbage, and the collector runs again right after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _warm_language(model: str) -> None:
    """Load spaCy and build the currency patterns (CLDR) in the background: the server is ready
    meanwhile, and a question arriving first simply waits for the load it needs."""
    from chatbot.facts.numbers import find_money
    from chatbot.understanding.nlp import parse

    try:
        find_money("Warm-up: 5 dollars.")
        parse("Who answers a warm-up question?", model)
    except Exception:  # noqa: BLE001 - the first question reports a missing pipeline as its own error
        log.exception("Loading the spaCy pipeline %s failed", model)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def version() -> str:
    """The installed package's version ("dev" in a source checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chatbot")
    except PackageNotFoundError:
        return "dev"
