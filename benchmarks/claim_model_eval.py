"""Does the claim model earn a place in the default checker? Measured side by side.

For a trained claim model (``benchmarks/train_claim_model.py``) this prints, on the docs claims
(the tuning part cross-validated by document, and the part set aside), WiCE and HaluEval:

- the claim model's own ROC AUC;
- the calibrated checker's passage regime refitted with and without the claim model's score as
  one more feature: ROC AUC, and at the threshold that lets 5% of the unsupported docs claims
  (tuning part, cross-validated) through, the share of supported claims kept and of unsupported
  ones let through;
- the claim model's speed, pairs per second.

    python benchmarks/claim_model_eval.py --model /tmp/claim-model [--c 0.1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from claim_model import ClaimModel  # noqa: E402
from verify_calibrate import (  # noqa: E402
    LET_THROUGH,
    VETOES,
    cross_validated,
    features,
    fit_all,
    predict,
    threshold_for,
)
from verify_quality import load_rows, roc_auc  # noqa: E402

from groundset.verify.features import FEATURE_NAMES  # noqa: E402

SETS = ("docs-tune", "wice", "halueval")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="the trained layers' folder")
    parser.add_argument("--c", type=float, default=0.1)
    args = parser.parse_args()
    model = ClaimModel(args.model)
    names = (*SETS, "docs-heldout")
    rows = {n: load_rows(n) for n in names}
    y = {n: np.array([int(r["label"]) for r in rows[n]]) for n in names}
    x = {n: features(rows[n]) for n in names}
    ce = {}
    for n in names:
        started = time.monotonic()
        ce[n] = np.array(model.score([(r["claim"], r["evidence"]) for r in rows[n]]))
        rate = len(rows[n]) / (time.monotonic() - started)
        print(f"{n:13s} claim model AUC {roc_auc(ce[n], y[n]):.3f}  ({rate:.0f} pairs/s)")
    columns = [FEATURE_NAMES.index(f) for f in VETOES]
    for label, extra in (("features", False), ("features + claim model", True)):
        xs = {n: np.column_stack([x[n], ce[n]]) if extra else x[n] for n in names}
        train = {n: np.ones(len(rows[n]), dtype=bool) for n in SETS}
        sets = {n: rows[n] for n in SETS}
        cv = cross_validated(sets, {n: xs[n] for n in SETS}, y, train, args.c)
        vetoed = {n: (x[n][:, columns] > 0).any(axis=1) for n in names}
        for n in SETS:
            cv[n][vetoed[n]] = 0.0
        threshold = threshold_for(cv["docs-tune"], y["docs-tune"], LET_THROUGH)
        params = fit_all(sets, {n: xs[n] for n in SETS}, y, train, args.c)
        held = predict(params, xs["docs-heldout"])
        held[vetoed["docs-heldout"]] = 0.0
        print(f"\n{label}:")
        for n, scores in (*((n, cv[n]) for n in SETS), ("docs-heldout", held)):
            kept = scores >= threshold
            print(
                f"  {n:13s} AUC {roc_auc(scores, y[n]):.3f}  kept {kept[y[n] == 1].mean():.2f}"
                f"  let through {kept[y[n] == 0].mean():.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
