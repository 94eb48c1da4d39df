"""Questions that repeat a kept sample's question in other words (``repeated_question``).

The exact and MinHash checks (:class:`~groundset.verify.filters.Deduplicator`) see a sample that
repeats another nearly word for word. "How do I set a default throttle rate for the whole API?"
and "Where do I set a default throttle rate for the whole API?", or "What is the Fisher Jenks
optimal classifier used for?" and "What is the purpose of the Fisher Jenks optimal classifier?",
differ in too many shingles for them, and a dataset holding both holds one question twice.

Each question is embedded once, with the embedder of the index the samples were written from,
and compared with the matrix of the kept questions' vectors: a cosine at or above the threshold
makes it a repeat, and the kept sample stays.

The threshold was measured on 157 pairs of questions the bundled models wrote on six docs
sites, labelled twice blind (``benchmarks/question_pairs.py``, the labelled pairs in
``benchmarks/data/question_pairs.jsonl``). With all-MiniLM-L6-v2, 0.91 is the lowest threshold
(in steps of 0.01) that refuses no pair the readers called distinct: it finds 10 of the 16
repeats, and every pair at 0.91 or above is one. Below it distinct questions about neighbouring
things come in at once ("a default secret class" and "a default secret object", 0.903; "the
development version" and "a specific version", 0.906). Refusing a distinct question costs a good
sample, so the threshold favours precision. The vectors of question and answer together did no
better (6 of 16 at the same precision).

A threshold holds for the embedder it was measured with, and for English questions, which the
pairs are. multilingual-e5-small puts 22 of the 141 distinct pairs at 0.95 or above; at 0.98 it
finds 8 of the 16 with none distinct, but the distinct pairs reach 0.97 and the pairs were drawn
by MiniLM's cosine, so no threshold is shipped for it. For an embedder without a measured
threshold, or a question in another language, the check is off unless ``repeat_cosine`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from groundset.languages import primary_language

__all__ = [
    "MEASURED_LANGUAGE",
    "MEASURED_REPEAT_COSINE",
    "AskedQuestion",
    "QuestionEmbedder",
    "QuestionRepeats",
]

#: The cosine of two questions' vectors at and above which they are one question, by the name an
#: index records for its embedder (measured by ``benchmarks/question_pairs.py measure``).
MEASURED_REPEAT_COSINE: dict[str, float] = {"all-MiniLM-L6-v2": 0.91}
#: The language of the questions those thresholds were measured on.
MEASURED_LANGUAGE = "en"


class QuestionEmbedder(Protocol):
    """What embeds a question: the index's embedder (:class:`groundset.ground.Embedder`)."""

    name: str

    def encode_query(self, text: str) -> np.ndarray:
        """The unit-length vector of one query."""
        ...


@dataclass(frozen=True)
class AskedQuestion:
    """A question's vector, and the kept sample whose question it repeats (None: none does)."""

    vector: np.ndarray
    repeats: str | None


class QuestionRepeats:
    """Remembers the kept samples' question vectors and finds a question that repeats one.

    Args:
        embedder: embeds each question; None switches the check off.
        threshold: the cosine at and above which two questions are one; None for the one
            measured for ``embedder`` (:data:`MEASURED_REPEAT_COSINE`), which holds for English
            questions only; with none measured, the check is off.
    """

    def __init__(self, embedder: QuestionEmbedder | None, threshold: float | None = None) -> None:
        self.embedder = embedder
        self.language: str | None = None
        if threshold is None and embedder is not None:
            threshold = MEASURED_REPEAT_COSINE.get(embedder.name)
            self.language = MEASURED_LANGUAGE
        self.threshold = threshold
        self._keys: list[str] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)

    @property
    def active(self) -> bool:
        """Whether questions are compared at all."""
        return self.embedder is not None and self.threshold is not None

    def ask(self, question: str, language: str) -> AskedQuestion | None:
        """Embed a question and look for a kept question it repeats.

        Returns:
            None when the check is off for it (no embedder or threshold, no question, or a
            language the threshold was not measured for), else its vector and the id of the
            kept sample it repeats, if any.
        """
        if self.embedder is None or self.threshold is None or not question.strip():
            return None
        if self.language and primary_language(language) != self.language:
            return None
        vector = np.asarray(self.embedder.encode_query(question), dtype=np.float32)
        return AskedQuestion(vector, self._repeated(vector))

    def add(self, key: str, asked: AskedQuestion | None) -> None:
        """Remember a kept sample's question (nothing when the check was off for it)."""
        if asked is None:
            return
        count = len(self._keys)
        if count == len(self._vectors):
            # Room for twice as many: the matrix is copied a few times, not once a sample.
            grown = np.zeros((max(64, 2 * count), asked.vector.shape[0]), dtype=np.float32)
            if count:
                grown[:count] = self._vectors
            self._vectors = grown
        self._vectors[count] = asked.vector
        self._keys.append(key)

    def __len__(self) -> int:
        return len(self._keys)

    def _repeated(self, vector: np.ndarray) -> str | None:
        """The kept sample whose question is nearest, when near enough."""
        if not self._keys:
            return None
        assert self.threshold is not None
        cosines = self._vectors[: len(self._keys)] @ vector
        best = int(np.argmax(cosines))
        return self._keys[best] if cosines[best] >= self.threshold else None
