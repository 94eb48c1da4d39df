"""Verification quality: how well the support checkers decide on real, labelled claims.

Four sets of ``{id, evidence, claim, label}`` rows (label 1 = supported):

- ``docs-tune`` and ``docs-heldout``: claims small models wrote about sections of the fixture
  docs sites, labelled twice independently (``benchmarks/docclaims.py``): the distribution
  groundset serves. ``docs-heldout`` is never tuned on;

- ``wice``: 349 Wikipedia claims with the web pages they cite (WiCE dev). Published balanced
  accuracies: plain word overlap about 0.65, AlignScore-large 0.66, MiniCheck-Flan-T5-L 0.72,
  GPT-4o 0.79. This is the set to learn from.
- ``halueval``: 1,487 HotpotQA answers, right or ChatGPT-hallucinated. Right answers are short
  copied spans, so answer length alone separates the classes: a smoke test.

Balanced accuracy is cross-validated: the rows are split into 5 folds, the threshold that
maximises balanced accuracy on four folds is applied to the fifth, and the predictions of all five
held-out folds are scored together; this is repeated over 5 shuffles and averaged. ROC AUC needs
no threshold. ``thr`` is the threshold fitted on all rows, and ``bacc@default`` is the balanced
accuracy of the checker's own decisions with its shipped default threshold. Of those decisions:
``kept`` is the share of supported claims kept, ``through`` the share of unsupported claims let
through, ``unsup/kept`` the share of kept claims that are unsupported, and ``bad samples`` the
share of kept samples (all their labelled claims kept) that carry an unsupported claim.

Run as a script to print the table (``--checkers`` picks rows; model backends are slow on 2
cores)::

    python benchmarks/verify_quality.py [--checkers overlap,lexical,ablation,embedding,cascade]
        [--nli-model PATH] [--llm-model NAME --llm-base-url URL]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from groundset.verify import Checker, LexicalChecker, Support, WordOverlapChecker, make_checker

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docclaims import load_docclaims

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "verification"
DATASETS = {
    "wice": FIXTURES / "wice_claim_dev.jsonl",
    "halueval": FIXTURES / "halueval_qa_subset.jsonl",
}
FOLDS = 5
SHUFFLES = 5


@dataclass(frozen=True)
class Result:
    """One checker's figures on one data set, with the scores and labels they come from."""

    checker: str
    dataset: str
    balanced_accuracy: float
    roc_auc: float
    threshold: float
    default_balanced_accuracy: float
    kept_supported: float
    let_through: float
    kept_unsupported: float
    bad_samples: float
    claims_per_s: float
    scores: np.ndarray
    labels: np.ndarray


def load_rows(dataset: str) -> list[dict[str, Any]]:
    """The rows of a labelled set: a fixture, or a split of the docs claims (``docs-tune``,
    ``docs-heldout``).

    Raises:
        FileNotFoundError: the fixture is missing; the message names its path.
    """
    if dataset.startswith("docs-"):
        return load_docclaims(dataset.removeprefix("docs-"))
    path = DATASETS[dataset]
    if not path.is_file():
        raise FileNotFoundError(f"missing verification fixture: {path}")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def balanced_accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Mean of the recall on supported and the recall on unsupported rows."""
    positive = labels == 1
    return float((predicted[positive].mean() + (~predicted[~positive]).mean()) / 2)


def roc_auc(scores: ArrayLike, labels: ArrayLike) -> float:
    """Probability that a supported row outscores an unsupported one (ties count half)."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels)
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_scores = s[order]
    # Average ranks over ties, so equal scores count as half a win.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    for start, count in zip(first, counts, strict=True):
        ranks[order[start : start + count]] = start + (count + 1) / 2
    positives = int((y == 1).sum())
    negatives = len(y) - positives
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold (``score >= t`` is supported) with the best balanced accuracy."""
    values = np.unique(scores)
    candidates = np.concatenate([[values[0]], (values[:-1] + values[1:]) / 2, [values[-1] + 1]])
    accuracies = [balanced_accuracy(scores >= t, labels) for t in candidates]
    return float(candidates[int(np.argmax(accuracies))])


def cross_validated_accuracy(
    scores: ArrayLike, labels: ArrayLike, folds: int = FOLDS, shuffles: int = SHUFFLES
) -> float:
    """Balanced accuracy with each fold's threshold fitted on the other folds only."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels)
    results = []
    for seed in range(shuffles):
        parts = np.array_split(np.random.default_rng(seed).permutation(len(s)), folds)
        predicted = np.zeros(len(s), dtype=bool)
        for i, held_out in enumerate(parts):
            train = np.concatenate([p for j, p in enumerate(parts) if j != i])
            predicted[held_out] = s[held_out] >= best_threshold(s[train], y[train])
        results.append(balanced_accuracy(predicted, y))
    return float(np.mean(results))


def check_rows(checker: Checker, rows: Sequence[dict[str, Any]]) -> list[Support]:
    """The checker's outcome for every row's claim against its evidence."""
    return checker.check([(str(r["claim"]), str(r["evidence"])) for r in rows])


def evaluate(name: str, checker: Checker, dataset: str) -> Result:
    """Score one checker on one data set."""
    rows = load_rows(dataset)
    labels = np.array([int(r["label"]) for r in rows])
    start = time.perf_counter()
    outcomes = check_rows(checker, rows)
    elapsed = time.perf_counter() - start
    scores = np.array([o.score for o in outcomes])
    kept = np.array([o.supported for o in outcomes])
    return Result(
        checker=name,
        dataset=dataset,
        balanced_accuracy=cross_validated_accuracy(scores, labels),
        roc_auc=roc_auc(scores, labels),
        threshold=best_threshold(scores, labels),
        default_balanced_accuracy=balanced_accuracy(kept, labels),
        kept_supported=float(kept[labels == 1].mean()),
        let_through=float(kept[labels == 0].mean()),
        kept_unsupported=float((labels[kept] == 0).mean()) if kept.any() else 0.0,
        bad_samples=bad_sample_share(rows, kept, labels),
        claims_per_s=len(rows) / elapsed if elapsed else float("inf"),
        scores=scores,
        labels=labels,
    )


def sample_of(row: dict[str, Any]) -> str:
    """The sample a claim row belongs to: its id without the claim number (``dv001-2``)."""
    row_id = str(row["id"])
    head, _, tail = row_id.rpartition("-")
    return head if head and tail.isdigit() else row_id


def bad_sample_share(rows: Sequence[dict[str, Any]], kept: np.ndarray, labels: np.ndarray) -> float:
    """Of the samples whose every labelled claim was kept, the share with an unsupported one."""
    samples: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        samples.setdefault(f"{row.get('source', '')}|{sample_of(row)}", []).append(i)
    whole = [ix for ix in samples.values() if all(kept[i] for i in ix)]
    if not whole:
        return 0.0
    return sum(any(labels[i] == 0 for i in ix) for ix in whole) / len(whole)


def common_threshold(results: Sequence[Result]) -> tuple[float, list[float]]:
    """The threshold with the best mean balanced accuracy over several data sets.

    Returns:
        The threshold and the balanced accuracy it gives on each data set, in order.
    """
    candidates = np.unique(np.concatenate([r.scores for r in results]))
    best: tuple[float, float, list[float]] = (-1.0, 0.0, [])
    for t in candidates:
        accuracies = [balanced_accuracy(r.scores >= t, r.labels) for r in results]
        if np.mean(accuracies) > best[0]:
            best = (float(np.mean(accuracies)), float(t), accuracies)
    return best[1], best[2]


def ablation() -> list[tuple[str, Checker]]:
    """The lexical checker with its hard checks added one at a time."""
    return [
        ("coverage only", LexicalChecker(hard_checks=())),
        ("+ numbers", LexicalChecker(hard_checks=("numbers",))),
        ("+ numbers + terms", LexicalChecker(hard_checks=("numbers", "terms"))),
        ("+ negation (= lexical)", LexicalChecker()),
    ]


def checkers_for(names: Iterable[str], **options: object) -> list[tuple[str, Checker]]:
    """The (row label, checker) pairs a comma-separated ``--checkers`` value asks for."""
    factories: dict[str, Callable[[], list[tuple[str, Checker]]]] = {
        "overlap": lambda: [("word overlap (baseline)", WordOverlapChecker())],
        "ablation": ablation,
    }
    out: list[tuple[str, Checker]] = []
    for name in names:
        if name in factories:
            out.extend(factories[name]())
        else:
            out.append((name, make_checker(name, **options)))
    return out


def format_table(results: Sequence[Result]) -> str:
    """A plain-text table, one line per checker and data set."""
    header = (
        f"{'checker':24s} {'data':12s} {'bacc(cv)':>8s} {'auc':>6s} {'bacc@def':>8s} "
        f"{'kept':>5s} {'through':>7s} {'unsup/kept':>10s} {'bad samples':>11s} {'claims/s':>8s}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r.checker:24s} {r.dataset:12s} {r.balanced_accuracy:8.3f} {r.roc_auc:6.3f} "
            f"{r.default_balanced_accuracy:8.3f} {r.kept_supported:5.2f} {r.let_through:7.2f} "
            f"{r.kept_unsupported:10.2f} {r.bad_samples:11.2f} {r.claims_per_s:8.1f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the quality table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--checkers", default="calibrated,lexical,overlap,embedding")
    parser.add_argument("--datasets", default="docs-tune,docs-heldout,wice,halueval")
    parser.add_argument("--nli-model", help="a CrossEncoder NLI model path for the nli row")
    parser.add_argument("--llm-model", help="model name for the llm row")
    parser.add_argument("--llm-base-url", help="OpenAI-compatible endpoint for the llm row")
    args = parser.parse_args(argv)
    options = {
        key: value
        for key, value in {
            "nli_model": args.nli_model,
            "llm_model": args.llm_model,
            "llm_base_url": args.llm_base_url,
        }.items()
        if value
    }
    checkers = checkers_for(args.checkers.split(","), **options)
    results = []
    for dataset in args.datasets.split(","):
        for name, checker in checkers:
            results.append(evaluate(name, checker, dataset))
            print(format_table(results[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(format_table(results))
    datasets = args.datasets.split(",")
    if len(datasets) > 1:
        print(f"\nthreshold with the best mean balanced accuracy over {', '.join(datasets)}:")
        for name, _ in checkers:
            threshold, accuracies = common_threshold([r for r in results if r.checker == name])
            figures = ", ".join(f"{d} {a:.3f}" for d, a in zip(datasets, accuracies, strict=True))
            print(f"  {name:28s} {threshold:.3f}  ({figures})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
