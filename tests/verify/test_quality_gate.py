"""The verification quality gate: the default checker must stay above its floors on real claims.

Floors live in ``quality_baseline.json``; the figures come from ``benchmarks/verify_quality.py``,
the same code that prints the full table. The word-overlap baseline is measured here, in the same
run, and the default checker must beat it by the margin the baseline file sets: on WiCE a clear
one, on HaluEval (a smoke test, where overlap is already near the ceiling) no worse than it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from groundset.verify import WordOverlapChecker, make_checker

ROOT = Path(__file__).resolve().parents[2]
BASELINE = Path(__file__).with_name("quality_baseline.json")


@pytest.fixture(scope="module")
def quality() -> ModuleType:
    """benchmarks/verify_quality.py, imported from its file (benchmarks/ is no package)."""
    path = ROOT / "benchmarks" / "verify_quality.py"
    if not path.is_file():
        pytest.fail(f"missing benchmark module: {path}")
    spec = importlib.util.spec_from_file_location("verify_quality", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the module runs.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def floors() -> dict[str, Any]:
    if not BASELINE.is_file():
        pytest.fail(f"missing quality baseline: {BASELINE}")
    return dict(json.loads(BASELINE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("dataset", ["wice", "halueval"])
def test_default_checker_holds_its_floor_and_beats_word_overlap(
    quality: ModuleType, floors: dict[str, Any], dataset: str
) -> None:
    if not quality.DATASETS[dataset].is_file():
        pytest.fail(f"missing verification fixture: {quality.DATASETS[dataset]}")
    floor = floors[dataset]
    default = quality.evaluate("default", make_checker(), dataset)
    overlap = quality.evaluate("overlap", WordOverlapChecker(), dataset)
    report = (
        f"{dataset}: default bacc {default.balanced_accuracy:.3f} auc {default.roc_auc:.3f}"
        f" bacc@default {default.default_balanced_accuracy:.3f};"
        f" overlap bacc {overlap.balanced_accuracy:.3f}"
    )
    assert default.balanced_accuracy >= floor["default_cv_balanced_accuracy"], report
    assert default.roc_auc >= floor["default_roc_auc"], report
    assert (
        default.default_balanced_accuracy >= floor["default_balanced_accuracy_at_shipped_threshold"]
    ), report
    margin = default.balanced_accuracy - overlap.balanced_accuracy
    assert margin >= floor["margin_over_word_overlap"], report


def test_cross_validation_never_scores_rows_it_was_fitted_on(quality: ModuleType) -> None:
    # Scores that carry no information: a threshold fitted on all rows could still exploit the
    # label balance of the set, one fitted on held-out folds cannot beat chance by much.
    import numpy as np

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 400)
    scores = rng.random(400)
    assert quality.cross_validated_accuracy(scores, labels) < 0.56
    assert quality.roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
