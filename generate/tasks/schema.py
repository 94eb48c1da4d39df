"""``schema``: records that follow a user's JSON schema, filled from the passages, with claims."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import jsonschema
from pydantic import AfterValidator, WithJsonSchema, create_model

from groundset.errors import UsageError
from groundset.generate.client import Api
from groundset.generate.grammar import schema_to_gbnf
from groundset.generate.passages import PassagePlan, PassageSource, even_plan
from groundset.generate.prompts import PromptTemplate
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks.base import Choices, TaskOutput, evidence_fields
from groundset.records import Chunk

__all__ = ["SchemaTask"]

#: Output models kept built: each sample's passages give it a constrained model of its own.
_MODELS_KEPT = 64


class SchemaTask:
    """One record per sample, following the JSON schema named by ``settings.record_schema``.

    The schema must use what :mod:`groundset.generate.grammar` supports (every property
    required, strings and lists bounded), since the local model is held to it by a grammar.

    Raises:
        UsageError: no schema is configured, or it is unreadable, invalid or unsupported.
    """

    name = "schema"

    def __init__(self, settings: GenerateSettings, api: Api = "chat") -> None:
        del api  # one prompt serves both APIs
        self.settings = settings
        self.template = PromptTemplate.load("schema.v3")
        self.record_schema = _load_schema(settings.record_schema)
        self._models: dict[tuple[int, bool, Choices], type[TaskOutput]] = {}

    def plan(self, source: PassageSource, count: int) -> list[PassagePlan]:
        """Passages covering the corpus evenly, each with related ones."""
        return even_plan(source, count, self.settings)

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """``{evidence, record}``, the record checked against the user's schema.

        The evidence comes first, the record filled from it after.
        """
        key = (n_passages, translated, choices)
        if key not in self._models:
            if len(self._models) >= _MODELS_KEPT:
                self._models.clear()
            check = AfterValidator(partial(_follows, self.record_schema))
            record = Annotated[dict[str, Any], check, WithJsonSchema(self.record_schema)]
            self._models[key] = create_model(
                f"SchemaOutput{n_passages}{'T' if translated else ''}",
                __base__=TaskOutput,
                **evidence_fields(n_passages, translated, choices),
                record=(record, ...),
            )
        return self._models[key]

    def variables(self, plan: PassagePlan) -> dict[str, str]:
        """None besides the passages."""
        return {}

    def sample_fields(self, output: dict[str, Any], passages: tuple[Chunk, ...]) -> dict[str, Any]:
        """``record``."""
        return {"record": output["record"]}


def _follows(schema: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    try:
        jsonschema.validate(record, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "record"
        raise ValueError(f"{where}: {exc.message}") from None
    return record


def _load_schema(path: Path | None) -> dict[str, Any]:
    fix = "set generate.record_schema to a JSON schema file"
    if path is None:
        raise UsageError("the schema task needs a record schema", fix=fix)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(schema)
        schema_to_gbnf(schema)  # the local model must be able to follow it
    except OSError as exc:
        raise UsageError(f"cannot read the record schema {path}: {exc}", fix=fix) from None
    except (ValueError, jsonschema.SchemaError) as exc:
        message = getattr(exc, "message", str(exc))
        raise UsageError(f"unusable record schema {path}: {message}", fix=fix) from None
    return dict(schema)
