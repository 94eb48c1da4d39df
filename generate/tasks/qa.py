"""``qa``: a question a user of the docs would ask, and its answer from one to three passages."""

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

__all__ = ["QaTask", "qa_output_model"]


class QaTask:
    """Question and answer, split into cited claims."""

    name = "qa"

    def __init__(self, settings: GenerateSettings, api: Api = "chat") -> None:
        self.settings = settings
        # An instruction-tuned model keeps more good samples when it picks its evidence before
        # it asks; the bundled base model, through few-shot completions, writes nothing valid
        # that way on a hostile page (tests/generate/test_local_model.py) and keeps v3. A chat
        # model gets no worked examples (v5): with v4's two DRF examples the bundled 0.5B put
        # "the whole API" and "DEFAULT_THROTTLE_RATES" into 20 of 122 samples of other sites; the
        # JSON schema, or its grammar, holds the format without them.
        self.question_first = api == "completions"
        self.template = PromptTemplate.load("qa.v3" if self.question_first else "qa.v5")

    def plan(self, source: PassageSource, count: int) -> list[PassagePlan]:
        """Passages covering the corpus evenly, each with related ones."""
        return even_plan(source, count, self.settings)

    def output_model(
        self, n_passages: int, translated: bool, choices: Choices = None
    ) -> type[TaskOutput]:
        """``{evidence, question, answer}``; ``{question, evidence, answer}`` for completions."""
        return qa_output_model(n_passages, translated, choices, question_first=self.question_first)

    def variables(self, plan: PassagePlan) -> dict[str, str]:
        """The asker and the kind of question."""
        return {"persona": plan.persona, "style": plan.style}

    def sample_fields(self, output: dict[str, Any], passages: tuple[Chunk, ...]) -> dict[str, Any]:
        """``question`` and ``answer``."""
        return {"question": output["question"], "answer": output["answer"]}


@lru_cache(maxsize=64)
def qa_output_model(
    n_passages: int, translated: bool, choices: Choices = None, *, question_first: bool = True
) -> type[TaskOutput]:
    """``{question, evidence, answer}`` (or ``claims`` for ``evidence``, translated), citing
    passages 1..``n_passages``; ``{evidence, question, answer}`` without ``question_first``.

    The evidence always comes before the answer that is written from it. ``qa`` asks for the
    evidence first, then a question it answers (prompt v4). On 20 samples each with the bundled
    Qwen model and one-sentence answers, that kept 6 of the DRF fixture's (3 or 4 worth
    training on) where asking the question first kept 3 (1 or 2), and 4 of groundset's demo
    docs (1 or 2) against 2 (2): more kept, as many or more good ones, at the same cost.
    (``benchmarks/local_models.py --variant question-first`` runs prompt v3, which asked the
    question first and allowed two-sentence answers: 1 kept of the demo's 16.) ``evol`` asks its
    harder question first: the question is what it evolves.
    """
    question = (Annotated[str, Field(min_length=8, max_length=150)], ...)
    answer = (Annotated[str, Field(min_length=1, max_length=300)], ...)
    evidence = evidence_fields(n_passages, translated, choices)
    fields = (
        {"question": question, **evidence, "answer": answer}
        if question_first
        else {**evidence, "question": question, "answer": answer}
    )
    order = "" if question_first else "E"
    return create_model(
        f"QaOutput{order}{n_passages}{'T' if translated else ''}",
        __base__=TaskOutput,
        **fields,
    )
