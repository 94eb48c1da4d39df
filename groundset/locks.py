"""One writer at a time: a lock file in the folder a command writes (a corpus, a project).

A second ``crawl``, ``index``, ``run`` or ``refresh`` on a folder that another groundset process
is writing is refused at once, naming that process and when it started, instead of both doing
the work twice. The lock is a file, ``.groundset.lock``, holding the owner's pid, host, command
and start time. It is held from the instant it exists: it is written whole beside its name, then
hard-linked to it, which is atomic and fails when the name exists (a lock created empty and
written after was, for a moment, unreadable, so taken for stale by a second writer). A lock
whose process is gone (killed, or the machine restarted) is stale: the next command takes it
over, judging it under an ``flock`` of the folder so that two commands never both take over the
same one; where the file system has no hard links, the lock is written under that flock too.
The process that holds a lock may take it again (a ``run`` crawls and indexes its corpus under
its own locks).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import tempfile
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
    mine = _record_beside(path)
    try:
        for _ in range(3):
            try:
                _link(mine, path)
            except FileExistsError:
                pass
            else:
                return
            # Judged under the folder's flock: two commands that both found the lock stale
            # would otherwise both take it over, the second removing the first one's new lock.
            with _folder_flock(path.parent), suppress(FileNotFoundError):  # gone: ask again
                owner = _owner(path)
                if owner is not None and _alive(owner):
                    raise StateError(
                        f"{what} is already being written: {owner.get('command', 'groundset')}"
                        f" is running (pid {owner.get('pid')}) since {owner.get('since', '?')}",
                        fix=f"wait for it to finish, or stop it; {path} is its lock",
                    )
                path.unlink()  # stale (its process is gone) or unreadable: take it over
    finally:
        mine.unlink()
    raise StateError(f"cannot take the lock {path} of {what}", fix="remove it if no groundset runs")


def _record_beside(path: Path) -> Path:
    """This process's lock record, written whole to a new file beside the lock ``path``."""
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join(["groundset", *sys.argv[1:3]]) if sys.argv else "groundset",
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    try:
        fd, name = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # a read-only disk: name the lock, not a passing file
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    mine = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fd, 0o644)  # others read who holds the lock
            fh.write(json.dumps(record))
    except OSError as exc:  # a full disk
        mine.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    return mine


def _link(mine: Path, path: Path) -> None:
    """Give the record ``mine`` the name ``path``, whole at once.

    Raises:
        FileExistsError: a lock is there.
    """
    try:
        os.link(mine, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links (FAT, exFAT): written under the flock, seen only whole
        with _folder_flock(path.parent):
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(mine.read_bytes())


@contextmanager
def _folder_flock(folder: Path) -> Iterator[None]:
    """Hold an flock of ``folder`` itself: the kernel lets it go when its holder dies, so it is
    never stale. Where the file system cannot lock a folder (some network mounts), go on
    without it."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        with suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # lets the flock go


def _owner(path: Path) -> dict[str, object] | None:
    """The record of the lock at ``path``, or None when it is not one.

    Raises:
        FileNotFoundError: there is no lock (its holder let it go).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
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
