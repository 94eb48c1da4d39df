"""The one protocol every support checker follows, and what a check returns.

A checker is handed (claim, evidence) pairs and says, for each, whether the evidence supports the
claim, how strongly (``score``, higher is better supported), which span of the evidence decided
it and, when it is not supported, why. Batches let model-backed checkers run one forward pass for
many claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from groundset.records import Reason

__all__ = ["Checker", "Pair", "Support"]

#: A claim and the evidence it is checked against.
Pair = tuple[str, str]


@dataclass(frozen=True)
class Support:
    """The outcome of checking one claim against its evidence.

    ``certain`` marks an outcome no further checker may overturn, such as a number the evidence
    lacks: a cascade does not send such a claim on.
    """

    supported: bool
    score: float
    evidence: str = ""
    reasons: tuple[Reason, ...] = ()
    certain: bool = False


@runtime_checkable
class Checker(Protocol):
    """Decides whether evidence supports claims.

    Attributes:
        name: the name the checker is registered under.
        threshold: the score at and above which a claim counts as supported.
    """

    name: str
    threshold: float

    def check(self, pairs: Sequence[Pair]) -> list[Support]:
        """Check each (claim, evidence) pair; the result has one Support per pair, in order."""
        ...
