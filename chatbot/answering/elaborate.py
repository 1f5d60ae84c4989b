""""Tell me more": continue from where the last answer's evidence stands in the document.

The last answer's quotes are found again in the index (an answer quotes sentences verbatim); the
reply quotes the sentences that follow the last of them, in its passage or, at a passage's end, the
next passage of the same document.
"""

from __future__ import annotations

from chatbot.answering.offline import Draft
from chatbot.types import Passage, Span

MORE_SENTENCES = 2
MIN_SENTENCE = 12  # shorter pieces (headings, labels) are not sentences to quote or to find again


def quoted_sentences(answer: str, passages: list[Passage]) -> list[tuple[int, int]]:
    """(passage index, sentence index) of every sentence the answer quotes (in document order)."""
    if not answer:
        return []
    folded = " ".join(answer.split())
    out = []
    for i, p in enumerate(passages):
        for k, s in enumerate(p.sentences):
            text = " ".join(s.text.split())
            if len(text) >= MIN_SENTENCE and text in folded:
                out.append((i, k))
    return out


def continuation(last_answer: str, passages: list[Passage], n: int = MORE_SENTENCES) -> list[tuple[Passage, Span]]:
    """Up to ``n`` sentences after the last quoted one; [] when the last answer quoted nothing."""
    found = quoted_sentences(last_answer, passages)
    if not found:
        return []
    quoted = set(found)
    i, k = max(found, key=lambda ik: (passages[ik[0]].doc_id, passages[ik[0]].start, ik[1]))
    out: list[tuple[Passage, Span]] = []
    while i < len(passages) and len(out) < n:
        p = passages[i]
        for j in range(k + 1, len(p.sentences)):
            if (i, j) not in quoted and len(out) < n:
                out.append((p, p.sentences[j]))
        i, k = i + 1, -1
        if i < len(passages) and passages[i].doc_id != p.doc_id:
            break
    return out


def elaborate(last_answer: str, passages: list[Passage], retrieved: list[Passage] | None = None) -> Draft | None:
    """The next sentences of the document as a quoted answer, or None when there is nothing to continue.

    When the last answer quoted no sentence (a figure from a table, say), the prose passages retrieved
    for the last question give the sentences the answer did not show."""
    if not last_answer.strip():
        return None
    more = continuation(last_answer, passages)
    if not more and retrieved:
        folded = " ".join(last_answer.split())
        more = [(p, s) for p in retrieved if p.kind == "text" for s in p.sentences
                if len(s.text) >= MIN_SENTENCE and " ".join(s.text.split()) not in folded][:MORE_SENTENCES]
    if not more:
        return None
    spans = [(p.doc_id, s.start, s.end, s.text) for p, s in more]
    text = "More from the document: " + " ".join(f"{s.text} {{{i}}}" for i, (_, s) in enumerate(more))
    return Draft(text, spans, route="elaboration", support=1.0)
