"""Questions that need two sections (task ``multihop``): the ``single_hop`` check, on labelled
cases of real DRF text, read from the DRF deploy crawled and indexed with the bundled
all-MiniLM-L6-v2 (``indexed_old``), judged by the default (calibrated) checker.

- a "multi-hop" sample that quotes the pagination guide and the ``PAGE_SIZE`` setting, whose
  answer the pagination guide's "Setting the pagination style" states whole (both setting keys,
  and that both are ``None`` by default): refused ``single_hop``, that section named;
- a real two-section sample: what ``DEFAULT_THROTTLE_CLASSES`` determines (the settings page
  only) and which backend the throttle classes use (the throttling guide's cache section only):
  kept;
- a sample whose two quotes come from one section: refused ``single_hop``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from groundset.ground import Index
from groundset.records import Chunk, Citation, Claim, GeneratorInfo, Sample, Source
from groundset.verify import SampleVerifier, make_checker
from groundset.verify.multihop import single_hop

PAGINATION = "Pagination > Setting the pagination style"
PAGINATION_QUOTE = (
    "The pagination style may be set globally, using the `DEFAULT_PAGINATION_CLASS` and "
    "`PAGE_SIZE` setting keys."
)
PAGE_SIZE = "Settings > API Reference > Generic view settings > PAGE_SIZE"
PAGE_SIZE_QUOTE = "The default page size to use for pagination."
THROTTLES = "Settings > API Reference > API policy settings > DEFAULT_THROTTLE_CLASSES"
THROTTLES_QUOTE = (
    "A list or tuple of throttle classes, that determines the default set of throttles checked "
    "at the start of a view."
)
CACHE = "Throttling > Setting up the cache"
CACHE_QUOTE = "The throttle classes provided by REST framework use Django's cache backend."


@pytest.fixture(scope="module")
def index(indexed_old: Path) -> Iterator[Index]:
    with Index.open(indexed_old) as opened:
        yield opened


def section(index: Index, heading: str, quote: str) -> Chunk:
    return next(c for c in index.chunks() if c.heading_path == heading and quote in c.text)


def multihop(question: str, answer: str, quoted: list[tuple[Chunk, str]]) -> Sample:
    """A sample as the multihop task writes it: each quote a claim citing its own section."""
    sections = list({c.id: c for c, _ in quoted}.values())
    return Sample(
        id=f"multihop-{abs(hash(question)) % 10**8}",
        task="multihop",
        language="en",
        question=question,
        answer=answer,
        claims=[Claim(text=q, citations=[Citation(chunk_id=c.id, quote=q)]) for c, q in quoted],
        sources=[Source(chunk_id=c.id, content_sha256=c.content_sha256, doc_url=c.doc_url,
                        heading_path=c.heading_path) for c in sections],
        generator=GeneratorInfo(model="m", endpoint_host="h", prompt_version="multihop.v1",
                                temperature=0.0),
    )  # fmt: skip


def test_a_single_hop_multihop_sample_is_refused_naming_the_section_that_answers_alone(
    index: Index,
) -> None:
    pagination = section(index, PAGINATION, PAGINATION_QUOTE)
    page_size = section(index, PAGE_SIZE, PAGE_SIZE_QUOTE)
    sample = multihop(
        "Which setting keys set the pagination style globally, and what are they by default?",
        "The pagination style is set globally with the `DEFAULT_PAGINATION_CLASS` and "
        "`PAGE_SIZE` setting keys, and both are `None` by default.",
        [(pagination, PAGINATION_QUOTE), (page_size, PAGE_SIZE_QUOTE)],
    )
    verdict = SampleVerifier(index, make_checker("calibrated"), "en").verify(sample)
    # Every claim holds: the sample is refused for needing one section only.
    assert all(c.supported for c in verdict.claims), verdict.claims
    assert verdict.reasons == ["single_hop"] and not verdict.accepted
    assert verdict.answered_by is not None
    assert verdict.answered_by.chunk_id == pagination.id
    assert verdict.answered_by.heading_path == PAGINATION


def test_a_question_that_needs_two_pages_is_kept(index: Index) -> None:
    throttles = section(index, THROTTLES, THROTTLES_QUOTE)
    cache = section(index, CACHE, CACHE_QUOTE)
    assert throttles.doc_url != cache.doc_url
    sample = multihop(
        "What does the DEFAULT_THROTTLE_CLASSES setting determine, and which backend do the "
        "throttle classes provided by REST framework use?",
        "`DEFAULT_THROTTLE_CLASSES` determines the default set of throttles checked at the "
        "start of a view, and the throttle classes provided by REST framework use Django's "
        "cache backend.",
        [(throttles, THROTTLES_QUOTE), (cache, CACHE_QUOTE)],
    )
    checker = make_checker("calibrated")
    verdict = SampleVerifier(index, checker, "en").verify(sample)
    assert verdict.accepted, verdict
    assert verdict.answered_by is None
    # Each clause rests on its own section: neither section alone supports both.
    each = checker.check([
        (clause, chunk.text)
        for chunk in (throttles, cache)
        for clause in (
            "`DEFAULT_THROTTLE_CLASSES` determines the default set of throttles checked at the "
            "start of a view",
            "the throttle classes provided by REST framework use Django's cache backend.",
        )
    ])  # fmt: skip
    assert [s.supported for s in each] == [True, False, False, True]


def test_two_quotes_of_one_section_are_a_single_hop(index: Index) -> None:
    cache = section(index, CACHE, CACHE_QUOTE)
    other = "The default value of `LocMemCache` backend should be okay for simple setups."
    sample = multihop(
        "Which cache backend do the throttle classes use, and is LocMemCache enough?",
        "The throttle classes use Django's cache backend, and the default `LocMemCache` "
        "backend should be okay for simple setups.",
        [(cache, CACHE_QUOTE), (cache, other)],
    )
    hop = single_hop(sample, index.get([cache.id]), make_checker("calibrated"))
    assert hop is not None and hop.section is not None and hop.section.chunk_id == cache.id
    verdict = SampleVerifier(index, make_checker("calibrated"), "en").verify(sample)
    assert verdict.reasons == ["single_hop"]


def test_other_tasks_are_not_held_to_two_sections(index: Index) -> None:
    pagination = section(index, PAGINATION, PAGINATION_QUOTE)
    page_size = section(index, PAGE_SIZE, PAGE_SIZE_QUOTE)
    sample = multihop(
        "Which setting keys set the pagination style globally, and what are they by default?",
        "The pagination style is set globally with the `DEFAULT_PAGINATION_CLASS` and "
        "`PAGE_SIZE` setting keys, and both are `None` by default.",
        [(pagination, PAGINATION_QUOTE), (page_size, PAGE_SIZE_QUOTE)],
    )
    qa = sample.model_copy(update={"task": "qa"})
    assert SampleVerifier(index, make_checker("calibrated"), "en").verify(qa).accepted
