"""``instruct``: an instruction a user would give, and the response that carries it out."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, create_model

from groundset.generate.client import Api
from groundset.generate.passages import PassagePlan, PassageSource, even_plan
from groundset.generate.prompts import PromptTemplate
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks.base import Choices, TaskOutput, evidence_fields
from groundset.records import Chunk

__all__ = ["InstructTask"]


class InstructTask:
    """An instruction and its response as a two-message conversation, split into cited claims."""

    name = "instruct"

    def __init__(self, settings: GenerateSettings, api: Api = "chat") -> None:
        del api  # one prompt serves both APIs
        self.settings = settings
        self.template = PromptTemplate.load("instruct.v3")

    def plan(self, source: PassageSource, count: int) -> list[PassagePlan]:
        """Passages covering the corpus evenly, each with related ones."""
        return even_plan(source, count, self.settings)

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """``{instruction, evidence, response}``."""
        return _output_model(n_passages, translated, choices)

    def variables(self, plan: PassagePlan) -> dict[str, str]:
        """The asker."""
        return {"persona": plan.persona}

    def sample_fields(self, output: dict[str, Any], passages: tuple[Chunk, ...]) -> dict[str, Any]:
        """``messages``: the instruction from the user, the response from the assistant."""
        return {
            "messages": [
                {"role": "user", "content": output["instruction"]},
                {"role": "assistant", "content": output["response"]},
            ]
        }


@lru_cache(maxsize=64)
def _output_model(n_passages: int, translated: bool, choices: Choices) -> type[TaskOutput]:
    return create_model(
        f"InstructOutput{n_passages}{'T' if translated else ''}",
        __base__=TaskOutput,
        instruction=(Annotated[str, Field(min_length=8, max_length=200)], ...),
        **evidence_fields(n_passages, translated, choices),
        response=(Annotated[str, Field(min_length=1, max_length=400)], ...),
    )
