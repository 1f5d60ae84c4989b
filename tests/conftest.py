"""Shared fixtures. Nothing a test does writes into the repository: index and data folders
point at temporary folders. The real embedding model and a real Chroma store are used."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("CHATBOT_PROGRESS", "0")

from chatbot.index import IndexManager  # noqa: E402
from chatbot.settings import PROJECT_ROOT, Settings  # noqa: E402

DATA = Path(__file__).parent / "data"
CORPUS = PROJECT_ROOT / "corpus"
CHROMIUM = os.environ.get("CHATBOT_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every CHATBOT_* folder points at this test's temporary folder."""
    for key in list(os.environ):
        if key.startswith("CHATBOT_") and key not in ("CHATBOT_PROGRESS", "CHATBOT_CHROMIUM"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CHATBOT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CHATBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))


@pytest.fixture(scope="session")
def embedder(session_dir: Path):  # type: ignore[no-untyped-def]
    """The default query embedder (the ONNX export, int8), exported once per session: every index
    built by the tests copies this export, as the product's own builds do."""
    from chatbot.embeddings import plan_embedder
    from chatbot.onnx_embedder import OnnxEmbedder, export_onnx

    plan = plan_embedder(Settings())
    assert plan.backend == "onnx", plan.note
    folder = export_onnx(plan.model_path, session_dir / "onnx-export", int8=plan.int8, model_id=plan.model_id)
    return OnnxEmbedder(folder, threads=1)


@pytest.fixture
def embed_calls(embedder, monkeypatch: pytest.MonkeyPatch) -> list[int]:  # type: ignore[no-untyped-def]
    """Counts the real embedder's document-embedding calls (number of texts per call)."""
    calls: list[int] = []
    real = embedder.embed_documents

    def counting(texts, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(embedder, "embed_documents", counting)
    return calls


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("session")


def make_settings(root: Path, corpus: Path = CORPUS, **kw) -> Settings:  # type: ignore[no-untyped-def]
    return Settings.from_env(
        env={}, env_file=root / "none.env", corpus_dir=corpus, index_dir=root / "index", data_dir=root / "data", **kw
    )


def bot_of_test_document(session_dir: Path, embedder, filename: str, name: str):  # type: ignore[no-untyped-def]
    """A bot over one document of ``tests/data`` alone, indexed under ``session_dir``."""
    from chatbot.bot import Chatbot

    folder = session_dir / f"{name}-corpus"
    folder.mkdir(exist_ok=True)
    shutil.copy(DATA / filename, folder / filename)
    return Chatbot.load(make_settings(session_dir / name, corpus=folder), embedder=embedder)


@pytest.fixture(scope="session")
def settings(session_dir: Path) -> Settings:
    return make_settings(session_dir / "article")


@pytest.fixture(scope="session")
def bot(settings: Settings, embedder):  # type: ignore[no-untyped-def]
    """The real chatbot over the article (real index, real embeddings), built once per session."""
    from chatbot.bot import Chatbot

    return Chatbot.load(settings, embedder=embedder)


@pytest.fixture(scope="session")
def other_corpus(session_dir: Path) -> Path:
    """A second, unrelated document written for the tests (other table, other entities)."""
    folder = session_dir / "other-corpus"
    folder.mkdir()
    shutil.copy(DATA / "harbor-report.md", folder / "harbor-report.md")
    return folder


@pytest.fixture(scope="session")
def other_bot(session_dir: Path, other_corpus: Path, embedder):  # type: ignore[no-untyped-def]
    from chatbot.bot import Chatbot

    return Chatbot.load(make_settings(session_dir / "other", corpus=other_corpus), embedder=embedder)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):  # type: ignore[no-untyped-def]
    """pytest-playwright drives the system Chromium (Playwright's own download is not used)."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"],
    }


@pytest.fixture
def fresh(tmp_path: Path, settings: Settings, embedder) -> Settings:  # type: ignore[no-untyped-def]
    """A private copy of the session's built index, so a test may rebuild or damage it."""
    own = make_settings(tmp_path / "own")
    IndexManager(settings, embedder).load()  # the session index exists
    shutil.copytree(settings.index_dir, own.index_dir, symlinks=True)
    return own
