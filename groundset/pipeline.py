"""``groundset run`` and ``groundset refresh``: a whole project, resumable, in rounds.

``run`` crawls the sources (once: later changes are ``refresh``'s), indexes them, then
generates and verifies in rounds until every task has its quota of kept samples or the budget is
spent, and publishes the kept samples as a dataset version. ``refresh`` recrawls with conditional
requests, reindexes what changed, re-verifies only the kept samples that cite a chunk that
changed or vanished (retiring with its reasons each one that no longer holds), refills the quotas
from new and changed sections only, and publishes a new version with a diff from the last.

Everything done is recorded in the project state (:mod:`groundset.state`) as it happens, and the
model calls are cached, so the same command after an interruption resumes where it stopped.
Layout of the project directory::

    project.sqlite                  the state
    corpus/                         the corpus and its index (unless [sources] corpus says)
    work/p<phase>-<task>.jsonl      samples as generated, with .generate-rejected.jsonl beside
    work/llm-cache.sqlite           model calls
    versions/v<N>/                  kept.jsonl, rejected.jsonl, retired.jsonl, diff.json,
                                    diff.md, the export formats, README.md (card), report.html
    versions/LATEST                 the name of the newest version
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundset.config import resolve
from groundset.errors import UsageError
from groundset.locks import writer_lock
from groundset.project import Project, budget_left, round_size
from groundset.records import Chunk, Hit, Sample, Source
from groundset.state import (
    Phase,
    PhaseKind,
    ProjectState,
    RecordedUsage,
    SampleRow,
    Spend,
    Status,
    VersionRow,
)

if TYPE_CHECKING:
    from groundset.generate.samples import Endpoint
    from groundset.generate.settings import GenerateSettings
    from groundset.ground import Index, IndexSummary
    from groundset.verify import SampleVerifier

__all__ = ["DatasetDiff", "PhaseSummary", "refresh_project", "run_project"]

Say = Callable[[str], None]
Fit = tuple[int, bool]
STAGES = ("crawl", "index", "generate", "verify", "export")


@dataclass
class DatasetDiff:
    """How one dataset version differs from the one before it."""

    old: str | None
    new: str
    added: list[str] = field(default_factory=list)
    retired: dict[str, list[str]] = field(default_factory=dict)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.old,
            "to": self.new,
            "added": self.added,
            "retired": [{"id": i, "reasons": r} for i, r in sorted(self.retired.items())],
            "updated": self.updated,
            "unchanged": self.unchanged,
            "kept": len(self.updated) + self.unchanged,
        }

    def markdown(self) -> str:
        lines = [
            f"# Dataset {self.new}" + (f", from {self.old}" if self.old else ""),
            "",
            f"- added: {len(self.added)}",
            f"- retired: {len(self.retired)}",
            f"- kept: {len(self.updated) + self.unchanged}"
            f" ({len(self.updated)} re-verified against changed sources)",
        ]
        if self.retired:
            lines += ["", "## Retired", "", "| sample | reasons |", "|---|---|"]
            lines += [f"| `{i}` | {', '.join(r)} |" for i, r in sorted(self.retired.items())]
        return "\n".join(lines) + "\n"


@dataclass
class PhaseSummary:
    """What one ``run`` or ``refresh`` command did, for its closing summary."""

    kind: str
    project: str
    phase: int
    resumed: bool = False
    outcome: str = ""
    crawl: dict[str, Any] | None = None
    pages: int = 0
    chunks: int = 0
    index: IndexSummary | None = None
    new_sections: int | None = None
    reverified: dict[str, str] = field(default_factory=dict)
    retired_reasons: dict[str, int] = field(default_factory=dict)
    generated: int = 0
    kept: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    rejected_reasons: dict[str, int] = field(default_factory=dict)
    quotas: dict[str, tuple[int, int]] = field(default_factory=dict)
    spend: Spend | None = None
    cost: float | None = None
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    version: str | None = None
    version_dir: Path | None = None
    diff: DatasetDiff | None = None

    def lines(self) -> list[str]:
        """The summary, one fact a line."""
        resumed = " (resumed)" if self.resumed else ""
        out = [f"{self.kind} of {self.project}{resumed}: {self.outcome}"]
        crawl = self.crawl or {}
        out.append(
            f"  pages: {self.pages} in the corpus; this crawl: {crawl.get('new', 0)} new,"
            f" {crawl.get('changed', 0)} changed, {crawl.get('unchanged', 0)} unchanged,"
            f" {crawl.get('removed', 0)} removed, {crawl.get('failed', 0)} failed"
            if crawl.get("run_id") is not None
            else f"  pages: {self.pages} in the corpus (crawled before)"
        )
        out.append(f"  chunks: {self.chunks} ({self.index})")
        if self.new_sections is not None:
            out.append(f"  new or changed sections: {self.new_sections}")
        if self.kind == "refresh":
            kept = sum(1 for o in self.reverified.values() if o == "kept")
            out.append(
                f"  re-verified: {len(self.reverified)} kept samples citing changed or removed"
                f" sections: {kept} still hold, {len(self.reverified) - kept} retired"
                + (f" ({_by_reason(self.retired_reasons)})" if self.retired_reasons else "")
            )
        kept, rejected = sum(self.kept.values()), sum(self.rejected.values())
        out.append(f"  samples: {self.generated} generated, {kept} kept, {rejected} rejected")
        if self.rejected_reasons:
            out.append(f"  rejected by reason: {_by_reason(self.rejected_reasons)}")
        if self.quotas:
            out.append(
                "  quotas: " + ", ".join(f"{t} {k}/{q}" for t, (k, q) in self.quotas.items())
            )
        if self.spend is not None:
            u = self.spend.usage
            cost = "" if self.cost is None else f", cost {self.cost:.4f}"
            out.append(
                f"  tokens: {u.prompt_tokens} prompt + {u.completion_tokens} completion"
                f" in {u.calls} calls{cost}"
            )
        out.append("  time: " + ", ".join(f"{s} {self.seconds[s]:.1f} s" for s in STAGES))
        if self.version and self.diff is not None:
            d = self.diff
            out.append(
                f"  dataset {self.version}: {len(d.updated) + d.unchanged + len(d.added)}"
                f" samples ({len(d.added)} added, {len(d.retired)} retired,"
                f" {len(d.updated)} re-verified) in {self.version_dir}"
            )
        elif self.version:
            out.append(f"  dataset {self.version} unchanged: {self.version_dir}")
        return out


def _by_reason(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{r} {n}" for r, n in counts.items())


class _Timer:
    def __init__(self, summary: PhaseSummary) -> None:
        self.summary = summary

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.summary.seconds[stage] += time.monotonic() - started


class Sections:
    """A passage source whose samples are about some sections only (the new and changed ones);
    related passages still come from the whole index."""

    def __init__(self, index: Index, ids: set[str]) -> None:
        self.index = index
        self.ids = ids

    def chunks(self, *, doc_url: str | None = None) -> Iterator[Chunk]:
        return (c for c in self.index.chunks(doc_url=doc_url) if c.id in self.ids)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        return self.index.search(query, k)

    def get(self, ids: list[str]) -> dict[str, Chunk]:
        return self.index.get(ids)


# -- the commands ----------------------------------------------------------------------------


def run_project(
    project: Project, *, say: Say = print, env: Mapping[str, str] | None = None
) -> PhaseSummary:
    """``groundset run``: crawl, index, generate and verify in rounds, publish a version.

    Raises:
        UsageError: a refresh of the project is unfinished, or bad settings.
        CrawlError, IndexStoreError, GenerationError: a stage failed; what it did stays done.
    """
    return _phase(project, "run", say, env)


def refresh_project(
    project: Project, *, say: Say = print, env: Mapping[str, str] | None = None
) -> PhaseSummary:
    """``groundset refresh``: recrawl, reindex, re-verify what changed, refill, publish.

    Raises:
        UsageError: the project was never run, or its run is unfinished.
        CrawlError, IndexStoreError, GenerationError: a stage failed; what it did stays done.
    """
    return _phase(project, "refresh", say, env)


def _phase(
    project: Project, kind: PhaseKind, say: Say, env: Mapping[str, str] | None
) -> PhaseSummary:
    with (
        writer_lock(project.dir, f"the project {project.name}"),
        ProjectState(project.dir) as state,
    ):
        refresh = kind == "refresh"
        if refresh and not any(p.finished for p in state.phases("run")):
            raise UsageError(
                f"{project.name} has no finished run to refresh",
                fix=f"run it first: groundset run {project.path}",
            )
        phase, resumed = state.begin(kind)
        summary = PhaseSummary(kind, project.name, phase.id, resumed=resumed)
        if resumed:
            say(f"{kind} of {project.name}: resuming where the last one stopped")
        timer = _Timer(summary)
        _crawl(project, state, phase, summary, timer, say, recrawl=refresh)
        with _open_index(project, env) as index:
            current = _index(project, state, phase, index, summary, timer, say)
            source: Index | Sections = index
            # A run's budget covers its reruns; each refresh has one of its own.
            budget = [p.id for p in state.phases("run")]
            if refresh:
                fresh = current - (state.previous_snapshot(phase.id) or set())
                summary.new_sections = len(fresh)
                with timer("verify"):
                    _reverify(project, state, phase, index, current, summary, say)
                source, budget = Sections(index, fresh), [phase.id]
            outcome = _fill(project, state, phase, index, source, budget, summary, timer, say, env)
            with timer("export"):
                _publish(project, state, phase, summary, say)
        state.finish(phase.id, outcome)
        _close_summary(project, state, phase, summary, outcome)
        return summary


def _close_summary(
    project: Project, state: ProjectState, phase: Phase, summary: PhaseSummary, outcome: str
) -> None:
    summary.outcome = outcome
    counts = state.counts(phase=phase.id)
    summary.kept = {t: c.get("kept", 0) for t, c in counts.items()}
    summary.rejected = {t: c.get("rejected", 0) for t, c in counts.items()}
    summary.rejected_reasons = state.reasons(phase=phase.id, status="rejected")
    summary.generated = sum(summary.kept.values()) + sum(summary.rejected.values())
    totals = state.counts()
    summary.quotas = {t: (totals.get(t, {}).get("kept", 0), q) for t, q in project.tasks.items()}
    usage = state.usage([phase.id])
    summary.spend = Spend(summary.generated, usage)
    summary.cost = usage.cost(
        project.generate.get("price_prompt"),
        project.generate.get("price_completion"),
        project.generate.get("price_cached"),
    )


# -- crawl and index -------------------------------------------------------------------------


def _crawl(
    project: Project,
    state: ProjectState,
    phase: Phase,
    summary: PhaseSummary,
    timer: _Timer,
    say: Say,
    *,
    recrawl: bool,
) -> None:
    from groundset.corpus import Corpus
    from groundset.crawl import crawl
    from groundset.progress import OutcomeProgress

    if phase.crawl_done:
        summary.crawl = phase.crawl
    elif not recrawl and any(p.crawl_done for p in state.phases() if p.id != phase.id):
        # The corpus is built; bringing it up to date is what refresh is for.
        state.crawl_finished(phase.id, {"run_id": None})
        summary.crawl = {"run_id": None}
    else:
        progress = OutcomeProgress("crawl")
        with timer("crawl"):
            try:
                report = crawl(project.crawl, project.corpus_dir, progress=progress)
            finally:
                progress.close()
        for line in report.lines():
            say(line)
        record = {
            "run_id": report.run_id,
            "new": report.new,
            "changed": report.changed,
            "unchanged": report.unchanged,
            "removed": report.removed,
            "failed": sum(report.failed.values()),
            "changed_urls": report.changed_urls,
            "removed_urls": report.removed_urls,
        }
        state.crawl_finished(phase.id, record)
        summary.crawl = record
    with Corpus(project.corpus_dir) as corpus:
        summary.pages = sum(1 for _ in corpus.documents())


@contextmanager
def _open_index(project: Project, env: Mapping[str, str] | None) -> Iterator[Index]:
    from groundset.ground import Index
    from groundset.ground.settings import IndexSettings

    settings = resolve(IndexSettings, "index", file_values=project.index, env=env,
                       source=str(project.path))  # fmt: skip
    with Index.open(project.corpus_dir, settings=settings) as index:
        yield index


def _index(
    project: Project,
    state: ProjectState,
    phase: Phase,
    index: Index,
    summary: PhaseSummary,
    timer: _Timer,
    say: Say,
) -> set[str]:
    from groundset.corpus import Corpus
    from groundset.progress import Progress

    progress = Progress("index")
    with timer("index"), Corpus(project.corpus_dir) as corpus:
        try:
            result = index.update(corpus, progress=lambda done, n: progress.update(f"{done}/{n}"))
        finally:
            progress.close()
        ids = {c.id for c in index.chunks()}
    state.snapshot(phase.id, ids)
    summary.chunks = len(ids)
    summary.index = result
    say(f"index: {result}")
    return ids


# -- generate and verify in rounds -----------------------------------------------------------


def _stream(project: Project, phase: int, task: str) -> Path:
    return project.dir / "work" / f"p{phase}-{task}.jsonl"


def _fill(
    project: Project,
    state: ProjectState,
    phase: Phase,
    index: Index,
    source: Index | Sections,
    budget_phases: list[int],
    summary: PhaseSummary,
    timer: _Timer,
    say: Say,
    env: Mapping[str, str] | None,
) -> str:
    """Generate and verify in rounds until the quotas are met or the budget is spent.

    A round is recorded (the count each task's stream must reach) before any of it is asked
    for, so a resumed phase first finishes its last round, exactly as it would have.
    """
    settings = _generate_settings(project, phase.id, env)
    with ExitStack() as stack:
        endpoint: Endpoint | None = None

        def open_endpoint() -> Endpoint:
            nonlocal endpoint
            if endpoint is None:
                from groundset.generate.samples import open_endpoint as open_it

                endpoint = stack.enter_context(open_it(settings, project.dir / "work"))
                endpoint.client.usage = RecordedUsage(state, phase.id)
            return endpoint

        verifier = _Verifier(project, index)
        number, counts = state.last_round(phase.id)
        # A round the last process left half done is finished first, as it would have been.
        for task, count in counts.items():
            _generate(project, phase, task, count, source, open_endpoint, timer)
        with timer("verify"):
            verifier.judge_streams(state, phase.id, project.tasks)

        sections: int | None = None
        while True:
            totals = state.counts()
            deficits = {
                t: q - totals.get(t, {}).get("kept", 0)
                for t, q in project.tasks.items()
                if totals.get(t, {}).get("kept", 0) < q
            }
            if not deficits:
                return "every quota is met"
            if sections is None:
                sections = sum(
                    1 for c in source.chunks() if len(c.text) >= settings.min_passage_chars
                )
            if not sections:
                if isinstance(source, Sections):
                    return "quotas not met: no new or changed section to write from"
                return "quotas not met: the index has no passage to write from"
            most = sections * project.budget.samples_per_section
            deficits = {t: d for t, d in deficits.items() if state.stream_count(phase.id, t) < most}
            if not deficits:
                return (
                    f"quotas not met: {most} samples asked of {sections} sections"
                    " (budget.samples_per_section) is all they give"
                )
            spend = _spend(project, state, budget_phases)
            usage = spend.usage
            money = usage.cost(settings.price_prompt, settings.price_completion,
                               settings.price_cached) or 0.0  # fmt: skip
            spent = budget_left(project.budget, spend.samples,
                                usage.prompt_tokens + usage.completion_tokens, money)  # fmt: skip
            if spent:
                return f"stopped: {spent}"
            if number >= project.budget.max_rounds:
                return f"stopped: {project.budget.max_rounds} rounds (budget.max_rounds) done"
            share = max(1.0, _room(project, spend, money) / len(deficits))
            asked: dict[str, int] = {}
            for task, deficit in deficits.items():
                stats = totals.get(task, {})
                judged = stats.get("kept", 0) + stats.get("rejected", 0)
                asked[task] = round_size(deficit, stats.get("kept", 0), judged, share)
            plan = {t: min(most, state.stream_count(phase.id, t) + n) for t, n in asked.items()}
            asked = {t: plan[t] - state.stream_count(phase.id, t) for t in plan}
            number += 1
            state.add_round(phase.id, number, plan)
            say(f"round {number}: asking for " + ", ".join(f"{n} {t}" for t, n in asked.items()))
            for task, count in plan.items():
                _generate(project, phase, task, count, source, open_endpoint, timer)
            with timer("verify"):
                verifier.judge_streams(state, phase.id, project.tasks)


def _generate_settings(
    project: Project, phase: int, env: Mapping[str, str] | None
) -> GenerateSettings:
    from groundset.generate.commands import resolve_settings

    settings = resolve_settings(project.generate, env, source=str(project.path))
    # Each phase plans its own samples (a later phase sees another corpus), from its own seed.
    return settings.model_copy(update={"seed": settings.seed + phase - 1})


def _spend(project: Project, state: ProjectState, phases: list[int]) -> Spend:
    from groundset.generate.output import done_ids, rejected_path_for

    samples = 0
    for phase in phases:
        for task in project.tasks:
            out = _stream(project, phase, task)
            samples += len(done_ids(out)) + len(done_ids(rejected_path_for(out)))
    return Spend(samples, state.usage(phases))


def _room(project: Project, spend: Spend, money: float) -> float:
    """How many more samples the budget allows, from what a sample has cost so far."""
    budget, usage = project.budget, spend.usage
    room = float("inf")
    if budget.samples is not None:
        room = min(room, budget.samples - spend.samples)
    if spend.samples and usage.calls:
        tokens = (usage.prompt_tokens + usage.completion_tokens) / spend.samples
        if budget.tokens is not None and tokens:
            room = min(
                room, (budget.tokens - usage.prompt_tokens - usage.completion_tokens) / tokens
            )
        if budget.money is not None and money:
            room = min(room, (budget.money - money) / (money / spend.samples))
    return max(room, 1.0)


def _generate(
    project: Project,
    phase: Phase,
    task: str,
    count: int,
    source: Index | Sections,
    open_endpoint: Callable[[], Endpoint],
    timer: _Timer,
) -> None:
    from groundset.generate.output import done_ids, rejected_path_for
    from groundset.generate.run import Generator
    from groundset.generate.tasks import get_task

    out = _stream(project, phase.id, task)
    if len(done_ids(out) | done_ids(rejected_path_for(out))) >= count:
        return
    with timer("generate"):
        endpoint = open_endpoint()
        recipe = get_task(task, endpoint.settings, endpoint.api)
        generator = Generator(recipe, endpoint.client, endpoint.api, endpoint.settings,
                              project.language)  # fmt: skip
        generator.run(source, out, count)


def _sample_verifier(
    project: Project, index: Index, state: ProjectState, exclude: frozenset[str] = frozenset()
) -> SampleVerifier:
    """The project's verifier, knowing every kept sample but ``exclude`` as a possible duplicate.

    Raises:
        UsageError: the checker cannot be built with the project's options.
    """
    from groundset.verify import SampleVerifier, make_checker, split_options
    from groundset.verify.claims import sample_text

    options, filters = split_options(project.verify.options)
    checker = make_checker(project.verify.checker, options)
    verifier = SampleVerifier(index, checker, project.language, filters)
    for record in state.records("kept"):
        if record["id"] not in exclude:
            question, answer = sample_text(Sample.model_validate(_without_verdict(record)))
            verifier.dedup.add(record["id"], f"{question}\n{answer}")
    return verifier


class _Verifier:
    """Judges the samples the streams hold that the state does not, in a fixed order (by id),
    so that which of two duplicates stays does not depend on the order the model answered in."""

    def __init__(self, project: Project, index: Index) -> None:
        self.project = project
        self.index = index
        self._verifier: SampleVerifier | None = None

    def judge_streams(self, state: ProjectState, phase: int, tasks: Mapping[str, int]) -> None:
        from groundset.generate.output import rejected_path_for

        judged = state.judged_ids()
        for task in tasks:
            out = _stream(self.project, phase, task)
            refused = [r for r in _read_records(rejected_path_for(out)) if r["id"] not in judged]
            state.add_samples(
                (r["id"], task, phase, "rejected", list(r["verdict"]["reasons"]), _failed(r))
                for r in refused
            )
            new = sorted(
                (r for r in _read_records(out) if r["id"] not in judged), key=lambda r: r["id"]
            )
            if not new:
                continue
            if self._verifier is None:
                self._verifier = _sample_verifier(self.project, self.index, state)
            verifier = self._verifier
            rows: list[SampleRow] = []
            for data in new:
                sample = Sample.model_validate(data)
                verdict = verifier.verify(sample)
                status: Status = "kept" if verdict.accepted else "rejected"
                record = {**data, "verdict": verdict.model_dump(mode="json")}
                rows.append((sample.id, task, phase, status, list(verdict.reasons), record))
            state.add_samples(rows)


def _read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.endswith("\n") and line.strip():
                records.append(json.loads(line))
    return records


def _failed(record: dict[str, Any]) -> dict[str, Any]:
    """A generation failure as a line of a rejected file: the raw output with its verdict."""
    return {
        "raw": "\n".join(record.get("raw_output") or []),
        "error": record.get("error"),
        "task": record.get("task"),
        "sources": record.get("sources"),
        "verdict": record["verdict"],
    }


def _without_verdict(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "verdict"}


# -- refresh: re-verify what changed ---------------------------------------------------------


def _cited(sample: Sample) -> set[str]:
    ids = {s.chunk_id for s in sample.sources}
    ids.update(c.chunk_id for claim in sample.claims for c in claim.citations)
    return ids


def _reverify(
    project: Project,
    state: ProjectState,
    phase: Phase,
    index: Index,
    current: set[str],
    summary: PhaseSummary,
    say: Say,
) -> None:
    """Re-verify every kept sample citing a chunk the index no longer holds; retire the ones
    that no longer hold, with their reasons."""
    done = state.reverified(phase.id)
    affected = []
    for record in state.records("kept"):
        sample = Sample.model_validate(_without_verdict(record))
        if sample.id not in done and not _cited(sample) <= current:
            affected.append((sample, record))
    if affected:
        say(f"re-verifying {len(affected)} kept samples that cite changed or removed sections")
        verifier = _sample_verifier(project, index, state, frozenset(s.id for s, _ in affected))
        for sample, record in affected:
            rebased = _rebase(sample, index)
            if rebased is None:
                retired = {**record, "retired": {"reasons": ["source_removed"], "phase": phase.id}}
                state.reverify(phase.id, sample.id, "retired", ["source_removed"], retired)
                continue
            verdict = verifier.verify(rebased)
            new_record = {**rebased.model_dump(mode="json", exclude_none=True),
                          "verdict": verdict.model_dump(mode="json")}  # fmt: skip
            if verdict.accepted:
                state.reverify(phase.id, sample.id, "kept", [], new_record)
            else:
                # Kept as it was checked: citing the current chunks, with the failing verdict.
                reasons = list(dict.fromkeys(["source_changed", *verdict.reasons]))
                new_record["retired"] = {"reasons": reasons, "phase": phase.id}
                state.reverify(phase.id, sample.id, "retired", reasons, new_record)
    summary.reverified = state.reverified(phase.id)
    retired = state.retire_reasons()
    counted: Counter[str] = Counter()
    for sample_id, outcome in summary.reverified.items():
        if outcome == "retired":
            counted.update(retired.get(sample_id, []))
    summary.retired_reasons = dict(counted.most_common())


def _rebase(sample: Sample, index: Index) -> Sample | None:
    """The sample citing the current chunks of its sections, or None when a page is gone.

    A vanished chunk is replaced by the chunk of the same page that holds the most of the quotes
    cited from it, preferring the one under the same heading path.
    """
    from groundset.verify import find_quote

    wanted = _cited(sample)
    present = index.get(sorted(wanted))
    quotes: dict[str, list[str]] = {}
    for claim in sample.claims:
        for citation in claim.citations:
            quotes.setdefault(citation.chunk_id, []).append(citation.quote)
    replaced: dict[str, Chunk] = {}
    pages: dict[str, list[Chunk]] = {}
    for source in sample.sources:
        if source.chunk_id in present or source.chunk_id in replaced:
            continue
        if source.doc_url not in pages:
            pages[source.doc_url] = list(index.chunks(doc_url=source.doc_url))
        chunks = pages[source.doc_url]
        if not chunks:
            return None
        cited = quotes.get(source.chunk_id, [])

        def fit(
            chunk: Chunk, cited: list[str] = cited, heading: str = source.heading_path
        ) -> tuple[int, bool]:
            found = sum(1 for q in cited if find_quote(q, chunk.text))
            return found, chunk.heading_path == heading

        # The chunk holding the quotes; else the one under the same heading, else any: the
        # verifier then finds the quotes missing, and the sample is retired as changed.
        best = max(chunks, key=fit)
        replaced[source.chunk_id] = best
    if any(i not in present and i not in replaced for i in wanted):
        return None  # a citation of a chunk the sources do not list, now gone

    def new_id(chunk_id: str) -> str:
        return replaced[chunk_id].id if chunk_id in replaced else chunk_id

    data = sample.model_dump(mode="json")
    for claim in data["claims"]:
        for citation in claim["citations"]:
            citation["chunk_id"] = new_id(citation["chunk_id"])
    sources = []
    for source in sample.sources:
        chunk = replaced.get(source.chunk_id) or present[source.chunk_id]
        sources.append(
            Source(chunk_id=chunk.id, content_sha256=chunk.content_sha256, doc_url=chunk.doc_url,
                   heading_path=chunk.heading_path).model_dump(mode="json")
        )  # fmt: skip
    data["sources"] = sources
    return Sample.model_validate(data)


# -- dataset versions ------------------------------------------------------------------------


def _digest(records: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for record in records:
        h.update(json.dumps(_without_verdict(record), sort_keys=True).encode())
    return h.hexdigest()


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def _publish(
    project: Project, state: ProjectState, phase: Phase, summary: PhaseSummary, say: Say
) -> None:
    """Write a new dataset version when the kept samples changed since the last one."""
    from groundset.export import conversation, export_dataset
    from groundset.report import write_report
    from groundset.review import project_reviews_path

    kept = list(state.records("kept"))
    digest = _digest(kept)
    versions = state.versions()
    root = project.dir / "versions"
    last = versions[-1] if versions else None
    if last is not None and (last.digest == digest or last.phase == phase.id):
        summary.version, summary.version_dir = last.name, root / last.name
        if last.phase == phase.id:
            summary.diff = _read_diff(root / last.name)
        return
    if last is None and not kept and not state.judged_ids():
        return
    number = (last.number if last else 0) + 1
    name = f"v{number}"
    out = root / name
    if out.exists():
        shutil.rmtree(out)  # a publication interrupted before it was recorded
    out.mkdir(parents=True)
    _write_jsonl(out / "kept.jsonl", kept)
    _write_jsonl(out / "rejected.jsonl", list(state.records("rejected")))
    _write_jsonl(out / "retired.jsonl", list(state.records("retired")))
    diff = _diff(root, last, name, kept, state)
    (out / "diff.json").write_text(json.dumps(diff.as_dict(), indent=1) + "\n", encoding="utf-8")
    (out / "diff.md").write_text(diff.markdown(), encoding="utf-8")
    # Only samples holding an exchange have a fine-tuning format (schema records do not).
    if any(conversation(Sample.model_validate(_without_verdict(r))) for r in kept):
        export = project.export
        result = export_dataset(
            out / "kept.jsonl",
            out,
            formats=export.formats,
            rejected=out / "rejected.jsonl",
            eval_fraction=export.eval_fraction,
            seed=export.seed,
            corpus_dir=project.corpus_dir,
            reviews=project_reviews_path(project.dir),
        )
        say(str(result))
    if project.export.report:
        write_report(out / "kept.jsonl", out / "rejected.jsonl", out / "report.html",
                     corpus_dir=project.corpus_dir,
                     reviews=project_reviews_path(project.dir))  # fmt: skip
    state.add_version(number, phase.id, len(kept), digest)
    (root / "LATEST").write_text(name + "\n", encoding="utf-8")
    summary.version, summary.version_dir, summary.diff = name, out, diff


def _diff(
    root: Path, last: VersionRow | None, name: str, kept: list[dict[str, Any]], state: ProjectState
) -> DatasetDiff:
    """How ``kept`` differs from version ``last`` (under ``root``), as version ``name``."""
    old_file = root / last.name / "kept.jsonl" if last else None
    old = {r["id"]: _digest([r]) for r in _read_records(old_file)} if old_file else {}
    new = {r["id"]: _digest([r]) for r in kept}
    retired_reasons = state.retire_reasons()
    diff = DatasetDiff(last.name if last else None, name)
    diff.added = sorted(set(new) - set(old))
    diff.retired = {i: retired_reasons.get(i, []) for i in sorted(set(old) - set(new))}
    diff.updated = sorted(i for i in set(new) & set(old) if new[i] != old[i])
    diff.unchanged = len(set(new) & set(old)) - len(diff.updated)
    return diff


def _read_diff(version_dir: Path) -> DatasetDiff | None:
    path = version_dir / "diff.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    diff = DatasetDiff(data["from"], data["to"], added=data["added"], updated=data["updated"])
    diff.retired = {r["id"]: r["reasons"] for r in data["retired"]}
    diff.unchanged = int(data["unchanged"])
    return diff
