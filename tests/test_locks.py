"""The writer lock: one writer per folder, even when two commands start at the same instant."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import socket
import subprocess
from multiprocessing.sharedctypes import SynchronizedArray
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from groundset.errors import StateError
from groundset.locks import LOCK_NAME, writer_lock

ROUNDS = 1000


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _race(
    folder: Path,
    seat: int,
    together: Barrier,
    held: SynchronizedArray[int],
    left_behind: str | None,
) -> None:
    """One of two writers: each round, both ask for the lock at once and note who got it."""
    for round_ in range(ROUNDS):
        if left_behind is not None and seat == 0:
            (folder / LOCK_NAME).write_text(left_behind)
        together.wait()  # both ask at once
        try:
            with writer_lock(folder, "the corpus"):
                held[2 * round_ + seat] = 1
                together.wait()  # hold it until the other has asked too
        except StateError:
            together.wait()
        together.wait()  # both have let go


def _no_hard_links(src: object, dst: object) -> None:
    raise PermissionError(errno.EPERM, "Operation not permitted")  # as FAT answers


@pytest.mark.parametrize("stale", [False, True], ids=["no lock", "a dead writer's lock"])
@pytest.mark.parametrize("links", [True, False], ids=["hard links", "no hard links"])
def test_two_writers_starting_together_never_both_hold_the_lock(
    tmp_path: Path, stale: bool, links: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not links:
        monkeypatch.setattr(os, "link", _no_hard_links)
    left_behind = None
    if stale:
        owner = {"pid": _dead_pid(), "host": socket.gethostname(), "command": "groundset crawl"}
        left_behind = json.dumps({**owner, "since": "2026-11-22 08:00:00"})
    # fork: the racers share the barrier and the array, and start in milliseconds.
    context = multiprocessing.get_context("fork")
    together = context.Barrier(2, timeout=30)
    held = context.Array("i", 2 * ROUNDS)
    racers = [
        context.Process(target=_race, args=(tmp_path, seat, together, held, left_behind))
        for seat in (0, 1)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=120)
    assert [racer.exitcode for racer in racers] == [0, 0]
    holders = [held[2 * r] + held[2 * r + 1] for r in range(ROUNDS)]
    assert holders.count(2) == 0, f"both writers held the lock in {holders.count(2)} rounds"
    assert holders == [1] * ROUNDS, "in some round nobody got the lock"
    assert list(tmp_path.iterdir()) == [], "the lock and any file written to take it are gone"


def test_a_live_writer_is_named_and_a_dead_or_empty_lock_taken_over(tmp_path: Path) -> None:
    lock = tmp_path / LOCK_NAME
    with subprocess.Popen(["sleep", "60"]) as writer:
        owner = {"pid": writer.pid, "host": socket.gethostname(), "command": "groundset crawl"}
        lock.write_text(json.dumps({**owner, "since": "2026-11-22 08:00:00"}))
        with pytest.raises(StateError) as refused, writer_lock(tmp_path, "the corpus c"):
            pass
        writer.kill()
    assert str(refused.value) == (
        f"the corpus c is already being written: groundset crawl is running (pid {writer.pid})"
        f" since 2026-11-22 08:00:00 (wait for it to finish, or stop it; {lock} is its lock)"
    )
    for left_behind in (lock.read_text(), ""):  # its process is gone; a crash before writing
        lock.write_text(left_behind)
        with writer_lock(tmp_path, "the corpus c"), writer_lock(tmp_path, "the corpus c"):
            assert json.loads(lock.read_text())["pid"] == os.getpid()
        assert list(tmp_path.iterdir()) == []
