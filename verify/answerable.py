"""Questions the docs should not answer (task ``unanswerable``): their answer, and the check
turned round.

An ``unanswerable`` sample asks what a user of the docs would plausibly ask, close to what a
section covers, and answers that the docs do not say, pointing at that nearest section with one
verbatim sentence of it. Only the question and that sentence are the model's; the answer around
them is written here (:func:`unanswered_answer`), so that the pointer (heading and URL) is the
cited section's own and the sentence is a quote the verifier finds in it.

What such a sample claims is an absence, which no cited passage can support. So the verifier
searches the whole corpus for the question (:class:`AnsweringSearch`): the sections it finds
that hold enough of the question's words are read by a model (:class:`AnswerReader`), and the
sample is refused ``answerable`` when one of them answers it, that section named in the verdict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from groundset.records import Chunk, Hit, Sample
from groundset.verify.evidence import claim_stems, prepare_evidence

__all__ = [
    "NOT_SAID",
    "UNANSWERABLE",
    "AnswerReader",
    "Answering",
    "AnsweringSearch",
    "CorpusSearch",
    "answer_statement",
    "question_coverage",
    "unanswered_answer",
]

#: The task whose samples are checked this way.
UNANSWERABLE = "unanswerable"
#: The first sentence of every such answer.
NOT_SAID = "The documentation does not say."
#: Sections searched for an answer, best first.
SEARCHED = 5
#: Share of the question's content words a section must hold to be read at all: every section
#: that answered a question of the labelled kept set held at least half of its words
#: (``benchmarks/unanswerable_check.py``), and each section read costs a model call.
MIN_COVERAGE = 0.5

_ANSWER = re.compile(
    re.escape(NOT_SAID)
    + r' The closest section(?:, "(?P<heading>.*?)" \((?P<url>\S+)\),| \((?P<bare>\S+)\))'
    + r' says: "(?P<quote>.*)"\Z',
    re.DOTALL,
)


def unanswered_answer(section: Chunk, quote: str) -> str:
    """The answer of an ``unanswerable`` sample: the docs do not say, and the nearest section
    (heading and URL) with the sentence of it that shows what it does cover."""
    if section.heading_path:
        where = f'The closest section, "{section.heading_path}" ({section.doc_url}),'
    else:
        where = f"The closest section ({section.doc_url})"
    return f'{NOT_SAID} {where} says: "{quote}"'


def answer_statement(sample: Sample) -> str | None:
    """What of an ``unanswerable`` sample's answer is a statement to check: None when the answer
    is exactly :func:`unanswered_answer` of a section the sample cites, with one of its quotes
    (that quote is checked as its claim); otherwise the whole answer, every sentence of which is
    then checked, "the documentation does not say" included, and so refused."""
    answer = sample.answer or ""
    match = _ANSWER.match(answer)
    if match is None:
        return answer
    sources = {s.chunk_id: s for s in sample.sources}
    for claim in sample.claims:
        for citation in claim.citations:
            source = sources.get(citation.chunk_id)
            if source is None or citation.quote != match["quote"]:
                continue
            pointed = (match["heading"] or "", match["url"] or match["bare"])
            if pointed == (source.heading_path, source.doc_url):
                return None
    return answer


def question_coverage(question: str, text: str) -> float:
    """The share of the question's content words (stemmed) that ``text`` holds."""
    stems = claim_stems(question)
    if not stems:
        return 0.0
    held = prepare_evidence(text).stems
    return sum(s in held for s in stems) / len(stems)


@runtime_checkable
class CorpusSearch(Protocol):
    """Where the question is looked for: the whole corpus (``groundset.ground.Index`` is one)."""

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` sections that best match ``query``, best first."""
        ...


class AnswerReader(Protocol):
    """Reads a section and says whether it answers a question.

    Attributes:
        name: what verdicts and reports call it.
        threshold: the probability at and above which a section answers the question.
    """

    name: str
    threshold: float

    def answers(self, items: Sequence[tuple[str, str]]) -> list[float]:
        """For each (question, section text), the probability that the section answers it."""
        ...


@dataclass(frozen=True)
class Answering:
    """A section found to answer a question, and how sure the reader was."""

    chunk: Chunk
    probability: float


class AnsweringSearch:
    """Looks for a section of the corpus that answers a question.

    Args:
        corpus: the search over every section (hybrid, in real runs).
        reader: what decides whether a found section answers the question.
        k: sections searched for.
        min_coverage: share of the question's words a section must hold to be read.
    """

    def __init__(
        self,
        corpus: CorpusSearch,
        reader: AnswerReader,
        *,
        k: int = SEARCHED,
        min_coverage: float = MIN_COVERAGE,
    ) -> None:
        self.corpus = corpus
        self.reader = reader
        self.k = k
        self.min_coverage = min_coverage

    def find(self, question: str) -> Answering | None:
        """The section that answers ``question`` most surely, or None when none does."""
        if not question.strip():
            return None
        found = {h.chunk.id: h.chunk for h in self.corpus.search(question, self.k)}
        read = [
            c for c in found.values() if question_coverage(question, c.text) >= self.min_coverage
        ]
        if not read:
            return None
        probabilities = self.reader.answers([(question, c.text) for c in read])
        best = max(zip(probabilities, read, strict=True), key=lambda pair: pair[0])
        if best[0] < self.reader.threshold:
            return None
        return Answering(best[1], best[0])
