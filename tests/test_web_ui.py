"""Real-browser tests (headless system Chromium through pytest-playwright) against the real server:
uvicorn in a background thread on a free 127.0.0.1 port, around the session ``bot``.

The chat itself: answers with their citations and Sources, history, feedback, escaping, the widget,
the embed page and ``<gradio-app>`` on other origins. Evidence, themes, phones, speed and
accessibility are in ``test_web_evidence.py``.

Set ``UI_SCREENSHOT=<path.png>`` to keep the screenshot of an answer with its open Sources.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_live import TIMEOUT, StaticSite, answers, ask_ui, last_answer, serve

browser = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

XSS_IMG = '<img src=x onerror="window.__xss=1">'
XSS_SCRIPT = "<script>window.__xss=1</script>"


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
    from conftest import free_port

    api_port = free_port()
    data_dir = tmp_path_factory.mktemp("web-data")
    pages = {"/": page_with_widget(api_port), "/component": page_with_gradio_app(api_port)}
    with StaticSite(pages) as allowed, StaticSite(pages) as other:
        web_settings = settings.replace(data_dir=data_dir, cors_origins=allowed.origin)
        with serve(bot, web_settings, port=api_port) as url:
            yield {"url": url, "allowed": allowed.origin + "/", "other": other.origin + "/", "data_dir": data_dir}


def feedback_rows(data_dir: Path, want: int = 1) -> list[tuple]:
    """The UI's feedback rows, oldest first, waiting up to 10 s for at least ``want`` of them."""
    db = data_dir / "feedback.sqlite"
    deadline = time.monotonic() + 10
    while True:
        rows: list = []
        if db.exists():
            con = sqlite3.connect(db)
            try:
                rows = con.execute("SELECT question, answer, citations, vote, comment FROM feedback WHERE source='ui' ORDER BY id").fetchall()
            except sqlite3.OperationalError:  # the file exists but the table is being created
                rows = []
            finally:
                con.close()
        if len(rows) >= want or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


@browser
def test_ui_answer_with_citation_sources_and_highlight(page, live, bot) -> None:  # type: ignore[no-untyped-def]
    expected = bot.ask("What were imports in 2024?")
    quote = expected.citations[0].quote
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live["url"])
    ask_ui(page, "What were imports in 2024?")
    answer = last_answer(page)
    expect(answer).to_contain_text("1,617.93", timeout=TIMEOUT)
    expect(answer.locator("button.cb-cite")).to_have_count(1)
    sources = answer.locator("details.cb-sources")
    expect(sources).to_have_count(1)
    assert sources.get_attribute("open") is None  # collapsed until clicked
    sources.locator("summary").click()
    expect(sources.locator("li").first).to_contain_text(quote)
    expect(sources.locator("li").first).to_contain_text(expected.citations[0].section)
    expect(page.locator("#cb-article-panel mark.cb-on").first).to_contain_text(quote)

    # a calculation with two citations: both spans highlighted, a bullet list, Sources opened
    ask_ui(page, "How much did trade turnover grow from 2022 to 2024?")
    expect(answers(page)).to_have_count(2, timeout=TIMEOUT)
    answer = last_answer(page)
    expect(answer.locator("button.cb-cite")).to_have_count(2)
    expect(answer.locator("li").first).to_contain_text("change")
    expect(page.locator("#cb-article-panel mark.cb-on")).to_have_count(2)
    answer.locator("details.cb-sources summary").click()
    expect(answer.locator("details.cb-sources li")).to_have_count(2)
    shot = Path(os.environ.get("UI_SCREENSHOT") or live["data_dir"] / "ui.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    page.get_by_role("tab", name="Facts").click()
    expect(page.locator("#cb-facts")).to_contain_text("Memorandum of Understanding", timeout=TIMEOUT)
    expect(page.locator("#cb-facts")).to_contain_text("8,130,000")  # not 8130000.000000001
    expect(page.locator("#cb-checks")).to_contain_text("Import + Export = Trade turnover")


@browser
def test_ui_history_new_chat_and_feedback(page, live) -> None:  # type: ignore[no-untyped-def]
    page.goto(live["url"])
    ask_ui(page, "What were imports in 2023?")
    expect(last_answer(page)).to_contain_text("888.1", timeout=TIMEOUT)
    ask_ui(page, "And in 2024?")
    expect(answers(page)).to_have_count(2, timeout=TIMEOUT)
    expect(last_answer(page)).to_contain_text("1,617.93")

    page.locator("#cb-chat button[aria-label='Like']").last.click()
    rows = feedback_rows(live["data_dir"])
    assert rows and rows[-1][0] == "And in 2024?" and "1,617.93" in rows[-1][1] and rows[-1][3] == 1
    assert "quote" in rows[-1][2]
    expect(page.locator("#cb-reason")).to_be_hidden()  # a thumbs-up asks nothing more

    page.locator("#cb-new").click()
    expect(page.locator("#cb-chat .cb-answer")).to_have_count(0, timeout=TIMEOUT)
    ask_ui(page, "And in 2024?")  # a new conversation: no history to resolve "And in 2024?"
    expect(answers(page)).to_have_count(1, timeout=TIMEOUT)


@browser
def test_thumbs_down_carries_a_reason(page, live) -> None:  # type: ignore[no-untyped-def]
    page.goto(live["url"])
    ask_ui(page, "Who led the US Chamber of Commerce delegation?")
    expect(last_answer(page)).to_contain_text("Kush Choksi", timeout=TIMEOUT)
    before = len(feedback_rows(live["data_dir"], want=0))
    page.locator("#cb-chat button[aria-label='Dislike']").last.click()
    reason = page.locator("#cb-reason")
    expect(reason).to_be_visible(timeout=TIMEOUT)
    rows = feedback_rows(live["data_dir"], want=before + 1)
    assert rows[-1][0] == "Who led the US Chamber of Commerce delegation?" and rows[-1][3] == -1
    reason.get_by_label("Wrong or missing source").check()
    reason.get_by_label("Details (optional)").fill("The quote should name his title.")
    reason.get_by_role("button", name="Send feedback").click()
    expect(reason).to_be_hidden(timeout=TIMEOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not feedback_rows(live["data_dir"], want=0)[-1][4]:
        time.sleep(0.2)
    rows = feedback_rows(live["data_dir"], want=0)
    assert len(rows) == before + 1  # the reason is added to the same vote, not a second vote
    assert rows[-1][4] == "Wrong or missing source: The quote should name his title."


@browser
def test_ui_shows_markup_as_text_and_runs_nothing(page, live) -> None:  # type: ignore[no-untyped-def]
    page.goto(live["url"])
    for i, payload in enumerate((XSS_IMG, XSS_SCRIPT), 1):
        ask_ui(page, payload)
        expect(answers(page)).to_have_count(i, timeout=TIMEOUT)
        expect(page.locator("#cb-chat .cb-user").last).to_have_text(payload)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert page.locator("#cb-chat img[src='x']").count() == 0
    assert page.locator("#cb-chat script").count() == 0
    # the accessible names of the messages are their text, not their HTML
    labels = page.locator("#cb-chat [aria-label^='You:'], #cb-chat [aria-label^='Answer:']").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-label'))"
    )
    assert labels and not any("<div" in x or "class=" in x for x in labels)
    assert f"You: {XSS_IMG}" in labels


@browser
def test_widget_on_another_origin(page, live, caplog) -> None:  # type: ignore[no-untyped-def]
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

    # an origin not in CHATBOT_CORS_ORIGINS: the browser blocks the call; the widget names the fix
    caplog.set_level(logging.WARNING, logger="chatbot.web")
    page.goto(live["other"])
    page.locator(".bubble").click()
    for i in (1, 2):
        page.locator("textarea").fill("What were imports in 2024?")
        page.locator("textarea").press("Enter")
        expect(page.locator(".msg.error")).to_have_count(i, timeout=TIMEOUT)
    error = page.locator(".msg.error").last
    expect(error).to_contain_text("CHATBOT_CORS_ORIGINS")
    expect(error).to_contain_text(live["other"].rstrip("/"))
    assert page.locator(".msg.bot").count() == 0
    refused = [r for r in caplog.records if "CHATBOT_CORS_ORIGINS" in r.getMessage()]
    assert len(refused) == 1, [r.getMessage() for r in refused]  # logged once per origin
    assert live["other"].rstrip("/") in refused[0].getMessage()


@browser
def test_gradio_web_component_on_another_origin(page, live) -> None:  # type: ignore[no-untyped-def]
    page.goto(live["allowed"] + "component")
    ask_ui(page, "What were imports in 2024?")
    expect(last_answer(page)).to_contain_text("1,617.93", timeout=TIMEOUT)
    expect(last_answer(page).locator("details.cb-sources")).to_have_count(1)
    last_answer(page).locator("button.cb-cite").first.click()  # the page script works in the component too
    expect(page.locator("#cb-article-panel mark.cb-focus").first).to_contain_text("1,617.93M")


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


# ---- the UI callbacks, without a browser ------------------------------------------------------------
def _fn(bot, settings, tmp_path, name: str):  # type: ignore[no-untyped-def]
    from chatbot.web.feedback import FeedbackStore
    from chatbot.web.ui import build_ui

    demo = build_ui(bot, settings.replace(data_dir=tmp_path), FeedbackStore.in_dir(tmp_path))
    return next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name)


def test_ui_shows_the_question_then_the_whole_offline_answer(bot, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    start = _fn(bot, settings, tmp_path, "start")
    respond = _fn(bot, settings, tmp_path, "respond")
    chat, turns, box, *_ = start("How much did trade turnover grow from 2022 to 2024?", [])
    assert box == "" and "cb-user" in chat[0]["content"] and "cb-streaming" in chat[1]["content"]
    steps = list(respond(turns))
    assert len(steps) == 1  # offline: no simulated streaming, the answer arrives whole
    final_chat, turns, article = steps[0]
    assert "cb-sources" in final_chat[-1]["content"] and "cb-streaming" not in final_chat[-1]["content"]
    assert article.count('<mark class="cb-mark') == 2 and article.count("cb-on") >= 2
    assert turns[0]["answer"]["citations"]


def test_ui_passes_llm_tokens_through(bot, settings, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    final = bot.ask("What were imports in 2024?")
    tokens = ["Imports ", "in 2024 ", "were <b>$1,617.93M</b> [1]."]

    def fake_stream(question, history=None, documents=None):  # type: ignore[no-untyped-def]
        bot.check_question(question)
        yield from tokens
        yield final

    monkeypatch.setattr(bot, "stream", fake_stream)
    start = _fn(bot, settings, tmp_path, "start")
    respond = _fn(bot, settings, tmp_path, "respond")
    turns = start("What were imports in 2024?", [])[1]
    steps = list(respond(turns))
    shown = [s[0][-1]["content"] for s in steps]
    assert len(steps) == len(tokens) + 1
    assert any("Imports in 2024" in c and "cb-streaming" in c for c in shown)
    assert any("&lt;b&gt;" in c for c in shown) and not any("<b>$" in c for c in shown)  # tokens escaped
    assert "1,617.93" in shown[-1] and "cb-sources" in shown[-1]  # then the verified answer


def test_ui_rejects_empty_question_without_a_turn(bot, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import gradio as gr

    start = _fn(bot, settings, tmp_path, "start")
    with pytest.raises(gr.Error, match="empty"):  # a toast; the chain stops, nothing is added
        start("   ", [])


@browser
def test_ui_mounted_in_the_background_after_the_api_is_up(page, bot, settings, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``chatbot serve`` does not wait for Gradio's import: the API answers at once, ``/`` shows a
    self-refreshing page and health says ``"ui": "starting"``; then the real UI works at ``/``."""
    import threading

    import httpx

    from chatbot.web import ui_mount

    release = threading.Event()
    real_build = ui_mount.build

    def held_build(app, examples):  # type: ignore[no-untyped-def]
        release.wait(60)  # as if Gradio were still importing
        return real_build(app, examples)

    monkeypatch.setattr(ui_mount, "build", held_build)
    with serve(bot, settings.replace(data_dir=tmp_path / "data"), ui="background") as url:
        starting = httpx.get(url, timeout=10)
        assert starting.status_code == 503 and 'http-equiv="refresh"' in starting.text and "starting" in starting.text
        health = httpx.get(url + "api/health", timeout=30)
        assert health.status_code == 200 and health.json()["ui"] == "starting"
        assert httpx.post(url + "api/ask", json={"question": "What were imports in 2024?"}, timeout=60).status_code == 200
        page.goto(url)
        expect(page.locator("h1")).to_contain_text("starting")
        release.set()
        deadline = time.monotonic() + 60
        while httpx.get(url + "api/health", timeout=30).json()["ui"] != "ready":
            assert time.monotonic() < deadline, "the UI was never mounted"
            time.sleep(0.2)
        expect(page.locator("#cb-question textarea")).to_be_visible(timeout=TIMEOUT)  # the page reloaded itself
        ask_ui(page, "What were imports in 2024?")
        expect(last_answer(page)).to_contain_text("1,617.93", timeout=TIMEOUT)
