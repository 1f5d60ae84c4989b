"""A corpus of several documents in the real browser: the document filter and the document's name
on each source (headless system Chromium, the real server and chain over two documents)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from web_live import TIMEOUT, answers, ask_ui, last_answer, serve

from conftest import CORPUS, DATA, make_settings

browser = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture(scope="module")
def two_docs_bot(tmp_path_factory, embedder):  # type: ignore[no-untyped-def]
    from chatbot.bot import Chatbot

    root = tmp_path_factory.mktemp("two-docs")
    corpus = root / "corpus"
    corpus.mkdir()
    for f in CORPUS.iterdir():
        if f.is_file():
            shutil.copy(f, corpus / f.name)
    shutil.copy(DATA / "harbor-report.md", corpus / "harbor-report.md")
    return Chatbot.load(make_settings(root, corpus=corpus), embedder=embedder)


@pytest.fixture(scope="module")
def live(two_docs_bot, tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    settings = two_docs_bot.settings.replace(data_dir=tmp_path_factory.mktemp("two-docs-data"))
    with serve(two_docs_bot, settings) as url:
        yield url


def test_document_filter_answers_only_from_the_chosen_documents(two_docs_bot) -> None:  # type: ignore[no-untyped-def]
    from chatbot.errors import QuestionError

    harbor = next(d for d in two_docs_bot.index.documents if "harbor" in d)
    trade = next(d for d in two_docs_bot.index.documents if "harbor" not in d)
    assert not two_docs_bot.ask("What were imports in 2024?").abstained
    only = two_docs_bot.ask("What were imports in 2024?", documents=[harbor])
    assert only.abstained or "1,617.93" not in only.text
    assert all(c.doc_id == harbor for c in only.citations)
    master = two_docs_bot.ask("Who is the harbour master?", documents=[harbor])
    assert "Ingrid Solberg" in master.text and {c.doc_id for c in master.citations} == {harbor}
    assert two_docs_bot.ask("Who is the harbour master?", documents=[trade]).abstained
    with pytest.raises(QuestionError, match="Unknown document"):
        two_docs_bot.ask("Who is the harbour master?", documents=["no-such-document"])


@browser
def test_document_filter_and_names_on_sources(page, live, two_docs_bot) -> None:  # type: ignore[no-untyped-def]
    titles = {d: doc.title for d, doc in two_docs_bot.index.documents.items()}
    trade = next(t for d, t in titles.items() if "harbor" not in d)
    harbor = next(t for d, t in titles.items() if "harbor" in d)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live)
    scope = page.locator("#cb-scope")
    expect(scope).to_be_visible(timeout=TIMEOUT)

    ask_ui(page, "What were imports in 2024?")  # all documents
    answer = last_answer(page)
    expect(answer).to_contain_text("1,617.93", timeout=TIMEOUT)
    answer.locator("details.cb-sources summary").click()
    expect(answer.locator(".cb-section").first).to_contain_text(trade)  # the document's name

    scope.locator("input").click()
    page.get_by_role("option", name=harbor).click()
    ask_ui(page, "What were imports in 2024?")  # only the harbour report: not there
    expect(answers(page)).to_have_count(2, timeout=60_000)
    expect(last_answer(page)).not_to_contain_text("1,617.93")
    expect(last_answer(page).locator("button.cb-cite")).to_have_count(0)
    ask_ui(page, "Who is the harbour master?")
    expect(answers(page)).to_have_count(3, timeout=TIMEOUT)
    expect(last_answer(page)).to_contain_text("Ingrid Solberg")
    last_answer(page).locator("details.cb-sources summary").click()
    expect(last_answer(page).locator(".cb-section").first).to_contain_text(harbor)
    expect(page.locator("#cb-article-panel .cb-doc-title").first).to_have_text(harbor)
