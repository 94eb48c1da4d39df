"""Questions the docs should not answer (task ``unanswerable``): the answer written around the
model's quote, the filters that do not apply, and the check turned round: the whole corpus is
searched for a section that answers the question.

Everything runs on the DRF deploy crawled and indexed with the bundled all-MiniLM-L6-v2
(``indexed_old``). The two labelled cases the issue asks for are read by the bundled reader model
(slow): a question the pagination pages answer, refused ``answerable`` with the answering section
named; and a question about a Redis client for the throttle cache, which no section answers
(the closest one, a release note on the DjangoRedis backend, does not say which to use), kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from groundset.ground import Index
from groundset.project.reverify import FreshSections
from groundset.records import Chunk, Citation, Claim, GeneratorInfo, Sample, Source
from groundset.verify import DictChunkLookup, SampleVerifier, make_checker
from groundset.verify.answerable import (
    MIN_COVERAGE,
    question_coverage,
    unanswered_answer,
)
from groundset.verify.claims import sample_claims
from groundset.verify.crosslang import make_translator

#: Answered by "Pagination > Setting the pagination style" (the DEFAULT_PAGINATION_CLASS and
#: PAGE_SIZE setting keys), by the setup of PageNumberPagination ("To enable ... globally ... set
#: the PAGE_SIZE as desired") and by the PAGE_SIZE entry of the settings page; not by the
#: pagination classes' attributes, which set it class by class.
ANSWERED = "How do I set the page size for every view of my API at once?"
ANSWERING = {
    "Pagination > Setting the pagination style",
    "Pagination > API Reference > PageNumberPagination > Setup",
    "Settings > API Reference > Generic view settings > PAGE_SIZE",
}
#: No section names a Redis client; the throttle cache section says only that Django's cache
#: backend is used, and a release note that a change was reverted for DjangoRedis.
NOT_ANSWERED = "Which Redis client library does REST framework recommend for the throttle cache?"
CACHE = "Throttling > Setting up the cache"
CACHE_QUOTE = "The throttle classes provided by REST framework use Django's cache backend."
CONCURRENCY = "Throttling > A note on concurrency"


@pytest.fixture(scope="module")
def index(indexed_old: Path) -> Iterator[Index]:
    with Index.open(indexed_old) as opened:
        yield opened


@pytest.fixture(scope="module")
def cache_section(index: Index) -> Chunk:
    return next(c for c in index.chunks() if c.heading_path == CACHE and CACHE_QUOTE in c.text)


def unanswerable(question: str, nearest: Chunk, quote: str, task: str = "unanswerable") -> Sample:
    """A sample as the unanswerable task writes it, pointing at ``nearest`` with ``quote``."""
    return Sample(
        id=f"{task}-{abs(hash(question)) % 10**8}",
        task=task,
        language="en",
        question=question,
        answer=unanswered_answer(nearest, quote),
        claims=[Claim(text=quote, citations=[Citation(chunk_id=nearest.id, quote=quote)])],
        sources=[Source(chunk_id=nearest.id, content_sha256=nearest.content_sha256,
                        doc_url=nearest.doc_url, heading_path=nearest.heading_path)],
        generator=GeneratorInfo(model="m", endpoint_host="h", prompt_version="unanswerable.v1",
                                temperature=0.0),
    )  # fmt: skip


class Rule:
    """A reader that finds the answer where a given phrase is, and remembers what it read."""

    name = "rule"
    threshold = 0.5

    def __init__(self, phrase: str) -> None:
        self.phrase = phrase
        self.read: list[str] = []

    def answers(self, items: Sequence[tuple[str, str]]) -> list[float]:
        self.read += [text for _, text in items]
        return [1.0 if self.phrase in text else 0.0 for _, text in items]


def test_the_answer_around_the_quote_states_nothing_but_the_quote(cache_section: Chunk) -> None:
    sample = unanswerable(NOT_ANSWERED, cache_section, CACHE_QUOTE)
    assert sample.answer == (
        f'The documentation does not say. The closest section, "{CACHE}" '
        f'({cache_section.doc_url}), says: "{CACHE_QUOTE}"'
    )
    # Only the quote is checked: the rest is the cited section's own heading and URL.
    assert [c.text for c in sample_claims(sample)] == [CACHE_QUOTE]
    verifier = SampleVerifier(DictChunkLookup([cache_section]), make_checker("calibrated"), "en")
    verdict = verifier.verify(sample)
    assert verdict.accepted and verdict.answered_by is None, verdict
    # A pointer at another heading is no longer the cited section's: every sentence is checked,
    # "The documentation does not say." too, which nothing supports.
    elsewhere = sample.model_copy(
        update={"answer": sample.answer.replace(CACHE, "Throttling > A note on concurrency")}
    )
    checked = [c.text for c in sample_claims(elsewhere)]
    assert "The documentation does not say." in checked
    refused = SampleVerifier(
        DictChunkLookup([cache_section]), make_checker("calibrated"), "en"
    ).verify(elsewhere)
    assert not refused.accepted and "unsupported_claim" in refused.reasons


def test_the_filters_that_read_a_question_as_answered_by_its_passages_do_not_apply(
    index: Index,
) -> None:
    # "Why", "default" and words the passage lacks: a qa sample is refused for each, a question
    # the docs should not answer is not.
    question = "Why is the default Redis timeout so low?"
    nearest = next(c for c in index.chunks() if c.heading_path == CONCURRENCY)
    quote = next(s for s in nearest.text.split("\n\n") if s.startswith("The built-in throttle"))
    verifier = SampleVerifier(DictChunkLookup([nearest]), make_checker("calibrated"), "en")
    qa = verifier.verify(unanswerable(question, nearest, quote, task="qa"))
    assert {"no_reason_given", "unstated_qualifier", "unanswerable"} <= set(qa.reasons), qa
    verdict = verifier.verify(unanswerable(question, nearest, quote))
    assert verdict.accepted, verdict


def test_the_section_that_answers_is_found_in_the_whole_corpus_and_named(
    index: Index, cache_section: Chunk
) -> None:
    sample = unanswerable(ANSWERED, cache_section, CACHE_QUOTE)
    reader = Rule("`DEFAULT_PAGINATION_CLASS` and `PAGE_SIZE` setting keys")
    verifier = SampleVerifier(index, make_checker("calibrated"), "en", reader=reader)
    verdict = verifier.verify(sample)
    assert not verdict.accepted and verdict.reasons == ["answerable"], verdict
    assert verdict.answered_by is not None
    assert verdict.answered_by.heading_path == "Pagination > Setting the pagination style"
    answering = index.get([verdict.answered_by.chunk_id])[verdict.answered_by.chunk_id]
    assert answering.content_sha256 == verdict.answered_by.content_sha256
    # It read only sections holding at least half the question's words, the cited one not among
    # them: the pagination pages, found by searching the whole index.
    assert reader.read and CACHE_QUOTE not in " ".join(reader.read)
    assert all(question_coverage(ANSWERED, text) >= MIN_COVERAGE for text in reader.read)
    # A lookup that cannot search runs with the check off, or with a search it is given.
    lookup = DictChunkLookup([cache_section])
    off = SampleVerifier(lookup, make_checker("calibrated"), "en", reader=reader).verify(sample)
    assert off.accepted and off.answered_by is None
    given = SampleVerifier(lookup, make_checker("calibrated"), "en", corpus=index, reader=reader)
    assert given.verify(sample).reasons == ["answerable"]


def test_a_refresh_reads_every_new_or_changed_section_that_holds_the_questions_words(
    index: Index,
) -> None:
    top = {h.chunk.id for h in index.search(ANSWERED, 5)}
    others = [c for c in index.chunks() if c.id not in top]
    near = next(c for c in others if question_coverage(ANSWERED, c.text) >= MIN_COVERAGE)
    far = next(c for c in others if question_coverage(ANSWERED, c.text) < MIN_COVERAGE)
    found = {h.chunk.id for h in FreshSections(index, {near.id, far.id}).search(ANSWERED, 5)}
    assert found == top | {near.id}


@pytest.mark.slow
def test_the_bundled_reader_refuses_an_answerable_question_and_keeps_an_unanswered_one(
    index: Index, cache_section: Chunk
) -> None:
    translator = make_translator()
    verifier = SampleVerifier(index, make_checker("calibrated"), "en", translator=translator)
    try:
        answered = verifier.verify(unanswerable(ANSWERED, cache_section, CACHE_QUOTE))
        kept = verifier.verify(unanswerable(NOT_ANSWERED, cache_section, CACHE_QUOTE))
    finally:
        verifier.close()
    assert answered.reasons == ["answerable"], answered
    assert answered.answered_by is not None and answered.answered_by.heading_path in ANSWERING
    assert kept.accepted and kept.answered_by is None, kept
