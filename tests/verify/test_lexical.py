"""The lexical checker on real sentences: DRF docs chunks and WiCE claims with web evidence."""

from __future__ import annotations

from typing import Any

import pytest

from groundset.verify import LexicalChecker, WordOverlapChecker

CHECKER = LexicalChecker()


def check(claim: str, evidence: str) -> Any:
    return CHECKER.check([(claim, evidence)])[0]


@pytest.fixture(scope="module")
def by_id(wice_rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in wice_rows}


def test_paraphrase_of_a_chunk_is_supported_with_its_sentence(
    pagination_sections: dict[str, str],
) -> None:
    result = check(
        "You can turn pagination off by setting the pagination class to None.",
        pagination_sections["Pagination"],
    )
    assert result.supported
    assert result.reasons == ()
    assert (
        result.evidence == "Pagination can be turned off by setting the pagination class to `None`."
    )


def test_a_changed_number_is_a_number_mismatch(pagination_sections: dict[str, str]) -> None:
    evidence = pagination_sections["Setting the pagination style"]
    assert check(
        "Both DEFAULT_PAGINATION_CLASS and PAGE_SIZE are None by default.", evidence
    ).supported
    result = check("Both DEFAULT_PAGINATION_CLASS and PAGE_SIZE are 100 by default.", evidence)
    assert not result.supported
    assert result.reasons == ("number_mismatch",)
    assert result.certain
    # The plain baseline is fooled: every other word is there.
    assert (
        WordOverlapChecker()
        .check([("Both DEFAULT_PAGINATION_CLASS and PAGE_SIZE are 100 by default.", evidence)])[0]
        .score
        > 0.85
    )


def test_an_identifier_or_name_absent_from_the_chunk_is_a_term_missing(
    pagination_sections: dict[str, str],
) -> None:
    evidence = pagination_sections["Setting the pagination style"]
    result = check("Both DEFAULT_PAGINATION_CLASS and MAX_PAGE_SIZE are None by default.", evidence)
    assert result.reasons == ("term_missing",)
    flask = check(
        "In Flask, pagination can be turned off by setting the pagination class to None.",
        evidence,
    )
    assert "term_missing" in flask.reasons


def test_a_negated_claim_is_a_negation_mismatch(pagination_sections: dict[str, str]) -> None:
    result = check(
        "Pagination cannot be turned off by setting the pagination class to None.",
        pagination_sections["Pagination"],
    )
    assert result.reasons == ("negation_mismatch",)


def test_a_claim_affirming_what_the_docs_negate_is_a_negation_mismatch(
    pagination_sections: dict[str, str],
) -> None:
    # The docs: "... and does not allow the client to arbitrarily index into the result set."
    evidence = pagination_sections["API Reference"]
    assert "does not allow the client to arbitrarily index" in evidence
    result = check(
        "Cursor based pagination allows the client to arbitrarily index into the result set.",
        evidence,
    )
    assert result.reasons == ("negation_mismatch",)


def test_a_negated_condition_restating_an_otherwise_is_no_negation_mismatch(
    settings_sections: dict[str, str],
) -> None:
    evidence = settings_sections["Accessing settings"]
    assert "will check for any user-defined settings, and otherwise fall back" in evidence
    claim = "It checks for any user-defined settings, and falls back to default values if no"
    restated = check(f"{claim} settings are defined.", evidence)
    assert "negation_mismatch" not in restated.reasons
    # Without the contrast the polarity check still holds.
    flipped = check(
        "The api_settings object does not check for any user-defined settings.", evidence
    )
    assert "negation_mismatch" in flipped.reasons


def test_wice_claim_with_numbers_the_page_lacks(by_id: dict[str, dict[str, Any]]) -> None:
    row = by_id["dev03716"]  # "Gill has won 21 awards from 44 nominations." (label 0)
    assert row["label"] == 0
    result = check(row["claim"], row["evidence"])
    assert result.reasons == ("number_mismatch",)


def test_wice_claim_with_a_name_the_page_lacks(by_id: dict[str, dict[str, Any]]) -> None:
    row = by_id["dev03075"]  # "... Harris left the band and Dennis Whitted took over ..." (label 0)
    assert row["label"] == 0
    assert "term_missing" in check(row["claim"], row["evidence"]).reasons


def test_supported_wice_claim_finds_its_window_in_a_whole_web_page(
    by_id: dict[str, dict[str, Any]],
) -> None:
    row = by_id["dev01190"]  # Todd Watson, head coach of the Odessa Jackalopes since 2019.
    assert row["label"] == 1
    assert len(row["evidence"]) > 2000
    result = check(row["claim"], row["evidence"])
    assert result.supported
    assert "Todd Watson" in result.evidence
    assert len(result.evidence) < len(row["evidence"]) / 2


def test_a_claim_without_content_words_is_not_supported() -> None:
    result = check("It is.", "It is what it is.")
    assert not result.supported
    assert result.score == 0.0


def test_fewer_hard_checks_only_to_measure_them(pagination_sections: dict[str, str]) -> None:
    evidence = pagination_sections["Setting the pagination style"]
    claim = "Both DEFAULT_PAGINATION_CLASS and PAGE_SIZE are 100 by default."
    coverage_only = LexicalChecker(hard_checks=()).check([(claim, evidence)])[0]
    assert coverage_only.supported
    assert coverage_only.score > check(claim, evidence).score
