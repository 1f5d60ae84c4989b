"""Real-browser tests (headless system Chromium through pytest-playwright) against the real server:
uvicorn in a background thread on a free 127.0.0.1 port, around the session ``bot``.

Set ``UI_SCREENSHOT=docs/ui.png`` to keep the screenshot of an answer with its open Sources.
"""

from __future__ import annotations

import http.server
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import free_port

browser = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

XSS_IMG = '<img src=x onerror="window.__xss=1">'
XSS_SCRIPT = "<script>window.__xss=1</script>"
TIMEOUT = 20_000


class StaticSite:
    """A second origin: a tiny stdlib HTTP server serving fixed HTML pages by path."""

    def __init__(self, pages: dict[str, str]) -> None:
        self.port = free_port()
        encoded = {path: html.encode() for path, html in pages.items()}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib API
                body = encoded.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> StaticSite:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        self.httpd.shutdown()
        self.httpd.server_close()


def page_with_widget(api_port: int) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Partner site</title></head>"
        "<body><h1>A page on another origin</h1>"
        f"<script src='http://127.0.0.1:{api_port}/widget.js' data-title='Ask the article'></script>"
        "</body></html>"
    )


def page_with_gradio_app(api_port: int) -> str:
    """The <gradio-app> web component, loaded from the chat server itself (no CDN)."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Partner site</title>"
        f"<script type='module' src='http://127.0.0.1:{api_port}/gradio.js'></script></head>"
        f"<body><h1>Web component</h1><gradio-app src='http://127.0.0.1:{api_port}/' eager='true'></gradio-app>"
        "</body></html>"
    )


@pytest.fixture(scope="module")
def live(bot, settings, tmp_path_factory) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    """The real app on a free port; widget host pages on two other origins (one allowed)."""
    import uvicorn

    from chatbot.web.server import create_app

    api_port = free_port()
    data_dir = tmp_path_factory.mktemp("web-data")
    pages = {"/": page_with_widget(api_port), "/component": page_with_gradio_app(api_port)}
    with StaticSite(pages) as allowed, StaticSite(pages) as other:
        web_settings = settings.replace(data_dir=data_dir, cors_origins=allowed.origin, port=api_port)
        app = create_app(bot, web_settings, token="")
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=api_port, log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        yield {
            "url": f"http://127.0.0.1:{api_port}/",
            "allowed": allowed.origin + "/",
            "other": other.origin + "/",
            "data_dir": data_dir,
        }
        server.should_exit = True
        thread.join(10)


def ask_ui(page, question: str) -> None:  # type: ignore[no-untyped-def]
    box = page.locator("#cb-question textarea")
    box.fill(question)
    box.press("Enter")


def last_answer(page):  # type: ignore[no-untyped-def]
    return page.locator("#cb-chat .cb-answer:not(.cb-streaming)").last


@browser
def test_ui_answer_with_citation_sources_and_highlight(page, live, bot) -> None:  # type: ignore[no-untyped-def]
    expected = bot.ask("What were imports in 2024?")
    quote = expected.citations[0].quote
    page.set_viewport_size({"width": 1360, "height": 900})
    page.goto(live["url"])
    ask_ui(page, "What were imports in 2024?")
    answer = last_answer(page)
    expect(answer).to_contain_text("1,617.93", timeout=TIMEOUT)
    expect(answer).to_contain_text("[1]")
    sources = answer.locator("details.cb-sources")
    expect(sources).to_have_count(1)
    assert sources.get_attribute("open") is None  # collapsed until clicked
    sources.locator("summary").click()
    expect(sources.locator("li").first).to_contain_text(quote)
    expect(sources.locator("li").first).to_contain_text(expected.citations[0].section)
    mark = page.locator("#cb-article-panel mark").first
    expect(mark).to_contain_text(quote)

    # a calculation with two citations: two marks, a bullet list, Sources opened for the screenshot
    ask_ui(page, "How much did trade turnover grow from 2022 to 2024?")
    expect(page.locator("#cb-chat .cb-answer:not(.cb-streaming)")).to_have_count(2, timeout=TIMEOUT)
    answer = last_answer(page)
    expect(answer).to_contain_text("[2]")
    expect(answer.locator("li").first).to_contain_text("change")
    expect(page.locator("#cb-article-panel mark")).to_have_count(2)
    answer.locator("details.cb-sources summary").click()
    expect(answer.locator("details.cb-sources li")).to_have_count(2)
    shot = Path(os.environ.get("UI_SCREENSHOT") or live["data_dir"] / "ui.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    page.get_by_role("tab", name="Facts").click()
    expect(page.locator("#cb-facts")).to_contain_text("Memorandum of Understanding", timeout=TIMEOUT)
    expect(page.locator("#cb-checks")).to_contain_text("Import + Export = Trade turnover")


@browser
def test_ui_history_new_chat_and_feedback(page, live) -> None:  # type: ignore[no-untyped-def]
    page.goto(live["url"])
    ask_ui(page, "What were imports in 2023?")
    expect(last_answer(page)).to_contain_text("888.1", timeout=TIMEOUT)
    ask_ui(page, "And in 2024?")
    expect(page.locator("#cb-chat .cb-answer:not(.cb-streaming)")).to_have_count(2, timeout=TIMEOUT)
    expect(last_answer(page)).to_contain_text("1,617.93")

    page.locator("#cb-chat button[aria-label='Like']").last.click()
    db = live["data_dir"] / "feedback.sqlite"
    deadline = time.monotonic() + 10
    rows: list = []
    while time.monotonic() < deadline and not rows:
        if db.exists():
            con = sqlite3.connect(db)
            try:
                rows = con.execute("SELECT question, answer, citations, vote FROM feedback WHERE source='ui'").fetchall()
            except sqlite3.OperationalError:  # the file exists but the table is being created
                rows = []
            finally:
                con.close()
        time.sleep(0.2)
    assert rows and rows[-1][0] == "And in 2024?" and "1,617.93" in rows[-1][1] and rows[-1][3] == 1
    assert "quote" in rows[-1][2]

    page.locator("#cb-new").click()
    expect(page.locator("#cb-chat .cb-answer")).to_have_count(0, timeout=TIMEOUT)
    ask_ui(page, "And in 2024?")  # a new conversation: no history to resolve "And in 2024?"
    expect(page.locator("#cb-chat .cb-answer:not(.cb-streaming)")).to_have_count(1, timeout=TIMEOUT)


@browser
def test_ui_shows_markup_as_text_and_runs_nothing(page, live) -> None:  # type: ignore[no-untyped-def]
    page.goto(live["url"])
    for i, payload in enumerate((XSS_IMG, XSS_SCRIPT), 1):
        ask_ui(page, payload)
        expect(page.locator("#cb-chat .cb-answer:not(.cb-streaming)")).to_have_count(i, timeout=TIMEOUT)
        expect(page.locator("#cb-chat .cb-user").last).to_have_text(payload)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert page.locator("#cb-chat img[src='x']").count() == 0
    assert page.locator("#cb-chat script").count() == 0


@browser
def test_widget_on_another_origin(page, live) -> None:  # type: ignore[no-untyped-def]
    page.goto(live["allowed"])
    page.locator(".bubble").click()  # Playwright CSS pierces the widget's open shadow root
    page.locator("textarea").fill("What were imports in 2024?")
    page.locator("textarea").press("Enter")
    answer = page.locator(".msg.bot").last
    expect(answer).to_contain_text("1,617.93", timeout=TIMEOUT)
    expect(answer.locator(".sources li").first).to_contain_text("$1,617.93M")
    page.locator("textarea").fill("And in 2023?")
    page.locator("textarea").press("Enter")
    expect(page.locator(".msg.bot")).to_have_count(2, timeout=TIMEOUT)
    expect(page.locator(".msg.bot").last).to_contain_text("888.1")  # the page keeps the history

    page.goto(live["other"])  # an origin not in CHATBOT_CORS_ORIGINS: the browser blocks the call
    page.locator(".bubble").click()
    page.locator("textarea").fill("What were imports in 2024?")
    page.locator("textarea").press("Enter")
    expect(page.locator(".msg.error")).to_contain_text("Could not get an answer", timeout=TIMEOUT)
    assert page.locator(".msg.bot").count() == 0


@browser
def test_gradio_web_component_on_another_origin(page, live) -> None:  # type: ignore[no-untyped-def]
    page.goto(live["allowed"] + "component")
    ask_ui(page, "What were imports in 2024?")
    expect(last_answer(page)).to_contain_text("1,617.93", timeout=TIMEOUT)
    expect(last_answer(page).locator("details.cb-sources")).to_have_count(1)


@browser
def test_embed_page_answers_and_escapes(page, live) -> None:  # type: ignore[no-untyped-def]
    page.goto(live["url"] + "embed")
    box = page.locator("textarea")
    box.fill("What were imports in 2024?")
    box.press("Enter")
    expect(page.locator(".msg.bot").last).to_contain_text("1,617.93", timeout=TIMEOUT)
    expect(page.locator(".msg.bot .sources li").first).to_contain_text("$1,617.93M")
    for i, payload in enumerate((XSS_IMG, XSS_SCRIPT), 2):
        box.fill(payload)
        box.press("Enter")
        expect(page.locator(".msg.bot, .msg.error")).to_have_count(i, timeout=TIMEOUT)
        expect(page.locator(".msg.user").last).to_have_text(payload)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert page.locator("img").count() == 0


# ---- the UI callback's streaming, without a browser --------------------------------------------------------
def _respond_fn(bot, settings, tmp_path):  # type: ignore[no-untyped-def]
    from chatbot.web.feedback import FeedbackStore
    from chatbot.web.ui import build_ui

    demo = build_ui(bot, settings.replace(data_dir=tmp_path), FeedbackStore.in_dir(tmp_path))
    return next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "respond")


def test_ui_streams_offline_answer_in_steps(bot, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    respond = _respond_fn(bot, settings, tmp_path)
    steps = list(respond("How much did trade turnover grow from 2022 to 2024?", []))
    chats = [s[0] for s in steps if isinstance(s[0], list)]
    assert len(chats) >= 4  # user message, several partial steps, final answer
    partial = [c[-1]["content"] for c in chats if "cb-streaming" in c[-1]["content"]]
    assert len(partial) >= 3 and len(set(partial)) == len(partial)
    final_chat, turns, article, _ = steps[-1]
    assert "cb-sources" in final_chat[-1]["content"] and "cb-streaming" not in final_chat[-1]["content"]
    assert article.count("<mark") == 2
    assert turns[0]["answer"]["citations"] and steps[0][3] == ""  # the textbox is cleared at once


def test_ui_passes_llm_tokens_through(bot, settings, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    final = bot.ask("What were imports in 2024?")
    tokens = ["Imports ", "in 2024 ", "were <b>$1,617.93M</b> [1]."]

    def fake_stream(question, history=None):  # type: ignore[no-untyped-def]
        bot.check_question(question)
        yield from tokens
        yield final

    monkeypatch.setattr(bot, "stream", fake_stream)
    respond = _respond_fn(bot, settings, tmp_path)
    steps = list(respond("What were imports in 2024?", []))
    shown = [s[0][-1]["content"] for s in steps if isinstance(s[0], list)]
    assert any("Imports in 2024" in c and "cb-streaming" in c for c in shown)
    assert any("&lt;b&gt;" in c for c in shown) and not any("<b>$" in c for c in shown)  # tokens escaped
    assert "1,617.93" in shown[-1] and "cb-sources" in shown[-1]  # then the verified answer


def test_ui_rejects_empty_question_without_a_turn(bot, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    respond = _respond_fn(bot, settings, tmp_path)
    with pytest.warns(UserWarning, match="empty"):
        steps = list(respond("   ", []))
    assert len(steps) == 1  # a warning toast, nothing added to the conversation
