"""``multihop``: a question whose answer needs facts from two sections, preferably of two pages.

Each sample is planned from a section and its nearest sections by retrieval, those of other
pages first (:func:`~groundset.generate.passages.related_passages`: hybrid retrieval, whose
lexical half finds the sections that share a rare term). The model quotes one sentence of the
first section and one of another, word for word, then asks a question that needs both and
answers it from them. The quotes become the sample's claims, each citing its own section; the
answer is checked clause by clause against all of them, and the verifier refuses a sample one
section answers alone (``single_hop``, :mod:`groundset.verify.multihop`).

Held to a grammar (quotes chosen from each passage's sentences), the evidence is a pair: the
first quote is one of passage 1's sentences, the second one of another passage's, so a small
model cannot quote one section twice. Validated without one (an endpoint that honours no
constraint), it is two or three quotes that must cite two passages or more.

The prompt has no worked example: an example from one site's docs leaks its subject into the
samples of others (``generate/tasks/qa.py``), and the schema, or its grammar, holds the format.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Annotated, Any, Union

from pydantic import Field, create_model, model_validator

from groundset.generate.client import Api
from groundset.generate.passages import PassagePlan, PassageSource, even_plan, related_passages
from groundset.generate.prompts import PromptTemplate
from groundset.generate.settings import GenerateSettings
from groundset.generate.tasks.base import (
    Choices,
    TaskOutput,
    claim_list,
    evidence_list,
    quote_shapes,
)
from groundset.records import Chunk

__all__ = ["MultihopTask"]

#: Quotes of an output validated without a grammar: two passages or more, three at most.
MOST_QUOTES = 3


class MultihopTask:
    """A question needing two sections, its answer, and a quote of each section it rests on."""

    name = "multihop"

    def __init__(self, settings: GenerateSettings, api: Api = "chat") -> None:
        del api  # one prompt serves both APIs
        self.settings = settings
        self.template = PromptTemplate.load("multihop.v1")

    def plan(self, source: PassageSource, count: int) -> list[PassagePlan]:
        """Sections covering the corpus evenly, each with its one or two nearest sections
        (``max_passages`` - 1), other pages' first; a section nothing is related to is left out.
        """
        related = max(1, self.settings.max_passages - 1)
        min_chars = self.settings.min_passage_chars
        plans = []
        for plan in even_plan(source, count, self.settings):
            primary = plan.passages[0]
            others = related_passages(source, primary, related, min_chars, other_pages=True)
            if others:
                plans.append(replace(plan, passages=(primary, *others)))
        return plans

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """``{evidence, question, answer}`` (``claims`` for ``evidence``, translated), the
        evidence citing two passages or more."""
        return _output_model(n_passages, translated, choices)

    def variables(self, plan: PassagePlan) -> dict[str, str]:
        """The asker and the kind of question."""
        return {"persona": plan.persona, "style": plan.style}

    def sample_fields(self, output: dict[str, Any], passages: tuple[Chunk, ...]) -> dict[str, Any]:
        """``question`` and ``answer``."""
        return {"question": output["question"], "answer": output["answer"]}


class _TwoPassages(TaskOutput):
    """An output whose quotes cite at least two different passages."""

    @model_validator(mode="after")
    def _cites_two_passages(self) -> _TwoPassages:
        cited = {c["passage"] for c in _citations(self.model_dump())}
        if len(cited) < 2:
            raise ValueError("the evidence must quote two different passages, one sentence each")
        return self


def _citations(output: dict[str, Any]) -> list[dict[str, Any]]:
    if "evidence" in output:
        return list(output["evidence"])
    return [q for claim in output["claims"] for q in claim["citations"]]


@lru_cache(maxsize=64)
def _output_model(n_passages: int, translated: bool, choices: Choices) -> type[TaskOutput]:
    if translated:
        evidence: Any = {"claims": (claim_list(n_passages, True, choices), ...)}
    elif choices is not None and choices[0] and any(choices[1:]):
        evidence = {"evidence": (_pair(choices), ...)}
    else:
        quotes = evidence_list(n_passages, most=MOST_QUOTES)
        evidence = {"evidence": (Annotated[quotes, Field(min_length=2)], ...)}
    return create_model(
        f"MultihopOutput{n_passages}{'T' if translated else ''}",
        __base__=_TwoPassages,
        **evidence,
        question=(Annotated[str, Field(min_length=8, max_length=200)], ...),
        answer=(Annotated[str, Field(min_length=1, max_length=400)], ...),
    )


def _pair(choices: tuple[tuple[str, ...], ...]) -> Any:
    """A sentence of passage 1, then a sentence of any other passage that has one."""
    shapes = quote_shapes(choices)
    first, others = shapes[0], shapes[1:]
    second = others[0] if len(others) == 1 else Union[tuple(others)]  # noqa: UP007
    return tuple[first, second]  # type: ignore[valid-type]
