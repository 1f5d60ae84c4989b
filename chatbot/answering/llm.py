"""Optional generative answerer over any OpenAI-compatible endpoint (Ollama, vLLM, llama.cpp
server, LM Studio, OpenAI), through LangChain's ``ChatOpenAI``.

Its output is never trusted: every [n] must exist, every number must occur in a cited source.
The chain falls back to the offline answer, with a note, when a check fails or the endpoint is
dead or slow.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from chatbot.answering.offline import Draft
from chatbot.answering.verify import CITE, check_markers, check_numbers
from chatbot.errors import LLMError
from chatbot.prompts import NOT_IN_DOCUMENT, SOURCE_TEMPLATE, SYSTEM_PROMPT, USER_TEMPLATE
from chatbot.settings import Settings
from chatbot.text import content_terms
from chatbot.types import Passage


class ChatModel(Protocol):
    def stream(self, messages: list[tuple[str, str]]) -> Iterator[str]: ...


class OpenAICompatibleModel:
    """LangChain ChatOpenAI pointed at a base URL; the API key is read at first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._llm = None

    def _client(self):  # type: ignore[no-untyped-def]
        if self._llm is None:
            try:
                from langchain_openai import ChatOpenAI
            except ImportError as exc:  # pragma: no cover - a declared dependency
                raise LLMError("langchain-openai is not installed: pip install langchain-openai") from exc
            key = os.environ.get(self.settings.llm_api_key_env) or "not-needed"
            self._llm = ChatOpenAI(
                base_url=self.settings.llm_base_url,
                api_key=key,
                model=self.settings.llm_model,
                timeout=self.settings.llm_timeout_s,
                max_retries=0,
                temperature=0,
                streaming=True,
            )
        return self._llm

    def stream(self, messages: list[tuple[str, str]]) -> Iterator[str]:
        deadline = time.monotonic() + self.settings.llm_timeout_s
        try:
            for chunk in self._client().stream(messages):
                if time.monotonic() > deadline:
                    raise LLMError(f"the LLM endpoint took longer than {self.settings.llm_timeout_s:g} s")
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    yield text
        except LLMError:
            raise
        except Exception as exc:  # noqa: BLE001 - any transport or protocol failure
            raise LLMError(f"the LLM endpoint at {self.settings.llm_base_url} failed: {type(exc).__name__}: {exc}") from exc


@dataclass
class LLMResult:
    draft: Draft | None
    problems: list[str]
    raw: str


def build_messages(question: str, passages: list[Passage]) -> list[tuple[str, str]]:
    sources = "\n".join(
        SOURCE_TEMPLATE.format(n=i + 1, section=p.section, text=p.text.replace("<", "‹").replace(">", "›"))
        for i, p in enumerate(passages)
    )
    safe_q = question.replace("<", "‹").replace(">", "›")
    return [("system", SYSTEM_PROMPT), ("human", USER_TEMPLATE.format(sources=sources, question=safe_q))]


def to_draft(raw: str, passages: list[Passage]) -> LLMResult:
    """Check the model's text and map each [n] to the best-matching sentence of source n."""
    text = raw.strip()
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
    for claim in re.split(r"(?<=[.!?])\s+", text):
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
