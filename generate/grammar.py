"""A GBNF grammar from a JSON schema, for endpoints that constrain output only by grammar.

llama.cpp's ``/v1/completions`` ignores ``response_format`` but honours ``grammar``. The grammar
fixes the key order and the separators of ``json.dumps`` (``", "`` and ``": "``), so the few-shot
examples in a prompt look exactly like what the model must write, and it bounds every string and
array: unbounded, a small model runs on to ``max_tokens``.

Supported: objects (every property required, in order), arrays with ``maxItems`` and fixed
``prefixItems`` (a tuple: how ``multihop`` holds its first quote to one passage and its second
to another), strings with
``maxLength``, ``enum`` and ``const`` of strings or integers, integers with a small
``minimum``..``maximum`` range, booleans, ``anyOf`` / ``oneOf`` (alternatives: how a citation
ties a passage number to the sentences of that passage) and ``$ref`` into ``$defs``.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["schema_to_gbnf"]

_STRING_CHAR = r'[^"\\\x00-\x1f] | "\\" ["\\/bfnrt]'
_DEFAULT_MAX_LENGTH = 200
_DEFAULT_MAX_ITEMS = 5


def schema_to_gbnf(schema: dict[str, Any]) -> str:
    """The GBNF grammar of the JSON documents that ``schema`` accepts (see module doc).

    Raises:
        ValueError: the schema uses something outside the supported subset.
    """
    rules: dict[str, str] = {"char": _STRING_CHAR}
    root = _Builder(schema, rules).rule(schema, "root")
    if root != "root":
        rules["root"] = root
    return "\n".join(f"{name} ::= {body}" for name, body in rules.items()) + "\n"


def _literal(value: object) -> str:
    return json.dumps(json.dumps(value, ensure_ascii=False), ensure_ascii=False)


class _Builder:
    def __init__(self, schema: dict[str, Any], rules: dict[str, str]) -> None:
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self.rules = rules

    def rule(self, node: dict[str, Any], name: str) -> str:
        """Add the rule for ``node`` named after ``name``; return the name to refer to it by."""
        name = re.sub(r"[^a-zA-Z0-9-]", "-", name)
        if "$ref" in node:
            ref = node["$ref"].rsplit("/", 1)[-1]
            ref_name = re.sub(r"[^a-zA-Z0-9-]", "-", ref)
            if ref_name not in self.rules:
                self.rules[ref_name] = ""  # reserve the name: schemas may refer to themselves
                self.rules[ref_name] = self.body(self.defs[ref], ref_name)
            return ref_name
        self.rules[name] = self.body(node, name)
        return name

    def body(self, node: dict[str, Any], name: str) -> str:
        if "const" in node:
            return _literal(node["const"])
        if "enum" in node:
            return " | ".join(_literal(v) for v in node["enum"])
        alternatives = node.get("anyOf") or node.get("oneOf")
        if alternatives:
            names = [self.rule(alt, f"{name}-{i}") for i, alt in enumerate(alternatives, start=1)]
            return " | ".join(names)
        kind = node.get("type")
        if kind == "object":
            return self.object(node, name)
        if kind == "array" and "prefixItems" in node:
            if "items" in node:
                raise ValueError(f"prefixItems followed by more items in {name}")
            fixed = [self.rule(n, f"{name}-{i}") for i, n in enumerate(node["prefixItems"], 1)]
            return '"[" ' + ' ", " '.join(fixed) + ' "]"'
        if kind == "array":
            item = self.rule(node["items"], f"{name}-item")
            low = int(node.get("minItems", 0))
            high = int(node.get("maxItems", _DEFAULT_MAX_ITEMS))
            rest = f'("," " " {item}){{{max(low - 1, 0)},{high - 1}}}'
            items = f"{item} {rest}" if low >= 1 else f"({item} {rest})?"
            return f'"[" {items} "]"'
        if kind == "string":
            low = int(node.get("minLength", 0))
            high = int(node.get("maxLength", _DEFAULT_MAX_LENGTH))
            return f'"\\"" char{{{low},{high}}} "\\""'
        if kind == "integer" and "minimum" in node and "maximum" in node:
            values = range(int(node["minimum"]), int(node["maximum"]) + 1)
            return " | ".join(f'"{v}"' for v in values)
        if kind == "boolean":
            return '"true" | "false"'
        raise ValueError(f"unsupported JSON schema node in {name}: {node}")

    def object(self, node: dict[str, Any], name: str) -> str:
        props: dict[str, Any] = node.get("properties", {})
        missing = set(props) - set(node.get("required", []))
        if missing:
            raise ValueError(f"every property must be required, not {sorted(missing)} in {name}")
        parts = []
        for i, (key, sub) in enumerate(props.items()):
            opening = ("{" if i == 0 else ", ") + json.dumps(key) + ": "
            parts.append(f"{_literal_text(opening)} {self.rule(sub, f'{name}-{key}')}")
        return " ".join(parts) + ' "}"' if parts else '"{}"'


def _literal_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
