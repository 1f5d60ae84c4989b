"""The query-time embedder: the index's own ONNX export of MiniLM, run by onnxruntime + tokenizers.

No torch here. ``export_onnx`` (build time only) turns the sentence-transformers model into one ONNX
graph — transformer, mean pooling over the attention mask, L2 normalisation — optionally int8
through onnxruntime's dynamic quantisation, and writes it with the tokenizer into a folder::

    embedder/model.onnx        the graph (int8 weights when quantised)
    embedder/tokenizer.json    the model's own fast tokenizer
    embedder/embedder.json     model id, max sequence length, variant

``OnnxEmbedder(folder)`` embeds from that folder. Every text, document or query, goes through the
graph alone (never padded into a batch): int8 activations are quantised per tensor, so a text's
vector would otherwise depend on its batch neighbours (batches of 8-64 sentences: cosine to the
text alone as low as 0.95). A stored sentence vector therefore equals ``embed_query`` of the same
sentence. A build uses every core by running texts side by side, one single-threaded run per
text (``embed_documents(workers=…)``): on 2 cores ≈ 2.4x the throughput of one run with 2 intra-op
threads, which is slower than one thread on texts this short.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from chatbot.errors import ConfigError
from chatbot.progress import progress

log = logging.getLogger(__name__)

META_FILE = "embedder.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
QUERY_CACHE_SIZE = 512


def export_supported(model_path: Path) -> str | None:
    """None when ``model_path`` can be exported here, else the reason it cannot (read from the
    model's config files and installed packages only: nothing is imported or loaded)."""
    if find_spec("onnx") is None:
        return "the 'onnx' package is not installed (pip install onnx)"
    if not (model_path / TOKENIZER_FILE).is_file():
        return f"{model_path} has no {TOKENIZER_FILE}"
    try:
        modules = json.loads((model_path / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = next((m["path"] for m in modules if m["type"].endswith("Pooling")), None)
        pool_cfg = json.loads((model_path / pooling / "config.json").read_text(encoding="utf-8")) if pooling else {}
    except (OSError, ValueError, KeyError) as exc:
        return f"cannot read the model's module list ({exc})"
    mean = pool_cfg.get("pooling_mode_mean_tokens") or pool_cfg.get("pooling_mode") == "mean"
    if kinds[:1] != ["Transformer"] or not mean or any(k not in ("Transformer", "Pooling", "Normalize") for k in kinds):
        return f"only transformer + mean pooling models are exported (this one is {' + '.join(kinds)})"
    return None


def max_seq_length(model_path: Path) -> int:
    try:
        cfg = json.loads((model_path / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(cfg.get("max_seq_length") or 256)
    except (OSError, ValueError):
        return 256


def export_onnx(model_path: Path, folder: Path, *, int8: bool, model_id: str) -> Path:
    """Export the sentence-transformers model at ``model_path`` into ``folder`` (build time: this
    imports torch). Returns ``folder``."""
    import torch

    from chatbot.embeddings import load_sentence_transformer

    st = load_sentence_transformer(model_path, threads=0)
    transformer = st[0].auto_model.eval()

    class Sentence(torch.nn.Module):  # transformer → mean pooling → L2 norm, as sentence-transformers does
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            out = self.transformer(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            mask = attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype)
            pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    folder.mkdir(parents=True, exist_ok=True)
    sample = st[0].tokenizer(["an example sentence", "two"], return_tensors="pt", padding=True)
    axes = {"batch": 0, "tokens": 1}
    with tempfile.TemporaryDirectory(prefix="onnx-export-") as tmp:
        fp32 = Path(tmp) / MODEL_FILE
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Sentence().eval(),
                tuple(sample[name] for name in INPUTS),
                str(fp32),
                dynamo=False,  # the TorchScript exporter needs no onnxscript and handles BERT fine
                input_names=list(INPUTS),
                output_names=["embedding"],
                dynamic_axes={**{name: {v: k for k, v in axes.items()} for name in INPUTS}, "embedding": {0: "batch"}},
                opset_version=17,
            )
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            root = logging.getLogger()
            was, root.disabled = root.disabled, True  # it logs a pre-processing hint on the root logger
            try:
                # per-channel weights: median cosine to the fp32 model 0.993 (per-tensor: 0.968)
                quantize_dynamic(str(fp32), str(folder / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True)
            finally:
                root.disabled = was
        else:
            shutil.copyfile(fp32, folder / MODEL_FILE)
    shutil.copyfile(model_path / TOKENIZER_FILE, folder / TOKENIZER_FILE)
    meta = {"model_id": model_id, "int8": int8, "max_seq_length": max_seq_length(model_path), "inputs": list(INPUTS)}
    (folder / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    log.info("Exported %s to ONNX%s in %s", model_id, " (int8)" if int8 else "", folder)
    return folder


def read_meta(folder: Path) -> dict[str, Any]:
    return json.loads((folder / META_FILE).read_text(encoding="utf-8"))


class OnnxEmbedder:
    """Normalised MiniLM vectors from an exported folder; recent queries are cached."""

    def __init__(self, folder: Path, threads: int = 1) -> None:
        self.folder = Path(folder)
        for name in (META_FILE, MODEL_FILE, TOKENIZER_FILE):
            if not (self.folder / name).is_file():
                raise FileNotFoundError(f"the ONNX embedder in {self.folder} has no {name}")
        meta = read_meta(self.folder)
        self.model_id: str = meta["model_id"]
        self.max_length = int(meta.get("max_seq_length", 256))
        self.threads = threads
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    @cached_property
    def _tokenizer(self):  # type: ignore[no-untyped-def]
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        tok.enable_truncation(self.max_length)
        tok.no_padding()
        return tok

    @cached_property
    def _session(self):  # type: ignore[no-untyped-def]
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - installed with chromadb
            raise ConfigError("onnxruntime is not installed: pip install onnxruntime.") from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(0, self.threads)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        return ort.InferenceSession(str(self.folder / MODEL_FILE), opts, providers=["CPUExecutionProvider"])

    def load(self) -> OnnxEmbedder:
        """Open the tokenizer and the session now (a server does it once at start)."""
        _ = self._tokenizer, self._session
        return self

    @property
    def dimension(self) -> int:
        return len(self._encode_one("dimension"))

    def _encode_one(self, text: str) -> list[float]:
        import numpy as np

        enc = self._tokenizer.encode(text)
        feed = {
            "input_ids": np.asarray([enc.ids], dtype=np.int64),
            "attention_mask": np.asarray([enc.attention_mask], dtype=np.int64),
            "token_type_ids": np.asarray([enc.type_ids], dtype=np.int64),
        }
        return self._session.run(None, feed)[0][0].tolist()

    def embed_documents(self, texts: list[str], show_progress: bool = False, workers: int = 1) -> list[list[float]]:
        """One vector per text, each text run alone; ``workers`` runs go side by side (onnxruntime
        releases the GIL), so a session with one intra-op thread keeps every core busy."""
        if workers <= 1:
            return list(progress(map(self._encode_one, texts), len(texts), "embedding", show_progress))
        with ThreadPoolExecutor(workers, thread_name_prefix="embed") as pool:
            return list(progress(pool.map(self._encode_one, texts), len(texts), "embedding", show_progress))

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            if text in self._cache:
                self._cache.move_to_end(text)
                return self._cache[text]
        vec = self._encode_one(text)  # outside the lock: onnxruntime sessions are thread-safe
        with self._lock:
            self._cache[text] = vec
            if len(self._cache) > QUERY_CACHE_SIZE:
                self._cache.popitem(last=False)
        return vec

    def clear_cache(self) -> None:
        """Forget the cached query vectors."""
        with self._lock:
            self._cache.clear()
