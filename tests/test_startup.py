"""Start-up: what a fresh serving process loads, and that the shortcuts it takes give the same
objects as the long way (the currency table a build stores, spaCy without its CLI package, bm25s
without scipy). Timings are measured in eval/bench_cold.py, not here."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatbot.facts import currency
from chatbot.index import CORPUS_FILES, IndexManager
from chatbot.settings import PROJECT_ROOT, Settings
from conftest import CORPUS, make_settings


def test_the_stored_currency_table_is_the_derived_one() -> None:
    data = json.loads(json.dumps(currency.stored(), ensure_ascii=False))  # as a build writes and a load reads it
    assert currency.from_stored(data) == currency.currencies()
    assert currency.from_stored({**data, "key": "made by other code"}) is None
    assert currency.preload(data) is False  # the table is already in use in this process: nothing changes


PROBE = """
import json, sys
from chatbot.bot import Chatbot
from chatbot.understanding.nlp import pipeline
bot = Chatbot.load(warm=False)
answer = bot.ask("What were US exports to Azerbaijan in 2024?")
loaded = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in ("babel", "scipy", "torch", "chromadb", "langchain_core", "langsmith")}
                | {m for m in sys.modules if m.startswith("spacy.cli")})
pipes = pipeline(bot.settings.spacy_model).pipe_names
import spacy.cli
print(json.dumps({"answer": answer.text, "loaded": loaded, "pipes": pipes, "cli": hasattr(spacy.cli, "app")}))
"""


@pytest.mark.slow
def test_a_fresh_process_answers_without_deriving_what_the_build_stored(bot, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """Over a built index, a new process answers a figure question without Babel (the build's
    currencies.json), scipy, spaCy's CLI package, LangChain (the chain's steps are called directly)
    or Chroma (a small embedded index is searched exactly); spaCy's config-disabled component is not
    loaded; `import spacy.cli` still gives the real package afterwards."""
    assert (bot.index.root / "currencies.json").is_file()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATBOT_")}
    env.update(
        CHATBOT_INDEX_DIR=str(settings.index_dir), CHATBOT_CORPUS_DIR=str(settings.corpus_dir),
        CHATBOT_DATA_DIR=str(settings.data_dir), CHATBOT_LOG_LEVEL="WARNING", HF_HUB_OFFLINE="1",
        PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    proc = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["answer"] == bot.ask("What were US exports to Azerbaijan in 2024?").text
    assert out["loaded"] == []
    assert "senter" not in out["pipes"] and {"parser", "ner", "lemmatizer"} <= set(out["pipes"])
    assert out["cli"] is True


# ---- an unchanged corpus folder is not read again at load -----------------------------------------
SIGNATURE = """
import json
from chatbot.index import IndexManager
from chatbot.settings import Settings
from chatbot.text import alias_signature
ok = IndexManager(Settings.from_env()).status()
print(json.dumps({"ok": ok, "aliases": alias_signature()}))
"""


def _site(tmp_path: Path, embedder, broken: bool = False) -> Settings:  # type: ignore[no-untyped-def]
    """A corpus copy whose files are older than the build (so it records their sizes and times)."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    if broken:
        (corpus / "scan.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    past = time.time() - 3600
    for p in corpus.iterdir():
        os.utime(p, (past, past))
    settings = make_settings(tmp_path, corpus=corpus)
    IndexManager(settings, embedder).build()
    return settings


def _status_in_new_process(settings: Settings) -> dict:  # type: ignore[type-arg]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATBOT_")}
    env.update(CHATBOT_INDEX_DIR=str(settings.index_dir), CHATBOT_CORPUS_DIR=str(settings.corpus_dir),
               CHATBOT_DATA_DIR=str(settings.data_dir), HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    proc = subprocess.run([sys.executable, "-c", SIGNATURE], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_an_unchanged_corpus_gives_the_same_status_and_alias_folding_without_reading_it(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = _site(tmp_path, embedder)
    stored = json.loads((settings.index_dir / "current" / CORPUS_FILES).read_text(encoding="utf-8"))
    assert set(stored["files"]) == {p.name for p in settings.corpus_dir.iterdir()} and [-1, -1] not in stored["files"].values()
    fast = _status_in_new_process(settings)
    (settings.index_dir / "current" / CORPUS_FILES).unlink()  # the long way: every document read and hashed
    slow = _status_in_new_process(settings)
    assert fast["ok"] == slow["ok"] == [True, "up to date"]
    assert fast["aliases"] == slow["aliases"] and fast["aliases"]  # the article's own country code folds


def test_any_changed_added_or_removed_file_makes_the_corpus_read_again(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    settings = _site(tmp_path, embedder)
    mgr = IndexManager(settings, embedder)
    assert mgr.status() == (True, "up to date")
    extra = settings.corpus_dir / "note.md"
    extra.write_text("# Note\n\nQuillfeather sprockets were first sold in 2025.\n", encoding="utf-8")
    os.utime(extra, (time.time() - 3600,) * 2)  # even an old file: it was not there at the build
    assert mgr.status() == (False, "corpus, model or backend changed")
    extra.unlink()
    assert mgr.status() == (True, "up to date")
    article = next(settings.corpus_dir.glob("*.txt"))
    text = article.read_text(encoding="utf-8")
    article.write_text(text.replace("2024", "2042", 1), encoding="utf-8")  # same size, new time
    assert mgr.status() == (False, "corpus, model or backend changed")
    article.write_text(text, encoding="utf-8")  # same content again, a new time: read, and found unchanged
    assert mgr.status() == (True, "up to date")


def test_files_with_new_times_and_the_same_content_are_not_read_again(tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A corpus copied, checked out or unpacked again keeps its content and gets new modification
    times: the build's content digests tell it is unchanged without reading the documents; a file
    of the same size with other content is still found changed."""
    import chatbot.index as index_module

    settings = _site(tmp_path, embedder)
    stored = json.loads((settings.index_dir / "current" / CORPUS_FILES).read_text(encoding="utf-8"))
    assert set(stored["digests"]) == set(stored["files"])
    later = time.time() - 60
    for p in settings.corpus_dir.iterdir():
        os.utime(p, (later, later))
    mgr = IndexManager(settings, embedder)
    with monkeypatch.context() as m:
        m.setattr(index_module, "load_corpus", lambda *a, **k: pytest.fail("the corpus was read"))
        assert mgr.status() == (True, "up to date")
    article = next(settings.corpus_dir.glob("*.txt"))
    text = article.read_text(encoding="utf-8")
    article.write_text(text.replace("2024", "2042", 1), encoding="utf-8")  # same size, other content
    os.utime(article, (later, later))
    assert mgr.status() == (False, "corpus, model or backend changed")


def test_a_file_skipped_at_build_is_reported_again_at_load(tmp_path: Path, embedder, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    settings = _site(tmp_path, embedder, broken=True)
    assert json.loads((settings.index_dir / "current" / CORPUS_FILES).read_text(encoding="utf-8"))["skipped"] == ["scan.pdf"]
    with caplog.at_level(logging.WARNING, logger="chatbot.index"):
        assert IndexManager(settings, embedder).status() == (True, "up to date")
    assert any("scan.pdf" in r.getMessage() for r in caplog.records)


def test_a_file_edited_just_before_the_build_is_read_again_at_every_check(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    """Its modification time could repeat for an edit right after the build: no size and time of
    it is trusted, even when a later check sees it just as recently modified."""
    settings = _site(tmp_path, embedder)
    article = next(settings.corpus_dir.glob("*.txt"))
    text = article.read_text(encoding="utf-8")
    article.write_text(text + "\nA first late line.\n", encoding="utf-8")
    mgr = IndexManager(settings, embedder)
    mgr.build()
    assert json.loads((settings.index_dir / "current" / CORPUS_FILES).read_text(encoding="utf-8"))["files"][article.name] == [-1, -1]
    assert mgr.status() == (True, "up to date")
    article.write_text(text + "\nA second late line\n", encoding="utf-8")  # the same size, at once
    assert mgr.status() == (False, "corpus, model or backend changed")


# ---- a parse in a daemon thread at exit -------------------------------------------------------------
PARSING_AT_EXIT = """
import threading, time
from chatbot.understanding.nlp import parse
parse("The pipeline is loaded first.")
def loop():
    i = 0
    while True:
        i += 1
        parse(f"A daemon thread parses sentence number {i} until the very end.")
threading.Thread(target=loop, daemon=True).start()
time.sleep(0.5)
print("exiting")
"""


def test_a_process_ends_cleanly_while_a_daemon_thread_is_parsing() -> None:
    """spaCy's compiled modules free their state in exit handlers; a daemon thread still parsing then
    made the process end with "libblis: Aborting" or a segmentation fault (a third of the time here)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    for _ in range(6):
        proc = subprocess.run([sys.executable, "-c", PARSING_AT_EXIT], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and proc.stdout.strip() == "exiting", (proc.returncode, proc.stderr[-2000:])
