"""Heavy components, loaded once per process on first use, with the time each took.

    from chatbot.resources import once, load_timings
    nlp = once("spacy:en_core_web_sm", lambda: spacy.load("en_core_web_sm", exclude=["ner"]))

Nothing is loaded at import time anywhere in ``chatbot``: a component is built by the first caller
of ``once(name, factory)``; later callers (other requests, other ``Chatbot`` objects in the same
process) get the same object. ``load_timings()`` reports what was loaded and how long it took, so a
new component's cost shows up in ``Chatbot.load``'s log line, ``/api/health`` and
``eval/bench_cold.py`` without extra work. Each web worker is its own process and loads its own copy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_objects: dict[str, Any] = {}
_timings: dict[str, float] = {}
_building: dict[str, threading.RLock] = {}  # one lock per component being built
_lock = threading.RLock()
# spaCy's load hides torch for a moment (so a serving process never imports it); a build imports torch
# for the ONNX export in another thread. Both hold this lock, so neither sees the other half done.
TORCH_LOCK = threading.RLock()


def once(name: str, factory: Callable[[], T]) -> T:
    """The component called ``name``, built by ``factory`` the first time it is asked for. Each
    component has its own lock: a component loading in one thread (spaCy, in the background) does
    not hold up another that a request needs (the spelling dictionary)."""
    if name in _objects:
        return _objects[name]  # type: ignore[no-any-return]
    with _lock:
        building = _building.setdefault(name, threading.RLock())
    with building:
        if name not in _objects:
            t0 = time.perf_counter()
            made = factory()
            with _lock:
                _objects[name] = made
                _timings[name] = time.perf_counter() - t0
        return _objects[name]  # type: ignore[no-any-return]


@contextmanager
def timed(name: str) -> Iterator[None]:
    """Record the time of a load step that is not a shared component (e.g. opening one index)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        with _lock:
            _timings[name] = time.perf_counter() - t0


def load_timings() -> dict[str, float]:
    """Milliseconds per loaded component or step, in load order."""
    with _lock:
        return {k: round(v * 1000, 1) for k, v in _timings.items()}
