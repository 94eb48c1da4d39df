"""Questions built on a false premise (task ``false_premise``): the answer written around the
model's quote, the filters that do not apply, and the check that the cited section contradicts
the premise (``premise_not_contradicted``).

The sections are the DRF deploy's as the ground stage cuts them (the crawled fixture site,
chunked with the bundled embedder's word pieces); the checker is the default calibrated one. The
labelled cases, written by hand from those sections (``benchmarks/false_premise_check.py``):
a premise the section contradicts (a wrong default), kept; the same section's own statement as
the premise, refused; a premise on its subject that it says nothing about, refused. The narrow
rules are tested with a reader that gives every premise one probability of being stated; the
labelled cases are read by the bundled reader model too (slow).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from groundset.corpus import Corpus
from groundset.ground import Embedder, chunk_document
from groundset.records import Chunk, Citation, Claim, GeneratorInfo, Sample, Source
from groundset.verify import DictChunkLookup, SampleVerifier, make_checker
from groundset.verify.claims import sample_claims
from groundset.verify.crosslang import make_translator
from groundset.verify.premise import PremiseCheck, carries, corrected_answer

PAGE_SIZE = "Settings > API Reference > Generic view settings > PAGE_SIZE"
PAGE_SIZE_QUOTE = "Default: `None`"
CACHE = "Throttling > Setting up the cache"
CACHE_QUOTE = "The throttle classes provided by REST framework use Django's cache backend."

#: Contradicted: the section gives `None` as the default.
WRONG_DEFAULT = "The default `PAGE_SIZE` is 50."
WRONG_DEFAULT_QUESTION = "Since the default PAGE_SIZE is 50, how do I lower it for one view?"
#: Questions on the subject that do not take that premise for granted: no premise, another
#: value, the setting not named.
NOT_CARRYING = (
    "How do I lower the page size for one view?",
    "Since the default PAGE_SIZE is 20, how do I lower it for one view?",
    "Since the default page size is 50, how do I lower it for one view?",
)
#: True: the section says so itself.
TRUE = "The throttle classes provided by REST framework use Django's cache backend."
TRUE_QUESTION = (
    "Since the throttle classes use Django's cache backend, which cache settings should I choose?"
)
#: Unrelated: the section says nothing of Celery, nor of clearing the cache.
UNRELATED = "The throttle classes require a running Celery worker."
UNRELATED_QUESTION = (
    "Since the throttle classes require a running Celery worker, how do I start one?"
)
UNSAID = "The throttle cache must be cleared after each deploy."
UNSAID_QUESTION = (
    "Since the throttle cache must be cleared after each deploy, how do I clear the cache for "
    "the throttle classes?"
)


class Always:
    """A reader that finds every premise stated with probability ``p`` (by default never), and
    remembers what it was asked."""

    name = "always"
    threshold = 0.5

    def __init__(self, p: float = 0.0) -> None:
        self.p = p
        self.asked: list[tuple[str, str]] = []

    def states(self, items: Sequence[tuple[str, str]]) -> list[float]:
        self.asked += items
        return [self.p for _ in items]


@pytest.fixture(scope="module")
def sections(drf_corpus_old: Path, embedder: Embedder) -> dict[str, Chunk]:
    """The settings and throttling sections of the DRF deploy, by heading path, as indexed."""
    chunks: dict[str, Chunk] = {}
    with Corpus(drf_corpus_old) as corpus:
        for doc in corpus.documents():
            if doc.title.split(" - ")[0] in {"Settings", "Throttling"}:
                for chunk in chunk_document(doc, embedder.count_tokens,
                                            max_tokens=embedder.max_tokens):  # fmt: skip
                    chunks.setdefault(chunk.heading_path, chunk)
    assert {PAGE_SIZE, CACHE} <= set(chunks), sorted(chunks)
    return chunks


def premised(
    question: str, premise: str, section: Chunk, quote: str, task: str = "false_premise"
) -> Sample:
    """A sample as the false_premise task writes it, correcting ``premise`` with ``quote``."""
    assert quote in section.text
    return Sample(
        id=f"{task}-{abs(hash((question, premise))) % 10**8}",
        task=task,
        language="en",
        question=question,
        premise=premise,
        answer=corrected_answer(section, premise, quote),
        claims=[Claim(text=quote, citations=[Citation(chunk_id=section.id, quote=quote)])],
        sources=[Source(chunk_id=section.id, content_sha256=section.content_sha256,
                        doc_url=section.doc_url, heading_path=section.heading_path)],
        generator=GeneratorInfo(model="m", endpoint_host="h", prompt_version="false_premise.v1",
                                temperature=0.0),
    )  # fmt: skip


def verifier(sections: dict[str, Chunk], reader: Always | None = None) -> SampleVerifier:
    lookup = DictChunkLookup(sections.values())
    return SampleVerifier(lookup, make_checker("calibrated"), "en", premise_reader=reader)


def test_the_answer_around_the_quote_states_nothing_but_the_quote(
    sections: dict[str, Chunk],
) -> None:
    section = sections[PAGE_SIZE]
    sample = premised(WRONG_DEFAULT_QUESTION, WRONG_DEFAULT, section, PAGE_SIZE_QUOTE)
    assert sample.answer == (
        f'The question assumes that "{WRONG_DEFAULT}", which the documentation contradicts. '
        f'The section "{PAGE_SIZE}" ({section.doc_url}) says: "{PAGE_SIZE_QUOTE}"'
    )
    # Only the quote is checked as a claim: the premise is checked by the premise check.
    assert [c.text for c in sample_claims(sample)] == [PAGE_SIZE_QUOTE]
    kept = verifier(sections, Always()).verify(sample)
    assert kept.accepted, kept
    # An answer that is no longer the one code writes (another premise named in it) is checked
    # sentence by sentence, "the question assumes ..." too, which the section does not support.
    edited = sample.model_copy(update={"premise": "The default `PAGE_SIZE` is 20."})
    checked = [c.text for c in sample_claims(edited)]
    assert len(checked) > 1 and any("contradicts" in c for c in checked)
    refused = verifier(sections, Always()).verify(edited)
    assert not refused.accepted, refused
    assert any(not c.supported and "contradicts" in c.text for c in refused.claims), refused


def test_the_filters_of_an_answers_own_wording_do_not_apply(sections: dict[str, Chunk]) -> None:
    # A "why" answered with no cause, and an "only" that no passage states (the premise's, named
    # in the answer to reject it): a qa sample is refused for them, a false premise is not.
    section = sections[PAGE_SIZE]
    premise = "`PAGE_SIZE` is only 50 by default."
    question = "Why is PAGE_SIZE only 50 by default?"
    qa = verifier(sections, Always()).verify(premised(question, premise, section, PAGE_SIZE_QUOTE,
                                                      task="qa"))  # fmt: skip
    assert {"no_reason_given", "unstated_qualifier"} <= set(qa.reasons), qa
    verdict = verifier(sections, Always()).verify(
        premised(question, premise, section, PAGE_SIZE_QUOTE)
    )
    assert verdict.accepted, verdict


def test_the_question_must_carry_the_premise_and_the_section_be_about_it(
    sections: dict[str, Chunk],
) -> None:
    page_size, cache = sections[PAGE_SIZE], sections[CACHE]
    reader = Always()
    check = PremiseCheck(make_checker("calibrated"), reader)
    # A question that asks about the subject without taking the premise, its wrong value above
    # all, for granted.
    for plain in NOT_CARRYING:
        assert not check.contradicted(WRONG_DEFAULT, plain, page_size.text), plain
    # A premise on the section's subject that it says nothing about: no conflict is named.
    assert not check.scores(UNSAID, UNSAID_QUESTION, cache.text).conflict
    assert not check.contradicted(UNSAID, UNSAID_QUESTION, cache.text)
    # A premise on another subject, whatever the reader says.
    assert not check.contradicted(UNRELATED, UNRELATED_QUESTION, cache.text)
    # A premise the section supports: the checker finds it supported, so names no conflict.
    assert not check.scores(TRUE, TRUE_QUESTION, cache.text).conflict
    assert not check.contradicted(TRUE, TRUE_QUESTION, cache.text)
    # None of those was worth a model call; the contradicted one is read, and kept.
    assert reader.asked == []
    assert check.contradicted(WRONG_DEFAULT, WRONG_DEFAULT_QUESTION, page_size.text)
    assert reader.asked == [(WRONG_DEFAULT, page_size.text)]
    assert check.scores(WRONG_DEFAULT, WRONG_DEFAULT_QUESTION, page_size.text).reasons == (
        "number_mismatch",
    )
    # A reader that finds the premise stated after all, or no reader, holds nothing contradicted.
    assert not PremiseCheck(make_checker("calibrated"), Always(0.5)).contradicted(
        WRONG_DEFAULT, WRONG_DEFAULT_QUESTION, page_size.text
    )
    assert not PremiseCheck(make_checker("calibrated"), None).contradicted(
        WRONG_DEFAULT, WRONG_DEFAULT_QUESTION, page_size.text
    )


def test_a_premise_the_section_does_not_contradict_is_refused(sections: dict[str, Chunk]) -> None:
    page_size, cache = sections[PAGE_SIZE], sections[CACHE]
    cases = {
        "contradicted": premised(WRONG_DEFAULT_QUESTION, WRONG_DEFAULT, page_size, PAGE_SIZE_QUOTE),
        "true": premised(TRUE_QUESTION, TRUE, cache, CACHE_QUOTE),
        "unrelated": premised(UNSAID_QUESTION, UNSAID, cache, CACHE_QUOTE),
        "no premise": premised(WRONG_DEFAULT_QUESTION, "", page_size, PAGE_SIZE_QUOTE),
    }
    judged = {label: verifier(sections, Always()).verify(s) for label, s in cases.items()}
    assert judged["contradicted"].accepted, judged["contradicted"]
    for label in ("true", "unrelated", "no premise"):
        assert judged[label].reasons == ["premise_not_contradicted"], (label, judged[label])
    # Other tasks are not held to a premise.
    qa = premised(TRUE_QUESTION, TRUE, cache, CACHE_QUOTE, task="qa")
    assert "premise_not_contradicted" not in verifier(sections, Always()).verify(qa).reasons


@pytest.mark.slow
def test_the_bundled_reader_keeps_a_contradicted_premise_and_refuses_the_others(
    sections: dict[str, Chunk],
) -> None:
    page_size, cache = sections[PAGE_SIZE], sections[CACHE]
    lookup = DictChunkLookup(sections.values())
    checking = SampleVerifier(lookup, make_checker("calibrated"), "en",
                              translator=make_translator())  # fmt: skip
    try:
        contradicted = checking.verify(
            premised(WRONG_DEFAULT_QUESTION, WRONG_DEFAULT, page_size, PAGE_SIZE_QUOTE)
        )
        true = checking.verify(premised(TRUE_QUESTION, TRUE, cache, CACHE_QUOTE))
        unrelated = checking.verify(premised(UNSAID_QUESTION, UNSAID, cache, CACHE_QUOTE))
    finally:
        checking.close()
    assert contradicted.accepted, contradicted
    assert true.reasons == ["premise_not_contradicted"], true
    assert unrelated.reasons == ["premise_not_contradicted"], unrelated


def test_a_question_that_drops_the_premises_not_does_not_carry_it() -> None:
    # From the first run of code-built premises on DRF: the premise turned "can be used" into
    # "cannot be used", and the question kept every name and most words but not the "not".
    premise = (
        "The `COMPACT_JSON` setting has been added, and cannot be used to revert this behavior "
        "if needed:"
    )
    dropped = (
        "Since the `COMPACT_JSON` setting has been added, how can developers revert this "
        "behavior if needed?"
    )
    kept = (
        "Since the `COMPACT_JSON` setting cannot be used to revert this behavior, what can I use?"
    )
    assert not carries(premise, dropped)
    assert carries(premise, kept)
    # A premise with no negation asks none of its question.
    assert carries(
        "The format can be specified using `?format=`.",
        "Since the format can be specified using ?format=, why does it not work?",
    )
