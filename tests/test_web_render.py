"""The web faces' pure parts: rendering (``chatbot.web.render``) and the refused-origin log."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from chatbot.types import Answer, Citation
from chatbot.web import render


def test_article_is_the_cleaned_document_with_every_answers_spans(bot) -> None:  # type: ignore[no-untyped-def]
    a = bot.ask("How much did trade turnover grow from 2022 to 2024?")
    b = bot.ask("What were imports in 2023?")
    html = render.article_html(bot.index.documents, bot.index.passages, [list(a.citations), list(b.citations)])
    text = html[html.index('class="cb-doc-text">') :]
    assert text.startswith('class="cb-doc-text">US-Azerbaijani trade relations')  # no "|" lines first
    assert "Print version" not in html
    assert html.count('<mark class="cb-mark') == 3
    assert html.count("cb-t0") >= 2 and "cb-k1-1" in html
    on = [m for m in html.split("<mark")[1:] if "cb-on" in m.split(">")[0]]
    assert len(on) == 1 and "cb-t1" in on[0].split(">")[0]  # the last answer's span is the lit one
    assert '<strong class="cb-heading">Trade trends' in html


def test_answer_html_has_citation_buttons_and_markdown() -> None:
    c = Citation(1, "Revenue was $5 <b>", "doc", "p1", 0, 18, "Money")
    ans = Answer("Revenue: $5 [1].", (c,), question="q")
    html = render.answer_html(ans, turn=3, titles={"doc": "Report", "other": "Other"})
    assert '<button type="button" class="cb-cite cb-go cb-ref-3-1">[1]' in html
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "Money · Report" in html  # the document's name when the corpus holds several
    assert render.answer_markdown(ans, {"doc": "Report"}) == "Revenue: $5 [1].\n\nSources:\n[1] “Revenue was $5 <b>” — Money"
    assert "&#10;" in html  # the Markdown's newlines survive the chat's Markdown layer


def test_fact_values_read_as_numbers() -> None:
    assert render.number(8130000.000000001) == "8,130,000"
    assert render.number(1617930000.0) == "1,617,930,000"
    assert render.number(3.07) == "3.07"
    assert render.number(2025.0) == "2025"
    assert render.number(None) == ""


def test_refused_origin_is_logged_once(bot, settings, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    from chatbot.web.server import create_app

    web = settings.replace(data_dir=tmp_path, cors_origins="https://allowed.example")
    caplog.set_level(logging.WARNING, logger="chatbot.web")
    with TestClient(create_app(bot, web, ui=False)) as client:
        for _ in range(3):
            client.post("/api/origin-check", headers={"Origin": "https://partner.example"}, content=b"")
        assert client.post("/api/origin-check", headers={"Origin": "https://allowed.example"}).status_code == 204
        client.get("/api/health", headers={"Origin": "http://testserver"})  # same origin
    refused = [r.getMessage() for r in caplog.records if "CHATBOT_CORS_ORIGINS" in r.getMessage()]
    assert len(refused) == 1
    assert "https://partner.example" in refused[0]
    assert "CHATBOT_CORS_ORIGINS=https://allowed.example,https://partner.example" in refused[0]
