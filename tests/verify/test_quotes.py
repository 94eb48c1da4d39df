"""Quote anchoring against a real DRF chunk (Markdown with code ticks and curly quotes)."""

from __future__ import annotations

import pytest

from groundset.verify import find_quote, normalise_quote


@pytest.fixture(scope="module")
def setting_style(pagination_sections: dict[str, str]) -> str:
    return pagination_sections["Setting the pagination style"]


def test_normalisation_removes_what_renderings_change() -> None:
    assert normalise_quote("Both `DEFAULT_PAGINATION_CLASS`  and\n**PAGE_SIZE**") == (
        "both default_pagination_class and page_size"
    )
    assert normalise_quote("data that’s split, with “Previous/Next” links.") == (
        "data thats split, with previous/next links"
    )
    assert normalise_quote("see [the guide](https://example.org/guide) now") == "see the guide now"


def test_exact_quote_found_despite_markdown_case_and_spacing(setting_style: str) -> None:
    assert find_quote(
        "both DEFAULT_PAGINATION_CLASS and PAGE_SIZE are None by default", setting_style
    )
    assert find_quote(
        "“The pagination style may be set globally, using the DEFAULT_PAGINATION_CLASS”",
        setting_style,
    )


def test_small_differences_are_tolerated(setting_style: str) -> None:
    # One misspelt word and one changed inflection in a 17-word quote.
    assert find_quote(
        "you need to set both the pagination clas, and the page sizes that should be used",
        setting_style,
    )


def test_a_changed_fact_is_not_tolerated(setting_style: str) -> None:
    assert not find_quote(
        "Both DEFAULT_PAGINATION_CLASS and PAGE_SIZE are 100 by default", setting_style
    )
    assert not find_quote("The pagination style may only be set per view", setting_style)
    # No fuzziness at all when the tolerance is zero.
    assert not find_quote(
        "you need to set both the pagination clas, and the page size", setting_style, 0.0
    )


def test_elided_quotes_must_keep_their_order(setting_style: str) -> None:
    assert find_quote(
        "The pagination style may be set globally ... are None by default", setting_style
    )
    assert not find_quote(
        "are None by default ... The pagination style may be set globally", setting_style
    )


def test_empty_quote_is_not_found(setting_style: str) -> None:
    assert not find_quote("  ", setting_style)
    assert not find_quote("...", setting_style)
