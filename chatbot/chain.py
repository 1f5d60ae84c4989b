"""The answer chain:

    condense → retrieve → route → answer → verify

Each step is a function over one ``State``; ``AnswerChain.run`` calls them in order, and
``AnswerChain.runnable`` is the same steps wired with LangChain Expression Language (LangChain is
imported only when it is used). The chain is deterministic in offline mode.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from chatbot.answering.answerability import AnswerabilityModel
from chatbot.answering.condense import condense_history, dangling_follow_up, strip_injection
from chatbot.answering.elaborate import elaborate
from chatbot.answering.evidence import EvidenceScorer
from chatbot.answering.llm import ChatModel, build_messages, to_draft
from chatbot.answering.normalize import QueryNormalizer
from chatbot.answering.offline import (
    NOT_IN_ARTICLE,
    SUMMARY,
    WHY,
    Draft,
    Proposal,
    abstain,
    answer_from_text,
    from_numeric,
    summarize,
)
from chatbot.answering.polarity import compared_verdict, named_values_verdict
from chatbot.answering.polarity import verdict as yes_no_verdict
from chatbot.answering.typed import TYPE_BOOST, rerank
from chatbot.answering.verify import check_citations, check_numbers
from chatbot.errors import Cancelled, LLMError
from chatbot.facts.keyed import FOOTNOTE_NOTE
from chatbot.facts.qa import NumericAnswer, NumericQA
from chatbot.index import LoadedIndex
from chatbot.retrieval import Hit, HybridSearcher
from chatbot.settings import Settings
from chatbot.types import Answer, Citation, Passage
from chatbot.understanding import AnswerType, Query, analyse, split_parts
from chatbot.understanding.entities import (
    LABELS_FOR,
    REQUIRED_TYPES,
    SentenceEntities,
    holds_type,
    holds_year,
    ranked_answer_entity,
)
from chatbot.understanding.query import ELABORATION

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable

    from chatbot.langchain_retriever import HybridRetriever

log = logging.getLogger(__name__)
PLACEHOLDER = re.compile(r"\{(\d+)\}")
TYPE_WORDS = {AnswerType.PERSON: "a name", AnswerType.DATE: "a date", AnswerType.YEAR: "a year", AnswerType.AMOUNT: "a figure", AnswerType.VALUE: "a figure",
              AnswerType.COUNT: "a number", AnswerType.PERCENT: "a percentage"}
MAX_SPLIT_CHARS = 400  # longer questions are not split into parts (and not parsed twice)
STEPS = ("condense", "retrieve", "route", "answer", "verify")  # route after retrieval: the facts step reads its documents only
# spaCy parses a new question here while the asking thread embeds it (``AnswerChain.run``): onnxruntime
# lets go of the interpreter while it runs, so the parse takes the other core. One worker: the
# pipeline parses one text at a time anyway (``understanding.nlp.NLP_LOCK``).
_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse")


@dataclass(frozen=True)
class Ahead:
    """What ``run`` works out about the text retrieval will search for while it embeds that text:
    its BM25 scores and, in a one-document index, the facts step's answer (the facts step reads the
    documents of the retrieved passages, and there every passage is of that one document)."""

    text: str
    lexical: np.ndarray
    numeric: NumericAnswer | None = None
    has_numeric: bool = False


@dataclass
class State:
    question: str
    history: list[dict[str, str]]
    standalone: str = ""
    injection: bool = False
    query: Query | None = None
    last_answer: str = ""
    documents: frozenset[str] | None = None  # answer only from these documents (None: the whole corpus)
    numeric: NumericAnswer | None = None
    route: str = "text"
    hits: list[Hit] = field(default_factory=list)
    draft: Draft | None = None
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    answer: Answer | None = None
    on_token: object = None  # callable(str) for streaming LLM tokens
    cancel: threading.Event | None = None  # set by the caller: stop at the next step
    ahead: Ahead | None = None  # worked out beside the embedding (``AnswerChain.run``)


def _shift_markers(text: str, offset: int) -> str:
    """``text`` with each citation marker [n] renumbered to [n + offset]."""
    return re.sub(r"\[(\d+)\]", lambda m: f"[{int(m.group(1)) + offset}]", text)


def _checked(step: Callable[[State], State]) -> Callable[[State], State]:
    """The step, run only while its question is still wanted."""

    def run(s: State) -> State:
        if s.cancel is not None and s.cancel.is_set():
            raise Cancelled("The question was abandoned before it was answered.")
        return step(s)

    return run


class AnswerChain:
    def __init__(self, index: LoadedIndex, facts: NumericQA, settings: Settings, llm: ChatModel | None = None) -> None:
        self.index = index
        self.facts = facts
        self.settings = settings
        self.llm = llm
        self.searcher = HybridSearcher(
            index, settings.dense_weight, settings.bm25_weight, settings.rrf_k, settings.candidate_depth
        )
        self.scorer = EvidenceScorer(index)
        self.answerability = AnswerabilityModel.load()
        self.entities = SentenceEntities(settings.spacy_model)
        self.type_boost = TYPE_BOOST
        self.normalizer = QueryNormalizer(list(index.documents.values()), index.stats.normaliser if index.stats is not None else None)
        layout: dict[str, list[Passage]] = {}
        for p in index.passages:
            layout.setdefault(p.doc_id, []).append(p)
        self._layout = {d: ([p.start for p in ps], ps) for d, ps in ((d, sorted(ps, key=lambda p: p.start)) for d, ps in layout.items())}
        self.steps: tuple[tuple[str, Callable[[State], State]], ...] = tuple((name, _checked(getattr(self, name))) for name in STEPS)

    @cached_property
    def runnable(self) -> Runnable:
        """The chain as a LangChain Expression Language runnable (``invoke``, ``batch``, callbacks and
        tracing) over the very steps ``run`` calls. ``run`` calls them directly: LCEL's per-step callback
        set-up costs ≈ 1.5 ms a question and importing LangChain ≈ 0.5 s of every start, for no
        difference in the answer. Built (and LangChain imported) on first use."""
        from langchain_core.runnables import RunnableLambda

        runnables = [RunnableLambda(step, name=name) for name, step in self.steps]
        chain: Runnable = runnables[0]
        for r in runnables[1:]:
            chain = chain | r
        return chain

    @cached_property
    def retriever(self) -> HybridRetriever:
        """The hybrid search as a LangChain retriever (returns ``Document``s); built on first use."""
        from chatbot.langchain_retriever import HybridRetriever

        return HybridRetriever(searcher=self.searcher, k=self.settings.top_k)

    def invoke(self, state: State) -> Answer:
        """Run the steps in order on one state (what ``runnable.invoke`` does, without LangChain)."""
        for _, step in self.steps:
            state = step(state)
        assert state.answer is not None, "verify always sets the answer"
        return state.answer

    # ---- steps ---------------------------------------------------------------------------------
    def condense(self, s: State) -> State:
        t0 = time.perf_counter()
        cleaned, s.injection = strip_injection(s.question)
        if s.injection:
            s.notes.append("instructions inside the question were ignored")
        users = [m["content"] for m in s.history if m.get("role") == "user"]
        answers = [m["content"] for m in s.history if m.get("role") == "assistant"]
        last = answers[-1] if answers and s.history[-1].get("role") == "assistant" else ""
        s.last_answer = last
        s.query = analyse(cleaned, self.settings.spacy_model) if cleaned else None
        if s.query is not None and s.query.is_elaboration:
            s.standalone = users[-1] if users else cleaned  # "tell me more" is about the last question
        else:
            s.standalone = self.normalizer(condense_history(users, cleaned, last)[0]) if cleaned else ""
        s.timings["condense_ms"] = (time.perf_counter() - t0) * 1000
        return s

    def route(self, s: State) -> State:
        t0 = time.perf_counter()
        elaborating = s.query is not None and s.query.is_elaboration
        ahead = s.ahead if s.ahead is not None and s.ahead.has_numeric and s.ahead.text == s.standalone else None
        if not s.standalone or elaborating:
            s.numeric = None
        elif ahead is not None and self._facts(s) is self.facts:  # the whole corpus, as worked out ahead
            s.numeric = ahead.numeric
        else:
            s.numeric = self._facts(s).answer(s.standalone)
        if s.numeric is not None and s.documents is not None and any(e.doc_id not in s.documents for e in s.numeric.evidence):
            s.numeric = None  # figures from a document outside the filter
        s.route = "facts" if s.numeric is not None else "text"
        s.timings["route_ms"] = (time.perf_counter() - t0) * 1000
        return s

    def _facts(self, s: State) -> NumericQA:
        """The facts answerer over the documents of the retrieved passages only."""
        return self.facts.scoped({h.passage.doc_id for h in s.hits})

    def retrieve(self, s: State) -> State:
        if s.standalone:
            lexical = s.ahead.lexical if s.ahead is not None and s.ahead.text == s.standalone else None
            s.hits = self.searcher.search(s.standalone, self.settings.top_k, documents=s.documents, bm25_scores=lexical)
            s.timings.update(self.searcher.last_timings)
        return s

    def search_text(self, question: str, history: list[dict[str, str]]) -> str:
        """The text ``retrieve`` will search for, found without parsing the question (the same
        ``strip_injection``, ``condense_history`` and normaliser as ``condense``); "" when the
        question is only instructions or asks to elaborate (then it is the earlier question)."""
        cleaned = strip_injection(question)[0]
        if not cleaned or ELABORATION.match(cleaned):
            return ""
        users = [m["content"] for m in history if m.get("role") == "user"]
        answers = [m["content"] for m in history if m.get("role") == "assistant"]
        last = answers[-1] if answers and history[-1].get("role") == "assistant" else ""
        return self.normalizer(condense_history(users, cleaned, last)[0])

    def _parse(self, question: str, text: str = "") -> list[str]:
        """The question's parts, and the analyses the steps read: of the question and of the ``text``
        searched for when the normaliser changed it (each parse is cached)."""
        parts = split_parts(question, self.settings.spacy_model) if len(question) <= MAX_SPLIT_CHARS else [question]
        if len(parts) == 1:
            for t in dict.fromkeys((strip_injection(question)[0], text)):
                if t:
                    analyse(t, self.settings.spacy_model)
        return parts

    def _ahead(self, question: str, text: str) -> tuple[list[str], Ahead | None]:
        """``_parse``, then what retrieval and the facts step will need of ``text`` (``Ahead``)."""
        parts = self._parse(question, text)
        if len(parts) > 1:
            return parts, None
        ahead = Ahead(text, self.index.bm25_scores(text))
        if len(self.index.documents) == 1:
            try:
                ahead = Ahead(text, ahead.lexical, self.facts.answer(text), True)
            except Exception:  # noqa: BLE001 - the facts step, run again in its turn, reports it
                log.debug("working out the facts answer ahead failed", exc_info=True)
        return parts, ahead

    def answer(self, s: State) -> State:
        t0 = time.perf_counter()
        passages = [h.passage for h in s.hits]
        if not s.standalone:
            s.draft = abstain(
                self.scorer, [], passages,
                lead="The question holds only instructions to the assistant, which are not followed; ask about the article.",
            )
        elif s.query is not None and s.query.is_elaboration:
            continued = None if s.last_answer.startswith(NOT_IN_ARTICLE) else elaborate(s.last_answer, self._passages(s), [h.passage for h in s.hits])
            s.draft = continued or abstain(
                self.scorer, [], passages, lead="There is no earlier answer to continue from: ask a question about the document."
            )
        elif not s.history and dangling_follow_up(s.standalone):
            s.draft = abstain(self.scorer, [], passages, lead="This reads as a follow-up, but there is no earlier question: please ask it in full.")
        elif s.numeric is None and (SUMMARY.search(s.standalone)
                                    or analyse(s.standalone, self.settings.spacy_model).answer_type is AnswerType.SUMMARY):
            # the document the question retrieved first is the one summed up (a corpus holds many)
            top = s.hits[0].passage.doc_id if s.hits else None
            s.draft = summarize([p for p in self._passages(s) if top is None or p.doc_id == top])
        elif s.numeric is not None and not (WHY.search(s.standalone) and not {"false premise corrected", FOOTNOTE_NOTE} & set(s.numeric.notes)):
            s.draft = from_numeric(s.numeric)
            if s.numeric.compared is not None and self._is_yes_no(s):
                word = compared_verdict(s.standalone, analyse(s.standalone, self.settings.spacy_model).negated, s.numeric.compared)
                s.draft = self._lead(s.draft, word) if word else s.draft
            elif s.numeric.verdict and self._is_yes_no(s):
                s.draft = self._lead(s.draft, s.numeric.verdict)
        else:
            # a why-question about figures wants the article's explanation; the figures are the fallback
            qvec = self.index.embedder.embed_query(s.standalone) if self.settings.dense_weight > 0 else None
            scored = rerank(self.scorer.score(s.standalone, qvec, passages), analyse(s.standalone, self.settings.spacy_model),
                            self.entities, self.type_boost)
            proposal = answer_from_text(
                s.standalone, self.scorer, scored, passages, self.settings.min_support, self.settings.dense_paraphrase,
                wants_figure=s.numeric is None and self._facts(s).asks_for_figure(s.standalone), entities=self.entities,
                own=s.question, earlier=" ".join(m["content"] for m in s.history if m.get("role") == "user"),
            )
            s.draft = self._decide(self._with_type_features(s, proposal), passages)
            if self.llm is not None and passages:
                s.draft = self._llm_answer(s, passages, s.draft)
            if s.draft.abstained and s.numeric is not None:
                s.draft = from_numeric(s.numeric)
            elif not s.draft.abstained and s.draft.route == "text" and self._is_yes_no(s):
                s.draft = self._with_yes_no(s, s.draft, scored)
            elif not s.draft.abstained and s.draft.route == "text":
                s.draft = self._with_typed_answer(s, s.draft)
        s.timings["answer_ms"] = (time.perf_counter() - t0) * 1000
        return s

    def _passages(self, s: State) -> list:  # type: ignore[type-arg]
        if s.documents is None:
            return self.index.passages
        return [p for p in self.index.passages if p.doc_id in s.documents]

    def _with_type_features(self, s: State, proposal: Proposal) -> Proposal:
        """Add whether the proposed evidence holds an entity of the asked type (spaCy entities)."""
        if proposal.answer is None:
            return proposal
        query = analyse(s.standalone, self.settings.spacy_model)
        checkable = query.answer_type in LABELS_FOR
        ents = self.entities.of([(sp[0], sp[1], sp[3]) for sp in proposal.answer.spans]) if checkable else []
        exact = query.focus in ("date", "day")  # "on which date …" wants a date, not "last month"
        held = any(holds_type(e, query.answer_type, query.text, exact, sp[3]) for e, sp in zip(ents, proposal.answer.spans if checkable else [], strict=True))
        held = held or any(c.lower() in sp[3].lower() for c in query.choices for sp in proposal.answer.spans)  # "A or B?"
        if query.answer_type is AnswerType.YEAR:
            held = held or any(holds_year(sp[3], query.text) for sp in proposal.answer.spans)
        features = {**proposal.features, "type_checkable": float(checkable), "type_entity": float(held or not checkable)}
        gated = proposal.gated
        if checkable and not held and query.answer_type in REQUIRED_TYPES:
            features["type_missing"] = 1.0  # the evidence does not hold what was asked: not an answer
            gated = gated or abstain(self.scorer, [], [], f"The closest passages do not give {TYPE_WORDS[query.answer_type]} for this.")
        return Proposal(proposal.answer, gated, features)

    def _decide(self, proposal: Proposal, passages: list) -> Draft:  # type: ignore[type-arg]
        """Answer when the calibrated probability that the proposal is right reaches the threshold."""
        if proposal.answer is None:
            return proposal.gated or abstain(self.scorer, [], passages)
        p = self.answerability.probability(proposal.features)
        hard = ("unknown_names", "type_missing", "name_missing")
        if any(proposal.features.get(k) for k in hard) and proposal.gated is not None:
            # a name the document never uses: whatever the evidence says, it is not about that
            proposal.gated.confidence = round(p, 4)
            return proposal.gated
        threshold = self.settings.answer_threshold if self.settings.answer_threshold >= 0 else self.answerability.threshold
        if p >= threshold:
            draft = proposal.answer
        else:
            draft = proposal.gated or abstain(self.scorer, [], passages)
        draft.confidence = round(p, 4)
        draft.features = proposal.features
        return draft

    def _with_typed_answer(self, s: State, draft: Draft) -> Draft:
        """Lead with the answer itself — the name, date or figure asked for, taken from the first quote —
        before the quote that holds it ("Ada Lin — The orchard was founded in 1990 by Ada Lin, …")."""
        query = analyse(s.standalone, self.settings.spacy_model)
        if query.answer_type not in TYPE_WORDS or not draft.spans:
            return draft
        # the most specific entity of the asked type in any quote, the first quote winning a tie
        # ("how much …": a sum of money in the second quote before "over a decade" in the first)
        quotes = [(doc_id, start, quote) for doc_id, start, _, quote in draft.spans]
        best: tuple[int, int, int, str] | None = None
        for k, (ents, (_, _, quote)) in enumerate(zip(self.entities.of(quotes), quotes, strict=True)):
            hit = ranked_answer_entity(ents, quote, query.answer_type, query.text, query.content_lemmas)
            if hit is not None and (best is None or (hit[0], k) < (best[0], best[1])):
                best = (hit[0], k, hit[1], hit[2])
        found = " ".join(best[3].split()) if best else ""  # a name wrapped over two source lines reads as one
        if not found or draft.text.startswith(found):
            return draft
        return Draft(f"{found} — {draft.text}", draft.spans, draft.abstained, draft.route, draft.notes, draft.support,
                     draft.arithmetic, draft.confidence, draft.features)

    def _is_yes_no(self, s: State) -> bool:
        return s.query is not None and s.query.is_yes_no and analyse(s.standalone, self.settings.spacy_model).is_yes_no

    def _with_yes_no(self, s: State, draft: Draft, scored) -> Draft:  # type: ignore[no-untyped-def]
        """Lead a yes/no answer with Yes or No when its evidence settles it (else the quote alone)."""
        quoted = {(sp[1], sp[2]) for sp in draft.spans}
        dense = max((c.dense for c in scored if (c.span.start, c.span.end) in quoted or any(a <= c.span.start < b for a, b in quoted)), default=0.0)
        evidence = [sp[3] for sp in draft.spans]
        q = analyse(s.standalone, self.settings.spacy_model)
        document = " ".join(self.index.documents[d].text for d in dict.fromkeys(sp[0] for sp in draft.spans) if d in self.index.documents)
        valued = None if q.negated else named_values_verdict(s.standalone, evidence, self.settings.spacy_model)
        if valued is not None:  # "did LDA beat QDA?": the two figures the evidence gives them decide
            return self._lead(draft, valued[0]) if valued[0] else draft
        word = yes_no_verdict(s.standalone, q.negated, evidence, draft.support, dense, set(q.content_lemmas), self.settings.spacy_model, document)
        return self._lead(draft, word) if word else draft

    @staticmethod
    def _lead(draft: Draft, word: str) -> Draft:
        """The answer led by the Yes or No its evidence decides."""
        return Draft(f"{word}. {draft.text}", draft.spans, draft.abstained, draft.route, draft.notes + [f"yes/no decided: {word}"],
                     draft.support, draft.arithmetic, draft.confidence, draft.features)

    def _llm_answer(self, s: State, passages, offline: Draft) -> Draft:  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        raw = []
        try:
            for tok in self.llm.stream(build_messages(s.standalone, passages)):  # type: ignore[union-attr]
                raw.append(tok)
                if callable(s.on_token):
                    s.on_token(tok)
            result = to_draft("".join(raw), passages)
        except LLMError as exc:
            log.warning("LLM answer failed, using the offline answer: %s", exc)
            s.notes.append(f"fell back to the offline answer: {exc}")
            return offline
        finally:
            s.timings["llm_ms"] = (time.perf_counter() - t0) * 1000
        if result.draft is None:
            log.info("LLM answer rejected (%s); using the offline answer", "; ".join(result.problems))
            s.notes.append("fell back to the offline answer: the LLM answer failed verification (" + "; ".join(result.problems) + ")")
            return offline
        if result.draft.abstained:
            if not offline.abstained:
                s.notes.append("the LLM found no answer; showing the offline answer")
            return offline
        return result.draft

    def verify(self, s: State) -> State:
        t0 = time.perf_counter()
        draft = s.draft or abstain(self.scorer, [], [])
        citations, text = self._number(draft)
        problems = check_citations(citations, self.index.documents)
        allowed = [c.quote for c in citations] + draft.arithmetic + [s.standalone]
        allowed += [p.text for c in citations if (p := self._passage_at(c.doc_id, c.start, c.end)) is not None]
        if draft.spans:  # every answer that quotes the article, abstaining or not
            problems += check_numbers(text.split("\n\nCalculation")[0], allowed)
        if problems:
            log.error("Answer failed verification (%s); abstaining", "; ".join(problems))
            s.notes.append("answer withheld: " + "; ".join(problems))
            draft = abstain(self.scorer, [], [], "An answer was found but failed its citation check.")
            citations, text = self._number(draft)
        s.timings["verify_ms"] = (time.perf_counter() - t0) * 1000
        s.answer = Answer(
            text=text,
            citations=tuple(citations),
            abstained=draft.abstained,
            route=draft.route,
            notes=tuple(s.notes + draft.notes),
            timings=dict(s.timings),
            question=s.question,
            standalone_question=s.standalone,
            contexts=tuple(h.passage.text for h in s.hits),
            retrieved=tuple(h.passage.id for h in s.hits),
            confidence=draft.confidence,
            features=tuple(sorted(draft.features.items())),
        )
        return s

    def _number(self, draft: Draft) -> tuple[list[Citation], str]:
        """Turn {i} placeholders into [n] markers numbered in order of first use."""
        order: dict[int, int] = {}
        citations: list[Citation] = []

        def repl(m: re.Match[str]) -> str:
            i = int(m.group(1))
            if i >= len(draft.spans):
                return ""
            if i not in order:
                doc_id, start, end, quote = draft.spans[i]
                order[i] = len(citations) + 1
                p = self._passage_at(doc_id, start, end)
                citations.append(
                    Citation(order[i], quote, doc_id, p.id if p else "", start, end, p.section if p else "")
                )
            return f"[{order[i]}]"

        text = PLACEHOLDER.sub(repl, draft.text)
        text = re.sub(r"\]\s+\[", "][", text)
        text = re.sub(r"\s+([.,;:])", r"\1", text)
        return citations, text

    def _passage_at(self, doc_id: str, start: int, end: int) -> Passage | None:
        """The passage holding a span: a binary search in its document's passages (no scan of the corpus)."""
        starts, passages = self._layout.get(doc_id, ([], []))
        i = bisect_right(starts, start) - 1
        while i >= 0 and passages[i].start <= start:
            if end <= passages[i].end:
                return passages[i]
            i -= 1
        return None

    # ---- entry points --------------------------------------------------------------------------
    def run(self, question: str, history: list[dict[str, str]], on_token=None, documents: frozenset[str] | None = None,  # type: ignore[no-untyped-def]
            cancel: threading.Event | None = None) -> Answer:
        t0 = time.perf_counter()
        early: dict[str, float] = {}
        ahead: Ahead | None = None
        text = self.search_text(question, history) if self.settings.dense_weight > 0 else ""
        if text:
            # spaCy parses the question on the other core (then BM25 and, with one document, the facts
            # step run there) while this one embeds what will be searched for
            parsed = _PARSER.submit(self._ahead, question, text)
            self.index.embedder.embed_query(text)  # kept in the embedder's cache for ``retrieve`` and ``answer``
            t1 = time.perf_counter()
            parts, ahead = parsed.result()
            early = {"embed_ms": (t1 - t0) * 1000, "parse_wait_ms": (time.perf_counter() - t1) * 1000}
        else:
            parts = self._parse(question)
        if len(parts) > 1:
            answer = self._run_parts(question, parts, history, on_token, documents, cancel)
        else:
            answer = self.invoke(State(question=question, history=history, on_token=on_token, documents=documents, cancel=cancel,
                                       ahead=ahead))
            answer.timings.update(early)  # retrieval found the vector in the cache
        answer.timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return answer

    def _run_parts(self, question: str, parts: list[str], history: list[dict[str, str]], on_token=None, documents=None,  # type: ignore[no-untyped-def]
                   cancel: threading.Event | None = None) -> Answer:
        """A question asking several things: each part answered in turn (earlier parts are its history)."""
        answers: list[Answer] = []
        turns = list(history)
        for part in parts:
            ans = self.invoke(State(question=part, history=turns, on_token=on_token, documents=documents, cancel=cancel))
            answers.append(ans)
            turns = turns + [{"role": "user", "content": part}, {"role": "assistant", "content": ans.text}]
        if all(a.abstained for a in answers):
            return answers[0]
        texts: list[str] = []
        citations: list[Citation] = []
        notes: list[str] = []
        for part, ans in zip(parts, answers, strict=True):
            offset = len(citations)
            if ans.abstained and not ans.citations:
                texts.append(f"On “{part.rstrip('?')}”, the document does not say.")
            else:
                texts.append(_shift_markers(ans.text, offset))
                citations += [Citation(c.n + offset, c.quote, c.doc_id, c.passage_id, c.start, c.end, c.section) for c in ans.citations]
            notes += list(ans.notes)
        timings: dict[str, float] = {}
        for a in answers:
            for k, v in a.timings.items():
                timings[k] = timings.get(k, 0.0) + v
        return Answer(
            text="\n\n".join(texts), citations=tuple(citations), abstained=False, route="parts",
            notes=tuple(notes + [f"answered in {len(parts)} parts"]), timings=timings, question=question,
            standalone_question=" | ".join(a.standalone_question for a in answers),
            contexts=tuple(c for a in answers for c in a.contexts), retrieved=tuple(r for a in answers for r in a.retrieved),
        )

    def stream(self, question: str, history: list[dict[str, str]], documents: frozenset[str] | None = None) -> Iterator[str | Answer]:
        """Yields LLM tokens as they come (LLM mode), then the final verified ``Answer``."""
        import queue
        import threading

        q: queue.Queue = queue.Queue()
        result: list[Answer | BaseException] = []

        def work() -> None:
            try:
                result.append(self.run(question, history, on_token=q.put, documents=documents))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                result.append(exc)
            finally:
                q.put(None)

        threading.Thread(target=work, daemon=True).start()
        while (tok := q.get()) is not None:
            yield tok
        if isinstance(result[0], BaseException):
            raise result[0]
        yield result[0]
