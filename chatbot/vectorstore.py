"""The dense vector store behind a small protocol: Chroma embedded (default) or a Chroma server.

Vectors are always computed by our own embedder and passed in; Chroma's default embedding
function (which downloads a model) is never used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from chatbot.errors import ConfigError, IndexBuildError
from chatbot.settings import Settings
from chatbot.types import Passage

# Seconds to wait for a Chroma server's heartbeat before giving up (the Chroma client itself
# never times out, so a server that accepts connections but does not answer would hang it).
SERVER_PROBE_TIMEOUT_S = 5.0


class VectorStoreUnavailable(IndexBuildError):
    """The Chroma server named by CHATBOT_CHROMA_URL cannot be reached: rebuilding will not help."""


class VectorStore(Protocol):
    def add(self, passages: list[Passage], vectors: list[list[float]]) -> None: ...

    def count(self) -> int: ...

    def query(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        """(passage id, cosine similarity), best first."""
        ...


def chroma_client(settings: Settings, path: Path | None):  # type: ignore[no-untyped-def]
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"CHATBOT_CHROMA_URL={settings.chroma_url!r} is not a URL like http://127.0.0.1:8000.")
        port = url.port or (443 if url.scheme == "https" else 8000)
        netloc = f"[{url.hostname}]" if ":" in url.hostname else url.hostname  # IPv6 literal
        _probe_server(settings.chroma_url, f"{url.scheme}://{netloc}:{port}/api/v2/heartbeat")
        try:
            return chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
            )
        except ValueError as exc:  # chromadb reports connection failures as ValueError
            raise VectorStoreUnavailable(
                f"Cannot use the Chroma server at CHATBOT_CHROMA_URL={settings.chroma_url}: {exc}"
            ) from exc
    if path is None:
        raise ConfigError("Embedded Chroma needs a folder.")
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def _probe_server(configured: str, heartbeat_url: str) -> None:
    """Fail fast, with the setting's name, when the Chroma server is down or does not answer."""
    import httpx

    try:
        httpx.get(heartbeat_url, timeout=SERVER_PROBE_TIMEOUT_S).raise_for_status()
    except httpx.TimeoutException as exc:
        raise VectorStoreUnavailable(
            f"The Chroma server at CHATBOT_CHROMA_URL={configured} did not answer within "
            f"{SERVER_PROBE_TIMEOUT_S:g} s. Check that it is running, or unset CHATBOT_CHROMA_URL "
            "to use the embedded store."
        ) from exc
    except httpx.HTTPError as exc:
        raise VectorStoreUnavailable(
            f"Cannot reach the Chroma server at CHATBOT_CHROMA_URL={configured} ({exc.__class__.__name__}: "
            f"{exc}). Start it (chroma run --path <folder> --port <port>) or unset CHATBOT_CHROMA_URL "
            "to use the embedded store."
        ) from exc


class ChromaStore:
    def __init__(self, client, name: str, create: bool) -> None:  # type: ignore[no-untyped-def]
        self.name = name
        if create:
            self.collection = client.create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        else:
            self.collection = client.get_collection(name, embedding_function=None)

    def add(self, passages: list[Passage], vectors: list[list[float]]) -> None:
        for i in range(0, len(passages), 256):
            batch = passages[i : i + 256]
            self.collection.add(
                ids=[p.id for p in batch],
                embeddings=vectors[i : i + 256],
                documents=[p.text for p in batch],
                metadatas=[p.metadata() for p in batch],
            )

    def count(self) -> int:
        return int(self.collection.count())

    def query(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        k = max(1, min(k, self.count_cached))
        res = self.collection.query(query_embeddings=[vector], n_results=k, include=["distances"])
        return [(pid, 1.0 - float(d)) for pid, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    @property
    def count_cached(self) -> int:
        if not hasattr(self, "_count"):
            self._count = self.count()
        return self._count


def open_vector_store(settings: Settings, path: Path, name: str, create: bool) -> VectorStore:
    if not settings.chroma_url and not create and not path.is_dir():
        raise IndexBuildError(f"Chroma folder {path} is missing")
    return ChromaStore(chroma_client(settings, path), name, create)
