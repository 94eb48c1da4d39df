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
    assert grammar["root"] == (
        '"{\\"question\\": " root-question ", \\"answer\\": " root-answer '
        '", \\"claims\\": " root-claims "}"'
    )
    assert grammar["root-question"] == '"\\"" char{8,150} "\\""'
    assert grammar["root-answer"] == '"\\"" char{1,300} "\\""'
    assert grammar["root-claims"] == '"[" ClaimOf2 ("," " " ClaimOf2){0,2} "]"'
    assert grammar["CitationOf2-passage"] == '"1" | "2"'  # only passages that exist
    assert grammar["CitationOf2-quote"] == '"\\"" char{1,120} "\\""'
    assert all("*" not in body and "+" not in body for body in grammar.values())


def test_a_translated_claim_must_carry_source_text() -> None:
    schema = get_task("qa").output_model(1, True).model_json_schema()
    grammar = rules(schema_to_gbnf(schema))
    assert '\\"source_text\\": " TranslatedClaimOf1-source-text' in grammar["TranslatedClaimOf1"]


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
