"""``groundset run`` and ``groundset refresh``: a whole project, resumable, in rounds.

``run`` crawls the sources (once: later changes are ``refresh``'s), indexes them, then
generates and verifies in rounds until every task has its quota of kept samples or the budget is
spent, and publishes the kept samples as a dataset version. ``refresh`` recrawls with conditional
requests, reindexes what changed, re-verifies only the kept samples that cite a chunk that
changed or vanished (retiring with its reasons each one that no longer holds), refills the quotas
from new and changed sections only, and publishes a new version with a diff from the last.

Everything done is recorded in the project state (:mod:`groundset.project.state`) as it
happens, and the model calls are cached, so the same command after an interruption resumes where
it stopped. Layout of the project directory::

    project.sqlite                  the state
    corpus/                         the corpus and its index (unless [sources] corpus says)
    work/p<phase>-<task>.jsonl      samples as generated, with .generate-rejected.jsonl beside
    work/llm-cache.sqlite           model calls
    versions/v<N>/                  kept.jsonl, rejected.jsonl, retired.jsonl, diff.json,
                                    diff.md, the export formats, README.md (card), report.html
    versions/LATEST                 the name of the newest version
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from groundset.config import resolve
from groundset.corpus import Corpus
from groundset.errors import UsageError
from groundset.locks import writer_lock
from groundset.progress import OutcomeProgress, Progress, Say
from groundset.project.project_file import Project
from groundset.project.publish import publish
from groundset.project.reverify import reverify
from groundset.project.rounds import Sections, fill
from groundset.project.state import Phase, PhaseKind, ProjectState, Spend
from groundset.project.summary import PhaseSummary, Timer

if TYPE_CHECKING:
    from groundset.ground import Index

__all__ = ["refresh_project", "run_project"]


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
        timer = Timer(summary)
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
                    reverify(project, state, phase, index, current, summary, say, fresh)
                source, budget = Sections(index, fresh), [phase.id]
            outcome = fill(project, state, phase, index, source, budget, timer, say, env)
            with timer("export"):
                published = publish(project, state, phase, say)
            if published is not None:
                summary.version, summary.version_dir = published.name, published.dir
                summary.diff = published.diff
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
    timer: Timer,
    say: Say,
    *,
    recrawl: bool,
) -> None:
    from groundset.crawl import crawl

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
    timer: Timer,
    say: Say,
) -> set[str]:
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
