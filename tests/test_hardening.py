"""Edges found by fuzzing and fault injection, through FastAPI's TestClient with the real chain:
error shapes and statuses, the readiness probe, leases on builds in use, background reload."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chatbot.errors import IndexBuildError
from chatbot.index import IndexManager, leased
from chatbot.vectorstore import check_hnsw_files
from chatbot.web.guards import TokenBuckets
from chatbot.web.server import create_app
from conftest import make_settings

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def client(bot, settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    with TestClient(create_app(bot, settings.replace(data_dir=tmp_path / "data"), ui=False), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("path,body", [
    ("/api/ask", '{"question": "imports", "history": [{"role": "user", "content": "\\udc80"}]}'),
    ("/api/feedback", '{"question": "q", "answer": "a", "vote": "up", "citations": [{"quote": "\\ud800"}]}'),
    ("/api/feedback", '{"question": "q", "answer": "a", "vote": "up", "citations": [{"\\ud800": 1}]}'),
    ("/api/feedback", '{"question": "q", "answer": "a", "vote": "up", "comment": "\\ud800"}'),
])
def test_unpaired_surrogates_are_422_in_every_text_field(client: TestClient, path: str, body: str) -> None:
    r = client.post(path, content=body, headers=JSON)
    assert r.status_code == 422 and "not valid text" in r.json()["error"], r.text


@pytest.mark.parametrize("body", [b'{"question": "\xff\xfe imports"}', b"[" * 5000 + b"]" * 5000])
def test_invalid_utf8_and_deep_json_are_422(client: TestClient, body: bytes) -> None:
    r = client.post("/api/ask", content=body, headers=JSON)
    assert r.status_code == 422 and "error" in r.json(), r.text


@pytest.mark.parametrize("method,path,allow", [
    ("GET", "/api/ask", "POST"), ("DELETE", "/api/health", "GET, HEAD"), ("PUT", "/api/feedback", "POST"),
])
def test_wrong_method_is_405_in_the_error_shape(client: TestClient, method: str, path: str, allow: str) -> None:
    r = client.request(method, path)
    assert r.status_code == 405 and r.headers["Allow"] == allow and set(r.json()) == {"error"}


def test_openapi_lists_the_error_statuses_and_min_length(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ask = spec["paths"]["/api/ask"]["post"]["responses"]
    assert {"401", "405", "413", "422", "429", "503"} <= set(ask)
    assert "Retry-After" in ask["503"]["headers"]
    assert spec["components"]["schemas"]["AskRequest"]["properties"]["question"]["minLength"] == 1
    assert "503" in spec["paths"]["/api/health"]["get"]["responses"]


def test_health_probes_each_backend(client: TestClient) -> None:
    h = client.get("/api/health").json()
    assert h["status"] == "ok" and h["failed"] == {}
    assert set(h["checks"]) == {"embedder", "vector_store", "bm25", "facts"}
    assert all(v.startswith("ok") for v in h["checks"].values())


def test_health_names_the_failed_component_with_503(bot, settings, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from chatbot.vectorstore import VectorStoreUnavailable

    def down(*a, **k):  # type: ignore[no-untyped-def]
        raise VectorStoreUnavailable("The Chroma server at http://127.0.0.1:9 did not answer within 1 s.")

    monkeypatch.setattr(bot.index.vectors, "query", down)
    monkeypatch.setattr(bot, "_health", None)
    with TestClient(create_app(bot, settings.replace(data_dir=tmp_path / "d"), ui=False), raise_server_exceptions=False) as c:
        r = c.get("/api/health")
        assert r.status_code == 503 and r.headers["Retry-After"].isdigit()
        assert r.json()["status"] == "unavailable" and "vector_store" in r.json()["failed"]
        a = c.post("/api/ask", json={"question": "What is the capital of France?"})
        assert a.status_code == 503 and "did not answer" in a.json()["error"] and "Retry-After" in a.headers
    monkeypatch.setattr(bot, "_health", None)


def test_token_buckets_limit_one_key_and_refill() -> None:
    b = TokenBuckets(per_minute=60, burst=2)
    assert b.take("a", 0.0) == 0 and b.take("a", 0.0) == 0
    assert b.take("a", 0.0) == pytest.approx(1.0)
    assert b.take("b", 0.0) == 0  # another client is unaffected
    assert b.take("a", 1.5) == 0  # refilled


def test_a_leased_build_survives_two_rebuilds_and_the_bot_switches(fresh, embedder) -> None:  # type: ignore[no-untyped-def]
    from chatbot.bot import Chatbot

    own = fresh
    bot = Chatbot.load(own, warm=False, embedder=embedder)
    first = bot.index.root
    assert leased(first)
    mgr = IndexManager(own, embedder)
    mgr.build()
    mgr.build()
    assert first.is_dir() and bot.ask("What were imports in 2024?").citations  # still answering from it
    assert bot.reload() and bot.index.root == mgr.current_build() != first
    assert not leased(first)
    mgr.build()  # now it may go
    assert not first.exists()


def test_a_build_that_cannot_load_keeps_the_last_good_one(fresh, embedder) -> None:  # type: ignore[no-untyped-def]
    from chatbot.bot import Chatbot

    own = fresh
    bot = Chatbot.load(own, warm=False, embedder=embedder)
    good = bot.index.root
    mgr = IndexManager(own, embedder)
    mgr.build()
    (mgr.current_build() / "passages.json").write_text("{", encoding="utf-8")  # type: ignore[operator]
    assert not bot.reload()
    assert bot.index.root == good and bot.ask("What were imports in 2024?").citations


def test_truncated_hnsw_file_is_detected_at_load(tmp_path: Path, settings, embedder) -> None:  # type: ignore[no-untyped-def]
    IndexManager(settings, embedder).load()
    chroma = tmp_path / "chroma"
    shutil.copytree(IndexManager(settings).current_build() / "chroma", chroma)  # type: ignore[operator]
    check_hnsw_files(chroma)
    (data,) = chroma.glob("*/data_level0.bin")
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(IndexBuildError, match="truncated"):
        check_hnsw_files(chroma)


def test_an_unreadable_corpus_file_keeps_the_last_good_index_serving(tmp_path: Path, settings, embedder) -> None:  # type: ignore[no-untyped-def]
    from chatbot.bot import Chatbot

    IndexManager(settings, embedder).load()
    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    own = make_settings(tmp_path / "own", corpus=corpus)
    shutil.copytree(settings.index_dir, own.index_dir, symlinks=True)
    good = IndexManager(own).current_build()
    (corpus / "broken.txt").write_bytes(b"Valid start \xff\xfe\xfa then not UTF-8")
    bot = Chatbot.load(own, warm=False, embedder=embedder)
    assert bot.ask("What were imports in 2024?").citations
    assert bot.index.root == good or "broken" not in bot.index.documents  # skipped, or the last good build
