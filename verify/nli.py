"""The NLI checker: a sentence-transformers CrossEncoder trained for entailment or fact-checking.

No such model is bundled: the user names one (a local path, or a hub name already in the local
cache). The checker reads which output is "entailment" from the model's own label names, so any
three-way NLI model works, and so does a one-output fact-checking model (its sigmoid is the
score). Premise: each of the claim's best evidence windows; hypothesis: the claim; score: the
best window's entailment probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from groundset.errors import VerificationError
from groundset.records import Reason
from groundset.verify.base import Pair, Support
from groundset.verify.evidence import candidate_windows

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

__all__ = ["DEFAULT_NLI_THRESHOLD", "NLIChecker", "entailment_index", "load_cross_encoder"]

#: Entailment probability at and above which a claim is supported.
DEFAULT_NLI_THRESHOLD = 0.5
#: Evidence windows scored for each claim (the best by word coverage).
NLI_WINDOWS = 4
#: How an "entailed" output's label starts ("not_supported" does not).
_ENTAILMENT_NAMES = ("entail", "support")


@lru_cache(maxsize=2)
def load_cross_encoder(name_or_path: str) -> CrossEncoder:
    """Load a CrossEncoder once per process.

    Raises:
        VerificationError: the model cannot be loaded.
    """
    from sentence_transformers import CrossEncoder

    try:
        return CrossEncoder(name_or_path)
    except (OSError, ValueError) as exc:
        raise VerificationError(
            f"cannot load the NLI model {name_or_path!r}: {exc}",
            fix="name a local CrossEncoder directory (an NLI or fact-checking model)",
        ) from None


def entailment_index(id2label: dict[int, str]) -> int | None:
    """Which output of a classifier means "entailed"; None for a one-output (scalar) model.

    Raises:
        VerificationError: several outputs, none named like entailment or support.
    """
    if len(id2label) <= 1:
        return None
    for index, label in sorted(id2label.items()):
        name = label.lower()
        if name.startswith(_ENTAILMENT_NAMES):
            return index
    raise VerificationError(
        f"the NLI model's outputs {sorted(id2label.values())} include no entailment label",
        fix="use a model whose config names an 'entailment' (or 'supported') label",
    )


class NLIChecker:
    """Supported when some evidence window entails the claim.

    Args:
        model: a CrossEncoder name or path.
        threshold: entailment probability at and above which a claim is supported.
        windows: how many evidence windows are scored per claim.
        batch_size: pairs per forward pass.
    """

    name = "nli"

    def __init__(
        self,
        model: str,
        threshold: float = DEFAULT_NLI_THRESHOLD,
        windows: int = NLI_WINDOWS,
        batch_size: int = 16,
    ) -> None:
        self.model = load_cross_encoder(model)
        config = self.model.config
        labels = (config.id2label if config is not None else None) or {}
        self.entailment = entailment_index({int(k): str(v) for k, v in labels.items()})
        self.threshold = threshold
        self.windows = windows
        self.batch_size = batch_size

    def check(self, pairs: Sequence[Pair]) -> list[Support]:
        """Check each (claim, evidence) pair; all windows of the batch go through together."""
        candidates = [candidate_windows(c, e, self.windows) for c, e in pairs]
        inputs = [
            (w.text, claim) for (claim, _), ws in zip(pairs, candidates, strict=True) for w in ws
        ]
        if self.entailment is None:
            probs = np.asarray(self.model.predict(inputs, batch_size=self.batch_size)).reshape(-1)
        else:
            matrix = self.model.predict(inputs, batch_size=self.batch_size, apply_softmax=True)
            probs = np.asarray(matrix)[:, self.entailment]
        out = []
        start = 0
        for windows in candidates:
            scores = probs[start : start + len(windows)]
            start += len(windows)
            best = int(np.argmax(scores))
            score = float(scores[best])
            supported = score >= self.threshold
            reasons: tuple[Reason, ...] = () if supported else ("unsupported_claim",)
            out.append(Support(supported, score, windows[best].text, reasons))
        return out
