"""The index of a corpus: chunks, their embeddings in Chroma, and hybrid search over them.

This is the ground stage's public face; the generate and verify stages and the command line use
:class:`Index` and nothing else of it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from groundset.corpus import Corpus, Document
from groundset.errors import IndexStoreError, UsageError
from groundset.ground.cache import EmbeddingCache
from groundset.ground.chunking import chunk_document
from groundset.ground.duplicates import aggregate_pages
from groundset.ground.embed import (
    Embedder,
    embedder_for_corpus,
    is_endpoint_name,
    open_embedder,
)
from groundset.ground.retrieve import LexicalIndex, reciprocal_rank_fusion
from groundset.ground.settings import IndexSettings
from groundset.ground.store import ChunkStore, Where
from groundset.ground.sync import Plan, plan_update
from groundset.locks import writer_lock
from groundset.records import Chunk, Hit

__all__ = ["SEARCH_MODES", "Index", "IndexSummary"]

SEARCH_MODES = ("hybrid", "dense", "lexical")
_EMBEDDED_COLLECTION = "groundset"
#: Up to this many chunks, dense search is exact (one matrix product over every embedding, about
#: 150 MB at the limit): the same query then finds the same chunks in every process, which a
#: resumed generation relies on, while HNSW's answers depend on how its graph was built (threads,
#: and what was replayed from its log after a crash). Beyond it, Chroma's HNSW index answers.
EXACT_SEARCH_LIMIT = 100_000
T = TypeVar("T")


@dataclass(frozen=True)
class IndexSummary:
    """What one index update did.

    Attributes:
        added: chunks stored that replace none.
        updated: chunks stored in place of a changed chunk under the same heading path.
        deleted: chunks removed with no replacement.
        unchanged: chunks left as they were (some only had their metadata refreshed).
        embedded: chunks run through the embedder.
        cached: chunks whose embedding came from the cache instead.
        documents_changed: pages (re)chunked because they were new, changed or half indexed.
        documents_removed: pages whose chunks were removed because they left the corpus.
        set_aside: pages not indexed as ``duplicate_content``: their text all appears on
            several other pages (print views, single-page books; see
            :mod:`groundset.ground.duplicates`).
        unreadable: active pages of the manifest whose doc file is missing or damaged: not
            indexed until a crawl refetches them.
        orphans: doc files no page of the manifest names: not indexed.
    """

    added: int
    updated: int
    deleted: int
    unchanged: int
    embedded: int
    cached: int
    documents_changed: tuple[str, ...]
    documents_removed: tuple[str, ...]
    set_aside: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()
    orphans: tuple[str, ...] = ()

    def __str__(self) -> str:
        line = (
            f"{self.added} chunks added, {self.updated} updated, {self.deleted} deleted,"
            f" {self.unchanged} unchanged; {self.embedded} embedded, {self.cached} from cache;"
            f" {len(self.documents_changed)} pages indexed, {len(self.documents_removed)} removed"
        )
        if self.set_aside:
            line += (
                f"\n  not indexed, duplicate_content (its text is all on other pages):"
                f" {', '.join(self.set_aside)}"
            )
        if self.unreadable:
            line += (
                f"\n  not indexed, {len(self.unreadable)} pages whose doc file is missing or"
                f" damaged (crawl again: it refetches them): {', '.join(self.unreadable[:5])}"
                + (" ..." if len(self.unreadable) > 5 else "")
            )
        if self.orphans:
            line += (
                f"\n  not indexed, {len(self.orphans)} doc files that no page of the manifest"
                f" names (left by a replaced manifest; remove them, or crawl again):"
                f" {', '.join(self.orphans[:5])}" + (" ..." if len(self.orphans) > 5 else "")
            )
        return line


class Index:
    """The chunk index of one corpus. Open it with :meth:`Index.open`.

    Args:
        store: the Chroma collection.
        embedder: the model that embeds chunks and queries.
        cache: embeddings by content.
        settings: the resolved settings.
    """

    def __init__(
        self, store: ChunkStore, embedder: Embedder, cache: EmbeddingCache, settings: IndexSettings
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._cache = cache
        self._lexical: LexicalIndex | None = None
        self._doc_urls: list[str] | None = None
        self._matrix: tuple[list[Chunk], np.ndarray] | None = None

    @classmethod
    def open(
        cls,
        corpus_dir: Path,
        *,
        chroma_url: str | None = None,
        embedder: str | Embedder | None = None,
        settings: IndexSettings | None = None,
    ) -> Index:
        """Open (or create, empty) the index of the corpus in ``corpus_dir``.

        Args:
            corpus_dir: the corpus directory; the index and the embedding cache live in its
                ``index/`` folder, unless the index is on a Chroma server.
            chroma_url: a Chroma server to keep the index on instead (overrides ``settings``).
            embedder: the model to embed with, by name or path (overrides ``settings``), or an
                :class:`Embedder` already loaded, to share one model between indexes; by
                default the endpoint of ``settings.embed_url`` when set, else the one that
                built the index; for a new index, the multilingual model when most of the
                corpus is not in English (:func:`embedder_for_corpus`), else all-MiniLM-L6-v2.
            settings: everything else; defaults when None.

        Raises:
            UsageError: ``corpus_dir`` is not a directory.
            IndexStoreError: the index or the Chroma server cannot be opened.
        """
        name = embedder.name if isinstance(embedder, Embedder) else embedder
        flags = {"chroma_url": chroma_url, "embedder": name}
        settings = (settings or IndexSettings()).model_copy(
            update={k: v for k, v in flags.items() if v is not None}
        )
        root = Path(corpus_dir)
        if not root.is_dir():
            raise UsageError(f"no corpus at {root}", fix="pass the corpus directory with --corpus")
        store = ChunkStore.connect(
            settings.chroma_url or root / "index",
            settings.collection or _collection_name(root, server=bool(settings.chroma_url)),
        )
        if isinstance(embedder, Embedder):
            model = embedder
        else:
            name = settings.embedder or store.embedder
            if name is None and not settings.embed_url and store.count() == 0:
                name = embedder_for_corpus(root)
            model = open_embedder(
                name,
                url=settings.embed_url,
                model=settings.embed_model,
                query_prefix=settings.query_prefix,
                passage_prefix=settings.passage_prefix,
                input_type=settings.embed_input_type,
            )
        cache = EmbeddingCache(root / "index" / "embeddings.sqlite")
        return cls(store, model, cache, settings)

    def close(self) -> None:
        """Release the Chroma client and the cache."""
        self.store.close()
        self._cache.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- updating ------------------------------------------------------------------------------

    def update(
        self,
        corpus: Corpus,
        *,
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> IndexSummary:
        """Bring the index in line with the corpus's active documents.

        Only new and changed pages are chunked, only chunks not yet stored are embedded (or
        taken from the embedding cache), and the chunks of changed and removed pages are
        deleted. An update that was interrupted is finished by the next one.

        Args:
            corpus: the corpus to index.
            rebuild: drop the whole index first, e.g. to switch to another embedder; every
                chunk then counts as added.
            progress: called with (chunks written, chunks to write) once before writing and
                after each batch.

        Raises:
            IndexStoreError: the index was built with another embedder and ``rebuild`` is false.
        """
        with writer_lock(corpus.root, f"the corpus {corpus.root}"):
            return self._update(corpus, rebuild, progress)

    def _update(
        self, corpus: Corpus, rebuild: bool, progress: Callable[[int, int], None] | None
    ) -> IndexSummary:
        if rebuild:
            self.embedder.load()  # a model that cannot load must not cost the index first
            self.store.reset()
        else:
            self._check_embedder()
        chunking = f"min_tokens={self.settings.min_tokens}"
        aggregates = aggregate_pages(corpus.documents())
        documents = (doc for doc in corpus.documents() if doc.url not in aggregates)
        plan = plan_update(documents, self.store.stamps(), self._chunk, chunking)
        self._lexical = None
        self._doc_urls = None
        self._matrix = None
        for ids in _batches(plan.delete, self.store.max_batch):
            self.store.delete(ids)
        embedded, cached = self._write(plan, progress)
        for chunks in _batches(plan.restamp, self.store.max_batch):
            self.store.restamp(chunks, plan.stamps)
        return IndexSummary(
            added=plan.added,
            updated=plan.updated,
            deleted=plan.deleted,
            unchanged=plan.unchanged,
            embedded=embedded,
            cached=cached,
            documents_changed=tuple(plan.documents_changed),
            documents_removed=tuple(plan.documents_removed),
            set_aside=tuple(sorted(aggregates)),
            unreadable=tuple(corpus.unreadable),
            orphans=tuple(p.name for p in corpus.orphan_files()),
        )

    def _chunk(self, doc: Document) -> list[Chunk]:
        if not doc.markdown.strip():
            return []  # an empty page (a failed extraction) must not cost loading the model
        return chunk_document(
            doc,
            self.embedder.count_tokens,
            max_tokens=self.embedder.max_tokens,
            min_tokens=self.settings.min_tokens,
        )

    def _write(self, plan: Plan, progress: Callable[[int, int], None] | None) -> tuple[int, int]:
        """Embed and store the plan's new chunks in batches; returns (embedded, cached)."""
        total = len(plan.write)
        if total and self.store.embedder != self.embedder.name:
            self.store.claim(self.embedder.name, self.embedder.dimension)
        if progress is not None:
            progress(0, total)
        done = embedded = 0
        # Batches of chunks of similar length pad least, as in one big encode() call.
        pending = sorted(plan.write, key=lambda c: len(c.text))
        for chunks in _batches(pending, min(self.settings.batch_size, self.store.max_batch)):
            vectors, fresh = self._vectors(chunks)
            self.store.upsert(chunks, vectors, plan.stamps)
            embedded += fresh
            done += len(chunks)
            if progress is not None:
                progress(done, total)
        return embedded, total - embedded

    def _vectors(self, chunks: Sequence[Chunk]) -> tuple[np.ndarray, int]:
        """Vectors for chunks, from the cache where it has them; returns (vectors, embedded)."""
        found = self._cache.get(self.embedder.name, (c.content_sha256 for c in chunks))
        missing = {c.content_sha256: c.text for c in chunks if c.content_sha256 not in found}
        if missing:
            fresh = dict(zip(missing, self.embedder.encode(list(missing.values())), strict=True))
            self._cache.put(self.embedder.name, fresh)
            found.update(fresh)
        return np.stack([found[c.content_sha256] for c in chunks]), len(missing)

    def _check_embedder(self) -> None:
        recorded = self.store.embedder
        if recorded is None or recorded == self.embedder.name or self.store.count() == 0:
            return
        keep = (
            "set embed_url and embed_model back to that endpoint"
            if is_endpoint_name(recorded)
            else f"use --embedder {recorded}"
        )
        raise IndexStoreError(
            f"the index {self.store.name!r} was built with embedder {recorded!r},"
            f" not {self.embedder.name!r}: their vectors do not compare",
            fix=f"{keep} to keep it, or index with --rebuild (rebuild=True) to re-embed every"
            f" chunk with {self.embedder.name}",
        )

    # -- reading -------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        doc_url: str | None = None,
        url_prefix: str | None = None,
        lang: str | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]:
        """The ``k`` chunks that best match ``query``, best first.

        Args:
            query: what to look for, in words or identifiers.
            k: how many hits to return.
            doc_url: only chunks of this page.
            url_prefix: only chunks of pages whose URL starts with this.
            lang: only chunks in this language.
            mode: ``hybrid`` (dense and lexical fused by reciprocal rank), ``dense`` (cosine
                similarity of embeddings) or ``lexical`` (BM25).

        Returns:
            Hits whose score is the cosine similarity (dense), BM25 score (lexical) or fused
            reciprocal-rank score (hybrid).

        Raises:
            UsageError: an empty query, an unknown mode or a ``k`` below 1.
            IndexStoreError: the index is empty, or was built with another embedder.
        """
        if not query.strip():
            # BM25 finds no word in it and the embedding of nothing ranks chunks at random: any
            # hit would be arbitrary.
            raise UsageError(
                "the search query is empty", fix="give words or identifiers to look for"
            )
        if mode not in SEARCH_MODES:
            raise UsageError(f"unknown search mode {mode!r}", fix=f"use one of {SEARCH_MODES}")
        if k < 1:
            raise UsageError(f"k must be at least 1, not {k}", fix="ask for one hit or more")
        if self.store.count() == 0:
            raise IndexStoreError(
                f"the index {self.store.name!r} is empty", fix="run `groundset index` first"
            )
        pool = k if mode != "hybrid" else max(k, self.settings.candidates)
        scope = (doc_url, url_prefix, lang)
        dense = [] if mode == "lexical" else self._dense(query, pool, *scope)
        lexical = [] if mode == "dense" else self._lexical_search(query, pool, *scope)
        if mode != "hybrid":
            return [Hit(chunk=c, score=s) for c, s in (dense or lexical)]
        found = {c.id: c for c, _ in [*dense, *lexical]}
        fused = reciprocal_rank_fusion([[c.id for c, _ in dense], [c.id for c, _ in lexical]])
        return [Hit(chunk=found[cid], score=score) for cid, score in fused[:k]]

    def get(self, ids: Iterable[str]) -> dict[str, Chunk]:
        """The stored chunks among ``ids``, by id; ids not in the index are left out."""
        return {c.id: c for c in self.store.get(ids)}

    def chunks(self, *, doc_url: str | None = None) -> Iterator[Chunk]:
        """Every stored chunk (of one page, if ``doc_url`` is given), by URL and position."""
        where: Where | None = {"doc_url": doc_url} if doc_url is not None else None
        yield from sorted(self.store.scan(where), key=lambda c: (c.doc_url, c.position))

    def _dense(
        self, query: str, n: int, doc_url: str | None, url_prefix: str | None, lang: str | None
    ) -> list[tuple[Chunk, float]]:
        self._check_embedder()
        vector = self.embedder.encode_query(query)
        if self.store.count() <= EXACT_SEARCH_LIMIT:
            return self._exact(vector, n, doc_url, url_prefix, lang)
        clauses: list[Where] = []
        if doc_url is not None:
            clauses.append({"doc_url": doc_url})
        if lang is not None:
            clauses.append({"lang": lang})
        if url_prefix is not None:
            # Chroma has no prefix match on metadata: name the matching pages instead.
            urls = [u for u in self._known_urls() if u.startswith(url_prefix)]
            if not urls:
                return []
            clauses.append({"doc_url": {"$in": urls}})
        where = None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
        return self.store.query(vector, n, where)

    def _exact(
        self,
        vector: np.ndarray,
        n: int,
        doc_url: str | None,
        url_prefix: str | None,
        lang: str | None,
    ) -> list[tuple[Chunk, float]]:
        if self._matrix is None:
            chunks, matrix = self.store.vectors()
            norms = np.linalg.norm(matrix, axis=1, keepdims=True) if matrix.size else matrix
            self._matrix = (chunks, matrix / np.maximum(norms, 1e-12) if matrix.size else matrix)
        chunks, matrix = self._matrix
        if not chunks:
            return []
        query = np.asarray(vector, dtype=np.float32)
        scores = matrix @ (query / max(float(np.linalg.norm(query)), 1e-12))
        ranked = sorted(
            (
                (round(float(scores[i]), 6), chunk)
                for i, chunk in enumerate(chunks)
                if (doc_url is None or chunk.doc_url == doc_url)
                and (url_prefix is None or chunk.doc_url.startswith(url_prefix))
                and (lang is None or chunk.lang == lang)
            ),
            key=lambda pair: (-pair[0], pair[1].id),
        )
        return [(chunk, score) for score, chunk in ranked[:n]]

    def _lexical_search(
        self, query: str, n: int, doc_url: str | None, url_prefix: str | None, lang: str | None
    ) -> list[tuple[Chunk, float]]:
        if self._lexical is None:
            # In id order, so that ties rank alike whatever order the store returns chunks in.
            self._lexical = LexicalIndex(sorted(self.store.scan(), key=lambda c: c.id))

        def keep(c: Chunk) -> bool:
            return (
                (doc_url is None or c.doc_url == doc_url)
                and (url_prefix is None or c.doc_url.startswith(url_prefix))
                and (lang is None or c.lang == lang)
            )

        return self._lexical.search(query, n, keep)

    def _known_urls(self) -> list[str]:
        if self._doc_urls is None:
            self._doc_urls = sorted({s.doc_url for s in self.store.stamps().values()})
        return self._doc_urls


def _collection_name(root: Path, *, server: bool) -> str:
    """The default collection: a fixed name in the corpus's own store, a unique one on a server.

    On a server shared by several corpora the name carries the corpus folder's name and a hash
    of its absolute path; a fixed name locally keeps an index valid when its corpus is copied.
    """
    if not server:
        return _EMBEDDED_COLLECTION
    where = str(root.resolve())
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", root.resolve().name).strip("-._")[:40] or "corpus"
    return f"{_EMBEDDED_COLLECTION}-{stem}-{hashlib.sha256(where.encode()).hexdigest()[:8]}"


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
