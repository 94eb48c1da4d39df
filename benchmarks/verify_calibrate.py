"""Fit the default checker's calibration: logistic weights of the claim features, and a threshold.

The fitting data is every labelled set's tuning part, each set weighed equally so that the
largest does not decide alone:

- ``docs``: claims that small models wrote about sections of the fixture docs sites, labelled
  twice independently (``docclaims_dev.jsonl`` of the fixtures, and the sets made with groundset's
  own prompts by ``benchmarks/docclaims_make.py`` in ``benchmarks/data/``), the documents that
  :func:`docclaims_make.split_of` sets aside left out;
- ``wice`` and ``halueval``: the public sets, whole (their figures are then cross-validated: each
  fold's figures come from weights fitted without it).

The threshold is the lowest probability at which, on the docs tuning part (its cross-validated
predictions), at most :data:`LET_THROUGH` of the unsupported claims are kept: trust first.

    python benchmarks/verify_calibrate.py [--write] [--c 0.1]

Prints the cross-validated figures and, with ``--write``, writes
``verify/calibration/claims.v1.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from verify_quality import balanced_accuracy, best_threshold, load_rows  # noqa: E402

from groundset.verify.calibrated import VETOES  # noqa: E402
from groundset.verify.features import FEATURE_NAMES, claim_features  # noqa: E402
from groundset.verify.text import words  # noqa: E402

OUT = ROOT / "verify" / "calibration" / "claims.v1.json"
#: The most unsupported docs claims the threshold may let through.
LET_THROUGH = 0.05
#: Evidence of at most this many words is a cited passage; longer, a whole page. Three chunks of
#: a docs page, each under 256 word pieces, are about 550 words; WiCE's pages are 1,000 (median).
PASSAGE_WORDS = 600
FOLDS = 5


def features(rows: Sequence[dict[str, Any]]) -> np.ndarray:
    """The feature matrix of the rows' (claim, evidence) pairs."""
    return np.array([claim_features(r["claim"], r["evidence"]).vector() for r in rows])


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float) -> dict[str, Any]:
    """Weighted, L2-regularised logistic regression on standardised features."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / scale, y, sample_weight=w)
    return {
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "weights": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
    }


def predict(params: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """The fitted probabilities of support."""
    z = ((x - np.array(params["mean"])) / np.array(params["scale"])) @ np.array(params["weights"])
    return 1.0 / (1.0 + np.exp(-(z + params["intercept"])))


def groups_of(rows: Sequence[dict[str, Any]]) -> np.ndarray:
    """The fold unit of each row: its document, so no page feeds both sides of a fold."""
    return np.array([f"{r.get('site', '')}|{r.get('url') or r['id']}" for r in rows])


def folds(groups: np.ndarray, k: int, seed: int = 0) -> list[np.ndarray]:
    """Row indices of ``k`` folds made of whole groups."""
    unique = np.unique(groups)
    order = np.random.default_rng(seed).permutation(len(unique))
    parts = np.array_split(unique[order], k)
    return [np.flatnonzero(np.isin(groups, part)) for part in parts]


def threshold_for(scores: np.ndarray, labels: np.ndarray, let_through: float) -> float:
    """The lowest score threshold that keeps at most ``let_through`` of the unsupported rows."""
    negatives = np.sort(scores[labels == 0])[::-1]
    allowed = int(np.floor(let_through * len(negatives)))
    if allowed >= len(negatives):
        return float(negatives[-1])
    return float(np.nextafter(negatives[allowed], 1.0))


def set_weights(
    sets: dict[str, list[dict[str, Any]]], train: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Each row's weight, such that every set's training rows weigh the same in all."""
    total = sum(int(m.sum()) for m in train.values())
    return {n: np.full(len(sets[n]), total / (len(sets) * max(1, train[n].sum()))) for n in sets}


def cross_validated(
    sets: dict[str, list[dict[str, Any]]],
    x: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    train: dict[str, np.ndarray],
    c: float,
) -> dict[str, np.ndarray]:
    """Each set's probabilities, each fold of it scored by weights fitted without that fold.

    ``train`` marks the rows a regime is fitted on; every set weighs the same in all.
    """
    weight = set_weights(sets, train)
    cv = {name: np.zeros(len(rows)) for name, rows in sets.items()}
    for name in sets:
        for held in folds(groups_of(sets[name]), FOLDS):
            keep = train[name].copy()
            keep[held] = False
            parts = [(name, keep)] + [(o, train[o]) for o in sets if o != name]
            params = fit(
                np.vstack([x[n][m] for n, m in parts]),
                np.concatenate([y[n][m] for n, m in parts]),
                np.concatenate([weight[n][m] for n, m in parts]),
                c,
            )
            cv[name][held] = predict(params, x[name][held])
    return cv


def fit_all(
    sets: dict[str, list[dict[str, Any]]],
    x: dict[str, np.ndarray],
    y: dict[str, np.ndarray],
    train: dict[str, np.ndarray],
    c: float,
) -> dict[str, Any]:
    """The regime's weights, fitted on all its rows."""
    weight = set_weights(sets, train)
    parts = [(n, train[n]) for n in sets]
    return fit(
        np.vstack([x[n][m] for n, m in parts]),
        np.concatenate([y[n][m] for n, m in parts]),
        np.concatenate([weight[n][m] for n, m in parts]),
        c,
    )


def calibrate(write: bool = False, c: float = 0.1, say: Any = print) -> dict[str, Any]:
    """Fit both regimes, report the cross-validated figures, and write them when asked.

    Returns:
        The cross-validated figures of each set.
    """
    sets = {name: load_rows(name) for name in ("docs-tune", "wice", "halueval")}
    x = {name: features(rows) for name, rows in sets.items()}
    y = {name: np.array([int(r["label"]) for r in rows]) for name, rows in sets.items()}
    size = {n: np.array([len(words(r["evidence"])) for r in rows]) for n, rows in sets.items()}
    page = {n: size[n] > PASSAGE_WORDS for n in sets}
    everything = {n: np.ones(len(rows), dtype=bool) for n, rows in sets.items()}

    # The passage regime learns from every row (the long ones steady its weights); its
    # threshold keeps at most LET_THROUGH of the unsupported docs claims.
    passage_cv = cross_validated(sets, x, y, everything, c)
    # A vetoed claim is refused whatever its probability: thresholds and figures see that.
    columns = [FEATURE_NAMES.index(f) for f in VETOES]
    vetoed = {n: (x[n][:, columns] > 0).any(axis=1) for n in sets}
    for n in sets:
        say(
            f"{n}: vetoed {int(vetoed[n][y[n] == 1].sum())} supported, "
            f"{int(vetoed[n][y[n] == 0].sum())} unsupported"
        )
        passage_cv[n][vetoed[n]] = 0.0
    short = ~page["docs-tune"]
    passage_threshold = threshold_for(passage_cv["docs-tune"][short], y["docs-tune"][short],
                                      LET_THROUGH)  # fmt: skip
    # The page regime learns from long evidence only, its threshold the best balanced one.
    page_cv = cross_validated(sets, x, y, page, c)
    for n in sets:
        page_cv[n][vetoed[n]] = 0.0
    long_scores = np.concatenate([page_cv[n][page[n]] for n in sets])
    long_labels = np.concatenate([y[n][page[n]] for n in sets])
    page_threshold = best_threshold(long_scores, long_labels)

    figures = {}
    for name in sets:
        decided = np.where(
            page[name], page_cv[name] >= page_threshold, passage_cv[name] >= passage_threshold
        )
        shifted = np.where(
            page[name],
            _shift(page_cv[name], page_threshold),
            _shift(passage_cv[name], passage_threshold),
        )
        labels = y[name]
        figures[name] = {
            "rows": len(labels),
            "page_rows": int(page[name].sum()),
            "roc_auc": round(_auc(shifted, labels), 3),
            "balanced_accuracy": round(balanced_accuracy(decided, labels), 3),
            "kept_supported": round(float(decided[labels == 1].mean()), 3),
            "let_through": round(float(decided[labels == 0].mean()), 3),
        }
        say(name, figures[name])
    say(f"thresholds: passage {passage_threshold:.4f}, page {page_threshold:.4f}")

    regimes = []
    for regime, train, threshold, limit in (
        ("passage", everything, passage_threshold, PASSAGE_WORDS),
        ("page", page, page_threshold, None),
    ):
        params = fit_all(sets, x, y, train, c)
        say(f"{regime}:")
        for feature, w in zip(FEATURE_NAMES, params["weights"], strict=True):
            say(f"  {feature:22s} {w:+.3f}")
        regimes.append({"name": regime, "max_words": limit, **params, "threshold": threshold})
    if write:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "about": "Weights of the calibrated checker (groundset.verify.calibrated), written by "
            "benchmarks/verify_calibrate.py; the figures are cross-validated by document.",
            "features": list(FEATURE_NAMES),
            "regimes": regimes,
            "fitted_on": {name: len(rows) for name, rows in sets.items()},
            "cross_validated": figures,
        }
        OUT.write_text(json.dumps(record, indent=1) + "\n")
        say(f"wrote {OUT}")
    return figures


def main() -> int:
    """Fit, print the figures, and write the calibration with ``--write``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--c", type=float, default=0.1, help="inverse regularisation strength")
    args = parser.parse_args()
    calibrate(write=args.write, c=args.c)
    return 0


def _shift(p: np.ndarray, threshold: float) -> np.ndarray:
    return np.where(
        p >= threshold, 0.5 + 0.5 * (p - threshold) / (1 - threshold), 0.5 * p / threshold
    )


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from verify_quality import roc_auc

    return roc_auc(scores, labels)


if __name__ == "__main__":
    sys.exit(main())
