"""The kept-set gate: what the default verifier keeps of the pipeline's own samples, as readers
judge it.

The labelled set (``benchmarks/data/kept_set.jsonl``, made by ``benchmarks/kept_set.py``) holds
qa samples the bundled models wrote on the fixture sites, each labelled twice blind to a written
brief (would a careful reader keep it?), with the chunks it was written from. The verifier is run
on it again here, offline, and two figures are held above their floors in
``kept_set_baseline.json``, on the sites it was tuned on and on the sites set aside:

- precision: the share of the samples groundset keeps that the readers keep;
- yield: the share of the samples the readers keep that groundset keeps.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from benchmark_modules import load_benchmark

BASELINE = Path(__file__).with_name("kept_set_baseline.json")


@pytest.fixture(scope="module")
def kept_set() -> ModuleType:
    return load_benchmark("kept_set")


@pytest.fixture(scope="module")
def floors() -> dict[str, Any]:
    if not BASELINE.is_file():
        pytest.fail(f"missing kept-set baseline: {BASELINE}")
    return dict(json.loads(BASELINE.read_text(encoding="utf-8")))


@pytest.mark.parametrize("split", ["tune", "heldout"])
def test_the_kept_set_stays_above_its_floors(
    kept_set: ModuleType, floors: dict[str, Any], split: str
) -> None:
    rows = kept_set.load(split=split)
    assert len(rows) >= floors[split]["samples"], "the labelled set lost samples"
    figures = kept_set.figures(kept_set.judge(rows))
    assert figures["kept"] >= floors[split]["kept"], figures
    assert figures["precision"] >= floors[split]["precision"], figures
    assert figures["yield"] >= floors[split]["yield"], figures


def test_the_figures_count_what_the_readers_and_groundset_decided(kept_set: ModuleType) -> None:
    def row(keep: int) -> dict[str, Any]:
        return {"keep": keep}

    judged = [
        (row(1), True, []),
        (row(0), True, []),
        (row(1), False, ["unsupported_claim"]),
        (row(0), False, ["unsupported_claim", "too_short"]),
        (row(1), True, []),
    ]
    figures = kept_set.figures(judged)
    assert figures["precision"] == pytest.approx(2 / 3)
    assert figures["yield"] == pytest.approx(2 / 3)
    assert figures["refused_by_reason"] == {"unsupported_claim": 2, "too_short": 1}
    assert figures["good_refused_by_reason"] == {"unsupported_claim": 1}
