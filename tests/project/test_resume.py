"""``groundset run`` killed in the middle of generation, then run again.

The issue's words: "Resume: kill ``run`` in the middle of generation; the rerun finishes with the
same number of kept samples and no duplicate model calls." A reference run of a project goes
through uninterrupted. The same project, in other folders but over the same served site (so the
chunk ids and sample ids are the same), is run in a subprocess that is killed with SIGKILL while
the scripted model holds a request unanswered: once in the first round of generation, once in
the second, after the first round was verified. Each is then run again: the rerun must publish
the very samples the reference kept (and rejected, byte for byte), having asked the model only
what the killed process had not been answered; and a further rerun must ask nothing.

Generation runs with ``concurrency = 1``: with two calls in flight, a response the server had
sent could still be on its way into the call cache when the process dies, and whether that call
is asked again would be a matter of timing. One call at a time, a request arrives only after the
one before it was answered and cached, so "answered before the kill" is exact.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from groundset.cli import main
from groundset.project import ProjectState

from scripted import Reply, ScriptedServer, extractive_answer
from sitesrv import SiteServer

TASKS = "qa = 30"
# Round 1 asks for 60 samples, round 2 for the 30 the budget has left.
BUDGET = "samples = 90"
OUTCOME = "stopped: the sample budget (90) is spent"
#: The longest any wait of the test lasts, so that a failure cannot hang it.
WAIT_S = 120.0


def canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


def kept_ids(root: Path) -> list[str]:
    path = root / "versions" / "v1" / "kept.jsonl"
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


def published(root: Path) -> dict[str, bytes]:
    """The judged samples of version v1, as published: every kept and rejected record."""
    v1 = root / "versions" / "v1"
    return {name: (v1 / name).read_bytes() for name in ("kept.jsonl", "rejected.jsonl")}


def totals(out: str) -> list[str]:
    """The summary's lines of samples judged, quotas and model calls (not its timings)."""
    heads = ("  samples:", "  rejected by reason:", "  quotas:", "  tokens:")
    return [line for line in out.splitlines() if line.startswith(heads)]


@dataclass
class Reference:
    """What the uninterrupted run asked (canonical request bodies), kept and published."""

    asked: list[str]
    kept: list[str]
    published: dict[str, bytes]
    totals: list[str]


def last_round(root: Path) -> int:
    with ProjectState(root) as state:
        phase = state.phases("run")[0]
        return state.last_round(phase.id)[0]


class HoldingModel:
    """A scripted model answering extractively that holds request ``held``, and every later
    one, until :meth:`release`; :attr:`reached` is set when request ``held`` arrives."""

    def __init__(self, held: int) -> None:
        self.held = held
        self.reached = threading.Event()
        self.released = threading.Event()
        self.server = ScriptedServer(self.script)

    def script(self, n: int, body: dict[str, Any]) -> Reply:
        if n >= self.held and not self.released.is_set():
            if n == self.held:
                self.reached.set()
            # Bounded, so that a failing test cannot leave a handler thread waiting for ever.
            self.released.wait(WAIT_S)
        return Reply(extractive_answer(body))

    def requests(self) -> list[str]:
        return [canonical(body) for _, body in self.server.requests]

    def close(self) -> None:
        self.released.set()
        self.server.close()


def generate_table(model_url: str) -> str:
    return f'base_url = "{model_url}"\nmodel = "scripted"\nconcurrency = 1'


def kill_at(project: Path, model: HoldingModel, log: Path) -> None:
    """Run the project in a subprocess and SIGKILL it once the model holds its request."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "groundset", "run", str(project)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + WAIT_S
            while not model.reached.wait(0.1):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"the run never sent request {model.held} (exit {proc.poll()}):\n"
                        + log.read_text(encoding="utf-8", errors="replace")
                    )
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=30) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


def test_run_killed_mid_generation_resumes_without_asking_twice(
    tmp_path: Path,
    drf_server: SiteServer,
    make_project: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # -- the reference: one uninterrupted run ---------------------------------------------------
    reference = ScriptedServer(lambda n, body: Reply(extractive_answer(body)))
    try:
        project = make_project(
            tmp_path / "reference",
            drf_server.url,
            tasks=TASKS,
            generate=generate_table(reference.url),
            budget=BUDGET,
        )
        assert main(["run", str(project)]) == 0
        out = capsys.readouterr().out
        asked = [canonical(body) for _, body in reference.requests]
    finally:
        reference.close()
    root = project.parent / "drf"
    expected = kept_ids(root)
    ref = Reference(asked, expected, published(root), totals(out))
    # The run takes two rounds, and keeps some of its samples, not all.
    assert f"run of drf: {OUTCOME}" in out, out
    assert "round 1: asking for 60 qa" in out and "round 2: asking for 30 qa" in out, out
    assert last_round(root) == 2, out
    assert 0 < len(expected) < len(asked) == 90, out
    # An uninterrupted run asks nothing twice.
    assert len(set(asked)) == len(asked)
    assert len(ref.totals) == 4, out

    # Killed in the middle of round 1, and in the middle of round 2.
    for held, killed_round in ((25, 1), (75, 2)):
        folder = tmp_path / f"killed-{held}"
        interrupted(folder, drf_server.url, make_project, capsys, held, killed_round, ref)


def interrupted(
    folder: Path,
    site_url: str,
    make_project: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    held: int,
    killed_round: int,
    ref: Reference,
) -> None:
    """Run the project in ``folder``, killed at request ``held`` (in round ``killed_round``),
    then rerun it, and check the rerun against the reference run."""
    model = HoldingModel(held)
    try:
        project = make_project(
            folder,
            site_url,
            tasks=TASKS,
            generate=generate_table(model.server.url),
            budget=BUDGET,
        )
        root = project.parent / "drf"
        kill_at(project, model, folder / "killed.log")
        killed = (folder / "killed.log").read_text(encoding="utf-8", errors="replace")
        where = f"killed at request {held}:\n{killed}"
        # One call at a time: the held request was the last to arrive, and every one before it
        # had been answered.
        before = model.requests()
        assert len(before) == held, where
        answered = set(before[: held - 1])
        # The kill came in the middle of generation, in the round meant.
        assert not (root / "versions").exists(), where
        assert last_round(root) == killed_round, where
        model.released.set()

        # -- the rerun resumes and finishes ---------------------------------------------------
        assert main(["run", str(project)]) == 0
        out = capsys.readouterr().out
        where = f"killed at request {held}, rerun:\n{out}"
        assert f"run of drf (resumed): {OUTCOME}" in out, where
        rerun = model.requests()[held:]

        # The same samples are kept, and rejected, and the run counted them and its calls as
        # the reference did ...
        assert kept_ids(root) == ref.kept, where
        assert published(root) == ref.published, where
        assert totals(out) == ref.totals, where
        # ... no call answered before the kill is asked again, nor any call twice ...
        assert not answered & set(rerun), where
        assert len(set(rerun)) == len(rerun), where
        # ... and the two processes asked, between them, exactly what the reference asked.
        both = set(before) | set(rerun)
        assert len(both) == len(ref.asked), where
        assert both == set(ref.asked), where

        # A further rerun asks nothing and publishes nothing new.
        calls = len(model.server.requests)
        assert main(["run", str(project)]) == 0
        capsys.readouterr()
        assert len(model.server.requests) == calls, f"killed at request {held}"
        assert not (root / "versions" / "v2").exists()
        assert published(root) == ref.published
    finally:
        model.close()
