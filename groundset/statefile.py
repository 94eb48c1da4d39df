"""Every SQLite state file of groundset is opened here, so that damage reads as one clear line.

groundset keeps its state in SQLite files beside the data: the corpus manifest
(``corpus.sqlite``), the embedding cache (``index/embeddings.sqlite``), the model-call cache
(``llm-cache.sqlite``) and the project state (``project.sqlite``). :func:`open_state` opens one,
creates its tables, and turns what can go wrong into a :class:`~groundset.errors.StateError` that
names the file, what is wrong and the fix:

- not a database, or a damaged one ("file is not a database", "database disk image is
  malformed"): a record the user paid for is never thrown away, so the error says how to
  recover; a pure cache (``heal``) is instead moved aside to ``<name>.corrupt-<time>`` and started
  afresh with the rows that can still be read from it, with a warning that says how many were
  recovered, how many lost and where the old file is. Damage anywhere in the file is found when
  it is opened (SQLite's ``quick_check``), not at the query that happens to read the bad page;
- locked by another process ("database is locked");
- a read-only folder or file;
- written by another version of groundset: every file records its schema version in SQLite's
  ``user_version``; a newer one is refused (upgrade groundset), a file from before versions were
  recorded is adopted, an older one is migrated by the caller's ``migrate``.

The JSONL files that work is appended to as it is done (samples as generated, review verdicts)
are state files too: :func:`drop_partial_line` cuts the line a crash left half written, so that the
next append does not glue itself to it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from groundset.errors import GroundsetWarning, StateError

__all__ = ["StateWarning", "drop_partial_line", "open_state"]

Isolation = Literal["DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None


class StateWarning(GroundsetWarning):
    """A state file was damaged and healed: what was lost, and where the old file went."""


#: Messages of SQLite errors that mean the file's bytes are not a usable database.
_DAMAGED = ("file is not a database", "malformed", "not a database", "file is encrypted")
_LOCKED = ("database is locked", "database table is locked")
_READ_ONLY = ("readonly database", "unable to open database file", "read-only")


def open_state(
    path: Path,
    *,
    what: str,
    schema: str,
    version: int,
    fix: str,
    heal: str | None = None,
    wal: bool = False,
    check_same_thread: bool = True,
    isolation_level: Isolation = None,
    migrate: Callable[[sqlite3.Connection, int], None] | None = None,
) -> sqlite3.Connection:
    """Open (creating if needed) one state file and its tables.

    Args:
        path: the SQLite file.
        what: what the file is, for messages ("the corpus manifest").
        schema: the ``CREATE TABLE IF NOT EXISTS`` statements.
        version: the schema version this groundset writes.
        fix: how to recover the file when it is damaged (for files that are not caches).
        heal: for a pure cache, what a damaged file loses ("cached embeddings"); the file is
            then moved aside and started afresh instead of refused.
        wal: use SQLite's write-ahead log.
        check_same_thread: as for :func:`sqlite3.connect`.
        isolation_level: as for :func:`sqlite3.connect`.
        migrate: called with the connection and the file's older version to bring it up to
            ``version``; without it an older file is refused.

    Raises:
        StateError: the file is damaged (and no cache), locked, read-only, or of another
            schema version.
    """
    try:
        return _open(path, schema, version, wal, check_same_thread, isolation_level, migrate, what)
    except sqlite3.DatabaseError as exc:
        message = str(exc).lower()
        if any(m in message for m in _LOCKED):
            raise StateError(
                f"{what} {path} is locked by another process ({exc})",
                fix="wait for the other groundset command to finish, or stop it",
            ) from None
        if any(m in message for m in _READ_ONLY):
            raise StateError(
                f"cannot write {what} {path}: the file or its folder is read-only ({exc})",
                fix="make it writable, or work on a copy in a folder you can write",
            ) from None
        if not any(m in message for m in _DAMAGED):
            raise StateError(f"cannot open {what} {path}: {exc}", fix=fix) from None
        if heal is None:
            raise StateError(f"{what} {path} is damaged ({exc})", fix=fix) from None
    aside = _move_aside(path)
    try:
        db = _open(path, schema, version, wal, check_same_thread, isolation_level, migrate, what)
    except sqlite3.DatabaseError as exc:
        raise StateError(f"cannot recreate {what} {path}: {exc}", fix=fix) from None
    lost = _what_was_lost(heal, *_salvage(aside, db, schema))
    warnings.warn(
        f"{what} {path} was damaged and is started afresh: {lost}; the old file is kept as"
        f" {aside.name}",
        StateWarning,
        stacklevel=2,
    )
    return db


def _salvage(damaged: Path, db: sqlite3.Connection, schema: str) -> tuple[int, int | None]:
    """Copy the rows still readable in a damaged file into the fresh ``db``.

    Returns:
        (rows recovered, rows the damaged file holds, or None when it cannot even count them).
    """
    recovered, total = 0, 0
    try:
        old = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
    except sqlite3.Error:
        return 0, None
    db.execute("SAVEPOINT salvage")  # one transaction, whatever the connection's isolation
    try:
        for table in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", schema):
            try:
                total += int(old.execute(f"SELECT count(*) FROM {table} NOT INDEXED").fetchone()[0])
            except sqlite3.Error:
                total = -1  # uncountable: the whole file's total is unknown
            try:
                for row in old.execute(f"SELECT * FROM {table} NOT INDEXED"):
                    marks = ", ".join("?" * len(row))
                    db.execute(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", row)
                    recovered += 1
            except sqlite3.Error:
                pass  # what was read before the damaged page is kept
    finally:
        db.execute("RELEASE salvage")
        old.close()
    return recovered, (total if total >= 0 else None)


def _what_was_lost(heal: str, recovered: int, total: int | None) -> str:
    if total is not None and recovered >= total:
        return f"all {total} of its {heal} were recovered from it"
    if total is not None:
        return f"{total - recovered} of its {total} {heal} are lost ({recovered} recovered)"
    if recovered:
        return f"{recovered} of its {heal} were recovered, the rest (too damaged to count) are lost"
    return f"its {heal} are lost (the file is too damaged to count them)"


def _open(
    path: Path,
    schema: str,
    version: int,
    wal: bool,
    check_same_thread: bool,
    isolation_level: Isolation,
    migrate: Callable[[sqlite3.Connection, int], None] | None,
    what: str,
) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(
            f"cannot create the folder of {what} {path}: {exc.strerror}",
            fix="make the folder writable, or choose another one",
        ) from None
    db = sqlite3.connect(path, check_same_thread=check_same_thread, isolation_level=isolation_level)
    try:
        found = int(db.execute("PRAGMA user_version").fetchone()[0])
        # A damaged page deep in the file would otherwise surface only mid-run, at the query that
        # reads it; the check reads every page once (about 2 ms a megabyte).
        check = str(db.execute("PRAGMA quick_check(1)").fetchone()[0])
        if check != "ok":
            where = " ".join(check.replace("*** in database main ***", "").split())
            raise sqlite3.DatabaseError(f"database disk image is malformed: {where}")
        if found > version:
            raise StateError(
                f"{what} {path} was written by a newer groundset (schema {found}; this one"
                f" reads {version})",
                fix="upgrade groundset (pip install -U groundset)",
            )
        if wal:
            db.execute("PRAGMA journal_mode=WAL")
        if 0 < found < version:
            if migrate is None:
                raise StateError(
                    f"{what} {path} has schema {found}, which this groundset cannot migrate to"
                    f" {version}",
                    fix="rebuild it with the command that wrote it, or use the groundset that did",
                )
            migrate(db, found)
        db.executescript(schema)
        if found != version:
            db.execute(f"PRAGMA user_version = {int(version)}")
            if isolation_level is not None:
                db.commit()
    except BaseException:
        db.close()
        raise
    return db


def _move_aside(path: Path) -> Path:
    """Renames a damaged file (and its WAL files) to ``<name>.corrupt-<time>``."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, aside)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            os.replace(extra, aside.with_name(aside.name + suffix))
    return aside


def drop_partial_line(path: Path) -> None:
    """Cut a last line that a crash left without its newline off ``path`` (a JSONL file)."""
    try:
        with path.open("rb") as fh:
            fh.seek(-1, 2)
            if fh.read(1) == b"\n":
                return
    except OSError:
        return  # missing or empty: nothing to cut
    data = path.read_bytes()
    path.write_bytes(data[: data.rfind(b"\n") + 1])
