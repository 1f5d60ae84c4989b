"""``Chatbot``: the one public entry point used by the CLI, the web API, the UI and the evals.

    from chatbot import Chatbot
    bot = Chatbot.load()
    ans = bot.ask("What were imports in 2024?", history=[{"role": "user", "content": "..."}, ...])
    ans.text, ans.citations, ans.abstained, ans.to_dict()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from chatbot.chain import AnswerChain
from chatbot.embeddings import Embedder
from chatbot.errors import QuestionError
from chatbot.facts.qa import NumericQA
from chatbot.facts.store import FactsDB
from chatbot.index import IndexManager, LoadedIndex
from chatbot.resources import load_timings, timed
from chatbot.retrieval import Hit
from chatbot.settings import Settings
from chatbot.types import Answer

log = logging.getLogger(__name__)


class Chatbot:
    def __init__(self, index: LoadedIndex, facts: FactsDB, settings: Settings) -> None:
        self.settings = settings
        self.index = index
        self.facts_db = facts
        llm = None
        if settings.llm_base_url:
            from chatbot.answering.llm import OpenAICompatibleModel

            llm = OpenAICompatibleModel(settings)
        qa = NumericQA(facts, {d: doc.text for d, doc in index.documents.items()})
        qa.titles = {d: doc.title for d, doc in index.documents.items()}
        self.chain = AnswerChain(index, qa, settings, llm)

    @classmethod
    def load(cls, settings: Settings | None = None, warm: bool = True, embedder: Embedder | None = None) -> Chatbot:
        """Load the index (building it when missing, stale or corrupt) and warm the model."""
        settings = settings or Settings.from_env()
        t0 = time.perf_counter()
        with timed("index"):
            index = IndexManager(settings, embedder).load()
        with timed("facts"):
            facts = FactsDB.load(index.root / "facts.sqlite")
            bot = cls(index, facts, settings)
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
    def ask(self, question: str, history: list[dict[str, str]] | None = None, documents: Any = None) -> Answer:
        """Answer ``question``; ``documents`` (doc ids) limits the answer to those documents."""
        q = self.check_question(question)
        return self.chain.run(q, self.check_history(history), documents=self.check_documents(documents))

    def stream(self, question: str, history: list[dict[str, str]] | None = None, documents: Any = None) -> Iterator[str | Answer]:
        """LLM tokens as they arrive (LLM mode only), then the verified ``Answer``."""
        q = self.check_question(question)
        yield from self.chain.stream(q, self.check_history(history), self.check_documents(documents))

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
        return self.chain.searcher.search(self.check_question(query), k)

    def health(self) -> dict[str, Any]:
        m = self.index.manifest
        return {
            "status": "ok",
            "index_loaded": True,
            "passages": len(self.index.passages),
            "facts": len(self.facts_db.facts),
            "documents": m.documents,
            "model": m.model_id,
            "vector_backend": m.vector_backend,
            "corpus_hash": m.corpus_hash[:12],
            "llm": bool(self.settings.llm_base_url),
            "version": _version(),
            "load_ms": load_timings(),  # what this process loaded and how long each took
        }


def _warm_language(model: str) -> None:
    """Load spaCy in the background (timed by name in load_timings): the server is ready meanwhile, and
    a question arriving first simply waits for the load it needs."""
    from chatbot.understanding.nlp import parse

    try:
        parse("Who answers a warm-up question?", model)
    except Exception:  # noqa: BLE001 - the first question reports a missing pipeline as its own error
        log.exception("Loading the spaCy pipeline %s failed", model)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chatbot")
    except PackageNotFoundError:
        return "dev"
