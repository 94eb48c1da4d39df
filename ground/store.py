"""The Chroma collection that holds the chunks, embedded or on a server through one code path.

Each chunk is stored with its text as the Chroma document, our own embedding (Chroma never
embeds anything), and its :class:`~groundset.records.Chunk` fields as metadata, plus a stamp
saying which version of its page it belongs to (``doc_version``) and how many chunks that version
has (``doc_chunks``). The stamps are what make the index trustworthy after a crash: a page counts
as indexed only when the collection holds exactly ``doc_chunks`` chunks stamped with its current
version and nothing else under its URL. They live in the same records as the vectors, so the
index can never claim a page whose chunks it does not hold, on disk or on a server alike.

The collection's metadata records the embedder that built it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings

from groundset.errors import IndexStoreError, UsageError
from groundset.records import Chunk
from groundset.statefile import StateWarning

#: What Chroma's errors say when its SQLite file is not a usable database.
_DAMAGED = ("file is not a database", "malformed")

__all__ = ["ChunkStore", "Stamp", "Where"]

#: A Chroma metadata filter.
Where = dict[str, Any]

_CHUNK_FIELDS = ("doc_url", "title", "heading_path", "position", "content_sha256", "lang")
# Rows fetched per request when scanning the whole collection.
_PAGE = 2000


@dataclass(frozen=True)
class Stamp:
    """What the index knows about one stored chunk without reading its text."""

    doc_url: str
    heading_path: str
    doc_version: str
    doc_chunks: int


class ChunkStore:
    """One Chroma collection of chunks.

    Args:
        client: a Chroma client (persistent or HTTP).
        name: the collection's name.
    """

    def __init__(self, client: ClientAPI, name: str, directory: Path | None = None) -> None:
        self._client = client
        self.name = name
        self._directory = directory
        self.max_batch = client.get_max_batch_size()
        self._collection = self._open_collection()

    @classmethod
    def connect(cls, location: Path | str, name: str) -> ChunkStore:
        """Open (or create) collection ``name`` in a local directory or on a Chroma server.

        Args:
            location: a directory (a :class:`~pathlib.Path`) or a server URL (a string).
            name: the collection.

        Raises:
            UsageError: the URL is not an http(s) URL.
            IndexStoreError: the server cannot be reached or the directory cannot be opened.
        """
        settings = Settings(anonymized_telemetry=False)
        if isinstance(location, str):
            parts = urlsplit(location)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UsageError(
                    f"bad Chroma URL {location!r}", fix="give one like http://127.0.0.1:8000"
                )
        try:
            if isinstance(location, str):
                client = chromadb.HttpClient(
                    host=parts.hostname or "",
                    port=parts.port or (443 if parts.scheme == "https" else 8000),
                    ssl=parts.scheme == "https",
                    settings=settings,
                )
            else:
                client = _local_client(location, settings)
            return cls(client, name, None if isinstance(location, str) else location)
        except Exception as exc:  # Chroma raises bare Exceptions and httpx errors alike.
            if isinstance(location, str):
                where = f"the Chroma server at {location}"
                fix = (
                    "start it with `chroma run --path DIR --host HOST --port PORT`, or fix the URL"
                )
            else:
                where = f"the index in {location}"
                fix = "check the folder, or delete it and index again"
            raise IndexStoreError(f"cannot open {where}: {exc}", fix=fix) from None

    def _open_collection(self) -> Collection:
        return self._client.get_or_create_collection(
            self.name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )

    # -- the collection as a whole -----------------------------------------------------------

    @property
    def embedder(self) -> str | None:
        """The embedder recorded as having built the collection, if any."""
        value = (self._collection.metadata or {}).get("embedder")
        return str(value) if value is not None else None

    def count(self) -> int:
        return self._collection.count()

    def claim(self, embedder: str, dimension: int) -> None:
        """Record ``embedder`` as the model whose vectors this collection holds."""
        self._collection.modify(metadata={"embedder": embedder, "dimension": dimension})

    def reset(self) -> None:
        """Drop every chunk and the recorded embedder.

        Chroma forgets a deleted collection but leaves its vector files on disk, so in a local
        directory each rebuild would leave a copy of the whole vector index behind: the folders of
        segments that Chroma no longer knows are removed here.
        """
        self._client.delete_collection(self.name)
        self._collection = self._open_collection()
        if self._directory is not None:
            remove_unused_segments(self._directory)

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if close is not None:
            close()

    # -- writing -------------------------------------------------------------------------------

    def stamps(self) -> dict[str, Stamp]:
        """Every stored chunk id with its stamp."""
        found: dict[str, Stamp] = {}
        for ids, metas, _, _ in self._pages(None, include=["metadatas"]):
            for cid, meta in zip(ids, metas, strict=True):
                found[cid] = Stamp(
                    doc_url=str(meta["doc_url"]),
                    heading_path=str(meta.get("heading_path", "")),
                    doc_version=str(meta.get("doc_version", "")),
                    doc_chunks=int(cast(int, meta.get("doc_chunks", -1))),
                )
        return found

    def upsert(
        self, chunks: Sequence[Chunk], vectors: np.ndarray, stamp: Mapping[str, Any]
    ) -> None:
        """Write chunks with their vectors; ``stamp`` maps a doc URL to its stamp fields."""
        self._collection.upsert(
            ids=[c.id for c in chunks],
            embeddings=vectors,
            documents=[c.text for c in chunks],
            metadatas=[_metadata(c, stamp[c.doc_url]) for c in chunks],
        )

    def restamp(self, chunks: Sequence[Chunk], stamp: Mapping[str, Any]) -> None:
        """Rewrite the metadata of chunks already stored, keeping their text and vectors."""
        self._collection.update(
            ids=[c.id for c in chunks], metadatas=[_metadata(c, stamp[c.doc_url]) for c in chunks]
        )

    def delete(self, ids: Sequence[str]) -> None:
        self._collection.delete(ids=list(ids))

    # -- reading -------------------------------------------------------------------------------

    def query(self, vector: np.ndarray, n: int, where: Where | None) -> list[tuple[Chunk, float]]:
        """The ``n`` chunks nearest to ``vector``, with their cosine similarity."""
        result = self._collection.query(
            query_embeddings=[vector],
            n_results=n,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        ids = result["ids"][0]
        docs = (result["documents"] or [[]])[0]
        metas = (result["metadatas"] or [[]])[0]
        dists = (result["distances"] or [[]])[0]
        return [
            (_chunk(cid, text, meta), 1.0 - float(dist))
            for cid, text, meta, dist in zip(ids, docs, metas, dists, strict=True)
        ]

    def get(self, ids: Iterable[str]) -> list[Chunk]:
        """The stored chunks among ``ids``; unknown ids are left out."""
        wanted = list(dict.fromkeys(ids))
        found: list[Chunk] = []
        for start in range(0, len(wanted), self.max_batch):
            result = self._collection.get(
                ids=wanted[start : start + self.max_batch], include=["documents", "metadatas"]
            )
            found.extend(
                _chunk(cid, text, meta)
                for cid, text, meta in zip(
                    result["ids"], result["documents"] or [], result["metadatas"] or [], strict=True
                )
            )
        return found

    def scan(self, where: Where | None = None) -> Iterator[Chunk]:
        """Every stored chunk matching ``where``, in no particular order."""
        for ids, metas, docs, _ in self._pages(where, include=["metadatas", "documents"]):
            for cid, meta, text in zip(ids, metas, docs, strict=True):
                yield _chunk(cid, text, meta)

    def vectors(self) -> tuple[list[Chunk], np.ndarray]:
        """Every stored chunk with its embedding (one row each, in the chunks' order)."""
        chunks: list[Chunk] = []
        rows: list[np.ndarray] = []
        for ids, metas, docs, embeddings in self._pages(
            None, ["metadatas", "documents", "embeddings"]
        ):
            if embeddings is None:
                raise IndexStoreError(
                    f"the index {self.name!r} returned no embeddings", fix="index it again"
                )
            chunks += [_chunk(c, d, m) for c, m, d in zip(ids, metas, docs, strict=True)]
            rows.append(np.asarray(embeddings, dtype=np.float32))
        matrix = np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)
        return chunks, matrix

    def _pages(
        self, where: Where | None, include: list[Any]
    ) -> Iterator[tuple[list[str], list[Mapping[str, Any]], list[str], Any]]:
        """The collection a page at a time: ids, metadatas, documents and embeddings (None
        unless included)."""
        offset = 0
        while True:
            result = self._collection.get(where=where, limit=_PAGE, offset=offset, include=include)
            ids = result["ids"]
            if not ids:
                return
            metas = list(result["metadatas"] or [{}] * len(ids))
            docs = list(result["documents"] or [""] * len(ids))
            yield ids, metas, docs, result.get("embeddings")
            offset += len(ids)


def _local_client(directory: Path, settings: Settings) -> ClientAPI:
    """A client of the store in ``directory``; a damaged one is moved aside and started afresh.

    The store holds nothing that cannot be made again: every chunk comes from the corpus and
    every vector from the embedding cache beside it, so the next ``groundset index`` rebuilds it
    at the cost of chunking. The damaged files are kept, never deleted.
    """
    try:
        return chromadb.PersistentClient(path=str(directory), settings=settings)
    except Exception as exc:
        if not any(m in str(exc).lower() for m in _DAMAGED):
            raise
        # Chroma keeps the failed client of this path for the process; drop it to start over.
        SharedSystemClient.clear_system_cache()
        aside = directory / f"chroma.corrupt-{time.strftime('%Y%m%dT%H%M%S')}"
        aside.mkdir()
        for part in directory.iterdir():
            if part.name.startswith("chroma.sqlite3") or (part.is_dir() and _is_uuid(part.name)):
                os.replace(part, aside / part.name)
        warnings.warn(
            f"the index store {directory} was damaged ({exc}) and is started afresh: `groundset"
            f" index` indexes the corpus again, its vectors from the embedding cache; the old"
            f" files are kept in {aside.name}",
            StateWarning,
            stacklevel=4,
        )
        return chromadb.PersistentClient(path=str(directory), settings=settings)


def remove_unused_segments(directory: Path) -> list[str]:
    """Remove the segment folders of a local Chroma directory that its catalogue does not list.

    A folder is removed only when its name is a UUID and Chroma's ``segments`` table can be read
    and does not name it; when the table cannot be read, nothing is removed.

    Returns:
        The names of the folders removed.
    """
    try:
        db = sqlite3.connect(f"file:{directory / 'chroma.sqlite3'}?mode=ro", uri=True)
        try:
            live = {str(row[0]) for row in db.execute("SELECT id FROM segments")}
        finally:
            db.close()
    except sqlite3.Error:
        return []
    removed = []
    for child in directory.iterdir():
        if child.is_dir() and child.name not in live and _is_uuid(child.name):
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    return removed


def _is_uuid(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


def _metadata(chunk: Chunk, stamp: Mapping[str, Any]) -> dict[str, Any]:
    return {**chunk.model_dump(include=set(_CHUNK_FIELDS)), **stamp}


def _chunk(cid: str, text: str | None, meta: Mapping[str, Any] | None) -> Chunk:
    meta = meta or {}
    return Chunk(id=cid, text=text or "", **{k: meta[k] for k in _CHUNK_FIELDS if k in meta})
