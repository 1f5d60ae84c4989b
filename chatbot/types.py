"""Core value types passed between the steps: passages, facts, citations, answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Span:
    """A sentence (or other piece) of a passage, with absolute offsets in its document."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A paragraph, heading-scoped, or a whole table. ``source[start:end] == text``."""

    id: str
    doc_id: str
    section: str
    text: str
    start: int
    end: int
    kind: str = "text"  # "text" | "table"
    sentences: tuple[Span, ...] = ()

    def metadata(self) -> dict[str, Any]:
        return {
            "passage_id": self.id,
            "doc_id": self.doc_id,
            "section": self.section,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Document:
    """A source document as read from the corpus folder."""

    doc_id: str
    path: str
    text: str
    title: str
    source: str = ""
    language: str = "en"


@dataclass(frozen=True)
class Fact:
    """One structured fact with provenance: ``quote == source[start:end]``."""

    id: str
    subject: str
    attribute: str
    value: float | None
    unit: str
    period: str
    quote: str
    doc_id: str
    start: int
    end: int
    text_value: str = ""
    kind: str = "mention"  # "table" | "mention" | "event" | "curated" | "part" …
    source_note: str = ""
    parent_id: str = ""  # a "part" fact: the id of the fact it is part of ("aluminum plating" of total exports)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """A numbered citation: ``quote`` is the exact source text at ``[start, end)`` of ``doc_id``."""

    n: int
    quote: str
    doc_id: str
    passage_id: str
    start: int
    end: int
    section: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    text: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False
    route: str = "text"
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    question: str = ""
    standalone_question: str = ""
    contexts: tuple[str, ...] = ()
    retrieved: tuple[str, ...] = ()  # passage ids, best first
    confidence: float | None = None  # calibrated probability that a text answer is right (None: not scored)
    features: tuple[tuple[str, float], ...] = ()  # the answerability features behind ``confidence``

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "abstained": self.abstained,
            "route": self.route,
            "notes": list(self.notes),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "question": self.question,
            "standalone_question": self.standalone_question,
            "retrieved": list(self.retrieved),
            "confidence": self.confidence,
        }
