"""Heavy components are built once per process, on first use, and their load time is reported."""

from __future__ import annotations

import threading

from chatbot.resources import load_timings, once


def test_a_component_is_built_once_and_timed() -> None:
    built: list[int] = []

    def factory() -> object:
        built.append(1)
        return object()

    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(once("test:component", factory))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and len({id(r) for r in results}) == 1
    assert once("test:component", factory) is results[0]
    assert load_timings()["test:component"] >= 0


def test_a_component_is_not_held_up_by_another_one_loading() -> None:
    """spaCy loads in the background at start; the spelling dictionary a question needs meanwhile is
    built at once, not after it."""
    release = threading.Event()
    slow = threading.Thread(target=lambda: once("test:slow", lambda: release.wait(30)))
    slow.start()
    try:
        quick = threading.Thread(target=lambda: once("test:quick", object))
        quick.start()
        quick.join(timeout=10)
        assert not quick.is_alive() and slow.is_alive()  # built while the other is still loading
    finally:
        release.set()
        slow.join(timeout=30)
    assert once("test:slow", lambda: False) is True  # the first factory's result, built once


def test_health_reports_what_the_process_loaded(bot) -> None:  # type: ignore[no-untyped-def]
    loaded = bot.health()["load_ms"]
    assert {"index", "facts"} <= set(loaded)


def test_a_spacy_load_and_an_import_of_torch_in_two_threads_do_not_break_each_other() -> None:
    """spaCy's load hides torch for a moment; a build's ONNX export imports torch in another thread at
    the same time. The export must wait, not fail with "import of torch halted"."""
    import subprocess
    import sys

    script = """
import threading, time
import chatbot.understanding.nlp as nlp
from chatbot.embeddings import load_sentence_transformer
slow = nlp._import_spacy
def held():
    started.set()
    time.sleep(1.0)  # the load is inside its hiding window now
    return slow()
nlp._import_spacy = held
started = threading.Event()
loader = threading.Thread(target=nlp.pipeline)
loader.start()
started.wait()
from chatbot.embeddings import resolve_model_path
load_sentence_transformer(resolve_model_path("packaged"), 1)  # imports torch while spaCy is being loaded
loader.join()
import torch, sys
assert sys.modules["torch"] is torch
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
