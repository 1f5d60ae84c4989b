"""The Gradio chat UI (Gradio 6, messages format).

The callbacks only call the ``Chatbot`` (``check_question``, ``stream``, ``ask``), the follow-up
suggester (:mod:`chatbot.suggest`) and the feedback store, and render with
:mod:`chatbot.web.render`, which escapes every user or document text before it becomes HTML.
Behaviour that needs no server (citations that scroll the article, copy, the phone drawer) is the
page script ``static/chat.js``; the look is ``static/chat.css`` (passed to Gradio by ``server.py``).

Asking is three steps: the question is added to the conversation at once (not queued), the answer
replaces its placeholder as soon as the bot has it (only real LLM tokens stream), then up to three
follow-up questions are offered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import pandas as pd

from chatbot.errors import QuestionError
from chatbot.settings import Settings
from chatbot.suggest import MAX_SUGGESTIONS, follow_ups
from chatbot.types import Answer, Citation
from chatbot.web import render
from chatbot.web.feedback import FeedbackStore

if TYPE_CHECKING:
    from chatbot.bot import Chatbot

__all__ = ["CSS", "CLIENT_JS", "build_ui", "load_examples"]

log = logging.getLogger(__name__)
ALL = ""  # the document filter's value for the whole corpus

STATIC = Path(__file__).parent / "static"
CSS = (STATIC / "chat.css").read_text(encoding="utf-8")  # passed to mount_gradio_app by server.py
# Runs once when the article panel mounts (Gradio's js_on_load): the page's behaviour, delegated
# from the document so it also covers answers added later and the <gradio-app> component.
CLIENT_JS = (STATIC / "chat.js").read_text(encoding="utf-8")

DEFAULT_EXAMPLES: list[str] = []  # questions about a document live with it: corpus/examples.list
EXAMPLES_FILE = "examples.list"  # optional, in the corpus folder: one question per line (not a .txt: that would be indexed)
MAX_EXAMPLES = 5
REASONS = ["Wrong answer", "Wrong or missing source", "It should have answered", "It should have said it does not know", "Other"]

ASK_API_DESCRIPTION = (
    "Answer a question about the indexed document(s), with checkable citations. "
    "history: the conversation so far, oldest first, as [{'role': 'user'|'assistant', 'content': str}] "
    "(optional). Returns the Answer as a dict: text (with [n] markers), citations "
    "[{n, quote, doc_id, passage_id, start, end, section}] where quote == document[start:end], "
    "abstained, route, notes, timings, question, standalone_question."
)


def load_examples(settings: Settings) -> list[str]:
    path = Path(settings.corpus_dir) / EXAMPLES_FILE
    if path.is_file():
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        found = [ln for ln in lines if ln and not ln.startswith("#")]
        if found:
            return found
    return list(DEFAULT_EXAMPLES)


def _answer(d: dict[str, Any]) -> Answer:
    """The stored ``Answer.to_dict()`` of a turn back as an ``Answer`` (for the suggester)."""
    return Answer(
        text=d["text"],
        citations=tuple(Citation(**c) for c in d.get("citations", [])),
        abstained=bool(d.get("abstained")),
        route=d.get("route", "text"),
        question=d.get("question", ""),
        standalone_question=d.get("standalone_question", ""),
    )


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


def _cited(turns: list[dict[str, Any]]) -> list[list[Citation]]:
    return [[Citation(**c) for c in (t.get("answer") or {}).get("citations", [])] for t in turns]


def build_ui(bot: Chatbot, settings: Settings, feedback: FeedbackStore, examples: list[str] | None = None) -> gr.Blocks:
    docs = bot.index.documents
    passages = bot.index.passages
    titles = {d: doc.title or d for d, doc in docs.items()}
    about = ", ".join(titles.values()) or "the document"
    examples = (examples if examples is not None else load_examples(settings))[:MAX_EXAMPLES]
    several = len(docs) > 1

    def article(turns: list[dict[str, Any]]) -> str:
        return render.article_html(docs, passages, _cited(turns))

    hide = gr.update(visible=False)

    # ---- step 1: show the question at once (not queued) ----------------------------------------
    def start(question: str, turns: list[dict[str, Any]] | None) -> tuple[Any, ...]:
        try:
            q = bot.check_question(question)
        except QuestionError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        turns = [*(turns or []), {"question": q, "answer": None, "user_html": render.user_html(q), "bot_html": render.pending_html()}]
        return (_messages(turns), turns, "", hide, *([hide] * MAX_SUGGESTIONS), hide)

    # ---- step 2: the answer (LLM tokens stream; an offline answer arrives whole) ---------------
    def respond(turns: list[dict[str, Any]], doc_id: str | None = ALL) -> Iterator[tuple[Any, ...]]:
        only = [doc_id] if doc_id and doc_id in docs else None
        turns = list(turns or [])
        if not turns or turns[-1].get("answer") is not None:
            return
        turn = dict(turns[-1])
        turns[-1] = turn
        answer: Answer | None = None
        streamed = ""
        try:
            for item in bot.stream(turn["question"], _history(turns[:-1]), documents=only):
                if isinstance(item, Answer):
                    answer = item
                else:
                    streamed += str(item)
                    turn["bot_html"] = render.partial_html(streamed)
                    yield _messages(turns), turns, gr.skip()
        except QuestionError as exc:
            turn["bot_html"] = render.error_html(str(exc))
            yield _messages(turns), turns, gr.skip()
            return
        except Exception:  # noqa: BLE001 - show a message, log the details
            log.exception("UI answer failed")
            turn["bot_html"] = render.error_html("Sorry, something went wrong while answering. Please try again.")
            yield _messages(turns), turns, gr.skip()
            return
        if answer is None:  # pragma: no cover - bot.stream always ends with an Answer
            return
        turn["answer"] = answer.to_dict()
        turn["bot_html"] = render.answer_html(answer, len(turns) - 1, titles)
        yield _messages(turns), turns, article(turns)

    # ---- step 3: follow-up questions, each checked to be answered --------------------------------
    def suggest(turns: list[dict[str, Any]], doc_id: str | None = ALL) -> list[Any]:
        last = (turns or [{}])[-1].get("answer")
        found: list[str] = []
        if last is not None:
            try:
                only = [doc_id] if doc_id and doc_id in docs else None
                found = follow_ups(bot, _answer(last), asked=[t["question"] for t in turns], documents=only)
            except Exception:  # noqa: BLE001 - suggestions are optional
                log.exception("follow-up suggestions failed")
        chips = [gr.update(value=q, visible=True) for q in found] + [hide] * (MAX_SUGGESTIONS - len(found))
        return [gr.update(visible=bool(found)), *chips]

    # ---- feedback -------------------------------------------------------------------------------
    def on_like(turns: list[dict[str, Any]] | None, data: gr.LikeData) -> tuple[Any, ...]:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turns = turns or []
        if not isinstance(index, int) or index // 2 >= len(turns):
            return None, hide
        turn = turns[index // 2]
        vote = 1 if data.liked is True else -1 if data.liked is False else 0
        if turn.get("answer") is None or vote == 0:
            return None, hide
        fid = feedback.add(turn["question"], turn["answer"]["text"], turn["answer"]["citations"], vote, source="ui")
        if vote < 0:
            return fid, gr.update(visible=True)
        gr.Info("Thanks — your feedback was recorded.")
        return None, hide

    def send_reason(fid: int | None, reason: str | None, detail: str) -> tuple[Any, ...]:
        comment = ": ".join(x for x in ((reason or "").strip(), detail.strip()) if x)
        if fid is not None and comment:
            feedback.set_comment(fid, comment)
        gr.Info("Thanks — your feedback was recorded.")
        return None, hide, None, ""

    def new_chat() -> tuple[Any, ...]:
        return ([], [], article([]), "", hide, *([hide] * MAX_SUGGESTIONS), hide)

    # ---- the scriptable endpoint ----------------------------------------------------------------
    def ask(question: str, history: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """Answer a question about the document, with citations (see ASK_API_DESCRIPTION)."""
        try:
            return bot.ask(question, history or []).to_dict()
        except QuestionError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    with gr.Blocks(title="Document chat", fill_width=True) as demo:
        turns = gr.State([])
        pending_vote = gr.State(None)
        gr.Markdown(
            f"# Ask about: {render.esc(about)}\n"
            "Answers come only from the document. Each **[n]** is a source: point at it to read the "
            "quote, click it to see the passage highlighted in the article.",
            elem_id="cb-intro",
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False, elem_id="cb-main"):
                    with gr.Column(scale=3, min_width=380, elem_id="cb-chat-col"):
                        chat = gr.Chatbot(
                            label="Conversation",
                            show_label=False,
                            elem_id="cb-chat",
                            height=560,
                            sanitize_html=True,
                            allow_tags=False,
                            latex_delimiters=[],
                            render_markdown=True,
                            feedback_options=("Like", "Dislike"),
                            buttons=["copy"],
                            placeholder="Ask a question about the document, or pick an example below.",
                        )
                        with gr.Row(elem_id="cb-follow", elem_classes=["cb-chips"]):
                            follow_label = gr.HTML('<span class="cb-follow-label">Ask next:</span>', visible=False, js_on_load=None)
                            chips = [
                                gr.Button(visible=False, size="sm", variant="secondary", elem_classes=["cb-chip", "cb-suggestion"])
                                for _ in range(MAX_SUGGESTIONS)
                            ]
                        with gr.Column(visible=False, elem_id="cb-reason", variant="panel") as reason_box:
                            reason = gr.Radio(REASONS, label="What was wrong with this answer?", elem_id="cb-reason-choice")
                            detail = gr.Textbox(label="Details (optional)", lines=1, max_length=2000, elem_id="cb-reason-text")
                            send_why = gr.Button("Send feedback", size="sm", elem_id="cb-reason-send")
                        scope = gr.Dropdown(
                            [("All documents", ALL), *((t, d) for d, t in titles.items())],
                            value=ALL,
                            label="Answer from",
                            visible=several,
                            elem_id="cb-scope",
                        )
                        with gr.Row(elem_id="cb-ask-row"):
                            box = gr.Textbox(
                                label="Question",
                                placeholder="Ask about the document",
                                show_label=False,
                                lines=1,
                                max_lines=4,
                                max_length=settings.max_question_chars,
                                scale=6,
                                elem_id="cb-question",
                                autofocus=True,
                            )
                            send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="cb-send")
                        with gr.Row(elem_id="cb-tools-row"):
                            new = gr.Button("New chat", variant="secondary", size="sm", elem_id="cb-new", scale=0, min_width=100)
                            gr.HTML(
                                '<button type="button" class="cb-ev-open" aria-controls="cb-article-col">'
                                "Article &amp; highlights</button>",
                                elem_id="cb-ev-bar",
                                js_on_load=None,
                            )
                        example_buttons = []
                        if examples:
                            gr.Markdown("**Example questions**", elem_id="cb-examples-label")
                            with gr.Row(elem_id="cb-examples", elem_classes=["cb-chips"]):
                                example_buttons = [
                                    gr.Button(e, size="sm", variant="secondary", elem_classes=["cb-chip", "cb-example"]) for e in examples
                                ]
                    with gr.Column(scale=2, min_width=320, elem_id="cb-article-col"):
                        gr.HTML(
                            '<div class="cb-ev-head"><h2 class="cb-ev-title">Article</h2>'
                            '<span class="cb-ev-note">The passages cited by the selected answer are highlighted.</span>'
                            '<button type="button" class="cb-ev-close">Back to the chat</button></div>',
                            elem_id="cb-article-head",
                            js_on_load=None,
                        )
                        panel = gr.HTML(article([]), elem_id="cb-article-panel", js_on_load=CLIENT_JS)
            with gr.Tab("Facts", id="facts"):
                gr.Markdown("Structured facts extracted from the document, each with the quote it comes from.")
                gr.Dataframe(
                    value=pd.DataFrame(render.fact_rows(bot.facts_db.facts), columns=render.FACT_COLUMNS),
                    interactive=False,
                    wrap=True,
                    elem_id="cb-facts",
                    label="Facts",
                    max_height=420,
                    column_widths=render.FACT_WIDTHS,
                )
                for i, t in enumerate(bot.facts_db.tables, 1):
                    gr.Dataframe(
                        value=pd.DataFrame([list(r) for r in t.cells], columns=list(t.columns)),
                        interactive=False,
                        label=f"Table {i}: {t.caption or t.doc_id}",
                        elem_id=f"cb-table-{i}",
                    )
                gr.Markdown(render.checks_markdown(bot.facts_db.tables), elem_id="cb-checks")

        shown = [chat, turns, box, follow_label, *chips, reason_box]
        private: dict[str, Any] = {"api_visibility": "private"}
        for trigger, source in [(box.submit, box), (send.click, box)] + [(b.click, b) for b in chips + example_buttons]:
            (
                trigger(start, [source, turns], shown, queue=False, show_progress="hidden", **private)
                .success(respond, [turns, scope], [chat, turns, panel], show_progress="hidden", **private)
                .success(suggest, [turns, scope], [follow_label, *chips], show_progress="hidden", **private)
            )
        new.click(new_chat, None, shown[:2] + [panel] + shown[2:], queue=False, **private)
        chat.clear(new_chat, None, shown[:2] + [panel] + shown[2:], queue=False, **private)
        chat.like(on_like, [turns], [pending_vote, reason_box], queue=False, **private)
        send_why.click(send_reason, [pending_vote, reason, detail], [pending_vote, reason_box, reason, detail], queue=False, **private)
        gr.api(ask, api_name="ask", api_description=ASK_API_DESCRIPTION)
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo
