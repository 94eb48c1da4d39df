"""One writer at a time: a lock file in the folder a command writes (a corpus, a project).

A second ``crawl``, ``index``, ``run`` or ``refresh`` on a folder that another groundset process
is writing is refused at once, naming that process and when it started, instead of both doing
the work twice. The lock is a file, ``.groundset.lock``, created exclusively and holding the
owner's pid, host, command and start time. A lock whose process is gone (killed, or the machine
restarted) is stale: the next command takes it over. The process that holds a lock may take it
again (a ``run`` crawls and indexes its corpus under its own locks).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from groundset.errors import StateError

__all__ = ["LOCK_NAME", "writer_lock"]

LOCK_NAME = ".groundset.lock"

# Locks this process holds, by path, with how many times each was taken.
_held: dict[Path, int] = {}


@contextmanager
def writer_lock(folder: Path, what: str) -> Iterator[None]:
    """Hold the writer lock of ``folder`` for the block.

    Args:
        folder: the corpus or project directory (created if missing).
        what: what the folder is, for the message ("the corpus corpora/drf").

    Raises:
        StateError: another live process holds the lock.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / LOCK_NAME).resolve()
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    _acquire(path, what)
    _held[path] = 1
    try:
        yield
    finally:
        del _held[path]
        with suppress(FileNotFoundError):
            path.unlink()


def _acquire(path: Path, what: str) -> None:
    mine = json.dumps(
        {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(["groundset", *sys.argv[1:3]]) if sys.argv else "groundset",
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
    )
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _owner(path)
            if owner is not None and _alive(owner):
                raise StateError(
                    f"{what} is already being written: {owner.get('command', 'groundset')} is"
                    f" running (pid {owner.get('pid')}) since {owner.get('since', '?')}",
                    fix=f"wait for it to finish, or stop it; {path} is its lock",
                ) from None
            # A stale lock (its process is gone) or an unreadable one: take it over.
            with suppress(FileNotFoundError):
                path.unlink()
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(mine)
        return
    raise StateError(f"cannot take the lock {path} of {what}", fix="remove it if no groundset runs")


def _owner(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _alive(owner: dict[str, object]) -> bool:
    """Whether the lock's process still runs (on this host; another host's lock is trusted)."""
    if owner.get("host") != socket.gethostname():
        return True
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return False  # our own pid, from a lock our earlier self left: stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"
