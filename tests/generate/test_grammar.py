"""The GBNF grammar made from an output schema."""

from __future__ import annotations

import pytest

from groundset.generate.grammar import schema_to_gbnf
from groundset.generate.tasks import get_task


def rules(grammar: str) -> dict[str, str]:
    return dict(line.split(" ::= ", 1) for line in grammar.splitlines())


def test_the_qa_grammar_bounds_every_string_and_list() -> None:
    schema = get_task("qa").output_model(2, False).model_json_schema()
    grammar = rules(schema_to_gbnf(schema))
    # The evidence comes first, then the question it answers, then the answer written from it.
    assert grammar["root"] == (
        '"{\\"evidence\\": " root-evidence ", \\"question\\": " root-question '
        '", \\"answer\\": " root-answer "}"'
    )
    assert grammar["root-question"] == '"\\"" char{8,150} "\\""'
    assert grammar["root-answer"] == '"\\"" char{1,300} "\\""'
    assert grammar["root-evidence"] == '"[" CitationOf2 ("," " " CitationOf2){0,2} "]"'
    assert grammar["CitationOf2-passage"] == '"1" | "2"'  # only passages that exist
    assert grammar["CitationOf2-quote"] == '"\\"" char{1,240} "\\""'
    assert all("*" not in body and "+" not in body for body in grammar.values())


def test_a_translated_sample_states_claims_each_with_its_source_text() -> None:
    schema = get_task("qa").output_model(1, True).model_json_schema()
    grammar = rules(schema_to_gbnf(schema))
    assert '\\"claims\\": " root-claims' in grammar["root"]
    claim = grammar["TranslatedClaimOf1"]
    assert claim.index("citations") < claim.index('\\"text') < claim.index("source_text")


def test_enums_and_booleans() -> None:
    schema = {
        "type": "object",
        "properties": {"kind": {"enum": ["a", "b"]}, "ok": {"type": "boolean"}},
        "required": ["kind", "ok"],
    }
    grammar = rules(schema_to_gbnf(schema))
    assert grammar["root-kind"] == '"\\"a\\"" | "\\"b\\""'
    assert grammar["root-ok"] == '"true" | "false"'


def test_optional_properties_are_refused() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": []}
    with pytest.raises(ValueError, match="every property must be required"):
        schema_to_gbnf(schema)


def test_unsupported_nodes_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        schema_to_gbnf({"type": "number"})


def test_quotes_chosen_from_each_passage_are_the_only_ones_the_grammar_allows() -> None:
    choices = (("Throttles limit requests.", 'A "quoted" word.'), ("Pagination is off.",))
    schema = get_task("qa").output_model(2, False, choices).model_json_schema()
    grammar = rules(schema_to_gbnf(schema))
    # A citation is one of two shapes: passage 1 with its sentences, or passage 2 with its own.
    assert grammar["root-evidence-item"] == "QuoteOfPassage1 | QuoteOfPassage2"
    assert grammar["QuoteOfPassage1-passage"] == '"1"'
    assert grammar["QuoteOfPassage1-quote"] == (
        '"\\"Throttles limit requests.\\"" | "\\"A \\\\\\"quoted\\\\\\" word.\\""'
    )
    assert grammar["QuoteOfPassage2-quote"] == '"\\"Pagination is off.\\""'
    assert "char" not in grammar["QuoteOfPassage1-quote"]


def test_a_passage_without_sentences_offers_no_citation() -> None:
    schema = (
        get_task("qa").output_model(2, False, ((), ("Pagination is off.",))).model_json_schema()
    )
    grammar = rules(schema_to_gbnf(schema))
    assert "QuoteOfPassage2" in grammar["root-evidence"]
    assert "QuoteOfPassage1" not in grammar
    with pytest.raises(ValueError, match="no passage has a quotable span"):
        get_task("qa").output_model(1, False, ((),))
