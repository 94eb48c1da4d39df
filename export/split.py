"""The train/eval split: no source document feeds both sides."""

from __future__ import annotations

import random
from collections.abc import Sequence

from groundset.errors import UsageError
from groundset.records import Sample

__all__ = ["SPLITS", "split_by_document"]

SPLITS = ("train", "eval")


def split_by_document(
    samples: Sequence[Sample], *, eval_fraction: float = 0.1, seed: int = 0
) -> list[str]:
    """Assign each sample to ``train`` or ``eval`` so that no source document is on both sides.

    Samples that share any document (a ``doc_url`` of their sources) form one group (union-find);
    a sample without sources is a group of its own. The groups are shuffled with ``seed`` and
    taken into eval one by one while that brings eval nearer to ``eval_fraction`` of the samples,
    so eval is as near the target as whole groups allow.

    Args:
        samples: the samples to split.
        eval_fraction: the share of samples eval should get, at least 0 and below 1.
        seed: the shuffle's seed: the same seed gives the same split.

    Returns:
        The split of each sample, in the order of ``samples``.

    Raises:
        UsageError: ``eval_fraction`` is out of range.
    """
    if not 0 <= eval_fraction < 1:
        raise UsageError(
            f"the eval fraction must be at least 0 and below 1, not {eval_fraction}",
            fix="pass --eval-fraction 0.1, for example",
        )
    groups = _document_groups(samples)
    random.Random(seed).shuffle(groups)
    target = eval_fraction * len(samples)
    splits = ["train"] * len(samples)
    in_eval = 0
    for group in groups:
        if abs(in_eval + len(group) - target) < abs(in_eval - target):
            in_eval += len(group)
            for i in group:
                splits[i] = "eval"
    return splits


def _document_groups(samples: Sequence[Sample]) -> list[list[int]]:
    """Indices of samples that share documents, transitively; groups in first-seen order."""
    parent = list(range(len(samples)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[str, int] = {}
    for i, sample in enumerate(samples):
        for source in sample.sources:
            j = first_with.setdefault(source.doc_url, i)
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(samples)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())
