"""The dense vector store behind a small protocol: Chroma embedded (default) or a Chroma server.

Vectors are always computed by our own embedder and passed in; Chroma's default embedding
function (which downloads a model) is never used.
"""

from __future__ import annotations

import concurrent.futures
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import urlparse

import numpy as np

from chatbot.errors import ConfigError, IndexBuildError
from chatbot.settings import Settings
from chatbot.types import Passage

# Seconds to wait for a Chroma server's heartbeat before giving up (the Chroma client itself
# never times out, so a server that accepts connections but does not answer would hang it).
SERVER_PROBE_TIMEOUT_S = 5.0


T = TypeVar("T")

# Store calls run here so that every one of them has a deadline (settings.chroma_timeout_s): the
# Chroma client has none, and a frozen server would otherwise hang the request for good.
_CALLS = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="chroma")


class VectorStoreUnavailable(IndexBuildError):
    """The Chroma server named by CHATBOT_CHROMA_URL cannot be reached: rebuilding will not help."""


class VectorStoreCorrupt(IndexBuildError):
    """The embedded store answers with errors: its files are damaged; a rebuild repairs it."""


class VectorSearch(Protocol):
    """What answering needs of the dense vectors: nearest passages to a query vector."""

    def count(self) -> int: ...

    def query(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        """(passage id, cosine similarity), best first."""
        ...


class VectorStore(VectorSearch, Protocol):
    def add(self, passages: list[Passage], vectors: Sequence[Sequence[float]]) -> None: ...

    def delete(self, ids: list[str]) -> None: ...


class ExactSearch:
    """Exact cosine nearest neighbours over a build's passage vectors (``passages.npy``, one
    normalised row per passage, memory-mapped, read-only). The similarities are computed with
    ``np.einsum``, single-threaded: a threaded BLAS product stalls for milliseconds when the other
    core is busy. The ranking is exact, so it holds whatever an approximate HNSW search finds."""

    def __init__(self, vectors: np.ndarray, ids: Sequence[str]) -> None:
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            raise IndexBuildError(f"the passage vectors have shape {vectors.shape}, not one row per passage ({len(ids)})")
        self.vectors = vectors
        self.ids = list(ids)

    def count(self) -> int:
        return len(self.ids)

    def query(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        sims = np.einsum("ij,j->i", self.vectors, np.asarray(vector, dtype=self.vectors.dtype))
        k = max(1, min(k, len(self.ids)))
        top = np.argpartition(-sims, k - 1)[:k] if k < len(self.ids) else np.arange(len(self.ids))
        top = top[np.lexsort((top, -sims[top]))]  # best first; equal similarities in passage order
        return [(self.ids[i], float(sims[i])) for i in top]


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
            client = chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
            )
            _set_http_timeout(client, settings.chroma_timeout_s)
            return client
        except ValueError as exc:  # chromadb reports connection failures as ValueError
            raise VectorStoreUnavailable(
                f"Cannot use the Chroma server at CHATBOT_CHROMA_URL={settings.chroma_url}: {exc}"
            ) from exc
    if path is None:
        raise ConfigError("Embedded Chroma needs a folder.")
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def _set_http_timeout(client: object, seconds: float) -> None:
    """The Chroma HTTP client builds its httpx session with ``timeout=None``; give it ours so a
    frozen server frees the calling thread too (best effort: the session is not public API)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(seconds)


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
    def __init__(self, client, name: str, create: bool, timeout_s: float = 5.0, where: str = "") -> None:  # type: ignore[no-untyped-def]
        self.name = name
        self.client = client
        self.timeout_s = timeout_s
        self.where = where  # "the Chroma server at …" or "the embedded store in …", for messages
        if create:
            self.collection = client.create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        else:
            self.collection = client.get_collection(name, embedding_function=None)

    def add(self, passages: list[Passage], vectors: Sequence[Sequence[float]]) -> None:
        for i in range(0, len(passages), 256):
            batch = passages[i : i + 256]
            self.collection.add(
                ids=[p.id for p in batch],
                embeddings=np.asarray(vectors[i : i + 256], dtype=np.float32),
                documents=[p.text for p in batch],
                metadatas=[p.metadata() for p in batch],
            )

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 256):
            self.collection.delete(ids=ids[i : i + 256])

    def count(self) -> int:
        return int(self._bounded(self.collection.count))

    def query(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        k = max(1, min(k, self.count_cached))
        res = self._bounded(lambda: self.collection.query(query_embeddings=[vector], n_results=k, include=["distances"]))
        return [(pid, 1.0 - float(d)) for pid, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def _bounded(self, call: Callable[[], T]) -> T:
        """Run one store call with a deadline; failures become domain errors the faces answer with
        503 (server down or frozen) or that trigger a rebuild (damaged embedded files)."""
        future = _CALLS.submit(call)
        try:
            return future.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise VectorStoreUnavailable(
                f"{self.where or 'The vector store'} did not answer within {self.timeout_s:g} s (CHATBOT_CHROMA_TIMEOUT_S)."
            ) from exc
        except VectorStoreUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - chromadb raises many types (httpx, sqlite, its own)
            if self.where.startswith("the Chroma server"):
                raise VectorStoreUnavailable(f"{self.where} failed: {exc.__class__.__name__}: {exc}") from exc
            raise VectorStoreCorrupt(f"{self.where} failed: {exc.__class__.__name__}: {exc}") from exc

    @property
    def count_cached(self) -> int:
        if not hasattr(self, "_count"):
            self._count = self.count()
        return self._count


def copy_vectors(source: ChromaStore, target: ChromaStore, batch: int = 1000) -> int:
    """Copy every record of ``source`` (id, stored vector, text, metadata) into ``target`` in
    batches, without embedding anything again, e.g. an embedded build's store into a Chroma
    server's collection. Returns the number of records copied."""
    ids = source.collection.get(include=[])["ids"]
    size = min(batch, target.client.get_max_batch_size())  # a server caps one call's records
    for i in range(0, len(ids), size):
        part = source.collection.get(ids=ids[i : i + size], include=["embeddings", "documents", "metadatas"])
        target.collection.add(
            ids=part["ids"],
            embeddings=np.asarray(part["embeddings"], dtype=np.float32),
            documents=part["documents"],
            metadatas=part["metadatas"],
        )
    return len(ids)


def open_vector_store(settings: Settings, path: Path, name: str, create: bool) -> VectorStore:
    if not settings.chroma_url and not create:
        if not path.is_dir():
            raise IndexBuildError(f"Chroma folder {path} is missing")
        check_hnsw_files(path)
    where = f"the Chroma server at {settings.chroma_url}" if settings.chroma_url else f"the embedded store in {path}"
    return ChromaStore(chroma_client(settings, path), name, create, settings.chroma_timeout_s, where)


# hnswlib's persisted header as Chroma writes it: format version, offsetLevel0, max_elements,
# cur_element_count, size_data_per_element, … (little-endian).
_HNSW_HEADER = struct.Struct("<iQQQQ")


def check_hnsw_files(chroma_dir: Path) -> None:
    """Detect truncated HNSW segment files at load: each file's size must match what its header
    declares (Chroma itself would only fail, or answer wrongly, at the first query)."""
    for header in chroma_dir.glob("*/header.bin"):
        seg = header.parent
        raw = header.read_bytes()
        if len(raw) < _HNSW_HEADER.size:
            raise IndexBuildError(f"HNSW header {header} is truncated ({len(raw)} bytes)")
        _version, _offset, max_elements, count, per_element = _HNSW_HEADER.unpack_from(raw)
        if count > max_elements:
            raise IndexBuildError(f"HNSW header {header} is damaged ({count} elements > capacity {max_elements})")
        # Chroma writes the whole capacity; plain hnswlib writes only the elements in use.
        for name, unit in (("data_level0.bin", per_element), ("length.bin", 4)):
            f = seg / name
            actual = f.stat().st_size if f.is_file() else -1
            if actual not in (max_elements * unit, count * unit):
                raise IndexBuildError(
                    f"HNSW file {f} is truncated or missing ({actual} bytes, expected {max_elements * unit})"
                )
