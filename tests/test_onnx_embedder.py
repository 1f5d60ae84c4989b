"""The torch-free query path: the ONNX export gives sentence-transformers' vectors, the index's
documents and its queries come from the same variant, and serving never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chatbot.embeddings import SentenceTransformerEmbedder, plan_embedder
from chatbot.errors import IndexBuildError
from chatbot.index import IndexManager, _sentence_text
from chatbot.onnx_embedder import OnnxEmbedder, export_onnx, export_supported
from chatbot.settings import PROJECT_ROOT, Settings
from conftest import make_settings

# Measured on eval/questions.jsonl (one text per run): int8 (per-channel weights) against the fp32
# model, cosine min 0.987, median 0.993. Per-tensor int8 gave min 0.946, torch's dynamic int8 0.904.
INT8_MIN_COSINE = 0.98
HEAVY = ("torch", "sentence_transformers", "transformers")


def suite_questions() -> list[str]:
    out = []
    for line in (PROJECT_ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.extend(json.loads(line)["turns"])
    return out


@pytest.fixture(scope="module")
def reference() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder("packaged", threads=1, quantize=False)


@pytest.fixture(scope="module")
def onnx_fp32(tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    plan = plan_embedder(Settings(embedding_int8=False))
    assert plan.backend == "onnx" and plan.model_id.endswith("+onnx")
    folder = export_onnx(plan.model_path, tmp_path_factory.mktemp("fp32") / "embedder", int8=False, model_id=plan.model_id)
    return OnnxEmbedder(folder)


def cosines(a: list[list[float]], b: list[list[float]]) -> np.ndarray:
    return (np.asarray(a) * np.asarray(b)).sum(axis=1)


def test_onnx_export_gives_sentence_transformers_vectors(onnx_fp32, reference) -> None:  # type: ignore[no-untyped-def]
    qs = suite_questions()
    assert len(qs) > 50
    article = next((PROJECT_ROOT / "corpus").glob("*.txt")).read_text(encoding="utf-8")
    qs += [article[:4000], article[4000:6000]]  # longer than the 256-token window: truncated alike
    cos = cosines([onnx_fp32.embed_query(q) for q in qs], [reference.embed_query(q) for q in qs])
    assert cos.min() >= 0.999, f"worst question: {qs[int(cos.argmin())]!r} cosine {cos.min():.5f}"


def test_int8_export_stays_close_to_the_model(embedder, reference) -> None:  # type: ignore[no-untyped-def]
    assert embedder.model_id.endswith("+onnx-int8")
    qs = suite_questions()
    cos = cosines([embedder.embed_query(q) for q in qs], [reference.embed_query(q) for q in qs])
    assert cos.min() >= INT8_MIN_COSINE and np.median(cos) >= 0.99


def test_stored_vectors_come_from_the_query_variant(bot) -> None:  # type: ignore[no-untyped-def]
    """A stored sentence vector equals the query vector of the same sentence (a table row's, of its
    table): one variant, both sides."""
    index = bot.index
    assert index.embedder.model_id == index.manifest.model_id
    sentences = [_sentence_text(p, s) for p in index.passages for s in p.sentences]
    rows = [row for row, (p, _) in enumerate((p, s) for p in index.passages for s in p.sentences) if p.kind == "table"]
    assert rows  # the article has a table
    for row in (0, len(sentences) // 2, len(sentences) - 1, rows[0], rows[-1]):
        stored = np.asarray(index.sentence_vectors[row])
        assert float(stored @ np.asarray(index.embedder.embed_query(sentences[row]))) > 0.99999
    assert not index.sentence_vectors.flags.writeable  # memory-mapped, read-only


def test_index_is_read_once_per_load(bot, settings: Settings, embedder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls = []
    real = IndexManager._open

    def counting(self, manifest):  # type: ignore[no-untyped-def]
        calls.append(manifest.model_id)
        return real(self, manifest)

    monkeypatch.setattr(IndexManager, "_open", counting)
    IndexManager(settings, embedder).load()
    assert len(calls) == 1


def test_a_missing_export_is_rebuilt(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path)
    mgr = IndexManager(settings, embedder)
    mgr.load()
    (settings.index_dir / "current" / "embedder" / "model.onnx").unlink()
    with pytest.raises(IndexBuildError, match="ONNX export"):
        mgr._open(mgr.read_manifest())  # type: ignore[arg-type]
    loaded = mgr.load()
    assert (loaded.root / "embedder" / "model.onnx").is_file()


def test_a_model_that_cannot_be_exported_falls_back_to_sentence_transformers(tmp_path: Path) -> None:
    model = tmp_path / "cls-model"
    (model / "1_Pooling").mkdir(parents=True)
    (model / "config.json").write_text("{}")
    (model / "tokenizer.json").write_text("{}")
    (model / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]))
    (model / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    assert "mean pooling" in (export_supported(model) or "")
    plan = plan_embedder(Settings(embedding_model=str(model)))
    assert plan.backend == "torch" and plan.model_id.endswith("+int8") and "sentence-transformers" in plan.note
    assert plan_embedder(Settings(embedding_backend="torch", embedding_int8=False)).model_id.count("+") == 0


PROBE = """
import json, sys
from fastapi.testclient import TestClient
from chatbot.cli import main
assert main(["ask", "What were US exports to Azerbaijan in 2024?", "--json"]) == 0
from chatbot.bot import Chatbot
from chatbot.web.server import create_app
bot = Chatbot.load()
client = TestClient(create_app(bot, ui={ui}))
r = client.post("/api/ask", json={{"question": "What did the US import from Azerbaijan in 2023?"}})
assert r.status_code == 200, r.text
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})))
"""


@pytest.mark.slow
@pytest.mark.parametrize("ui", [False, True])
def test_serving_never_imports_torch(bot, settings: Settings, ui: bool) -> None:  # type: ignore[no-untyped-def]
    """`chatbot ask`, the JSON API (and the Gradio UI) in a fresh process: no torch in sys.modules."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATBOT_")}
    env.update(
        CHATBOT_INDEX_DIR=str(settings.index_dir),
        CHATBOT_CORPUS_DIR=str(settings.corpus_dir),
        CHATBOT_DATA_DIR=str(settings.data_dir),
        CHATBOT_LOG_LEVEL="WARNING",
        HF_HUB_OFFLINE="1",
        GRADIO_ANALYTICS_ENABLED="False",
        PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(ui=ui, heavy=set(HEAVY))],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rebuilding" not in proc.stderr and "corpus, model or backend changed" not in proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_importing_the_entry_points_loads_no_model_and_no_ui() -> None:
    code = (
        "import sys, json; import chatbot.cli, chatbot.bot, chatbot.web.server; "
        "print(json.dumps(sorted(m for m in ('torch', 'gradio', 'onnxruntime', 'chromadb', 'sentence_transformers') if m in sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout) == []


@pytest.mark.parametrize("variant", ["int8", "fp32"])
def test_documents_embedded_in_batches_get_their_query_vectors(variant: str, embedder, onnx_fp32) -> None:  # type: ignore[no-untyped-def]
    """Batches of same-length texts through the per-row graph give each text's lone vector, bit for bit,
    whatever the batch's size and the number of cores (so an incremental build equals a full one)."""
    model = embedder if variant == "int8" else onnx_fp32
    fresh = OnnxEmbedder(model.folder, threads=1)
    assert fresh._batch_session is not None  # the per-row graph is used, not the one-text fallback
    texts = suite_questions()
    lengths = [len(fresh._tokenizer.encode(t).ids) for t in texts]
    assert max(lengths.count(n) for n in set(lengths)) >= 3  # some batches hold several texts
    alone = np.asarray([fresh.embed_query(t) for t in texts])
    for workers in (1, 2):
        assert np.array_equal(np.asarray(fresh.embed_documents(texts, workers=workers)), alone)
    assert np.array_equal(np.asarray(fresh.embed_documents(texts[:7], workers=2)), alone[:7])  # other batches
