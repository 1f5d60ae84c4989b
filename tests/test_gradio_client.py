"""The scriptable Gradio endpoint ``/ask``, driven with the official ``gradio_client`` against the
real server (uvicorn on a free 127.0.0.1 port, the session ``bot``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web_live import serve

pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def url(bot, settings, tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serve(bot, settings.replace(data_dir=tmp_path_factory.mktemp("client-data"))) as u:
        yield u


@pytest.fixture(scope="module")
def client(url: str, tmp_path_factory):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=str(tmp_path_factory.mktemp("dl")))


def test_ask_is_the_one_named_endpoint(client) -> None:  # type: ignore[no-untyped-def]
    api = client.view_api(print_info=False, return_format="dict")
    assert list(api["named_endpoints"]) == ["/ask"]  # the UI's own events stay private
    assert not api["unnamed_endpoints"]
    params = {p["parameter_name"]: p for p in api["named_endpoints"]["/ask"]["parameters"]}
    assert set(params) == {"question", "history"}
    assert not params["question"]["parameter_has_default"] and params["history"]["parameter_has_default"]


def test_ask_answers_with_citations_and_history(client, bot) -> None:  # type: ignore[no-untyped-def]
    result = client.predict(question="What were imports in 2023?", api_name="/ask")
    assert "888.1" in result["text"] and not result["abstained"]
    c = result["citations"][0]
    doc = bot.index.documents[c["doc_id"]].text
    assert doc[c["start"] : c["end"]] == c["quote"]  # checkable, as from /api/ask

    history = [{"role": "user", "content": "What were imports in 2023?"}, {"role": "assistant", "content": result["text"]}]
    follow = client.predict(question="And in 2024?", history=history, api_name="/ask")
    assert "1,617.93" in follow["text"]


def test_ask_reports_a_bad_question(client) -> None:  # type: ignore[no-untyped-def]
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="empty"):
        client.predict(question="   ", api_name="/ask")
