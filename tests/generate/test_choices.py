"""The spans a citation may quote: exact substrings of the passage, its sentences and lines."""

from __future__ import annotations

from pathlib import Path

from groundset.corpus import Corpus
from groundset.generate.choices import MAX_CHOICE_CHARS, quote_choices
from groundset.records import Chunk


def test_every_choice_of_every_drf_section_is_verbatim(drf_passage_chunks: list[Chunk]) -> None:
    for chunk in drf_passage_chunks:
        choices = quote_choices(chunk.text, heading_path=chunk.heading_path)
        assert choices, chunk.heading_path
        assert all(c in chunk.text for c in choices)
        assert all(len(c) <= MAX_CHOICE_CHARS and len(c.split()) >= 3 for c in choices)
        assert len(set(choices)) == len(choices)


def test_a_crawled_page_gives_whole_wrapped_sentences_and_code_lines(drf_corpus_old: Path) -> None:
    # The page as the crawl stored it: its paragraphs are wrapped at 80 columns, as the DRF
    # sources are, and a wrapped sentence is one choice, its line breaks kept (verbatim).
    with Corpus(drf_corpus_old) as corpus:
        page = next(
            d for d in corpus.documents() if d.url.endswith("/topics/browser-enhancements/")
        )
    choices = quote_choices(page.markdown, max_choices=100)
    assert all(c in page.markdown for c in choices)
    assert (
        "REST framework can take `?format=json` style URL parameters, which can be a\n"
        "useful shortcut for determining which content type should be returned from\n"
        "the view." in choices
    )
    assert "METHOD_OVERRIDE_HEADER = 'HTTP_X_HTTP_METHOD_OVERRIDE'" in choices
    assert not any(c.startswith(("#", "```")) for c in choices)


def test_long_sentences_are_offered_as_a_verbatim_prefix_and_choices_are_bounded() -> None:
    sentence = "The " + " ".join(f"word{i}" for i in range(80)) + "."
    text = "\n\n".join([sentence] + [f"Sentence number {i} is here." for i in range(60)])
    choices = quote_choices(text, max_choices=10)
    assert len(choices) == 10
    assert choices[0] == choices[0].rstrip() and len(choices[0]) <= MAX_CHOICE_CHARS
    assert sentence.startswith(choices[0]) and not choices[0].endswith(" ")
    assert choices[1] == "Sentence number 0 is here."
