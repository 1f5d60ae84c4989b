"""Checks on every answer before it leaves: citations point at exact source text, and every
number in the answer occurs in a cited quote or in the shown arithmetic."""

from __future__ import annotations

import re

from chatbot.types import Citation, Document

NUMBER = re.compile(r"(?<![\w.])[-−]?\d[\d,]*(?:\.\d+)?")
CITE = re.compile(r"\[(\d+)\]")


def numbers_in(text: str) -> set[float]:
    out = set()
    for m in NUMBER.finditer(text):
        raw = m.group(0).replace(",", "").replace("−", "-").lstrip("-")
        try:
            out.add(round(float(raw), 6))
        except ValueError:
            continue
    return out


def check_citations(citations: list[Citation], documents: dict[str, Document]) -> list[str]:
    problems = []
    for c in citations:
        doc = documents.get(c.doc_id)
        if doc is None:
            problems.append(f"[{c.n}] cites unknown document {c.doc_id}")
        elif doc.text[c.start : c.end] != c.quote:
            problems.append(f"[{c.n}] quote does not match the source at {c.start}–{c.end}")
    return problems


def check_markers(text: str, n_citations: int) -> list[str]:
    bad = sorted({int(n) for n in CITE.findall(text) if not 1 <= int(n) <= n_citations})
    return [f"citation [{n}] does not exist (answer has {n_citations} sources)" for n in bad]


def check_numbers(text: str, allowed_texts: list[str]) -> list[str]:
    """Numbers of ``text`` (citation markers removed) missing from every allowed text."""
    body = CITE.sub(" ", text)
    allowed: set[float] = set()
    for t in allowed_texts:
        allowed |= numbers_in(t)
    missing = sorted(n for n in numbers_in(body) if n not in allowed)
    return [f"number {fmt(n)} is in no cited source" for n in missing]


def fmt(n: float) -> str:
    return f"{n:g}"
