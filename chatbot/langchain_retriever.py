"""The hybrid search as a LangChain retriever: ``HybridRetriever`` returns passages as ``Document``s
with ids, sections, offsets and their fusion scores. Imported only by those who use LangChain's
interfaces (the answer chain calls ``HybridSearcher`` directly)."""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from chatbot.retrieval import Hit, HybridSearcher
from chatbot.types import Passage


def to_document(hit: Hit) -> LCDocument:
    p = hit.passage
    return LCDocument(
        page_content=p.text,
        id=p.id,
        metadata={
            **p.metadata(),
            "score": hit.score,
            "dense": hit.dense,
            "bm25": hit.bm25,
            "dense_rank": hit.dense_rank,
            "bm25_rank": hit.bm25_rank,
        },
    )


def hit_from_document(doc: LCDocument, by_id: dict[str, Passage]) -> Hit:
    m = doc.metadata
    return Hit(by_id[m["passage_id"]], m["score"], m["dense"], m["bm25"], m["dense_rank"], m["bm25_rank"])


class HybridRetriever(BaseRetriever):
    """LangChain retriever returning passages as ``Document``s with ids, sections and offsets."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: HybridSearcher
    k: int = 4
    documents: frozenset[str] | None = None  # only passages of these documents (None: all)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        return [to_document(h) for h in self.searcher.search(query, self.k, documents=self.documents)]
