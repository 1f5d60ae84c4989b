"""The query-time embedder: the index's own ONNX export of MiniLM, run by onnxruntime + tokenizers.

No torch here. ``export_onnx`` (build time only) turns the sentence-transformers model into one ONNX
graph — transformer, mean pooling over the attention mask, L2 normalisation — optionally int8
through onnxruntime's dynamic quantisation, and writes it with the tokenizer into a folder::

    embedder/model.onnx        the graph (int8 weights when quantised)
    embedder/tokenizer.json    the model's own fast tokenizer
    embedder/embedder.json     model id, max sequence length, variant

``OnnxEmbedder(folder)`` embeds from that folder. A query goes through ``model.onnx`` alone. Documents
are embedded in batches (``embed_documents``) through a second graph made from the same file in
memory, ``per_row_graph``: the int8 export quantises activations dynamically with one scale and zero
point per tensor, so in a plain batch a text's vector would depend on its neighbours (cosine to the
text alone as low as 0.95); the per-row graph computes that scale and zero point for each text of
the batch instead (same arithmetic, integer matrix products corrected for each row's zero point), and
batches hold texts of one token length only, so nothing is padded, and the mean pooling sums each
text's tokens in the same order as for one text alone. A stored vector therefore equals
``embed_query`` of the same text bit for bit, whatever the batch (checked when the graph is made; on a
mismatch, e.g. another onnxruntime, the build falls back to one text per run), so an incremental
build stores the same vectors as a full one. A build uses every core by running batches side by
side, one single-threaded run each (``embed_documents(workers=…)``). Measured on this 2-core machine,
batching saves only ≈ 7 % of the CPU time of one text per run: the work is the matrix products.
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

import numpy as np

from chatbot.errors import ConfigError
from chatbot.progress import progress
from chatbot.resources import TORCH_LOCK

log = logging.getLogger(__name__)

META_FILE = "embedder.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
QUERY_CACHE_SIZE = 512
BATCH_TOKENS = 2048  # a document batch holds at most this many tokens (rows x length)
BATCH_ROWS = 64
PROBE = ("the cat sat on the mat all day", "revenue rose by twelve per cent last year",
         "imports of aircraft doubled in the last year")  # one token length (10) with MiniLM's vocabulary


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
    with TORCH_LOCK:  # not while a spaCy load hides torch (chatbot.resources)
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


def per_row_graph(model: Any) -> Any:
    """``model`` (an ``onnx.ModelProto``, changed in place and returned) made for batches of texts of
    one length whose vectors equal those of each text run alone. Every ``DynamicQuantizeLinear`` is
    made per batch row: each text gets the scale and zero point it would get alone (min and max over
    its own values, including 0, as the operator defines them).

    ``MatMulInteger`` takes one zero point for its whole left input in onnxruntime, so it runs with
    none and the product is corrected per row: (A - zp) @ (W - wz) = A @ (W - wz) - zp * colsum(W - wz),
    exact in int32. The scale goes on as a [batch, 1, 1] tensor into the ``Mul`` nodes that already
    rescale the product. The pooling's sum is rewritten too (``_pool_per_row``), also in the fp32 export.
    Raises ``ValueError`` on a graph whose quantised parts look different from onnxruntime's export."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    users: dict[str, list[tuple[Any, int]]] = {}
    for node in graph.node:
        for k, name in enumerate(node.input):
            users.setdefault(name, []).append((node, k))
    added: list[Any] = []

    def const(name: str, value: Any) -> str:
        added.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    make = helper.make_node
    axes, zero, full, one = (const("rowq/axes", np.array([1, 2], np.int64)), const("rowq/zero", np.float32(0)),
                             const("rowq/255", np.float32(255)), const("rowq/one", np.float32(1)))
    row_zero_point: dict[int, str] = {}  # id(MatMulInteger node) -> its left input's per-row zero point [B, 1, 1]
    nodes: list[Any] = []
    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            nodes.append(node)
            continue
        x, (q, scale, zp) = node.input[0], node.output
        p = f"rowq/{q}"
        nodes += [
            make("Flatten", [x], [f"{p}/flat"], axis=1),
            make("ReduceMin", [f"{p}/flat"], [f"{p}/min0"], axes=[1], keepdims=0),
            make("ReduceMax", [f"{p}/flat"], [f"{p}/max0"], axes=[1], keepdims=0),
            make("Min", [f"{p}/min0", zero], [f"{p}/min"]),
            make("Max", [f"{p}/max0", zero], [f"{p}/max"]),
            make("Sub", [f"{p}/max", f"{p}/min"], [f"{p}/range"]),
            make("Div", [f"{p}/range", full], [f"{p}/scale0"]),
            make("Equal", [f"{p}/max", f"{p}/min"], [f"{p}/flat_row"]),  # an all-zero row: scale 1
            make("Where", [f"{p}/flat_row", one, f"{p}/scale0"], [f"{p}/scale"]),
            make("Div", [f"{p}/min", f"{p}/scale"], [f"{p}/min_q"]),
            make("Neg", [f"{p}/min_q"], [f"{p}/zp0"]),
            make("Clip", [f"{p}/zp0", zero, full], [f"{p}/zp1"]),
            make("Round", [f"{p}/zp1"], [f"{p}/zpf"]),  # half to even, as the operator rounds
            make("Cast", [f"{p}/zpf"], [f"{p}/zp"], to=TensorProto.UINT8),
            make("QuantizeLinear", [x, f"{p}/scale", f"{p}/zp"], [q], axis=0),
            make("Unsqueeze", [f"{p}/scale", axes], [scale]),
            make("Cast", [f"{p}/zpf"], [f"{p}/zpi"], to=TensorProto.INT32),
            make("Unsqueeze", [f"{p}/zpi", axes], [f"{p}/zp3"]),
        ]
        for user, k in users.get(zp, []):
            if user.op_type != "MatMulInteger" or k != 2:
                raise ValueError(f"a dynamic zero point feeds {user.op_type} input {k}")
            row_zero_point[id(user)] = f"{p}/zp3"
    out: list[Any] = []
    for node in nodes:
        if id(node) not in row_zero_point:
            out.append(node)
            continue
        a, b, _, b_zp = (list(node.input) + ["", "", "", ""])[:4]
        if b not in weights or (b_zp and b_zp not in weights):
            raise ValueError(f"MatMulInteger {node.name!r} has no constant weights")
        w = numpy_helper.to_array(weights[b]).astype(np.int64)
        w -= numpy_helper.to_array(weights[b_zp]).astype(np.int64) if b_zp else 0
        colsum = const(f"rowq/colsum/{b}", w.sum(axis=0).astype(np.int32))
        y = node.output[0]
        out += [
            make("MatMulInteger", [a, b, "", b_zp] if b_zp else [a, b], [f"{y}/rowq_raw"], name=node.name),
            make("Mul", [row_zero_point[id(node)], colsum], [f"{y}/rowq_corr"]),
            make("Sub", [f"{y}/rowq_raw", f"{y}/rowq_corr"], [y]),
        ]
    out = _pool_per_row(graph, out, added)
    used = {name for node in out for name in node.input}
    del graph.node[:]
    graph.node.extend(out)
    graph.initializer.extend(a for a in added if a.name in used)
    return model


def _pool_per_row(graph: Any, nodes: list[Any], added: list[Any]) -> list[Any]:
    """``nodes`` with the mean pooling's sum over tokens ([B, T, H] -> [B, H]) taken over a
    [T, B*H] view instead: onnxruntime sums a [B, T, H] tensor in another order when B > 1, so a
    vector would change in its last bits with the batch's size; over [T, B*H] every column is
    summed token after token, as for one text alone."""
    from onnx import helper, numpy_helper

    made = {o: n for n in nodes for o in n.output}
    last = made.get(graph.output[0].name)
    mean = made.get(last.input[0]) if last is not None and last.op_type == "Div" else None
    total = made.get(mean.input[0]) if mean is not None and mean.op_type == "Div" else None
    keepdims = next((a.i for a in total.attribute if a.name == "keepdims"), 1) if total is not None else 1
    if total is None or total.op_type != "ReduceSum" or keepdims != 0:
        raise ValueError("no mean pooling ReduceSum(keepdims=0) before the output's normalisation")
    h, (y,) = total.input[0], total.output
    p = f"rowq/pool/{y}"
    added += [numpy_helper.from_array(np.array([0, -1], np.int64), f"{p}/tokens_first"),
              numpy_helper.from_array(np.array([0], np.int64), f"{p}/axis0"),
              numpy_helper.from_array(np.array([-1], np.int64), f"{p}/rest")]
    make = helper.make_node
    pooled = [
        make("Transpose", [h], [f"{p}/t"], perm=[1, 0, 2]),
        make("Reshape", [f"{p}/t", f"{p}/tokens_first"], [f"{p}/flat"]),
        make("ReduceSum", [f"{p}/flat", f"{p}/axis0"], [f"{p}/sum"], keepdims=0),
        make("Shape", [h], [f"{p}/batch"], start=0, end=1),
        make("Concat", [f"{p}/batch", f"{p}/rest"], [f"{p}/shape"], axis=0),
        make("Reshape", [f"{p}/sum", f"{p}/shape"], [y]),
    ]
    return [m for n in nodes for m in (pooled if n is total else [n])]


def read_meta(folder: Path) -> dict[str, Any]:
    return json.loads((folder / META_FILE).read_text(encoding="utf-8"))


def _open_session(model: str | bytes, threads: int) -> Any:
    """An onnxruntime session on the CPU (``model``: a file path or a serialised graph)."""
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - installed with chromadb
        raise ConfigError("onnxruntime is not installed: pip install onnxruntime.") from exc
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(0, threads)
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


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
        return _open_session(str(self.folder / MODEL_FILE), self.threads)

    @cached_property
    def _batch_session(self):  # type: ignore[no-untyped-def]
        """The per-row graph (``per_row_graph``) for batches of documents, one intra-op thread (a build
        runs several side by side); None when it cannot be made or does not give the lone texts' vectors."""
        import onnx

        try:
            graph = per_row_graph(onnx.load(str(self.folder / MODEL_FILE))).SerializeToString()
            session = _open_session(graph, 1)
        except Exception as exc:  # noqa: BLE001 - an unexpected graph only costs speed
            log.warning("Documents are embedded one text at a time: no per-row batch graph (%s)", exc)
            return None
        encs = self._tokenizer.encode_batch(PROBE)
        same = [e for e in encs if len(e.ids) == len(encs[0].ids)]
        alone = np.concatenate([self._run(self._session, [e]) for e in same])
        batched = [np.concatenate([self._run(session, same[k : k + size]) for k in range(0, len(same), size)]) for size in (1, 2, 3)]
        if len(same) < 3 or not all(np.array_equal(alone, b) for b in batched):
            log.warning("Documents are embedded one text at a time: a batch changed the vectors here")
            return None
        return session

    def load(self) -> OnnxEmbedder:
        """Open the tokenizer and the session now (a server does it once at start)."""
        _ = self._tokenizer, self._session
        return self

    @property
    def dimension(self) -> int:
        return len(self._encode_one("dimension"))

    @staticmethod
    def _run(session: Any, encs: list[Any]) -> np.ndarray:
        """Vectors of tokenised texts of one length (no padding) in one run."""
        feed = {
            "input_ids": np.asarray([e.ids for e in encs], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in encs], dtype=np.int64),
            "token_type_ids": np.asarray([e.type_ids for e in encs], dtype=np.int64),
        }
        return session.run(None, feed)[0]

    def _encode_one(self, text: str) -> list[float]:
        return self._run(self._session, [self._tokenizer.encode(text)])[0].tolist()

    def embed_documents(self, texts: list[str], show_progress: bool = False, workers: int = 1) -> list[list[float]]:
        """One vector per text, equal to its query vector. Texts of one token length go through the
        per-row graph together (at most ``BATCH_TOKENS`` tokens a run); ``workers`` runs go side by
        side (onnxruntime releases the GIL), each with one intra-op thread, so every core is busy."""
        session = self._batch_session if texts else None
        if session is None:
            if workers <= 1:
                return list(progress(map(self._encode_one, texts), len(texts), "embedding", show_progress))
            with ThreadPoolExecutor(workers, thread_name_prefix="embed") as pool:
                return list(progress(pool.map(self._encode_one, texts), len(texts), "embedding", show_progress))
        encs = self._tokenizer.encode_batch(texts)
        by_length: dict[int, list[int]] = {}
        for i, enc in enumerate(encs):
            by_length.setdefault(len(enc.ids), []).append(i)
        batches = []
        for length, rows in sorted(by_length.items(), reverse=True):  # longest first: the slowest start early
            step = max(1, min(BATCH_ROWS, BATCH_TOKENS // length))
            batches += [rows[k : k + step] for k in range(0, len(rows), step)]
        out: list[list[float]] = [[] for _ in texts]

        def run(rows: list[int]) -> list[int]:
            for i, vec in zip(rows, self._run(session, [encs[i] for i in rows]), strict=True):
                out[i] = vec.tolist()
            return rows

        def done(results: Any) -> Any:
            for rows in results:
                yield from rows

        if workers <= 1:
            finished = done(map(run, batches))
            for _ in progress(finished, len(texts), "embedding", show_progress):
                pass
            return out
        with ThreadPoolExecutor(workers, thread_name_prefix="embed") as pool:
            for _ in progress(done(pool.map(run, batches)), len(texts), "embedding", show_progress):
                pass
        return out

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
