"""The records that pass between the generate, verify and export stages (DESIGN.md).

A :class:`Chunk` is one heading-delimited section of a page, as the ground stage stores it in the
index. A :class:`Sample` is one JSON object per line. A :class:`Verdict` sits beside it (in the
kept and rejected files, under the key ``verdict``). The corpus record lives in
:mod:`groundset.corpus`.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "REASONS",
    "Chunk",
    "Citation",
    "Claim",
    "ClaimVerdict",
    "GeneratorInfo",
    "Hit",
    "Message",
    "Reason",
    "Sample",
    "Source",
    "Verdict",
]

Reason = Literal[
    "quote_not_found",
    "unknown_chunk",
    "unsupported_claim",
    "number_mismatch",
    "negation_mismatch",
    "term_missing",
    "no_citation",
    "duplicate",
    "repeated_question",
    "copies_source",
    "wrong_language",
    "invalid_json",
    "too_short",
    "too_long",
    "nothing_to_falsify",
    "unanswerable",
    "restates_question",
    "incomplete_answer",
    "no_reason_given",
    "vague_question",
    "unstated_qualifier",
    "answerable",
    "single_hop",
    "premise_not_contradicted",
    "source_changed",
    "source_removed",
    "translation_mismatch",
    "unreadable_language",
]

#: Machine-readable reasons a claim or sample can be refused for.
REASONS: tuple[str, ...] = get_args(Reason)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Chunk(_Record):
    """One section of one document: the unit that is indexed, retrieved, cited and checked.

    ``id`` is stable while the content is unchanged: it is derived from the document URL, the
    heading path and the content hash.
    """

    id: str
    text: str
    doc_url: str
    title: str = ""
    heading_path: str = ""
    position: int = 0
    content_sha256: str
    lang: str = ""


class Hit(_Record):
    """A chunk found by retrieval, with its score (higher is better)."""

    chunk: Chunk
    score: float


class Citation(_Record):
    """A verbatim quote from one chunk that supports a claim."""

    chunk_id: str
    quote: str


class Claim(_Record):
    """One checkable statement of a sample's answer.

    ``source_text`` is the claim rendered in the language of its sources, set when the sample is
    written in another language, so that the claim can be checked against the evidence. A claim
    with a ``source_text`` and no citations is a sentence of a translated answer: like the
    answer's own clauses, it is checked against all of the sample's sources.
    """

    text: str
    citations: list[Citation] = Field(default_factory=list)
    source_text: str | None = None


class Source(_Record):
    """A chunk a sample was generated from, as it was at generation time."""

    chunk_id: str
    content_sha256: str
    doc_url: str
    heading_path: str = ""


class GeneratorInfo(_Record):
    """Which model, endpoint and prompt wrote a sample."""

    model: str
    endpoint_host: str
    prompt_version: str
    temperature: float
    seed: int | None = None


class Message(_Record):
    role: Literal["system", "user", "assistant"]
    content: str


class Sample(_Record):
    """One generated sample: a question and answer, or a conversation, with its claims."""

    id: str
    task: str
    language: str
    question: str | None = None
    answer: str | None = None
    messages: list[Message] | None = None
    record: dict[str, object] | None = None
    claims: list[Claim] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    generator: GeneratorInfo
    #: The question in its sources' language, for a sample translated from it: the verifier
    #: checks that the question says what this says.
    source_question: str | None = None
    #: For a question built on a false premise (task ``false_premise``): the premise, one
    #: sentence the cited section contradicts; the verifier checks that it does.
    premise: str | None = None


class ClaimVerdict(_Record):
    """How one claim fared: supported or not, how strongly, and on what evidence."""

    text: str
    supported: bool
    score: float
    evidence: str = ""
    chunk_id: str | None = None
    reasons: list[Reason] = Field(default_factory=list)


class Verdict(_Record):
    """The decision on one sample. A sample is accepted only when every claim is supported."""

    sample_id: str
    accepted: bool
    claims: list[ClaimVerdict] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)
    checker: str = ""
    #: How text in another language than the sources was read, for a sample written in one:
    #: "translated back and compared with its rendering by MODEL", or "not checked: ...".
    translated: str | None = None
    #: For a sample whose question the docs should not answer (task ``unanswerable``): the
    #: section of the corpus found to answer it, when one was (reason ``answerable``). For a
    #: ``multihop`` sample refused ``single_hop``: the one cited section that answers it alone.
    answered_by: Source | None = None
