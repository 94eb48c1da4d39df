"""The verification quality gate: the default checker must stay above its floors on real claims.

Floors live in ``quality_baseline.json``, a little under what ``benchmarks/verify_quality.py`` and
``benchmarks/verify_calibrate.py`` measure. Two kinds of figure are gated:

- the shipped checker's own decisions, on each labelled set: docs claims (the part it was tuned
  on, and the part set aside that nothing was ever tuned on), WiCE and HaluEval; on the docs
  claims also the shares that decide trust: unsupported claims let through, and kept samples
  carrying an unsupported claim;
- the calibration refitted with each fold held out (cross-validated by document): the shipped
  weights were fitted on WiCE and HaluEval too, so only this says how they do on claims they
  have not seen.

The word-overlap baseline is measured in the same run, and the default must beat it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from benchmark_modules import load_benchmark

from groundset.verify import WordOverlapChecker, make_checker

BASELINE = Path(__file__).with_name("quality_baseline.json")


@pytest.fixture(scope="module")
def quality() -> ModuleType:
    return load_benchmark("verify_quality")


@pytest.fixture(scope="module")
def floors() -> dict[str, Any]:
    if not BASELINE.is_file():
        pytest.fail(f"missing quality baseline: {BASELINE}")
    return dict(json.loads(BASELINE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("dataset", ["docs-tune", "docs-heldout", "wice", "halueval"])
def test_default_checker_holds_its_floors_and_beats_word_overlap(
    quality: ModuleType, floors: dict[str, Any], dataset: str
) -> None:
    floor = floors[dataset]
    default = quality.evaluate("default", make_checker(), dataset)
    overlap = quality.evaluate("overlap", WordOverlapChecker(), dataset)
    report = quality.format_table([default, overlap])
    assert default.roc_auc >= floor["roc_auc"], report
    assert default.default_balanced_accuracy >= floor["balanced_accuracy"], report
    assert default.roc_auc - overlap.roc_auc >= floor["auc_over_word_overlap"], report
    if "let_through_at_most" in floor:
        assert default.let_through <= floor["let_through_at_most"], report
        assert default.kept_supported >= floor["kept_supported"], report
        assert default.bad_samples <= floor["bad_samples_at_most"], report


def test_the_calibration_holds_its_floors_cross_validated(floors: dict[str, Any]) -> None:
    calibrate = load_benchmark("verify_calibrate")
    figures = calibrate.calibrate(write=False)
    for dataset, floor in floors["cross_validated"].items():
        got = figures[dataset]
        assert got["balanced_accuracy"] >= floor["balanced_accuracy"], (dataset, got)
        assert got["roc_auc"] >= floor["roc_auc"], (dataset, got)
        if "let_through_at_most" in floor:
            assert got["let_through"] <= floor["let_through_at_most"], (dataset, got)


def test_cross_validation_never_scores_rows_it_was_fitted_on(quality: ModuleType) -> None:
    # Scores that carry no information: a threshold fitted on all rows could still exploit the
    # label balance of the set, one fitted on held-out folds cannot beat chance by much.
    import numpy as np

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 400)
    scores = rng.random(400)
    assert quality.cross_validated_accuracy(scores, labels) < 0.56
    assert quality.roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75


def test_a_kept_sample_counts_as_bad_when_any_of_its_claims_is_unsupported(
    quality: ModuleType,
) -> None:
    import numpy as np

    rows = [{"id": i} for i in ("a-0", "a-1", "b-0", "b-1", "c-0")]
    kept = np.array([True, True, True, False, True])
    labels = np.array([1, 0, 1, 1, 1])
    # a is kept whole with an unsupported claim, b is not kept whole, c is kept and clean.
    assert quality.bad_sample_share(rows, kept, labels) == 0.5
