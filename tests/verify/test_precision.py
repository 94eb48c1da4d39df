"""The precision groundset states and the one a user asks for (``min_precision``).

Both read ``verify/calibration/kept_precision.json``: what the default checker keeps, at each
threshold, of the labelled kept set (groundset's own samples, labelled twice by readers).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from benchmark_modules import load_benchmark

from groundset.errors import UsageError
from groundset.export.reviews import ReviewFigures, precision_statement
from groundset.records import Verdict
from groundset.verify import make_checker
from groundset.verify.precision import (
    checker_label,
    measured_precision,
    task_precision,
    threshold_for,
    threshold_of,
)


@pytest.fixture(scope="module")
def kept_set() -> ModuleType:
    return load_benchmark("kept_set")


def test_the_stored_precision_is_what_the_verifier_keeps_today(kept_set: ModuleType) -> None:
    """A change to the verifier that moves what it keeps must re-measure what it states:
    ``python benchmarks/kept_set.py measure --write``."""
    stored = json.loads(Path(kept_set.PRECISION_FILE).read_text(encoding="utf-8"))
    assert kept_set.operating_points() == stored


def test_min_precision_picks_the_lowest_threshold_measured_to_give_it() -> None:
    points = {p.threshold: p for p in measured_precision().points}
    default = points[0.5]
    assert threshold_for(default.precision) == 0.5
    # Just above the default's precision: the first threshold whose precision reaches it.
    wanted = default.precision + 0.01
    chosen = threshold_for(wanted)
    assert chosen > 0.5 and points[chosen].precision >= wanted
    assert all(p.precision < wanted for t, p in points.items() if t < chosen and p.kept >= 10)


def test_a_precision_never_measured_is_refused_in_one_line_naming_the_best() -> None:
    best = max(p.precision for p in measured_precision().points if p.kept >= 10)
    with pytest.raises(UsageError) as refused:
        threshold_for(0.9)
    assert f"at best {best:.0%}" in str(refused.value)
    assert "groundset review" in (refused.value.fix or "")


def test_the_checker_takes_min_precision_and_records_its_threshold_in_its_name() -> None:
    chosen = threshold_for(measured_precision().points[0].precision + 0.01)
    checker = make_checker(
        "calibrated", min_precision=measured_precision().points[0].precision + 0.01
    )
    assert checker.name == checker_label(chosen) == f"calibrated (threshold {chosen:g})"
    assert threshold_of(checker.name) == chosen
    assert make_checker("calibrated").name == "calibrated"
    with pytest.raises(UsageError, match="both threshold and min_precision"):
        make_checker("calibrated", min_precision=0.5, threshold=0.6)
    with pytest.raises(UsageError, match="calibrated checker only"):
        make_checker("lexical", min_precision=0.5)


def _kept(
    make_sample: Callable[..., Any], checker: str, n: int = 3, model: str = "gemma-3-270m"
) -> list[Any]:
    samples = [
        make_sample(f"s{i}", "How do I page results?", "Set PAGE_SIZE.", [], model=model)
        for i in range(n)
    ]
    return [(s, Verdict(sample_id=s.id, accepted=True, checker=checker)) for s in samples]


def _review(kept_reviewed: int, kept_good: int) -> ReviewFigures:
    return ReviewFigures(kept_reviewed, kept_good, 0, 0, 0, 0, {}, kept_reviewed)


def test_the_dataset_states_the_measured_precision_until_a_review_replaces_it(
    make_sample: Callable[..., Any],
) -> None:
    default = measured_precision().at(0.5)
    assert default is not None
    measured = _kept(make_sample, "calibrated", model="qwen2.5-coder-1.5b-instruct")
    (stated,) = precision_statement(measured, None)
    assert stated.startswith(f"Expected precision (the share of kept samples a careful reader "
                             f"keeps): {default.precision:.0%} (95% interval")  # fmt: skip
    # Samples of a model or language it was not measured on: the card says so.
    spanish = [(s.model_copy(update={"language": "es"}), v) for s, v in measured[:1]]
    _, caveat = precision_statement([*spanish, *_kept(make_sample, "calibrated")], None)
    assert caveat.startswith("4 of these 4 samples are of another task, language or model")
    short = precision_statement(_kept(make_sample, "calibrated"), _review(5, 5))
    assert short[-1].startswith("Your review has read 5 kept samples; from 20")
    (reviewed,) = precision_statement(_kept(make_sample, "calibrated"), _review(20, 18))
    assert reviewed.startswith("Precision (the share of kept samples a careful reader keeps): 90%")
    (unmeasured,) = precision_statement(_kept(make_sample, "nli"), None)
    assert "not measured for the checker nli" in unmeasured


def test_the_dataset_states_what_readers_kept_of_a_task_measured_on_its_own(
    make_sample: Callable[..., Any],
) -> None:
    measured = task_precision()["unanswerable"]
    stored = json.loads(
        (Path(__file__).parents[2] / "verify" / "calibration" / "task_precision.json").read_text()
    )["unanswerable"]
    assert (measured.kept, measured.kept_good) == (stored["kept"], stored["kept_good"])
    qa = _kept(make_sample, "calibrated", n=2, model="qwen2.5-coder-1.5b-instruct")
    unanswerable = [
        (s.model_copy(update={"task": "unanswerable", "id": f"u{i}"}), v)
        for i, (s, v) in enumerate(qa)
    ]
    lines = precision_statement([*qa, *unanswerable[:1]], None)
    assert lines[-1] == f"Of the kept samples, 1 is {measured.line()}."
    assert f"readers keep {stored['kept_good']} of the {stored['kept']} such samples" in lines[-1]
    # A run of qa alone is not told about other tasks.
    assert not any("unanswerable" in line for line in precision_statement(qa, None))
