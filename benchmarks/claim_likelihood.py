"""An experiment, not shipped: does a small LM's likelihood of a claim, given its evidence, help?

Word-level signals cannot see a claim that recombines its passage's own words into something the
passage does not say. A language model reads the claim token by token with the evidence in front
of it: a token the evidence makes likely scores high, an invented or misplaced one low. The
signal is the pointwise mutual information of each claim token with the evidence,
``log P(token | evidence, claim so far) - log P(token | claim so far)``, summarised per claim
(mean and lowest, lowest three, mean conditional log-probability, share of unlikely tokens).

For each bundled local model (``gemma-3-270m``, ``qwen2.5-coder-0.5b-instruct``) this prints, on
the docs claims (the tuning part cross-validated by document, and the part set aside):

- each likelihood feature's own ROC AUC;
- a logistic model on the calibrated checker's features fitted on the docs tuning part with and
  without the likelihood features: ROC AUC, and at the threshold that lets 5% of the unsupported
  tuning claims through (cross-validated), the share of supported claims kept and of unsupported
  ones let through, on both parts;
- the scoring speed, claims per second.

    python benchmarks/claim_likelihood.py [--model gemma-3-270m] [--threads 2]

Measured (2 cores, 693 claims): mean PMI alone has ROC AUC 0.85 (tune) and 0.86 (set aside)
with either model. Added to the features it lifts the AUC by 0.003-0.02 (Qwen: 0.905 to 0.919
cross-validated, 0.887 to 0.907 set aside; Gemma: 0.908 and 0.899) but keeps fewer supported
claims at 5% let through on the tuning part (0.66 without, 0.63 with either), and on the part set
aside its threshold lets 7-10% through; at 1.6 (Qwen) to 3.1 (Gemma) claims per second against
the checker's 1,000. The claims the checker lets through (a passage's own words recombined, a
list item copied as an answer to another question) are as likely to these models as the
supported ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from verify_calibrate import (  # noqa: E402
    LET_THROUGH,
    VETOES,
    features,
    fit,
    folds,
    groups_of,
    predict,
    threshold_for,
)
from verify_quality import load_rows, roc_auc  # noqa: E402

from groundset.verify.features import FEATURE_NAMES  # noqa: E402

#: The evidence the model reads, at most (the rest of a long section is cut).
MAX_EVIDENCE_CHARS = 4000
CONTEXT = 2048
CUE = "\n\nHere is a fact from the documentation page above: "
UNCONDITIONED = "Here is a fact from a software documentation page: "
NAMES = ("mean_pmi", "min_pmi", "low3_pmi", "mean_logp", "low3_logp", "unlikely_share")


class LikelihoodScorer:
    """Per-token log-probabilities of a claim after a prefix, from a llama.cpp model in process.

    Only the claim's positions ask for logits, so a long evidence prefix costs one forward pass,
    and claims that share their evidence reuse it from the KV cache.
    """

    def __init__(self, model_path: Path, threads: int) -> None:
        from groundset.generate.llama_launcher import _without_repacking

        _without_repacking()
        from llama_cpp import Llama

        self.llm = Llama(
            model_path=str(model_path),
            n_ctx=CONTEXT,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=512,
            verbose=False,
        )
        self.n_vocab = self.llm.n_vocab()
        self._prefix: list[int] | None = None

    def tokens(self, text: str, *, bos: bool) -> list[int]:
        return list(self.llm.tokenize(text.encode(), add_bos=bos, special=False))

    def logprobs(self, prefix: list[int], claim: list[int]) -> list[float]:
        llm = self.llm
        if self._prefix != prefix:
            llm._ctx.kv_cache_clear()
            body = prefix[:-1]
            for start in range(0, len(body), 512):
                llm._batch.set_batch(body[start : start + 512], start, False)
                llm._ctx.decode(llm._batch)
            self._prefix = prefix
        else:
            llm._ctx.kv_cache_seq_rm(-1, len(prefix) - 1, -1)
        # The last prefix token predicts the claim's first; each claim token the next.
        llm._batch.set_batch([prefix[-1], *claim[:-1]], len(prefix) - 1, True)
        llm._ctx.decode(llm._batch)
        out = []
        for i, token in enumerate(claim):
            logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(i), shape=(self.n_vocab,))
            top = float(logits.max())
            out.append(float(logits[token]) - top - float(np.log(np.exp(logits - top).sum())))
        return out


def likelihood_features(scorer: LikelihoodScorer, rows: Sequence[dict[str, Any]]) -> np.ndarray:
    """:data:`NAMES` for each row, claims of one evidence scored one after the other."""
    cue = scorer.tokens(CUE, bos=False)
    bare = scorer.tokens(UNCONDITIONED, bos=True)
    order = sorted(range(len(rows)), key=lambda i: rows[i]["evidence"])
    given: dict[int, list[float]] = {}
    for i in order:
        claim = scorer.tokens(rows[i]["claim"].strip(), bos=False) or scorer.tokens(".", bos=False)
        evidence = scorer.tokens(
            "Documentation page:\n" + rows[i]["evidence"][:MAX_EVIDENCE_CHARS], bos=True
        )
        prefix = evidence[: CONTEXT - 8 - len(claim) - len(cue)] + cue
        given[i] = scorer.logprobs(prefix, claim)
    out = np.zeros((len(rows), len(NAMES)))
    for i in range(len(rows)):
        claim = scorer.tokens(rows[i]["claim"].strip(), bos=False) or scorer.tokens(".", bos=False)
        conditioned = np.array(given[i])
        pmi = conditioned - np.array(scorer.logprobs(bare, claim))
        out[i] = (
            pmi.mean(),
            pmi.min(),
            np.sort(pmi)[:3].mean(),
            conditioned.mean(),
            np.sort(conditioned)[:3].mean(),
            float((conditioned < -6).mean()),
        )
    return out


def evaluate(
    tune: Sequence[dict[str, Any]],
    x_tune: np.ndarray,
    y_tune: np.ndarray,
    x_held: np.ndarray,
    y_held: np.ndarray,
    vetoed: tuple[np.ndarray, np.ndarray],
    c: float,
) -> str:
    """Cross-validated figures on the tuning part, and those of the whole fit on the held part."""
    weight = np.ones(len(y_tune))
    cv = np.zeros(len(y_tune))
    for held in folds(groups_of(tune), 5):
        train = np.ones(len(y_tune), dtype=bool)
        train[held] = False
        cv[held] = predict(fit(x_tune[train], y_tune[train], weight[train], c), x_tune[held])
    cv[vetoed[0]] = 0.0
    threshold = threshold_for(cv, y_tune, LET_THROUGH)
    scores = predict(fit(x_tune, y_tune, weight, c), x_held)
    scores[vetoed[1]] = 0.0
    parts = []
    for name, s, y in (("tune (cv)", cv, y_tune), ("set aside", scores, y_held)):
        kept = s >= threshold
        parts.append(
            f"{name}: AUC {roc_auc(s, y):.3f} kept {kept[y == 1].mean():.2f}"
            f" let through {kept[y == 0].mean():.3f}"
        )
    return " | ".join(parts)


def main() -> int:
    from groundset.generate.local_models import ensure_model_file, resolve_local_model
    from groundset.generate.local_server import default_cache_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", help="a bundled model's name or a GGUF path")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--c", type=float, default=0.1)
    args = parser.parse_args()
    tune, held = load_rows("docs-tune"), load_rows("docs-heldout")
    y_tune = np.array([int(r["label"]) for r in tune])
    y_held = np.array([int(r["label"]) for r in held])
    x_tune, x_held = features(tune), features(held)
    columns = [FEATURE_NAMES.index(f) for f in VETOES]
    vetoed = ((x_tune[:, columns] > 0).any(axis=1), (x_held[:, columns] > 0).any(axis=1))
    print(f"features only: {evaluate(tune, x_tune, y_tune, x_held, y_held, vetoed, args.c)}")
    for name in args.model or ["gemma-3-270m", "qwen2.5-coder-0.5b-instruct"]:
        spec = resolve_local_model(name)
        scorer = LikelihoodScorer(ensure_model_file(spec, default_cache_dir()), args.threads)
        started = time.monotonic()
        l_tune, l_held = likelihood_features(scorer, tune), likelihood_features(scorer, held)
        rate = (len(tune) + len(held)) / (time.monotonic() - started)
        print(f"\n{spec.name} ({rate:.1f} claims/s):")
        for j, feature in enumerate(NAMES):
            print(
                f"  {feature:15s} AUC tune {roc_auc(l_tune[:, j], y_tune):.3f}"
                f"  set aside {roc_auc(l_held[:, j], y_held):.3f}"
            )
        both = evaluate(
            tune,
            np.hstack([x_tune, l_tune]),
            y_tune,
            np.hstack([x_held, l_held]),
            y_held,
            vetoed,
            args.c,
        )
        print(f"  features + likelihood: {both}")
        del scorer
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
