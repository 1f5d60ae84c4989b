"""Chatbots limited to one document of the corpus, for the UI's document filter.

The core answers over the whole corpus; ``bot.ask`` takes no document filter. ``ScopedBots`` builds,
on first use, a ``Chatbot`` over a folder holding only the chosen document (and its sidecars), with
the same settings and the already loaded embedding model, so its answers, citations and offsets are
those of the same document text. It uses only the public ``Chatbot.load`` API; each scoped index is
built once under ``<data_dir>/scoped/<doc_id>/`` and reused.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import yaml

from chatbot.index import CURATED_FACTS_FILE

ALL = ""  # the filter value meaning "the whole corpus"


class ScopedBots:
    def __init__(self, bot: Any, folder: Path | None = None) -> None:
        self.bot = bot
        self.folder = Path(folder or Path(bot.settings.data_dir) / "scoped")
        self._bots: dict[str, Any] = {}
        self._lock = threading.Lock()

    def documents(self) -> dict[str, str]:
        """doc_id → title, in corpus order."""
        return {d: doc.title or d for d, doc in self.bot.index.documents.items()}

    def get(self, doc_id: str = ALL) -> Any:
        """The bot answering only from ``doc_id`` (the main bot for ``ALL`` or an unknown id)."""
        if not doc_id or doc_id not in self.bot.index.documents or len(self.bot.index.documents) < 2:
            return self.bot
        with self._lock:
            if doc_id not in self._bots:
                self._bots[doc_id] = self._load(doc_id)
            return self._bots[doc_id]

    def warm(self) -> threading.Thread:
        """Build every scoped bot in a background thread (the first filtered question is then quick)."""

        def work() -> None:
            for doc_id in self.bot.index.documents:
                try:
                    self.get(doc_id)
                except Exception:  # noqa: BLE001 - the filter then builds it on first use
                    pass

        t = threading.Thread(target=work, name="scoped-bots", daemon=True)
        t.start()
        return t

    def _load(self, doc_id: str) -> Any:
        from chatbot.bot import Chatbot

        doc = self.bot.index.documents[doc_id]
        root = self.folder / doc_id
        corpus = root / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        source = Path(self.bot.settings.corpus_dir) / doc.path
        for f in (source, source.with_suffix(".meta.json")):
            if f.is_file() and not (corpus / f.name).is_file():
                shutil.copy2(f, corpus / f.name)
        curated = source.parent / CURATED_FACTS_FILE
        if curated.is_file() and not (corpus / CURATED_FACTS_FILE).is_file():
            items = [i for i in yaml.safe_load(curated.read_text(encoding="utf-8")) or [] if i.get("doc_id") == doc_id]
            if items:  # only this document's curated facts (the others name documents not here)
                (corpus / CURATED_FACTS_FILE).write_text(yaml.safe_dump(items, allow_unicode=True, sort_keys=False), encoding="utf-8")
        settings = self.bot.settings.replace(corpus_dir=corpus, index_dir=root / "index")
        return Chatbot.load(settings, embedder=self.bot.index.embedder)
