"""Sample filters on real text: DRF paragraphs, and real German and Japanese articles."""

from __future__ import annotations

from typing import Any

from groundset.records import Sample
from groundset.verify import (
    Deduplicator,
    FilterOptions,
    copies_source,
    detect_language,
    is_language,
    length_problem,
    unanswerable,
)
from groundset.verify.claims import sample_text

GERMAN_ARTICLE = "57b4dafd18cfd0531b69f81e87158648227c673ef159f8d8c87d34e34bdb21f2"
JAPANESE_ARTICLE = "85439e26c41c75901820d01a13e8cea7836abb58635ea3986f71a163ab0311d3"
OPTIONS = FilterOptions()


def test_exact_and_near_duplicates_name_the_first_kept(pagination_sections: dict[str, str]) -> None:
    dedup = Deduplicator(threshold=0.8)
    first = (
        "How do I turn off pagination?\n"
        "Pagination can be turned off by setting the pagination class to None."
    )
    dedup.add("s1", first)
    assert dedup.duplicate_of(first) == "s1"
    # Same words, other case and spacing: an exact duplicate after normalising.
    assert dedup.duplicate_of(first.upper().replace(" ", "  ")) == "s1"
    near = (
        "How do I turn off pagination?\n"
        "Pagination can be turned off by setting the pagination class to None, as shown."
    )
    assert dedup.duplicate_of(near) == "s1"
    other = (
        "What does PAGE_SIZE default to?\n" + pagination_sections["Setting the pagination style"]
    )
    assert dedup.duplicate_of(other) is None


def test_an_answer_copying_a_passage_is_caught(pagination_sections: dict[str, str]) -> None:
    passage = pagination_sections["Setting the pagination style"]
    assert copies_source(passage.replace("\n\n", " "), [passage], OPTIONS)
    # One paragraph of it answers "what must be set?" in the docs' words: a quote, kept (readers
    # kept 8 of 11 such answers of the kept set; each reproduced at most 43% of its passage).
    quoted = passage.split("\n\n")[1]  # "Note that you need to set both ... None by default."
    assert not copies_source(quoted, [passage], OPTIONS)
    assert copies_source(quoted, [passage], OPTIONS.model_copy(update={"copy_passage_share": 0}))
    written = (
        "You have to configure two settings, the class and the page size, because neither has "
        "a value until you give it one."
    )
    assert not copies_source(written, [passage], OPTIONS)
    # A short quoted answer is an answer, not a copy.
    assert not copies_source("Both are None by default.", [passage], OPTIONS)


def test_language_of_real_articles(
    articles: dict[str, Any], pagination_sections: dict[str, str]
) -> None:
    german = articles[GERMAN_ARTICLE]["articleBody"][:400]
    japanese = articles[JAPANESE_ARTICLE]["articleBody"][:200]
    english = pagination_sections["Pagination"]
    assert is_language(german, "en") is False
    assert is_language(german, "de") is True
    assert is_language(japanese, "ja") is True
    assert is_language(english, "en-GB") is True
    assert is_language(english, "de") is False
    # Code and one-word answers are too little to judge.
    assert detect_language("Set `PAGE_SIZE` and DEFAULT_PAGINATION_CLASS in settings.py") is None
    assert is_language("Delhi", "en") is None


def test_length_bounds() -> None:
    assert length_problem("What does PAGE_SIZE default to?", "None by default.", OPTIONS) is None
    assert length_problem("PAGE_SIZE?", "None by default.", OPTIONS) == "too_short"
    assert length_problem("What does PAGE_SIZE default to?", "None.", OPTIONS) == "too_short"
    long_answer = " ".join(["pagination"] * 401)
    assert length_problem("What does PAGE_SIZE default to?", long_answer, OPTIONS) == "too_long"


def test_question_the_passages_cannot_answer(pagination_sections: dict[str, str]) -> None:
    passages = [pagination_sections["Pagination"]]
    assert not unanswerable("How do I turn pagination off?", passages, OPTIONS)
    assert unanswerable("Which throttle classes limit anonymous users per day?", passages, OPTIONS)


def test_an_answer_that_only_restates_its_question_is_caught() -> None:
    from groundset.verify.filters import restates_question

    options = FilterOptions()
    # Echoes the local model wrote about groundset's demo docs.
    assert restates_question(
        "How do I verify that every cited quote occurs in the cited chunk?",
        "Verify that every cited quote occurs in the cited chunk.",
        options,
    )
    assert restates_question(
        "Why is the crawl keeping to the host and path prefix of its start URLs?",
        "The crawl starts with the host and path prefix of its start URLs.",
        options,
    )
    # A short answer whose news is a value, or a few words, is an answer.
    assert not restates_question(
        "What do DEFAULT_PAGINATION_CLASS and PAGE_SIZE default to?",
        "Both DEFAULT_PAGINATION_CLASS and PAGE_SIZE are None by default.",
        options,
    )
    assert not restates_question(
        "How do I turn pagination off?",
        "Set the pagination class to None on the view.",
        options,
    )


def test_an_answer_that_announces_what_it_does_not_hold_is_incomplete() -> None:
    from groundset.verify.filters import incomplete_answer

    # Kept answers of a 200-sample DRF run with the local model, each supported word for word.
    for answer in (
        "You might override various methods on the view class. For example.",
        "The following methods are now available for overriding...",
        "Add the following lines to `tutorial/settings.py` to enable it.",
        "The default behavior of an HTML error view when an exception is raised is to render"
        " using one of the following methods, by order of precedence.",
        "To add pagination, you need to modify your `tutorial/settings.py` file slightly. Add the"
        " following setting:",
        # Kept by the demo: a sentence the model left open.
        "It crawls a documentation site into clean Markdown, indexes the pages in Chroma, has an"
        " LLM write samples grounded in retrieved passages, ",
    ):
        assert incomplete_answer(answer), answer
    # Answers that hold what they announce, or announce nothing.
    for answer in (
        "Use the following setting: DEFAULT_PAGINATION_CLASS.",
        "REST framework selects the renderer listed first in the `renderer_classes` list.",
        "This release drops Django 1.5 and 1.6: Django 1.7, 1.8 or 1.9 are now required.",
        "Set PAGE_SIZE to 10.",
    ):
        assert not incomplete_answer(answer), answer


def test_a_why_answered_without_a_reason_and_a_question_about_this_notebook_are_caught() -> None:
    from groundset.verify.filters import gives_no_reason, vague_question

    # Samples the bundled models wrote on the fixture sites, kept by the checker, refused by
    # both readers of the kept set (benchmarks/data/kept_set.jsonl).
    assert gives_no_reason(
        "Why does the old map have been modified?", "The old map was never modified."
    )
    assert gives_no_reason(
        "Why are there so many platinum sponsors?",
        "They make a huge substantial contribution to the future development of Django REST"
        " framework.",
    )
    assert not gives_no_reason(
        "Why should I use strict iteration with Immer?",
        "Use it if you specifically need to track symbol or non-enumerable properties.",
    )
    assert not gives_no_reason(
        "What does strict iteration do?", "It also copies symbols and non-enumerable properties."
    )
    # The demo's: a default's own condition is no reason; a condition with a cause is.
    assert gives_no_reason(
        "Why does the crawl obey robots.txt by default?",
        "The crawl obeys robots.txt unless told otherwise.",
    )
    assert not gives_no_reason(
        "Why is the cache off?", "It is off unless you set it otherwise, because it is slow."
    )
    assert vague_question("What is the version of mapclassify that was used in this notebook?")
    assert vague_question("What is the purpose of this error response?")
    assert not vague_question("What does this setting default to in REST framework?")


def test_a_default_or_only_that_no_passage_states_is_caught() -> None:
    from benchmark_modules import load_benchmark

    from groundset.verify.filters import unstated_qualifier

    # The httpx docs (issue on the kept set): every word in the passage but the claim's.
    comment = (
        '# The HTTP version to use for the request: either "HTTP/1.0", "HTTP/1.1", or "HTTP/2".'
    )
    assert (
        unstated_qualifier(
            "What is the default HTTP version for the client?",
            "The default HTTP version for the client is HTTP/1.0.",
            [comment],
        )
        == "default"
    )
    assert unstated_qualifier("Which version?", "It is HTTP/1.0.", [comment]) is None
    # Stated by a signature, or by a condition.
    signature = "JenksCaspallSampled(y, k=5, pct=0.1)\n\nJenks Caspall Map Classification."
    assert unstated_qualifier("What is the default pct?", "pct = 0.1", [signature]) is None
    fallback = "If no renderer is given, the JSON renderer is used."
    assert unstated_qualifier("Default renderer?", "JSON is the default.", [fallback]) is None
    assert unstated_qualifier("Who may?", "Only admins may.", ["Admins may edit it."]) == "only"

    # On the pipeline's own labelled samples: never a sample both readers keep.
    rows = load_benchmark("kept_set").load()
    texts = [(sample_text(Sample.model_validate(r["sample"])), r) for r in rows]
    refused = [
        (question, r)
        for (question, answer), r in texts
        if unstated_qualifier(question, answer, [c["text"] for c in r["chunks"]])
    ]
    assert len(refused) >= 8
    assert not [question for question, r in refused if r["keep"]]
