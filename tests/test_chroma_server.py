"""Server mode: a real Chroma server (``chroma run``) on 127.0.0.1, the real model, the real bot.

Also: a dead or silent server URL fails fast with a message naming CHATBOT_CHROMA_URL, before any
embedding work, instead of hanging or rebuilding.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest

from chatbot import vectorstore
from chatbot.bot import Chatbot
from chatbot.errors import ChatbotError
from chatbot.index import IndexManager
from chatbot.types import Passage
from chatbot.vectorstore import ChromaStore, VectorStoreUnavailable, copy_vectors, open_vector_store
from conftest import free_port, make_settings

pytestmark = pytest.mark.server

HOST = "127.0.0.1"  # the only host these tests ever talk to


@contextmanager
def chroma_server(folder: Path) -> Iterator[tuple[str, subprocess.Popen]]:  # type: ignore[type-arg]
    """Start ``chroma run`` on a free local port; stop it (terminate, then kill) on exit."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    exe = Path(sys.executable).parent / "chroma"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "chromadb.cli.cli"]
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "server.log"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "CHROMA_TELEMETRY": "False"}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*cmd, "run", "--path", str(folder / "data"), "--host", HOST, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, f"chroma run exited:\n{log_path.read_text()[-3000:]}"
                try:
                    if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"no heartbeat:\n{log_path.read_text()[-3000:]}"
                time.sleep(0.2)
            yield url, proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=20)


def http_client(url: str):  # type: ignore[no-untyped-def]
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    port = int(url.rsplit(":", 1)[1])
    return chromadb.HttpClient(host=HOST, port=port, settings=ChromaSettings(anonymized_telemetry=False))


def test_index_search_and_ask_through_a_chroma_server(  # type: ignore[no-untyped-def]
    tmp_path: Path, embedder, embed_calls: list[int]
) -> None:
    with chroma_server(tmp_path / "server") as (url, proc):
        settings = make_settings(tmp_path / "site", chroma_url=url)
        mgr = IndexManager(settings, embedder)
        built, _ = mgr.ensure()
        assert built and len(embed_calls) == 1
        m = mgr.read_manifest()
        assert m is not None and m.vector_backend == url
        build = mgr.current.resolve()
        # No embedded store anywhere in the build: the vectors live on the server.
        assert not (build / "chroma").exists()
        assert not list(settings.index_dir.rglob("chroma.sqlite3"))

        client = http_client(url)
        names = [c.name for c in client.list_collections()]
        assert m.collection in names
        assert client.get_collection(m.collection).count() == m.passages

        # Loading is free (nothing rebuilt) and both retrievers answer through the server.
        bot = Chatbot.load(settings, embedder=embedder)
        assert len(embed_calls) == 1
        assert bot.index.root == build
        hits = bot.search("How large was trade turnover in 2024?", 4)
        assert hits
        assert any(h.dense_rank is not None for h in hits)
        assert any(h.bm25_rank is not None for h in hits)
        assert any(h.passage.kind == "table" for h in hits)
        assert bot.health()["vector_backend"] == url
        ans = bot.ask("Which companies took part in the business mission?")
        assert not ans.abstained and ans.citations
        doc = bot.index.documents["us-azerbaijan-trade"]
        for c in ans.citations:
            assert doc.text[c.start : c.end] == c.quote

        # A rebuild makes a new collection; the replaced one stays while a live process has it loaded
        # (here: ``bot``), and once that process has switched, the next rebuild deletes it.
        built, reason = mgr.ensure(rebuild=True)
        assert built and reason == "rebuild requested"
        m2 = mgr.read_manifest()
        assert m2 is not None and m2.collection != m.collection
        names = [c.name for c in client.list_collections()]
        assert m.collection in names and m2.collection in names
        assert client.get_collection(m2.collection).count() == m2.passages
        assert bot.ask("Who led the delegation?").citations  # a process still on the old build keeps answering
        assert mgr.ensure(rebuild=True)[0]
        names = [c.name for c in client.list_collections()]
        assert m.collection in names and m2.collection in names  # bot still answers from the first build
        assert bot.ask("Who led the delegation?").citations
        assert bot.reload() and bot.index.root == mgr.current.resolve()
        assert mgr.ensure(rebuild=True)[0]
        names = [c.name for c in client.list_collections()]
        assert m.collection not in names and m2.collection not in names
        assert len(list(mgr.builds.iterdir())) == 2

        # The server goes away: loading fails fast and clearly, and keeps the index as it is.
        stop(proc)
        current = mgr.current.resolve()
        calls = len(embed_calls)
        t0 = time.monotonic()
        with pytest.raises(VectorStoreUnavailable) as info:
            Chatbot.load(settings, embedder=embedder)
        assert time.monotonic() - t0 < 30
        assert "CHATBOT_CHROMA_URL" in str(info.value) and url in str(info.value)
        assert len(embed_calls) == calls  # no rebuild attempt
        assert mgr.current.resolve() == current


def test_copy_vectors_moves_an_embedded_store_to_a_server_as_stored(tmp_path: Path) -> None:
    """An embedded build's records reach a server collection in batches: the same ids, texts and
    metadata, the same vectors (up to the last float bit: a cosine collection normalises each vector
    it is given, already unit or not), and the server then finds them: no re-embedding needed."""
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((2_345, 384)).astype(np.float32)  # 3 batches of 1,000, the last one partial
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    passages = [Passage(id=f"doc{i % 7}-{i:05d}", doc_id=f"doc{i % 7}", section=f"Section {i % 3}", text=f"Passage number {i}.",
                        start=i * 20, end=i * 20 + 18, kind="table" if i % 5 == 0 else "text") for i in range(len(vectors))]
    source = open_vector_store(make_settings(tmp_path / "site"), tmp_path / "chroma", "copy-source", create=True)
    source.add(passages, vectors)
    with chroma_server(tmp_path / "server") as (url, _proc):
        server = make_settings(tmp_path / "site", chroma_url=url, chroma_timeout_s=60.0)  # a batch of 1,000 on a busy machine
        target = open_vector_store(server, tmp_path / "unused", "copy-target", create=True)
        assert isinstance(source, ChromaStore) and isinstance(target, ChromaStore)

        assert copy_vectors(source, target, batch=1_000) == len(passages)

        assert target.count() == len(passages)
        ids = [p.id for p in passages]
        stored = target.collection.get(ids=ids, include=["embeddings", "documents", "metadatas"])
        kept = source.collection.get(ids=ids, include=["embeddings"])
        order = {pid: i for i, pid in enumerate(stored["ids"])}
        before = {pid: i for i, pid in enumerate(kept["ids"])}
        assert sorted(order) == sorted(ids)
        for p, v in zip(passages, vectors, strict=True):
            i = order[p.id]
            copied = np.asarray(stored["embeddings"][i], dtype=np.float32)
            assert np.allclose(copied, np.asarray(kept["embeddings"][before[p.id]], dtype=np.float32), rtol=0, atol=1e-6)
            assert np.allclose(copied, v, rtol=0, atol=1e-6)
            assert stored["documents"][i] == p.text
            assert stored["metadatas"][i] == p.metadata()
        for i in (0, 1_000, 2_344):  # first, a batch boundary, last
            best, similarity = target.query(vectors[i].tolist(), 3)[0]
            assert best == passages[i].id and similarity > 0.999


def test_dead_server_url_gives_a_clear_error(  # type: ignore[no-untyped-def]
    tmp_path: Path, embedder, embed_calls: list[int]
) -> None:
    url = f"http://{HOST}:{free_port()}"  # nothing listens there
    settings = make_settings(tmp_path, chroma_url=url)
    t0 = time.monotonic()
    with pytest.raises(ChatbotError) as info:
        Chatbot.load(settings, embedder=embedder)
    assert time.monotonic() - t0 < 30
    message = str(info.value)
    assert "CHATBOT_CHROMA_URL" in message and url in message
    assert embed_calls == []  # failed before any embedding work
    builds = settings.index_dir / "builds"
    assert not builds.exists() or not any(builds.iterdir())


def test_silent_server_does_not_hang(  # type: ignore[no-untyped-def]
    tmp_path: Path, embedder, embed_calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A port that accepts connections but never answers (the Chroma client has no timeout)."""
    monkeypatch.setattr(vectorstore, "SERVER_PROBE_TIMEOUT_S", 1.0)
    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen(16)
        url = f"http://{HOST}:{silent.getsockname()[1]}"
        mgr = IndexManager(make_settings(tmp_path, chroma_url=url), embedder)
        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                mgr.ensure()
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                outcome.append(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), "IndexManager.ensure() hangs on a silent Chroma server"
    assert isinstance(outcome[0], ChatbotError)
    assert "CHATBOT_CHROMA_URL" in str(outcome[0]) and url in str(outcome[0])
    assert "did not answer" in str(outcome[0])
    assert embed_calls == []


def test_malformed_server_url_is_a_config_error(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from chatbot.errors import ConfigError

    settings = make_settings(tmp_path, chroma_url="127.0.0.1:8000")
    with pytest.raises(ConfigError, match="CHATBOT_CHROMA_URL"):
        IndexManager(settings, embedder).ensure()
