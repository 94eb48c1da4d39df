"""A content-addressed cache of model calls in SQLite.

The key is a hash of the endpoint's identity and the exact request body, so a rerun of the same
generation is answered from here without a call, and an interrupted run resumes at no cost.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from groundset.statefile import open_state

__all__ = ["CallCache", "call_key"]


def call_key(endpoint: str, body: dict[str, Any]) -> str:
    """The cache key of one request: SHA-256 of the endpoint and the canonical JSON body."""
    canonical = json.dumps({"endpoint": endpoint, "body": body}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class CallCache:
    """Responses of model calls by :func:`call_key`, safe to share between threads.

    Args:
        path: the SQLite file; created with its folder when missing. A damaged file is moved
            aside, never deleted (its answers cost calls), and the cache started afresh with a
            warning.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = open_state(
            path,
            what="the model-call cache",
            schema="CREATE TABLE IF NOT EXISTS calls"
            " (key TEXT PRIMARY KEY, response TEXT NOT NULL, created REAL NOT NULL);",
            version=1,
            heal="cached model answers",
            check_same_thread=False,
            isolation_level="DEFERRED",
            fix="move it away; generation then calls the model again",
        )

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored response of ``key``, or None."""
        with self._lock:
            row = self._db.execute("SELECT response FROM calls WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, key: str, response: dict[str, Any]) -> None:
        """Store ``response`` under ``key``, committed at once so a crash loses nothing."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO calls (key, response, created) VALUES (?, ?, ?)",
                (key, json.dumps(response, ensure_ascii=False), time.time()),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
