"""False premises built by code: one fact of a real docs sentence changed, and nothing else.

The sentences are those of the DRF and mdBook fixture sites (``tests/fixtures/sites``)."""

from __future__ import annotations

import random

import pytest

from groundset.generate.falsify import Falsified, code_names, falsifiable, falsify

PAGINATION = (
    "The pagination style may be set globally, using the `DEFAULT_PAGINATION_CLASS` and "
    "`PAGE_SIZE` setting keys. For example, to use the built-in limit/offset pagination, you "
    "would do something like this:\n    'PAGE_SIZE': 100\nNote that you need to set both the "
    "pagination class, and the page size that should be used. Both `DEFAULT_PAGINATION_CLASS` "
    "and `PAGE_SIZE` are `None` by default."
)
RENDERERS = (
    "This is enabled by default if no other `[output]` tables are defined in `book.toml`.\n"
    "If you define any `[output]` tables, then the `html` backend is not enabled by default.\n"
    "- **use-default-preprocessors:** Disable the default preprocessors (of `links` & `index`) "
    "by setting this option to `false`."
)


def one(sentence: str, section: str, names: list[str], seed: int = 0) -> Falsified:
    found = falsify(sentence, section, names, random.Random(seed))
    assert found is not None, sentence
    return found


def test_a_number_becomes_a_plausible_one_the_section_does_not_hold() -> None:
    found = one("    'PAGE_SIZE': 100", PAGINATION, [])
    # 200 is the first plausible other value and the section does not hold it.
    assert found == Falsified("'PAGE_SIZE': 200", "value", "100", "200")
    section = PAGINATION.replace("pagination class", "pagination class (200 at most)")
    assert one("    'PAGE_SIZE': 100", section, []).premise == "'PAGE_SIZE': 50"


def test_a_yes_or_no_is_turned_round() -> None:
    sentence = (
        "If you define any `[output]` tables, then the `html` backend is not enabled by default."
    )
    found = one(sentence, RENDERERS, [])
    assert found.kind == "negation" and found.original == "is not"
    assert found.premise.endswith("then the `html` backend is enabled by default.")
    assert not falsifiable("Some services have Rust pre-installed.")
    rust = "Building from source will require having Rust installed."
    assert (
        one(rust, rust, []).premise
        == "Building from source will not require having Rust installed."
    )


def test_true_and_false_swap_where_they_are_code() -> None:
    sentence = (
        "Disable the default preprocessors (of `links` & `index`) by setting this option to "
        "`false`."
    )
    kinds = {one(sentence, RENDERERS, [], seed).kind for seed in range(8)}
    assert kinds == {"boolean"}, "`links` and `index` have no other name of their shape here"
    assert one(sentence, RENDERERS, []).premise.endswith("by setting this option to `true`.")
    # Prose "true" is no value.
    assert not falsifiable("It is true that mdBook renders Markdown into a book.")


def test_a_code_name_becomes_another_of_its_shape_from_the_other_passages() -> None:
    sentence = "Both `DEFAULT_PAGINATION_CLASS` and `PAGE_SIZE` are `None` by default."
    others = code_names(["Set `DEFAULT_THROTTLE_RATES` or `ScopedRateThrottle`, see `views.py`."])
    assert others == ["DEFAULT_THROTTLE_RATES", "ScopedRateThrottle", "views.py"]
    found = one(sentence, PAGINATION, others)
    # A constant is replaced by a constant, never by a class or a file.
    assert found.kind == "name" and found.replacement == "DEFAULT_THROTTLE_RATES"
    assert found.premise.count("`DEFAULT_THROTTLE_RATES`") == 1
    # A name the section itself uses is no false replacement.
    assert falsify(sentence, PAGINATION, ["PAGE_SIZE"], random.Random(0)) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "Note that you need to set both the pagination class, and the page size.",
        "mdBook comes with a default theme and all the resource files needed.",
        "See [the 2.1 release notes](https://example.org/v3/100) for details.",
        "New in Python 3.12 and in 2024.",
        "For more information on proper usage of HTTP status codes see [RFC 2616](https://www."
        "w3.org/Protocols/rfc2616/rfc2616-sec10.html) and [RFC 6585](https://tools.ietf.org/html/"
        "rfc6585).",
        "Fixed in #1234, for version 3.",
    ],
)
def test_a_sentence_with_no_fact_to_change_gets_no_premise(sentence: str) -> None:
    assert not falsifiable(sentence)
    assert falsify(sentence, sentence, ["OTHER_NAME"], random.Random(0)) is None


def test_the_change_is_drawn_from_the_seed() -> None:
    sentence = "If `True`, at most 5 requests can be made; the default does not change."
    drawn = [one(sentence, sentence, [], seed) for seed in range(12)]
    assert drawn == [one(sentence, sentence, [], seed) for seed in range(12)]
    assert {d.kind for d in drawn} == {"value", "boolean", "negation"}
