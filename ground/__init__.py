"""The ground stage: chunk a corpus, embed the chunks into Chroma, and retrieve them.

The other stages use only what is exported here::

    with Index.open(corpus_dir) as index:
        summary = index.update(Corpus(corpus_dir))
        hits = index.search("How do I set a default throttle rate?", k=5)
"""

from __future__ import annotations

from groundset.ground.chunking import TokenCounter, chunk_document
from groundset.ground.embed import (
    DEFAULT_EMBEDDER,
    MULTILINGUAL_EMBEDDER,
    E5Embedder,
    Embedder,
    EndpointEmbedder,
    SentenceTransformerEmbedder,
    open_embedder,
)
from groundset.ground.index import SEARCH_MODES, Index, IndexSummary
from groundset.ground.settings import IndexSettings

__all__ = [
    "DEFAULT_EMBEDDER",
    "MULTILINGUAL_EMBEDDER",
    "SEARCH_MODES",
    "E5Embedder",
    "Embedder",
    "EndpointEmbedder",
    "Index",
    "IndexSettings",
    "IndexSummary",
    "SentenceTransformerEmbedder",
    "TokenCounter",
    "chunk_document",
    "open_embedder",
]
