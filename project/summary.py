"""What one ``run`` or ``refresh`` did, stage by stage, for the lines it closes with."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundset.project.publish import DatasetDiff
from groundset.project.state import Spend

if TYPE_CHECKING:
    from groundset.ground import IndexSummary

__all__ = ["STAGES", "PhaseSummary", "Timer"]

STAGES = ("crawl", "index", "generate", "verify", "export")


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


class Timer:
    def __init__(self, summary: PhaseSummary) -> None:
        self.summary = summary

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.summary.seconds[stage] += time.monotonic() - started
