"""Refresh: re-verify every kept sample that cites a section that changed or vanished, and every
kept ``unanswerable`` sample when sections are new or changed (new docs can answer its question),
and retire with its reasons each one that no longer holds."""

from __future__ import annotations

from collections import Counter
from contextlib import closing
from typing import TYPE_CHECKING, Any

from groundset.progress import Say
from groundset.project.project_file import Project
from groundset.project.rounds import sample_verifier
from groundset.project.state import Phase, ProjectState
from groundset.project.stored import without_verdict
from groundset.project.summary import PhaseSummary
from groundset.records import Chunk, Hit, Sample, Source

if TYPE_CHECKING:
    from groundset.ground import Index
    from groundset.verify import SampleVerifier

__all__ = ["reverify"]


def _cited(sample: Sample) -> set[str]:
    ids = {s.chunk_id for s in sample.sources}
    ids.update(c.chunk_id for claim in sample.claims for c in claim.citations)
    return ids


class FreshSections:
    """The corpus search an ``unanswerable`` sample is re-verified with: the index's best hits,
    and every new or changed section that holds enough of the question's words to be read, where
    ever it ranks."""

    def __init__(self, index: Index, fresh: set[str]) -> None:
        self.index = index
        self.fresh = list(index.get(sorted(fresh)).values()) if fresh else []

    def search(self, query: str, k: int = 5) -> list[Hit]:
        from groundset.verify.answerable import MIN_COVERAGE, question_coverage

        hits = self.index.search(query, k)
        seen = {h.chunk.id for h in hits}
        return hits + [
            Hit(chunk=c, score=0.0)
            for c in self.fresh
            if c.id not in seen and question_coverage(query, c.text) >= MIN_COVERAGE
        ]


def reverify(
    project: Project,
    state: ProjectState,
    phase: Phase,
    index: Index,
    current: set[str],
    summary: PhaseSummary,
    say: Say,
    fresh: set[str] | None = None,
) -> None:
    """Re-verify every kept sample citing a chunk the index no longer holds, and, when ``fresh``
    (the ids of new and changed sections) holds any, every kept ``unanswerable`` sample against
    them too; retire the ones that no longer hold, with their reasons."""
    from groundset.verify.answerable import UNANSWERABLE

    done = state.reverified(phase.id)
    affected = []
    for record in state.records("kept"):
        sample = Sample.model_validate(without_verdict(record))
        changed = not _cited(sample) <= current
        if sample.id not in done and (changed or (fresh and sample.task == UNANSWERABLE)):
            affected.append((sample, record))
    if affected:
        asking = sum(s.task == UNANSWERABLE and _cited(s) <= current for s, _ in affected)
        say(
            f"re-verifying {len(affected) - asking} kept samples that cite changed or removed"
            " sections" + (f" and {asking} unanswerable ones that new sections may answer"
                           if asking else "")
        )  # fmt: skip
        exclude = frozenset(s.id for s, _ in affected)
        corpus = FreshSections(index, fresh or set())
        verifier = sample_verifier(project, index, state, exclude, corpus=corpus)
        with closing(verifier):
            _reverify_each(phase.id, affected, verifier, index, state, current)
    summary.reverified = state.reverified(phase.id)
    retired = state.retire_reasons()
    counted: Counter[str] = Counter()
    for sample_id, outcome in summary.reverified.items():
        if outcome == "retired":
            counted.update(retired.get(sample_id, []))
    summary.retired_reasons = dict(counted.most_common())


def _reverify_each(
    phase: int,
    affected: list[tuple[Sample, dict[str, Any]]],
    verifier: SampleVerifier,
    index: Index,
    state: ProjectState,
    current: set[str],
) -> None:
    """Re-verify each affected kept sample against the current chunks: kept, or retired (a
    sample whose sections changed with ``source_changed`` among its reasons)."""
    for sample, record in affected:
        rebased = _rebase(sample, index)
        if rebased is None:
            retired = {**record, "retired": {"reasons": ["source_removed"], "phase": phase}}
            state.reverify(phase, sample.id, "retired", ["source_removed"], retired)
            continue
        verdict = verifier.verify(rebased)
        new_record = {**rebased.model_dump(mode="json", exclude_none=True),
                      "verdict": verdict.model_dump(mode="json")}  # fmt: skip
        if verdict.accepted:
            state.reverify(phase, sample.id, "kept", [], new_record)
        else:
            # Kept as it was checked: citing the current chunks, with the failing verdict.
            changed = ["source_changed"] if not _cited(sample) <= current else []
            reasons = list(dict.fromkeys([*changed, *verdict.reasons]))
            new_record["retired"] = {"reasons": reasons, "phase": phase}
            state.reverify(phase, sample.id, "retired", reasons, new_record)


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
