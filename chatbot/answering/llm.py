"""Optional generative answerer over any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp
server, LM Studio, OpenAI), through LangChain's ``ChatOpenAI`` (Chat Completions API).

Its output is never trusted: every [n] must exist, every number must occur in a cited source.
The chain falls back to the offline answer, with a note, when a check fails or the endpoint is
dead or slow: ``OpenAICompatibleModel.stream`` raises ``LLMError`` once ``llm_timeout_s`` of wall
time has passed, whatever the endpoint does (silent, trickling, or refusing connections).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from chatbot.answering.offline import Draft
from chatbot.answering.verify import CITE, check_markers, check_numbers
from chatbot.errors import LLMError
from chatbot.prompts import NOT_IN_DOCUMENT, SOURCE_TEMPLATE, SYSTEM_PROMPT, USER_TEMPLATE
from chatbot.settings import Settings
from chatbot.text import content_terms
from chatbot.types import Passage

# "[1, 2]" / "[1,2]" / "[1 ,2, 3]": one bracket, several sources.
CITE_GROUP = re.compile(r"\[\s*(\d+(?:\s*,\s*\d+)+)\s*\]")
# Reasoning that some local models (Qwen3, DeepSeek-R1 via Ollama...) put in the content itself.
THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)
# Sentence boundary, but never just before a citation marker ("... Turkiye. [1]" is one claim).
CLAIM_SPLIT = re.compile(r"(?<=[.!?])\s+(?!\[\d+\])")


class ChatModel(Protocol):
    def stream(self, messages: list[tuple[str, str]]) -> Iterator[str]: ...


class OpenAICompatibleModel:
    """LangChain ChatOpenAI pointed at a base URL; the API key is read at first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._llm: Any = None
        self._lock = threading.Lock()

    def _client(self) -> Any:
        with self._lock:
            if self._llm is None:
                try:
                    from langchain_openai import ChatOpenAI
                    from pydantic import SecretStr
                except ImportError as exc:  # pragma: no cover - a declared dependency
                    raise LLMError("langchain-openai is not installed: pip install langchain-openai") from exc
                key = os.environ.get(self.settings.llm_api_key_env) or "not-needed"
                try:
                    self._llm = ChatOpenAI(
                        base_url=self.settings.llm_base_url,
                        api_key=SecretStr(key),
                        model=self.settings.llm_model,
                        timeout=self.settings.llm_timeout_s,
                        max_retries=0,
                        temperature=0,
                        streaming=True,
                        # Always POST /chat/completions: some model names ("*-pro", "*codex*")
                        # would otherwise switch to the Responses API, which local servers lack.
                        use_responses_api=False,
                    )
                except Exception as exc:  # noqa: BLE001 - e.g. an invalid base URL
                    raise LLMError(f"the LLM client could not be created for {self.settings.llm_base_url}: {exc}") from exc
            return self._llm

    def stream(self, messages: list[tuple[str, str]]) -> Iterator[str]:
        """Text tokens as the endpoint sends them; ``LLMError`` on any failure or after
        ``llm_timeout_s`` seconds (a hard wall-clock deadline for the whole answer)."""
        client = self._client()  # import + construction are not charged to the endpoint's time
        timeout = self.settings.llm_timeout_s
        deadline = time.monotonic() + timeout
        out: queue.Queue[tuple[str, Any]] = queue.Queue()
        abandoned = threading.Event()

        def pump() -> None:
            chunks = None
            try:
                chunks = client.stream(messages)
                for chunk in chunks:
                    if abandoned.is_set():
                        break
                    text = chunk.text  # str content or content blocks (LC_OUTPUT_VERSION=v1)
                    if text:
                        out.put(("token", str(text)))
                out.put(("end", None))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                out.put(("error", exc))
            finally:
                if chunks is not None:
                    with contextlib.suppress(Exception):
                        chunks.close()  # closes the HTTP response when abandoned

        ctx = contextvars.copy_context()
        threading.Thread(target=ctx.run, args=(pump,), daemon=True, name="llm-stream").start()
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    if remaining <= 0:
                        raise queue.Empty
                    kind, value = out.get(timeout=remaining)
                except queue.Empty:
                    raise LLMError(
                        f"the LLM endpoint at {self.settings.llm_base_url} timed out: no complete answer "
                        f"within {timeout:g} s (CHATBOT_LLM_TIMEOUT_S)"
                    ) from None
                if kind == "token":
                    yield value
                elif kind == "end":
                    return
                else:
                    raise self._error(value)
        finally:
            abandoned.set()

    def _error(self, exc: BaseException) -> LLMError:
        """A clear, user-facing reason for a transport or protocol failure."""
        if isinstance(exc, LLMError):
            return exc
        url, timeout = self.settings.llm_base_url, self.settings.llm_timeout_s
        name = type(exc).__name__
        status = getattr(exc, "status_code", None)
        if "Timeout" in name or isinstance(exc, TimeoutError):
            msg = f"the LLM endpoint at {url} timed out: no answer within {timeout:g} s (CHATBOT_LLM_TIMEOUT_S)"
        elif "Connection" in name or isinstance(exc, ConnectionError):
            msg = f"the LLM endpoint at {url} could not be reached ({_root_cause(exc)}); is the server running?"
        elif status in (401, 403):
            msg = (f"the LLM endpoint at {url} refused the API key (HTTP {status}); "
                   f"put the key in the environment variable {self.settings.llm_api_key_env}")
        elif status == 404:
            msg = f"the LLM endpoint at {url} answered HTTP 404: check the base URL and model {self.settings.llm_model!r}"
        elif status is not None:
            msg = f"the LLM endpoint at {url} failed with HTTP {status}: {getattr(exc, 'message', exc)}"
        else:
            msg = f"the LLM endpoint at {url} failed: {name}: {exc}"
        err = LLMError(msg)
        err.__cause__ = exc
        return err


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or (exc.__context__ is not None and not exc.__suppress_context__):
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return str(exc) or type(exc).__name__


@dataclass
class LLMResult:
    draft: Draft | None
    problems: list[str]
    raw: str


def escape(text: str) -> str:
    """Angle brackets become look-alikes, so data cannot open or close a prompt delimiter."""
    return text.replace("<", "‹").replace(">", "›")


def build_messages(question: str, passages: list[Passage]) -> list[tuple[str, str]]:
    sources = "\n".join(
        SOURCE_TEMPLATE.format(n=i + 1, section=escape(p.section), text=escape(p.text)) for i, p in enumerate(passages)
    )
    return [("system", SYSTEM_PROMPT), ("human", USER_TEMPLATE.format(sources=sources, question=escape(question)))]


def to_draft(raw: str, passages: list[Passage]) -> LLMResult:
    """Check the model's text and map each [n] to the best-matching sentence of source n."""
    text = THINK.sub("", raw).strip()
    text = CITE_GROUP.sub(lambda m: "".join(f"[{n.strip()}]" for n in m.group(1).split(",")), text)
    if not text:
        return LLMResult(None, ["the LLM returned an empty answer"], raw)
    if NOT_IN_DOCUMENT in text:
        return LLMResult(Draft("The article does not contain the answer to this question.", [], abstained=True, route="llm"), [], raw)
    problems = check_markers(text, len(passages))
    cited = sorted({int(n) for n in CITE.findall(text) if 1 <= int(n) <= len(passages)})
    if not cited:
        problems.append("the answer cites no source")
    if problems:
        return LLMResult(None, problems, raw)
    problems = check_numbers(text, [passages[n - 1].text for n in cited])
    if problems:
        return LLMResult(None, problems, raw)
    # Each claim sentence → the sentence of its cited passage that shares most words with it.
    spans: list[tuple[str, int, int, str]] = []
    index_of: dict[tuple[int, int], int] = {}
    out_parts = []
    for claim in CLAIM_SPLIT.split(text):
        markers = [int(n) for n in CITE.findall(claim)]
        body = CITE.sub("", claim).replace("{", "(").replace("}", ")").strip()
        terms = set(content_terms(body))
        new_markers = []
        for n in markers:
            p = passages[n - 1]
            best = max(p.sentences, key=lambda s: len(terms & set(content_terms(s.text)))) if p.sentences else None
            if best is None:
                continue
            key = (n, best.start)
            if key not in index_of:
                index_of[key] = len(spans)
                spans.append((p.doc_id, best.start, best.end, best.text))
            new_markers.append(index_of[key])
        body = re.sub(r"\s+([.,;:!?])", r"\1", body)
        out_parts.append(body + "".join(f" {{{i}}}" for i in dict.fromkeys(new_markers)))
    return LLMResult(Draft(" ".join(out_parts), spans, route="llm", support=1.0), [], raw)
