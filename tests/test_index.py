"""The index lifecycle with the real model and embedded Chroma: up-to-date checks, rebuild on
corpus change, a build killed half-way, corrupt stores and manifests, and the manifest itself.

One index is built per module (``template``); each test works on its own copy of it (a folder
copy, not a rebuild), so only the tests that must rebuild pay for a build.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatbot.bot import Chatbot
from chatbot.corpus import corpus_hash, load_corpus
from chatbot.corpus_stats import STATS_FILE
from chatbot.index import CURATED_FACTS_FILE, FORMAT_VERSION, IndexManager
from chatbot.settings import PROJECT_ROOT, Settings
from conftest import CORPUS, make_settings

ARTICLE = "us-azerbaijan-trade.txt"
NEW_SENTENCE = "Quillfeather sprockets became a new export line in 2025."


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """A site folder holding a corpus copy and its built index (one full build per module)."""
    root = tmp_path_factory.mktemp("index-template")
    shutil.copytree(CORPUS, root / "corpus")
    built, _ = IndexManager(make_settings(root, corpus=root / "corpus"), embedder).ensure()
    assert built
    return root


@pytest.fixture
def site(template: Path, tmp_path: Path) -> Path:
    """This test's own copy of the template (corpus + built index)."""
    root = tmp_path / "site"
    shutil.copytree(template, root, symlinks=True)
    return root


def site_settings(root: Path, corpus: str = "corpus") -> Settings:
    return make_settings(root, corpus=root / corpus)


def build_id(settings: Settings) -> str:
    """The build ``current`` points at (the link target is relative: builds/<id>)."""
    target = Path(os.readlink(settings.index_dir / "current"))
    assert target.parent == Path("builds")
    return target.name


def manifest_json(settings: Settings) -> dict:  # type: ignore[type-arg]
    return json.loads((settings.index_dir / "current" / "manifest.json").read_text(encoding="utf-8"))


def edit_corpus(folder: Path, sentence: str = NEW_SENTENCE) -> None:
    path = folder / ARTICLE
    text = path.read_text(encoding="utf-8")
    anchor = "ranking 71st globally."
    assert anchor in text
    path.write_text(text.replace(anchor, f"{anchor} {sentence}", 1), encoding="utf-8")


def chatbot_cmd() -> list[str]:
    return [sys.executable, "-m", "chatbot.cli"]  # with PYTHONPATH (cli_env): this checkout's code


def cli_env(root: Path, corpus: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATBOT_")}
    env.update(
        CHATBOT_INDEX_DIR=str(root / "index"),
        CHATBOT_CORPUS_DIR=str(corpus),
        CHATBOT_DATA_DIR=str(root / "data"),
        CHATBOT_PROGRESS="0",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    return env


def chatbot_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("chatbot") and r.levelno >= logging.WARNING]


# ---- (a) nothing to do when up to date ---------------------------------------------------------
def test_second_ensure_does_no_embedding_work(site: Path, embedder, embed_calls: list[int]) -> None:  # type: ignore[no-untyped-def]
    settings = site_settings(site)
    before = build_id(settings)
    mgr = IndexManager(settings, embedder)
    assert mgr.status() == (True, "up to date")
    assert mgr.ensure() == (False, "up to date")
    idx = mgr.load()
    assert embed_calls == []
    assert build_id(settings) == before
    assert idx.root == (settings.index_dir / "builds" / before).resolve()
    assert len(idx.passages) == idx.manifest.passages == idx.vectors.count()


def test_cli_index_twice_is_a_no_op(site: Path) -> None:
    settings = site_settings(site)
    before = build_id(settings)
    mtime = (settings.index_dir / "current" / "manifest.json").stat().st_mtime_ns
    proc = subprocess.run(
        [*chatbot_cmd(), "-v", "index"], env=cli_env(site, site / "corpus"), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "up to date, nothing to do" in proc.stdout
    # With -v the index logs "Embedding N passages ..." at INFO whenever it builds.
    assert "Embedding" not in proc.stderr and "unusable" not in proc.stderr
    assert build_id(settings) == before
    assert (settings.index_dir / "current" / "manifest.json").stat().st_mtime_ns == mtime
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [before]


# ---- (b) a corpus edit triggers a rebuild --------------------------------------------------------
def test_status_notices_every_input_change(site: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Title (sidecar), curated facts file, document text and vector backend are all inputs."""
    corpus = site / "corpus"
    mgr = IndexManager(site_settings(site), embedder)
    assert mgr.status()[0]
    sidecar = corpus / "us-azerbaijan-trade.meta.json"
    original = sidecar.read_text(encoding="utf-8")
    sidecar.write_text(original.replace("trade relations", "trade ties"), encoding="utf-8")
    assert mgr.status() == (False, "corpus, model or backend changed")
    sidecar.write_text(original, encoding="utf-8")
    assert mgr.status()[0]
    curated = corpus / CURATED_FACTS_FILE
    before = curated.read_text(encoding="utf-8") if curated.exists() else None
    curated.write_text((before or "") + "\n# edited\n", encoding="utf-8")
    assert not mgr.status()[0]
    if before is None:
        curated.unlink()
    else:
        curated.write_text(before, encoding="utf-8")
    server = IndexManager(site_settings(site).replace(chroma_url="http://127.0.0.1:9"), embedder)
    assert not server.status()[0]
    assert mgr.status()[0]


def test_corpus_edit_triggers_rebuild(site: Path, embedder, embed_calls: list[int]) -> None:  # type: ignore[no-untyped-def]
    settings = site_settings(site)
    before = build_id(settings)
    old_hash = manifest_json(settings)["corpus_hash"]
    edit_corpus(site / "corpus")
    mgr = IndexManager(settings, embedder)
    built, reason = mgr.ensure()
    assert built and reason == "corpus, model or backend changed"
    assert len(embed_calls) == 1
    after = build_id(settings)
    assert after != before
    # the replaced build stays one generation (processes that loaded it keep working); older ones go
    assert sorted(p.name for p in (settings.index_dir / "builds").iterdir()) == sorted([after, before])
    assert manifest_json(settings)["corpus_hash"] != old_hash
    idx = mgr.load()
    assert any(NEW_SENTENCE in p.text for p in idx.passages)
    assert mgr.ensure() == (False, "up to date")
    assert len(embed_calls) == 1
    edit_corpus(site / "corpus", "A second edit.")
    assert IndexManager(settings, embedder).ensure()[0]
    assert sorted(p.name for p in (settings.index_dir / "builds").iterdir()) == sorted([build_id(settings), after])


# ---- (c) a build killed half-way ---------------------------------------------------------------
def test_killed_build_leaves_old_index_usable(site: Path, embedder, embed_calls: list[int]) -> None:  # type: ignore[no-untyped-def]
    old_settings = site_settings(site)
    before = build_id(old_settings)
    shutil.copytree(site / "corpus", site / "corpus-new")
    edit_corpus(site / "corpus-new")
    builds = old_settings.index_dir / "builds"
    out = (site / "index.log").open("w")
    proc = subprocess.Popen(
        [*chatbot_cmd(), "index", "--rebuild"],
        env=cli_env(site, site / "corpus-new"),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not list(builds.glob(".tmp-*")):
            assert proc.poll() is None, (site / "index.log").read_text()
            assert time.monotonic() < deadline, "no builds/.tmp-* folder appeared"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        out.close()
    stale = list(builds.glob(".tmp-*"))
    assert len(stale) == 1
    # `current` still points at the old, complete build ...
    assert build_id(old_settings) == before
    assert (old_settings.index_dir / "current" / "manifest.json").is_file()
    assert sorted(p.name for p in builds.iterdir()) == sorted([before, stale[0].name])
    # ... which loads without any embedding work and answers a search.
    bot = Chatbot.load(old_settings, embedder=embedder)
    assert embed_calls == []
    assert bot.index.root.name == before
    hits = bot.search("trade turnover in 2024", 4)
    assert hits and any(h.passage.kind == "table" for h in hits)
    assert not any(NEW_SENTENCE in h.passage.text for h in hits)

    # A later build (of the edited corpus) removes the dead process's half-written folder.
    mgr = IndexManager(site_settings(site, "corpus-new"), embedder)
    assert mgr.ensure()[0]
    assert len(embed_calls) == 1
    after = build_id(mgr.settings)
    assert after != before
    assert not list(builds.glob(".tmp-*"))  # the killed build's folder is gone
    assert after in [p.name for p in builds.iterdir()]
    assert any(NEW_SENTENCE in p.text for p in mgr.load().passages)


def test_build_keeps_a_live_concurrent_tmp_folder(site: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Only dead processes' folders are stale: a build in progress elsewhere is left alone."""
    mgr = IndexManager(site_settings(site), embedder)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        live = mgr.builds / f".tmp-{sleeper.pid}-20000101T000000-abc-123456"
        live.mkdir()
        dead = mgr.builds / ".tmp-legacy-name"
        dead.mkdir()
        mgr._clean_stale_tmp()
        assert live.is_dir()
        assert not dead.exists()
    finally:
        sleeper.kill()
        sleeper.wait(timeout=60)
    mgr._clean_stale_tmp()
    assert not live.exists()


# ---- (d), (e) corrupt stores and manifests are rebuilt --------------------------------------------
@pytest.mark.parametrize("damage", ["truncate-sqlite", "delete-chroma"])
def test_broken_chroma_is_detected_and_rebuilt(  # type: ignore[no-untyped-def]
    damage: str, site: Path, embedder, embed_calls: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    settings = site_settings(site).replace(exact_search_max=0)  # dense queries through Chroma
    before = build_id(settings)
    chroma = settings.index_dir / "current" / "chroma"
    if damage == "truncate-sqlite":
        sqlite = chroma / "chroma.sqlite3"
        assert sqlite.stat().st_size > 1000
        with sqlite.open("r+b") as fh:
            fh.truncate(16)
    else:
        shutil.rmtree(chroma)
    caplog.set_level(logging.INFO)
    bot = Chatbot.load(settings, embedder=embedder)
    warnings = chatbot_warnings(caplog)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "unusable" in warnings[0].getMessage()
    assert len(embed_calls) == 1
    assert build_id(settings) != before
    assert bot.index.vectors.count() == bot.index.manifest.passages
    hits = bot.search("Which companies took part in the business mission?", 3)
    assert hits and any("ExxonMobil" in h.passage.text for h in hits)
    assert any(h.dense_rank is not None for h in hits)  # the rebuilt Chroma answers


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_broken_passage_vectors_are_detected_and_rebuilt(  # type: ignore[no-untyped-def]
    damage: str, site: Path, embedder, embed_calls: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    """An embedded index small enough for exact dense search answers from passages.npy without
    opening Chroma; a damaged or missing matrix is found at load and the index rebuilt."""
    settings = site_settings(site)
    vectors = settings.index_dir / "current" / "passages.npy"
    assert type(Chatbot.load(settings, embedder=embedder, warm=False).index.vectors).__name__ == "ExactSearch"
    before = build_id(settings)
    if damage == "truncate":
        with vectors.open("r+b") as fh:
            fh.truncate(vectors.stat().st_size // 2)
    else:
        vectors.unlink()
    caplog.set_level(logging.INFO)
    bot = Chatbot.load(settings, embedder=embedder)
    if damage == "truncate":
        assert len(chatbot_warnings(caplog)) == 1 and "unusable" in chatbot_warnings(caplog)[0].getMessage()
        assert len(embed_calls) == 1 and build_id(settings) != before
    else:  # no matrix (a build made before it was kept): the Chroma store answers
        assert type(bot.index.vectors).__name__ == "ChromaStore" and build_id(settings) == before
    assert bot.index.vectors.count() == bot.index.manifest.passages
    hits = bot.search("Which companies took part in the business mission?", 3)
    assert hits and any("ExxonMobil" in h.passage.text for h in hits)
    assert any(h.dense_rank is not None for h in hits)


@pytest.mark.parametrize("damage", ["delete", "truncate", "other-corpus"])
def test_damaged_corpus_stats_are_detected_and_rebuilt(  # type: ignore[no-untyped-def]
    damage: str, site: Path, embedder, embed_calls: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    settings = site_settings(site)
    before = build_id(settings)
    path = settings.index_dir / "current" / STATS_FILE
    if damage == "delete":
        path.unlink()
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        data = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps({**data, "corpus_hash": "0" * 64}), encoding="utf-8")
    caplog.set_level(logging.INFO)
    bot = Chatbot.load(settings, embedder=embedder)
    warnings = chatbot_warnings(caplog)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "unusable" in warnings[0].getMessage() and STATS_FILE in warnings[0].getMessage()
    assert len(embed_calls) == 1
    assert build_id(settings) != before and path.is_file()
    assert bot.ask("What were imports in 2024?").citations


@pytest.mark.parametrize("content", ["{not json", ""])
def test_corrupt_manifest_is_rebuilt(  # type: ignore[no-untyped-def]
    content: str, site: Path, embedder, embed_calls: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    settings = site_settings(site)
    before = build_id(settings)
    (settings.index_dir / "current" / "manifest.json").write_text(content, encoding="utf-8")
    mgr = IndexManager(settings, embedder)
    assert mgr.status()[0] is False
    caplog.set_level(logging.INFO)
    idx = mgr.load()
    warnings = chatbot_warnings(caplog)
    assert len(warnings) == 1 and "manifest" in warnings[0].getMessage()
    assert len(embed_calls) == 1
    assert build_id(settings) != before
    assert manifest_json(settings)["passages"] == len(idx.passages)
    assert mgr.ensure() == (False, "up to date")


def test_manifest_of_wrong_shape_is_stale(site: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = site_settings(site)
    (settings.index_dir / "current" / "manifest.json").write_text('{"format": 3}', encoding="utf-8")
    ok, reason = IndexManager(settings, embedder).status()
    assert not ok and reason.startswith("manifest unreadable")


# ---- (f) the manifest ----------------------------------------------------------------------------
def test_manifest_records_model_and_corpus(site: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = site_settings(site)
    m = manifest_json(settings)
    docs = load_corpus(settings.corpus_dir)
    assert m["model_id"] == embedder.model_id
    name, _, fingerprint = m["model_id"].partition("@")
    fingerprint, _, variant = fingerprint.partition("+")
    assert name and len(fingerprint) == 16 and variant in ("onnx-int8", "onnx", "int8", "")
    assert m["corpus_hash"] == corpus_hash(docs, [settings.corpus_dir / CURATED_FACTS_FILE])
    assert m["format"] == FORMAT_VERSION
    assert m["vector_backend"] == "embedded"
    assert m["documents"] == ["us-azerbaijan-trade"]
    passages = json.loads((settings.index_dir / "current" / "passages.json").read_text(encoding="utf-8"))
    assert m["passages"] == len(passages["passages"]) > 10
    assert m["collection"].startswith(settings.chroma_collection_prefix)
    assert {"chromadb", "sentence-transformers", "onnxruntime", "bm25s"} <= set(m["versions"])
    assert (settings.index_dir / "current" / "chroma" / "chroma.sqlite3").is_file()
