"""The state of a project, in ``<project dir>/project.sqlite``: what is done, so nothing is redone.

A *phase* is one ``run`` or one ``refresh``, resumed as often as it is interrupted. The state
holds, for each phase, whether its crawl is done, the chunk ids its index held, the rounds of
samples it asked for and the tokens it spent (written call by call); and for every sample ever
judged, its status (``kept``, ``rejected`` or ``retired``), reasons and record. Every write is
committed at once, so a process killed at any point leaves a state the next one continues from.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from groundset.errors import UsageError
from groundset.generate.usage import Usage
from groundset.statefile import open_state

__all__ = [
    "Phase",
    "PhaseKind",
    "ProjectState",
    "RecordedUsage",
    "SampleRow",
    "Spend",
    "Status",
    "VersionRow",
]

Status = Literal["kept", "rejected", "retired"]
PhaseKind = Literal["run", "refresh"]
#: A judged sample: ``(id, task, phase, status, reasons, record)``.
SampleRow = tuple[str, str, int, Status, list[str], dict[str, Any]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS phases (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, started REAL NOT NULL, finished REAL,
    crawl TEXT, outcome TEXT
);
CREATE TABLE IF NOT EXISTS snapshots (
    phase INTEGER NOT NULL, chunk_id TEXT NOT NULL, PRIMARY KEY (phase, chunk_id)
);
CREATE TABLE IF NOT EXISTS rounds (
    phase INTEGER NOT NULL, round INTEGER NOT NULL, task TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (phase, round, task)
);
CREATE TABLE IF NOT EXISTS spend (
    phase INTEGER PRIMARY KEY, calls INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    id TEXT PRIMARY KEY, task TEXT NOT NULL, phase INTEGER NOT NULL, status TEXT NOT NULL,
    reasons TEXT NOT NULL, record TEXT NOT NULL, changed_phase INTEGER
);
CREATE INDEX IF NOT EXISTS samples_status ON samples (status, task);
CREATE TABLE IF NOT EXISTS reverified (
    phase INTEGER NOT NULL, sample_id TEXT NOT NULL, outcome TEXT NOT NULL,
    PRIMARY KEY (phase, sample_id)
);
CREATE TABLE IF NOT EXISTS versions (
    number INTEGER PRIMARY KEY, phase INTEGER NOT NULL, created REAL NOT NULL,
    kept INTEGER NOT NULL, digest TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Phase:
    """One ``run`` or ``refresh``."""

    id: int
    kind: PhaseKind
    started: float
    finished: float | None
    crawl: dict[str, Any] | None

    @property
    def crawl_done(self) -> bool:
        """Whether the phase's crawl finished (``crawl`` holds its counts)."""
        return self.crawl is not None


@dataclass(frozen=True)
class Spend:
    """What phases spent: samples asked of the model, calls and tokens."""

    samples: int
    usage: Usage


@dataclass(frozen=True)
class VersionRow:
    """A published dataset version."""

    number: int
    phase: int
    kept: int
    digest: str

    @property
    def name(self) -> str:
        return f"v{self.number}"


class ProjectState:
    """The project's SQLite state; safe to share between threads.

    Args:
        project_dir: the project directory; ``project.sqlite`` is created in it.
    """

    def __init__(self, project_dir: Path) -> None:
        project_dir.mkdir(parents=True, exist_ok=True)
        self.path = project_dir / "project.sqlite"
        self._lock = threading.RLock()
        self._db = open_state(
            self.path,
            what="the project state",
            schema=_SCHEMA,
            version=1,
            check_same_thread=False,
            fix="move it away; the project then starts over (its kept samples and versions"
            " stay in the project's samples/ and versions/ folders)",
        )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> ProjectState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, tuple(args)).fetchall())

    def _write(self, sql: str, args: Iterable[Any] = ()) -> None:
        with self._lock:
            self._db.execute(sql, tuple(args))

    def _many(self, statements: Iterable[tuple[str, Iterable[Any]]]) -> None:
        """Run several writes in one transaction: all of them happen, or none."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                for sql, args in statements:
                    self._db.execute(sql, tuple(args))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- phases --------------------------------------------------------------------------------

    def phases(self, kind: PhaseKind | None = None) -> list[Phase]:
        """Every phase (of ``kind``), oldest first."""
        where, args = ("WHERE kind = ?", [kind]) if kind else ("", [])
        rows = self._rows(f"SELECT id, kind, started, finished, crawl FROM phases {where}"
                          " ORDER BY id", args)  # fmt: skip
        return [Phase(i, k, s, f, json.loads(c) if c else None) for i, k, s, f, c in rows]

    def begin(self, kind: PhaseKind) -> tuple[Phase, bool]:
        """The unfinished phase of ``kind`` to resume, or a new one; and whether it is resumed.

        Raises:
            UsageError: a phase of the other kind is unfinished.
        """
        phases = self.phases()
        last = phases[-1] if phases else None
        if last is not None and last.finished is None:
            if last.kind != kind:
                raise UsageError(
                    f"the project's last {last.kind} did not finish",
                    fix=f"finish it first: groundset {last.kind} PROJECT.toml",
                )
            return last, True
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO phases (kind, started) VALUES (?, ?)", (kind, time.time())
            )
            new_id = int(cursor.lastrowid or 0)
        return next(p for p in self.phases() if p.id == new_id), False

    def crawl_finished(self, phase: int, counts: dict[str, Any]) -> None:
        """Record that the phase's crawl finished, with its counts."""
        self._write("UPDATE phases SET crawl = ? WHERE id = ?", (json.dumps(counts), phase))

    def finish(self, phase: int, outcome: str) -> None:
        """Mark the phase finished, with why it stopped."""
        self._write(
            "UPDATE phases SET finished = ?, outcome = ? WHERE id = ?",
            (time.time(), outcome, phase),
        )

    # -- index snapshots -----------------------------------------------------------------------

    def snapshot(self, phase: int, chunk_ids: Iterable[str]) -> None:
        """Record the chunk ids the index held after the phase's index update."""
        ids = list(chunk_ids)
        self._many(
            [("DELETE FROM snapshots WHERE phase = ?", [phase])]
            + [("INSERT INTO snapshots (phase, chunk_id) VALUES (?, ?)", [phase, i]) for i in ids]
        )

    def snapshot_ids(self, phase: int) -> set[str]:
        """The chunk ids of a phase's snapshot."""
        return {r[0] for r in self._rows("SELECT chunk_id FROM snapshots WHERE phase = ?", [phase])}

    def previous_snapshot(self, phase: int) -> set[str] | None:
        """The snapshot of the last phase before ``phase`` that took one, or None."""
        row = self._rows("SELECT max(phase) FROM snapshots WHERE phase < ?", [phase])[0][0]
        return None if row is None else self.snapshot_ids(int(row))

    # -- rounds and spending -------------------------------------------------------------------

    def add_round(self, phase: int, number: int, counts: dict[str, int]) -> None:
        """Record a round: the sample count each task's stream is asked to reach."""
        self._many(
            ("INSERT OR REPLACE INTO rounds (phase, round, task, count) VALUES (?, ?, ?, ?)",
             [phase, number, task, count])
            for task, count in counts.items()
        )  # fmt: skip

    def last_round(self, phase: int) -> tuple[int, dict[str, int]]:
        """The number of the phase's last round (0 when none) and its counts."""
        number = self._rows("SELECT max(round) FROM rounds WHERE phase = ?", [phase])[0][0]
        if number is None:
            return 0, {}
        rows = self._rows(
            "SELECT task, count FROM rounds WHERE phase = ? AND round = ?", [phase, number]
        )
        return int(number), {t: int(c) for t, c in rows}

    def stream_count(self, phase: int, task: str) -> int:
        """The sample count the phase last asked of a task's stream."""
        row = self._rows(
            "SELECT max(count) FROM rounds WHERE phase = ? AND task = ?", [phase, task]
        )[0][0]
        return int(row or 0)

    def add_call(self, phase: int, prompt: int, completion: int, cached: int) -> None:
        """Count one model call of the phase (committed at once)."""
        self._write(
            "INSERT INTO spend (phase, calls, prompt_tokens, completion_tokens, cached_tokens)"
            " VALUES (?, 1, ?, ?, ?) ON CONFLICT (phase) DO UPDATE SET calls = calls + 1,"
            " prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
            " completion_tokens = completion_tokens + excluded.completion_tokens,"
            " cached_tokens = cached_tokens + excluded.cached_tokens",
            (phase, prompt, completion, cached),
        )

    def usage(self, phases: Iterable[int]) -> Usage:
        """The calls and tokens of ``phases`` together."""
        ids = list(phases)
        usage = Usage()
        if not ids:
            return usage
        marks = ",".join("?" * len(ids))
        calls, prompt, completion, cached = self._rows(
            "SELECT coalesce(sum(calls), 0), coalesce(sum(prompt_tokens), 0),"
            " coalesce(sum(completion_tokens), 0), coalesce(sum(cached_tokens), 0)"
            f" FROM spend WHERE phase IN ({marks})",
            ids,
        )[0]
        usage.calls, usage.prompt_tokens = int(calls), int(prompt)
        usage.completion_tokens, usage.cached_tokens = int(completion), int(cached)
        return usage

    # -- samples -------------------------------------------------------------------------------

    def judged_ids(self) -> set[str]:
        """The id of every sample judged so far, whatever became of it."""
        return {r[0] for r in self._rows("SELECT id FROM samples")}

    def add_samples(
        self, rows: Iterable[tuple[str, str, int, Status, list[str], dict[str, Any]]]
    ) -> None:
        """Record judged samples: ``(id, task, phase, status, reasons, record)`` each."""
        self._many(
            ("INSERT OR REPLACE INTO samples (id, task, phase, status, reasons, record)"
             " VALUES (?, ?, ?, ?, ?, ?)",
             [i, task, phase, status, json.dumps(reasons), json.dumps(record, ensure_ascii=False)])
            for i, task, phase, status, reasons, record in rows
        )  # fmt: skip

    def records(self, status: Status, *, task: str | None = None) -> Iterator[dict[str, Any]]:
        """The records of the samples with ``status`` (of ``task``), by id."""
        sql = "SELECT record FROM samples WHERE status = ?"
        args: list[Any] = [status]
        if task is not None:
            sql, args = sql + " AND task = ?", [*args, task]
        for (record,) in self._rows(sql + " ORDER BY id", args):
            yield json.loads(record)

    def counts(self, *, phase: int | None = None) -> dict[str, dict[str, int]]:
        """Samples by task and status (of the samples first judged in ``phase``)."""
        sql = "SELECT task, status, count(*) FROM samples"
        args: list[Any] = []
        if phase is not None:
            sql, args = sql + " WHERE phase = ?", [phase]
        out: dict[str, dict[str, int]] = {}
        for task, status, n in self._rows(sql + " GROUP BY task, status", args):
            out.setdefault(task, {})[status] = int(n)
        return out

    def reasons(self, *, phase: int, status: Status) -> dict[str, int]:
        """Reasons of the samples of ``status`` first judged in ``phase``, counted."""
        counted: dict[str, int] = {}
        for (reasons,) in self._rows(
            "SELECT reasons FROM samples WHERE phase = ? AND status = ?", [phase, status]
        ):
            for reason in json.loads(reasons):
                counted[reason] = counted.get(reason, 0) + 1
        return dict(sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))

    def reverified(self, phase: int) -> dict[str, str]:
        """The samples the phase re-verified, with the outcome: ``kept`` or ``retired``."""
        rows = self._rows("SELECT sample_id, outcome FROM reverified WHERE phase = ?", [phase])
        return {i: o for i, o in rows}

    def reverify(
        self, phase: int, sample_id: str, status: Status, reasons: list[str], record: dict[str, Any]
    ) -> None:
        """Record a re-verification and its outcome, together."""
        self._many([
            ("UPDATE samples SET status = ?, reasons = ?, record = ?, changed_phase = ?"
             " WHERE id = ?",
             [status, json.dumps(reasons), json.dumps(record, ensure_ascii=False), phase,
              sample_id]),
            ("INSERT OR REPLACE INTO reverified (phase, sample_id, outcome) VALUES (?, ?, ?)",
             [phase, sample_id, status]),
        ])  # fmt: skip

    def retire_reasons(self) -> dict[str, list[str]]:
        """The reasons of every retired sample, by id."""
        rows = self._rows("SELECT id, reasons FROM samples WHERE status = 'retired'")
        return {i: json.loads(r) for i, r in rows}

    # -- versions ------------------------------------------------------------------------------

    def versions(self) -> list[VersionRow]:
        """The published versions, oldest first."""
        rows = self._rows("SELECT number, phase, kept, digest FROM versions ORDER BY number")
        return [VersionRow(int(n), int(p), int(k), str(d)) for n, p, k, d in rows]

    def add_version(self, number: int, phase: int, kept: int, digest: str) -> None:
        """Record a published version."""
        self._write(
            "INSERT OR REPLACE INTO versions (number, phase, created, kept, digest)"
            " VALUES (?, ?, ?, ?, ?)",
            (number, phase, time.time(), kept, digest),
        )


class RecordedUsage(Usage):
    """A :class:`Usage` that also writes each call to the project state, so that a budget
    counts what an interrupted process spent."""

    def __init__(self, state: ProjectState, phase: int) -> None:
        super().__init__()
        self._state = state
        self._phase = phase

    def add_call(self, prompt: int, completion: int, cached: int) -> None:
        super().add_call(prompt, completion, cached)
        self._state.add_call(self._phase, prompt, completion, cached)
