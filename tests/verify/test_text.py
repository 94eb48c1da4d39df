"""Text primitives on real sentences from the DRF docs and the verification fixtures."""

from __future__ import annotations

from groundset.verify.text import (
    code_identifiers,
    content_words,
    fold,
    named_terms,
    negated_stems,
    negates_only_conditions,
    numbers,
    plainly_stated,
    split_sentences,
)


def test_sentences_do_not_break_inside_code_abbreviations_or_decimals(
    pagination_sections: dict[str, str],
) -> None:
    text = pagination_sections["Pagination"]
    sentences = split_sentences(text)
    # A dotted identifier in backticks is no sentence end.
    assert any("`mixins.ListModelMixin` and `generics.GenericAPIView`" in s for s in sentences)
    assert "Pagination can be turned off by setting the pagination class to `None`." in sentences
    assert split_sentences("It grew 41.3 % in 2016, e.g. in Durban. Then it fell.") == [
        "It grew 41.3 % in 2016, e.g. in Durban.",
        "Then it fell.",
    ]


def test_paragraphs_glued_without_a_space_are_split() -> None:
    # HaluEval's knowledge joins two Wikipedia paragraphs with no space after the full stop.
    glued = (
        "Arthur's Magazine (1844–1846) was an American literary periodical published in "
        "Philadelphia in the 19th century.First for Women is a woman's magazine published by "
        "Bauer Media Group in the USA."
    )
    assert len(split_sentences(glued)) == 2
    assert split_sentences(glued)[1].startswith("First for Women")


def test_numbers_are_canonical_across_spellings() -> None:
    assert numbers("This further decreased to 41.3 % in 2016") == {"41.3", "2016"}
    assert numbers("over 260,000 volumes") == numbers("over 260000 volumes") == {"260000"}
    assert numbers("It took five years") == numbers("It took 5 years") == {"5"}
    assert numbers("DRF 3.15.2 on Python 3.12") == {"3.15.2", "3.12"}
    # "one" is mostly a pronoun, so it is no number.
    assert numbers("one of five Hollywood trades") == {"5"}


def test_code_identifiers_of_a_drf_sentence() -> None:
    sentence = (
        "To create a custom pagination serializer class, you should inherit the subclass "
        "`pagination.BasePagination`, override the `paginate_queryset(self, queryset, request, "
        "view=None)` and set PAGE_SIZE in settings.py"
    )
    found = code_identifiers(sentence)
    assert "pagination.basepagination" in found
    assert "page_size" in found
    assert "settings.py" in found
    assert "paginate_queryset(self, queryset, request, view=none)" in found


def test_named_terms_include_names_and_sentence_initial_names() -> None:
    claim = "Arnold is currently the publisher and editorial director of Media Play News."
    assert named_terms(claim) == {"arnold", "media", "play", "news"}
    # Stop words are not terms even when capitalised.
    assert "the" not in named_terms("The Oberoi Group is a hotel company")


def test_a_soft_wrapped_paragraph_is_not_split_at_its_line_breaks() -> None:
    # groundset's own demo docs, wrapped at 100 columns, as the crawl extracts them.
    from importlib import resources

    text = (resources.files("groundset") / "demo_docs" / "crawling.md").read_text("utf-8")
    sentences = split_sentences(text)
    # A line that opens with inline code continues the sentence before it...
    assert (
        "A second crawl of the same corpus sends conditional requests with the stored `ETag` "
        "and\n`Last-Modified` validators." in sentences
    )
    assert "Links to other hosts\nare counted as `offsite` and not followed." in sentences
    # ...while headings, fenced code and list items stay blocks of their own.
    assert "## Scope" in sentences
    assert any(s.startswith("```bash") and s.endswith("```") for s in sentences)
    assert split_sentences("Install it with\n- pip\n- conda") == [
        "Install it with",
        "- pip",
        "- conda",
    ]


def test_negation_names_what_it_governs() -> None:
    assert negated_stems("Pagination is not performed automatically") == {"perfo", "autom"}
    assert negated_stems("Pagination is only performed automatically") is None
    assert negated_stems("It does not only page, it also filters") is None
    assert negated_stems("you shouldn't use it") == {"use"}
    # Prose that extraction fenced (release notes) negates; inline code does not.
    assert negated_stems("```\n- Do not display view docstrings.\n```") == {
        "displ",
        "view",
        "docst",
    }
    assert negated_stems("call `if not x` first") is None
    # A negation governs its clause only, and a word it governs may be stated plainly too.
    assert negated_stems("The checker needs no model: it measures coverage") == {"model"}
    sentence = "It splits train and eval by source document, so that no document feeds both sides."
    assert "docum" in plainly_stated(sentence) and "feed" not in plainly_stated(sentence)


def test_a_negation_in_a_condition_is_told_apart() -> None:
    assert negates_only_conditions("It falls back to the defaults if no settings are defined.")
    assert negates_only_conditions("When the header is not sent, the server guesses")
    assert not negates_only_conditions("It does not check for settings.")
    assert not negates_only_conditions("If set, it does not check for settings, and no more.")
    assert not negates_only_conditions("It checks for settings.")


def test_fold_and_content_words() -> None:
    assert fold("Bolaño’s “novel” — 2666…") == 'Bolano\'s "novel" - 2666...'
    assert fold(r"ALLOWED\_VERSIONS and \*args") == "ALLOWED_VERSIONS and *args"
    assert content_words("The band's third album wasn't released") == [
        "band",
        "third",
        "album",
        "released",
    ]
