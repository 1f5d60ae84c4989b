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


def test_health_reports_what_the_process_loaded(bot) -> None:  # type: ignore[no-untyped-def]
    loaded = bot.health()["load_ms"]
    assert {"index", "facts"} <= set(loaded)
