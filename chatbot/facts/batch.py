"""Facts of many documents at once, with the grammar gate's sentences parsed by spaCy in batches.

The gate (``chatbot.facts.grammar``) parses only the sentences where a number reaches it — those
with an amount, count, date or year the layout checks let through — and asks about each of them
one at a time. Here a first, cheap pass runs the extraction with the tokenizer alone to learn which
sentences those are (a sentence's first gate question never depends on an earlier answer about
it), ``nlp.pipe`` then parses them in batches without the components the gate does not read, and
the second pass extracts with those parses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

from chatbot.corpus import Table
from chatbot.facts import grammar
from chatbot.facts.store import DocumentFacts, extract_document
from chatbot.progress import progress
from chatbot.types import Document, Passage
from chatbot.understanding.nlp import NLP_LOCK, parse, pipeline

PIPE_BATCH = 64
UNUSED = ("lemmatizer",)  # the gate reads entities, tags and the dependency parse only


def extract_documents(
    items: Sequence[tuple[Document, list[Passage], list[Table]]], show_progress: bool | None = None
) -> list[DocumentFacts]:
    """``extract_document`` of each (document, its passages, its tables), in order."""
    nlp = pipeline()
    asked: dict[str, None] = {}

    def record(sentence: str) -> Any:
        asked.setdefault(sentence)
        with NLP_LOCK:
            return nlp.make_doc(sentence)  # tokens without tags or entities: every gate says no

    with grammar.parses_from(record):
        for item in items:
            extract_document(*item)
    sentences = list(asked)
    parsed = dict(zip(sentences, progress(_pipe(nlp, sentences), len(sentences), "parsing", show_progress), strict=True))

    def lookup(sentence: str) -> Any:
        found = parsed.get(sentence)
        return found if found is not None else parse(sentence)

    with grammar.parses_from(lookup):
        return [extract_document(*item) for item in items]


def _pipe(nlp: Any, sentences: list[str]) -> Iterator[Any]:
    """Batches under the pipeline's lock, released between batches so questions are not held up."""
    it = iter(sentences)
    while batch := list(islice(it, PIPE_BATCH)):
        with NLP_LOCK:
            docs = list(nlp.pipe(batch, batch_size=PIPE_BATCH, disable=UNUSED))
        yield from docs
