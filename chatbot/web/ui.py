"""The Gradio chat UI (Gradio 6, messages format).

The callbacks only call ``bot.stream`` / ``bot.ask`` and render the result with
:mod:`chatbot.web.render`; every user or document text is escaped there before it becomes HTML.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from chatbot.errors import QuestionError
from chatbot.settings import Settings
from chatbot.types import Answer, Citation
from chatbot.web import render
from chatbot.web.feedback import FeedbackStore

log = logging.getLogger(__name__)

DEFAULT_EXAMPLES: list[str] = []  # questions about a document live with it: corpus/examples.list
EXAMPLES_FILE = "examples.list"  # optional, in the corpus folder: one question per line (not a .txt: that would be indexed)

# Offline answers are ready at once; they are shown in ~this many steps so the UI shows progress.
STREAM_STEPS = 12
STREAM_DELAY_S = 0.015

CSS = """
#cb-article-panel .cb-article{position:relative;max-height:68vh;overflow-y:auto;padding:4px 10px 10px;
  border:1px solid var(--border-color-primary);border-radius:8px;background:var(--background-fill-secondary)}
.cb-doc-text{white-space:pre-wrap;font-size:0.92em;line-height:1.55}
.cb-doc-title{margin:8px 0 6px}
.cb-heading{display:inline-block;margin-top:6px;font-size:1.05em}
.cb-article mark{background:#fde68a;color:inherit;padding:1px 2px;border-radius:3px}
.cb-mark-n{font-weight:600;margin-right:2px;color:#92400e}
.cb-hint{color:var(--body-text-color-subdued);font-style:italic}
.cb-cite{font-weight:600;color:var(--color-accent)}
.cb-sources{margin-top:8px;font-size:0.92em}
.cb-sources summary{cursor:pointer;font-weight:600}
.cb-sources ol{margin:6px 0 0 0;padding-left:22px}
.cb-sources li{margin:4px 0}
.cb-section{color:var(--body-text-color-subdued);font-style:italic}
.cb-abstained{opacity:0.9}
.cb-error{color:#b91c1c}
.cb-caret{opacity:0.6}
"""

# Scroll the article panel to the first highlighted citation after each answer.
ARTICLE_JS = """
const go = () => {
  const box = element.querySelector('.cb-article');
  const m = box && box.querySelector('mark');
  if (m) { box.scrollTop = Math.max(0, m.offsetTop - box.clientHeight / 3); }
};
watch('value', go);
go();
"""


def load_examples(settings: Settings) -> list[str]:
    path = Path(settings.corpus_dir) / EXAMPLES_FILE
    if path.is_file():
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        found = [ln for ln in lines if ln and not ln.startswith("#")]
        if found:
            return found
    return list(DEFAULT_EXAMPLES)


def _citations(answer: dict[str, Any]) -> list[Citation]:
    return [Citation(**c) for c in answer.get("citations", [])]


def _messages(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for t in turns:
        out.append({"role": "user", "content": t["user_html"]})
        out.append({"role": "assistant", "content": t["bot_html"]})
    return out


def _history(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The conversation as plain text for ``bot.ask`` (failed turns left out)."""
    out = []
    for t in turns:
        if t.get("answer") is not None:
            out.append({"role": "user", "content": t["question"]})
            out.append({"role": "assistant", "content": t["answer"]["text"]})
    return out


def _steps(text: str) -> list[str]:
    words = max(1, len(text.split()))
    return list(render.chunks(text, size=max(2, -(-words // STREAM_STEPS))))


def build_ui(bot: Any, settings: Settings, feedback: FeedbackStore, examples: list[str] | None = None) -> gr.Blocks:
    docs = bot.index.documents
    passages = bot.index.passages
    titles = ", ".join(d.title or d.doc_id for d in docs.values()) or "the document"
    examples = examples if examples is not None else load_examples(settings)

    def article(citations: list[Citation]) -> str:
        return render.article_html(docs, passages, citations)

    def respond(question: str, turns: list[dict[str, Any]] | None) -> Iterator[tuple[Any, ...]]:
        turns = list(turns or [])
        try:
            q = bot.check_question(question)
        except QuestionError as exc:
            gr.Warning(str(exc))
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        turn: dict[str, Any] = {"question": q, "answer": None, "user_html": render.user_html(q), "bot_html": render.partial_html("")}
        history = _history(turns)
        turns.append(turn)
        yield _messages(turns), turns, gr.skip(), ""

        answer: Answer | None = None
        streamed = ""
        try:
            for item in bot.stream(q, history):
                if isinstance(item, Answer):
                    answer = item
                else:
                    streamed += str(item)
                    turn["bot_html"] = render.partial_html(streamed)
                    yield _messages(turns), turns, gr.skip(), gr.skip()
        except QuestionError as exc:
            turn["bot_html"] = render.error_html(str(exc))
            yield _messages(turns), turns, gr.skip(), gr.skip()
            return
        except Exception:  # noqa: BLE001 - show a message, log the details
            log.exception("UI answer failed")
            turn["bot_html"] = render.error_html("Sorry, something went wrong while answering. Please try again.")
            yield _messages(turns), turns, gr.skip(), gr.skip()
            return
        if answer is None:  # pragma: no cover - bot.stream always ends with an Answer
            return
        if not streamed:  # offline: the answer is instant; show it in a few steps
            for prefix in _steps(answer.text):
                turn["bot_html"] = render.partial_html(prefix)
                yield _messages(turns), turns, gr.skip(), gr.skip()
                time.sleep(STREAM_DELAY_S)
        turn["answer"] = answer.to_dict()
        turn["bot_html"] = render.answer_html(answer)
        yield _messages(turns), turns, article(list(answer.citations)), gr.skip()

    def on_like(turns: list[dict[str, Any]] | None, data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turns = turns or []
        if not isinstance(index, int) or index // 2 >= len(turns):
            return
        turn = turns[index // 2]
        vote = 1 if data.liked is True else -1 if data.liked is False else 0
        if turn.get("answer") is None or vote == 0:
            return
        feedback.add(turn["question"], turn["answer"]["text"], turn["answer"]["citations"], vote, source="ui")
        gr.Info("Thanks — your feedback was recorded.")

    def new_chat() -> tuple[Any, ...]:
        return [], [], article([]), ""

    with gr.Blocks(title="Document chat", fill_width=True) as demo:
        turns = gr.State([])
        gr.Markdown(
            f"### Ask about: {render.esc(titles)}\n"
            "Answers come only from the document, with numbered citations. Open **Sources** under an "
            "answer for the exact quotes; the cited passages are highlighted in the article.",
            elem_id="cb-intro",
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=380):
                        chat = gr.Chatbot(
                            label="Conversation",
                            elem_id="cb-chat",
                            height=520,
                            sanitize_html=True,
                            allow_tags=False,
                            latex_delimiters=[],
                            render_markdown=True,
                            feedback_options=("Like", "Dislike"),
                            buttons=["copy"],
                            placeholder="Ask a question about the document, or pick an example below.",
                        )
                        with gr.Row():
                            box = gr.Textbox(
                                placeholder="Type a question and press Enter",
                                show_label=False,
                                lines=1,
                                max_lines=4,
                                max_length=settings.max_question_chars,
                                scale=6,
                                elem_id="cb-question",
                                autofocus=True,
                            )
                            send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="cb-send")
                        with gr.Row():
                            new = gr.Button("New chat", variant="secondary", size="sm", elem_id="cb-new")
                        if examples:
                            gr.Examples(examples=[[e] for e in examples], inputs=[box], label="Example questions", elem_id="cb-examples")
                    with gr.Column(scale=2, min_width=320):
                        gr.Markdown("**Article** — the passages cited by the last answer are highlighted.", elem_id="cb-article-label")
                        panel = gr.HTML(article([]), label="Article", elem_id="cb-article-panel", js_on_load=ARTICLE_JS)
            with gr.Tab("Facts", id="facts"):
                gr.Markdown("Structured facts extracted from the document, each with the quote it comes from.")
                gr.Dataframe(
                    value=pd.DataFrame(render.fact_rows(bot.facts_db.facts), columns=render.FACT_COLUMNS),
                    interactive=False,
                    wrap=True,
                    elem_id="cb-facts",
                    label="Facts",
                    max_height=420,
                )
                for i, t in enumerate(bot.facts_db.tables, 1):
                    gr.Dataframe(
                        value=pd.DataFrame([list(r) for r in t.cells], columns=list(t.columns)),
                        interactive=False,
                        label=f"Table {i}: {t.caption or t.doc_id}",
                        elem_id=f"cb-table-{i}",
                    )
                gr.Markdown(render.checks_markdown(bot.facts_db.tables), elem_id="cb-checks")

        outputs = [chat, turns, panel, box]
        common = {"api_visibility": "private", "show_progress": "minimal"}
        box.submit(respond, [box, turns], outputs, **common)
        send.click(respond, [box, turns], outputs, **common)
        new.click(new_chat, None, outputs, api_visibility="private")
        chat.clear(new_chat, None, outputs, api_visibility="private")
        chat.like(on_like, [turns], None, api_visibility="private")
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo
