"""``unanswerable``: a question a user of the docs would ask that the docs do not answer, and the
answer that says so, pointing at the nearest section.

The model writes two things only: one sentence of a passage, verbatim (the nearest section and
what it does cover), and the question. The answer is written here from them
(:func:`~groundset.verify.answerable.unanswered_answer`): "The documentation does not say.",
then the cited section's heading and URL and the quoted sentence. A small model asked to say in
its own words what a section covers, and where, invents as readily as it answers; a quote it
picks from the section's own sentences, and a pointer taken from the section itself, cannot
be wrong. What is left to check is the question: the verifier searches the whole corpus for a
section that answers it (:mod:`groundset.verify.answerable`).

The prompt has no worked example: an example from one site's docs leaks its subject into the
samples of others (``generate/tasks/qa.py``), and the schema, or its grammar, holds the format.
"""

from __future__ import annotations

import random
from dataclasses import replace
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, create_model

from groundset.errors import UsageError
from groundset.generate.client import Api
from groundset.generate.passages import PassagePlan, PassageSource, even_plan
from groundset.generate.prompts import PromptTemplate
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks.base import Choices, TaskOutput, evidence_list
from groundset.records import Chunk
from groundset.verify.answerable import UNANSWERABLE, unanswered_answer

__all__ = ["UNANSWERED_KINDS", "UnanswerableTask"]

#: What each question asks about, one drawn per sample in place of the settings' styles: a
#: detail of a kind docs often leave out, rather than "a how-to question" or "a why question".
#: On the same 20 passages of two fixture sites the bundled 1.5B asked what its passages answer
#: in 16 samples either way (``benchmarks/unanswerable_set.py``); the styles' kept questions
#: included "Why is it important for developers new to the framework to contribute?". Which
#: gives more questions a reader keeps is for the labels to say.
UNANSWERED_KINDS = (
    "a limit or maximum (a size, a count, a duration)",
    "whether it works with another tool, platform or version",
    "a value the passages do not give (a default, a timeout, a number)",
    "an error or failure case and what to do about it",
    "an alternative to it, or how it compares with one",
)


class UnanswerableTask:
    """A question the passages do not answer, and an answer pointing at the nearest section."""

    name = UNANSWERABLE

    def __init__(self, settings: GenerateSettings, api: Api = "chat") -> None:
        del api  # one prompt serves both APIs
        self.settings = settings
        self.template = PromptTemplate.load("unanswerable.v1")

    def plan(self, source: PassageSource, count: int) -> list[PassagePlan]:
        """Passages covering the corpus evenly, each with related ones, and what the question
        asks about (:data:`UNANSWERED_KINDS`)."""
        rng = random.Random(self.settings.seed)
        return [
            replace(plan, style=rng.choice(UNANSWERED_KINDS))
            for plan in even_plan(source, count, self.settings)
        ]

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """``{evidence, question}``: one quote, then the question it does not answer.

        Raises:
            UsageError: asked for a sample the model writes in another language than its
                passages: the answer around the question is English.
        """
        if translated:
            raise UsageError(
                "the unanswerable task writes samples in their sources' language",
                fix="generate unanswerable samples in the language of the docs",
            )
        return _output_model(n_passages, choices)

    def variables(self, plan: PassagePlan) -> dict[str, str]:
        """The asker and what the question asks about."""
        return {"persona": plan.persona, "style": plan.style}

    def sample_fields(self, output: dict[str, Any], passages: tuple[Chunk, ...]) -> dict[str, Any]:
        """``question``, and the answer pointing at the cited section with its quote."""
        (evidence,) = output["evidence"]
        nearest = passages[evidence["passage"] - 1]
        return {
            "question": output["question"],
            "answer": unanswered_answer(nearest, evidence["quote"]),
        }


@lru_cache(maxsize=64)
def _output_model(n_passages: int, choices: Choices) -> type[TaskOutput]:
    return create_model(
        f"UnanswerableOutput{n_passages}",
        __base__=TaskOutput,
        evidence=(evidence_list(n_passages, choices, most=1), ...),
        question=(Annotated[str, Field(min_length=8, max_length=150)], ...),
    )
