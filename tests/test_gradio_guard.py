"""Gradio's routes, over HTTP against the real app and UI: the rules come from the Blocks the UI
builds, the UI's own kinds of request pass, anything else gets a 4xx in the API's error shape
(where Gradio alone answers 500 or stores what it is sent). The real page is driven in Chromium by
``test_web_ui.py``, ``test_web_evidence.py`` and ``test_web_documents.py`` with this guard in place."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chatbot.web.gradio_guard import FnRule, GradioRules
from chatbot.web.server import create_app

JSON = {"Content-Type": "application/json"}
SESSION = "abc123xyz"


@pytest.fixture(scope="module")
def ui(bot, settings, tmp_path_factory) -> Iterator[tuple[TestClient, GradioRules]]:  # type: ignore[no-untyped-def]
    app = create_app(bot, settings.replace(data_dir=tmp_path_factory.mktemp("ui-data"), rate_limit_per_minute=0), token="")
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app.state.gradio_rules


def asking(rules: GradioRules) -> FnRule:
    """The page's first step of asking: unqueued, (question text, conversation state)."""
    return next(r for r in rules.fns.values() if not r.queued and [i.kind for i in r.inputs] == ["text", "state"])


def test_the_rules_are_read_from_the_blocks(ui) -> None:  # type: ignore[no-untyped-def]
    client, rules = ui
    config = client.get("/config").json()
    deps = config["dependencies"]
    assert sorted(rules.fns) == sorted(d["id"] for d in deps)
    for d in deps:
        assert rules.fns[d["id"]].queued == d["queue"], d
    assert set(rules.names) == {"ask"}  # the UI's own events are private: reachable by fn_index only
    start = asking(rules)
    assert start.inputs[0].max_chars == 2000  # the question box's max_length (CHATBOT_MAX_QUESTION_CHARS)
    assert start.max_body < 20_000


def test_the_pages_own_requests_pass(ui) -> None:  # type: ignore[no-untyped-def]
    client, rules = ui
    start = asking(rules)
    r = client.post("/gradio_api/run/predict", headers=JSON, json={
        "data": ["What was the trade turnover in 2023?", None], "fn_index": start.fn_index, "trigger_id": 1,
        "session_hash": SESSION})
    assert r.status_code == 200, r.text
    queued = next(r for r in rules.fns.values() if r.queued and not r.named)
    r = client.post("/gradio_api/queue/join", headers=JSON, json={
        "data": [None, ""], "event_data": None, "fn_index": queued.fn_index, "trigger_id": 1, "session_hash": SESSION})
    assert r.status_code == 200 and "event_id" in r.json(), r.text
    r = client.post("/gradio_api/call/ask", headers=JSON, json={"data": ["What was the trade turnover in 2023?"]})
    assert r.status_code == 200 and "event_id" in r.json(), r.text
    r = client.post("/gradio_api/call/v2/ask", headers=JSON, json={"question": "And in 2024?", "history": []})
    assert r.status_code == 200 and "event_id" in r.json(), r.text


def _cases(rules: GradioRules) -> list[tuple[str, object, int]]:
    start = asking(rules)
    queued = next(r for r in rules.fns.values() if r.queued)
    return [
        ("queue/join", {"data": [None, ""], "fn_index": 999, "session_hash": SESSION}, 422),
        ("queue/join", {"data": [None, ""], "fn_index": -5, "session_hash": SESSION}, 422),
        ("queue/join", {"data": [None, ""], "fn_index": True, "session_hash": SESSION}, 422),
        ("queue/join", {"data": ["q", None], "fn_index": start.fn_index, "session_hash": SESSION}, 422),  # unqueued
        ("queue/join", {"data": [None, ""], "fn_index": queued.fn_index, "session_hash": "s" * 80}, 422),
        ("queue/join", {"data": [None, ""], "fn_index": queued.fn_index}, 422),  # no session
        ("queue/join", {"data": [None, "no-such-document"], "fn_index": queued.fn_index, "session_hash": SESSION}, 422),
        ("run/predict", {"data": [0.5], "fn_index": start.fn_index, "session_hash": SESSION}, 422),
        ("run/predict", {"data": [{"turns": 1}, None], "fn_index": start.fn_index, "session_hash": SESSION}, 422),
        ("run/predict", {"data": ["q", ["forged", "state"]], "fn_index": start.fn_index, "session_hash": SESSION}, 422),
        ("run/predict", {"data": [None, ""], "fn_index": queued.fn_index, "session_hash": SESSION}, 422),  # queued
        ("run/predict", {"data": ["q", None]}, 404),  # no fn_index and no function named "predict"
        ("run/ask", {"data": ["q"]}, 404),  # the named function is queued: not callable directly
        ("call/chat", {"data": ["q"]}, 404),
        ("call/v2/chat", {"question": [], "history": "h"}, 404),
        ("call/v2/ask", {"question": "q", "answer": "a", "vote": 0}, 422),
        ("call/v2/ask", {"history": []}, 422),
        ("call/ask", {"data": [[], None]}, 422),
        ("call/ask", {"data": ["q", "h"]}, 422),
        ("call/ask", {"data": ["q", None, 3]}, 422),
        ("call/ask", {"data": ["\ud800"]}, 422),
        ("vibe-edit", {"prompt": "x"}, 404),
        ("component_server", {}, 404),
        ("upload", {}, 403),
    ]


def test_foreign_or_malformed_requests_are_refused_with_a_clear_4xx(ui) -> None:  # type: ignore[no-untyped-def]
    client, rules = ui
    wrong = []
    for route, body, status in _cases(rules):
        r = client.post("/gradio_api/" + route, headers=JSON, content=json.dumps(body))  # ASCII: \ud800 as is
        if r.status_code != status or set(r.json()) != {"error"}:
            wrong.append((route, body, r.status_code, r.text[:200]))
    assert wrong == []


@pytest.mark.parametrize("body", [b'{"data": ["\xff\xfe", null], "fn_index": 0, "session_hash": "s"}',
                                  b"[" * 5000 + b"]" * 5000, b"", b"not json"])
def test_undecodable_bodies_are_422(ui, body: bytes) -> None:  # type: ignore[no-untyped-def]
    client, _ = ui
    for route in ("queue/join", "run/predict", "call/ask", "call/v2/ask"):
        r = client.post("/gradio_api/" + route, headers=JSON, content=body)
        assert r.status_code == 422 and "UTF-8" in r.json()["error"], (route, r.text)


def test_oversized_bodies_are_413_before_gradio_reads_them(ui) -> None:  # type: ignore[no-untyped-def]
    client, rules = ui
    start = asking(rules)
    padding = "x" * (start.max_body + 10)
    r = client.post("/gradio_api/run/predict", headers=JSON, json={
        "data": [padding, None], "fn_index": start.fn_index, "session_hash": SESSION})
    assert r.status_code == 413 and "larger" in r.json()["error"], r.text
    too_long = "x" * (start.inputs[0].max_chars + 1)  # within the bytes, over the box's max_length
    r = client.post("/gradio_api/run/predict", headers=JSON, json={
        "data": [too_long, None], "fn_index": start.fn_index, "session_hash": SESSION})
    assert r.status_code == 422 and "2,000 characters" in r.json()["error"], r.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts while it streams
        yield b'{"data": ["'
        for _ in range(64):
            yield b"y" * 65536
        yield b'"]}'

    read_cap = rules.read_cap("queue/join", "")
    r = client.post("/gradio_api/queue/join", headers=JSON, content=chunks())
    assert r.status_code == 413 and f"{read_cap:,} bytes" in r.json()["error"], r.text


def test_gradio_routes_stay_open_only_with_the_ui(bot, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(bot, settings.replace(data_dir=tmp_path / "data"), ui=False, token="")
    assert app.state.gradio_rules is None
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/gradio_api/queue/join", headers=JSON, json={"data": []}).status_code == 404
