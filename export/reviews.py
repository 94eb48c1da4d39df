"""What a person's review of kept and rejected samples says, and the file it is kept in.

``groundset review`` draws a seeded, stratified sample (:func:`draw_review`) and appends each
verdict to a reviews file (:class:`ReviewLog`) as it is given; the last verdict on a sample is
the one that counts. :func:`review_figures` turns the verdicts into the precision of the kept set
with a 95% Wilson interval, the share of rejected samples the reviewer would keep, and how often
the verifier and the reviewer agree on a claim; the report and the dataset card print them. The
claim verdicts are labelled pairs in the form ``verify-claims`` reads
(:func:`export_reviewed_claims`), so a user can measure the checker on their own domain.
"""

from __future__ import annotations

import json
import random
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from groundset.export.judged import JudgedSample
from groundset.files import MalformedLine, read_lines
from groundset.records import Sample, Verdict
from groundset.statefile import drop_partial_line
from groundset.verify.precision import (
    REVIEW_REPLACES_AT,
    measured_precision,
    task_precision,
    threshold_of,
    wilson_interval,
)

__all__ = [
    "ReviewFigures",
    "ReviewItem",
    "ReviewLog",
    "Reviewed",
    "draw_review",
    "export_reviewed_claims",
    "precision_statement",
    "review_figures",
    "reviews_of_files",
    "reviews_path_for",
    "wilson_interval",
]

Side = Literal["kept", "rejected"]
#: Samples the reviewer decided the other way that the terminal and the card list by name.
DISAGREEMENTS_LISTED = 10


@dataclass(frozen=True)
class ReviewItem:
    """One sample drawn for review, from the kept or the rejected file."""

    side: Side
    judged: JudgedSample

    @property
    def id(self) -> str:
        return self.judged.verdict.sample_id


def reviews_path_for(kept: Path) -> Path:
    """The reviews file of a kept file: ``samples.kept.jsonl`` -> ``samples.reviews.jsonl``."""
    name = kept.name.removesuffix(".jsonl").removesuffix(".kept")
    return kept.with_name(f"{name}.reviews.jsonl")


def draw_review(
    kept: Sequence[JudgedSample],
    rejected: Sequence[JudgedSample],
    n_kept: int,
    n_rejected: int,
    seed: int = 0,
) -> list[ReviewItem]:
    """A seeded sample of ``n_kept`` kept and ``n_rejected`` rejected samples, stratified.

    Lines that were not samples (``invalid_json``) have nothing to read and are not drawn. The
    two sides alternate in proportion, so that a review stopped half way has read both.
    """
    rng = random.Random(seed)
    kept_items = _stratified([j for j in kept if j.sample is not None], n_kept, rng)
    rejected_items = _stratified([j for j in rejected if j.sample is not None], n_rejected, rng)
    drawn: list[ReviewItem] = []
    total = len(kept_items) + len(rejected_items)
    k = r = 0
    while k + r < total:
        # Take from the side that is furthest behind its share of what has been drawn.
        behind_kept = (k + 1) / max(1, len(kept_items)) <= (r + 1) / max(1, len(rejected_items))
        if k < len(kept_items) and (behind_kept or r == len(rejected_items)):
            drawn.append(ReviewItem("kept", kept_items[k]))
            k += 1
        else:
            drawn.append(ReviewItem("rejected", rejected_items[r]))
            r += 1
    return drawn


def _stratified(judged: list[JudgedSample], n: int, rng: random.Random) -> list[JudgedSample]:
    groups: dict[tuple[str, str], list[JudgedSample]] = defaultdict(list)
    for j in judged:
        assert j.sample is not None
        doc = j.sample.sources[0].doc_url if j.sample.sources else ""
        groups[(j.sample.task, doc)].append(j)
    order = sorted(groups)
    rng.shuffle(order)
    for key in order:
        rng.shuffle(groups[key])
    picked: list[JudgedSample] = []
    while len(picked) < n and any(groups[key] for key in order):
        for key in order:
            if groups[key] and len(picked) < n:
                picked.append(groups[key].pop())
    return picked


# -- the reviews file ------------------------------------------------------------------------


class ReviewLog:
    """The reviewer's verdicts, one JSON line each, appended as they are given.

    A line: ``{sample_id, side, claims: [true|false|null ...], keep, note, at, sources}``, where
    ``claims`` follows the order of the verdict's claims and ``sources`` maps each cited chunk to
    the content hash it was reviewed on (a refresh that changes a source makes the review one of
    older sources).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(
        self, item: ReviewItem, claims: Sequence[bool | None], keep: bool, note: str = ""
    ) -> dict[str, Any]:
        """Append one verdict and return it as written."""
        sample = item.judged.sample
        assert sample is not None
        line = {
            "sample_id": item.id,
            "side": item.side,
            "claims": list(claims),
            "keep": keep,
            "note": note,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sources": {s.chunk_id: s.content_sha256 for s in sample.sources},
        }
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            drop_partial_line(self.path)  # else this verdict would be glued to a cut-off one
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
                fh.flush()
        return line

    def latest(self) -> dict[str, dict[str, Any]]:
        """The last verdict on each sample; a line cut short by a crash is skipped."""
        verdicts: dict[str, dict[str, Any]] = {}
        if not self.path.is_file():
            return verdicts
        with self._lock:
            for line in read_lines(self.path, errors="replace"):
                try:
                    data = line.parse()
                except MalformedLine:
                    continue
                if isinstance(data, dict) and isinstance(data.get("sample_id"), str):
                    verdicts[data["sample_id"]] = data
        return verdicts


# -- what the reviews say --------------------------------------------------------------------


@dataclass(frozen=True)
class Reviewed:
    """One reviewed sample: the verifier's side, the reviewer's verdict, where they differ."""

    sample_id: str
    side: Side
    task: str
    prompt: str
    keep: bool
    claims_reviewed: int
    claims_disagreeing: int
    note: str = ""
    stale: bool = False

    @property
    def disagrees(self) -> bool:
        """The reviewer would have decided the sample the other way."""
        return self.keep != (self.side == "kept")


@dataclass(frozen=True)
class ReviewFigures:
    """What a review measured."""

    kept_reviewed: int
    kept_good: int
    rejected_reviewed: int
    rejected_would_keep: int
    claims_reviewed: int
    claims_agreeing: int
    by_reason: dict[str, tuple[int, int]]
    drawn: int
    stale: int = 0
    claims_by_task: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: Claim agreement by what the verifier decided: ``supported``, or each reason it refused.
    claims_by_reason: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: The reviewed samples, those the reviewer decided the other way first.
    reviewed: tuple[Reviewed, ...] = ()

    @property
    def precision(self) -> tuple[float, float, float] | None:
        """The share of kept samples the reviewer keeps, with its 95% interval."""
        if not self.kept_reviewed:
            return None
        lo, hi = wilson_interval(self.kept_good, self.kept_reviewed)
        return self.kept_good / self.kept_reviewed, lo, hi

    def lines(self) -> list[str]:
        """The figures as the terminal prints them."""
        reviewed = self.kept_reviewed + self.rejected_reviewed
        out = [f"reviewed {reviewed} of {self.drawn} drawn samples"]
        if self.precision is not None:
            p, lo, hi = self.precision
            out.append(
                f"kept set precision: {p:.0%} ({self.kept_good} of {self.kept_reviewed} kept "
                f"samples the reviewer keeps; 95% interval {lo:.0%}-{hi:.0%})"
            )
        if self.rejected_reviewed:
            lo, hi = wilson_interval(self.rejected_would_keep, self.rejected_reviewed)
            out.append(
                f"wrongly rejected: {self.rejected_would_keep} of {self.rejected_reviewed} "
                f"rejected samples the reviewer would keep (95% interval {lo:.0%}-{hi:.0%})"
            )
            for reason, (would_keep, n) in sorted(self.by_reason.items()):
                out.append(f"  {reason}: {would_keep} of {n} would be kept")
        if self.claims_reviewed:
            out.append(
                f"claims: the reviewer agrees with the verifier on {self.claims_agreeing} of "
                f"{self.claims_reviewed}"
            )
            if len(self.claims_by_task) > 1:
                for task, (agreeing, n) in sorted(self.claims_by_task.items()):
                    out.append(f"  {task}: agrees on {agreeing} of {n}")
            if len(self.claims_by_reason) > 1:
                for reason, (agreeing, n) in sorted(
                    self.claims_by_reason.items(), key=lambda kv: (kv[0] != "supported", kv[0])
                ):
                    said = "supported" if reason == "supported" else f"refused as {reason}"
                    out.append(f"  claims the verifier {said}: agrees on {agreeing} of {n}")
        if self.stale:
            out.append(
                f"{self.stale} of the reviews were given on older sources: a refresh has changed "
                "what those samples cite since"
            )
        other_way = [r for r in self.reviewed if r.disagrees]
        if other_way:
            samples = "sample" if len(other_way) == 1 else "samples"
            out.append(f"decided the other way by the reviewer: {len(other_way)} {samples}")
            for r in other_way[:DISAGREEMENTS_LISTED]:
                verdict = "keeps" if r.keep else "rejects"
                note = f" ({_short(r.note, 80)})" if r.note else ""
                out.append(f"  {r.sample_id}, {r.side}, the reviewer {verdict}: "
                           f"{_short(r.prompt, 80)}{note}")  # fmt: skip
            if len(other_way) > DISAGREEMENTS_LISTED:
                out.append(f"  and {len(other_way) - DISAGREEMENTS_LISTED} more")
        return out


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def review_figures(
    items: Sequence[ReviewItem], verdicts: dict[str, dict[str, Any]]
) -> ReviewFigures:
    """The figures of the drawn ``items`` that have a verdict."""
    kept_reviewed = kept_good = rejected_reviewed = would_keep = claims = agreeing = stale = 0
    by_reason: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_task: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_claim_reason: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    reviewed: list[Reviewed] = []
    for item in items:
        given = verdicts.get(item.id)
        if given is None:
            continue
        keep = bool(given.get("keep"))
        sample = item.judged.sample
        is_stale = sample is not None and given.get("sources") != {
            x.chunk_id: x.content_sha256 for x in sample.sources
        }
        stale += is_stale
        sample_claims = sample_agreeing = 0
        if item.side == "kept":
            kept_reviewed += 1
            kept_good += keep
        else:
            rejected_reviewed += 1
            would_keep += keep
            for reason in item.judged.verdict.reasons:
                by_reason[reason][0] += keep
                by_reason[reason][1] += 1
        for claim, label in zip(item.judged.verdict.claims, given.get("claims", []), strict=False):
            if isinstance(label, bool):
                agrees = label == claim.supported
                sample_claims += 1
                sample_agreeing += agrees
                if sample is not None:
                    by_task[sample.task][0] += agrees
                    by_task[sample.task][1] += 1
                said: list[str] = (
                    ["supported"]
                    if claim.supported
                    else list(claim.reasons or ["unsupported_claim"])
                )
                for decided in said:
                    by_claim_reason[decided][0] += agrees
                    by_claim_reason[decided][1] += 1
        claims += sample_claims
        agreeing += sample_agreeing
        if sample is not None:
            prompt = sample.question or next(
                (m.content for m in sample.messages or [] if m.role == "user"), ""
            )
            reviewed.append(Reviewed(
                item.id, item.side, sample.task, prompt, keep, sample_claims,
                sample_claims - sample_agreeing, str(given.get("note") or ""), is_stale,
            ))  # fmt: skip
    reviewed.sort(key=lambda r: not r.disagrees)  # stable: the draw's order within each
    return ReviewFigures(
        kept_reviewed, kept_good, rejected_reviewed, would_keep, claims, agreeing,
        {reason: (k, n) for reason, (k, n) in by_reason.items()}, len(items), stale,
        {task: (k, n) for task, (k, n) in by_task.items()},
        {reason: (k, n) for reason, (k, n) in by_claim_reason.items()}, tuple(reviewed),
    )  # fmt: skip


def reviews_of_files(
    kept: Sequence[JudgedSample], rejected: Sequence[JudgedSample], reviews: Path
) -> ReviewFigures | None:
    """The figures of every sample of a kept and a rejected file that has a review in
    ``reviews``; None when there is no review. A sample a refresh moved from one file to the
    other keeps its review, judged as the side it is on now."""
    verdicts = ReviewLog(reviews).latest()
    if not verdicts:
        return None
    sides: tuple[tuple[Side, Sequence[JudgedSample]], ...] = (
        ("kept", kept),
        ("rejected", rejected),
    )
    items = [
        ReviewItem(side, j)
        for side, lines in sides
        for j in lines
        if j.sample is not None and j.verdict.sample_id in verdicts
    ]
    return review_figures(items, verdicts) if items else None


def export_reviewed_claims(
    items: Sequence[ReviewItem],
    verdicts: dict[str, dict[str, Any]],
    out: Path,
    texts: dict[str, str] | None = None,
) -> int:
    """Write each reviewed claim as ``{id, evidence, claim, label}`` for ``verify-claims``.

    The evidence is the text of the chunks the sample cites (``texts``, by chunk id, from the
    corpus), else the evidence the verifier decided on. Returns the number of lines written.
    """
    written = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for item in items:
            given = verdicts.get(item.id)
            sample = item.judged.sample
            if given is None or sample is None:
                continue
            cited = "\n\n".join(t for s in sample.sources if (t := (texts or {}).get(s.chunk_id)))
            for n, (claim, label) in enumerate(
                zip(item.judged.verdict.claims, given.get("claims", []), strict=False)
            ):
                if not isinstance(label, bool):
                    continue
                row = {
                    "id": f"{item.id}-{n}",
                    "evidence": cited or claim.evidence,
                    "claim": claim.text,
                    "label": int(label),
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                written += 1
    return written


# -- the precision the dataset states ---------------------------------------------------------


def precision_statement(
    kept: Sequence[tuple[Sample, Verdict]], review: ReviewFigures | None
) -> list[str]:
    """What share of the kept samples a careful reader would keep, in sentences: measured by the
    user's review once it has read :data:`REVIEW_REPLACES_AT` kept samples, else as groundset
    measured its checker on its own labelled samples (:mod:`groundset.verify.precision`), with
    what that measurement does not cover."""
    if review is not None and review.precision and review.kept_reviewed >= REVIEW_REPLACES_AT:
        p, lo, hi = review.precision
        return [
            f"Precision (the share of kept samples a careful reader keeps): {p:.0%} (95% interval "
            f"{lo:.0%}-{hi:.0%}), measured by your review of {review.kept_reviewed} kept samples."
        ]
    checkers = {v.checker for _, v in kept}
    measured = measured_precision()
    threshold = threshold_of(next(iter(checkers))) if len(checkers) == 1 else None
    point = None if threshold is None else measured.at(threshold)
    if point is None:
        out = [
            f"Precision (the share of kept samples a careful reader keeps) is not measured for "
            f"the checker{'s' if len(checkers) > 1 else ''} {', '.join(sorted(checkers))}: "
            f"review a sample of them (groundset review) to measure it."
        ]
    else:
        out = [
            f"Expected precision (the share of kept samples a careful reader keeps): "
            f"{point.line()}. Measured on {measured.measured_on}."
        ]
        other = sum(not measured.covers(s.task, s.language, s.generator.model) for s, _ in kept)
        if other:
            out.append(
                f"{other} of these {len(kept)} samples are of another task, language or model, "
                "for which it was not measured."
            )
    tasks = task_precision()
    for task in sorted({s.task for s, _ in kept} & tasks.keys()):
        count = sum(s.task == task for s, _ in kept)
        verb = "is" if count == 1 else "are"
        out.append(f"Of the kept samples, {count} {verb} {tasks[task].line()}.")
    if review is not None and review.kept_reviewed:
        out.append(
            f"Your review has read {review.kept_reviewed} kept samples; from "
            f"{REVIEW_REPLACES_AT}, its own figure replaces this one."
        )
    return out
