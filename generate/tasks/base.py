"""The protocol every task recipe follows, and the claim shapes they share.

A task plans its samples' passages, names its prompt file, the JSON its model output must follow,
the per-sample values its prompt needs, and how a validated output becomes the fields of a
:class:`Sample`. Everything else (calls, retries, claims, sources, writing) is the runner's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Annotated, Any, Literal, Protocol, Union, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, create_model

from groundset.generate.choices import MAX_CHOICE_CHARS
from groundset.generate.passages import PassagePlan, PassageSource
from groundset.generate.prompts import Prompt, PromptTemplate
from groundset.records import Chunk, Citation, Claim, Reason

__all__ = [
    "AsksTwice",
    "Choices",
    "FollowUp",
    "NoSample",
    "Task",
    "TaskOutput",
    "claim_list",
    "evidence_fields",
    "evidence_list",
    "quote_shapes",
    "to_claims",
]

#: Bounds on what the model writes: a base model runs on to max_tokens when strings are unbounded.
#: A free-text quote (an endpoint that honours no constraint) is as long as the longest choice.
QUOTE_CHARS = MAX_CHOICE_CHARS
CLAIM_CHARS = 160
MAX_CLAIMS = 3


#: The quotable spans of each passage, in passage order (see :mod:`groundset.generate.choices`);
#: None leaves quotes free text, for validating what an endpoint wrote.
Choices = tuple[tuple[str, ...], ...] | None


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

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """The model output's shape for a sample with ``n_passages`` passages.

        With ``choices``, the shape a constrained decoder holds the model to (quotes chosen
        from each passage's spans); without, the looser one its output is validated with.
        """
        ...

    def variables(self, plan: PassagePlan) -> dict[str, str]:
        """The per-sample values of the prompt, besides ``passages``."""
        ...

    def sample_fields(self, output: dict[str, Any], passages: tuple[Chunk, ...]) -> dict[str, Any]:
        """The :class:`~groundset.records.Sample` fields of a validated output, written from
        its ``passages`` (the plan's, in order). ``claims`` only for a task that writes them
        itself; otherwise the runner takes them from the output's evidence or claims."""
        ...


@dataclass(frozen=True)
class FollowUp:
    """The second call of a task that asks twice: its prompt, the shape of its answer, and the
    fields code wrote from the first answer (the output :meth:`Task.sample_fields` reads is
    the first answer, these fields and the second answer together)."""

    prompt: Prompt
    output: type[TaskOutput]
    carried: dict[str, Any]


@dataclass(frozen=True)
class NoSample:
    """Why the first answer of a task that asks twice makes no sample: a generation refusal."""

    reason: Reason
    error: str


@runtime_checkable
class AsksTwice(Protocol):
    """A task whose sample takes a second call, written from what the first answer chose.

    Attributes:
        follow_up_version: the second call's prompt version, part of each sample's id.
    """

    follow_up_version: str

    def follow_up(
        self, output: dict[str, Any], plan: PassagePlan, seed: int
    ) -> FollowUp | NoSample:
        """The second call for the validated first ``output`` of ``plan``, or why there is
        none; ``seed`` is the sample's, for what code draws."""
        ...


def evidence_fields(n_passages: int, translated: bool, choices: Choices = None) -> dict[str, Any]:
    """The fields an output gives its evidence in, before what it writes from it.

    In the sources' language, ``evidence``: one to three sentences of the passages, each cited
    by passage number and quoted. They become the sample's claims, each its own quote; what the
    model writes from them (the answer) is checked clause by clause against them. A model
    asked to restate each quote in a claim of its own restates it wrongly more often than it
    answers wrongly (``benchmarks/local_models.py``), and a restated claim is not what a sample
    teaches: its answer is.

    Translated, ``claims`` (:func:`claim_list`): the model writes each claim in the sample's
    language with its ``source_text`` in the passages', the rendering the verifier checks.
    """
    if translated:
        return {"claims": (claim_list(n_passages, True, choices), ...)}
    return {"evidence": (evidence_list(n_passages, choices), ...)}


def evidence_list(n_passages: int, choices: Choices = None, most: int = MAX_CLAIMS) -> Any:
    """The annotated type of an output's ``evidence``: 1 to ``most`` citations of passages
    1..n."""
    if choices is not None and len(choices) != n_passages:
        raise ValueError(f"{len(choices)} lists of choices for {n_passages} passages")
    citation = _citation(n_passages) if choices is None else _chosen_citation(choices)
    return Annotated[list[citation], Field(min_length=1, max_length=most)]  # type: ignore[valid-type]


def claim_list(n_passages: int, translated: bool, choices: Choices = None) -> Any:
    """The annotated type of an output's ``claims``: 1 to 3 claims citing passages 1..n.

    Each claim states its citations first, then its text: the model picks the evidence and then
    writes the claim with it in front of it. With ``translated``, each claim also carries
    ``source_text``, the claim in the passages' language, so the verifier can check it against
    them. With ``choices``, a citation is one of the passages' spans, the passage number tied to
    its own spans, so that a constrained decoder can only write verbatim quotes.
    """
    if choices is None:
        return _claim_list(n_passages, translated, None)
    if len(choices) != n_passages:
        raise ValueError(f"{len(choices)} lists of choices for {n_passages} passages")
    return _claim_list(n_passages, translated, choices)


@lru_cache(maxsize=64)
def _claim_list(n_passages: int, translated: bool, choices: Choices) -> Any:
    citation = _citation(n_passages) if choices is None else _chosen_citation(choices)
    text = Annotated[str, Field(min_length=1, max_length=CLAIM_CHARS)]
    citations = list[citation]  # type: ignore[valid-type]  # built at run time
    fields: dict[str, Any] = {
        "citations": (Annotated[citations, Field(min_length=1, max_length=2)], ...),
        "text": (text, ...),
    }
    if translated:
        fields["source_text"] = (text, ...)
    name = f"{'Translated' if translated else ''}ClaimOf{n_passages}"
    claim = create_model(name, __base__=TaskOutput, **fields)
    claims = list[claim]  # type: ignore[valid-type]  # built at run time
    return Annotated[claims, Field(min_length=1, max_length=MAX_CLAIMS)]


@cache
def _citation(n_passages: int) -> Any:
    return create_model(
        f"CitationOf{n_passages}",
        __base__=TaskOutput,
        passage=(Annotated[int, Field(ge=1, le=n_passages)], ...),
        quote=(Annotated[str, Field(min_length=1, max_length=QUOTE_CHARS)], ...),
    )


def quote_shapes(choices: tuple[tuple[str, ...], ...]) -> list[Any]:
    """One citation shape per passage that has spans, in passage order:
    ``{passage: n, quote: one of its spans}``."""
    return [
        create_model(
            f"QuoteOfPassage{n}",
            __base__=TaskOutput,
            passage=(Literal[n], ...),  # type: ignore[arg-type]
            quote=(Literal[spans], ...),  # type: ignore[arg-type]
        )
        for n, spans in enumerate(choices, start=1)
        if spans
    ]


def _chosen_citation(choices: tuple[tuple[str, ...], ...]) -> Any:
    """A union of one citation shape per passage that has spans: ``{passage: n, quote: span}``."""
    shapes = quote_shapes(choices)
    if not shapes:
        raise ValueError("no passage has a quotable span")
    return shapes[0] if len(shapes) == 1 else Union[tuple(shapes)]  # noqa: UP007


def to_claims(output: dict[str, Any], passages: tuple[Chunk, ...]) -> list[Claim]:
    """Claims citing chunk ids, from an output's evidence or claims citing passage numbers."""
    if "evidence" in output:
        return [
            Claim(
                text=q["quote"],
                citations=[Citation(chunk_id=passages[q["passage"] - 1].id, quote=q["quote"])],
            )
            for q in output["evidence"]
        ]
    claims: list[dict[str, Any]] = output["claims"]
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
