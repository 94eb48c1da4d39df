"""Questions that repeat a kept one in other words: the threshold's floors on the labelled pairs,
and the verifier refusing a real paraphrase while it keeps a real distinct question.

Everything runs on the bundled all-MiniLM-L6-v2 (``HF_HUB_OFFLINE=1``): the labelled pairs are
``benchmarks/data/question_pairs.jsonl`` (``benchmarks/question_pairs.py``), and the samples are
real ones with the chunks they cite (``tests/fixtures/verification/repeated_questions.jsonl``).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from benchmark_modules import load_benchmark

from groundset.ground import Embedder
from groundset.records import Chunk, Sample
from groundset.verify import (
    MEASURED_REPEAT_COSINE,
    DictChunkLookup,
    FilterOptions,
    QuestionRepeats,
    SampleVerifier,
    make_checker,
    verify_samples_file,
)

from fixture_paths import fixture_path

BASELINE = Path(__file__).with_name("repeats_baseline.json")


class Remembered:
    """The embedder under another name or the same, each question's vector computed once."""

    def __init__(self, embedder: Embedder, name: str | None = None) -> None:
        self.embedder = embedder
        self.name = name or embedder.name
        self._vectors: dict[str, np.ndarray] = {}

    def encode_query(self, text: str) -> np.ndarray:
        if text not in self._vectors:
            self._vectors[text] = self.embedder.encode_query(text)
        return self._vectors[text]


@pytest.fixture(scope="module")
def questions(embedder: Embedder) -> Remembered:
    return Remembered(embedder)


@pytest.fixture(scope="module")
def question_pairs() -> ModuleType:
    return load_benchmark("question_pairs")


@pytest.fixture(scope="module")
def written() -> list[dict[str, Any]]:
    """The four real samples, in order: two DRF paraphrases, two distinct mapclassify questions.

    The two DRF samples come from two models' files and share an id; within one run ids are
    unique, so each gets its item's.
    """
    path = fixture_path("verification", "repeated_questions.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for row in rows:
        row["sample"]["id"] = row["item"]
    return rows


def _samples(rows: list[dict[str, Any]]) -> list[Sample]:
    return [Sample.model_validate(r["sample"]) for r in rows]


def _verifier(
    rows: list[dict[str, Any]], embedder: Any, options: FilterOptions | None = None
) -> SampleVerifier:
    chunks = DictChunkLookup(Chunk.model_validate(c) for r in rows for c in r["chunks"])
    return SampleVerifier(chunks, make_checker("calibrated"), "en", options, None, embedder)


def test_the_shipped_threshold_holds_its_floors_on_the_labelled_pairs(
    question_pairs: ModuleType, questions: Remembered
) -> None:
    floors = json.loads(BASELINE.read_text(encoding="utf-8"))
    rows = question_pairs.load()
    assert len(rows) >= floors["pairs"], "the labelled pairs lost rows"
    same = [bool(r["same"]) for r in rows]
    assert sum(same) >= floors["same"]
    # Each pair through the verifier's own check: the first question kept, the second asked.
    found = []
    for row in rows:
        repeats = QuestionRepeats(questions)
        repeats.add("a", repeats.ask(row["a"], "en"))
        asked = repeats.ask(row["b"], "en")
        assert asked is not None
        found.append(asked.repeats == "a")
    found_same = sum(f and s for f, s in zip(found, same, strict=True))
    precision, recall = found_same / sum(found), found_same / sum(same)
    assert precision >= floors["precision"], (found_same, sum(found))
    assert recall >= floors["recall"], (found_same, sum(same))

    # The shipped threshold is the one the benchmark chooses on these pairs.
    cosines = question_pairs.question_cosines(rows, questions)
    points = [question_pairs.point(rows, cosines, t) for t in question_pairs.THRESHOLDS]
    chosen = question_pairs.choose(points, 1.0)
    assert chosen.threshold == MEASURED_REPEAT_COSINE[questions.name]
    assert (chosen.found, chosen.found_same) == (sum(found), found_same)


def test_a_kept_questions_paraphrase_is_refused_and_a_distinct_question_kept(
    written: list[dict[str, Any]], questions: Remembered
) -> None:
    verifier = _verifier(written, questions)
    verdicts = [verifier.verify(s) for s in _samples(written)]
    # "How can I create..." is kept; "How do I create..." asks it again (cosine 0.998).
    # "the development version" and "a specific version" are two questions (cosine 0.906).
    assert [v.accepted for v in verdicts] == [True, False, True, True], verdicts
    assert verdicts[1].reasons == ["repeated_question"]
    assert verdicts[1].claims == []
    assert len(verifier.repeats) == 3


def test_without_an_embedder_or_above_the_setting_the_paraphrase_is_kept(
    written: list[dict[str, Any]], questions: Remembered
) -> None:
    # Each sample is good on its own: only the repeat check refuses the second.
    for verifier in (
        _verifier(written, None),
        _verifier(written, questions, FilterOptions(repeat_cosine=0.999)),
    ):
        assert [verifier.verify(s).accepted for s in _samples(written)] == [True] * 4
    assert not _verifier(written, None).repeats.active


def test_a_remembered_kept_sample_refuses_its_repeat(
    written: list[dict[str, Any]], questions: Remembered
) -> None:
    """What a project does before it judges new samples, and refresh before it re-verifies."""
    verifier = _verifier(written, questions)
    first, second, *_ = _samples(written)
    verifier.remember(first)
    assert verifier.verify(second).reasons == ["repeated_question"]
    # A repeat of a remembered sample's exact text is still the MinHash check's.
    assert verifier.verify(first.model_copy(update={"id": "copy"})).reasons == ["duplicate"]


def test_the_measured_threshold_holds_for_its_embedder_and_english_only(
    embedder: Embedder,
) -> None:
    question = "How do I create an endpoint for the root of my API?"
    measured = QuestionRepeats(embedder)
    assert measured.threshold == 0.91 and measured.active
    assert measured.ask(question, "en-GB") is not None
    assert measured.ask("¿Cómo creo un endpoint para la raíz de mi API?", "es") is None
    assert measured.ask("   ", "en") is None
    other = QuestionRepeats(Remembered(embedder, "multilingual-e5-small-q4"))
    assert not other.active and other.ask(question, "en") is None
    chosen = QuestionRepeats(Remembered(embedder, "multilingual-e5-small-q4"), 0.98)
    asked = chosen.ask("¿Cómo creo un endpoint para la raíz de mi API?", "es")
    assert asked is not None and asked.repeats is None


def test_the_file_pipeline_refuses_repeats_with_the_index_embedder_and_its_setting(
    written: list[dict[str, Any]], questions: Remembered, tmp_path: Path
) -> None:
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r["sample"]) + "\n" for r in written), encoding="utf-8")
    chunks = DictChunkLookup(Chunk.model_validate(c) for r in written for c in r["chunks"])
    kept, rejected = tmp_path / "kept.jsonl", tmp_path / "rejected.jsonl"
    summary = verify_samples_file(samples, chunks, kept, rejected, question_embedder=questions)
    assert (summary.kept, dict(summary.reasons)) == (3, {"repeated_question": 1})
    refused = json.loads(rejected.read_text(encoding="utf-8"))
    assert refused["id"] == written[1]["item"]
    summary = verify_samples_file(
        samples, chunks, kept, rejected, question_embedder=questions, repeat_cosine=0.999
    )
    assert summary.kept == 4
