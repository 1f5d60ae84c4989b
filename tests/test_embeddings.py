"""The embedding model loads from its local folder only, and the fast query path equals encode()."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chatbot.embeddings import SentenceTransformerEmbedder, resolve_model_path
from chatbot.errors import ConfigError


def test_packaged_model_is_a_local_folder() -> None:
    path = resolve_model_path("packaged")
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()


def test_a_model_name_is_refused_rather_than_downloaded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="never downloaded"):
        resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(ConfigError, match="CHATBOT_EMBEDDING_MODEL"):
        resolve_model_path(str(tmp_path))


@pytest.mark.parametrize("quantize", [False, True])
def test_query_path_equals_encode(quantize: bool) -> None:
    emb = SentenceTransformerEmbedder("packaged", threads=1, quantize=quantize)
    q = "How much did trade turnover grow from 2023 to 2024?"
    fast = np.asarray(emb.embed_query(q))
    ref = emb._model.encode([q], normalize_embeddings=True)[0]
    assert emb._lean_ok
    assert fast.shape == (emb.dimension,)
    assert np.abs(fast - ref).max() < 1e-5
    assert abs(np.linalg.norm(fast) - 1) < 1e-5
    emb.clear_cache()  # the next query is embedded again, to the same vector
    assert np.abs(np.asarray(emb.embed_query(q)) - fast).max() < 1e-6


def test_int8_changes_the_model_id() -> None:
    a = SentenceTransformerEmbedder("packaged", quantize=False).model_id
    b = SentenceTransformerEmbedder("packaged", quantize=True).model_id
    assert a != b and b.endswith("+int8")
