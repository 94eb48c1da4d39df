"""Damage a real SQLite state file the way a bad sector or a torn write would."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def damage_page(path: Path, btree: str) -> None:
    """Overwrite the root page of ``btree`` (a table or an index of the file) with junk bytes."""
    db = sqlite3.connect(path)
    try:
        found = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (btree,))
        (page,) = found.fetchone()
        (size,) = db.execute("PRAGMA page_size").fetchone()
    finally:
        db.close()
    with path.open("r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xff" * size)
