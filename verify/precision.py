"""How many of the samples groundset keeps a careful reader would keep: measured, chosen, stated.

The verifier's **precision** (the share of kept samples a careful reader keeps) was measured on
groundset's own output, not on claims: qa samples the bundled models wrote on six fixture docs
sites, each labelled twice blind to a written brief (``benchmarks/kept_set.py``; the labelled
set is ``benchmarks/data/kept_set.jsonl``). ``benchmarks/kept_set.py measure --write`` stores
in ``calibration/kept_precision.json``, for each threshold of the default checker, how many
samples it keeps and how many of those the readers keep: on the four sites it was tuned on, and
on the two set aside.

Two uses:

- **A precision the user asks for** (``min_precision``): the lowest threshold whose measured
  precision on the tuned sites reaches it, or one clear refusal naming the best that was
  measured. Raising the threshold buys little: the errors left in kept samples are misreadings
  the checker scores as high as faithful answers (a reversed comparison, a property moved to
  the neighbouring subject, a default the section does not state).
- **A precision the dataset states**: the dataset card and the report print the measured figure
  with its 95% interval, until a person's review (``groundset review``) of at least
  :data:`REVIEW_REPLACES_AT` kept samples measures the user's own.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from groundset.errors import UsageError

__all__ = [
    "REVIEW_REPLACES_AT",
    "MeasuredPrecision",
    "OperatingPoint",
    "TaskPrecision",
    "checker_label",
    "measured_precision",
    "task_precision",
    "threshold_for",
    "threshold_of",
    "wilson_interval",
]

#: Kept samples a person must have reviewed before their figure replaces the measured one.
REVIEW_REPLACES_AT = 20
#: Fewest kept samples on the tuned sites behind a threshold that ``min_precision`` may choose.
MIN_KEPT = 10
#: The z of a two-sided 95% interval.
_Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; (0, 1) when nothing was observed."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class OperatingPoint:
    """What the default checker keeps at one threshold, against the readers' labels."""

    threshold: float
    kept: int
    kept_good: int
    heldout_kept: int
    heldout_kept_good: int

    @property
    def precision(self) -> float:
        return self.kept_good / self.kept if self.kept else 0.0

    def line(self) -> str:
        """The figure in words, with its interval, tuned and set-aside sites apart."""
        lo, hi = wilson_interval(self.kept_good, self.kept)
        out = (
            f"{self.precision:.0%} (95% interval {lo:.0%}-{hi:.0%}; {self.kept_good} of "
            f"{self.kept} kept samples on the sites it was tuned on)"
        )
        if self.heldout_kept:
            lo, hi = wilson_interval(self.heldout_kept_good, self.heldout_kept)
            share = self.heldout_kept_good / self.heldout_kept
            out += (
                f"; {share:.0%} ({lo:.0%}-{hi:.0%}; {self.heldout_kept_good} of "
                f"{self.heldout_kept}) on sites set aside"
            )
        return out


@dataclass(frozen=True)
class MeasuredPrecision:
    """The stored measurement: which checker, on what, and its operating points."""

    checker: str
    #: The models whose English qa samples it was measured on.
    models: tuple[str, ...]
    measured_on: str
    points: tuple[OperatingPoint, ...]

    def covers(self, task: str, language: str, model: str) -> bool:
        """Whether a sample of that task, language and model is of the kind measured."""
        return task == "qa" and language.split("-")[0].lower() == "en" and model in self.models

    def at(self, threshold: float) -> OperatingPoint | None:
        """The point measured at ``threshold``, or None."""
        return next((p for p in self.points if math.isclose(p.threshold, threshold)), None)


@cache
def measured_precision() -> MeasuredPrecision:
    """The shipped measurement (``kept_precision.json``)."""
    stored = files("groundset.verify").joinpath("calibration", "kept_precision.json")
    data = json.loads(stored.read_text(encoding="utf-8"))
    points = tuple(OperatingPoint(**p) for p in data["points"])
    return MeasuredPrecision(data["checker"], tuple(data["models"]), data["measured_on"], points)


@dataclass(frozen=True)
class TaskPrecision:
    """What the default verifier keeps of one task other than qa, against readers' labels
    (``calibration/task_precision.json``, written by each task's benchmark)."""

    task: str
    kept: int
    kept_good: int
    #: The models whose samples of the task it was measured on.
    models: tuple[str, ...]
    measured_on: str

    def line(self) -> str:
        """The figure in words, with its interval."""
        lo, hi = wilson_interval(self.kept_good, self.kept)
        share = self.kept_good / self.kept if self.kept else 0.0
        return (
            f"{self.task}: readers keep {self.kept_good} of the {self.kept} such samples "
            f"groundset kept, {share:.0%} (95% interval {lo:.0%}-{hi:.0%}), measured on "
            f"{self.measured_on}"
        )


@cache
def task_precision() -> dict[str, TaskPrecision]:
    """The shipped measurements of the tasks other than qa, by task."""
    stored = files("groundset.verify").joinpath("calibration", "task_precision.json")
    data = json.loads(stored.read_text(encoding="utf-8"))
    return {
        task: TaskPrecision(
            task, entry["kept"], entry["kept_good"], tuple(entry["models"]), entry["measured_on"]
        )
        for task, entry in data.items()
    }


def checker_label(threshold: float | None) -> str:
    """The default checker's name as verdicts record it: with its threshold when not 0.5."""
    if threshold is None or math.isclose(threshold, 0.5):
        return "calibrated"
    return f"calibrated (threshold {threshold:g})"


def threshold_of(label: str) -> float | None:
    """The threshold of the default checker named ``label`` in a verdict, or None for another
    checker (the inverse of :func:`checker_label`)."""
    if label == "calibrated":
        return 0.5
    prefix = "calibrated (threshold "
    if label.startswith(prefix) and label.endswith(")"):
        return float(label[len(prefix) : -1])
    return None


def threshold_for(min_precision: float) -> float:
    """The lowest measured threshold of the default checker that keeps samples at
    ``min_precision`` or better on the tuned sites (with at least :data:`MIN_KEPT` kept).

    Raises:
        UsageError: no measured threshold reaches it; the message names the best one.
    """
    measured = measured_precision()
    points = [p for p in measured.points if p.kept >= MIN_KEPT]
    for point in sorted(points, key=lambda p: p.threshold):
        if point.precision >= min_precision:
            return point.threshold
    best = max(points, key=lambda p: (p.precision, -p.threshold))
    raise UsageError(
        f"min_precision {min_precision:.0%} is more than the {measured.checker} checker was "
        f"measured to give at any threshold: at best {best.line()}, at threshold "
        f"{best.threshold:g}",
        fix='lower min_precision, or add a judge (checker = "cascade" with an llm_base_url) '
        "and measure it on your own samples with groundset review",
    )
