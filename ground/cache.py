"""Embeddings cached by content: a chunk whose text was embedded once is never embedded again.

Keyed by the embedder's identity and the SHA-256 of the exact text, so a page that changes back,
a rebuilt collection, or a second index of the same corpus (on a Chroma server, say) reuses
every vector it can. Vectors are stored as float32 bytes in one SQLite table.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from groundset.statefile import open_state

__all__ = ["EmbeddingCache"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    embedder TEXT NOT NULL,
    sha256   TEXT NOT NULL,
    vector   BLOB NOT NULL,
    PRIMARY KEY (embedder, sha256)
) WITHOUT ROWID
"""
# SQLite refuses statements with more host parameters than this (32766 since 3.32; stay low).
_MAX_PARAMS = 900


class EmbeddingCache:
    """A SQLite file of vectors keyed by (embedder identity, text hash).

    Args:
        path: the SQLite file; created with its folder if missing. A damaged file is moved
            aside and the cache started afresh (the chunks are embedded again), with a warning.
    """

    def __init__(self, path: Path) -> None:
        self._db = open_state(
            path,
            what="the embedding cache",
            schema=_SCHEMA,
            version=1,
            heal="cached embeddings",
            wal=True,
            fix="delete it; the next index update embeds the chunks again",
        )

    def get(self, embedder: str, shas: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``shas``, by hash."""
        wanted = list(dict.fromkeys(shas))
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(wanted), _MAX_PARAMS):
            part = wanted[start : start + _MAX_PARAMS]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(
                f"SELECT sha256, vector FROM embeddings WHERE embedder = ? AND sha256 IN ({marks})",
                (embedder, *part),
            )
            for sha, blob in rows:
                found[sha] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, embedder: str, vectors: dict[str, np.ndarray]) -> None:
        """Store vectors by text hash, in one transaction."""
        rows = [
            (embedder, sha, np.asarray(v, dtype=np.float32).tobytes()) for sha, v in vectors.items()
        ]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings (embedder, sha256, vector) VALUES (?, ?, ?)",
                rows,
            )

    def close(self) -> None:
        self._db.close()
