"""Evidence as windows of consecutive sentences, ranked by how much of a claim they cover.

A cited chunk is a few sentences, but evidence can be a whole web page: checking a claim against
all of it would find every word somewhere and prove nothing. So evidence is cut into windows of
one and of a few consecutive sentences, and each checker looks at the windows that cover the
claim best.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from groundset.verify.text import content_words, fold, split_sentences, stem, words

__all__ = ["Evidence", "Window", "candidate_windows", "claim_stems", "prepare_evidence"]

#: Window sizes, in sentences, a model checker is shown.
CANDIDATE_SIZES = (1, 2, 3)


@dataclass(frozen=True)
class Window:
    """A run of ``size`` consecutive sentences of the evidence, starting at sentence ``first``."""

    text: str
    first: int
    size: int


@dataclass(frozen=True)
class Evidence:
    """Evidence text split into sentences, with the word stems of each sentence."""

    text: str
    sentences: tuple[str, ...]
    sentence_stems: tuple[frozenset[str], ...]
    stems: frozenset[str]
    folded: str

    def windows(self, size: int) -> list[Window]:
        """Every window of ``size`` sentences (one window if there are fewer sentences)."""
        count = max(1, len(self.sentences) - size + 1)
        return [Window(" ".join(self.sentences[i : i + size]), i, size) for i in range(count)]

    def coverage(self, stems: Sequence[str], window: Window) -> float:
        """Share of the claim's stems (with repeats) that occur in the window."""
        if not stems:
            return 0.0
        present = frozenset().union(*self.sentence_stems[window.first : window.first + window.size])
        return sum(s in present for s in stems) / len(stems)

    def best_windows(self, stems: Sequence[str], size: int, k: int) -> list[tuple[float, Window]]:
        """The ``k`` windows of ``size`` sentences that cover ``stems`` best, best first."""
        scored = [(self.coverage(stems, w), w) for w in self.windows(size)]
        scored.sort(key=lambda pair: (-pair[0], pair[1].first))
        return scored[:k]


def claim_stems(claim: str) -> list[str]:
    """The stems of a claim's content words, repeats kept, in order."""
    return [stem(w) for w in content_words(claim)]


@lru_cache(maxsize=512)
def prepare_evidence(text: str) -> Evidence:
    """Split evidence into sentences and stem them once; claims of one sample share it."""
    sentences = tuple(split_sentences(text)) or ("",)
    sentence_stems = tuple(frozenset(stem(w) for w in words(s)) for s in sentences)
    return Evidence(
        text=text,
        sentences=sentences,
        sentence_stems=sentence_stems,
        stems=frozenset().union(*sentence_stems),
        folded=fold(text).lower().replace("`", ""),
    )


def candidate_windows(claim: str, evidence_text: str, k: int) -> list[Window]:
    """The ``k`` windows of one to three sentences that cover the claim best.

    Model checkers see only these: running a model over every window of a web page costs a
    hundred times more, and a window that shares no word with the claim rarely supports it.
    """
    evidence = prepare_evidence(evidence_text)
    stems = claim_stems(claim)
    scored = [pair for size in CANDIDATE_SIZES for pair in evidence.best_windows(stems, size, k)]
    scored.sort(key=lambda pair: (-pair[0], pair[1].size, pair[1].first))
    out: list[Window] = []
    seen: set[str] = set()
    for _, window in scored:
        if window.text not in seen:
            seen.add(window.text)
            out.append(window)
    return out[:k]
