"""Fuzzing a real server on 127.0.0.1: schemathesis from the live OpenAPI schema, plus a small
generator of hostile bodies for every route (API and Gradio). No response may be a 5xx, and every
API error has the documented ``{"error"}`` shape. Bounded: a fixed number of examples per route."""

from __future__ import annotations

import json
import random
import time

import httpx
import hypothesis
import pytest
import schemathesis
from test_faults import serve

from chatbot.settings import Settings
from test_workers import stop, wait_for_answer

pytestmark = pytest.mark.slow
EXAMPLES_PER_OPERATION = 150
GENERATED_REQUESTS = 1500


@pytest.fixture(scope="module")
def live(settings: Settings, bot):  # type: ignore[no-untyped-def]
    proc, url = serve(settings, CHATBOT_RATE_LIMIT_PER_MINUTE="0")  # with the UI: its routes are fuzzed too
    try:
        wait_for_answer(proc, url, time.monotonic() + 120)
        yield url
    finally:
        stop(proc)


def test_schema_fuzzing_gives_no_server_error(live: str) -> None:
    """Every operation of the live OpenAPI schema, ``EXAMPLES_PER_OPERATION`` generated cases each."""
    schema = schemathesis.openapi.from_url(live + "openapi.json")
    calls: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        def check(case) -> None:  # type: ignore[no-untyped-def]
            r = case.call(base_url=live.rstrip("/"), timeout=30)
            calls.append(r.status_code)
            assert r.status_code < 500, (case.method, case.path, r.status_code, r.text[:300])
            if r.status_code >= 400:
                assert set(r.json()) == {"error"}, r.text[:300]

        check()
    assert len(calls) >= 200, len(calls)


def _hostile(rng: random.Random) -> bytes:
    kinds = [
        lambda: b"[" * rng.randint(500, 5000) + b"]" * rng.randint(0, 5000),
        lambda: bytes(rng.randrange(256) for _ in range(rng.randint(1, 300))),
        lambda: json.dumps({"question": "\\ud800" * rng.randint(1, 5)}).replace("\\\\", "\\").encode(),
        lambda: json.dumps({"question": rng.choice(["", " ", "a" * 3000, "x" * 10, 1, None, [], {}]),
                            "history": rng.choice([None, [], [{"role": "x"}], "h", [{"role": "user", "content": 5}]])}).encode(),
        lambda: json.dumps({"question": "q", "answer": "a", "vote": rng.choice(["up", 0, 2, "x", None]),
                            "citations": rng.choice([[{"n": 10**40}], [1, 2], "c", [{"q": "\u0000"}]])}).encode(),
        lambda: b'{"question": "' + "é".encode("latin-1") * 20 + b'"}',
        lambda: json.dumps({"data": [rng.random()], "fn_index": rng.randint(-5, 50), "session_hash": "s" * rng.randint(0, 80)}).encode(),
    ]
    return rng.choice(kinds)()


def test_generated_hostile_requests_give_no_server_error(live: str) -> None:
    rng = random.Random(14)
    # Not "gradio_api/call/ask": many generated bodies are valid questions, which Gradio's queue
    # accepts at once and answers later, so this would become a load test (test_gradio_guard.py
    # sends the malformed ones).
    paths = ["api/ask", "api/feedback", "api/health", "api/facts", "api/nope", "embed", "widget.js", "docs",
             "openapi.json", "gradio_api/queue/join", "gradio_api/info", "gradio_api/call/chat", "config",
             "gradio_api/upload", "gradio_api/run/predict", "gradio_api/call/v2/chat", "gradio_api/cancel",
             "gradio_api/reset", "%ff%fe", "api/ask/../health", "a" * 3000]
    bad: list[tuple[str, str, object]] = []
    resets = 0
    deadline = time.monotonic() + 300
    with httpx.Client(timeout=30) as c:
        for _ in range(GENERATED_REQUESTS):
            if time.monotonic() > deadline:
                break
            method = rng.choice(["GET", "POST", "POST", "POST", "PUT", "DELETE", "PATCH"])
            path = rng.choice(paths)
            ctype = rng.choice(["application/json", "text/plain", "application/x-www-form-urlencoded", ""])
            try:
                r = c.request(method, live + path, content=_hostile(rng) if method != "GET" else None,
                              headers={"Content-Type": ctype} if ctype else {})
            except httpx.TransportError:
                # the server answered (405/413) without reading the body and closed the connection
                # while the client was still sending it: counted, and the server must stay healthy
                resets += 1
                continue
            if r.status_code >= 500:
                bad.append((method, path, r.status_code))
            elif path.startswith("api/") and r.status_code >= 400 and "application/json" in r.headers.get("content-type", ""):
                assert set(r.json()) == {"error"}, (method, path, r.text[:200])
    assert bad == [], bad[:20]
    assert resets < GENERATED_REQUESTS // 10, resets
    assert httpx.get(live + "api/health", timeout=30).status_code == 200
