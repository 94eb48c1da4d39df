"""The protocol every task recipe follows, and the claim shapes they share.

A task plans its samples' passages, names its prompt file, the JSON its model output must follow,
the per-sample values its prompt needs, and how a validated output becomes the fields of a
:class:`Sample`. Everything else (calls, retries, claims, sources, writing) is the runner's.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, create_model

from groundset.generate.passages import PassagePlan, PassageSource
from groundset.generate.prompts import PromptTemplate
from groundset.records import Chunk, Citation, Claim

__all__ = ["Task", "TaskOutput", "claim_list", "to_claims"]

#: Bounds on what the model writes: a base model runs on to max_tokens when strings are unbounded.
QUOTE_CHARS = 120
CLAIM_CHARS = 160
MAX_CLAIMS = 3


class TaskOutput(BaseModel):
    """Base of the models a task's output is validated with: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class Task(Protocol):
    """One recipe: ``qa``, ``instruct`` ..."""

    name: str
    template: PromptTemplate

    def plan(self, source: PassageSource, count: int) -> list[PassagePlan]:
        """The passages, persona and style of each of ``count`` samples."""
        ...

    def output_model(self, n_passages: int, translated: bool) -> type[TaskOutput]:
        """The model output's shape for a sample with ``n_passages`` passages."""
        ...

    def variables(self, plan: PassagePlan) -> dict[str, str]:
        """The per-sample values of the prompt, besides ``passages``."""
        ...

    def sample_fields(self, output: dict[str, Any]) -> dict[str, Any]:
        """The :class:`~groundset.records.Sample` fields of a validated output, but claims."""
        ...


@cache
def claim_list(n_passages: int, translated: bool) -> Any:
    """The annotated type of an output's ``claims``: 1 to 3 claims citing passages 1..n.

    With ``translated``, each claim also carries ``source_text``, the claim in the passages'
    language, so the verifier can check it against them.
    """
    citation = create_model(
        f"CitationOf{n_passages}",
        __base__=TaskOutput,
        passage=(Annotated[int, Field(ge=1, le=n_passages)], ...),
        quote=(Annotated[str, Field(min_length=1, max_length=QUOTE_CHARS)], ...),
    )
    text = Annotated[str, Field(min_length=1, max_length=CLAIM_CHARS)]
    fields: dict[str, Any] = {"text": (text, ...)}
    if translated:
        fields["source_text"] = (text, ...)
    citations = list[citation]  # type: ignore[valid-type]  # built at run time
    fields["citations"] = (Annotated[citations, Field(min_length=1, max_length=2)], ...)
    name = f"{'Translated' if translated else ''}ClaimOf{n_passages}"
    claim = create_model(name, __base__=TaskOutput, **fields)
    claims = list[claim]  # type: ignore[valid-type]  # built at run time
    return Annotated[claims, Field(min_length=1, max_length=MAX_CLAIMS)]


def to_claims(claims: list[dict[str, Any]], passages: tuple[Chunk, ...]) -> list[Claim]:
    """Claims citing chunk ids, from an output's claims citing passage numbers."""
    return [
        Claim(
            text=c["text"],
            source_text=c.get("source_text"),
            citations=[
                Citation(chunk_id=passages[q["passage"] - 1].id, quote=q["quote"])
                for q in c["citations"]
            ],
        )
        for c in claims
    ]
