"""A cascade of checkers: cheap ones first, expensive ones only for the claims left in doubt.

A claim goes on to the next stage only when the current stage's score lies within ``band`` of
that stage's threshold and the outcome is not ``certain`` (a hard check that failed stays
failed). The last stage to see a claim decides it.

So that one score still orders all claims (for ROC AUC, and for a user who moves the threshold),
a claim decided by a later stage gets a score inside the first stage's band:
``first.threshold + band * m``, where ``m`` in [-1, 1] is the deciding stage's margin from its
own threshold measured in bands. Claims the first stage was sure of keep its score.
"""

from __future__ import annotations

from collections.abc import Sequence

from groundset.errors import UsageError
from groundset.verify.base import Checker, Pair, Support

__all__ = ["CASCADE_BAND", "CascadeChecker"]

#: Half-width of the band of doubt around each stage's threshold (every score is in [0, 1]).
CASCADE_BAND = 0.1


class CascadeChecker:
    """Runs ``stages`` in order, each on the claims the one before it was unsure of.

    Args:
        stages: the checkers, cheapest first (at least one).
        band: half-width of the band of doubt around each stage's threshold.

    Raises:
        UsageError: no stage given.
    """

    name = "cascade"

    def __init__(self, stages: Sequence[Checker], band: float = CASCADE_BAND) -> None:
        if not stages:
            raise UsageError("a cascade needs at least one checker", fix="name its stages")
        self.stages = list(stages)
        self.band = band
        self.threshold = self.stages[0].threshold
        #: How many claims each stage saw in the last call, for reports and tests.
        self.escalated: list[int] = [0] * len(self.stages)

    def check(self, pairs: Sequence[Pair]) -> list[Support]:
        """Check each pair, escalating the uncertain ones stage by stage."""
        first = self.stages[0]
        results = first.check(pairs)
        self.escalated = [len(pairs)] + [0] * (len(self.stages) - 1)
        pending = [i for i, s in enumerate(results) if self._uncertain(s, first)]
        for number, stage in enumerate(self.stages[1:], start=1):
            if not pending:
                break
            self.escalated[number] = len(pending)
            decided = stage.check([pairs[i] for i in pending])
            for i, support in zip(pending, decided, strict=True):
                results[i] = self._rescaled(support, stage)
            pending = [
                i for i, s in zip(pending, decided, strict=True) if self._uncertain(s, stage)
            ]
        return results

    def _uncertain(self, support: Support, stage: Checker) -> bool:
        return not support.certain and abs(support.score - stage.threshold) < self.band

    def _rescaled(self, support: Support, stage: Checker) -> Support:
        margin = max(-1.0, min(1.0, (support.score - stage.threshold) / self.band))
        score = self.threshold + self.band * margin
        # Keep the sign of the decision exact at the boundary: supported iff score >= threshold.
        if not support.supported and score >= self.threshold:
            score = self.threshold - 1e-9
        return Support(support.supported, score, support.evidence, support.reasons, support.certain)
