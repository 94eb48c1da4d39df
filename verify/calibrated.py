"""The default checker: the signals of :mod:`groundset.verify.features`, weighed by a fitted model.

Each signal alone decides badly on some distribution: coverage thresholds right for long web
pages let half of the unsupported sentences a small model writes about docs sections through, and
a threshold right for those refuses most true Wikipedia claims. So the signals, the shape of the
input among them (how long the claim, how many sentences of evidence), go into one logistic
model whose weights were fitted on labelled claims of every distribution the verifier meets:
docs claims written by the models groundset drives, WiCE and HaluEval. The weights, the
threshold and what they were fitted on live in a small versioned file
(``calibration/claims.v1.json``), written by ``benchmarks/verify_calibrate.py``.

Inputs differ, and the checker sees how: evidence of at most a few hundred words is a cited
passage (up to three chunks of a docs page), judged by the ``passage`` regime, whose threshold
lets at most 5% of the unsupported docs claims through; longer evidence is a whole web page,
judged by the ``page`` regime, fitted on such pages only. The score is the regime's probability
of support, rescaled so that every regime's threshold is 0.5. A refused claim's reasons name the
hard checks that fired (a number, a term or a negation the evidence lacks), else
``unsupported_claim``; two of them (:data:`VETOES`) refuse a claim whatever its score.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.abc import Traversable
from importlib.resources import files
from pathlib import Path

from groundset.errors import VerificationError
from groundset.records import Reason
from groundset.verify.base import Pair, Support
from groundset.verify.features import FEATURE_NAMES, claim_features
from groundset.verify.precision import checker_label
from groundset.verify.text import words

__all__ = ["CALIBRATION", "CalibratedChecker", "Calibration", "Regime", "load_calibration"]

#: The calibration shipped with groundset.
CALIBRATION = "claims.v1"

# Which feature, when it fires, names which reason.
_HARD_REASONS: tuple[tuple[str, Reason], ...] = (
    ("numbers_missing", "number_mismatch"),
    ("terms_missing", "term_missing"),
    ("names_missing", "term_missing"),
    ("negation_mismatch", "negation_mismatch"),
)
#: Checks that refuse a claim whatever its score: a number the evidence lacks, or a claim that
#: restates a sentence with its polarity flipped. On the docs claims neither fired on a supported
#: claim but a handful of times (benchmarks/verify_calibrate.py counts them), and a high score
#: says nothing about them: "cannot be turned off" covers every word of "can be turned off".
VETOES: tuple[str, ...] = ("numbers_missing", "negation_mismatch")


@dataclass(frozen=True)
class Regime:
    """A fitted logistic model for one shape of input: standardise, weigh, add, squash.

    Attributes:
        name: ``passage`` (cited sections, the docs claims groundset checks) or ``page`` (a
            whole web page as evidence, as WiCE has it).
        max_words: the most evidence words this regime takes; the last regime takes the rest.
        mean: each feature's mean on the fitting data.
        scale: each feature's standard deviation there (1 where it was constant).
        weights: the logistic weights of the standardised features.
        intercept: the logistic intercept.
        threshold: the probability at and above which a claim is supported.
    """

    name: str
    max_words: int | None
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    threshold: float

    def probability(self, values: Sequence[float]) -> float:
        """The fitted probability that a claim with these feature values is supported."""
        z = self.intercept + sum(
            w * (v - m) / s
            for w, v, m, s in zip(self.weights, values, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


@dataclass(frozen=True)
class Calibration:
    """The fitted regimes, in order of ``max_words``, and the file they came from."""

    version: str
    features: tuple[str, ...]
    regimes: tuple[Regime, ...]

    def regime(self, evidence_words: int) -> Regime:
        """The regime for evidence of that many words."""
        for regime in self.regimes:
            if regime.max_words is None or evidence_words <= regime.max_words:
                return regime
        return self.regimes[-1]


@lru_cache(maxsize=4)
def load_calibration(name_or_path: str = CALIBRATION) -> Calibration:
    """A calibration shipped with groundset by name, or one written to a file by path.

    Raises:
        VerificationError: the file is missing, unreadable, or for other features.
    """
    if name_or_path.endswith(".json"):
        source: Traversable | Path = Path(name_or_path)
        label = Path(name_or_path).stem
    else:
        source = files("groundset.verify").joinpath("calibration", f"{name_or_path}.json")
        label = name_or_path
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        calibration = Calibration(
            version=label,
            features=tuple(data["features"]),
            regimes=tuple(
                Regime(
                    name=str(r["name"]),
                    max_words=None if r["max_words"] is None else int(r["max_words"]),
                    mean=tuple(map(float, r["mean"])),
                    scale=tuple(map(float, r["scale"])),
                    weights=tuple(map(float, r["weights"])),
                    intercept=float(r["intercept"]),
                    threshold=float(r["threshold"]),
                )
                for r in data["regimes"]
            ),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VerificationError(
            f"cannot read the checker calibration {name_or_path!r}: {exc}",
            fix="name a calibration file written by benchmarks/verify_calibrate.py",
        ) from None
    if calibration.features != FEATURE_NAMES or not calibration.regimes:
        raise VerificationError(
            f"the calibration {name_or_path!r} weighs other features than this groundset computes",
            fix="refit it with benchmarks/verify_calibrate.py",
        )
    return calibration


class CalibratedChecker:
    """Supported when the fitted probability of support reaches its regime's threshold.

    The score is the probability shifted so that every regime's threshold lands on
    :attr:`threshold` (0.5): one scale orders all claims, and supported means score >= 0.5.

    Args:
        calibration: a shipped calibration's name, or a file's path.
        threshold: the score a claim needs, on that shifted scale (0.5 by default: each
            regime's own fitted threshold).
    """

    name: str = "calibrated"

    def __init__(self, calibration: str = CALIBRATION, threshold: float | None = None) -> None:
        self.calibration = load_calibration(calibration)
        self.threshold = 0.5 if threshold is None else threshold
        # Verdicts record the threshold, so that the card can state the precision measured at it.
        self.name = checker_label(threshold)

    def check(self, pairs: Sequence[Pair]) -> list[Support]:
        """Check each (claim, evidence) pair."""
        return [self.check_one(claim, evidence) for claim, evidence in pairs]

    def check_one(self, claim: str, evidence: str) -> Support:
        """Check one claim against one evidence text."""
        measured = claim_features(claim, evidence)
        values = measured.vector()
        regime = self.calibration.regime(len(words(evidence)))
        score = _shifted(regime.probability(values), regime.threshold)
        named = dict(zip(FEATURE_NAMES, values, strict=True))
        vetoed = any(named[f] > 0 for f in VETOES)
        if score >= self.threshold and not vetoed:
            return Support(True, score, measured.span)
        if vetoed:
            score = min(score, _VETOED_SCORE)
        reasons = tuple(dict.fromkeys(r for f, r in _HARD_REASONS if named[f] > 0))
        return Support(
            False, score, measured.span, reasons or ("unsupported_claim",), certain=vetoed
        )


# A vetoed claim's score stays below every threshold a user might set.
_VETOED_SCORE = 0.1


def _shifted(probability: float, threshold: float) -> float:
    """``probability`` on a scale where ``threshold`` is 0.5, piecewise linear, order kept."""
    if probability >= threshold:
        return 0.5 + 0.5 * (probability - threshold) / (1 - threshold) if threshold < 1 else 1.0
    return 0.5 * probability / threshold if threshold > 0 else 0.0
