"""``qa``: a question a user of the docs would ask, and its answer from one to three passages."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, create_model

from groundset.generate.passages import PassagePlan, PassageSource, even_plan
from groundset.generate.prompts import PromptTemplate
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks.base import Choices, TaskOutput, evidence_fields

__all__ = ["QaTask", "qa_output_model"]


class QaTask:
    """Question and answer, split into cited claims."""

    name = "qa"

    def __init__(self, settings: GenerateSettings) -> None:
        self.settings = settings
        self.template = PromptTemplate.load("qa.v3")

    def plan(self, source: PassageSource, count: int) -> list[PassagePlan]:
        """Passages covering the corpus evenly, each with related ones."""
        return even_plan(source, count, self.settings)

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """``{question, evidence, answer}``."""
        return qa_output_model(n_passages, translated, choices)

    def variables(self, plan: PassagePlan) -> dict[str, str]:
        """The asker and the kind of question."""
        return {"persona": plan.persona, "style": plan.style}

    def sample_fields(self, output: dict[str, Any]) -> dict[str, Any]:
        """``question`` and ``answer``."""
        return {"question": output["question"], "answer": output["answer"]}


@lru_cache(maxsize=64)
def qa_output_model(n_passages: int, translated: bool, choices: Choices = None) -> type[TaskOutput]:
    """``{question, evidence, answer}`` (or ``claims`` for ``evidence``, translated), citing
    passages 1..``n_passages``.

    The evidence comes before the answer that is written from it.
    """
    return create_model(
        f"QaOutput{n_passages}{'T' if translated else ''}",
        __base__=TaskOutput,
        question=(Annotated[str, Field(min_length=8, max_length=150)], ...),
        **evidence_fields(n_passages, translated, choices),
        answer=(Annotated[str, Field(min_length=1, max_length=300)], ...),
    )
