"""``unanswerable``: a question a user of the docs would ask that the docs do not answer, and the
answer that says so, pointing at the nearest section.

The model writes the question only, and sees only where its asker is: the title (heading path)
of the first passage's section, not its text, so it asks what a user would ask before reading.
Shown the passages, the bundled 1.5B asked what they say (of 40 such questions on two fixture
sites, readers found 30 answered by the docs), and told what kind of detail to ask about (a
limit, another platform, a default) it asked for the "default timeout value" of whatever the
title named; asked from the title alone it asks plain questions, most of which the docs answer
and the verifier refuses, and what is left is mostly worth keeping
(``benchmarks/data/unanswerable_set.jsonl``, one variant per way of asking). The answer is
written here (:func:`~groundset.verify.answerable.unanswered_answer`): "The documentation does
not say.", then the nearest section's heading and URL and one sentence of it, verbatim: of the
plan's passages, the sentence that shares the most of the question's words
(:func:`nearest_quote`). A pointer taken from the section itself cannot be wrong. What is left
to check is the question: the verifier searches the whole corpus for a section that answers it
(:mod:`groundset.verify.answerable`).

The prompt has no worked example: an example from one site's docs leaks its subject into the
samples of others (``generate/tasks/qa.py``), and the schema, or its grammar, holds the format.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, create_model

from groundset.errors import UsageError
from groundset.generate.choices import quote_choices
from groundset.generate.client import Api
from groundset.generate.passages import PassagePlan, PassageSource, even_plan
from groundset.generate.prompts import PromptTemplate
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks.base import QUOTE_CHARS, Choices, TaskOutput
from groundset.records import Chunk, Citation, Claim
from groundset.verify.answerable import UNANSWERABLE, unanswered_answer
from groundset.verify.evidence import claim_stems

__all__ = ["UnanswerableTask", "nearest_quote"]


class UnanswerableTask:
    """A question the passages do not answer, and an answer pointing at the nearest section."""

    name = UNANSWERABLE

    def __init__(self, settings: GenerateSettings, api: Api = "chat") -> None:
        del api  # one prompt serves both APIs
        self.settings = settings
        self.template = PromptTemplate.load("unanswerable.v3")

    def plan(self, source: PassageSource, count: int) -> list[PassagePlan]:
        """Passages covering the corpus evenly, each with related ones (the first gives the
        title the question is asked under; all of them, the sentence the answer quotes)."""
        return even_plan(source, count, self.settings)

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """``{question}``: the model sees the section's title only (see the module's doc).

        Raises:
            UsageError: asked for a sample the model writes in another language than its
                passages: the answer around the question is English.
        """
        if translated:
            raise UsageError(
                "the unanswerable task writes samples in their sources' language",
                fix="generate unanswerable samples in the language of the docs",
            )
        return _output_model()

    def variables(self, plan: PassagePlan) -> dict[str, str]:
        """The asker, and where the asker is: the title of the first passage's page and
        section."""
        return {"persona": plan.persona, "topic": _title(plan.passages[0])}

    def sample_fields(self, output: dict[str, Any], passages: tuple[Chunk, ...]) -> dict[str, Any]:
        """``question``, the answer pointing at the nearest section with its quote, and that
        quote as the one claim."""
        question = output["question"]
        nearest, quote = nearest_quote(question, passages)
        return {
            "question": question,
            "answer": unanswered_answer(nearest, quote),
            "claims": [Claim(text=quote, citations=[Citation(chunk_id=nearest.id, quote=quote)])],
        }


def nearest_quote(question: str, passages: tuple[Chunk, ...]) -> tuple[Chunk, str]:
    """The passage sentence that shares the most of the question's words (the first passage's
    first sentence on a tie), and its passage: what the answer points at."""
    wanted = set(claim_stems(question))
    best: tuple[int, int, Chunk, str] | None = None
    for rank, chunk in enumerate(passages):
        for span in quote_choices(chunk.text, heading_path=chunk.heading_path):
            shared = len(wanted & set(claim_stems(span)))
            if best is None or (shared, -rank) > (best[0], -best[1]):
                best = (shared, rank, chunk, span)
    if best is None:
        first = passages[0]
        return first, first.text.strip().splitlines()[-1][:QUOTE_CHARS]
    return best[2], best[3]


def _title(chunk: Chunk) -> str:
    return chunk.heading_path or chunk.doc_url


@lru_cache(maxsize=1)
def _output_model() -> type[TaskOutput]:
    return create_model(
        "UnanswerableOutput",
        __base__=TaskOutput,
        question=(Annotated[str, Field(min_length=8, max_length=150)], ...),
    )
