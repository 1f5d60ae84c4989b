"""The JSON API with the real chain (session ``bot``) through FastAPI's TestClient."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chatbot.web.server import create_app

ALLOWED = "https://allowed.example"


@pytest.fixture
def web_settings(settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    return settings.replace(data_dir=tmp_path / "data", cors_origins=f"{ALLOWED}, https://second.example")


@pytest.fixture
def client(bot, web_settings):  # type: ignore[no-untyped-def]
    with TestClient(create_app(bot, web_settings, ui=False), raise_server_exceptions=False) as c:
        yield c


def ask(client: TestClient, question, history=None, **kw):  # type: ignore[no-untyped-def]
    body = {"question": question} if history is None else {"question": question, "history": history}
    return client.post("/api/ask", json=body, **kw)


# ---- /api/ask ----------------------------------------------------------------------------------------
def test_ask_returns_answer_with_checkable_citations(client: TestClient, bot) -> None:  # type: ignore[no-untyped-def]
    r = ask(client, "What were imports in 2024?")
    assert r.status_code == 200, r.text
    data = r.json()
    assert "1,617.93" in data["text"] and "[1]" in data["text"]
    assert not data["abstained"]
    c = data["citations"][0]
    assert c["n"] == 1 and c["section"]
    assert bot.index.documents[c["doc_id"]].text[c["start"] : c["end"]] == c["quote"]
    assert {"route", "notes", "timings", "question", "standalone_question"} <= set(data)


def test_history_carries_the_follow_up(client: TestClient) -> None:
    first = ask(client, "What were imports in 2023?").json()
    history = [{"role": "user", "content": "What were imports in 2023?"}, {"role": "assistant", "content": first["text"]}]
    r = ask(client, "And in 2024?", history)
    assert r.status_code == 200
    assert "1,617.93" in r.json()["text"]
    alone = ask(client, "And in 2024?").json()  # without history the follow-up is not about imports
    assert "1,617.93" not in alone["text"] or alone["abstained"]


def test_out_of_scope_question_abstains(client: TestClient) -> None:
    data = ask(client, "What is the capital of France?").json()
    assert data["abstained"] and data["citations"] == []


@pytest.mark.parametrize("question", ["", "   ", "\n\t "])
def test_empty_question_is_422_with_message(client: TestClient, question: str) -> None:
    r = ask(client, question)
    assert r.status_code == 422
    assert "empty" in r.json()["error"]


def test_too_long_question_is_413_with_message(client: TestClient, bot) -> None:  # type: ignore[no-untyped-def]
    limit = bot.settings.max_question_chars
    r = ask(client, "x" * (limit + 1))
    assert r.status_code == 413
    assert f"{limit:,}" in r.json()["error"] and "CHATBOT_MAX_QUESTION_CHARS" in r.json()["error"]
    assert ask(client, "  " + "imports " * 10 + "  ").status_code == 200


@pytest.mark.parametrize(
    ("body", "expect"),
    [
        (b'{"question": ', "not valid JSON"),
        (b"not json at all", "not valid JSON"),
        (b"[]", "Invalid request"),
        (b'{"question": 5}', "question"),
        (b'{"question": null}', "question"),
        (b'{"q": "What were imports?"}', "question"),
        (b'{"question": "x", "history": "nope"}', "history"),
        (b'{"question": "x", "history": [{"role": "system", "content": "x"}]}', "history.0.role"),
        (b'{"question": "x", "history": [{"role": "user", "content": 3}]}', "history.0.content"),
        (b"", "body is missing"),
    ],
)
def test_malformed_or_wrong_types_are_422(client: TestClient, body: bytes, expect: str) -> None:
    r = client.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert expect in err
    assert "Traceback" not in r.text


def test_long_history_is_trimmed_and_huge_history_rejected(client: TestClient, bot) -> None:  # type: ignore[no-untyped-def]
    filler = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}"} for i in range(150)]
    history = filler + [
        {"role": "user", "content": "What were imports in 2023?"},
        {"role": "assistant", "content": "Import in 2023: $888.1M [1]."},
    ]
    r = ask(client, "And in 2024?", history)
    assert r.status_code == 200 and "1,617.93" in r.json()["text"]  # only the last turns are used
    r = ask(client, "And in 2024?", filler * 2)
    assert r.status_code == 422 and "history" in r.json()["error"]


def test_oversized_body_is_413(client: TestClient) -> None:
    r = client.post("/api/ask", content=b'{"question": "' + b"a" * 1_100_000 + b'"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "larger" in r.json()["error"]


def test_unexpected_error_is_json_500_without_internals(client: TestClient, bot, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret detail at /srv/internal/path.py")

    monkeypatch.setattr(bot, "ask", boom)
    r = ask(client, "What were imports in 2024?")
    assert r.status_code == 500
    assert set(r.json()) == {"error"}
    assert "secret" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    assert "request id" in r.json()["error"]
    assert any("secret detail" in (rec.exc_text or "") or rec.exc_info for rec in caplog.records)


def test_unknown_route_is_json_404(client: TestClient) -> None:
    r = client.get("/api/nope")
    assert r.status_code == 404 and "error" in r.json()


# ---- health, facts, docs ---------------------------------------------------------------------------------
def test_health(client: TestClient, bot) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/health")
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "ok" and h["index_loaded"] is True
    assert h["passages"] == len(bot.index.passages) > 0
    assert h["model"] and h["version"]


def test_facts(client: TestClient, bot) -> None:  # type: ignore[no-untyped-def]
    data = client.get("/api/facts").json()
    assert len(data["facts"]) == len(bot.facts_db.facts) > 0
    for f in data["facts"]:
        assert bot.index.documents[f["doc_id"]].text[f["start"] : f["end"]] == f["quote"]
    table = data["tables"][0]
    assert table["columns"][:2] == ["Year", "Import"]
    assert any(row[1] == "$1,617.93M" for row in table["cells"])
    assert table["checks"] and all("(ok)" in c for c in table["checks"])


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {"/api/ask", "/api/facts", "/api/health", "/api/feedback"} <= set(spec["paths"])


# ---- feedback ----------------------------------------------------------------------------------------
def test_feedback_is_stored_in_sqlite(client: TestClient, web_settings) -> None:  # type: ignore[no-untyped-def]
    ans = ask(client, "What were imports in 2024?").json()
    r = client.post(
        "/api/feedback",
        json={"question": "What were imports in 2024?", "answer": ans["text"], "citations": ans["citations"], "vote": "up"},
    )
    assert r.status_code == 201 and r.json()["stored"] is True
    assert client.post("/api/feedback", json={"question": "q", "answer": "a", "vote": -1}).status_code == 201
    assert client.post("/api/feedback", json={"question": "q", "answer": "a", "vote": "maybe"}).status_code == 422
    con = sqlite3.connect(web_settings.data_dir / "feedback.sqlite")
    rows = con.execute("SELECT question, answer, citations, vote, ts, source FROM feedback ORDER BY id").fetchall()
    con.close()
    assert len(rows) == 2
    q, a, cits, vote, ts, source = rows[0]
    assert q == "What were imports in 2024?" and a == ans["text"] and vote == 1 and ts > 0 and source == "api"
    assert json.loads(cits)[0]["quote"] == ans["citations"][0]["quote"]
    assert rows[1][3] == -1


# ---- bearer token --------------------------------------------------------------------------------------
def test_bearer_token_required_when_configured(bot, web_settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(web_settings.api_token_env, "s3cret-token")
    with TestClient(create_app(bot, web_settings, ui=False)) as c:
        for path, method in (("/api/health", "get"), ("/api/facts", "get")):
            assert getattr(c, method)(path).status_code == 401
        r = ask(c, "What were imports in 2024?")
        assert r.status_code == 401 and "bearer token" in r.json()["error"]
        assert r.headers["www-authenticate"] == "Bearer"
        assert ask(c, "What were imports in 2024?", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert ask(c, "What were imports in 2024?", headers={"Authorization": "Basic s3cret-token"}).status_code == 401
        good = {"Authorization": "Bearer s3cret-token"}
        assert ask(c, "What were imports in 2024?", headers=good).status_code == 200
        assert c.get("/api/health", headers=good).status_code == 200
        assert c.get("/widget.js").status_code == 200  # the script and the embed page stay public
        assert c.get("/embed").status_code == 200


def test_no_token_configured_means_open_api(client: TestClient) -> None:
    assert client.get("/api/health").status_code == 200
    assert ask(client, "What were imports in 2024?", headers={"Authorization": "Bearer anything"}).status_code == 200


# ---- CORS --------------------------------------------------------------------------------------------------
def _preflight(c: TestClient, origin: str):  # type: ignore[no-untyped-def]
    return c.options(
        "/api/ask",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,authorization"},
    )


def test_cors_preflight_allowed_for_listed_origin_only(client: TestClient) -> None:
    ok = _preflight(client, ALLOWED)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    bad = _preflight(client, "https://evil.example")
    assert bad.status_code == 400
    assert "access-control-allow-origin" not in bad.headers
    simple = ask(client, "What were imports in 2024?", headers={"Origin": ALLOWED})
    assert simple.headers["access-control-allow-origin"] == ALLOWED
    other = ask(client, "What were imports in 2024?", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_cors_default_is_same_origin_only(bot, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(bot, settings.replace(data_dir=tmp_path, cors_origins=""), ui=False)) as c:
        assert _preflight(c, ALLOWED).status_code == 400
        assert _preflight(c, "http://localhost:3000").status_code == 400
        assert "access-control-allow-origin" not in c.get("/api/health", headers={"Origin": ALLOWED}).headers


# ---- embed page, widget, root path, UI mount -----------------------------------------------------------------
def test_embed_page_and_widget(client: TestClient) -> None:
    r = client.get("/embed")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert 'src="widget.js"' in r.text and 'data-mode="inline"' in r.text
    assert "<script>" not in r.text  # no inline script
    js = client.get("/widget.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "document.currentScript" in js.text and "innerHTML" not in js.text


def test_root_path_with_and_without_prefix(bot, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(bot, settings.replace(data_dir=tmp_path, root_path="/chat"), ui=False)
    with TestClient(app) as c:
        assert c.get("/chat/api/health").status_code == 200  # direct, or a proxy keeping the prefix
        assert c.get("/api/health").status_code == 200  # a proxy stripping the prefix
        assert c.get("/chat/embed").status_code == 200
        assert "/chat/openapi.json" in c.get("/chat/docs").text


def test_gradio_ui_mounted_with_login(bot, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(bot, settings.replace(data_dir=tmp_path, ui_auth="admin:pw-123"))
    with TestClient(app) as c:
        assert c.get("/api/health").status_code == 200  # the API is not behind the UI login
        loader = c.get("/gradio.js")  # Gradio's web-component loader, served locally
        assert loader.status_code == 200 and "javascript" in loader.headers["content-type"]
        assert c.get("/config").status_code == 401
        assert c.post("/login", data={"username": "admin", "password": "wrong"}).status_code == 400
        assert c.post("/login", data={"username": "admin", "password": "pw-123"}).status_code == 200
        config = c.get("/config")
        assert config.status_code == 200 and config.json()["version"].startswith("6.")


def test_unpaired_surrogate_is_422_not_500(client: TestClient) -> None:
    r = client.post("/api/ask", content='{"question": "\\ud800 imports"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "not valid text" in r.json()["error"]


def test_ask_with_a_document_filter(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/api/health").json()["documents"][0]
    r = client.post("/api/ask", json={"question": "What were imports in 2024?", "documents": [doc]})
    assert r.status_code == 200 and all(c["doc_id"] == doc for c in r.json()["citations"])
    bad = client.post("/api/ask", json={"question": "What were imports in 2024?", "documents": ["nope"]})
    assert bad.status_code == 422 and "Unknown document" in bad.json()["error"]
